import { describe, expect, it } from 'vitest';
import { createVolume } from '@physiotwin/core';
import { autoVesselParams } from './vessel-auto.js';

describe('autoVesselParams', () => {
  it('takes the noise sd of the 5x5x5 seed cube (population sd) and smooths with K = 2 sd / finest spacing', () => {
    // A checkerboard of 110 and 90: the 125 voxels of the seed cube hold 63 of 110 and 62 of 90, so the mean is
    // 100 + 10/125 and the (population) sd 10 sqrt(1 - 1/125^2).
    const dims: [number, number, number] = [9, 9, 9];
    const data = new Float32Array(729);
    for (let k = 0; k < 9; k++) for (let j = 0; j < 9; j++) for (let i = 0; i < 9; i++) data[i + 9 * (j + 9 * k)] = (i + j + k) % 2 === 0 ? 110 : 90;
    const p = autoVesselParams(createVolume({ data, dims, spacing: [0.5, 0.8, 2] }), [[4, 4, 4]]);
    const sd = 10 * Math.sqrt(1 - 1 / 125 ** 2);
    expect(p.noiseStd).toBeCloseTo(sd, 9);
    expect(p.diffusion).toEqual({ iterations: 5, conductance: expect.closeTo((2 * sd) / 0.5, 8) });
    expect(p.growing).toEqual({ windowMm: 15, coreMm: 2, fraction: 0.5 });
  });

  it('does not smooth a noise-free neighbourhood, and rejects a seed outside the image', () => {
    const v = createVolume({ data: new Float32Array(125).fill(7), dims: [5, 5, 5] });
    expect(autoVesselParams(v, [[2, 2, 2]]).diffusion).toBeUndefined();
    expect(() => autoVesselParams(v, [[5, 2, 2]])).toThrow(expect.objectContaining({ code: 'INVALID_ARGUMENT' }));
  });
});
