import type { Vec3 } from '@physiotwin/core';

/**
 * Running sums of half-width `radius` along one axis, from `src` into `dst`: `outer` blocks of `block` contiguous
 * lines (the lines of one block are interleaved, so the inner loop walks contiguous memory), `length` samples
 * `stride` apart. `acc` holds at least `block` numbers.
 */
function runningSumAxis(src: Float64Array, dst: Float64Array, outer: number, outerStride: number, length: number, stride: number, block: number, radius: number, acc: Float64Array): void {
  const reach = Math.min(radius, length - 1);
  if (block === 1) {
    // Lines along x: one accumulator, no inner loop.
    for (let o = 0; o < outer; o++) {
      const base = o * outerStride;
      let acc = 0;
      for (let q = 0; q <= reach; q++) acc += src[base + q * stride]!;
      for (let p = 0; p < length; p++) {
        dst[base + p * stride] = acc;
        if (p + radius + 1 < length) acc += src[base + (p + radius + 1) * stride]!;
        if (p - radius >= 0) acc -= src[base + (p - radius) * stride]!;
      }
    }
    return;
  }
  for (let o = 0; o < outer; o++) {
    const base = o * outerStride;
    acc.fill(0, 0, block);
    for (let q = 0; q <= reach; q++) {
      const off = base + q * stride;
      for (let b = 0; b < block; b++) acc[b]! += src[off + b]!;
    }
    for (let p = 0; p < length; p++) {
      const off = base + p * stride;
      for (let b = 0; b < block; b++) dst[off + b] = acc[b]!;
      if (p + radius + 1 < length) {
        const add = base + (p + radius + 1) * stride;
        for (let b = 0; b < block; b++) acc[b]! += src[add + b]!;
      }
      if (p - radius >= 0) {
        const sub = base + (p - radius) * stride;
        for (let b = 0; b < block; b++) acc[b]! -= src[sub + b]!;
      }
    }
  }
}

/**
 * In place: data[p] = sum of data over the box |di| <= r[0], |dj| <= r[1], |dk| <= r[2] around p, clipped to the
 * image (separable running sums, O(voxels) whatever the radii). `scratch` has data's length; returns `data`.
 */
export function boxSumCpu(data: Float64Array, [nx, ny, nz]: Vec3, r: Vec3, scratch: Float64Array): Float64Array {
  const nxy = nx * ny;
  const acc = new Float64Array(nxy);
  // [outer, outerStride, length, stride, block] per axis.
  const axes: Array<[number, number, number, number, number]> = [
    [ny * nz, nx, nx, 1, 1],
    [nz, nxy, ny, nx, nx],
    [1, 0, nz, nxy, nxy],
  ];
  let from = data;
  let to = scratch;
  axes.forEach(([outer, outerStride, length, stride, block], axis) => {
    if (r[axis] === 0) return;
    runningSumAxis(from, to, outer, outerStride, length, stride, block, r[axis]!, acc);
    [from, to] = [to, from];
  });
  if (from !== data) data.set(from);
  return data;
}

/**
 * Window sums of one growth round, over a box of the image: counts and sums of the (physical) values of the
 * region's core and of the region, at the box's voxels.
 */
export interface WindowSums {
  coreCount: Float64Array;
  coreSum: Float64Array;
  regionCount: Float64Array;
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

/**
 * The bounding box of the non-zero voxels of `masks` (full-image arrays), grown by `margin` voxels per axis and
 * clipped to the image; undefined when every mask is empty.
 */
export function grownBoundingBox(masks: readonly Uint8Array[], [nx, ny, nz]: Vec3, margin: Vec3): VoxelBox | undefined {
  const lo = [nx, ny, nz];
  const hi = [-1, -1, -1];
  for (const m of masks) {
    for (let k = 0, p = 0; k < nz; k++) {
      for (let j = 0; j < ny; j++, p += nx) {
        // First and last foreground voxel of the row, if any.
        let a = 0;
        while (a < nx && m[p + a] === 0) a++;
        if (a === nx) continue;
        let b = nx - 1;
        while (m[p + b] === 0) b--;
        lo[0] = Math.min(lo[0]!, a);
        hi[0] = Math.max(hi[0]!, b);
        lo[1] = Math.min(lo[1]!, j);
        hi[1] = Math.max(hi[1]!, j);
        lo[2] = Math.min(lo[2]!, k);
        hi[2] = Math.max(hi[2]!, k);
      }
    }
  }
  if (hi[0]! < 0) return undefined;
  const size = [nx, ny, nz];
  const a = lo.map((l, d) => Math.max(0, l - margin[d]!)) as Vec3;
  const b = hi.map((h, d) => Math.min(size[d]! - 1, h + margin[d]!));
  return { lo: a, dims: [b[0]! - a[0] + 1, b[1]! - a[1] + 1, b[2]! - a[2] + 1] };
}

/**
 * Copies between a full image (dims) and a box-sized array: `toBox` true reads full[box] into `boxed`, false
 * writes `boxed` into full[box]. Returns the destination.
 */
export function copyBox<T extends { [i: number]: number; length: number }>(full: T, [nx, ny]: Vec3, box: VoxelBox, boxed: T, toBox: boolean): T {
  const [bx, by, bz] = box.dims;
  const [i0, j0, k0] = box.lo;
  for (let k = 0, c = 0; k < bz; k++) {
    for (let j = 0; j < by; j++) {
      const row = i0 + nx * (j0 + j + ny * (k0 + k));
      for (let i = 0; i < bx; i++, c++) {
        if (toBox) boxed[c] = full[row + i]!;
        else full[row + i] = boxed[c]!;
      }
    }
  }
  return toBox ? boxed : full;
}
