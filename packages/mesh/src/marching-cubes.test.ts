import { mat4, vec3 } from 'gl-matrix';
import { describe, expect, it } from 'vitest';
import type { Mat3, Vec3, Volume } from '@physiotwin/core';
import { createRng, createVolume, isPhysiotwinError, worldToIndex } from '@physiotwin/core';
import { marchingCubes } from './marching-cubes.js';
import { EDGE_CLAMP } from './marching-cubes.cpu.js';
import { meshQuality } from './quality.js';
import { readHeadsq } from './headsq.test-helper.js';

const cpu = { backend: 'cpu' } as const;

/** Number of 6-connected components of the inside points of a small grid (reference for the surface count). */
function insideComponents(inside: Uint8Array, [nx, ny, nz]: Vec3): number {
  const seen = new Uint8Array(inside.length);
  let count = 0;
  for (let s = 0; s < inside.length; s++) {
    if (!inside[s] || seen[s]) continue;
    count++;
    const stack = [s];
    seen[s] = 1;
    while (stack.length) {
      const p = stack.pop()!;
      const i = p % nx, j = Math.floor(p / nx) % ny, k = Math.floor(p / (nx * ny));
      for (const [a, b, c] of [[i - 1, j, k], [i + 1, j, k], [i, j - 1, k], [i, j + 1, k], [i, j, k - 1], [i, j, k + 1]]) {
        if (a! < 0 || b! < 0 || c! < 0 || a! >= nx || b! >= ny || c! >= nz) continue;
        const q = a! + nx * (b! + ny * c!);
        if (inside[q] && !seen[q]) {
          seen[q] = 1;
          stack.push(q);
        }
      }
    }
  }
  return count;
}

/** Embeds a gx x gy x gz block of 0/1 corners in a volume with a one-voxel border of zeros. */
function padded(bits: number, [gx, gy, gz]: Vec3): { volume: Volume<Uint8Array>; inside: Uint8Array } {
  const dims: Vec3 = [gx + 2, gy + 2, gz + 2];
  const data = new Uint8Array(dims[0] * dims[1] * dims[2]);
  const inside = new Uint8Array(gx * gy * gz);
  for (let b = 0; b < gx * gy * gz; b++) {
    if (!((bits >> b) & 1)) continue;
    inside[b] = 1;
    const i = b % gx, j = Math.floor(b / gx) % gy, k = Math.floor(b / (gx * gy));
    data[i + 1 + dims[0] * (j + 1 + dims[1] * (k + 1))] = 1;
  }
  return { volume: createVolume({ data, dims }), inside };
}

async function checkWatertight(volume: Volume, iso: number, expectedComponents: number) {
  const { mesh } = await marchingCubes(volume, { iso }, cpu);
  const q = meshQuality(mesh);
  expect(q.closed).toBe(true);
  expect(q.manifold).toBe(true);
  expect(q.oriented).toBe(true);
  expect(q.degenerateTriangles).toBe(0);
  expect(q.components).toBe(expectedComponents);
  if (expectedComponents > 0) expect(q.volume).toBeGreaterThan(0);
  return q;
}

describe('marching cubes topology', () => {
  it('all 256 cube cases give closed, manifold, outward-oriented surfaces, one sphere per 6-connected inside set', async () => {
    for (let c = 0; c < 256; c++) {
      const { volume, inside } = padded(c, [2, 2, 2]);
      const comps = insideComponents(inside, [2, 2, 2]);
      const q = await checkWatertight(volume, 0.5, comps);
      expect(q.euler).toBe(2 * comps);
    }
  });

  it('all 4096 pairs of cubes sharing a face (ambiguous faces included) give closed, manifold, oriented surfaces', async () => {
    // Some of these inside sets are 6-connected rings, whose surface is a torus: the Euler characteristic is
    // checked against 2 * components - 2 * genus with genus >= 0, not assumed to be a sphere's.
    let ambiguousShared = 0;
    for (let c = 0; c < 4096; c++) {
      const { volume, inside } = padded(c, [3, 2, 2]);
      // Shared face x = 1: corners (1, j, k) at bits 1, 4, 7, 10 in cyclic order.
      const f = [1, 4, 10, 7].map((b) => (c >> b) & 1);
      if (f[0] === f[2] && f[1] === f[3] && f[0] !== f[1]) ambiguousShared++;
      const comps = insideComponents(inside, [3, 2, 2]);
      const q = await checkWatertight(volume, 0.5, comps);
      expect(q.genus).not.toBeNull();
      expect(q.genus!).toBeGreaterThanOrEqual(0);
      expect(q.euler).toBe(2 * comps - 2 * q.genus!);
    }
    expect(ambiguousShared).toBe(2 * 256);
  });

  it('random fields are closed, manifold and oriented (samples equal to the isovalue included)', async () => {
    const rng = createRng(1);
    for (let trial = 0; trial < 20; trial++) {
      const n = 10;
      const data = new Float32Array((n + 2) ** 3);
      for (let k = 1; k <= n; k++) for (let j = 1; j <= n; j++) for (let i = 1; i <= n; i++) {
        // Values in {0, 0.25, 0.5, 0.75, 1}: a fifth of the samples equal the isovalue 0.5.
        data[i + (n + 2) * (j + (n + 2) * k)] = Math.floor(rng.next() * 5) / 4;
      }
      const inside = new Uint8Array(data.length);
      for (let i = 0; i < data.length; i++) inside[i] = data[i]! >= 0.5 ? 1 : 0;
      const volume = createVolume({ data, dims: [n + 2, n + 2, n + 2] });
      await checkWatertight(volume, 0.5, insideComponents(inside, [n + 2, n + 2, n + 2]));
    }
  });
});

