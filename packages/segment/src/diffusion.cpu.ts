import type { Vec3 } from '@physiotwin/core';

/**
 * One explicit step of gradient anisotropic (Perona-Malik) diffusion in f64: out = u + dt * div(g(|grad u|) grad u)
 * with g(d) = exp(-(d / K)^2), discretised per face: between face neighbours a, b along an axis of spacing h the flux
 * is g(d) d / h with d = (u[b] - u[a]) / h, added to a and subtracted from b (zero flux across the image border),
 * so the sum of u is conserved up to rounding. `invK` is 1 / K (K in value units per mm); g is computed as
 * q = d * invK, exp(-q * q), the formula of the WGSL kernel (1 / K^2 overflowed f32 there for K < 5.4e-20).
 * Allocates nothing; `out` must not be `u`.
 */
export function diffusionStepCpu(u: Float64Array, [nx, ny, nz]: Vec3, spacing: Vec3, dt: number, invK: number, out: Float64Array): Float64Array {
  out.set(u);
  const nxy = nx * ny;
  const strides = [1, nx, nxy];
  for (let axis = 0; axis < 3; axis++) {
    const stride = strides[axis]!;
    // Faces along this axis: voxels whose neighbour at +1 along it is inside the image.
    const iEnd = axis === 0 ? nx - 1 : nx;
    const jEnd = axis === 1 ? ny - 1 : ny;
    const kEnd = axis === 2 ? nz - 1 : nz;
    const invH = 1 / spacing[axis]!;
    const scale = dt * invH;
    for (let k = 0; k < kEnd; k++) {
      for (let j = 0; j < jEnd; j++) {
        const row = nx * j + nxy * k;
        for (let a = row; a < row + iEnd; a++) {
          const b = a + stride;
          const d = (u[b]! - u[a]!) * invH;
          const q = d * invK;
          const f = scale * Math.exp(-q * q) * d;
          out[a]! += f;
          out[b]! -= f;
        }
      }
    }
  }
  return out;
}
