// Sample plans: a small JSON description (parameters, method, N, seed) from which every variant of an ensemble is
// computed, so that any shard of a run can rebuild its own rows from the plan alone and a plan hash names the run.
import { canonicalJson, createRng, PhysiotwinError, sha256Hex } from '@physiotwin/core';
import type { EnsembleSamples } from './ensemble-samples.js';
import { sobolPoints, SOBOL_MAX_DIMENSIONS } from './sobol.js';

/** One sampled parameter of a plan. */
export interface PlanParameter {
  /** `block.param`, as in ensemble samples. */
  name: string;
  /**
   * 'uniform' on [min, max], 'loguniform' (uniform in log, 0 < min), 'normal' (mean, sd; not on a grid).
   * @default 'uniform'
   */
  distribution?: 'uniform' | 'loguniform' | 'normal' | undefined;
  min?: number | undefined;
  max?: number | undefined;
  mean?: number | undefined;
  sd?: number | undefined;
  /** Grid plans: the number of evenly spaced values from min to max (at least 2). */
  levels?: number | undefined;
}

/**
 * A sample plan (the JSON of `physiotwin hemo plan`). Methods: 'grid' (every combination of the parameters'
 * levels, the first parameter slowest), 'montecarlo' (n independent draws), 'lhs' (Latin hypercube, n strata per
 * parameter), 'sobol' (n digitally shifted Sobol' points), 'saltelli' (the Saltelli 2010 design for first and
 * total Sobol' indices: n base rows of two Sobol' matrices A and B in 2k dimensions, each giving k + 2 variants in
 * the order A, AB_1..AB_k, B, where AB_i is A with column i from B; n (k + 2) variants).
 */
export interface SamplePlan {
  format: 'physiotwin-sample-plan';
  version: 1;
  method: 'grid' | 'montecarlo' | 'lhs' | 'sobol' | 'saltelli';
  /** Draws (base rows for 'saltelli'); absent for 'grid'. */
  n?: number | undefined;
  /** Seed of core's createRng (draws, permutations, the Sobol' digital shift); absent for 'grid'. */
  seed?: number | undefined;
  parameters: PlanParameter[];
}

const METHODS = ['grid', 'montecarlo', 'lhs', 'sobol', 'saltelli'] as const;
/** More variants than this in one plan is a mistake rather than a study (ensembles take at most 1e7 by default). */
const MAX_PLAN_VARIANTS = 2 ** 32;
/**
 * Monte Carlo and Latin hypercube plans draw their values in one seeded stream (a shard draws, and drops, the rows
 * before its own) and a Latin hypercube keeps an n-long permutation per parameter, so drawing any shard costs up to
 * n x parameters draws (Sobol' and Saltelli points are computed where the shard starts). Bounded so that every shard
 * of a plan is drawn in well under a second: 2^23 draws of the stream, or 2^21 strata whose permutation's random
 * swaps cost several times a draw (0.9 s and 1.2 s for 2^24 and 2^22 on the 2 loaded cores: the bounds are half that). Beyond them
 * the error names method 'sobol'.
 */
const MAX_STREAM_DRAWS = { montecarlo: 2 ** 23, lhs: 2 ** 21 } as const;

const bad = (message: string, jsonPath: string) => new PhysiotwinError('CONFIG_INVALID', message, { location: { jsonPath } });
const finite = (x: unknown): x is number => typeof x === 'number' && Number.isFinite(x);

/**
 * Checks a plan or a plan spec (the same fields; `format` and `version` may be absent) and returns the plan with
 * defaults filled in, so that equal studies give equal plans (and plan hashes).
 * @throws PhysiotwinError `CONFIG_INVALID` naming the JSON path of the offending field
 * @example `createSamplePlan({ method: 'sobol', n: 1024, seed: 1, parameters: [{ name: 'OUT.Rd', min: 900, max: 1100 }] })`
 */