/** Samples f(world position) on a grid with the given geometry. */
function sample(dims: Vec3, spacing: Vec3, origin: Vec3, direction: Mat3, f: (x: number, y: number, z: number) => number): Volume<Float64Array> {
  const data = new Float64Array(dims[0] * dims[1] * dims[2]);
  for (let k = 0; k < dims[2]; k++) for (let j = 0; j < dims[1]; j++) for (let i = 0; i < dims[0]; i++) {
    const w = [0, 1, 2].map((r) => origin[r]! + direction[r]! * spacing[0] * i + direction[3 + r]! * spacing[1] * j + direction[6 + r]! * spacing[2] * k);
    data[i + dims[0] * (j + dims[1] * k)] = f(w[0]!, w[1]!, w[2]!);
  }
  return createVolume({ data, dims, spacing, origin, direction });
}

/** A ball of radius r (mm) as the sub-level set of (r - distance): inside where value >= 0. */
async function sphereVolumeError(h: number, r = 20): Promise<number> {
  const n = Math.ceil((2 * r + 6) / h) + 1;
  const c = ((n - 1) * h) / 2; // centre on a grid point: samples with distance exactly r equal the isovalue
  const v = sample([n, n, n], [h, h, h], [0, 0, 0], [1, 0, 0, 0, 1, 0, 0, 0, 1], (x, y, z) => r - Math.hypot(x - c, y - c, z - c));
  const { mesh } = await marchingCubes(v, { iso: 0 }, cpu);
  const q = meshQuality(mesh);
  expect(q.closed && q.manifold && q.oriented).toBe(true);
  expect(q.degenerateTriangles).toBe(0);
  expect(q.genus).toBe(0);
  return q.volume / ((4 / 3) * Math.PI * r ** 3) - 1;
}

