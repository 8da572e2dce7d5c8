import type { TetMesh, Vec3, Volume } from '@physiotwin/core';
import { PhysiotwinError } from '@physiotwin/core';
import type { ClipPlane, Implicit } from './tet-stuffing.js';
import { TET_FACES, tetFaceNeighbours } from './tet-quality.js';

/**
 * A scalar field on a voxel grid that may reach past the image (its voxel 0 is the image's voxel `offset`),
 * sampled in grid mm: index times spacing, in the image's index frame.
 */
export interface GridField {
  data: Float32Array;
  dims: Vec3;
  spacing: Vec3;
  offset: Vec3;
}

/** Index box [lo, hi] (inclusive) of the voxels for which `inside(value)` holds; undefined when none. */
export function voxelBox(volume: Volume, inside: (value: number) => boolean): { lo: Vec3; hi: Vec3 } | undefined {
  const [nx, ny, nz] = volume.dims;
  const lo: Vec3 = [Infinity, Infinity, Infinity];
  const hi: Vec3 = [-Infinity, -Infinity, -Infinity];
  const d = volume.data;
  for (let k = 0, p = 0; k < nz; k++) {
    for (let j = 0; j < ny; j++) {
      for (let i = 0; i < nx; i++, p++) {
        if (!inside(d[p]!)) continue;
        if (i < lo[0]) lo[0] = i; if (i > hi[0]) hi[0] = i;
        if (j < lo[1]) lo[1] = j; if (j > hi[1]) hi[1] = j;
        if (k < lo[2]) lo[2] = k; if (k > hi[2]) hi[2] = k;
      }
    }
  }
  return lo[0] === Infinity ? undefined : { lo, hi };
}

/**
 * The grid [lo - margin, hi + margin] (voxels, per axis) filled with `value(voxel)` of the image, where voxels
 * past the image repeat the nearest image voxel (a structure leaving the image continues straight on).
 */
export function paddedField(volume: Volume, lo: Vec3, hi: Vec3, margin: Vec3, value: (v: number) => number): GridField {
  const [nx, ny, nz] = volume.dims;
  const offset: Vec3 = [lo[0] - margin[0], lo[1] - margin[1], lo[2] - margin[2]];
  const dims: Vec3 = [hi[0] - lo[0] + 1 + 2 * margin[0], hi[1] - lo[1] + 1 + 2 * margin[1], hi[2] - lo[2] + 1 + 2 * margin[2]];
  const n = dims[0] * dims[1] * dims[2];
  if (n > 2 ** 30) throw new PhysiotwinError('LIMIT_EXCEEDED', `tetmesh: a ${dims.join('x')} field is too large`);
  const data = new Float32Array(n);
  const src = volume.data;
  const clamp = (x: number, m: number) => (x < 0 ? 0 : x >= m ? m - 1 : x);
  for (let k = 0, p = 0; k < dims[2]; k++) {
    const kk = clamp(k + offset[2], nz);
    for (let j = 0; j < dims[1]; j++) {
      const row = nx * (clamp(j + offset[1], ny) + ny * kk);
      for (let i = 0; i < dims[0]; i++, p++) data[p] = value(src[row + clamp(i + offset[0], nx)]!);
    }
  }
  return { data, dims, spacing: [...volume.spacing], offset };
}

/**
 * Gaussian smoothing in place, separable, standard deviation `sigmaMm` (per axis sigmaMm / spacing voxels,
 * kernel cut at 3 sigma), edges replicated. sigmaMm = 0 leaves the field as is.
 */