export function createSamplePlan(spec: unknown): SamplePlan {
  if (typeof spec !== 'object' || spec === null || Array.isArray(spec)) throw bad('a sample plan is a JSON object', '$');
  const s = spec as Record<string, unknown>;
  if (s['format'] !== undefined && s['format'] !== 'physiotwin-sample-plan') throw bad(`format must be 'physiotwin-sample-plan'`, '$.format');
  if (s['version'] !== undefined && s['version'] !== 1) throw bad('version must be 1', '$.version');
  const method = s['method'];
  if (!METHODS.includes(method as SamplePlan['method'])) throw bad(`method must be one of ${METHODS.join(', ')}, got ${JSON.stringify(method)}`, '$.method');
  const m = method as SamplePlan['method'];
  if (!Array.isArray(s['parameters']) || s['parameters'].length === 0) throw bad('parameters must be a non-empty array', '$.parameters');
  const seen = new Set<string>();
  const parameters = (s['parameters'] as unknown[]).map((p, j): PlanParameter => {
    const at = `$.parameters[${j}]`;
    if (typeof p !== 'object' || p === null) throw bad('a parameter is an object { name, min, max, ... }', at);
    const q = p as Record<string, unknown>;
    const name = q['name'];
    if (typeof name !== 'string' || !name.includes('.')) throw bad('name must be block.param', `${at}.name`);
    if (seen.has(name)) throw bad(`parameter '${name}' is listed twice`, `${at}.name`);
    seen.add(name);
    const distribution = (q['distribution'] ?? 'uniform') as string;
    if (!['uniform', 'loguniform', 'normal'].includes(distribution)) throw bad(`distribution must be uniform, loguniform or normal, got ${JSON.stringify(distribution)}`, `${at}.distribution`);
    const out: PlanParameter = { name, distribution: distribution as PlanParameter['distribution'] };
    if (distribution === 'normal') {
      if (m === 'grid') throw bad('a grid needs min and max, not a normal distribution', `${at}.distribution`);
      if (!finite(q['mean'])) throw bad('mean must be a finite number', `${at}.mean`);
      if (!finite(q['sd']) || q['sd'] <= 0) throw bad('sd must be a positive number', `${at}.sd`);
      // Draws reach mean +- 6.3 sd (the quantile of half a 2^-32 cell): they must stay finite doubles.
      if (!Number.isFinite(q['mean'] + 7 * q['sd']) || !Number.isFinite(q['mean'] - 7 * q['sd'])) throw bad('mean +- 7 sd must be finite numbers', `${at}.sd`);
      out.mean = q['mean'];
      out.sd = q['sd'];
    } else {
      if (!finite(q['min'])) throw bad('min must be a finite number', `${at}.min`);
      if (!finite(q['max']) || q['max'] < q['min']) throw bad('max must be a finite number >= min', `${at}.max`);
      // min + u (max - min) must not overflow.
      if (!Number.isFinite(q['max'] - q['min'])) throw bad('max - min must be a finite number', `${at}.max`);
      if (distribution === 'loguniform' && q['min'] <= 0) throw bad('a loguniform range needs min > 0', `${at}.min`);
      out.min = q['min'];
      out.max = q['max'];
    }
    if (m === 'grid') {
      if (!Number.isInteger(q['levels']) || (q['levels'] as number) < 2) throw bad('a grid parameter needs levels, an integer >= 2', `${at}.levels`);
      out.levels = q['levels'] as number;
    }
    return out;
  });
  const plan: SamplePlan = { format: 'physiotwin-sample-plan', version: 1, method: m, parameters };
  if (m !== 'grid') {
    if (!Number.isInteger(s['n']) || (s['n'] as number) < 1) throw bad('n must be a positive integer', '$.n');
    if (!Number.isInteger(s['seed']) || (s['seed'] as number) < 0 || (s['seed'] as number) > 0xffffffff) throw bad('seed must be an integer in [0, 2^32)', '$.seed');
    plan.n = s['n'] as number;
    plan.seed = s['seed'] as number;
  }
  const dims = m === 'saltelli' ? 2 * parameters.length : parameters.length;
  if ((m === 'sobol' || m === 'saltelli') && dims > SOBOL_MAX_DIMENSIONS) {
    throw bad(`${m} supports ${m === 'saltelli' ? SOBOL_MAX_DIMENSIONS / 2 : SOBOL_MAX_DIMENSIONS} parameters (Joe-Kuo direction numbers for ${SOBOL_MAX_DIMENSIONS} dimensions), got ${parameters.length}`, '$.parameters');
  }
  if ((m === 'montecarlo' || m === 'lhs') && plan.n! * parameters.length > MAX_STREAM_DRAWS[m]) {
    throw bad(`a ${m === 'lhs' ? 'Latin hypercube' : 'Monte Carlo'} plan of n = ${plan.n} with ${parameters.length} parameter(s) draws ${plan.n! * parameters.length} values in one stream, more than 2^${Math.log2(MAX_STREAM_DRAWS[m])}: use method 'sobol' for a plan this large`, '$.n');
  }
  if (planVariantCount(plan) > MAX_PLAN_VARIANTS) throw bad(`the plan has ${planVariantCount(plan)} variants, more than 2^32`, m === 'grid' ? '$.parameters' : '$.n');
  return plan;
}

