import { describe, expect, it } from 'vitest';
import type { Vec3 } from '@physiotwin/core';
import { createVolume, isPhysiotwinError } from '@physiotwin/core';
import { describeBackends } from '@physiotwin/gpu/testing';
import { decimate } from './decimate.js';
import { marchingCubes } from './marching-cubes.js';
import { meshQuality } from './quality.js';
import { smoothTaubin } from './smooth.js';
import { surfaceFromVolume } from './surface-pipeline.js';

/**
 * The signed distance to a sphere of radius R = 8 mm (negative inside, as VMTK and ITK level sets), sampled on a
 * 24^3 grid of 1 mm voxels, centre off the grid points so no sample is exactly 0; `negate` gives its mirror
 * (positive inside).
 */
const R = 8;
function sphereDistance(negate = false) {
  const dims: Vec3 = [24, 24, 24];
  const c = [11.6, 11.3, 11.8];
  const data = new Float32Array(dims[0] * dims[1] * dims[2]);
  for (let k = 0, p = 0; k < dims[2]; k++) for (let j = 0; j < dims[1]; j++) for (let i = 0; i < dims[0]; i++, p++) {
    const d = Math.hypot(i - c[0]!, j - c[1]!, k - c[2]!) - R;
    data[p] = negate ? -d : d;
  }
  return createVolume({ data, dims, origin: [-5, 3, 10] });
}

describeBackends('isosurface inside below (a level set, negative inside)', (b) => {
  it("meshes the sphere of a signed distance map: closed, outward, the sphere's volume", async () => {
    const { mesh, backend } = await marchingCubes(sphereDistance(), { iso: 0, inside: 'below' }, b.options());
    expect(backend).toBe(b.backend);
    const q = meshQuality(mesh);
    expect([q.closed, q.manifold, q.oriented, q.genus, q.components]).toEqual([true, true, true, 0, 1]);
    // Marching cubes inscribes a polyhedron whose vertices lie on the linearly interpolated zero crossings of the
    // distance (exact along the radial direction, O(h^2 / R) inside the sphere elsewhere): the volume falls short of
    // 4/3 pi R^3 by O((h / R)^2) = 1.6% at h = 1 mm; 3% bounds it, and normals point outward (positive volume).
    const exact = (4 / 3) * Math.PI * R ** 3;
    expect(q.volume).toBeGreaterThan(0.97 * exact);
    expect(q.volume).toBeLessThan(exact);
  });

  it('gives exactly the mesh of the negated map meshed with inside above (the default)', async () => {
    const below = (await marchingCubes(sphereDistance(), { iso: 0, inside: 'below' }, b.options())).mesh;
    const mirrored = (await marchingCubes(sphereDistance(true), { iso: 0 }, b.options())).mesh;
    expect(Array.from(below.triangles)).toEqual(Array.from(mirrored.triangles));
    expect(Array.from(below.positions)).toEqual(Array.from(mirrored.positions));
    // The default (above) on the distance map itself takes the outside as the object: the same sphere, with inward
    // normals (negative volume). Not the same triangles: marching cubes' case table is not symmetric under swapping
    // inside and outside in ambiguous cells, which moves less than a tenth of one voxel's volume here.
    const above = meshQuality((await marchingCubes(sphereDistance(), { iso: 0 }, b.options())).mesh);
    expect(Math.abs(above.volume + meshQuality(below).volume)).toBeLessThan(0.1);
  });

  it('caps a level set cut by the volume border on the inside side', async () => {
    // Iso 5: the ball of radius 13 around a centre 11.3 to 12.7 voxels from each face is cut by every face of the
    // volume; the caps must close it on the inside side (outward normals: positive volume).
    const { mesh } = await marchingCubes(sphereDistance(), { iso: 5, inside: 'below', capBoundary: true }, b.options());
    const q = meshQuality(mesh);
    expect([q.closed, q.manifold, q.oriented]).toEqual([true, true, true]);
    expect(q.volume).toBeGreaterThan(0);
  });
});

describe('surfaceFromVolume', () => {
  it('is marching cubes, then Taubin smoothing, then decimation, with a time per step', async () => {
    const volume = sphereDistance();
    const spec = { iso: 0, inside: 'below' as const, capBoundary: true, smooth: 5, decimate: 0.5 };
    const r = await surfaceFromVolume(volume, spec, { backend: 'cpu' });
    const mc = (await marchingCubes(volume, { iso: 0, inside: 'below', capBoundary: true }, { backend: 'cpu' })).mesh;
    const byHand = decimate(smoothTaubin(mc, { iterations: 5 }), { ratio: 0.5 });
    expect(Array.from(r.mesh.triangles)).toEqual(Array.from(byHand.triangles));
    expect(Array.from(r.mesh.positions)).toEqual(Array.from(byHand.positions));
    expect(r.backend).toBe('cpu');
    expect(Object.keys(r.timings)).toEqual(['marchingCubes', 'smooth', 'decimate']);
    const plain = await surfaceFromVolume(volume, { iso: 0, inside: 'below' }, { backend: 'cpu' });
    expect(Object.keys(plain.timings)).toEqual(['marchingCubes']);
  });

  it('refuses bad options before any work, and stops with ABORTED when the signal fires', async () => {
    const volume = sphereDistance();
    const code = async (p: Promise<unknown>) => p.then(() => 'ok', (e: unknown) => (isPhysiotwinError(e) ? e.code : String(e)));
    expect(await code(surfaceFromVolume(volume, { iso: 0, smooth: 1.5 }))).toBe('INVALID_ARGUMENT');
    expect(await code(surfaceFromVolume(volume, { iso: 0, decimate: 0 }))).toBe('INVALID_ARGUMENT');
    expect(await code(surfaceFromVolume(volume, { label: 1, inside: 'below' }))).toBe('INVALID_ARGUMENT');
    expect(await code(surfaceFromVolume(volume, { iso: 0, inside: 'sideways' as 'below' }))).toBe('INVALID_ARGUMENT');
    const controller = new AbortController();
    const aborted = surfaceFromVolume(volume, { iso: 0, inside: 'below', smooth: 50 }, {
      backend: 'cpu',
      signal: controller.signal,
      onProgress: (e) => {
        if (e.stage === 'smoothing') controller.abort();
      },
    });
    expect(await code(aborted)).toBe('ABORTED');
  });
});