export function gaussianSmooth(field: GridField, sigmaMm: number): GridField {
  if (!(sigmaMm > 0)) return field;
  const { data, dims } = field;
  const longest = Math.max(...dims);
  for (let axis = 0; axis < 3; axis++) {
    const sigma = sigmaMm / field.spacing[axis]!;
    const r = Math.ceil(3 * sigma);
    const w = new Float64Array(2 * r + 1);
    let sum = 0;
    for (let i = -r; i <= r; i++) sum += w[i + r] = Math.exp((-0.5 * i * i) / (sigma * sigma));
    for (let i = 0; i < w.length; i++) w[i]! /= sum;
    // One line at a time, copied with r replicated values at each end so the convolution needs no bounds checks.
    const line = new Float64Array(longest + 2 * r);
    const n = dims[axis]!;
    const stride = axis === 0 ? 1 : axis === 1 ? dims[0] : dims[0] * dims[1];
    const [ua, va] = axis === 0 ? [1, 2] : axis === 1 ? [0, 2] : [0, 1];
    const su = ua === 0 ? 1 : dims[0], sv = va === 1 ? dims[0] : dims[0] * dims[1];
    for (let b = 0; b < dims[va]!; b++) {
      for (let a = 0; a < dims[ua]!; a++) {
        const start = a * su + b * sv;
        let any = false;
        for (let i = 0; i < n; i++) any = (line[i + r] = data[start + i * stride]!) !== 0 || any;
        if (!any) continue; // an all-zero line stays zero (most of a labelmap's lines)
        for (let i = 0; i < r; i++) {
          line[i] = line[r]!;
          line[n + r + i] = line[n + r - 1]!;
        }
        for (let i = 0; i < n; i++) {
          let acc = 0;
          for (let k = 0; k <= 2 * r; k++) acc += w[k]! * line[i + k]!;
          data[start + i * stride] = acc;
        }
      }
    }
  }
  return field;
}

/**
 * Smoothing that does not shrink curved surfaces: a G_sigma + (1 - a) G_(sigma sqrt 2) with a = sqrt 2 / (sqrt 2 - 1).
 * A Gaussian of width sigma leaves a ball's indicator short of 0.5 on the ball's surface by an amount proportional
 * to sigma / R (the part of the kernel that falls outside the curved surface), which moves the 0.5 level inward by
 * about sigma^2 / R; the two Gaussians' shortfalls (proportional to sigma and sigma sqrt 2) cancel with these weights.
 * The combination still damps the voxel staircase: at sigma = one voxel its response at the grid's Nyquist
 * frequency is 0.025. Edges replicated; sigmaMm = 0 leaves the field as is.
 */
export function curvatureNeutralSmooth(field: GridField, sigmaMm: number): GridField {
  if (!(sigmaMm > 0)) return field;
  const a = Math.SQRT2 / (Math.SQRT2 - 1);
  const wide = gaussianSmooth({ ...field, data: field.data.slice() }, Math.SQRT2 * sigmaMm).data;
  const narrow = gaussianSmooth(field, sigmaMm).data;
  for (let i = 0; i < narrow.length; i++) narrow[i] = a * narrow[i]! + (1 - a) * wide[i]!;
  return field;
}

/** Trilinear interpolation of the fields (same grid) at grid-mm point p into `out`; clamped at the grid's edge. */
export function sampleFields(fields: readonly GridField[], x: number, y: number, z: number, out: Float64Array): Float64Array {
  const g = fields[0]!;
  const [nx, ny, nz] = g.dims;
  const fx = Math.min(Math.max(x / g.spacing[0] - g.offset[0], 0), nx - 1);
  const fy = Math.min(Math.max(y / g.spacing[1] - g.offset[1], 0), ny - 1);
  const fz = Math.min(Math.max(z / g.spacing[2] - g.offset[2], 0), nz - 1);
  const i = Math.min(Math.floor(fx), nx - 2 < 0 ? 0 : nx - 2), j = Math.min(Math.floor(fy), ny - 2 < 0 ? 0 : ny - 2), k = Math.min(Math.floor(fz), nz - 2 < 0 ? 0 : nz - 2);
  const tx = fx - i, ty = fy - j, tz = fz - k;
  const di = nx > 1 ? 1 : 0, dj = ny > 1 ? nx : 0, dk = nz > 1 ? nx * ny : 0;
  const p = i + nx * (j + ny * k);
  for (let f = 0; f < fields.length; f++) {
    const d = fields[f]!.data;
    const c00 = d[p]! + tx * (d[p + di]! - d[p]!);
    const c10 = d[p + dj]! + tx * (d[p + dj + di]! - d[p + dj]!);
    const c01 = d[p + dk]! + tx * (d[p + dk + di]! - d[p + dk]!);
    const c11 = d[p + dk + dj]! + tx * (d[p + dk + dj + di]! - d[p + dk + dj]!);
    const c0 = c00 + ty * (c10 - c00);
    const c1 = c01 + ty * (c11 - c01);
    out[f] = c0 + tz * (c1 - c0);
  }
  return out;
}

/**
 * The image box's planes (at the outermost voxel centres, grid mm) that the lattice box [lo, hi] crosses: cuts that
 * end a structure flat where it leaves the image.
 */
