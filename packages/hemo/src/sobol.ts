// Sobol' low-discrepancy points, with the direction numbers of S. Joe and F. Y. Kuo, "Constructing Sobol' sequences
// with better two-dimensional projections", SIAM J. Sci. Comput. 30 (2008) 2635-2654: the first 16 dimensions of
// their file new-joe-kuo-6.21201 (https://web.maths.unsw.edu.au/~fkuo/sobol/; the table scipy.stats.qmc.Sobol
// uses). sobol.test.ts checks the unscrambled points against scipy's. Points are 32-bit fractions, scrambled by a
// seeded digital shift (one random 32-bit XOR mask per dimension, from core's createRng): each point stays a
// (t, m, s)-net point and the estimate becomes unbiased.
import { createRng, PhysiotwinError } from '@physiotwin/core';

/** Dimensions 2..16 of new-joe-kuo-6.21201: degree s, coefficient a, initial direction numbers m_1..m_s. */
const JOE_KUO: ReadonlyArray<readonly [number, number, readonly number[]]> = [
  [1, 0, [1]],
  [2, 1, [1, 3]],
  [3, 1, [1, 3, 1]],
  [3, 2, [1, 1, 1]],
  [4, 1, [1, 1, 3, 3]],
  [4, 4, [1, 3, 5, 13]],
  [5, 2, [1, 1, 5, 5, 17]],
  [5, 4, [1, 1, 5, 5, 5]],
  [5, 7, [1, 1, 7, 11, 19]],
  [5, 11, [1, 1, 5, 1, 1]],
  [5, 13, [1, 1, 1, 3, 11]],
  [5, 14, [1, 3, 5, 5, 31]],
  [6, 1, [1, 3, 3, 9, 7, 49]],
  [6, 13, [1, 1, 1, 15, 21, 21]],
  [6, 16, [1, 3, 1, 13, 27, 49]],
];

/** The largest number of dimensions {@link sobolPoints} supports. */
export const SOBOL_MAX_DIMENSIONS = JOE_KUO.length + 1;

const BITS = 32;

/** Direction numbers V[d][k] (k = 0..31), as 32-bit integers. */
function directions(dims: number): Uint32Array[] {
  const out: Uint32Array[] = [];
  for (let d = 0; d < dims; d++) {
    const v = new Uint32Array(BITS);
    if (d === 0) {
      for (let k = 0; k < BITS; k++) v[k] = (1 << (BITS - 1 - k)) >>> 0;
    } else {
      const [s, a, m] = JOE_KUO[d - 1]!;
      for (let k = 0; k < s; k++) v[k] = (m[k]! << (BITS - 1 - k)) >>> 0;
      for (let k = s; k < BITS; k++) {
        let x = (v[k - s]! ^ (v[k - s]! >>> s)) >>> 0;
        for (let i = 1; i < s; i++) if ((a >>> (s - 1 - i)) & 1) x = (x ^ v[k - i]!) >>> 0;
        v[k] = x;
      }
    }
    out.push(v);
  }
  return out;
}

/**
 * Points `start .. start + count - 1` of the Sobol' sequence in `dims` dimensions, row-major (`out[i * dims + d]`,
 * in [0, 1)), point 0 included. Each point is computed from its index (Gray code), so any range costs the same
 * as its length. With `seed`, every dimension is XORed with a 32-bit mask drawn from `createRng(seed)` (digital
 * shift); without, the plain sequence.
 * @throws PhysiotwinError `INVALID_ARGUMENT` for dims outside 1..{@link SOBOL_MAX_DIMENSIONS}, a negative or
 *   non-integer range, or more than 2^32 points
 * @example `sobolPoints(3, 0, 1024, 42)` (1024 shifted points in the unit cube)
 */
export function sobolPoints(dims: number, start: number, count: number, seed?: number): Float64Array {
  if (!Number.isInteger(dims) || dims < 1 || dims > SOBOL_MAX_DIMENSIONS) {
    throw new PhysiotwinError('INVALID_ARGUMENT', `Sobol' points: ${dims} dimensions, supported 1..${SOBOL_MAX_DIMENSIONS} (Joe-Kuo direction numbers)`);
  }
  if (!Number.isInteger(start) || !Number.isInteger(count) || start < 0 || count < 0 || start + count > 2 ** BITS) {
    throw new PhysiotwinError('INVALID_ARGUMENT', `Sobol' points: range ${start} + ${count} is not within 0..2^32`);
  }
  const v = directions(dims);
  const shift = new Uint32Array(dims);
  if (seed !== undefined) {
    const rng = createRng(seed);
    for (let d = 0; d < dims; d++) shift[d] = rng.nextUint32();
  }
  const out = new Float64Array(count * dims);
  const x = new Uint32Array(dims);
  for (let i = 0; i < count; i++) {
    const n = start + i;
    if (i === 0) {
      // The first point from its Gray code; the next ones by one XOR each.
      const g = n ^ Math.floor(n / 2);
      for (let d = 0; d < dims; d++) {
        let acc = 0;
        for (let k = 0; k < BITS; k++) if (Math.floor(g / 2 ** k) % 2 === 1) acc ^= v[d]![k]!;
        x[d] = acc >>> 0;
      }
    } else {
      // Gray code of n differs from that of n - 1 in the bit of the lowest zero of n - 1.
      let c = 0;
      let m = n - 1;
      while (m % 2 === 1) {
        m = Math.floor(m / 2);
        c++;
      }
      for (let d = 0; d < dims; d++) x[d] = (x[d]! ^ v[d]![c]!) >>> 0;
    }
    for (let d = 0; d < dims; d++) out[i * dims + d] = ((x[d]! ^ shift[d]!) >>> 0) / 2 ** BITS;
  }
  return out;
}
