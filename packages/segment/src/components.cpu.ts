import type { Vec3, VolumeData } from '@physiotwin/core';
import type { Connectivity } from './volume-utils.js';
import { neighbourOffsets } from './volume-utils.js';

/** Root of `i` with path halving; roots are the smallest voxel index of their tree. */
function find(parent: Int32Array, i: number): number {
  while (parent[i]! !== i) {
    const p = parent[parent[i]!]!;
    parent[i] = p;
    i = p;
  }
  return i;
}

/**
 * Connected components of the non-zero voxels by union-find in one raster pass. Labels are 1..count, numbered
 * in the raster order (x fastest) of each component's first voxel: the canonical numbering the WebGPU backend
 * reproduces, so both give identical labelmaps.
 */
export function connectedComponentsCpu(mask: VolumeData, dims: Vec3, connectivity: Connectivity, tick?: (k: number) => void): { labels: Uint32Array; count: number } {
  const [nx, ny, nz] = dims;
  const nxy = nx * ny;
  const offsets = neighbourOffsets(connectivity, true);
  const m = offsets.length / 3;
  const parent = new Int32Array(mask.length);
  for (let k = 0; k < nz; k++) {
    tick?.(k);
    for (let j = 0; j < ny; j++) {
      let idx = nx * j + nxy * k;
      for (let i = 0; i < nx; i++, idx++) {
        parent[idx] = idx;
        if (mask[idx] === 0) continue;
        for (let n = 0; n < m; n++) {
          const di = offsets[3 * n]!;
          const dj = offsets[3 * n + 1]!;
          const dk = offsets[3 * n + 2]!;
          const ii = i + di;
          const jj = j + dj;
          const kk = k + dk;
          if (ii < 0 || ii >= nx || jj < 0 || jj >= ny || kk < 0) continue;
          const q = idx + di + nx * dj + nxy * dk;
          if (mask[q] === 0) continue;
          const a = find(parent, q);
          const b = find(parent, idx);
          if (a < b) parent[b] = a;
          else if (b < a) parent[a] = b;
        }
      }
    }
  }
  const labels = new Uint32Array(mask.length);
  const count = relabelFromRoots(mask, (i) => find(parent, i), labels);
  return { labels, count };
}

/**
 * Writes compact labels given each foreground voxel's root (the smallest voxel index of its component):
 * the first voxel of a component in raster order is its root and opens the next label.
 */
export function relabelFromRoots(mask: VolumeData, rootOf: (i: number) => number, labels: Uint32Array): number {
  let count = 0;
  for (let i = 0; i < mask.length; i++) {
    if (mask[i] === 0) continue;
    const r = rootOf(i);
    labels[i] = r === i ? ++count : labels[r]!;
  }
  return count;
}

/** Voxel count of each label (index = label, entry 0 = background). */
export function labelSizes(labels: Uint32Array, count: number): Float64Array {
  const sizes = new Float64Array(count + 1);
  for (let i = 0; i < labels.length; i++) sizes[labels[i]!]!++;
  return sizes;
}

/**
 * Flood fill from seed voxels over the non-zero voxels of `mask`: out[i] = 1 for every voxel connected to a
 * seed. Seeds on zero voxels start nothing.
 */
export function seedFillCpu(mask: VolumeData, dims: Vec3, seeds: readonly number[], connectivity: Connectivity, out: Uint8Array): Uint8Array {
  const [nx, ny, nz] = dims;
  const nxy = nx * ny;
  const offsets = neighbourOffsets(connectivity);
  const m = offsets.length / 3;
  out.fill(0);
  let stack: Int32Array = new Int32Array(1024);
  let top = 0;
  for (const s of seeds) {
    if (mask[s] !== 0 && out[s] === 0) {
      out[s] = 1;
      if (top === stack.length) stack = grow(stack);
      stack[top++] = s;
    }
  }
  while (top > 0) {
    const idx = stack[--top]!;
    const k = Math.floor(idx / nxy);
    const rem = idx - k * nxy;
    const j = Math.floor(rem / nx);
    const i = rem - j * nx;
    for (let n = 0; n < m; n++) {
      const ii = i + offsets[3 * n]!;
      const jj = j + offsets[3 * n + 1]!;
      const kk = k + offsets[3 * n + 2]!;
      if (ii < 0 || ii >= nx || jj < 0 || jj >= ny || kk < 0 || kk >= nz) continue;
      const q = ii + nx * jj + nxy * kk;
      if (mask[q] === 0 || out[q] !== 0) continue;
      out[q] = 1;
      if (top === stack.length) stack = grow(stack);
      stack[top++] = q;
    }
  }
  return out;
}

function grow(a: Int32Array): Int32Array<ArrayBuffer> {
  const b = new Int32Array(a.length * 2);
  b.set(a);
  return b;
}
