import type { Vec3 } from '@physiotwin/core';
import { PhysiotwinError } from '@physiotwin/core';

/** Arrays {@link boxSumCpu} sums in place: f64 for sums of values, Int32 for voxel counts (integers, exact). */
export type BoxSumArray = Float64Array | Int32Array;

/**
 * Running sums of half-width `radius` along one axis, from `src` into `dst`: `block` contiguous numbers per
 * sample, `length` samples `srcStride` / `dstStride` apart from `srcOff` / `dstOff`. Each number's sum is
 * accumulated in the same order whatever the blocking, so blocks of any width give identical results. `acc`
 * holds at least `block` numbers.
 */
function runningSumAxis(src: Float64Array, srcOff: number, srcStride: number, dst: BoxSumArray, dstOff: number, dstStride: number, length: number, block: number, radius: number, acc: Float64Array): void {
  const reach = Math.min(radius, length - 1);
  if (block === 1) {
    // Lines along x: one accumulator, no inner loop.
    let sum = 0;
    for (let q = 0; q <= reach; q++) sum += src[srcOff + q * srcStride]!;
    for (let p = 0; p < length; p++) {
      dst[dstOff + p * dstStride] = sum;
      if (p + radius + 1 < length) sum += src[srcOff + (p + radius + 1) * srcStride]!;
      if (p - radius >= 0) sum -= src[srcOff + (p - radius) * srcStride]!;
    }
    return;
  }
  acc.fill(0, 0, block);
  for (let q = 0; q <= reach; q++) {
    const off = srcOff + q * srcStride;
    for (let b = 0; b < block; b++) acc[b]! += src[off + b]!;
  }
  for (let p = 0; p < length; p++) {
    const out = dstOff + p * dstStride;
    for (let b = 0; b < block; b++) dst[out + b] = acc[b]!;
    if (p + radius + 1 < length) {
      const add = srcOff + (p + radius + 1) * srcStride;
      for (let b = 0; b < block; b++) acc[b]! += src[add + b]!;
    }
    if (p - radius >= 0) {
      const sub = srcOff + (p - radius) * srcStride;
      for (let b = 0; b < block; b++) acc[b]! -= src[sub + b]!;
    }
  }
}

/**
 * In place: data[p] = sum of data over the box |di| <= r[0], |dj| <= r[1], |dk| <= r[2] around p, clipped to the
 * image (separable running sums, O(voxels) whatever the radii). The work space is one x-y slice or z column
 * chunk (at most max(nx ny, nz) numbers), not a copy of `data`. Int32 data must hold window sums below 2^31
 * (counts: the window's voxel count). Returns `data`.
 */
export function boxSumCpu<T extends BoxSumArray>(data: T, [nx, ny, nz]: Vec3, r: Vec3): T {
  const nxy = nx * ny;
  // z columns go through the copy `chunk` at a time, so that it holds at most max(nxy, nz) numbers.
  const chunk = Math.max(1, Math.floor(nxy / nz));
  const copy = new Float64Array(Math.max(nxy, chunk * nz));
  const acc = new Float64Array(Math.max(nx, chunk));
  if (r[0] > 0) {
    for (let row = 0; row < ny * nz; row++) {
      copy.set(data.subarray(row * nx, row * nx + nx));
      runningSumAxis(copy, 0, 1, data, row * nx, 1, nx, 1, r[0], acc);
    }
  }
  if (r[1] > 0) {
    for (let k = 0; k < nz; k++) {
      copy.set(data.subarray(k * nxy, k * nxy + nxy));
      runningSumAxis(copy, 0, nx, data, k * nxy, nx, ny, nx, r[1], acc);
    }
  }
  if (r[2] > 0) {
    for (let b0 = 0; b0 < nxy; b0 += chunk) {
      const width = Math.min(chunk, nxy - b0);
      for (let k = 0; k < nz; k++) copy.set(data.subarray(b0 + k * nxy, b0 + k * nxy + width), k * width);
      runningSumAxis(copy, 0, width, data, b0, nxy, nz, width, r[2], acc);
    }
  }
  return data;
}

/**
 * Window sums of one growth round, over a box of the image: counts and sums of the (physical) values of the
 * region's core and of the region, at the box's voxels.
 */
export interface WindowSums {
  coreCount: Int32Array;
  coreSum: Float64Array;
  regionCount: Int32Array;
  regionSum: Float64Array;
}

/** Voxels of the clipped window [x - r, x + r] along an axis of n voxels, for every x. */
export function windowLengths(n: number, r: number): Float64Array {
  return Float64Array.from({ length: n }, (_, x) => Math.min(n - 1, x + r) - Math.max(0, x - r) + 1);
}

/** Calls visit(c, f, i, j, k) for the voxels (i, j, k) of `box` in raster order: c their index in the box, f in the image. */
export function forEachInBox([nx, ny]: Vec3, box: VoxelBox, visit: (c: number, f: number, i: number, j: number, k: number) => void): void {
  const [bx, by, bz] = box.dims;
  const [i0, j0, k0] = box.lo;
  for (let k = k0, c = 0; k < k0 + bz; k++) {
    for (let j = j0; j < j0 + by; j++) {
      const row = nx * (j + ny * k);
      for (let i = i0; i < i0 + bx; i++, c++) visit(c, row + i, i, j, k);
    }
  }
}

