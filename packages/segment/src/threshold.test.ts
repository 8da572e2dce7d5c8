import { describe, expect, it } from 'vitest';
import { createRng, createVolume, isPhysiotwinError } from '@physiotwin/core';
import { describeBackends } from '@physiotwin/gpu/testing';
import { threshold } from './threshold.js';

const rng = createRng(7);
const dims: [number, number, number] = [19, 11, 7];
const values = Int16Array.from({ length: 19 * 11 * 7 }, () => Math.floor(rng.next() * 4000) - 1000);
const ct = createVolume({ data: values, dims, spacing: [0.7, 0.7, 2] });

describeBackends('threshold', (b) => {
  it('selects exactly lower <= v <= upper, bounds inclusive', async () => {
    // Bounds that are sample values, to exercise the inclusive ends.
    const lower = values[5]!;
    const upper = values[17]! > lower ? values[17]! : lower + 500;
    const r = await threshold(ct, { lower, upper }, b.options());
    expect(r.backend).toBe(b.backend);
    let inside = 0;
    for (let i = 0; i < values.length; i++) {
      expect(r.mask.data[i]).toBe(values[i]! >= lower && values[i]! <= upper ? 1 : 0);
      inside += r.mask.data[i]!;
    }
    expect(inside).toBeGreaterThan(0);
    expect(r.mask.dims).toEqual(dims);
    expect(r.mask.spacing).toEqual([0.7, 0.7, 2]);
  });

  it('thresholds physical values through the rescale (negative slope swaps the ends)', async () => {
    const v = createVolume({ data: Uint16Array.from([0, 1, 2, 3, 4, 5, 6, 7]), dims: [2, 2, 2], rescale: { slope: -2, intercept: 10 } });
    // physical = 10 - 2 s: 10, 8, 6, 4, 2, 0, -2, -4; [0, 6] selects s = 2..5.
    const r = await threshold(v, { lower: 0, upper: 6 }, b.options());
    expect(Array.from(r.mask.data)).toEqual([0, 0, 1, 1, 1, 1, 0, 0]);
  });

  it('thresholds float32 at non-representable bounds like the f64 comparison', async () => {
    const data = Float32Array.from([0.1, 0.2, 0.30000001192092896, 0.3, 0.4, 0.5, 0.6, 0.7]);
    const v = createVolume({ data, dims: [8, 1, 1] });
    const r = await threshold(v, { lower: 0.2, upper: 0.3 }, b.options());
    const expected = Array.from(data, (x) => (x >= 0.2 && x <= 0.3 ? 1 : 0));
    expect(Array.from(r.mask.data)).toEqual(expected);
  });
});

describe('threshold errors', () => {
  it('rejects lower > upper, vector volumes and float64 on WebGPU with INVALID_ARGUMENT', async () => {
    await expect(threshold(ct, { lower: 5, upper: 1 }, { backend: 'cpu' })).rejects.toSatisfy((e) => isPhysiotwinError(e, 'INVALID_ARGUMENT'));
    const rgb = createVolume({ data: new Uint8Array(24), dims: [2, 2, 2], components: 3 });
    await expect(threshold(rgb, { lower: 0 }, { backend: 'cpu' })).rejects.toSatisfy((e) => isPhysiotwinError(e, 'INVALID_ARGUMENT'));
    const f64 = createVolume({ data: new Float64Array(8), dims: [2, 2, 2] });
    await expect(threshold(f64, { lower: 0 }, { backend: 'webgpu' })).rejects.toSatisfy((e) => isPhysiotwinError(e, 'INVALID_ARGUMENT'));
    // auto on float64 stays on the CPU.
    expect((await threshold(f64, { lower: 0 })).backend).toBe('cpu');
  });
});