/** The number of variants of a plan: the product of the levels (grid), n (k + 2) (saltelli), else n. @throws nothing (the plan is one {@link createSamplePlan} returned) */
export function planVariantCount(plan: SamplePlan): number {
  if (plan.method === 'grid') return plan.parameters.reduce((a, p) => a * p.levels!, 1);
  return plan.n! * (plan.method === 'saltelli' ? plan.parameters.length + 2 : 1);
}

/** SHA-256 of the plan's canonical JSON: shards of one run carry the same hash. @throws PhysiotwinError `INVALID_ARGUMENT` for a plan holding non-finite numbers (see canonicalJson) */
export function samplePlanHash(plan: SamplePlan): Promise<string> {
  return sha256Hex(canonicalJson(plan));
}

/**
 * The contiguous variant range `[start, end)` of shard `index` of `count` over `total` variants: shard i takes
 * floor(i total / count) .. floor((i + 1) total / count), so every variant is in exactly one shard.
 * @throws PhysiotwinError `INVALID_ARGUMENT` for an index outside 0..count-1 or a count outside 1..total
 */
export function shardRange(total: number, index: number, count: number): { start: number; end: number } {
  if (!Number.isInteger(count) || count < 1 || count > total) throw new PhysiotwinError('INVALID_ARGUMENT', `shard count must be an integer in 1..${total} (the number of variants), got ${count}`);
  if (!Number.isInteger(index) || index < 0 || index >= count) throw new PhysiotwinError('INVALID_ARGUMENT', `shard index must be an integer in 0..${count - 1}, got ${index}`);
  return { start: Math.floor((index * total) / count), end: Math.floor(((index + 1) * total) / count) };
}

/** Inverse of the standard normal CDF (P. J. Acklam's rational approximation, relative error below 1.2e-9). */
function normalQuantile(p: number): number {
  const a = [-3.969683028665376e1, 2.209460984245205e2, -2.759285104469687e2, 1.38357751867269e2, -3.066479806614716e1, 2.506628277459239];
  const b = [-5.447609879822406e1, 1.615858368580409e2, -1.556989798598866e2, 6.680131188771972e1, -1.328068155288572e1];
  const c = [-7.784894002430293e-3, -3.223964580411365e-1, -2.400758277161838, -2.549732539343734, 4.374664141464968, 2.938163982698783];
  const d = [7.784695709041462e-3, 3.224671290700398e-1, 2.445134137142996, 3.754408661907416];
  const lo = 0.02425;
  // p = 0 (a Sobol' point with a zero coordinate) maps to the quantile of half a 2^-32 cell, not -Infinity.
  const q0 = Math.min(Math.max(p, 2 ** -33), 1 - 2 ** -33);
  if (q0 < lo || q0 > 1 - lo) {
    const q = Math.sqrt(-2 * Math.log(q0 < lo ? q0 : 1 - q0));
    const x = (((((c[0]! * q + c[1]!) * q + c[2]!) * q + c[3]!) * q + c[4]!) * q + c[5]!) / ((((d[0]! * q + d[1]!) * q + d[2]!) * q + d[3]!) * q + 1);
    return q0 < lo ? x : -x;
  }
  const q = q0 - 0.5;
  const r = q * q;
  return ((((((a[0]! * r + a[1]!) * r + a[2]!) * r + a[3]!) * r + a[4]!) * r + a[5]!) * q) / (((((b[0]! * r + b[1]!) * r + b[2]!) * r + b[3]!) * r + b[4]!) * r + 1);
}

