// Host side of the double-float ("df") WGSL library (shaders/hemo/double-float.wgsl): conversions between f64
// values and (hi, lo) f32 pairs and exact WGSL literals. The device side (evaluation and the probe) is in
// double-float.webgpu.ts.
import { PhysiotwinError } from '@physiotwin/core';

/**
 * Splits f64 values into double-float pairs, interleaved `[hi0, lo0, hi1, lo1, ...]`: `hi = fround(x)`,
 * `lo = fround(x - hi)`, so `hi + lo` carries 48 significand bits of `x` (relative error at most about 2^-49)
 * and the pair is normalized (`hi = fround(hi + lo)`). A value that is not finite in f32 (NaN, +-Infinity,
 * or beyond the f32 range) gives `hi = fround(x)`, `lo = 0`.
 * @example `toDoubleFloat([Math.PI])` is `[3.1415927410125732, -8.742277657347586e-8]`
 */
export function toDoubleFloat(values: ArrayLike<number>): Float32Array {
  const out = new Float32Array(2 * values.length);
  for (let i = 0; i < values.length; i++) {
    const x = values[i]!;
    const hi = Math.fround(x);
    out[2 * i] = hi;
    out[2 * i + 1] = Number.isFinite(hi) ? x - hi : 0;
  }
  return out;
}

/**
 * The f64 values `hi + lo` of interleaved double-float pairs (the inverse of {@link toDoubleFloat} up to its
 * 48-bit rounding). The sum is exact for pairs made by {@link toDoubleFloat}.
 */
export function fromDoubleFloat(pairs: ArrayLike<number>): Float64Array {
  const out = new Float64Array(pairs.length >> 1);
  for (let i = 0; i < out.length; i++) out[i] = pairs[2 * i]! + pairs[2 * i + 1]!;
  return out;
}

/** `v` (an f32 value) as a WGSL float literal that parses back to exactly `v`. */
function f32Literal(v: number): string {
  if (Object.is(v, -0)) return '-0.0';
  // The shortest decimal that round-trips the f64 value v; v is an f32, so the literal (an AbstractFloat, i.e.
  // f64) is exactly v and its conversion to f32 is exact. String() writes integers without a point and large
  // or small magnitudes as 1e+21 / 1.5e-7, which WGSL accepts.
  const s = String(v);
  return /[.e]/.test(s) ? s : `${s}.0`;
}

/**
 * A WGSL expression `vec2<f32>(hi, lo)` for `x` as a double-float constant, with decimal literals that WGSL
 * parses back to exactly the pair of {@link toDoubleFloat} (powers of two and small integers have `lo = 0`).
 * @throws PhysiotwinError `INVALID_ARGUMENT` if `x` is not finite or beyond the f32 range (WGSL has no
 * literal for it)
 * @example `dfLiteral(0.1)` is `'vec2<f32>(0.10000000149011612, -1.4901161415892261e-9)'`
 */
export function dfLiteral(x: number): string {
  const [hi, lo] = toDoubleFloat([x]) as unknown as [number, number];
  if (!Number.isFinite(hi)) {
    throw new PhysiotwinError('INVALID_ARGUMENT', `${x} has no double-float literal: it is not a finite f32 value`);
  }
  return `vec2<f32>(${f32Literal(hi)}, ${f32Literal(lo)})`;
}