describe('marching cubes geometry', () => {
  it('a sampled sphere (r = 20 mm, 1 mm voxels) has volume error under 0.2%, converging at second order', async () => {
    const e1 = await sphereVolumeError(1);
    const e2 = await sphereVolumeError(0.5);
    const e4 = await sphereVolumeError(0.25);
    console.info(`sphere volume relative error: h=1 ${e1.toExponential(3)}, h=0.5 ${e2.toExponential(3)}, h=0.25 ${e4.toExponential(3)}`);
    expect(Math.abs(e1)).toBeLessThan(2e-3);
    // Observed order log2(e(h) / e(h/2)): second order means 2; +-0.3 allows the non-asymptotic wobble of
    // a grid-aligned sampling.
    expect(Math.log2(Math.abs(e1 / e2))).toBeGreaterThan(1.7);
    expect(Math.log2(Math.abs(e2 / e4))).toBeGreaterThan(1.7);
    expect(Math.log2(Math.abs(e2 / e4))).toBeLessThan(2.3);
  });

  it('a torus has Euler characteristic 0 and genus 1', async () => {
    const R = 15, r = 5;
    const v = sample([48, 48, 20], [1, 1, 1], [-23.5, -23.5, -9.5], [1, 0, 0, 0, 1, 0, 0, 0, 1], (x, y, z) => r - Math.hypot(Math.hypot(x, y) - R, z));
    const q = meshQuality((await marchingCubes(v, { iso: 0 }, cpu)).mesh);
    expect(q.euler).toBe(0);
    expect(q.genus).toBe(1);
    expect(q.components).toBe(1);
    // Volume 2 pi^2 R r^2 within the O(h^2) discretisation error (1%: h/r = 0.2).
    expect(Math.abs(q.volume / (2 * Math.PI ** 2 * R * r * r) - 1)).toBeLessThan(0.01);
  });

  it('applies origin, spacing and a rotated, reflected direction exactly once (world positions, outward normals)', async () => {
    const a = Math.PI / 6;
    // Columns i, j, k: a rotation about z by 30 degrees with the k axis reflected (determinant -1).
    const direction: Mat3 = [Math.cos(a), Math.sin(a), 0, -Math.sin(a), Math.cos(a), 0, 0, 0, -1];
    const centre = [12, -30, 41];
    const origin: Vec3 = [0, 0, 0];
    // Choose the origin so that the sphere centre sits at index (20, 18, 15).
    const spacing: Vec3 = [0.8, 0.9, 1.1];
    const idx = [20, 18, 15];
    for (let r = 0; r < 3; r++) origin[r] = centre[r]! - (direction[r]! * spacing[0] * idx[0]! + direction[3 + r]! * spacing[1] * idx[1]! + direction[6 + r]! * spacing[2] * idx[2]!);
    const R = 10;
    const v = sample([41, 37, 31], spacing, origin, direction, (x, y, z) => R - Math.hypot(x - centre[0]!, y - centre[1]!, z - centre[2]!));
    const { mesh } = await marchingCubes(v, { iso: 0 }, cpu);
    const q = meshQuality(mesh);
    expect(q.volume).toBeGreaterThan(0);
    expect(Math.abs(q.volume / ((4 / 3) * Math.PI * R ** 3) - 1)).toBeLessThan(0.01);
    for (let p = 0; p < mesh.positions.length; p += 3) {
      const d = Math.hypot(mesh.positions[p]! - centre[0]!, mesh.positions[p + 1]! - centre[1]!, mesh.positions[p + 2]! - centre[2]!);
      // Vertices lie on the sphere up to the linear-interpolation error (< h^2 / R ~ 0.12 mm).
      expect(Math.abs(d - R)).toBeLessThan(0.15);
    }
  });

  it('rejects vector volumes, tiny dims and a missing or doubled iso/label with INVALID_ARGUMENT', async () => {
    const v = createVolume({ data: new Uint8Array(8), dims: [2, 2, 2] });
    await expect(marchingCubes(v, {}, cpu)).rejects.toSatisfy((e) => isPhysiotwinError(e, 'INVALID_ARGUMENT'));
    await expect(marchingCubes(v, { iso: 1, label: 1 }, cpu)).rejects.toSatisfy((e) => isPhysiotwinError(e, 'INVALID_ARGUMENT'));
    await expect(marchingCubes(v, { iso: NaN }, cpu)).rejects.toSatisfy((e) => isPhysiotwinError(e, 'INVALID_ARGUMENT'));
    await expect(marchingCubes(createVolume({ data: new Uint8Array(4), dims: [4, 1, 1] }), { iso: 1 }, cpu)).rejects.toSatisfy((e) => isPhysiotwinError(e, 'INVALID_ARGUMENT'));
  });
});

describe('marching cubes on the rotated head CT', () => {
  it('meshes to world positions that map back (worldToIndex) onto the isosurface of the voxel grid', async () => {
    const head = readHeadsq();
    expect(head.dims).toEqual([64, 64, 93]);
    const iso = 1150.5;
    const { mesh } = await marchingCubes(head, { iso }, cpu);
    const q = meshQuality(mesh);
    expect(q.triangles).toBeGreaterThan(10_000);
    expect(q.manifold && q.oriented).toBe(true);
    const toIndex = worldToIndex(mat4.create(), head);
    const p = vec3.create();
    const [nx, ny] = head.dims;
    const at = (i: number, j: number, k: number) => head.data[i + nx * (j + ny * k)]!;
    for (let v = 0; v < mesh.positions.length; v += 3) {
      vec3.transformMat4(p, [mesh.positions[v]!, mesh.positions[v + 1]!, mesh.positions[v + 2]!], toIndex);
      // Each vertex lies on a grid edge: two of its index coordinates are integers (to f32 position
      // precision: ~2e-5 mm at 200 mm over 1.5 mm voxels, so 1e-4 voxel).
      const frac = [0, 1, 2].map((a) => Math.abs(p[a]! - Math.round(p[a]!)));
      const along = frac.indexOf(Math.max(...frac));
      expect(frac.filter((f, a) => a !== along).every((f) => f < 1e-4)).toBe(true);
      // The position along the edge is where linear interpolation reaches the isovalue (clamped to
      // [EDGE_CLAMP, 1 - EDGE_CLAMP]), to the same 1e-4 voxel.
      const c = [0, 1, 2].map((a) => (a === along ? Math.floor(p[a]!) : Math.round(p[a]!)));
      const t = p[along]! - c[along]!;
      const d = [0, 0, 0];
      d[along] = 1;
      const v0 = at(c[0]!, c[1]!, c[2]!);
      const v1 = at(c[0]! + d[0]!, c[1]! + d[1]!, c[2]! + d[2]!);
      expect(Math.min(v0, v1)).toBeLessThan(iso);
      expect(Math.max(v0, v1)).toBeGreaterThan(iso);
      const exact = Math.min(1 - EDGE_CLAMP, Math.max(EDGE_CLAMP, (iso - v0) / (v1 - v0)));
      expect(Math.abs(t - exact)).toBeLessThan(1e-4);
    }
  });
});
