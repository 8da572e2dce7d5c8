import type { Mat3, SurfaceMesh, Vec3, VolumeData } from '@physiotwin/core';
import { CASE_EDGES, CASE_START, EDGE_AXIS, EDGE_BASE } from './mc-table.js';
import { Growable } from './growable.js';

/**
 * Where a vertex may sit on its edge, as a fraction of the edge: [CLAMP, 1 - CLAMP]. A sample equal to the
 * isovalue counts as inside (symbolic perturbation: the surface is that of iso - epsilon), which would put
 * the vertices of all edges at that corner on the corner itself and make zero-area triangles; clamping keeps
 * them 1e-3 of a voxel apart (well above f32 resolution at any plausible coordinate, far below the O(h^2)
 * interpolation error of marching cubes).
 */
export const EDGE_CLAMP = 1e-3;

/** Inputs of the CPU marching cubes: stored values, geometry, and the isovalue in stored units. */
export interface MarchingCubesInput {
  data: VolumeData;
  dims: Vec3;
  spacing: Vec3;
  origin: Vec3;
  direction: Mat3;
  /** Isovalue in stored units. */
  iso: number;
  /** +1: values >= iso are inside; -1: values <= iso are inside (a negative rescale slope). */
  sign: 1 | -1;
}

/** Row-major 3x4 index-to-world matrix (f64): world = A * [i, j, k] + origin. */
export function indexToWorldRows(v: Pick<MarchingCubesInput, 'spacing' | 'origin' | 'direction'>): Float64Array {
  const d = v.direction;
  const s = v.spacing;
  const m = new Float64Array(12);
  for (let r = 0; r < 3; r++) {
    for (let c = 0; c < 3; c++) m[4 * r + c] = d[3 * c + r]! * s[c]!;
    m[4 * r + 3] = v.origin[r]!;
  }
  return m;
}

/** True when the direction matrix flips handedness: triangles must then be wound the other way round. */
export function flipsOrientation(direction: Mat3): boolean {
  const d = direction;
  const det = d[0] * (d[4] * d[8] - d[7] * d[5]) - d[3] * (d[1] * d[8] - d[7] * d[2]) + d[6] * (d[1] * d[5] - d[4] * d[2]);
  return det < 0;
}

/**
 * Marching cubes over the whole volume. Vertices are numbered in raster order of (point, axis) of the edge they
 * sit on, triangles in raster order of their cell: the WebGPU backend (prefix sums) produces the same numbering.
 * Each vertex is made once and shared (merged) by the up to four cells around its edge.
 */
