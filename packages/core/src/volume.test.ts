import { mat4, vec3 } from 'gl-matrix';
import { describe, expect, it } from 'vitest';
import { createVolume, indexToWorld, isPhysiotwinError, volumeNdarray, worldToIndex } from './index.js';
import type { Mat3 } from './index.js';

describe('Volume', () => {
  // A 30 degree rotation about z (columns are the i, j, k axes), as in the vtk.js headsq fixture.
  const c = Math.cos(Math.PI / 6);
  const s = Math.sin(Math.PI / 6);
  const rotated: Mat3 = [c, s, 0, -s, c, 0, 0, 0, 1];

  it('maps index to world as origin + direction * diag(spacing) * index', () => {
    const v = createVolume({ data: new Int16Array(4 * 3 * 2), dims: [4, 3, 2], spacing: [3.2, 3.2, 1.5], origin: [10, -5, 2], direction: rotated });
    // A Float64Array out keeps full precision (mat4.create() is Float32Array; gl-matrix works on either).
    const m = indexToWorld(new Float64Array(16) as unknown as mat4, v);
    const p = vec3.transformMat4(new Float64Array(3) as unknown as vec3, [1, 0, 0], m);
    // index (1,0,0): origin + 3.2 * (cos30, sin30, 0) = (10 + 2.7713, -5 + 1.6, 2)
    expect(p[0]).toBeCloseTo(10 + 3.2 * c, 12);
    expect(p[1]).toBeCloseTo(-5 + 1.6, 12);
    expect(p[2]).toBeCloseTo(2, 12);
    const q = vec3.transformMat4(new Float64Array(3) as unknown as vec3, [2, 1, 1], m);
    const back = vec3.transformMat4(new Float64Array(3) as unknown as vec3, q, worldToIndex(new Float64Array(16) as unknown as mat4, v));
    // f64 inverse: the round trip is exact to a few ulps of the ~15 mm coordinates.
    for (const [i, x] of [2, 1, 1].entries()) expect(Math.abs(back[i]! - x)).toBeLessThan(1e-12);
    // With gl-matrix's default Float32Array matrices the same holds to f32 precision (~1e-6 relative).
    const back32 = vec3.transformMat4(vec3.create(), q, worldToIndex(mat4.create(), v));
    for (const [i, x] of [2, 1, 1].entries()) expect(Math.abs(back32[i]! - x)).toBeLessThan(1e-5);
  });

  it('gives a zero-copy ndarray view with x fastest', () => {
    const data = Uint8Array.from({ length: 24 }, (_, i) => i);
    const v = createVolume({ data, dims: [4, 3, 2] });
    const view = volumeNdarray(v);
    expect(view.get(1, 2, 1)).toBe(1 + 4 * (2 + 3 * 1));
    view.set(0, 0, 0, 99);
    expect(data[0]).toBe(99);
    const rgb = createVolume({ data: new Uint8Array(4 * 3 * 2 * 3), dims: [4, 3, 2], components: 3 });
    volumeNdarray(rgb).set(1, 0, 0, 2, 7);
    expect(rgb.data[3 * 1 + 2]).toBe(7);
  });

  it('rejects inconsistent volumes with INVALID_ARGUMENT, bad geometry with GEOMETRY_INVALID, naming the field', () => {
    const data = new Int16Array(8);
    const cases: Array<[() => unknown, string, RegExp]> = [
      [() => createVolume({ data: new Int16Array(5), dims: [2, 2, 2] }), 'INVALID_ARGUMENT', /data has 5/],
      [() => createVolume({ data, dims: [2, 2, 0] as never }), 'INVALID_ARGUMENT', /dims/],
      [() => createVolume({ data, dims: [2, 2, 2], rescale: { slope: 0, intercept: 0 } }), 'INVALID_ARGUMENT', /rescale/],
      [() => createVolume({ data: [1, 2] as unknown as Int16Array, dims: [2, 1, 1] }), 'INVALID_ARGUMENT', /unsupported voxel array/],
      [() => createVolume({ data, dims: [2, 2, 2], spacing: [1, -1, 1] }), 'GEOMETRY_INVALID', /spacing/],
      [() => createVolume({ data, dims: [2, 2, 2], spacing: [1, Number.POSITIVE_INFINITY, 1] }), 'GEOMETRY_INVALID', /spacing/],
      [() => createVolume({ data, dims: [2, 2, 2], origin: [0, Number.NaN, 0] }), 'GEOMETRY_INVALID', /origin/],
      [() => createVolume({ data, dims: [2, 2, 2], direction: [1, 0, 0, 0, Number.NaN, 0, 0, 0, 1] }), 'GEOMETRY_INVALID', /direction/],
      [() => createVolume({ data, dims: [2, 2, 2], direction: [1, 0, 0, 1, 0, 0, 0, 0, 1] }), 'GEOMETRY_INVALID', /singular/],
      // pixdim 3e38 (the NIfTI case of issue 11): finite in f64, but past float32 (3.4e38) at the far corner.
      [() => createVolume({ data, dims: [2, 2, 2], spacing: [3e38, 1, 1] }), 'GEOMETRY_INVALID', /reaches 6e\+38 mm/],
      [() => createVolume({ data, dims: [2, 2, 2], origin: [0, 0, -2e18] }), 'GEOMETRY_INVALID', /reaches/],
    ];
    for (const [make, code, message] of cases) {
      let err: unknown;
      try {
        make();
      } catch (e) {
        err = e;
      }
      expect(isPhysiotwinError(err, code as never), String(err)).toBe(true);
      expect((err as Error).message).toMatch(message);
    }
  });

  it('accepts a grid right up to MAX_WORLD_COORDINATE_MM (one voxel of margin included)', () => {
    // Corner index 2 (dims + margin) * 2.5e17 = 5e17, plus origin 5e17: exactly 1e18.
    expect(createVolume({ data: new Int16Array(2), dims: [2, 1, 1], spacing: [2.5e17, 1, 1], origin: [5e17, 0, 0] }).spacing[0]).toBe(2.5e17);
    expect(() => createVolume({ data: new Int16Array(2), dims: [2, 1, 1], spacing: [2.5e17, 1, 1], origin: [5.000001e17, 0, 0] })).toThrow(/GEOMETRY_INVALID/);
  });
});
