import { describe, expect, it } from 'vitest';
import type { Vec3 } from '@physiotwin/core';
import { createVolume, isPhysiotwinError } from '@physiotwin/core';
import { describeBackends } from '@physiotwin/gpu/testing';
import { adaptiveConnected } from './adaptive-connected.js';
import { confidenceConnected } from './region-growing.js';

/**
 * A tube along j (axis at i = 15, k = 10; radius 5 mm; spacing 1 x 1 x 1.5 mm) whose value falls 20-fold along
 * its length, L(j) = 1000 exp(-j / 30), on surroundings at 0.15 L(j): a lumen darkening under a coil's fall-off.
 */
const dims: Vec3 = [31, 90, 21];
const spacing: Vec3 = [1, 1, 1.5];
const inTube = (i: number, k: number) => Math.hypot(i - 15, 1.5 * (k - 10)) <= 5;
function tube(): { volume: ReturnType<typeof createVolume<Float32Array>>; truth: Uint8Array } {
  const data = new Float32Array(dims[0] * dims[1] * dims[2]);
  const truth = new Uint8Array(data.length);
  for (let k = 0, p = 0; k < dims[2]; k++) {
    for (let j = 0; j < dims[1]; j++) {
      for (let i = 0; i < dims[0]; i++, p++) {
        const L = 1000 * Math.exp(-j / 30);
        truth[p] = inTube(i, k) ? 1 : 0;
        data[p] = truth[p] ? L : 0.15 * L;
      }
    }
  }
  return { volume: createVolume({ data, dims, spacing }), truth };
}
const seed: Vec3 = [15, 20, 10];

describeBackends('adaptiveConnected', (b) => {
  it('follows a tube whose brightness falls 20-fold: exactly its voxels, where seed statistics stop early', async () => {
    const { volume, truth } = tube();
    const r = await adaptiveConnected(volume, [seed], {}, b.options());
    expect(r.converged).toBe(true);
    expect(r.backend).toBe(b.backend);
    // Inside, the threshold is 0.5 (L + B) of window means: at most 0.575 L times the window's brightness spread
    // (below 1.3 at the image's end), so every tube voxel passes and no surrounding voxel (0.15 L) does.
    expect(Array.from(r.mask.data)).toEqual(Array.from(truth));
    const physicalLow = 0.15 * 1000 * Math.exp(-89 / 30);
    expect(r.thresholdMin).toBeGreaterThan(physicalLow);
    expect(r.thresholdMax).toBeLessThan(1000);
    // A single range from the seed statistics cannot follow the fall-off.
    const fixed = await confidenceConnected(volume, [seed], {}, b.options());
    const count = (m: Uint8Array) => m.reduce((a, v) => a + v, 0);
    expect(count(fixed.mask.data)).toBeLessThan(count(truth) / 2);
  });

  it('cuts a side branch too thin to have a core at most windowMm beyond the last core voxel', async () => {
    // Constant tube (radius 5 mm), 20 voxels long, and a one-voxel line leaving it along +i at j = 10, k = 10.
    const short: Vec3 = [dims[0], 20, dims[2]];
    const data = new Float32Array(short[0] * short[1] * short[2]);
    for (let k = 0, p = 0; k < short[2]; k++) for (let j = 0; j < short[1]; j++) for (let i = 0; i < short[0]; i++, p++) data[p] = inTube(i, k) || (j === 10 && k === 10 && i > 15) ? 1000 : 100;
    const windowMm = 4;
    const coreMm = 2;
    const r = await adaptiveConnected(createVolume({ data, dims: short, spacing }), [[15, 10, 10]], { windowMm, coreMm }, b.options());
    const onBranch = (i: number) => r.mask.data[i + short[0] * (10 + short[1] * 10)]!;
    let last = 15;
    while (last + 1 < short[0] && onBranch(last + 1)) last++;
    // The tube ends at i = 20; its core (deeper than 2 mm) at i <= 18; the window reaches 4 voxels beyond that.
    expect(last).toBeGreaterThan(20);
    expect(last).toBeLessThanOrEqual(20 - coreMm + windowMm);
    expect(onBranch(short[0] - 1)).toBe(0);
  });

  it('stops at maxIterations and says it did not converge', async () => {
    const { volume, truth } = tube();
    const r = await adaptiveConnected(volume, [seed], { maxIterations: 1 }, b.options());
    expect(r).toMatchObject({ iterations: 1, converged: false });
    const count = (m: Uint8Array) => m.reduce((a, v) => a + v, 0);
    expect(count(r.mask.data)).toBeGreaterThan(0);
    expect(count(r.mask.data)).toBeLessThan(count(truth));
  });
});

describe('adaptiveConnected errors', () => {
  const { volume } = tube();
  const bad = (e: unknown) => isPhysiotwinError(e, 'INVALID_ARGUMENT');
  it('rejects bad window, core, fraction, iterations, seeds and non-finite values with INVALID_ARGUMENT', async () => {
    const cpu = { backend: 'cpu' } as const;
    for (const spec of [{ windowMm: 0 }, { windowMm: NaN }, { coreMm: -1 }, { fraction: 0 }, { fraction: 1 }, { maxIterations: 0 }, { maxIterations: 2.5 }, { radius: -1 }]) {
      await expect(adaptiveConnected(volume, [seed], spec, cpu)).rejects.toSatisfy(bad);
    }
    await expect(adaptiveConnected(volume, [[31, 0, 0]], {}, cpu)).rejects.toSatisfy(bad);
    await expect(adaptiveConnected(volume, [], {}, cpu)).rejects.toSatisfy(bad);
    const nan = createVolume({ data: Float32Array.from({ length: 27 }, (_, i) => (i === 4 ? NaN : 1)), dims: [3, 3, 3] });
    await expect(adaptiveConnected(nan, [[1, 1, 1]], {}, cpu)).rejects.toSatisfy(bad);
  });
});