export function marchingCubesCpu(input: MarchingCubesInput, tick?: (k: number) => void): SurfaceMesh {
  const { data, dims, iso, sign } = input;
  const [nx, ny, nz] = dims;
  const nxy = nx * ny;
  const n = data.length;
  const inside = new Uint8Array(n);
  // Per x-row (j, k): 0 all outside, 1 all inside, 2 mixed. Rows and cells whose rows are all uniform and
  // equal have no crossings and are skipped whole: most of a typical volume.
  const rowState = new Uint8Array(ny * nz);
  for (let r = 0; r < ny * nz; r++) {
    const o = r * nx;
    let ones = 0;
    if (sign > 0) for (let i = o; i < o + nx; i++) ones += inside[i] = data[i]! >= iso ? 1 : 0;
    else for (let i = o; i < o + nx; i++) ones += inside[i] = data[i]! <= iso ? 1 : 0;
    rowState[r] = ones === 0 ? 0 : ones === nx ? 1 : 2;
  }
  /** True when rows r1 and r2 (or r1 alone when r2 < 0) are uniform with the same value. */
  const sameUniform = (r1: number, r2: number) => {
    const s1 = rowState[r1]!;
    return s1 !== 2 && (r2 < 0 || rowState[r2] === s1);
  };
  const m = indexToWorldRows(input);
  const flip = flipsOrientation(input.direction);
  const positions = new Growable(new Float32Array(3 * 4096), (k) => new Float32Array(k));
  const triangles = new Growable(new Uint32Array(3 * 8192), (k) => new Uint32Array(k));
  // Vertex ids of the x, y and z edges of two consecutive slices (slot k & 1).
  const ids = [0, 1].map(() => [new Int32Array(nxy), new Int32Array(nxy), new Int32Array(nxy)]);
  let vertexCount = 0;

  // Vertex `id` on the edge from point p (index coordinates x, y, z) along `axis` (`step` apart in memory).
  const emit = (p: number, step: number, axis: number, x: number, y: number, z: number): number => {
    const v0 = data[p]!;
    let t = (iso - v0) / (data[p + step]! - v0);
    // NaN (a NaN sample) falls to EDGE_CLAMP, like the comparisons below.
    t = t > EDGE_CLAMP ? (t < 1 - EDGE_CLAMP ? t : 1 - EDGE_CLAMP) : EDGE_CLAMP;
    if (axis === 0) x += t;
    else if (axis === 1) y += t;
    else z += t;
    const pos = positions.reserve(3);
    const o = positions.length;
    pos[o] = m[0]! * x + m[1]! * y + m[2]! * z + m[3]!;
    pos[o + 1] = m[4]! * x + m[5]! * y + m[6]! * z + m[7]!;
    pos[o + 2] = m[8]! * x + m[9]! * y + m[10]! * z + m[11]!;
    positions.length = o + 3;
    return vertexCount++;
  };

  // Numbers the vertices of slice k's points in raster order of (point, axis). Only crossed edges get an id:
  // the case table never asks for another.
  const emitSlice = (k: number) => {
    const [ex, ey, ez] = ids[k & 1]! as [Int32Array, Int32Array, Int32Array];
    const off = k * nxy;
    const hasZ = k + 1 < nz;
    for (let j = 0; j < ny; j++) {
      const hasY = j + 1 < ny;
      const r = j + ny * k;
      if (sameUniform(r, hasY ? r + 1 : -1) && sameUniform(r, hasZ ? r + ny : -1)) continue;
      const row = nx * j;
      for (let i = 0; i < nx; i++) {
        const q = row + i;
        const p = off + q;
        const a = inside[p]!;
        if (i + 1 < nx && inside[p + 1] !== a) ex[q] = emit(p, 1, 0, i, j, k);
        if (hasY && inside[p + nx] !== a) ey[q] = emit(p, nx, 1, i, j, k);
        if (hasZ && inside[p + nxy] !== a) ez[q] = emit(p, nxy, 2, i, j, k);
      }
    }
  };

  // Per cube edge: its id array (x, y or z edges of the lower or upper slice) and offset within the slice.
  const edgeOffset = new Int32Array(12);
  for (let e = 0; e < 12; e++) {
    const c = EDGE_BASE[e]!;
    edgeOffset[e] = (c & 1) + nx * ((c >> 1) & 1);
  }
  const edgeIds: Int32Array[] = new Array<Int32Array>(12);

  if (nz > 0) emitSlice(0);
  for (let k = 0; k + 1 < nz; k++) {
    tick?.(k);
    emitSlice(k + 1);
    for (let e = 0; e < 12; e++) edgeIds[e] = ids[(k + (EDGE_BASE[e]! >> 2)) & 1]![EDGE_AXIS[e]!]!;
    const b0 = k * nxy;
    const b1 = b0 + nxy;
    for (let j = 0; j + 1 < ny; j++) {
      const r = j + ny * k;
      if (sameUniform(r, r + 1) && sameUniform(r, r + ny) && sameUniform(r, r + ny + 1)) continue;
      const r00 = b0 + nx * j;
      const r10 = r00 + nx;
      const r01 = b1 + nx * j;
      const r11 = r01 + nx;
      // Corner bits of the left face of the next cell (x = i): y/z pairs at bits 0, 2, 4, 6.
      let left = inside[r00]! | (inside[r10]! << 2) | (inside[r01]! << 4) | (inside[r11]! << 6);
      for (let i = 0; i + 1 < nx; i++) {
        const right = inside[r00 + i + 1]! | (inside[r10 + i + 1]! << 2) | (inside[r01 + i + 1]! << 4) | (inside[r11 + i + 1]! << 6);
        const cube = left | (right << 1);
        left = right;
        if (cube === 0 || cube === 255) continue;
        const q = i + nx * j;
        const t0 = CASE_START[cube]!;
        const t1 = CASE_START[cube + 1]!;
        const tri = triangles.reserve(3 * (t1 - t0));
        let o = triangles.length;
        for (let t = t0; t < t1; t++) {
          const e0 = CASE_EDGES[3 * t]!;
          const e1 = CASE_EDGES[3 * t + 1]!;
          const e2 = CASE_EDGES[3 * t + 2]!;
          const a = edgeIds[e0]![q + edgeOffset[e0]!]!;
          const b = edgeIds[e1]![q + edgeOffset[e1]!]!;
          const c = edgeIds[e2]![q + edgeOffset[e2]!]!;
          tri[o] = a;
          tri[o + 1] = flip ? c : b;
          tri[o + 2] = flip ? b : c;
          o += 3;
        }
        triangles.length = o;
      }
    }
  }
  return { positions: positions.finish(), triangles: triangles.finish() };
}
