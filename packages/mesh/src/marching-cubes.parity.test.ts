import { expect, it } from 'vitest';
import type { Mat3, Vec3, Volume } from '@physiotwin/core';
import { createRng, createVolume } from '@physiotwin/core';
import { describeBackends } from '@physiotwin/gpu/testing';
import { marchingCubes } from './marching-cubes.js';
import { marchingCubesCpu } from './marching-cubes.cpu.js';
import { isosurfaceInput } from './marching-cubes.js';
import { meshQuality } from './quality.js';
import { readHeadsq } from './headsq.test-helper.js';

const rng = createRng(9);
const a = Math.PI / 6;
const reflected: Mat3 = [Math.cos(a), Math.sin(a), 0, -Math.sin(a), Math.cos(a), 0, 0, 0, -1];

/**
 * A block of `v` starting at voxel `lo`, with the origin moved so that every voxel keeps its world position.
 * The head CT is cropped to 48 x 48 x 40 (92,160 points): still real data on a rotated grid, and still more than
 * 256^2 points, so the prefix sums run three levels, at a quarter of the full 64 x 64 x 93 (a WebGPU parity run on
 * SwiftShader scales with the points).
 */
function cropped(v: Volume<Int16Array>, lo: Vec3, dims: Vec3): Volume {
  const data = new Int16Array(dims[0] * dims[1] * dims[2]);
  for (let k = 0; k < dims[2]; k++) {
    for (let j = 0; j < dims[1]; j++) {
      const src = lo[0] + v.dims[0] * (lo[1] + j + v.dims[1] * (lo[2] + k));
      data.set(v.data.subarray(src, src + dims[0]), dims[0] * (j + dims[1] * k));
    }
  }
  const d = v.direction;
  const origin = [0, 1, 2].map((r) => v.origin[r]! + d[r]! * v.spacing[0] * lo[0] + d[3 + r]! * v.spacing[1] * lo[1] + d[6 + r]! * v.spacing[2] * lo[2]) as Vec3;
  return createVolume({ data, dims, spacing: [...v.spacing], origin, direction: [...v.direction] as Mat3 });
}

/** Cases: integer sphere (samples equal to iso), random float field with ties, reflected direction, head CT. */
function cases(): Array<{ name: string; volume: Volume; iso?: number; label?: number; capBoundary?: boolean }> {
  const n = 24;
  const sphere = new Int16Array(n * n * n);
  for (let k = 0; k < n; k++) for (let j = 0; j < n; j++) for (let i = 0; i < n; i++) sphere[i + n * (j + n * k)] = (i - 11) ** 2 + (j - 12) ** 2 + (k - 11) ** 2;
  const random = Float32Array.from({ length: 13 * 11 * 9 }, () => Math.floor(rng.next() * 5) / 4);
  const labels = Uint8Array.from({ length: 12 * 12 * 12 }, () => Math.floor(rng.next() * 3));
  return [
    { name: 'int16 sphere, iso equal to samples (r^2 = 81)', volume: createVolume({ data: sphere, dims: [n, n, n], spacing: [0.7, 0.8, 1.3], origin: [-5, 3, 100] }), iso: 81 },
    { name: 'float32 random field with ties, reflected rotated direction', volume: createVolume({ data: random, dims: [13, 11, 9], direction: reflected, origin: [10, 20, 30] }), iso: 0.5 },
    { name: 'labelmap, label 2, capped', volume: createVolume({ data: labels, dims: [12, 12, 12] }), label: 2, capBoundary: true },
    { name: 'rotated head CT (48 x 48 x 40 block), iso 1150.5', volume: cropped(readHeadsq(), [8, 8, 26], [48, 48, 40]), iso: 1150.5 },
  ];
}

describeBackends('marching cubes', (b) => {
  for (const c of cases()) {
    it(`matches the CPU reference: ${c.name}`, async () => {
      const spec = { iso: c.iso, label: c.label, capBoundary: c.capBoundary };
      const r = await marchingCubes(c.volume, spec, b.options());
      expect(r.backend).toBe(b.backend);
      const ref = marchingCubesCpu(isosurfaceInput(c.volume, spec, 'test'));
      expect(r.mesh.triangles.length).toBe(ref.triangles.length);
      expect(r.mesh.triangles.length).toBeGreaterThan(0);
      expect(Array.from(r.mesh.triangles)).toEqual(Array.from(ref.triangles));
      // Same vertices within 1e-5 of the largest coordinate: the WebGPU kernel interpolates and transforms
      // in f32 (relative rounding ~6e-8 per operation), the CPU in f64.
      let scale = 0;
      for (const v of ref.positions) scale = Math.max(scale, Math.abs(v));
      let worst = 0;
      for (let i = 0; i < ref.positions.length; i++) worst = Math.max(worst, Math.abs(r.mesh.positions[i]! - ref.positions[i]!));
      expect(worst / scale).toBeLessThan(b.backend === 'cpu' ? 1e-12 : 1e-5);
      const q = meshQuality(r.mesh);
      expect(q.manifold && q.oriented).toBe(true);
      expect(q.degenerateTriangles).toBe(0);
    });
  }
});
