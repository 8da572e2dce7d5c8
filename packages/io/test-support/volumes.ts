import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { DTYPE_BYTES, allocateVolumeData, createRng, createVolume, isPhysiotwinError } from '@physiotwin/core';
import type { ErrorCode, Mat3, Vec3, Volume, VolumeDtype } from '@physiotwin/core';
import { expect } from 'vitest';

/** Repository root, for fixtures/ paths. */
export const REPO_ROOT = fileURLToPath(new URL('../../../', import.meta.url));

export function fixture(path: string): Uint8Array {
  return readFileSync(REPO_ROOT + path);
}

export const DTYPES: VolumeDtype[] = ['uint8', 'int8', 'uint16', 'int16', 'uint32', 'int32', 'float32', 'float64'];

/** A rotation by `angle` radians about the unit axis (x, y, z), column-major. */
export function rotation(axis: Vec3, angle: number): Mat3 {
  const n = Math.hypot(...axis);
  const [x, y, z] = axis.map((v) => v / n) as Vec3;
  const c = Math.cos(angle);
  const s = Math.sin(angle);
  const t = 1 - c;
  return [t * x * x + c, t * x * y + s * z, t * x * z - s * y, t * x * y - s * z, t * y * y + c, t * y * z + s * x, t * x * z + s * y, t * y * z - s * x, t * z * z + c];
}

/**
 * A volume whose bytes are seeded random bits (for floats this includes NaNs with payloads, infinities and
 * subnormals: a round trip must keep them bit for bit), with an oblique direction, odd dims and spacing.
 */
export function randomVolume(dtype: VolumeDtype, seed: number, extra: { components?: number; direction?: Mat3; rescale?: { slope: number; intercept: number } } = {}): Volume {
  const dims: Vec3 = [7, 5, 3];
  const components = extra.components ?? 1;
  const data = allocateVolumeData(dtype, dims[0] * dims[1] * dims[2] * components);
  const bytes = new Uint8Array(data.buffer);
  const rng = createRng(seed);
  for (let i = 0; i < bytes.length; i++) bytes[i] = rng.nextUint32() & 0xff;
  return createVolume({
    data,
    dims,
    spacing: [0.7, 1.3, 2.9],
    origin: [-101.3, 37.77, 12.5],
    direction: extra.direction ?? rotation([1, 2, 3], 0.6),
    components,
    ...(extra.rescale ? { rescale: extra.rescale } : {}),
  });
}

export function bytesOf(v: Volume): Uint8Array {
  return new Uint8Array(v.data.buffer, v.data.byteOffset, v.data.length * DTYPE_BYTES[dtypeName(v)]);
}

function dtypeName(v: Volume): VolumeDtype {
  return v.data.constructor.name.replace('Array', '').toLowerCase() as VolumeDtype;
}

export function sha256(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex');
}

/** The 3x4 index-to-world (LPS) affine of a volume, row-major rows. */
export function affine(v: Pick<Volume, 'spacing' | 'origin' | 'direction'>): number[][] {
  return [0, 1, 2].map((r) => [0, 1, 2].map((c) => v.direction[r + 3 * c]! * v.spacing[c]!).concat(v.origin[r]!));
}

/** Asserts that `fn` throws a PhysiotwinError with `code` (and returns it for message checks). */
export function expectCode(fn: () => unknown, code: ErrorCode): Error {
  try {
    fn();
  } catch (e) {
    if (!isPhysiotwinError(e)) throw new Error(`expected PhysiotwinError ${code}, got ${String(e)}`, { cause: e });
    expect(e.code, e.message).toBe(code);
    return e;
  }
  throw new Error(`expected PhysiotwinError ${code}, nothing was thrown`);
}

/**
 * How far a direction decoded from a NIfTI qform may be from the rotation its writer meant. The file keeps only
 * quaternion b, c, d as float32 (each relative error <= 2^-24, so b^2 + c^2 + d^2 is off by <= 3 * 2 * 2^-24 =
 * 3.6e-7) and the reader recomputes a = sqrt(1 - b^2 - c^2 - d^2): near a 180 degree rotation (a -> 0) that
 * error is amplified to sqrt(a^2 + 3.6e-7) - a, and each matrix entry (terms 2ab, 2ac, ...) moves by at most 4
 * times that. Plus 1e-6 for the float32 rounding of b, c, d themselves in the products.
 */
export function qformDirectionTolerance(quatern: readonly number[]): number {
  const [b, c, d] = quatern as [number, number, number];
  const a = Math.sqrt(Math.max(0, 1 - (b * b + c * c + d * d)));
  return 4 * (Math.sqrt(a * a + 3.6e-7) - a) + 1e-6;
}
