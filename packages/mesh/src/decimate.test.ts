import { describe, expect, it } from 'vitest';
import type { Volume } from '@physiotwin/core';
import { createVolume, isPhysiotwinError } from '@physiotwin/core';
import { decimate } from './decimate.js';
import { marchingCubes } from './marching-cubes.js';
import { meshQuality } from './quality.js';

function field(n: number, f: (x: number, y: number, z: number) => number): Volume<Float32Array> {
  const data = new Float32Array(n * n * n);
  const c = (n - 1) / 2;
  for (let k = 0; k < n; k++) for (let j = 0; j < n; j++) for (let i = 0; i < n; i++) data[i + n * (j + n * k)] = f(i - c, j - c, k - c);
  return createVolume({ data, dims: [n, n, n] });
}

describe('quadric decimation', () => {
  it('reduces a sphere to a quarter of its triangles, staying closed, manifold, oriented, genus 0, volume within 1%', async () => {
    const { mesh } = await marchingCubes(field(40, (x, y, z) => 15 - Math.hypot(x, y, z)), { iso: 0 }, { backend: 'cpu' });
    const before = meshQuality(mesh);
    const out = decimate(mesh, { ratio: 0.25 });
    const q = meshQuality(out);
    expect(q.triangles).toBeLessThanOrEqual(Math.floor(before.triangles * 0.25) + 1);
    expect(q.triangles).toBeGreaterThan(before.triangles * 0.2);
    expect([q.closed, q.manifold, q.oriented, q.genus, q.components]).toEqual([true, true, true, 0, 1]);
    expect(q.degenerateTriangles).toBe(0);
    // Quadric collapses keep vertices near the original planes: a 4x coarser sphere loses little volume.
    expect(Math.abs(q.volume / before.volume - 1)).toBeLessThan(0.01);
  });

  it('keeps the genus of a torus', async () => {
    const { mesh } = await marchingCubes(field(44, (x, y, z) => 5 - Math.hypot(Math.hypot(x, y) - 13, z)), { iso: 0 }, { backend: 'cpu' });
    const q = meshQuality(decimate(mesh, { ratio: 0.2 }));
    expect([q.closed, q.manifold, q.oriented, q.genus]).toEqual([true, true, true, 1]);
  });

  it('rejects a ratio outside (0, 1] with INVALID_ARGUMENT', () => {
    const m = { positions: new Float32Array(9), triangles: Uint32Array.from([0, 1, 2]) };
    let error: unknown;
    try {
      decimate(m, { ratio: 0 });
    } catch (e) {
      error = e;
    }
    expect(isPhysiotwinError(error, 'INVALID_ARGUMENT')).toBe(true);
  });
});