/** Maps u in [0, 1) to the parameter's distribution. */
function fromUnit(p: PlanParameter, u: number): number {
  if (p.distribution === 'normal') return p.mean! + p.sd! * normalQuantile(u);
  if (p.distribution === 'loguniform') return Math.exp(Math.log(p.min!) + u * (Math.log(p.max!) - Math.log(p.min!)));
  return p.min! + u * (p.max! - p.min!);
}

/**
 * The variants `start .. end - 1` of a plan as ensemble samples (columns in the plan's parameter order). Every
 * range of a plan gives the rows the whole plan has there, whatever the split.
 * @throws PhysiotwinError `INVALID_ARGUMENT` for a range outside the plan
 * @example `planSamples(plan, 0, planVariantCount(plan))`
 */
export function planSamples(plan: SamplePlan, start = 0, end = planVariantCount(plan)): EnsembleSamples {
  const total = planVariantCount(plan);
  if (!Number.isInteger(start) || !Number.isInteger(end) || start < 0 || end > total || start > end) {
    throw new PhysiotwinError('INVALID_ARGUMENT', `variant range ${start}..${end} is not within the plan's 0..${total}`);
  }
  const P = plan.parameters;
  const k = P.length;
  const rows = end - start;
  const values = new Float64Array(rows * k);
  const set = (r: number, j: number, u: number) => (values[r * k + j] = fromUnit(P[j]!, u));
  switch (plan.method) {
    case 'grid':
      for (let r = 0; r < rows; r++) {
        let rest = start + r;
        for (let j = k - 1; j >= 0; j--) {
          const L = P[j]!.levels!;
          set(r, j, (rest % L) / (L - 1));
          rest = Math.floor(rest / L);
        }
      }
      break;
    case 'montecarlo': {
      // One stream, row by row: a shard draws (and drops) the rows before its own.
      const rng = createRng(plan.seed!);
      for (let i = 0; i < start * k; i++) rng.next();
      for (let r = 0; r < rows; r++) for (let j = 0; j < k; j++) set(r, j, rng.next());
      break;
    }
    case 'lhs': {
      // Per parameter a seeded permutation of the n strata (Fisher-Yates), then a uniform offset in the stratum.
      const n = plan.n!;
      const rng = createRng(plan.seed!);
      const perms = P.map(() => {
        const perm = Uint32Array.from({ length: n }, (_, i) => i);
        for (let i = n - 1; i > 0; i--) {
          const t = Math.floor(rng.next() * (i + 1));
          [perm[i], perm[t]] = [perm[t]!, perm[i]!];
        }
        return perm;
      });
      for (let i = 0; i < start * k; i++) rng.next();
      for (let r = 0; r < rows; r++) for (let j = 0; j < k; j++) set(r, j, (perms[j]![start + r]! + rng.next()) / n);
      break;
    }
    case 'sobol': {
      const u = sobolPoints(k, start, rows, plan.seed!);
      for (let r = 0; r < rows; r++) for (let j = 0; j < k; j++) set(r, j, u[r * k + j]!);
      break;
    }
    case 'saltelli': {
      const g = k + 2;
      const first = Math.floor(start / g);
      const last = end === start ? first : Math.floor((end - 1) / g) + 1;
      const ab = sobolPoints(2 * k, first, last - first, plan.seed!);
      for (let r = 0; r < rows; r++) {
        const v = start + r;
        const base = (Math.floor(v / g) - first) * 2 * k;
        const which = v % g; // 0: A, 1..k: AB_i (column i - 1 from B), k + 1: B
        for (let j = 0; j < k; j++) {
          const fromB = which === k + 1 || which === j + 1;
          set(r, j, ab[base + (fromB ? k : 0) + j]!);
        }
      }
      break;
    }
  }
  return { names: P.map((p) => p.name), values };
}