export function imagePlanes(volume: Volume, lo: Vec3, hi: Vec3): ClipPlane[] {
  const planes: ClipPlane[] = [];
  for (const axis of [0, 1, 2] as const) {
    const top = (volume.dims[axis] - 1) * volume.spacing[axis];
    if (lo[axis] < 0) planes.push({ axis, at: 0, side: -1 });
    if (hi[axis] > top) planes.push({ axis, at: top, side: 1 });
  }
  return planes;
}

/** The world transform of grid-mm points: origin + direction * p (direction columns are unit axes). */
export function gridToWorld(volume: Volume, positions: Float64Array): Float64Array {
  const d = volume.direction;
  const o = volume.origin;
  for (let v = 0; v < positions.length; v += 3) {
    const x = positions[v]!, y = positions[v + 1]!, z = positions[v + 2]!;
    positions[v] = o[0] + d[0] * x + d[3] * y + d[6] * z;
    positions[v + 1] = o[1] + d[1] * x + d[4] * y + d[7] * z;
    positions[v + 2] = o[2] + d[2] * x + d[5] * y + d[8] * z;
  }
  return positions;
}

/** The inverse of {@link gridToWorld} for one point, written into `out` (xyz at 0..2). */
export function worldToGridMapper(volume: Volume): (x: number, y: number, z: number, out: Float64Array) => Float64Array {
  const d = volume.direction;
  const o = volume.origin;
  const det = d[0] * (d[4] * d[8] - d[7] * d[5]) - d[3] * (d[1] * d[8] - d[7] * d[2]) + d[6] * (d[1] * d[5] - d[4] * d[2]);
  // Inverse of the column-major 3x3 by cofactors (row r of the inverse at inv[3r..3r+2]).
  const inv = [
    (d[4] * d[8] - d[7] * d[5]) / det, (d[6] * d[5] - d[3] * d[8]) / det, (d[3] * d[7] - d[6] * d[4]) / det,
    (d[7] * d[2] - d[1] * d[8]) / det, (d[0] * d[8] - d[6] * d[2]) / det, (d[6] * d[1] - d[0] * d[7]) / det,
    (d[1] * d[5] - d[4] * d[2]) / det, (d[3] * d[2] - d[0] * d[5]) / det, (d[0] * d[4] - d[3] * d[1]) / det,
  ];
  return (x, y, z, out) => {
    const a = x - o[0], b = y - o[1], c = z - o[2];
    out[0] = inv[0]! * a + inv[1]! * b + inv[2]! * c;
    out[1] = inv[3]! * a + inv[4]! * b + inv[5]! * c;
    out[2] = inv[6]! * a + inv[7]! * b + inv[8]! * c;
    return out;
  };
}

/** True when the direction matrix flips handedness (tets must then swap two nodes to stay positive). */
export function flipsHandedness(volume: Volume): boolean {
  const d = volume.direction;
  return d[0] * (d[4] * d[8] - d[7] * d[5]) - d[3] * (d[1] * d[8] - d[7] * d[2]) + d[6] * (d[1] * d[5] - d[4] * d[2]) < 0;
}

/**
 * Moves `p` (grid mm, xyz at 0..2, in place) onto the zero level of f by Newton steps along the finite-difference
 * gradient (step `eps` mm), at most 8 steps, each clamped to `maxStep` mm. With `fixedAxis` (0..2) that coordinate
 * is kept: the point moves within its axis-aligned plane, onto the curve where the surface meets it.
 */
export function projectToZero(f: Implicit, p: Float64Array, eps: number, maxStep: number, fixedAxis = -1): Float64Array {
  for (let it = 0; it < 8; it++) {
    const x = p[0]!, y = p[1]!, z = p[2]!;
    const v = f(x, y, z);
    const gx = fixedAxis === 0 ? 0 : (f(x + eps, y, z) - f(x - eps, y, z)) / (2 * eps);
    const gy = fixedAxis === 1 ? 0 : (f(x, y + eps, z) - f(x, y - eps, z)) / (2 * eps);
    const gz = fixedAxis === 2 ? 0 : (f(x, y, z + eps) - f(x, y, z - eps)) / (2 * eps);
    const g2 = gx * gx + gy * gy + gz * gz;
    if (!(g2 > 0)) return p;
    let s = v / g2;
    const len = Math.abs(s) * Math.sqrt(g2);
    if (len > maxStep) s *= maxStep / len;
    p[0] = x - s * gx; p[1] = y - s * gy; p[2] = z - s * gz;
    if (len < 1e-9) return p;
  }
  return p;
}

