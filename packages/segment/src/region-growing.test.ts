import { describe, expect, it } from 'vitest';
import { createRng, createVolume, isPhysiotwinError } from '@physiotwin/core';
import { describeBackends } from '@physiotwin/gpu/testing';
import { confidenceConnected, connectedThreshold } from './region-growing.js';

// Two bright balls (value ~1000, noise sd 20) in a dark background (~0, sd 20), radius 5 voxels, centres 14 apart.
const n = 32;
const rng = createRng(5);
const data = new Int16Array(n * n * n);
const inBall = (i: number, j: number, k: number, c: number) => (i - c) ** 2 + (j - 16) ** 2 + (k - 16) ** 2 <= 25;
for (let k = 0; k < n; k++) for (let j = 0; j < n; j++) for (let i = 0; i < n; i++) {
  const bright = inBall(i, j, k, 9) || inBall(i, j, k, 23);
  data[i + n * (j + n * k)] = Math.round((bright ? 1000 : 0) + 20 * rng.normal());
}
const vol = createVolume({ data, dims: [n, n, n] });
const ballVoxels = (() => {
  let c = 0;
  for (let k = 0; k < n; k++) for (let j = 0; j < n; j++) for (let i = 0; i < n; i++) if (inBall(i, j, k, 9)) c++;
  return c;
})();

describeBackends('region growing', (b) => {
  it('connected threshold grows only the seeded ball', async () => {
    const r = await connectedThreshold(vol, [[9, 16, 16]], { lower: 500, upper: 2000 }, b.options());
    let inside = 0;
    for (let k = 0; k < n; k++) for (let j = 0; j < n; j++) for (let i = 0; i < n; i++) {
      const v = r.mask.data[i + n * (j + n * k)]!;
      expect(v).toBe(inBall(i, j, k, 9) ? 1 : 0);
      inside += v;
    }
    expect(inside).toBe(ballVoxels);
  });

  it('confidence connected finds the seeded ball from its neighbourhood statistics', async () => {
    const r = await confidenceConnected(vol, [[9, 16, 16]], { radius: 1, multiplier: 3, iterations: 2 }, b.options());
    // The ball's values are 1000 +- 20 (sd): the range must sit around 1000 and exclude the background.
    expect(r.mean).toBeGreaterThan(980);
    expect(r.mean).toBeLessThan(1020);
    expect(r.lower).toBeGreaterThan(100);
    let wrong = 0;
    for (let k = 0; k < n; k++) for (let j = 0; j < n; j++) for (let i = 0; i < n; i++) {
      if (r.mask.data[i + n * (j + n * k)]! !== (inBall(i, j, k, 9) ? 1 : 0)) wrong++;
    }
    // mean -+ 3 sd keeps 99.7% of Gaussian samples: a few boundary voxels of ~515 may be missed.
    expect(wrong).toBeLessThanOrEqual(5);
  });
});

describe('region growing errors', () => {
  it('rejects bad seeds and parameters with INVALID_ARGUMENT', async () => {
    await expect(confidenceConnected(vol, [[40, 0, 0]], {}, { backend: 'cpu' })).rejects.toSatisfy((e) => isPhysiotwinError(e, 'INVALID_ARGUMENT'));
    await expect(confidenceConnected(vol, [[1, 1, 1]], { multiplier: 0 }, { backend: 'cpu' })).rejects.toSatisfy((e) => isPhysiotwinError(e, 'INVALID_ARGUMENT'));
    await expect(confidenceConnected(vol, [[1, 1, 1]], { radius: 1.5 }, { backend: 'cpu' })).rejects.toSatisfy((e) => isPhysiotwinError(e, 'INVALID_ARGUMENT'));
    await expect(connectedThreshold(vol, [[1, 1, 1]], { lower: 3, upper: 2 }, { backend: 'cpu' })).rejects.toSatisfy((e) => isPhysiotwinError(e, 'INVALID_ARGUMENT'));
  });
});
