import { describe, expect, it } from 'vitest';
import type { Vec3 } from '@physiotwin/core';
import { createRng, createVolume, isPhysiotwinError } from '@physiotwin/core';
import { describeBackends } from '@physiotwin/gpu/testing';
import { fillHoles, morphology } from './morphology.js';

/** Brute-force dilation / erosion straight from the definition, independent of the library's distance transform. */
function bruteForce(mask: Uint8Array, [nx, ny, nz]: Vec3, spacing: Vec3, r: number, grow: boolean): Uint8Array {
  const out = new Uint8Array(mask.length);
  const reach = spacing.map((s) => Math.floor(r / s));
  for (let k = 0; k < nz; k++) for (let j = 0; j < ny; j++) for (let i = 0; i < nx; i++) {
    let hit = false;
    for (let dk = -reach[2]!; dk <= reach[2]! && !hit; dk++) for (let dj = -reach[1]!; dj <= reach[1]! && !hit; dj++) for (let di = -reach[0]!; di <= reach[0]! && !hit; di++) {
      const d2 = (di * spacing[0]) ** 2 + (dj * spacing[1]) ** 2 + (dk * spacing[2]) ** 2;
      if (d2 > r * r * (1 + 1e-9)) continue;
      const [a, b, c] = [i + di, j + dj, k + dk];
      if (a < 0 || b < 0 || c < 0 || a >= nx || b >= ny || c >= nz) continue;
      const f = mask[a + nx * (b + ny * c)] !== 0;
      if (grow ? f : !f) hit = true;
    }
    out[i + nx * (j + ny * k)] = grow ? (hit ? 1 : 0) : hit ? 0 : 1;
  }
  return out;
}

const rng = createRng(3);
const dims: Vec3 = [21, 14, 9];
const spacing: Vec3 = [0.6, 0.8, 1.5];
const blobs = createVolume({ data: Uint8Array.from({ length: 21 * 14 * 9 }, () => (rng.next() < 0.55 ? 1 : 0)), dims, spacing });

describeBackends('morphology', (b) => {
  it('dilates one voxel into the spacing-aware ball (r = 2 mm, spacing 1 x 1 x 2 mm: 13 + 2 voxels)', async () => {
    const data = new Uint8Array(7 * 7 * 7);
    data[3 + 7 * (3 + 7 * 3)] = 1;
    const m = createVolume({ data, dims: [7, 7, 7], spacing: [1, 1, 2] });
    const r = await morphology(m, { operation: 'dilate', radiusMm: 2 }, b.options());
    // In-plane: di^2 + dj^2 <= 4 gives 13 voxels; dk = +-1 is 2 mm away, only (0, 0, +-1) fits.
    expect(r.mask.data.reduce((a, v) => a + v, 0)).toBe(15);
    expect(r.backend).toBe(b.backend);
  });

  for (const [operation, radiusMm] of [['dilate', 1.7], ['erode', 1.7], ['dilate', 2.6], ['erode', 2.6]] as const) {
    it(`${operation}s a random mask exactly as the brute-force ball (r = ${radiusMm} mm, anisotropic)`, async () => {
      const r = await morphology(blobs, { operation, radiusMm }, b.options());
      const expected = bruteForce(blobs.data, dims, spacing, radiusMm, operation === 'dilate');
      expect(Array.from(r.mask.data)).toEqual(Array.from(expected));
    });
  }

  it('opens and closes as erode-then-dilate and dilate-then-erode', async () => {
    const closed = await morphology(blobs, { operation: 'close', radiusMm: 1.7 }, b.options());
    const opened = await morphology(blobs, { operation: 'open', radiusMm: 1.7 }, b.options());
    const expectedClose = bruteForce(bruteForce(blobs.data, dims, spacing, 1.7, true), dims, spacing, 1.7, false);
    const expectedOpen = bruteForce(bruteForce(blobs.data, dims, spacing, 1.7, false), dims, spacing, 1.7, true);
    expect(Array.from(closed.mask.data)).toEqual(Array.from(expectedClose));
    expect(Array.from(opened.mask.data)).toEqual(Array.from(expectedOpen));
    // Closing is extensive, opening anti-extensive.
    for (let i = 0; i < blobs.data.length; i++) {
      expect(closed.mask.data[i]! >= blobs.data[i]!).toBe(true);
      expect(opened.mask.data[i]! <= blobs.data[i]!).toBe(true);
    }
  });
});

describe('fillHoles', () => {
  it('fills an enclosed cavity and leaves a cavity open to the border', () => {
    const n = 9;
    const data = new Uint8Array(n * n * n);
    for (let k = 1; k < 8; k++) for (let j = 1; j < 8; j++) for (let i = 1; i < 8; i++) {
      const shell = i === 1 || i === 7 || j === 1 || j === 7 || k === 1 || k === 7;
      if (shell) data[i + n * (j + n * k)] = 1;
    }
    const closedBox = fillHoles(createVolume({ data, dims: [n, n, n] })).mask;
    expect(closedBox.data.reduce((a, v) => a + v, 0)).toBe(7 * 7 * 7);
    // Punch a hole through the shell at (4, 4, 1): the cavity now reaches the border through (4, 4, 0).
    data[4 + n * (4 + n * 1)] = 0;
    const open = fillHoles(createVolume({ data, dims: [n, n, n] })).mask;
    expect(open.data.reduce((a, v) => a + v, 0)).toBe(7 * 7 * 7 - 5 * 5 * 5 - 1);
  });

  it('rejects bad operations and radii with INVALID_ARGUMENT', async () => {
    await expect(morphology(blobs, { operation: 'thin' as never, radiusMm: 1 }, { backend: 'cpu' })).rejects.toSatisfy((e) => isPhysiotwinError(e, 'INVALID_ARGUMENT'));
    await expect(morphology(blobs, { operation: 'dilate', radiusMm: -1 }, { backend: 'cpu' })).rejects.toSatisfy((e) => isPhysiotwinError(e, 'INVALID_ARGUMENT'));
    await expect(morphology(blobs, { operation: 'dilate', radiusMm: NaN }, { backend: 'cpu' })).rejects.toSatisfy((e) => isPhysiotwinError(e, 'INVALID_ARGUMENT'));
  });
});
