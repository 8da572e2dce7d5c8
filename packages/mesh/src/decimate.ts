import type { OperationOptions, SurfaceMesh } from '@physiotwin/core';
import { PhysiotwinError, progressReporter, validateSurfaceMesh } from '@physiotwin/core';

/** Options of {@link decimate}. */
export interface DecimateSpec {
  /** Fraction of the triangles to keep, in (0, 1]. */
  ratio: number;
}

/** A binary min-heap of (cost, payload index) pairs in flat arrays. */
class Heap {
  cost: number[] = [];
  item: number[] = [];
  push(c: number, it: number): void {
    const { cost, item } = this;
    let i = cost.length;
    cost.push(c);
    item.push(it);
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (cost[p]! <= c) break;
      cost[i] = cost[p]!;
      item[i] = item[p]!;
      i = p;
    }
    cost[i] = c;
    item[i] = it;
  }
  pop(): number {
    const { cost, item } = this;
    const top = item[0]!;
    const lastC = cost.pop()!;
    const lastI = item.pop()!;
    const n = cost.length;
    if (n > 0) {
      let i = 0;
      for (;;) {
        let c = 2 * i + 1;
        if (c >= n) break;
        if (c + 1 < n && cost[c + 1]! < cost[c]!) c++;
        if (cost[c]! >= lastC) break;
        cost[i] = cost[c]!;
        item[i] = item[c]!;
        i = c;
      }
      cost[i] = lastC;
      item[i] = lastI;
    }
    return top;
  }
  get size(): number {
    return this.cost.length;
  }
}

/**
 * Quadric error decimation (Garland & Heckbert 1997): edges are collapsed in order of the summed plane quadrics
 * of their endpoints, each to the best of its two endpoints and its midpoint, until `ratio` of the triangles
 * remain. A collapse is refused when it would break the surface: the endpoints' common neighbours must be
 * exactly the edge's two opposite vertices (the link condition: the surface stays manifold, closed and of the
 * same genus), no remaining triangle may flip, and boundary vertices of an open surface are kept. So the target
 * may be missed on meshes with nothing left to collapse. Returns a new, compacted mesh.
 * @throws PhysiotwinError `INVALID_ARGUMENT` for a ratio outside (0, 1] or a malformed mesh, `ABORTED`.
 * @example
 * ```ts
 * const coarse = decimate(mesh, { ratio: 0.25 });
 * ```
 */
