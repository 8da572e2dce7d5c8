import { describe, expect, it } from 'vitest';
import { createRng, createVolume } from '@physiotwin/core';
import { cleanMesh } from './clean.js';
import { marchingCubes } from './marching-cubes.js';
import { meshQuality } from './quality.js';

/** A marching-cubes surface of two balls (radius 6 and 4 voxels). */
async function twoBalls() {
  const n = 30;
  const data = new Float32Array(n * n * n);
  for (let k = 0; k < n; k++) for (let j = 0; j < n; j++) for (let i = 0; i < n; i++) {
    data[i + n * (j + n * k)] = Math.max(6 - Math.hypot(i - 9, j - 15, k - 15), 4 - Math.hypot(i - 22, j - 15, k - 15));
  }
  return (await marchingCubes(createVolume({ data, dims: [n, n, n] }), { iso: 0 }, { backend: 'cpu' })).mesh;
}

describe('cleanMesh', () => {
  it('re-merges a triangle soup, drops degenerate and duplicate triangles, re-orients flipped ones, keeps the largest ball', async () => {
    const mesh = await twoBalls();
    const ref = meshQuality(mesh);
    expect(ref.components).toBe(2);
    // Soup: every triangle gets its own three vertices; a third of the triangles are flipped; add a
    // degenerate triangle and a duplicate.
    const rng = createRng(2);
    const nt = mesh.triangles.length / 3;
    const positions = new Float32Array(9 * nt + 9);
    const triangles = new Uint32Array(3 * nt + 6);
    for (let t = 0; t < nt; t++) {
      const flip = rng.next() < 1 / 3;
      for (let c = 0; c < 3; c++) {
        const v = mesh.triangles[3 * t + (flip ? (3 - c) % 3 : c)]!;
        positions.set(mesh.positions.subarray(3 * v, 3 * v + 3), 9 * t + 3 * c);
        triangles[3 * t + c] = 3 * t + c;
      }
    }
    positions.set([1, 1, 1, 1, 1, 1, 2, 2, 2], 9 * nt); // degenerate (two equal points)
    triangles.set([3 * nt, 3 * nt + 1, 3 * nt + 2, 0, 1, 2], 3 * nt);
    const soup = { positions, triangles };
    expect(meshQuality(soup).closed).toBe(false);
    const clean = meshQuality(cleanMesh(soup));
    expect([clean.closed, clean.manifold, clean.oriented, clean.components, clean.triangles, clean.vertices]).toEqual([true, true, true, 2, ref.triangles, ref.vertices]);
    expect(clean.volume).toBeCloseTo(ref.volume, 3);
    const largest = meshQuality(cleanMesh(soup, { largestComponent: true }));
    expect(largest.components).toBe(1);
    // The larger ball (r = 6): volume within the 3% a 1-voxel grid gives at this radius.
    expect(Math.abs(largest.volume / ((4 / 3) * Math.PI * 216) - 1)).toBeLessThan(0.03);
  });

  it('turns an inside-out closed surface outward', async () => {
    const mesh = await twoBalls();
    const inverted = { positions: mesh.positions, triangles: mesh.triangles.slice() };
    for (let t = 0; t < inverted.triangles.length; t += 3) [inverted.triangles[t + 1], inverted.triangles[t + 2]] = [inverted.triangles[t + 2]!, inverted.triangles[t + 1]!];
    expect(meshQuality(inverted).volume).toBeLessThan(0);
    expect(meshQuality(cleanMesh(inverted)).volume).toBeCloseTo(meshQuality(mesh).volume, 3);
  });
});
