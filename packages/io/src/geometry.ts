import type { Mat3 } from '@physiotwin/core';

/**
 * Small 3x3 helpers for header geometry. Matrices are column-major like core's `Mat3`:
 * element (row r, column c) is `m[r + 3 * c]`.
 */

/** Determinant of a column-major 3x3 matrix. */
export function det3(m: ArrayLike<number>): number {
  const [a, b, c, d, e, f, g, h, i] = [m[0]!, m[1]!, m[2]!, m[3]!, m[4]!, m[5]!, m[6]!, m[7]!, m[8]!];
  return a * (e * i - f * h) - d * (b * i - c * h) + g * (b * f - c * e);
}

/** The inverse transpose of `m` (cofactor matrix / det), or undefined when `m` is singular. */
function inverseTranspose(m: ArrayLike<number>): Mat3 | undefined {
  const det = det3(m);
  if (!Number.isFinite(det) || det === 0) return undefined;
  const r = (row: number, col: number) => m[row + 3 * col]!;
  const out = new Array<number>(9) as Mat3;
  for (let col = 0; col < 3; col++) {
    for (let row = 0; row < 3; row++) {
      const r0 = (row + 1) % 3;
      const r1 = (row + 2) % 3;
      const c0 = (col + 1) % 3;
      const c1 = (col + 2) % 3;
      // Cyclic index order gives the signed cofactor directly.
      out[row + 3 * col] = (r(r0, c0) * r(r1, c1) - r(r0, c1) * r(r1, c0)) / det;
    }
  }
  return out;
}

/**
 * The orthogonal matrix nearest to `m` in the Frobenius norm (the orthogonal factor of its polar decomposition),
 * by Newton's iteration X <- (X + X^-T) / 2, which converges quadratically for any non-singular `m` and keeps the
 * sign of the determinant. Used for the NIfTI qform, which can only store a rotation (plus a flip).
 * Returns undefined for a singular matrix.
 */
export function nearestOrthogonal(m: ArrayLike<number>): Mat3 | undefined {
  let x = Array.from({ length: 9 }, (_, i) => m[i]!) as Mat3;
  for (let iter = 0; iter < 100; iter++) {
    const it = inverseTranspose(x);
    if (!it) return undefined;
    let change = 0;
    const next = x.map((v, i) => {
      const n = 0.5 * (v + it[i]!);
      change = Math.max(change, Math.abs(n - v));
      return n;
    }) as Mat3;
    x = next;
    // Converged to double precision (entries are direction cosines, |x| <= 1).
    if (change < 1e-15) break;
  }
  return x;
}
