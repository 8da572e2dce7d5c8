import { describe, expect, it } from 'vitest';
import type { Vec3 } from '@physiotwin/core';
import { createRng, createVolume, isPhysiotwinError } from '@physiotwin/core';
import { describeBackends } from '@physiotwin/gpu/testing';
import { anisotropicDiffusion, diffusionStabilityLimit } from './diffusion.js';

const F32_EPS = 2 ** -24;

/** Gaussian noise (Box-Muller) of standard deviation sd around `mean`. */
function noise(n: number, mean: number, sd: number, seed: number): Float32Array {
  const rng = createRng(seed);
  return Float32Array.from({ length: n }, () => mean + sd * Math.sqrt(-2 * Math.log(1 - rng.next())) * Math.cos(2 * Math.PI * rng.next()));
}

function variance(values: ArrayLike<number>, pick: (i: number) => boolean): number {
  let s = 0, s2 = 0, c = 0;
  for (let i = 0; i < values.length; i++) {
    if (!pick(i)) continue;
    s += values[i]!;
    s2 += values[i]! ** 2;
    c++;
  }
  return s2 / c - (s / c) ** 2;
}

describeBackends('anisotropicDiffusion', (b) => {
  it('leaves a constant image exactly constant', async () => {
    const v = createVolume({ data: new Float32Array(6 * 5 * 4).fill(1234.5), dims: [6, 5, 4], spacing: [0.8, 0.9, 1.5] });
    const r = await anisotropicDiffusion(v, { iterations: 4, conductance: 10 }, b.options());
    expect(r.backend).toBe(b.backend);
    expect(r.volume.data.every((x) => x === 1234.5)).toBe(true);
  });

  it('one step on an impulse with K -> infinity is the discrete heat equation: 1 - dt sum 2/h^2 at the centre, dt/h^2 beside it', async () => {
    const dims: Vec3 = [5, 5, 5];
    const spacing: Vec3 = [0.5, 1, 2];
    const data = new Float32Array(125);
    const c = 2 + 5 * (2 + 5 * 2);
    data[c] = 1;
    const dt = diffusionStabilityLimit(spacing);
    // K = 1e12 per mm: (d/K)^2 <= 1e-23, exp of it is exactly 1 in f64 and f32.
    const r = await anisotropicDiffusion(createVolume({ data, dims, spacing }), { iterations: 1, conductance: 1e12, timeStep: dt }, b.options());
    const out = r.volume.data;
    // At the stability limit the centre keeps 1 - dt * 2 (1/0.25 + 1 + 1/4) = 0 exactly.
    const tol = 4 * F32_EPS;
    expect(Math.abs(out[c]! - (1 - dt * 2 * (4 + 1 + 0.25)))).toBeLessThan(tol);
    expect(Math.abs(out[c + 1]! - dt / 0.25)).toBeLessThan(tol);
    expect(Math.abs(out[c - 5]! - dt / 1)).toBeLessThan(tol);
    expect(Math.abs(out[c + 25]! - dt / 4)).toBeLessThan(tol);
    expect(Math.abs(out[c + 1 + 5]!)).toBeLessThan(tol);
  });

  it('conserves the sum and creates no new extrema (noisy data, zero flux across the border)', async () => {
    const dims: Vec3 = [17, 13, 9];
    const data = noise(17 * 13 * 9, 1000, 100, 5);
    const r = await anisotropicDiffusion(createVolume({ data, dims, spacing: [0.9, 0.9, 1.5] }), { iterations: 6, conductance: 150 }, b.options());
    const sum = (a: ArrayLike<number>) => Array.from(a).reduce((s, x) => s + x, 0);
    const [min, max] = [Math.min(...data), Math.max(...data)];
    // Positive data, so the sum's relative error is at most that of its terms: the f32 output rounding (CPU) or
    // a few f32 roundings per step (WebGPU, 6 steps).
    expect(Math.abs(sum(r.volume.data) / sum(data) - 1)).toBeLessThan(b.backend === 'cpu' ? 2 * F32_EPS : 6 * 8 * F32_EPS);
    expect(Math.min(...r.volume.data)).toBeGreaterThanOrEqual(min * (1 - 8 * F32_EPS));
    expect(Math.max(...r.volume.data)).toBeLessThanOrEqual(max * (1 + 8 * F32_EPS));
  });

  it('one linear step on white noise scales its variance by (1 - 2 dt S)^2 + 2 dt^2 sum 1/h^4 (S = sum 1/h^2)', async () => {
    const n = 40;
    const spacing: Vec3 = [1, 1, 1];
    const data = noise(n ** 3, 0, 1, 11);
    const dt = diffusionStabilityLimit(spacing) / 2;
    const r = await anisotropicDiffusion(createVolume({ data, dims: [n, n, n], spacing }), { iterations: 1, conductance: 1e12, timeStep: dt }, b.options());
    const interior = (i: number) => {
      const x = i % n, y = Math.floor(i / n) % n, z = Math.floor(i / (n * n));
      return x > 0 && y > 0 && z > 0 && x < n - 1 && y < n - 1 && z < n - 1;
    };
    const expected = (1 - 2 * dt * 3) ** 2 + 2 * dt * dt * 3;
    // 38^3 = 54872 interior samples: the variance ratio's sampling error is about sqrt(2 / 54872) (~0.6%)
    // relative; 3% is five of those.
    expect(Math.abs(variance(r.volume.data, interior) / variance(data, interior) / expected - 1)).toBeLessThan(0.03);
  });

  it('keeps a strong step edge while removing the noise on both sides (the linear filter smears it)', async () => {
    const dims: Vec3 = [24, 8, 8];
    const spacing: Vec3 = [1, 1, 1];
    const n = 24 * 8 * 8;
    const data = noise(n, 0, 10, 3);
    for (let i = 0; i < n; i++) if (i % 24 >= 12) data[i]! += 1000;
    const v = createVolume({ data, dims, spacing });
    const left = (i: number) => i % 24 < 12;
    const right = (i: number) => i % 24 >= 12;
    const mean = (a: ArrayLike<number>, pick: (i: number) => boolean) => {
      let s = 0, c = 0;
      for (let i = 0; i < a.length; i++) if (pick(i)) (s += a[i]!, c++);
      return s / c;
    };
    // K = 30 per mm: noise differences (~14 per mm) diffuse; across the edge d ~ 1000 per mm, g = exp(-1111) = 0.
    const pm = (await anisotropicDiffusion(v, { iterations: 10, conductance: 30 }, b.options())).volume.data;
    // No flux crosses the edge, so each side keeps its mean (up to f32 rounding of values near 1000).
    for (const side of [left, right]) expect(Math.abs(mean(pm, side) - mean(data, side))).toBeLessThan(1e-3);
    for (const side of [left, right]) expect(variance(pm, side)).toBeLessThan(0.5 * variance(data, side));
    // The linear filter moves mass across: the column beside the edge on the dark side rises by hundreds.
    const lin = (await anisotropicDiffusion(v, { iterations: 10, conductance: 1e12 }, b.options())).volume.data;
    expect(mean(lin, (i) => i % 24 === 11) - mean(data, (i) => i % 24 === 11)).toBeGreaterThan(100);
  });

  it('filters physical values: with a rescale, the result is the diffusion of slope * stored + intercept', async () => {
    const stored = Int16Array.from(noise(9 * 7 * 5, 500, 60, 9), Math.round);
    const dims: Vec3 = [9, 7, 5];
    const physical = Float32Array.from(stored, (s) => -2 * s + 10);
    const spec = { iterations: 3, conductance: 100 };
    const r = await anisotropicDiffusion(createVolume({ data: stored, dims, rescale: { slope: -2, intercept: 10 } }), spec, b.options());
    const ref = await anisotropicDiffusion(createVolume({ data: physical, dims }), spec, { backend: 'cpu' });
    // CPU: both compute the same f64 values from the same physical inputs. WebGPU: f32 steps on stored values
    // (|v| <= ~800, |physical| <= ~1600), a few roundings per step.
    const tol = b.backend === 'cpu' ? 0 : 3 * 8 * F32_EPS * 1600;
    r.volume.data.forEach((x, i) => expect(Math.abs(x - ref.volume.data[i]!)).toBeLessThanOrEqual(tol));
    expect(r.volume.rescale).toBeUndefined();
  });
});

