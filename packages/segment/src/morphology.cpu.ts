import type { Vec3, VolumeData } from '@physiotwin/core';

/**
 * Relative slack on the squared radius so that a voxel exactly on the ball's surface is inside whatever order
 * the squared distance was summed in (the f64 rounding of a 3-term sum is ~1e-16 relative). The WebGPU stencil
 * uses the same slack, so both backends select the same voxels.
 */
export const BALL_SLACK = 1e-9;

/** Offsets (di, dj, dk) of the voxels of a ball of radius `radiusMm` (spacing-aware), 3 numbers each. */
export function ballOffsets(radiusMm: number, spacing: Vec3): Int32Array {
  const r2 = radiusMm * radiusMm * (1 + BALL_SLACK);
  const [sx, sy, sz] = spacing;
  const ri = Math.floor(radiusMm / sx);
  const rj = Math.floor(radiusMm / sy);
  const rk = Math.floor(radiusMm / sz);
  const out: number[] = [];
  for (let dk = -rk; dk <= rk; dk++) {
    for (let dj = -rj; dj <= rj; dj++) {
      for (let di = -ri; di <= ri; di++) {
        const x = di * sx;
        const y = dj * sy;
        const z = dk * sz;
        if (x * x + y * y + z * z <= r2) out.push(di, dj, dk);
      }
    }
  }
  return Int32Array.from(out);
}

/**
 * One 1D pass of the exact squared Euclidean distance transform (Felzenszwalb & Huttenlocher 2012) along a
 * strided line of `n` samples `spacing` mm apart, in place. Scratch arrays must hold n (v, f) and n + 1 (z).
 */
function edt1d(d: Float64Array, start: number, stride: number, n: number, s2: number, f: Float64Array, v: Int32Array, z: Float64Array): void {
  for (let q = 0; q < n; q++) f[q] = d[start + q * stride]!;
  // Lower envelope of the parabolas of the finite samples; z[0] = -Infinity stops the pop loop at k = 0.
  let k = -1;
  for (let q = 0; q < n; q++) {
    const fq = f[q]!;
    if (fq === Infinity) continue;
    if (k < 0) {
      k = 0;
      v[0] = q;
      z[0] = -Infinity;
      z[1] = Infinity;
      continue;
    }
    let s = 0;
    for (;;) {
      const p = v[k]!;
      s = (fq + s2 * q * q - (f[p]! + s2 * p * p)) / (2 * s2 * (q - p));
      if (s > z[k]!) break;
      k--;
    }
    k++;
    v[k] = q;
    z[k] = s;
    z[k + 1] = Infinity;
  }
  if (k < 0) return; // no feature on this line: it stays infinite
  k = 0;
  for (let q = 0; q < n; q++) {
    while (z[k + 1]! < q) k++;
    const p = v[k]!;
    d[start + q * stride] = s2 * (q - p) * (q - p) + f[p]!;
  }
}

/**
 * Squared Euclidean distance (mm^2, anisotropic spacing) from every voxel to the nearest voxel
 * whose foreground state (non-zero) equals `featureIsForeground`; Infinity when there is none.
 * @throws nothing (the caller checks the mask and spacing)
 */
export function squaredDistanceCpu(mask: VolumeData, dims: Vec3, spacing: Vec3, featureIsForeground: boolean, tick?: (axis: number) => void): Float64Array {
  const [nx, ny, nz] = dims;
  const n = mask.length;
  const d = new Float64Array(n);
  for (let i = 0; i < n; i++) d[i] = (mask[i] !== 0) === featureIsForeground ? 0 : Infinity;
  const longest = Math.max(nx, ny, nz);
  const f = new Float64Array(longest);
  const v = new Int32Array(longest);
  const z = new Float64Array(longest + 1);
  const nxy = nx * ny;
  tick?.(0);
  for (let k = 0; k < nz; k++) for (let j = 0; j < ny; j++) edt1d(d, nx * j + nxy * k, 1, nx, spacing[0] ** 2, f, v, z);
  tick?.(1);
  for (let k = 0; k < nz; k++) for (let i = 0; i < nx; i++) edt1d(d, i + nxy * k, nx, ny, spacing[1] ** 2, f, v, z);
  tick?.(2);
  for (let j = 0; j < ny; j++) for (let i = 0; i < nx; i++) edt1d(d, i + nx * j, nxy, nz, spacing[2] ** 2, f, v, z);
  return d;
}

/**
 * Binary dilation (grow = true) or erosion by a ball of `radiusMm`, exact for anisotropic spacing, via the
 * Euclidean distance transform (O(voxels), independent of the radius). Outside the image counts as neither
 * foreground nor background: dilation does not grow from it, erosion does not eat from it (ITK's default).
 */
export function dilateErodeCpu(mask: VolumeData, dims: Vec3, spacing: Vec3, radiusMm: number, grow: boolean, out: Uint8Array, tick?: (axis: number) => void): Uint8Array {
  const d = squaredDistanceCpu(mask, dims, spacing, grow, tick);
  const r2 = radiusMm * radiusMm * (1 + BALL_SLACK);
  for (let i = 0; i < d.length; i++) {
    // grow: inside the ball around some foreground voxel. shrink: no background voxel within the ball.
    out[i] = grow ? (d[i]! <= r2 ? 1 : 0) : d[i]! > r2 ? 1 : 0;
  }
  return out;
}

/**
 * Fills the holes of a mask: background voxels not connected (6-connectivity) to the image border become
 * foreground.
 */
export function fillHolesCpu(mask: VolumeData, dims: Vec3, out: Uint8Array): Uint8Array {
  const [nx, ny, nz] = dims;
  const nxy = nx * ny;
  const n = mask.length;
  // out: 2 = background reached from the border, then mapped to 0; everything else becomes 1.
  for (let i = 0; i < n; i++) out[i] = mask[i] !== 0 ? 1 : 0;
  let stack = new Int32Array(4096);
  let top = 0;
  const push = (q: number) => {
    if (out[q] !== 0) return;
    out[q] = 2;
    if (top === stack.length) {
      const b = new Int32Array(stack.length * 2);
      b.set(stack);
      stack = b;
    }
    stack[top++] = q;
  };
  for (let k = 0; k < nz; k++) {
    for (let j = 0; j < ny; j++) {
      for (let i = 0; i < nx; i++) {
        if (i === 0 || j === 0 || k === 0 || i === nx - 1 || j === ny - 1 || k === nz - 1) push(i + nx * j + nxy * k);
      }
    }
  }
  while (top > 0) {
    const q = stack[--top]!;
    const k = Math.floor(q / nxy);
    const rem = q - k * nxy;
    const j = Math.floor(rem / nx);
    const i = rem - j * nx;
    if (i > 0) push(q - 1);
    if (i < nx - 1) push(q + 1);
    if (j > 0) push(q - nx);
    if (j < ny - 1) push(q + nx);
    if (k > 0) push(q - nxy);
    if (k < nz - 1) push(q + nxy);
  }
  for (let i = 0; i < n; i++) out[i] = out[i] === 2 ? 0 : 1;
  return out;
}