export function decimate(mesh: SurfaceMesh, spec: DecimateSpec, options: OperationOptions = {}): SurfaceMesh {
  validateSurfaceMesh(mesh);
  const ratio = spec.ratio;
  if (!(ratio > 0 && ratio <= 1)) throw new PhysiotwinError('INVALID_ARGUMENT', `decimate: ratio must be in (0, 1], got ${ratio}`);
  const nv = mesh.positions.length / 3;
  const T = Uint32Array.from(mesh.triangles);
  const nt = T.length / 3;
  const target = Math.max(4, Math.floor(nt * ratio));
  const P = Float64Array.from(mesh.positions);
  const Q = new Float64Array(10 * nv);
  const alive = new Uint8Array(nt).fill(1);
  const vtris: number[][] = Array.from({ length: nv }, () => []);
  for (let t = 0; t < nt; t++) {
    for (let c = 0; c < 3; c++) vtris[T[3 * t + c]!]!.push(t);
    const [a, b, c] = [T[3 * t]!, T[3 * t + 1]!, T[3 * t + 2]!];
    const ux = P[3 * b]! - P[3 * a]!, uy = P[3 * b + 1]! - P[3 * a + 1]!, uz = P[3 * b + 2]! - P[3 * a + 2]!;
    const wx = P[3 * c]! - P[3 * a]!, wy = P[3 * c + 1]! - P[3 * a + 1]!, wz = P[3 * c + 2]! - P[3 * a + 2]!;
    let nx = uy * wz - uz * wy, ny = uz * wx - ux * wz, nz = ux * wy - uy * wx;
    const len = Math.hypot(nx, ny, nz);
    if (len === 0) continue;
    // Area-weighted plane quadric (n n^T, n d, d^2) with unit n.
    const w = len / 2;
    nx /= len;
    ny /= len;
    nz /= len;
    const d = -(nx * P[3 * a]! + ny * P[3 * a + 1]! + nz * P[3 * a + 2]!);
    const q = [nx * nx, nx * ny, nx * nz, nx * d, ny * ny, ny * nz, ny * d, nz * nz, nz * d, d * d];
    for (const v of [a, b, c]) for (let i = 0; i < 10; i++) Q[10 * v + i]! += w * q[i]!;
  }
  // Boundary vertices (an edge with one triangle) are never moved.
  const boundary = new Uint8Array(nv);
  {
    const count = new Map<number, number>();
    for (let t = 0; t < nt; t++) {
      for (let c = 0; c < 3; c++) {
        const a = T[3 * t + c]!;
        const b = T[3 * t + ((c + 1) % 3)]!;
        const key = Math.min(a, b) * nv + Math.max(a, b);
        count.set(key, (count.get(key) ?? 0) + 1);
      }
    }
    for (const [key, n] of count) {
      if (n !== 1) continue;
      boundary[Math.floor(key / nv)] = 1;
      boundary[key % nv] = 1;
    }
  }
  const version = new Uint32Array(nv);
  const sumQ = new Float64Array(10);
  /** Best target for collapsing (a, b): [cost, x, y, z]. */
  const best = (a: number, b: number, out: Float64Array): void => {
    for (let i = 0; i < 10; i++) sumQ[i] = Q[10 * a + i]! + Q[10 * b + i]!;
    const q = sumQ;
    const cost = (x: number, y: number, z: number) =>
      q[0]! * x * x + 2 * q[1]! * x * y + 2 * q[2]! * x * z + 2 * q[3]! * x + q[4]! * y * y + 2 * q[5]! * y * z + 2 * q[6]! * y + q[7]! * z * z + 2 * q[8]! * z + q[9]!;
    out[0] = Infinity;
    const cands = [
      [P[3 * a]!, P[3 * a + 1]!, P[3 * a + 2]!],
      [P[3 * b]!, P[3 * b + 1]!, P[3 * b + 2]!],
      [(P[3 * a]! + P[3 * b]!) / 2, (P[3 * a + 1]! + P[3 * b + 1]!) / 2, (P[3 * a + 2]! + P[3 * b + 2]!) / 2],
    ];
    for (const [x, y, z] of cands) {
      const c = cost(x!, y!, z!);
      if (c < out[0]!) {
        out[0] = c;
        out[1] = x!;
        out[2] = y!;
        out[3] = z!;
      }
    }
  };
  // Heap entries: edge endpoints and the versions they were computed at.
  const ea: number[] = [];
  const eb: number[] = [];
  const eva: number[] = [];
  const evb: number[] = [];
  const heap = new Heap();
  const scratch = new Float64Array(4);
  const pushEdge = (a: number, b: number) => {
    if (boundary[a] || boundary[b]) return;
    best(a, b, scratch);
    ea.push(a);
    eb.push(b);
    eva.push(version[a]!);
    evb.push(version[b]!);
    heap.push(scratch[0]!, ea.length - 1);
  };
  for (let t = 0; t < nt; t++) {
    for (let c = 0; c < 3; c++) {
      const a = T[3 * t + c]!;
      const b = T[3 * t + ((c + 1) % 3)]!;
      if (a < b) pushEdge(a, b);
    }
  }
  const neighbours = (v: number, out: Set<number>) => {
    out.clear();
    for (const t of vtris[v]!) {
      if (!alive[t]) continue;
      for (let c = 0; c < 3; c++) if (T[3 * t + c] !== v) out.add(T[3 * t + c]!);
    }
    return out;
  };
  const na = new Set<number>();
  const nb = new Set<number>();
  let triangles = nt;
  const tick = progressReporter(options, 'decimation', nt - target);
  while (triangles > target && heap.size > 0) {
    const e = heap.pop();
    const a = ea[e]!;
    const b = eb[e]!;
    if (version[a] !== eva[e] || version[b] !== evb[e]) continue;
    neighbours(a, na);
    if (!na.has(b)) continue;
    neighbours(b, nb);
    // Link condition: exactly the two opposite vertices are common neighbours.
    let common = 0;
    for (const x of na) if (nb.has(x)) common++;
    if (common !== 2 || na.size + nb.size - 4 < 3) continue;
    best(a, b, scratch);
    const [, x, y, z] = scratch;
    // No remaining triangle of a or b may flip (normal turning by more than 90 degrees).
    let flips = false;
    for (const v of [a, b]) {
      for (const t of vtris[v]!) {
        if (!alive[t]) continue;
        const i0 = T[3 * t]!, i1 = T[3 * t + 1]!, i2 = T[3 * t + 2]!;
        if ((i0 === a || i1 === a || i2 === a) && (i0 === b || i1 === b || i2 === b)) continue;
        const pt = (i: number, d: number) => (i === a || i === b ? scratch[1 + d]! : P[3 * i + d]!);
        const before = normal(n0, P[3 * i0]!, P[3 * i0 + 1]!, P[3 * i0 + 2]!, P[3 * i1]!, P[3 * i1 + 1]!, P[3 * i1 + 2]!, P[3 * i2]!, P[3 * i2 + 1]!, P[3 * i2 + 2]!);
        const after = normal(n1, pt(i0, 0), pt(i0, 1), pt(i0, 2), pt(i1, 0), pt(i1, 1), pt(i1, 2), pt(i2, 0), pt(i2, 1), pt(i2, 2));
        if (before[0]! * after[0]! + before[1]! * after[1]! + before[2]! * after[2]! <= 0) flips = true;
      }
    }
    if (flips) continue;
    // Collapse b into a.
    for (const t of vtris[b]!) {
      if (!alive[t]) continue;
      let hasA = false;
      for (let c = 0; c < 3; c++) if (T[3 * t + c] === a) hasA = true;
      if (hasA) {
        alive[t] = 0;
        triangles--;
        continue;
      }
      for (let c = 0; c < 3; c++) if (T[3 * t + c] === b) T[3 * t + c] = a;
      vtris[a]!.push(t);
    }
    vtris[b] = [];
    vtris[a] = vtris[a]!.filter((t) => alive[t] === 1);
    P[3 * a] = x!;
    P[3 * a + 1] = y!;
    P[3 * a + 2] = z!;
    for (let i = 0; i < 10; i++) Q[10 * a + i]! += Q[10 * b + i]!;
    version[a]!++;
    version[b]!++;
    for (const n of neighbours(a, na)) pushEdge(Math.min(a, n), Math.max(a, n));
    tick(nt - triangles);
  }
  // Compact.
  const remap = new Int32Array(nv).fill(-1);
  const outT: number[] = [];
  const outP: number[] = [];
  for (let t = 0; t < nt; t++) {
    if (!alive[t]) continue;
    for (let c = 0; c < 3; c++) {
      const v = T[3 * t + c]!;
      if (remap[v] === -1) {
        remap[v] = outP.length / 3;
        outP.push(P[3 * v]!, P[3 * v + 1]!, P[3 * v + 2]!);
      }
      outT.push(remap[v]!);
    }
  }
  return { positions: Float32Array.from(outP), triangles: Uint32Array.from(outT) };
}

const n0 = new Float64Array(3);
const n1 = new Float64Array(3);
/** Unnormalised normal of triangle (a, b, c), written into `out`. */
function normal(out: Float64Array, ax: number, ay: number, az: number, bx: number, by: number, bz: number, cx: number, cy: number, cz: number): Float64Array {
  const ux = bx - ax, uy = by - ay, uz = bz - az;
  const wx = cx - ax, wy = cy - ay, wz = cz - az;
  out[0] = uy * wz - uz * wy;
  out[1] = uz * wx - ux * wz;
  out[2] = ux * wy - uy * wx;
  return out;
}
