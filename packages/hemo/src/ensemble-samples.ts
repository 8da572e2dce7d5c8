import { PhysiotwinError } from '@physiotwin/core';
import { invalid, isObj } from './config-read.js';
import { checkLimit, type SolverLimits } from './limits.js';
import type { Model } from './model.js';

/** Ensemble variants: parameter columns `block.param` and one row of values per variant. */
export interface EnsembleSamples {
  /** Parameter keys, e.g. `OUT.Rd`, `branch0_seg0.R_poiseuille`, `J0.R_poiseuille[1]`. */
  names: string[];
  /** Row-major values, `values[v * names.length + j]` (CGS units, as the config). */
  values: Float64Array;
}

/**
 * Normalises samples given as records (parsed JSON or CSV rows): the columns are the union of the records' keys.
 * @throws PhysiotwinError `CONFIG_INVALID` with the JSON path of the offending record or value (a record that is not
 *   an object, a missing or non-finite value, records that name no parameter)
 */
export function samplesFromRecords(rows: ReadonlyArray<Readonly<Record<string, number>>>): EnsembleSamples {
  if (!Array.isArray(rows)) throw invalid('samples must be an array of records { "block.param": value }', '$');
  rows.forEach((r, v) => {
    if (!isObj(r)) throw invalid(`sample ${v} is not an object of parameter values`, `$[${v}]`);
  });
  const names = [...new Set(rows.flatMap((r) => Object.keys(r)))];
  if (names.length === 0) throw invalid('the samples name no parameter', '$');
  const values = new Float64Array(rows.length * names.length);
  rows.forEach((r, v) =>
    names.forEach((k, j) => {
      const x = Object.hasOwn(r, k) ? r[k] : undefined;
      if (typeof x !== 'number' || !Number.isFinite(x)) throw invalid(`sample ${v} has no finite value for '${k.slice(0, 100)}'`, `$[${v}].${k.slice(0, 100)}`);
      values[v * names.length + j] = x;
    }),
  );
  return { names, values };
}

/**
 * Checks samples against a model and returns the number of variants.
 * @throws PhysiotwinError `CONFIG_INVALID` (no parameter named, an unknown or repeated key), `INVALID_ARGUMENT`
 *   (values that do not fill rows, no rows, a non-finite value naming its variant), `LIMIT_EXCEEDED` (more than
 *   `maxVariants`)
 */
export function checkSamples(samples: EnsembleSamples, model: Model, limits: Required<SolverLimits>): number {
  if (!isObj(samples) || !Array.isArray(samples.names) || !(samples.values instanceof Float64Array)) {
    throw new PhysiotwinError('INVALID_ARGUMENT', 'samples must be { names: string[], values: Float64Array }');
  }
  const P = samples.names.length;
  if (P === 0) throw invalid('the samples name no parameter (each variant overrides at least one block.param)', '$');
  if (samples.values.length % P !== 0) throw new PhysiotwinError('INVALID_ARGUMENT', `samples: ${samples.values.length} values do not fill rows of ${P} parameters`);
  if (samples.values.length === 0) throw new PhysiotwinError('INVALID_ARGUMENT', 'samples: no variants (no rows of values)');
  const seen = new Set<string>();
  for (const k of samples.names) {
    if (typeof k !== 'string' || !model.paramIds.has(k)) throw invalid(`no parameter '${String(k).slice(0, 100)}' in this model (use block.param, e.g. ${model.paramNames.slice(0, 3).join(', ')})`, String(k).slice(0, 100));
    if (seen.has(k)) throw invalid(`parameter '${k}' is sampled twice`, k);
    seen.add(k);
  }
  const n = samples.values.length / P;
  checkLimit(limits, 'maxVariants', n, 'ensemble variants');
  // One check for every backend, naming the variant (a NaN would otherwise surface differently per kernel).
  const bad = samples.values.findIndex((x) => !Number.isFinite(x));
  if (bad >= 0) throw new PhysiotwinError('INVALID_ARGUMENT', `samples: variant ${Math.floor(bad / P)}, ${samples.names[bad % P]} = ${samples.values[bad]} is not finite`);
  return n;
}

/**
 * Checks `EnsembleOptions.whole` against checked samples of n variants and returns the rows the general kernel's
 * pivot analysis samples: the whole run's first and last variant.
 * @throws PhysiotwinError `INVALID_ARGUMENT` (a variant count below n or not an integer, ends that are not one or
 *   two rows of the samples' columns in their order, a non-finite value)
 */
export function checkWhole(whole: { variants: number; ends: EnsembleSamples }, samples: EnsembleSamples, n: number): EnsembleSamples {
  const bad = (why: string) => new PhysiotwinError('INVALID_ARGUMENT', `whole: ${why}`);
  if (!isObj(whole) || !Number.isInteger(whole.variants) || whole.variants < n) throw bad(`variants must be an integer of at least the ${n} variants sampled, got ${String(isObj(whole) ? whole.variants : whole)}`);
  const ends = whole.ends;
  if (!isObj(ends) || !Array.isArray(ends.names) || !(ends.values instanceof Float64Array)) throw bad('ends must be { names: string[], values: Float64Array }');
  if (ends.names.length !== samples.names.length || ends.names.some((k, j) => k !== samples.names[j])) throw bad(`ends must have the samples' columns in their order (${samples.names.join(', ').slice(0, 200)}), got ${ends.names.join(', ').slice(0, 200)}`);
  const rows = ends.values.length / samples.names.length;
  if (rows !== (whole.variants > 1 ? 2 : 1)) throw bad(`ends must hold the whole run's first and last variant (${whole.variants > 1 ? 2 : 1} rows), got ${ends.values.length} values`);
  if (!ends.values.every(Number.isFinite)) throw bad('ends hold a value that is not finite');
  return ends;
}

/** The overrides `{ 'block.param': value }` of variant v. */
export function variantOverrides(s: EnsembleSamples, v: number): Record<string, number> {
  const o: Record<string, number> = {};
  s.names.forEach((k, j) => (o[k] = s.values[v * s.names.length + j]!));
  return o;
}