describeBackends(
  'anisotropicDiffusion parity',
  (b) => {
    it('WebGPU (f32) stays within the propagated f32 rounding of the CPU (f64) result on noisy CT-like data', async () => {
      const dims: Vec3 = [31, 29, 11];
      const spacing: Vec3 = [0.88, 0.88, 1.5];
      const data = noise(31 * 29 * 11, 300, 114, 21);
      for (let i = 0; i < data.length; i++) if (Math.hypot((i % 31) - 15, (Math.floor(i / 31) % 29) - 14) < 8) data[i]! += 1500;
      const v = createVolume({ data, dims, spacing });
      const iterations = 5;
      const spec = { iterations, conductance: 260 };
      const cpu = (await anisotropicDiffusion(v, spec, { backend: 'cpu' })).volume.data;
      const gpu = (await anisotropicDiffusion(v, spec, b.options())).volume.data;
      // Error propagation: one f32 step rounds ~8 times (difference, scalings, exp, sums) relative to the largest
      // value M; the step map's Lipschitz constant in the max norm is at most L = 1 + 4 dt sum 1/h^2 = 2 at the
      // default dt (|d/dd (d exp(-d^2/K^2))| <= 1), so after N steps the error is below 8 eps M (L^N - 1)/(L - 1).
      const M = Math.max(...data.map(Math.abs));
      const bound = 8 * F32_EPS * M * (2 ** iterations - 1);
      let worst = 0;
      cpu.forEach((x, i) => (worst = Math.max(worst, Math.abs(x - gpu[i]!))));
      expect(worst).toBeLessThanOrEqual(bound);
    });

    it('a tiny and a huge conductance on a rescaled volume: both backends finite and within the same bound', async () => {
      const dims: Vec3 = [13, 11, 7];
      const spacing: Vec3 = [0.8, 0.8, 1.5];
      // Rounded noise: many neighbours are equal (d = 0), where 1 / K^2 = inf in f32 made 0 * inf = NaN.
      const stored = Int16Array.from(noise(13 * 11 * 7, 40, 6, 17), Math.round);
      const iterations = 4;
      // [physical K, slope]: K below 5.4e-20 (1 / K^2 overflowed f32), below 2.9e-39 (1 / K itself does, in
      // stored units), subnormal (1 / K is Infinity in f64 too), a huge K, and a huge K with an extreme slope
      // (K / |slope| = 1e40 is not an f32).
      const cases: [number, number][] = [[1e-25, 0.5], [1e-44, 0.5], [1e-320, 0.5], [1e30, 1e-6], [1e10, 1e-30]];
      for (const [conductance, slope] of cases) {
        const intercept = -3 * slope;
        const v = createVolume({ data: stored, dims, spacing, rescale: { slope, intercept } });
        const physical = Float32Array.from(stored, (x) => x * slope + intercept);
        const spec = { iterations, conductance };
        const cpu = (await anisotropicDiffusion(v, spec, { backend: 'cpu' })).volume.data;
        const gpu = (await anisotropicDiffusion(v, spec, b.options())).volume.data;
        expect(cpu.every(Number.isFinite) && gpu.every(Number.isFinite)).toBe(true);
        // as in the test above: 8 eps M (2^N - 1), M the largest physical value
        const M = Math.max(...physical.map(Math.abs));
        const bound = 8 * F32_EPS * M * (2 ** iterations - 1);
        let worst = 0;
        cpu.forEach((x, i) => (worst = Math.max(worst, Math.abs(x - gpu[i]!))));
        expect(worst).toBeLessThanOrEqual(bound);
        if (conductance < 1) {
          // every nonzero difference is at least |slope| / 1.5 per mm, >= 1e24 K: g = 0, nothing flows
          expect(cpu).toEqual(physical);
        } else {
          // (d / K)^2 < 1e-40: the linear heat equation, which moves values (the test fails if nothing flowed)
          expect(cpu.some((x, i) => x !== physical[i])).toBe(true);
        }
      }
    });
  },
  { backends: ['webgpu'], reason: 'the CPU f64 result is the reference the WebGPU result is compared with' },
);

