import type { SurfaceMesh } from '@physiotwin/core';

/** A surface's triangles bucketed on a uniform grid (cell lists in one flat array), for nearest-point queries. */
export interface TriangleGrid {
  positions: Float32Array;
  triangles: Uint32Array;
  origin: [number, number, number];
  cell: number;
  dims: [number, number, number];
  /** Triangles of cell c: `items[start[c] .. start[c + 1] - 1]`. */
  start: Int32Array;
  items: Int32Array;
}

/** Buckets every triangle into the grid cells its bounding box touches; cells twice the mean edge length. */
export function triangleGrid(mesh: SurfaceMesh): TriangleGrid {
  const P = mesh.positions, T = mesh.triangles;
  const nt = T.length / 3;
  const lo: [number, number, number] = [Infinity, Infinity, Infinity], hi: [number, number, number] = [-Infinity, -Infinity, -Infinity];
  let edges = 0;
  for (let t = 0; t < nt; t++) {
    for (let c = 0; c < 3; c++) {
      const a = T[3 * t + c]!, b = T[3 * t + ((c + 1) % 3)]!;
      edges += Math.hypot(P[3 * a]! - P[3 * b]!, P[3 * a + 1]! - P[3 * b + 1]!, P[3 * a + 2]! - P[3 * b + 2]!);
      for (let d = 0; d < 3; d++) (lo[d] = Math.min(lo[d]!, P[3 * a + d]!)), (hi[d] = Math.max(hi[d]!, P[3 * a + d]!));
    }
  }
  const cell = Math.max((2 * edges) / Math.max(1, 3 * nt), 1e-6);
  const dims: [number, number, number] = [0, 1, 2].map((d) => Math.max(1, Math.ceil((hi[d]! - lo[d]!) / cell) + 1)) as [number, number, number];
  const range = (t: number, d: number) => {
    let a = Infinity, b = -Infinity;
    for (let c = 0; c < 3; c++) (a = Math.min(a, P[3 * T[3 * t + c]! + d]!)), (b = Math.max(b, P[3 * T[3 * t + c]! + d]!));
    return [Math.floor((a - lo[d]!) / cell), Math.floor((b - lo[d]!) / cell)] as const;
  };
  const count = new Int32Array(dims[0] * dims[1] * dims[2] + 1);
  const visit = (t: number, f: (c: number) => void) => {
    const [x0, x1] = range(t, 0), [y0, y1] = range(t, 1), [z0, z1] = range(t, 2);
    for (let z = z0; z <= z1; z++) for (let y = y0; y <= y1; y++) for (let x = x0; x <= x1; x++) f(x + dims[0] * (y + dims[1] * z));
  };
  for (let t = 0; t < nt; t++) visit(t, (c) => count[c + 1]!++);
  for (let c = 1; c < count.length; c++) count[c] = count[c]! + count[c - 1]!;
  const start = Int32Array.from(count);
  const items = new Int32Array(count[count.length - 1]!);
  for (let t = 0; t < nt; t++) visit(t, (c) => (items[count[c]!++] = t));
  return { positions: P, triangles: T, origin: lo, cell, dims, start, items };
}

/** Squared distance from p to triangle (a, b, c): the closest-point regions of Ericson, Real-Time Collision Detection 5.1.5. */
function triangleDistance2(p: ArrayLike<number>, P: Float32Array, ia: number, ib: number, ic: number): number {
  const a = [P[3 * ia]!, P[3 * ia + 1]!, P[3 * ia + 2]!], b = [P[3 * ib]!, P[3 * ib + 1]!, P[3 * ib + 2]!], c = [P[3 * ic]!, P[3 * ic + 1]!, P[3 * ic + 2]!];
  const sub = (u: number[], v: number[]) => [u[0]! - v[0]!, u[1]! - v[1]!, u[2]! - v[2]!];
  const dot = (u: number[], v: number[]) => u[0]! * v[0]! + u[1]! * v[1]! + u[2]! * v[2]!;
  const pp = [p[0]!, p[1]!, p[2]!];
  const ab = sub(b, a), ac = sub(c, a), ap = sub(pp, a);
  const dist2 = (q: number[]) => (q[0]! - pp[0]!) ** 2 + (q[1]! - pp[1]!) ** 2 + (q[2]! - pp[2]!) ** 2;
  const on = (o: number[], e: number[], t: number) => [o[0]! + t * e[0]!, o[1]! + t * e[1]!, o[2]! + t * e[2]!];
  const d1 = dot(ab, ap), d2 = dot(ac, ap);
  if (d1 <= 0 && d2 <= 0) return dist2(a);
  const bp = sub(pp, b), d3 = dot(ab, bp), d4 = dot(ac, bp);
  if (d3 >= 0 && d4 <= d3) return dist2(b);
  const vc = d1 * d4 - d3 * d2;
  if (vc <= 0 && d1 >= 0 && d3 <= 0) return dist2(on(a, ab, d1 / (d1 - d3)));
  const cp = sub(pp, c), d5 = dot(ab, cp), d6 = dot(ac, cp);
  if (d6 >= 0 && d5 <= d6) return dist2(c);
  const vb = d5 * d2 - d1 * d6;
  if (vb <= 0 && d2 >= 0 && d6 <= 0) return dist2(on(a, ac, d2 / (d2 - d6)));
  const va = d3 * d6 - d5 * d4;
  if (va <= 0 && d4 - d3 >= 0 && d5 - d6 >= 0) return dist2(on(b, sub(c, b), (d4 - d3) / (d4 - d3 + (d5 - d6))));
  const denom = 1 / (va + vb + vc);
  const v = vb * denom, w = vc * denom;
  return dist2([a[0]! + ab[0]! * v + ac[0]! * w, a[1]! + ab[1]! * v + ac[1]! * w, a[2]! + ab[2]! * v + ac[2]! * w]);
}

/**
 * Distance (mm) from world point p to the nearest triangle of the grid's surface, searched within `bound` mm;
 * Infinity when no triangle is that close.
 */
export function surfaceDistance(g: TriangleGrid, p: ArrayLike<number>, bound: number): number {
  const lo = [0, 1, 2].map((d) => Math.max(0, Math.floor((p[d]! - bound - g.origin[d]!) / g.cell)));
  const hi = [0, 1, 2].map((d) => Math.min(g.dims[d]! - 1, Math.floor((p[d]! + bound - g.origin[d]!) / g.cell)));
  let best = bound * bound;
  let found = false;
  const T = g.triangles;
  for (let z = lo[2]!; z <= hi[2]!; z++) for (let y = lo[1]!; y <= hi[1]!; y++) for (let x = lo[0]!; x <= hi[0]!; x++) {
    const c = x + g.dims[0] * (y + g.dims[1] * z);
    for (let k = g.start[c]!; k < g.start[c + 1]!; k++) {
      const t = g.items[k]!;
      const d2 = triangleDistance2(p, g.positions, T[3 * t]!, T[3 * t + 1]!, T[3 * t + 2]!);
      if (d2 <= best) (best = d2), (found = true);
    }
  }
  return found ? Math.sqrt(best) : Infinity;
}
