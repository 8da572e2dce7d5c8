import { describe, expect, it } from 'vitest';
import type { Vec3 } from '@physiotwin/core';
import { createRng, createVolume, isPhysiotwinError } from '@physiotwin/core';
import { describeBackends } from '@physiotwin/gpu/testing';
import { allocateArray, BoxBuffer, boxSumCpu, foregroundBox, grownBox, pasteBox, shiftBox, windowLengths } from './adaptive-connected.cpu.js';
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

describe('adaptiveConnected helpers', () => {
  const d: Vec3 = [9, 7, 5];
  const n = 9 * 7 * 5;
  const rng = createRng(4);
  it('boxSumCpu equals the brute-force clipped box sum (radii 0, inside and beyond the image)', () => {
    const data = Float64Array.from({ length: n }, () => Math.floor(rng.next() * 100));
    // [2, 3, 11]: more z samples than voxels per slice (z columns one at a time); [9, 7, 5]: z columns in chunks.
    for (const [dims, values] of [[d, data], [[2, 3, 11], data.subarray(0, 66)]] as Array<[Vec3, Float64Array]>) {
      for (const r of [[0, 0, 0], [1, 2, 1], [3, 0, 2], [12, 9, 7]] as Vec3[]) {
        const got = boxSumCpu(values.slice(), dims, r);
        for (let k = 0, p = 0; k < dims[2]; k++) for (let j = 0; j < dims[1]; j++) for (let i = 0; i < dims[0]; i++, p++) {
          let sum = 0;
          for (let c = Math.max(0, k - r[2]); c <= Math.min(dims[2] - 1, k + r[2]); c++) for (let b = Math.max(0, j - r[1]); b <= Math.min(dims[1] - 1, j + r[1]); b++) for (let a = Math.max(0, i - r[0]); a <= Math.min(dims[0] - 1, i + r[0]); a++) sum += values[a + dims[0] * (b + dims[1] * c)]!;
          // Integer values below 2^53: the running sums are exact.
          expect(got[p]).toBe(sum);
        }
      }
    }
    // The clipped window's voxel counts are the box sums of ones, in Int32 as in f64.
    const ones = boxSumCpu(new Int32Array(n).fill(1), d, [1, 2, 1]);
    const [li, lj, lk] = [windowLengths(9, 1), windowLengths(7, 2), windowLengths(5, 1)];
    expect(Array.from(li)).toEqual([2, 3, 3, 3, 3, 3, 3, 3, 2]);
    for (let k = 0, p = 0; k < d[2]; k++) for (let j = 0; j < d[1]; j++) for (let i = 0; i < d[0]; i++, p++) expect(ones[p]).toBe(li[i]! * lj[j]! * lk[k]!);
  });

  it('boxSumCpu rounds as one running sum per line, axis after axis (so its blocking cannot change a result)', () => {
    // Values of full 53-bit mantissas over six decades: the f64 sums round, and only the same order of additions
    // gives the same bits (a multiple of 2^-32 below 2^10 would sum exactly in any order).
    const data = Float64Array.from({ length: n }, () => Math.exp(14 * rng.next()) * (rng.next() < 0.3 ? -1 : 1));
    const r: Vec3 = [2, 3, 1];
    const want = data.slice();
    const strides = [1, d[0], d[0] * d[1]];
    for (let axis = 0; axis < 3; axis++) {
      const len = d[axis]!;
      const rad = r[axis]!;
      for (let start = 0; start < n; start++) {
        // Lines start at the voxels whose coordinate along `axis` is 0.
        if (Math.floor(start / strides[axis]!) % len !== 0) continue;
        const line = Array.from({ length: len }, (_, p) => want[start + p * strides[axis]!]!);
        let acc = 0;
        for (let q = 0; q <= Math.min(rad, len - 1); q++) acc += line[q]!;
        for (let p = 0; p < len; p++) {
          want[start + p * strides[axis]!] = acc;
          if (p + rad + 1 < len) acc += line[p + rad + 1]!;
          if (p - rad >= 0) acc -= line[p - rad]!;
        }
      }
    }
    expect(Array.from(boxSumCpu(data.slice(), d, r))).toEqual(Array.from(want));
  });

  it('foregroundBox bounds a mask\'s foreground; grownBox unites, grows and clips; shiftBox and pasteBox place boxes', () => {
    const a = new Uint8Array(n);
    a[2 + 9 * (3 + 7 * 1)] = 1;
    a[6 + 9 * (5 + 7 * 4)] = 1;
    expect(foregroundBox(a, d)).toEqual({ lo: [2, 3, 1], dims: [5, 3, 4] });
    expect(foregroundBox(new Uint8Array(n), d)).toBeUndefined();
    const one = { lo: [2, 3, 1] as Vec3, dims: [1, 1, 1] as Vec3 };
    const other = { lo: [6, 5, 4] as Vec3, dims: [1, 1, 1] as Vec3 };
    expect(grownBox([one, other], [1, 1, 1], d)).toEqual({ lo: [1, 2, 0], dims: [7, 5, 5] });
    expect(grownBox([one], [0, 0, 0], d)).toEqual(one);
    expect(grownBox([one], [5, 1, 9], d)).toEqual({ lo: [0, 2, 0], dims: [8, 3, 5] });
    const box = { lo: [1, 2, 0] as Vec3, dims: [7, 5, 5] as Vec3 };
    expect(shiftBox(one, box.lo, -1)).toEqual({ lo: [1, 1, 1], dims: [1, 1, 1] });
    expect(shiftBox(shiftBox(one, box.lo, -1), box.lo, 1)).toEqual(one);
    const boxed = Uint8Array.from({ length: 175 }, (_, c) => 1 + (c % 250));
    const full = pasteBox(new Uint8Array(n), d, box, boxed);
    for (let k = 0, p = 0; k < 5; k++) for (let j = 0; j < 7; j++) for (let i = 0; i < 9; i++, p++) {
      const inside = i >= 1 && i <= 7 && j >= 2 && j <= 6;
      expect(full[p]).toBe(inside ? boxed[i - 1 + 7 * (j - 2 + 5 * k)] : 0);
    }
  });

  it('allocateArray and BoxBuffer turn an impossible allocation into OUT_OF_MEMORY; BoxBuffer keeps its buffer while it fits', () => {
    expect(() => allocateArray(Float64Array, 2 ** 53, 'test')).toThrow(expect.objectContaining({ code: 'OUT_OF_MEMORY' }));
    const pool = new BoxBuffer(Float64Array, 'test');
    const first = pool.take(10).fill(7);
    expect(pool.take(4).buffer).toBe(first.buffer);
    expect(Array.from(pool.take(4))).toEqual([7, 7, 7, 7]);
    expect(pool.take(20)).toHaveLength(20);
    expect(() => pool.take(2 ** 53)).toThrow(expect.objectContaining({ code: 'OUT_OF_MEMORY' }));
  });
});
