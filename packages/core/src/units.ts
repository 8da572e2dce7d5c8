import { unit } from 'mathjs';
import { PhysiotwinError } from './errors.js';

/**
 * Unit names physiotwin uses at its boundaries, in mathjs syntax. Any mathjs unit expression works;
 * these are the ones the solvers document.
 */
export const UNITS = {
  mmHg: 'mmHg',
  pascal: 'Pa',
  kilopascal: 'kPa',
  dynPerCm2: 'dyn/cm^2',
  mLPerS: 'mL/s',
  LPerMin: 'L/min',
  cm3PerS: 'cm^3/s',
  mm: 'mm',
  cm: 'cm',
} as const;

const factorCache = new Map<string, number>();

/**
 * The factor f with `value_in_to = f * value_in_from`, computed by mathjs.
 * @throws PhysiotwinError `INVALID_ARGUMENT` for unknown, incompatible or offset (e.g. degC) units.
 * @example `conversionFactor('mmHg', 'dyn/cm^2') // 1333.22...`
 */
export function conversionFactor(from: string, to: string): number {
  const key = `${from}\u0000${to}`;
  const cached = factorCache.get(key);
  if (cached !== undefined) return cached;
  let factor: number;
  let offset: number;
  try {
    factor = unit(1, from).toNumber(to);
    offset = unit(0, from).toNumber(to);
  } catch (e) {
    throw new PhysiotwinError('INVALID_ARGUMENT', `cannot convert ${from} to ${to}: ${(e as Error).message}`, { cause: e });
  }
  if (offset !== 0) throw new PhysiotwinError('INVALID_ARGUMENT', `${from} to ${to} is not a pure scale (offset ${offset})`);
  factorCache.set(key, factor);
  return factor;
}

/**
 * Converts a number from one unit to another through mathjs.
 * @example `convertUnit(120, 'mmHg', 'Pa') // 15998.7 Pa`
 */
export function convertUnit(value: number, from: string, to: string): number {
  return value * conversionFactor(from, to);
}

/** Converts every element of `values` in place (returns it), with one factor lookup. */
export function convertUnitArray<T extends Float32Array | Float64Array>(values: T, from: string, to: string): T {
  const f = conversionFactor(from, to);
  for (let i = 0; i < values.length; i++) values[i] = values[i]! * f;
  return values;
}
