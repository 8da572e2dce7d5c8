// First and total Sobol' indices from the outputs of a Saltelli design (sample-plan.ts, method 'saltelli').
import { PhysiotwinError } from '@physiotwin/core';

/** Sobol' indices of one output, with Monte Carlo standard errors. */
export interface SobolIndices {
  /** First-order indices S_i, one per parameter (plan order). */
  first: Float64Array;
  /** Total-order indices ST_i. */
  total: Float64Array;
  /** Standard errors of S_i and ST_i: the standard deviation of the estimator's terms / sqrt(n) / variance. */
  firstSe: Float64Array;
  totalSe: Float64Array;
  /** The output's variance over the A and B rows (the denominator). */
  variance: number;
}

/**
 * First (Saltelli et al. 2010, Comput. Phys. Commun. 181, 259, table 2 (b)) and total (Jansen 1999, table 2 (f))
 * Sobol' indices of one output from a Saltelli design: `y` holds n groups of k + 2 values in the order f(A),
 * f(AB_1)..f(AB_k), f(B) (the variant order of a 'saltelli' plan). S_i = mean(f(B) (f(AB_i) - f(A))) / V and
 * ST_i = mean((f(A) - f(AB_i))^2) / (2 V), V the variance of the f(A) and f(B) values together (as SALib); f(B) is
 * centred on their mean in S_i, which keeps its expectation (E[f(AB_i) - f(A)] = 0) and removes the variance an offset
 * (a mean pressure of 1e5 dyn/cm^2 varying by 1e3) would add.
 * Returns undefined for a constant output (V = 0: the indices are undefined).
 * @throws PhysiotwinError `INVALID_ARGUMENT` when y is not n (k + 2) values with n >= 2, or holds a non-finite value
 * @example `sobolIndicesSaltelli(meanPressures, 3)?.first`
 */
export function sobolIndicesSaltelli(y: ArrayLike<number>, k: number): SobolIndices | undefined {
  const g = k + 2;
  if (!Number.isInteger(k) || k < 1 || y.length % g !== 0 || y.length / g < 2) {
    throw new PhysiotwinError('INVALID_ARGUMENT', `a Saltelli design of ${k} parameters has n (k + 2) outputs with n >= 2, got ${y.length}`);
  }
  for (let i = 0; i < y.length; i++) if (!Number.isFinite(y[i]!)) throw new PhysiotwinError('INVALID_ARGUMENT', `output ${i} of the Saltelli design is not finite (${y[i]})`);
  const n = y.length / g;
  let sum = 0;
  for (let r = 0; r < n; r++) sum += y[r * g]! + y[r * g + k + 1]!;
  const mu = sum / (2 * n);
  let ss = 0;
  for (let r = 0; r < n; r++) ss += (y[r * g]! - mu) ** 2 + (y[r * g + k + 1]! - mu) ** 2;
  const variance = ss / (2 * n);
  if (variance === 0) return undefined;
  const first = new Float64Array(k);
  const total = new Float64Array(k);
  const firstSe = new Float64Array(k);
  const totalSe = new Float64Array(k);
  for (let i = 0; i < k; i++) {
    let s1 = 0;
    let s1q = 0;
    let st = 0;
    let stq = 0;
    for (let r = 0; r < n; r++) {
      const a = y[r * g]!;
      const abi = y[r * g + 1 + i]!;
      const b = y[r * g + k + 1]!;
      const t1 = (b - mu) * (abi - a);
      const tt = 0.5 * (a - abi) ** 2;
      s1 += t1;
      s1q += t1 * t1;
      st += tt;
      stq += tt * tt;
    }
    first[i] = s1 / n / variance;
    total[i] = st / n / variance;
    firstSe[i] = Math.sqrt(Math.max(0, s1q / n - (s1 / n) ** 2) / n) / variance;
    totalSe[i] = Math.sqrt(Math.max(0, stq / n - (st / n) ** 2) / n) / variance;
  }
  return { first, total, firstSe, totalSe, variance };
}
