import { describe, expect, it } from 'vitest';
import type { Volume, VolumeData } from '@physiotwin/core';
import { createRng, createVolume, isPhysiotwinError } from '@physiotwin/core';
import { describeBackends } from '@physiotwin/gpu/testing';
import { histogram, volumeStatistics } from './stats.js';
import { statisticsCpu } from './stats.cpu.js';
import { statisticsWebgpu } from './stats.webgpu.js';
import type { Histogram } from './stats.js';

const dims = (n: number): [number, number, number] => [n, 1, 1];
const vol = (data: VolumeData, rescale?: { slope: number; intercept: number }) =>
  createVolume({ data, dims: dims(data.length), ...(rescale ? { rescale } : {}) });

/** Independent reference: textbook two-pass formulas over physical values, in f64. */
function naive(v: Volume) {
  const s = v.rescale?.slope ?? 1;
  const c = v.rescale?.intercept ?? 0;
  const values = Array.from(v.data as ArrayLike<number>, (x) => x * s + c).filter((x) => !Number.isNaN(x));
  const mean = values.reduce((a, b) => a + b, 0) / values.length;
  const std = Math.sqrt(values.reduce((a, b) => a + (b - mean) ** 2, 0) / values.length);
  return { count: values.length, min: Math.min(...values), max: Math.max(...values), mean, std, values };
}

function randomVolume(dtype: 'int16' | 'uint8' | 'uint16' | 'int8' | 'float32', n: number, seed: number): Volume {
  const rng = createRng(seed);
  const ranges = { int16: [-1024, 3071], uint8: [0, 255], uint16: [0, 65535], int8: [-128, 127], float32: [-5, 5] } as const;
  const [lo, hi] = ranges[dtype];
  const Ctor = { int16: Int16Array, uint8: Uint8Array, uint16: Uint16Array, int8: Int8Array, float32: Float32Array }[dtype];
  const data = new Ctor(n);
  for (let i = 0; i < n; i++) data[i] = dtype === 'float32' ? lo + (hi - lo) * rng.normal() / 4 : Math.floor(lo + (hi - lo + 1) * rng.next());
  return createVolume({ data, dims: [64, 64, n / 4096] });
}

const relErr = (a: number, b: number) => Math.abs(a - b) / Math.max(Math.abs(b), 1e-300);

describeBackends('volume statistics', (b) => {
  it('matches the closed form on a ramp 0..N-1: mean (N-1)/2, std sqrt((N^2-1)/12), equal bins', async () => {
    const N = 1 << 16;
    const v = vol(Uint16Array.from({ length: N }, (_, i) => i));
    const h = await histogram(v, { bins: 256 }, b.options());
    expect(h.backend).toBe(b.backend);
    expect(h.min).toBe(0);
    expect(h.max).toBe(N - 1);
    expect(relErr(h.mean, (N - 1) / 2)).toBeLessThan(b.relTol);
    expect(relErr(h.std, Math.sqrt((N * N - 1) / 12))).toBeLessThan(b.relTol);
    // Range [0, N-1] in 256 bins of width (N-1)/256: bin b holds ceil(b w) .. ceil((b+1) w) - 1, the last also N-1.
    const w = (N - 1) / 256;
    for (let k = 0; k < 256; k++) {
      const expected = (k === 255 ? N : Math.ceil((k + 1) * w)) - Math.ceil(k * w);
      expect(h.counts[k]).toBe(expected);
    }
    expect(h.underflow + h.overflow).toBe(0);
  });

  for (const dtype of ['int16', 'uint8', 'uint16', 'int8', 'float32'] as const) {
    it(`agrees with the textbook formulas on random ${dtype} data`, async () => {
      const v = randomVolume(dtype, 4096 * 8, 7);
      const ref = naive(v);
      const s = await volumeStatistics(v, b.options());
      expect(s.count).toBe(ref.count);
      expect(s.min).toBe(ref.min);
      expect(s.max).toBe(ref.max);
      expect(relErr(s.mean, ref.mean)).toBeLessThan(b.relTol);
      expect(relErr(s.std, ref.std)).toBeLessThan(b.relTol);
    });
  }

  it('bins values as the physical-space rule says (values away from bin edges) and counts out-of-range values', async () => {
    const v = randomVolume('int16', 4096 * 4, 3);
    const range: [number, number] = [-1000.5, 2999.5]; // edges at k * 62.5 - 1000.5: never an integer
    const h = await histogram(v, { bins: 64, range }, b.options());
    const expected = new Uint32Array(64);
    let under = 0;
    let over = 0;
    for (const x of naive(v).values) {
      if (x < range[0]) under++;
      else if (x > range[1]) over++;
      else expected[Math.min(63, Math.floor(((x - range[0]) / (range[1] - range[0])) * 64))]!++;
    }
    expect(Array.from(h.counts)).toEqual(Array.from(expected));
    expect([h.underflow, h.overflow]).toEqual([under, over]);
  });

  it('applies the rescale, a negative slope included', async () => {
    const data = Int16Array.from({ length: 4096 }, (_, i) => (i % 200) - 100);
    for (const rescale of [{ slope: 2.5, intercept: -1024 }, { slope: -0.5, intercept: 10 }]) {
      const v = vol(data, rescale);
      const ref = naive(v);
      const h = await histogram(v, { bins: 10 }, b.options());
      expect(h.min).toBe(ref.min);
      expect(h.max).toBe(ref.max);
      expect(relErr(h.mean, ref.mean)).toBeLessThan(b.relTol);
      expect(relErr(h.std, ref.std)).toBeLessThan(b.relTol);
      expect(h.counts.reduce((a, c) => a + c, 0)).toBe(4096);
      // 200 distinct values spread over 10 equal bins of the physical range: 20 values, 20.48 repeats each.
      const perValue = 4096 / 200;
      for (const c of h.counts) expect(Math.abs(c - 20 * perValue)).toBeLessThanOrEqual(perValue);
    }
  });

  it('skips NaNs and counts them', async () => {
    const data = new Float32Array([1, Number.NaN, 3, Number.NaN, 5]);
    const h = await histogram(vol(data), { bins: 2 }, b.options());
    expect([h.count, h.nanCount, h.min, h.max, h.mean]).toEqual([3, 2, 1, 5, 3]);
    expect(Array.from(h.counts)).toEqual([1, 2]);
  });

  it('gives a constant volume std 0 and one occupied middle bin', async () => {
    const h = await histogram(vol(new Int16Array(5000).fill(42)), { bins: 3 }, b.options());
    expect([h.min, h.max, h.mean, h.std]).toEqual([42, 42, 42, 0]);
    expect(Array.from(h.counts)).toEqual([0, 5000, 0]);
  });

  it('rejects bad histogram specs with INVALID_ARGUMENT', async () => {
    const v = vol(new Uint8Array(8));
    for (const spec of [{ bins: 0 }, { bins: 1.5 }, { bins: 4, range: [3, 3] as [number, number] }, { bins: 4, range: [0, Number.NaN] as [number, number] }]) {
      const err = await histogram(v, spec, b.options()).catch((e: unknown) => e);
      expect(isPhysiotwinError(err, 'INVALID_ARGUMENT')).toBe(true);
    }
  });

  it('stops with ABORTED when cancelled', async () => {
    const ac = new AbortController();
    ac.abort();
    const err = await volumeStatistics(vol(new Uint8Array(8)), { ...b.options(), signal: ac.signal }).catch((e: unknown) => e);
    expect(isPhysiotwinError(err, 'ABORTED')).toBe(true);
  });
});

