import { describe, expect, it } from 'vitest';
import { createSamplePlan, planSamples, planVariantCount, samplePlanHash, shardRange, type SamplePlan } from './sample-plan.js';
import { sobolIndicesSaltelli } from './sensitivity.js';

const params = [
  { name: 'A.x', min: -Math.PI, max: Math.PI },
  { name: 'A.y', min: -Math.PI, max: Math.PI },
  { name: 'A.z', min: -Math.PI, max: Math.PI },
];

describe('sample plans', () => {
  it('every split of every method gives the rows of the whole plan', () => {
    for (const method of ['montecarlo', 'lhs', 'sobol', 'saltelli'] as const) {
      const plan = createSamplePlan({ method, n: 50, seed: 3, parameters: [...params, { name: 'B.w', distribution: 'normal', mean: 2, sd: 0.5 }, { name: 'B.v', distribution: 'loguniform', min: 1, max: 100 }] });
      const total = planVariantCount(plan);
      const all = planSamples(plan);
      expect(all.values.length).toBe(total * 5);
      for (const n of [3, 8]) {
        const parts = Array.from({ length: n }, (_, i) => shardRange(total, i, n)).map(({ start, end }) => planSamples(plan, start, end).values);
        expect(Float64Array.from(parts.flatMap((p) => Array.from(p))), `${method} in ${n}`).toEqual(all.values);
      }
    }
  });

  it('grid: every combination of evenly spaced levels, the first parameter slowest', () => {
    const plan = createSamplePlan({ method: 'grid', parameters: [{ name: 'A.x', min: 0, max: 1, levels: 2 }, { name: 'A.y', min: 10, max: 30, levels: 3 }] });
    expect(planVariantCount(plan)).toBe(6);
    expect(Array.from(planSamples(plan).values)).toEqual([0, 10, 0, 20, 0, 30, 1, 10, 1, 20, 1, 30]);
  });

  it('Latin hypercube: each of the n strata of each parameter holds exactly one draw', () => {
    const plan = createSamplePlan({ method: 'lhs', n: 64, seed: 9, parameters: [{ name: 'A.x', min: 0, max: 1 }, { name: 'A.y', min: 0, max: 1 }] });
    const v = planSamples(plan).values;
    for (const j of [0, 1]) expect(new Set(Array.from({ length: 64 }, (_, r) => Math.floor(v[r * 2 + j]! * 64))).size).toBe(64);
  });

  it('Saltelli rows: A, AB_i (A with column i from B), B', () => {
    const plan = createSamplePlan({ method: 'saltelli', n: 4, seed: 1, parameters: params });
    const v = planSamples(plan).values;
    const row = (r: number) => Array.from(v.subarray(r * 3, r * 3 + 3));
    const [A, AB1, AB2, AB3, B] = [0, 1, 2, 3, 4].map(row);
    expect(AB1).toEqual([B![0], A![1], A![2]]);
    expect(AB2).toEqual([A![0], B![1], A![2]]);
    expect(AB3).toEqual([A![0], A![1], B![2]]);
  });

  it('the hash names the plan: defaults filled in give the same hash, another seed another', async () => {
    const a = createSamplePlan({ method: 'sobol', n: 8, seed: 1, parameters: [{ name: 'A.x', min: 0, max: 1 }] });
    const b = createSamplePlan({ format: 'physiotwin-sample-plan', version: 1, method: 'sobol', n: 8, seed: 1, parameters: [{ name: 'A.x', min: 0, max: 1, distribution: 'uniform' }] });
    expect(await samplePlanHash(a)).toBe(await samplePlanHash(b));
    expect(await samplePlanHash({ ...a, seed: 2 } as SamplePlan)).not.toBe(await samplePlanHash(a));
  });

  it('bad plans and ranges are typed errors naming the field', () => {
    expect(() => createSamplePlan({ method: 'sobol', n: 8, seed: 1, parameters: [{ name: 'A.x', min: 2, max: 1 }] })).toThrow(/CONFIG_INVALID: max must be.*parameters\[0\]\.max/);
    expect(() => createSamplePlan({ method: 'magic', parameters: params })).toThrow(/CONFIG_INVALID.*\$\.method/);
    expect(() => createSamplePlan({ method: 'saltelli', n: 8, seed: 1, parameters: Array.from({ length: 9 }, (_, i) => ({ name: `A.p${i}`, min: 0, max: 1 })) })).toThrow(/CONFIG_INVALID: saltelli supports 8 parameters/);
    // Ranges whose draws would overflow to Infinity (found by the fuzz: silent non-finite samples).
    expect(() => createSamplePlan({ method: 'sobol', n: 8, seed: 1, parameters: [{ name: 'A.x', min: -1e308, max: 1.7e308 }] })).toThrow(/CONFIG_INVALID: max - min must be a finite number.*parameters\[0\]\.max/);
    expect(() => createSamplePlan({ method: 'montecarlo', n: 8, seed: 1, parameters: [{ name: 'A.x', distribution: 'normal', mean: 0, sd: 1.7e308 }] })).toThrow(/CONFIG_INVALID: mean \+- 7 sd.*parameters\[0\]\.sd/);
    // Plans drawn in one stream are bounded by their draws (n x parameters): 2^23 Monte Carlo, 2^21 Latin hypercube.
    const two = params.slice(0, 2);
    expect(createSamplePlan({ method: 'montecarlo', n: 2 ** 22, seed: 1, parameters: two }).n).toBe(2 ** 22);
    expect(() => createSamplePlan({ method: 'montecarlo', n: 2 ** 22 + 1, seed: 1, parameters: two })).toThrow(/CONFIG_INVALID: a Monte Carlo plan .* more than 2\^23: use method 'sobol'.*\$\.n/);
    expect(createSamplePlan({ method: 'lhs', n: 2 ** 20, seed: 1, parameters: two }).n).toBe(2 ** 20);
    expect(() => createSamplePlan({ method: 'lhs', n: 2 ** 20 + 1, seed: 1, parameters: two })).toThrow(/CONFIG_INVALID: a Latin hypercube plan .* more than 2\^21/);
    expect(createSamplePlan({ method: 'sobol', n: 2 ** 30, seed: 1, parameters: two }).n).toBe(2 ** 30);
    expect(() => shardRange(10, 3, 3)).toThrow(/INVALID_ARGUMENT/);
    expect(() => shardRange(10, 0, 11)).toThrow(/INVALID_ARGUMENT/);
  });
});

