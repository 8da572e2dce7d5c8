import type { LumenGrid } from './centerline-paths.js';

/**
 * The lumen indicator at grid-mm point (x, y, z): trilinear interpolation of the 0/1 mask, clamped to the edge
 * (a vessel cut by the image border continues straight past it). Its 0.5 level passes half way between a lumen
 * voxel centre and a background one, as marching cubes' surface of a labelmap does.
 */
export function lumenAt(g: LumenGrid, x: number, y: number, z: number): number {
  const [nx, ny, nz] = g.dims;
  const fx = Math.min(Math.max(x / g.spacing[0], 0), nx - 1);
  const fy = Math.min(Math.max(y / g.spacing[1], 0), ny - 1);
  const fz = Math.min(Math.max(z / g.spacing[2], 0), nz - 1);
  const i = Math.min(Math.floor(fx), Math.max(nx - 2, 0)), j = Math.min(Math.floor(fy), Math.max(ny - 2, 0)), k = Math.min(Math.floor(fz), Math.max(nz - 2, 0));
  const tx = fx - i, ty = fy - j, tz = fz - k;
  const i1 = Math.min(i + 1, nx - 1), j1 = Math.min(j + 1, ny - 1), k1 = Math.min(k + 1, nz - 1);
  const m = g.inside;
  const at = (a: number, b: number, c: number) => m[a + nx * (b + ny * c)]!;
  const c00 = at(i, j, k) * (1 - tx) + at(i1, j, k) * tx;
  const c10 = at(i, j1, k) * (1 - tx) + at(i1, j1, k) * tx;
  const c01 = at(i, j, k1) * (1 - tx) + at(i1, j, k1) * tx;
  const c11 = at(i, j1, k1) * (1 - tx) + at(i1, j1, k1) * tx;
  return (c00 * (1 - ty) + c10 * ty) * (1 - tz) + (c01 * (1 - ty) + c11 * ty) * tz;
}

/** True when grid-mm point x lies within the image's voxels (up to half a voxel beyond the outer centres). */
function inImage(g: Pick<LumenGrid, 'dims' | 'spacing'>, x: ArrayLike<number>): boolean {
  for (let d = 0; d < 3; d++) {
    const f = x[d]! / g.spacing[d]!;
    if (f < -0.5 || f > g.dims[d]! - 0.5) return false;
  }
  return true;
}

/** The lumen's cut by a plane, as {@link crossSection} finds it. */
export interface Section {
  /** False when the point is not in the lumen (no sample within two sample steps of it is). */
  found: boolean;
  /**
   * False when the cut region reaches the sampling disk's rim (the plane runs into a bifurcation or along the
   * vessel) or the image border (the vessel is cut there: the part beyond is unknown).
   */
  closed: boolean;
  /** True when the cut region reaches the image border. */
  clipped: boolean;
  /** Area of the cut region, mm^2. */
  area: number;
  /** Its centroid, grid mm. */
  centroid: [number, number, number];
}

/**
 * The lumen's cross-section through grid-mm point `p` normal to unit `t`: the region of the plane where
 * {@link lumenAt} >= 0.5 connected to `p`, sampled on a square grid of `step` mm within a disk of `rimMm`.
 */
export function crossSection(g: LumenGrid, p: ArrayLike<number>, t: ArrayLike<number>, rimMm: number, step: number): Section {
  // u, v: an orthonormal basis of the plane.
  const [tx, ty, tz] = [t[0]!, t[1]!, t[2]!];
  const helper = Math.abs(tx) < 0.9 ? [1, 0, 0] : [0, 1, 0];
  let ux = ty * helper[2]! - tz * helper[1]!, uy = tz * helper[0]! - tx * helper[2]!, uz = tx * helper[1]! - ty * helper[0]!;
  const ul = Math.hypot(ux, uy, uz);
  ux /= ul;
  uy /= ul;
  uz /= ul;
  const vx = ty * uz - tz * uy, vy = tz * ux - tx * uz, vz = tx * uy - ty * ux;
  const n = Math.ceil(rimMm / step);
  const side = 2 * n + 1;
  // 0 unvisited, 1 in the region, 2 visited and outside
  const state = new Uint8Array(side * side);
  let clipped = false;
  const x: [number, number, number] = [0, 0, 0];
  const inside = (a: number, b: number) => {
    x[0] = p[0]! + step * (a * ux + b * vx);
    x[1] = p[1]! + step * (a * uy + b * vy);
    x[2] = p[2]! + step * (a * uz + b * vz);
    if (!inImage(g, x)) {
      clipped = true;
      return false;
    }
    return lumenAt(g, x[0], x[1], x[2]) >= 0.5;
  };
  let start = -1;
  for (let r = 0; r <= 2 && start < 0; r++) {
    for (let b = -r; b <= r && start < 0; b++) for (let a = -r; a <= r && start < 0; a++) if (inside(a, b)) start = a + n + side * (b + n);
  }
  const none: Section = { found: false, closed: false, clipped: false, area: 0, centroid: [p[0]!, p[1]!, p[2]!] };
  if (start < 0) return none;
  const queue = new Int32Array(side * side);
  let head = 0, tail = 0;
  queue[tail++] = start;
  state[start] = 1;
  let closed = true;
  let sa = 0, sb = 0;
  const n2 = n * n;
  while (head < tail) {
    const s = queue[head++]!;
    const a = (s % side) - n, b = Math.floor(s / side) - n;
    sa += a;
    sb += b;
    for (let e = 0; e < 4; e++) {
      const a2 = a + (e === 0 ? 1 : e === 1 ? -1 : 0), b2 = b + (e === 2 ? 1 : e === 3 ? -1 : 0);
      if (a2 * a2 + b2 * b2 > n2) {
        closed = false;
        continue;
      }
      const s2 = a2 + n + side * (b2 + n);
      if (state[s2]) continue;
      if (inside(a2, b2)) {
        state[s2] = 1;
        queue[tail++] = s2;
      } else state[s2] = 2;
    }
  }
  const ma = (sa / tail) * step, mb = (sb / tail) * step;
  return {
    found: true,
    closed: closed && !clipped,
    clipped,
    area: tail * step * step,
    centroid: [p[0]! + ma * ux + mb * vx, p[1]! + ma * uy + mb * vy, p[2]! + ma * uz + mb * vz],
  };
}