/** Moves a straight T10 mid-edge point (world mm) onto the smooth surface, or leaves it (undefined). */
export type EdgeSnap = (p: [number, number, number], a: number, b: number) => [number, number, number] | undefined;

/**
 * The `snap` of `toQuadraticTets` for a stuffed mesh: an edge of a boundary face that is not in an image plane
 * is moved onto the implicit surface of that face's tag (Newton steps in grid mm); an edge on the crease where such
 * a face meets a plane moves within the plane, onto the curve; edges inside plane faces, and edges whose tag has no
 * surface, keep their midpoints.
 */
export function edgeSnapper(volume: Volume, mesh: TetMesh, planeBits: Uint8Array, planes: readonly ClipPlane[], surfaceOf: (tag: number) => Implicit | undefined, h: number): EdgeSnap {
  const n = mesh.positions.length / 3;
  // Built on the first call (a T4 user never pays for it).
  let tagOf: Map<number, number> | undefined;
  const edgeTags = () => {
    const faces = mesh.boundaryFaces ?? new Uint32Array(0);
    const tags = mesh.boundaryLabels ?? new Int32Array(faces.length / 3);
    const map = new Map<number, number>();
    for (let f = 0; f < tags.length; f++) {
      const a = faces[3 * f]!, b = faces[3 * f + 1]!, c = faces[3 * f + 2]!;
      if (planeBits[a]! & planeBits[b]! & planeBits[c]!) continue; // a face in a plane
      map.set(Math.min(a, b) * n + Math.max(a, b), tags[f]!);
      map.set(Math.min(b, c) * n + Math.max(b, c), tags[f]!);
      map.set(Math.min(c, a) * n + Math.max(c, a), tags[f]!);
    }
    return map;
  };
  const toGrid = worldToGridMapper(volume);
  const g = new Float64Array(3);
  return (p, a, b) => {
    tagOf ??= edgeTags();
    const tag = tagOf.get(Math.min(a, b) * n + Math.max(a, b));
    const f = tag === undefined ? undefined : surfaceOf(tag);
    if (!f) return undefined;
    const common = planeBits[a]! & planeBits[b]!;
    const axis = common ? planes[31 - Math.clz32(common & -common)]!.axis : -1;
    toGrid(p[0], p[1], p[2], g);
    projectToZero(f, g, 1e-3 * h, 0.5 * h, axis);
    gridToWorld(volume, g);
    return [g[0]!, g[1]!, g[2]!];
  };
}

/**
 * The boundary faces of a tet mesh with regions: every face between two different regions once (its normal
 * pointing out of the region with the larger id) and every face on the outside (normal outward), with the two
 * regions of each (`outside` = 0 for the outside).
 */
export function regionBoundaryFaces(mesh: Pick<TetMesh, 'tets' | 'nodesPerTet' | 'positions'>, regions: Int32Array): { faces: Uint32Array; inner: Int32Array; outer: Int32Array } {
  const nb = tetFaceNeighbours(mesh.tets, mesh.nodesPerTet);
  const T = mesh.tets;
  const npt = mesh.nodesPerTet;
  let count = 0;
  for (let x = 0; x < nb.length; x++) {
    const y = nb[x]!;
    const r = regions[x >> 2]!;
    if (y < 0 || (regions[y >> 2]! !== r && r > regions[y >> 2]!)) count++;
  }
  const faces = new Uint32Array(3 * count);
  const inner = new Int32Array(count);
  const outer = new Int32Array(count);
  for (let x = 0, c = 0; x < nb.length; x++) {
    const y = nb[x]!;
    const t = x >> 2;
    const r = regions[t]!;
    const other = y < 0 ? 0 : regions[y >> 2]!;
    if (!(y < 0 || (other !== r && r > other))) continue;
    const [a, b, d] = TET_FACES[x & 3]!;
    faces[3 * c] = T[t * npt + a]!; faces[3 * c + 1] = T[t * npt + b]!; faces[3 * c + 2] = T[t * npt + d]!;
    inner[c] = r;
    outer[c++] = other;
  }
  return { faces, inner, outer };
}