describe("Sobol' indices from a Saltelli design", () => {
  it('Ishigami (a = 7, b = 0.1): first and total indices match the closed form within 4 standard errors', () => {
    // Closed form (Ishigami and Homma 1990; Sobol' and Levitan 1999): V = a^2/8 + b pi^4/5 + b^2 pi^8/18 + 1/2,
    // V1 = (1 + b pi^4/5)^2 / 2, V2 = a^2/8, V13 = b^2 pi^8 (1/18 - 1/50); S1 = 0.3139, S2 = 0.4424, S3 = 0,
    // ST1 = 0.5576, ST2 = 0.4424, ST3 = 0.2437.
    const a = 7;
    const b = 0.1;
    const V = (a * a) / 8 + (b * Math.PI ** 4) / 5 + (b * b * Math.PI ** 8) / 18 + 0.5;
    const V1 = (1 + (b * Math.PI ** 4) / 5) ** 2 / 2;
    const V2 = (a * a) / 8;
    const V13 = b * b * Math.PI ** 8 * (1 / 18 - 1 / 50);
    const S = [V1 / V, V2 / V, 0];
    const ST = [(V1 + V13) / V, V2 / V, V13 / V];
    expect(S.map((x) => +x.toFixed(4))).toEqual([0.3139, 0.4424, 0]);
    expect(ST.map((x) => +x.toFixed(4))).toEqual([0.5576, 0.4424, 0.2437]);
    // n = 2^15 base rows (164k evaluations). The bound: 4 Monte Carlo standard errors of each estimator (computed from
    // its terms, 0.017 for the largest at n = 2^13, so about 0.008 here); Sobol' points do better than Monte Carlo, so this bound is not tight,
    // and each standard error must itself be below 0.015 so that the check means something.
    const plan = createSamplePlan({ method: 'saltelli', n: 2 ** 15, seed: 2024, parameters: params });
    const x = planSamples(plan).values;
    const y = new Float64Array(planVariantCount(plan)).map((_, v) => Math.sin(x[v * 3]!) + a * Math.sin(x[v * 3 + 1]!) ** 2 + b * x[v * 3 + 2]! ** 4 * Math.sin(x[v * 3]!));
    const r = sobolIndicesSaltelli(y, 3)!;
    for (let i = 0; i < 3; i++) {
      expect(r.firstSe[i]).toBeLessThan(0.015);
      expect(r.totalSe[i]).toBeLessThan(0.015);
      expect(Math.abs(r.first[i]! - S[i]!), `S${i + 1} = ${r.first[i]}`).toBeLessThan(4 * r.firstSe[i]!);
      expect(Math.abs(r.total[i]! - ST[i]!), `ST${i + 1} = ${r.total[i]}`).toBeLessThan(4 * r.totalSe[i]!);
    }
  });

  it('a constant output has no indices; a short or non-finite design is INVALID_ARGUMENT', () => {
    expect(sobolIndicesSaltelli(new Float64Array(10).fill(3), 3)).toBeUndefined();
    expect(() => sobolIndicesSaltelli(new Float64Array(7), 3)).toThrow(/INVALID_ARGUMENT/);
    expect(() => sobolIndicesSaltelli(Float64Array.of(1, 2, NaN, 4, 5, 1, 2, 3, 4, 5), 3)).toThrow(/INVALID_ARGUMENT/);
  });
});
