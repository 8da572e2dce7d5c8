import { describe, expect, it } from 'vitest';
import { createRng, createVolume, isPhysiotwinError } from '@physiotwin/core';
import { describeBackends } from '@physiotwin/gpu/testing';
import { otsuMask, otsuThreshold } from './otsu.js';

// Two populations: 3/4 of the voxels around 100 (sd 10), 1/4 around 300 (sd 20), int16.
const rng = createRng(21);
const n = 40 * 40 * 20;
const data = Int16Array.from({ length: n }, (_, i) => Math.round(i % 4 === 0 ? 300 + 20 * rng.normal() : 100 + 10 * rng.normal()));
const vol = createVolume({ data, dims: [40, 40, 20] });

/** Reference written independently: Otsu over every integer threshold of the raw values (no binning). */
function exactOtsu(values: Int16Array): number {
  let best = 0;
  let bestVar = -1;
  const lo = Math.min(...values);
  const hi = Math.max(...values);
  for (let t = lo + 1; t <= hi; t++) {
    let w0 = 0, s0 = 0, w1 = 0, s1 = 0;
    for (const v of values) {
      if (v < t) { w0++; s0 += v; } else { w1++; s1 += v; }
    }
    const between = w0 * w1 * (s0 / w0 - s1 / w1) ** 2;
    if (between > bestVar) { bestVar = between; best = t; }
  }
  return best;
}

describeBackends('otsu', (b) => {
  it('separates a bimodal volume where the exact (unbinned) Otsu threshold does, to one bin', async () => {
    const r = await otsuThreshold(vol, { bins: 128 }, b.options());
    const exact = exactOtsu(data);
    const binWidth = (Math.max(...data) - Math.min(...data)) / 128;
    expect(exact).toBeGreaterThan(150);
    expect(exact).toBeLessThan(250);
    expect(Math.abs(r.threshold - exact)).toBeLessThanOrEqual(binWidth);
    const m = await otsuMask(vol, { bins: 128 }, b.options());
    let upper = 0;
    for (let i = 0; i < n; i++) upper += m.mask.data[i]!;
    expect(upper).toBe(data.filter((v) => v >= m.threshold).length);
    // A quarter of the voxels are the bright population; the threshold sits about 5 sd from both means, so
    // at most a few tail samples land on the wrong side.
    expect(Math.abs(upper - n / 4)).toBeLessThanOrEqual(3);
  });
});

describe('otsu errors', () => {
  it('rejects a constant volume with INVALID_ARGUMENT', async () => {
    const flat = createVolume({ data: new Int16Array(27).fill(7), dims: [3, 3, 3] });
    await expect(otsuThreshold(flat, {}, { backend: 'cpu' })).rejects.toSatisfy((e) => isPhysiotwinError(e, 'INVALID_ARGUMENT'));
  });
});
