import { loadMathjs } from '#mathjs-loader';
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

type UnitFunction = (value: number, name: string) => { toNumber(to: string): number };
let unitOf: UnitFunction | undefined;

/**
 * A private mathjs instance with just the unit machinery, made on the first conversion (in Node mathjs itself is
 * loaded then too: see mathjs-loader.node.ts). mathjs defines mmHg as 133.322 Pa; the conventional value
 * (13.5951 g/cm^3 x 9.80665 m/s^2 x 1 mm) is 133.322387415 Pa, which clinical and solver references use, so it is
 * redefined here.
 */
function mathUnit(): UnitFunction {
  if (!unitOf) {
    const { create, createUnitDependencies, unitDependencies } = loadMathjs();
    // mathjs types every dependency map as possibly undefined; both exist in mathjs 15.
    const math = create({ unitDependencies: unitDependencies!, createUnitDependencies: createUnitDependencies! });
    math.createUnit('mmHg', { definition: '133.322387415 Pa' }, { override: true });
    unitOf = math.unit as UnitFunction;
  }
  return unitOf;
}

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
  const unit = mathUnit();
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
 * @throws PhysiotwinError `INVALID_ARGUMENT` for unknown, incompatible or offset units (see {@link conversionFactor}).
 * @example `convertUnit(120, 'mmHg', 'Pa') // 15998.7 Pa`
 */
export function convertUnit(value: number, from: string, to: string): number {
  return value * conversionFactor(from, to);
}

/**
 * Converts every element of `values` in place (returns it), with one factor lookup.
 * @throws PhysiotwinError `INVALID_ARGUMENT` for unknown, incompatible or offset units (see {@link conversionFactor}).
 */
export function convertUnitArray<T extends Float32Array | Float64Array>(values: T, from: string, to: string): T {
  const f = conversionFactor(from, to);
  for (let i = 0; i < values.length; i++) values[i] = values[i]! * f;
  return values;
}