/**
 * Calls visit(t, c, f) for the voxels of `box` (as {@link forEachInBox}) with their local threshold
 * t = B + fraction (L - B): L the mean of the core voxels, B that of the voxels outside the region, in the window.
 * t is NaN where the window holds no core voxel or no voxel outside the region, or where L <= B (no bright
 * structure to follow). `allSum` is the window sum of every voxel's value over the whole image; `lengths` the
 * {@link windowLengths} of the three axes.
 */
export function forEachThreshold(
  s: WindowSums, allSum: Float64Array, lengths: readonly Float64Array[], dims: Vec3, box: VoxelBox, fraction: number,
  visit: (t: number, c: number, f: number) => void,
): void {
  const [li, lj, lk] = lengths as [Float64Array, Float64Array, Float64Array];
  forEachInBox(dims, box, (c, f, i, j, k) => {
    const nCore = s.coreCount[c]!;
    const nOut = li[i]! * lj[j]! * lk[k]! - s.regionCount[c]!;
    let t = NaN;
    if (nCore > 0.5 && nOut > 0.5) {
      const lumen = s.coreSum[c]! / nCore;
      const outside = (allSum[f]! - s.regionSum[c]!) / nOut;
      if (lumen > outside) t = outside + fraction * (lumen - outside);
    }
    visit(t, c, f);
  });
}

/** An axis-aligned box of voxels: first corner and size. */
export interface VoxelBox {
  lo: Vec3;
  dims: Vec3;
}

/** The bounding box of the non-zero voxels of `mask` (an array of `dims`); undefined when it is empty. */
export function foregroundBox(mask: Uint8Array, [nx, ny, nz]: Vec3): VoxelBox | undefined {
  const lo = [nx, ny, nz];
  const hi = [-1, -1, -1];
  for (let k = 0, p = 0; k < nz; k++) {
    for (let j = 0; j < ny; j++, p += nx) {
      // First and last foreground voxel of the row, if any.
      let a = 0;
      while (a < nx && mask[p + a] === 0) a++;
      if (a === nx) continue;
      let b = nx - 1;
      while (mask[p + b] === 0) b--;
      lo[0] = Math.min(lo[0]!, a);
      hi[0] = Math.max(hi[0]!, b);
      lo[1] = Math.min(lo[1]!, j);
      hi[1] = Math.max(hi[1]!, j);
      lo[2] = Math.min(lo[2]!, k);
      hi[2] = Math.max(hi[2]!, k);
    }
  }
  if (hi[0]! < 0) return undefined;
  return { lo: lo as Vec3, dims: [hi[0]! - lo[0]! + 1, hi[1]! - lo[1]! + 1, hi[2]! - lo[2]! + 1] };
}

/** The bounding box of `boxes` (at least one), grown by `margin` voxels per axis and clipped to an image of `dims`. */
export function grownBox(boxes: readonly VoxelBox[], margin: Vec3, dims: Vec3): VoxelBox {
  const lo = [0, 1, 2].map((d) => Math.max(0, Math.min(...boxes.map((b) => b.lo[d]!)) - margin[d]!)) as Vec3;
  const hi = [0, 1, 2].map((d) => Math.min(dims[d]! - 1, Math.max(...boxes.map((b) => b.lo[d]! + b.dims[d]! - 1)) + margin[d]!));
  return { lo, dims: [hi[0]! - lo[0] + 1, hi[1]! - lo[1] + 1, hi[2]! - lo[2] + 1] };
}

/** `box` moved by `sign` `by`: +1 from coordinates relative to a box at `by` to the image's, -1 back. */
export function shiftBox(box: VoxelBox, by: Vec3, sign: 1 | -1): VoxelBox {
  return { lo: box.lo.map((l, d) => l + sign * by[d]!) as Vec3, dims: box.dims };
}

/** Writes `boxed` (an array of box.dims) into full[box], full being an array of `dims`. Returns `full`. */
export function pasteBox(full: Uint8Array, [nx, ny]: Vec3, box: VoxelBox, boxed: Uint8Array): Uint8Array {
  const [bx, by, bz] = box.dims;
  const [i0, j0, k0] = box.lo;
  for (let k = 0; k < bz; k++) {
    for (let j = 0; j < by; j++) {
      const c = bx * (j + by * k);
      full.set(boxed.subarray(c, c + bx), i0 + nx * (j0 + j + ny * (k0 + k)));
    }
  }
  return full;
}

/**
 * new Ctor(length), with an allocation the platform refuses (longer than a typed array may be, or memory
 * exhausted) as PhysiotwinError `OUT_OF_MEMORY` naming `what` instead of a raw RangeError.
 */
export function allocateArray<T>(Ctor: new (length: number) => T, length: number, what: string): T {
  try {
    return new Ctor(length);
  } catch (e) {
    if (!(e instanceof RangeError)) throw e;
    throw new PhysiotwinError('OUT_OF_MEMORY', `${what}: cannot allocate ${length} elements (${e.message})`, { cause: e });
  }
}

/**
 * Typed arrays of growing size: `take(m)` returns the first m numbers of one buffer, reallocated (contents lost)
 * when m exceeds what it holds. A growth round's box only grows, so each buffer is allocated once per growth.
 */
export class BoxBuffer<T extends { length: number; subarray(begin: number, end: number): T }> {
  private buffer: T | undefined;
  constructor(private readonly Ctor: new (length: number) => T, private readonly what: string) {}
  take(m: number): T {
    if (!this.buffer || this.buffer.length < m) {
      this.buffer = undefined;
      this.buffer = allocateArray(this.Ctor, m, this.what);
    }
    return this.buffer.subarray(0, m);
  }
}