describe('anisotropicDiffusion errors', () => {
  const v = createVolume({ data: new Float32Array(27), dims: [3, 3, 3], spacing: [1, 1, 2] });
  const bad = (e: unknown) => isPhysiotwinError(e, 'INVALID_ARGUMENT');
  it('rejects bad iterations, conductance, time step, non-finite values and vector volumes with INVALID_ARGUMENT', async () => {
    await expect(anisotropicDiffusion(v, { iterations: -1, conductance: 1 }, { backend: 'cpu' })).rejects.toSatisfy(bad);
    await expect(anisotropicDiffusion(v, { iterations: 1.5, conductance: 1 }, { backend: 'cpu' })).rejects.toSatisfy(bad);
    await expect(anisotropicDiffusion(v, { iterations: 1, conductance: 0 }, { backend: 'cpu' })).rejects.toSatisfy(bad);
    await expect(anisotropicDiffusion(v, { iterations: 1, conductance: Infinity }, { backend: 'cpu' })).rejects.toSatisfy(bad);
    // Limit for spacing 1 x 1 x 2: 1 / (2 (1 + 1 + 1/4)) = 2/9.
    await expect(anisotropicDiffusion(v, { iterations: 1, conductance: 1, timeStep: 0.23 }, { backend: 'cpu' })).rejects.toSatisfy(bad);
    await expect(anisotropicDiffusion(v, { iterations: 1, conductance: 1, timeStep: 0 }, { backend: 'cpu' })).rejects.toSatisfy(bad);
    const nan = createVolume({ data: Float32Array.from({ length: 27 }, (_, i) => (i === 13 ? NaN : 0)), dims: [3, 3, 3] });
    await expect(anisotropicDiffusion(nan, { iterations: 1, conductance: 1 }, { backend: 'cpu' })).rejects.toSatisfy(bad);
    const rgb = createVolume({ data: new Uint8Array(81), dims: [3, 3, 3], components: 3 });
    await expect(anisotropicDiffusion(rgb, { iterations: 1, conductance: 1 }, { backend: 'cpu' })).rejects.toSatisfy(bad);
    expect(diffusionStabilityLimit([1, 1, 2])).toBeCloseTo(2 / 9, 15);
  });
});