/**
 * The radius (mm) of the largest sphere centred at grid-mm point `p` that holds no background voxel centre: the
 * distance to the nearest one, found exactly by scanning the box the distance map bounds it by. A digitised tube
 * of radius R has background centres just beyond R all around, so on its axis this is R plus a small fraction
 * of a voxel (the nearest of many centres).
 */
export function inscribedRadius(g: LumenGrid, p: ArrayLike<number>): number {
  const [nx, ny, nz] = g.dims;
  const [sx, sy, sz] = g.spacing;
  const i0 = Math.min(Math.max(Math.round(p[0]! / sx), 0), nx - 1);
  const j0 = Math.min(Math.max(Math.round(p[1]! / sy), 0), ny - 1);
  const k0 = Math.min(Math.max(Math.round(p[2]! / sz), 0), nz - 1);
  // |p - nearest background| <= |p - c| + dt(c) for the voxel centre c nearest p.
  const bound = Math.hypot(p[0]! - i0 * sx, p[1]! - j0 * sy, p[2]! - k0 * sz) + g.dt[i0 + nx * (j0 + ny * k0)]!;
  let best2 = bound * bound;
  const ri = Math.ceil(bound / sx), rj = Math.ceil(bound / sy), rk = Math.ceil(bound / sz);
  for (let k = Math.max(0, k0 - rk); k <= Math.min(nz - 1, k0 + rk); k++) {
    const dz2 = (k * sz - p[2]!) ** 2;
    if (dz2 > best2) continue;
    for (let j = Math.max(0, j0 - rj); j <= Math.min(ny - 1, j0 + rj); j++) {
      const dyz2 = dz2 + (j * sy - p[1]!) ** 2;
      if (dyz2 > best2) continue;
      const row = nx * (j + ny * k);
      for (let i = Math.max(0, i0 - ri); i <= Math.min(nx - 1, i0 + ri); i++) {
        if (g.inside[row + i]) continue;
        const d2 = dyz2 + (i * sx - p[0]!) ** 2;
        if (d2 < best2) best2 = d2;
      }
    }
  }
  return Math.sqrt(best2);
}

/** Points (xyz, flat) every `step` mm along the polyline `xyz`, both ends kept (the last interval may be shorter than step by up to half). */
export function resample(xyz: Float64Array, step: number): Float64Array {
  const n = xyz.length / 3;
  const cum = new Float64Array(n);
  for (let i = 1; i < n; i++) cum[i] = cum[i - 1]! + Math.hypot(xyz[3 * i]! - xyz[3 * i - 3]!, xyz[3 * i + 1]! - xyz[3 * i - 2]!, xyz[3 * i + 2]! - xyz[3 * i - 1]!);
  const total = cum[n - 1]!;
  const count = Math.max(1, Math.round(total / step));
  const out = new Float64Array(3 * (count + 1));
  let seg = 0;
  for (let m = 0; m <= count; m++) {
    const s = (total * m) / count;
    while (seg < n - 2 && cum[seg + 1]! < s) seg++;
    const len = cum[seg + 1]! - cum[seg]!;
    const f = len > 0 ? Math.min(Math.max((s - cum[seg]!) / len, 0), 1) : 0;
    for (let d = 0; d < 3; d++) out[3 * m + d] = xyz[3 * seg + d]! + f * (xyz[3 * seg + 3 + d]! - xyz[3 * seg + d]!);
  }
  return out;
}

/** Moving average over +-`half` points (the window shrinks near the ends); the end points stay where they are. */
export function smoothPolyline(xyz: Float64Array, half: number): Float64Array {
  const n = xyz.length / 3;
  const out = Float64Array.from(xyz);
  for (let i = 1; i < n - 1; i++) {
    const h = Math.min(half, i, n - 1 - i);
    for (let d = 0; d < 3; d++) {
      let s = 0;
      for (let o = -h; o <= h; o++) s += xyz[3 * (i + o) + d]!;
      out[3 * i + d] = s / (2 * h + 1);
    }
  }
  return out;
}

/** Unit tangent at point i: the chord from point i - half to i + half (clamped to the ends). */
export function tangentAt(xyz: Float64Array, i: number, half: number): [number, number, number] {
  const n = xyz.length / 3;
  const a = Math.max(0, i - half), b = Math.min(n - 1, i + half);
  const t: [number, number, number] = [xyz[3 * b]! - xyz[3 * a]!, xyz[3 * b + 1]! - xyz[3 * a + 1]!, xyz[3 * b + 2]! - xyz[3 * a + 2]!];
  const l = Math.hypot(...t) || 1;
  return [t[0] / l, t[1] / l, t[2] / l];
}