describeBackends('histogram parity with the CPU reference', (b) => {
  for (const dtype of ['int16', 'uint16', 'float32'] as const) {
    for (const bins of [100, 5000]) {
      it(`${dtype}, ${bins} bins (${bins > 2048 ? 'global' : 'workgroup'} atomics), several upload chunks: identical counts`, async () => {
        const v = randomVolume(dtype, 4096 * 16, 11);
        const cpu = statisticsCpu(v, { bins }) as Histogram;
        const gpu = (await statisticsWebgpu(b.gpu(), v, { bins }, {}, 4096 * 4 * 4)) as Histogram;
        expect(gpu.range).toEqual(cpu.range);
        expect(Array.from(gpu.counts)).toEqual(Array.from(cpu.counts));
        expect([gpu.min, gpu.max, gpu.count]).toEqual([cpu.min, cpu.max, cpu.count]);
        expect(relErr(gpu.mean, cpu.mean)).toBeLessThan(1e-5);
        expect(relErr(gpu.std, cpu.std)).toBeLessThan(1e-5);
      });
    }
  }
}, { backends: ['webgpu'], reason: 'the CPU result is the reference this suite compares against' });

describe('volumeStatistics backend choice', () => {
  it('refuses float64 on WebGPU (its kernels read f32-exact dtypes) and runs it on the CPU', async () => {
    const v = vol(new Float64Array([1, 2, 3]));
    await expect(volumeStatistics(v, { backend: 'webgpu' })).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
    expect((await volumeStatistics(v, { backend: 'auto' })).backend).toBe('cpu');
  });
});

describe('8-bit counting by 32-bit words (statisticsCpu)', () => {
  // countBytes reads aligned words and skips all-zero ones; an unaligned view has a head, and the length a tail.
  // Counts are integers, so min, max and count are exact; mean and std compare with the textbook formulas to
  // 1e-12 relative (f64 sums of at most a few thousand terms).
  it('gives the textbook statistics for mostly-zero uint8 and int8 views at every byte offset and length', () => {
    for (const Ctor of [Uint8Array, Int8Array]) {
      for (const byteOffset of [0, 1, 2, 3]) {
        for (const n of [1, 2, 3, 4, 5, 7, 8, 9, 1001]) {
          const data = new Ctor(new ArrayBuffer(n + byteOffset), byteOffset, n);
          // Zeros (whole zero words and zeros inside non-zero words) with values of both signs every 7th element.
          for (let i = 0; i < n; i++) data[i] = i % 7 === 3 ? ((i * 37) % 255) - (Ctor === Int8Array ? 127 : 0) : 0;
          const v = vol(data);
          const ref = naive(v);
          const events: number[] = [];
          const s = statisticsCpu(v, undefined, { onProgress: (e) => events.push(e.done) });
          const where = `${Ctor.name} offset ${byteOffset} length ${n}`;
          expect(s.count, where).toBe(ref.count);
          expect(s.min, where).toBe(ref.min);
          expect(s.max, where).toBe(ref.max);
          expect(relErr(s.mean, ref.mean), where).toBeLessThan(1e-12);
          expect(Math.abs(s.std - ref.std), where).toBeLessThan(1e-12 * Math.max(1, ref.std));
          // Progress ends once, at the element count.
          expect(events.filter((d) => d === n), where).toEqual([n]);
        }
      }
    }
  });
});
