import type { OperationOptions, Vec3 } from '@physiotwin/core';
import { PhysiotwinError, progressReporter, throwIfAborted } from '@physiotwin/core';
import { Growable } from './growable.js';

/**
 * An implicit function of a point in grid millimetres (voxel index times spacing, before the volume's direction
 * and origin are applied): negative inside, zero on the surface, positive outside.
 */
export type Implicit = (x: number, y: number, z: number) => number;

/**
 * Warp thresholds of isosurface stuffing (Labelle and Shewchuk 2007, table 1, the values proven for the BCC
 * lattice): a lattice node whose edge is cut within this fraction of the edge's length from it moves onto the cut
 * point. Long edges are the axis-parallel ones (length h), short ones join a cube corner to a cube centre.
 */
export const STUFFING_ALPHA_LONG = 0.24999;
/** See {@link STUFFING_ALPHA_LONG}. */
export const STUFFING_ALPHA_SHORT = 0.41189;

/** What {@link stuffLattice} needs: the lattice box and spacing, and one implicit function per stage. */
export interface StuffingInput {
  /** Lattice box corners in grid mm; the lattice covers it with cells of edge about `h`. */
  lo: Vec3;
  hi: Vec3;
  /**
   * Lattice spacing (cell edge), mm. Along an axis with two planes the edge is stretched or shrunk so that a whole
   * number of cells spans them (at most by half a cell over their distance).
   */
  h: number;
  /**
   * Negative wherever some stage's region may be (the union of the stages' insides): lattice tets with no
   * vertex below zero are not built.
   */
  union: Implicit;
  /**
   * Stage k separates the region still unassigned into region `regions[k]` (negative) and the rest. Region
   * boundaries of earlier stages are kept: their nodes never move.
   */
  stages: readonly Implicit[];
  regions: readonly number[];
  /**
   * Axis-aligned planes (at most two per axis) that cut the lattice before the stages (the image box, so that a
   * structure leaving the image ends flat with sharp edges). The lattice is aligned so that each plane runs through
   * lattice nodes and crosses only centre-to-centre edges, at their midpoints: the cut needs no warping. Nodes on a
   * plane stay on it (the stages move them only along edges that lie in it).
   */
  planes?: readonly ClipPlane[] | undefined;
}

/** An axis-aligned plane x[axis] = at; the side where side * (x[axis] - at) > 0 is cut away. */
export interface ClipPlane {
  axis: 0 | 1 | 2;
  at: number;
  side: -1 | 1;
}

/** Output of {@link stuffLattice}: tets of the assigned regions only, nodes compacted, all tets positive. */
export interface StuffingOutput {
  /** xyz per node, grid mm. */
  positions: Float64Array;
  tets: Uint32Array;
  regions: Int32Array;
  /** Cut tets whose pieces did not add up to the tet (an inverted piece) or warped tets that turned over. */
  inverted: number;
  /** Per node: bit p set when the node lies on `planes[p]`. */
  planeBits: Uint8Array;
}

const EDGES: readonly (readonly [number, number])[] = [[0, 1], [0, 2], [0, 3], [1, 2], [1, 3], [2, 3]];

/** Signed volume * 6 of the tet (a, b, c, d) with node positions P (xyz per node). */
function det6(P: Float64Array, a: number, b: number, c: number, d: number): number {
  const ax = P[3 * b]! - P[3 * a]!, ay = P[3 * b + 1]! - P[3 * a + 1]!, az = P[3 * b + 2]! - P[3 * a + 2]!;
  const bx = P[3 * c]! - P[3 * a]!, by = P[3 * c + 1]! - P[3 * a + 1]!, bz = P[3 * c + 2]! - P[3 * a + 2]!;
  const cx = P[3 * d]! - P[3 * a]!, cy = P[3 * d + 1]! - P[3 * a + 1]!, cz = P[3 * d + 2]! - P[3 * a + 2]!;
  return ax * (by * cz - bz * cy) + ay * (bz * cx - bx * cz) + az * (bx * cy - by * cx);
}

/**
 * 6 sqrt 2 V / L^3 with L the root mean square edge length: 1 for the regular tet, 0.71 for the BCC lattice's,
 * 0 for a flat one, negative for an inverted one.
 */
function shape(P: Float64Array, a: number, b: number, c: number, d: number): number {
  let l2 = 0;
  const n = [a, b, c, d];
  for (let i = 0; i < 3; i++) {
    for (let j = i + 1; j < 4; j++) {
      const p = 3 * n[i]!, q = 3 * n[j]!;
      l2 += (P[p]! - P[q]!) ** 2 + (P[p + 1]! - P[q + 1]!) ** 2 + (P[p + 2]! - P[q + 2]!) ** 2;
    }
  }
  return (Math.SQRT2 * det6(P, a, b, c, d)) / (l2 / 6) ** 1.5;
}

/** Warps that leave a tet below this {@link shape} are taken back (see cutStage). */
const WARP_MIN_SHAPE = 0.1;

/**
 * The zero of f on the edge from node u to node v (positions P), as the fraction t in [0, 1] from u, given
 * f(u) = fu and f(v) = fv of opposite signs: Illinois regula falsi to 1e-9 of the edge (at most 60 evaluations),
 * so cut points lie on the implicit surface, not on its chord.
 */
export function edgeRoot(f: Implicit, P: Float64Array, u: number, v: number, fu: number, fv: number): number {
  const px = P[3 * u]!, py = P[3 * u + 1]!, pz = P[3 * u + 2]!;
  const dx = P[3 * v]! - px, dy = P[3 * v + 1]! - py, dz = P[3 * v + 2]! - pz;
  let a = 0, b = 1, fa = fu, fb = fv, side = 0;
  let t = fa / (fa - fb);
  for (let it = 0; it < 60 && b - a > 1e-9; it++) {
    t = (a * fb - b * fa) / (fb - fa);
    const ft = f(px + t * dx, py + t * dy, pz + t * dz);
    if (ft === 0) return t;
    if ((ft < 0) === (fa < 0)) {
      a = t;
      fa = ft;
      if (side === -1) fb /= 2;
      side = -1;
    } else {
      b = t;
      fb = ft;
      if (side === 1) fa /= 2;
      side = 1;
    }
  }
  return t;
}

/**
 * Isosurface stuffing (Labelle and Shewchuk 2007) of a body-centred cubic lattice by a sequence of implicit
 * functions, one region per stage, after the planes have cut the lattice. Each stage: nodes of still-unassigned
 * tets whose cut point lies closer than
 * alpha times the edge length move onto it (warping), the remaining sign-changing edges get a cut point found by
 * root finding on the implicit function (so every boundary node lies on the smooth surface), and every tet is split
 * along the cut into tets, pyramids and prisms, each quadrilateral split by the diagonal through its node of
 * smallest index (Dompierre et al. 1999: the same choice on both sides of a face, so the mesh stays conforming,
 * and every prism splits into three tets). Nodes on earlier stages' boundaries never move, so regions share their
 * interface nodes exactly. A warp that would leave a tet flatter than shape 0.1 is taken back. Arrays only: no
 * per-element objects. The caller checks `inverted` (0 unless a cut went wrong).
 * @throws PhysiotwinError `INVALID_ARGUMENT` (bad box, spacing or planes), `GEOMETRY_INVALID` (an implicit function
 * that is not finite), `LIMIT_EXCEEDED` (more than 2^31 lattice nodes), `ABORTED`.
 * @example
 * ```ts
 * const ball: Implicit = (x, y, z) => Math.hypot(x, y, z) - 10;
 * const { positions, tets } = stuffLattice({ lo: [-11, -11, -11], hi: [11, 11, 11], h: 1, union: ball, stages: [ball], regions: [1] });
 * ```
 */
export function stuffLattice(input: StuffingInput, options: OperationOptions = {}): StuffingOutput {
  const { lo, hi, h } = input;
  if (!(h > 0) || !lo.every((x, a) => Number.isFinite(x) && hi[a]! > x)) {
    throw new PhysiotwinError('INVALID_ARGUMENT', `stuffing: bad lattice box ${JSON.stringify([lo, hi])} or spacing ${h}`);
  }
  const planes = input.planes ?? [];
  // Per-axis spacing and origin so that the planes run through lattice nodes.
  const hs: Vec3 = [h, h, h];
  const origin: Vec3 = [lo[0], lo[1], lo[2]];
  for (let a = 0; a < 3; a++) {
    const ats = planes.filter((p) => p.axis === a).map((p) => p.at).sort((x, y) => x - y);
    if (ats.length > 2 || !ats.every(Number.isFinite)) throw new PhysiotwinError('INVALID_ARGUMENT', `stuffing: at most two finite planes per axis, got ${ats.length} on axis ${a}`);
    if (ats.length === 2) {
      const span = ats[1]! - ats[0]!;
      if (!(span > 0)) throw new PhysiotwinError('INVALID_ARGUMENT', `stuffing: the two planes on axis ${a} coincide`);
      hs[a] = span / Math.max(1, Math.round(span / h));
    }
    if (ats.length) origin[a] = ats[0]! - Math.ceil((ats[0]! - lo[a]!) / hs[a]!) * hs[a]!;
  }
  const hx = hs[0], hy = hs[1], hz = hs[2];
  const ox = origin[0], oy = origin[1], oz = origin[2];
  const cx = Math.max(1, Math.ceil((hi[0] - ox) / hx));
  const cy = Math.max(1, Math.ceil((hi[1] - oy) / hy));
  const cz = Math.max(1, Math.ceil((hi[2] - oz) / hz));
  const corners = (cx + 1) * (cy + 1) * (cz + 1);
  const centres = cx * cy * cz;
  if (corners + centres > 2 ** 31 - 1) throw new PhysiotwinError('LIMIT_EXCEEDED', `stuffing: ${corners + centres} lattice nodes at h = ${h} mm`);
  const X = (id: number, out: Float64Array, o: number) => {
    if (id < corners) {
      const a = id % (cx + 1), r = (id - a) / (cx + 1), b = r % (cy + 1), c = (r - b) / (cy + 1);
      out[o] = ox + a * hx; out[o + 1] = oy + b * hy; out[o + 2] = oz + c * hz;
    } else {
      const i = id - corners, a = i % cx, r = (i - a) / cx, b = r % cy, c = (r - b) / cy;
      out[o] = ox + (a + 0.5) * hx; out[o + 1] = oy + (b + 0.5) * hy; out[o + 2] = oz + (c + 0.5) * hz;
    }
  };
  // The union function at every lattice node, slice by slice so cancellation is checked.
  const inside = new Uint8Array(corners + centres);
  const tmp = new Float64Array(3);
  const tickLattice = progressReporter(options, 'tetmesh: lattice', cz + 1);
  for (let c = 0; c <= cz; c++) {
    tickLattice(c);
    for (let b = 0; b <= cy; b++) {
      for (let a = 0; a <= cx; a++) {
        const id = a + (cx + 1) * (b + (cy + 1) * c);
        X(id, tmp, 0);
        inside[id] = input.union(tmp[0]!, tmp[1]!, tmp[2]!) < 0 ? 1 : 0;
        if (a < cx && b < cy && c < cz) {
          const m = corners + a + cx * (b + cy * c);
          X(m, tmp, 0);
          inside[m] = input.union(tmp[0]!, tmp[1]!, tmp[2]!) < 0 ? 1 : 0;
        }
      }
    }
  }
  // BCC tets: for every square face shared by two cubes, (centre1, centre2, q_i, q_i+1) around the square.
  const nodeOf = new Int32Array(corners + centres).fill(-1);
  const P = new Growable(new Float64Array(3 * 1024), (n) => new Float64Array(n));
  let nodes = 0;
  const node = (id: number) => {
    let v = nodeOf[id]!;
    if (v < 0) {
      v = nodeOf[id] = nodes++;
      P.reserve(3);
      P.length += 3;
      X(id, P.array, 3 * v);
    }
    return v;
  };
  let T: Growable<Uint32Array> = new Growable<Uint32Array>(new Uint32Array(4 * 1024), (n) => new Uint32Array(n));
  const corner = (a: number, b: number, c: number) => a + (cx + 1) * (b + (cy + 1) * c);
  const centre = (a: number, b: number, c: number) => corners + a + cx * (b + cy * c);
  const q = new Int32Array(4);
  const square = (c1: number, c2: number) => {
    if (!(inside[c1] || inside[c2] || inside[q[0]!] || inside[q[1]!] || inside[q[2]!] || inside[q[3]!])) return;
    for (let i = 0; i < 4; i++) {
      const e0 = q[i]!, e1 = q[(i + 1) & 3]!;
      if (!(inside[c1] || inside[c2] || inside[e0] || inside[e1])) continue;
      const n0 = node(c1), n1 = node(c2), n2 = node(e0), n3 = node(e1);
      const t = T.reserve(4);
      const o = T.length;
      T.length += 4;
      const positive = det6(P.array, n0, n1, n2, n3) > 0;
      t[o] = n0; t[o + 1] = n1; t[o + 2] = positive ? n2 : n3; t[o + 3] = positive ? n3 : n2;
    }
  };
  for (let c = 0; c < cz; c++) {
    throwIfAborted(options.signal, 'tetmesh: lattice');
    for (let b = 0; b < cy; b++) {
      for (let a = 0; a < cx; a++) {
        const here = centre(a, b, c);
        if (a + 1 < cx) {
          q[0] = corner(a + 1, b, c); q[1] = corner(a + 1, b + 1, c); q[2] = corner(a + 1, b + 1, c + 1); q[3] = corner(a + 1, b, c + 1);
          square(here, centre(a + 1, b, c));
        }
        if (b + 1 < cy) {
          q[0] = corner(a, b + 1, c); q[1] = corner(a + 1, b + 1, c); q[2] = corner(a + 1, b + 1, c + 1); q[3] = corner(a, b + 1, c + 1);
          square(here, centre(a, b + 1, c));
        }
        if (c + 1 < cz) {
          q[0] = corner(a, b, c + 1); q[1] = corner(a + 1, b, c + 1); q[2] = corner(a + 1, b + 1, c + 1); q[3] = corner(a, b + 1, c + 1);
          square(here, centre(a, b, c + 1));
        }
      }
    }
  }
  let R: Growable<Int32Array> = new Growable<Int32Array>(new Int32Array(T.length / 4).fill(-1), (n) => new Int32Array(n));
  R.length = T.length / 4;
  let inverted = 0;
  // Plane bits per node (bit p: on planes[p]); the planes cut first, then the stages.
  let pinned: Uint8Array = new Uint8Array(nodes);
  const longEdge = 0.933 * Math.cbrt(hx * hy * hz); // between the short (0.866 h) and long (h) lattice edges
  const steps = planes.length + input.stages.length;
  for (let k = 0; k < steps; k++) {
    const plane = k < planes.length ? planes[k]! : undefined;
    const stage: CutStage = plane
      ? { f: planeFunction(plane), plane: { ...plane, bit: 1 << k }, region: -1 }
      : { f: input.stages[k - planes.length]!, region: input.regions[k - planes.length]! };
    const out = cutStage(stage, longEdge, P, nodes, T, R, pinned, options, `tetmesh: ${plane ? `plane ${k + 1} of ${planes.length}` : `stage ${k - planes.length + 1} of ${input.stages.length}`}`);
    nodes = out.nodes;
    T = out.T;
    R = out.R;
    pinned = out.pinned;
    inverted += out.inverted;
    if (plane) [T, R] = withoutDropped(T, R);
  }
  // Keep the assigned tets, compact the nodes they use.
  const tv = T.view(), rv = R.view();
  const nt = rv.length;
  let kept = 0;
  for (let t = 0; t < nt; t++) if (rv[t]! >= 0) kept++;
  const tets = new Uint32Array(4 * kept);
  const regions = new Int32Array(kept);
  const map = new Int32Array(nodes).fill(-1);
  let used = 0;
  for (let t = 0, o = 0; t < nt; t++) {
    if (rv[t]! < 0) continue;
    for (let i = 0; i < 4; i++) {
      const v = tv[4 * t + i]!;
      if (map[v]! < 0) map[v] = used++;
      tets[4 * o + i] = map[v]!;
    }
    regions[o++] = rv[t]!;
  }
  const positions = new Float64Array(3 * used);
  const planeBits = new Uint8Array(used);
  const pv = P.array;
  for (let v = 0; v < nodes; v++) {
    const m = map[v]!;
    if (m < 0) continue;
    positions[3 * m] = pv[3 * v]!; positions[3 * m + 1] = pv[3 * v + 1]!; positions[3 * m + 2] = pv[3 * v + 2]!;
    planeBits[m] = pinned[v]!;
  }
  return { positions, tets, regions, inverted, planeBits };
}

/** Region value of the tets a plane cut away. */
const DROPPED = -2;

/** The tets not cut away by a plane. */
function withoutDropped(T: Growable<Uint32Array>, R: Growable<Int32Array>): [Growable<Uint32Array>, Growable<Int32Array>] {
  const tv = T.view(), rv = R.view();
  let kept = 0;
  for (let t = 0; t < rv.length; t++) {
    if (rv[t] === DROPPED) continue;
    tv.copyWithin(4 * kept, 4 * t, 4 * t + 4);
    rv[kept++] = rv[t]!;
  }
  T.length = 4 * kept;
  R.length = kept;
  return [T, R];
}

/** side * (x[axis] - at): negative on the side kept. */
function planeFunction({ axis, at, side }: ClipPlane): Implicit {
  return axis === 0 ? (x) => side * (x - at) : axis === 1 ? (_x, y) => side * (y - at) : (_x, _y, z) => side * (z - at);
}

/** A stage: assign the negative side of unassigned tets to `region`, or (with `plane`) cut away the positive side. */
interface CutStage {
  f: Implicit;
  region: number;
  plane?: ClipPlane & { bit: number };
}

/**
 * One stuffing stage over the current mesh (see {@link stuffLattice}): without `plane`, the negative side of the
 * unassigned tets goes to `region`; with one, every tet keeps its negative side and the positive side is dropped.
 */
function cutStage(
  { f, region, plane }: CutStage,
  longEdge: number,
  P: Growable<Float64Array>,
  nodeCount: number,
  T: Growable<Uint32Array>,
  R: Growable<Int32Array>,
  pinned: Uint8Array,
  options: OperationOptions,
  stage: string,
): { nodes: number; T: Growable<Uint32Array>; R: Growable<Int32Array>; pinned: Uint8Array; inverted: number } {
  const tv = T.view();
  const rv = R.view();
  const nt = rv.length;
  // Node flags: 1 = in an unassigned tet, 2 = in an assigned tet.
  const flag = new Uint8Array(nodeCount);
  for (let t = 0; t < nt; t++) {
    const bit = rv[t]! < 0 ? 1 : 2;
    for (let i = 0; i < 4; i++) flag[tv[4 * t + i]!]! |= bit;
  }
  const phi = new Float64Array(nodeCount);
  let pv = P.array;
  const tickPhi = progressReporter(options, `${stage}: values`, nodeCount);
  for (let v = 0; v < nodeCount; v++) {
    if ((v & 0xffff) === 0) tickPhi(v);
    // Assigning: nodes inside assigned regions only are zero, so no edge of theirs is cut and an assigned tet is
    // split only where its boundary face is (a cone from its inner nodes), to stay conforming.
    let value = flag[v]! & 1 || (plane && flag[v]) ? f(pv[3 * v]!, pv[3 * v + 1]!, pv[3 * v + 2]!) : 0;
    if (!Number.isFinite(value)) throw new PhysiotwinError('GEOMETRY_INVALID', `${stage}: the implicit function is not finite at node ${v}`);
    // Lattice nodes on a plane: exactly on it (their coordinates carry the lattice's rounding).
    if (plane && Math.abs(value) <= 1e-9 * longEdge) {
      value = 0;
      pv[3 * v + plane.axis] = plane.at;
    }
    phi[v] = value;
  }
  // Sign-changing edges, once each: key = lo * nodeCount + hi (below 2^53 for up to 9e7 nodes).
  const edgeOf = new Map<number, number>();
  const eu = new Growable(new Int32Array(1024), (n) => new Int32Array(n));
  const ev = new Growable(new Int32Array(1024), (n) => new Int32Array(n));
  for (let t = 0; t < nt; t++) {
    const o = 4 * t;
    for (let e = 0; e < 6; e++) {
      const u = tv[o + EDGES[e]![0]]!, v = tv[o + EDGES[e]![1]]!;
      if (!(phi[u]! * phi[v]! < 0)) continue;
      const key = u < v ? u * nodeCount + v : v * nodeCount + u;
      if (edgeOf.has(key)) continue;
      edgeOf.set(key, eu.length);
      eu.reserve(1)[eu.length++] = u;
      ev.reserve(1)[ev.length++] = v;
    }
  }
  const ne = eu.length;
  const EU = eu.view(), EV = ev.view();
  const roots = new Float64Array(ne);
  // Warping: the closest violating cut point per node that may move (unassigned tets only, off earlier boundaries).
  const best = new Float64Array(nodeCount).fill(Infinity);
  const target = new Int32Array(nodeCount).fill(-1); // edge index
  // Assigning moves nodes of unassigned tets only (earlier boundaries stay), and a node on a plane only along an
  // edge in that plane. The planes cut the aligned lattice at edge midpoints: nothing to warp.
  const movable = (v: number, other: number) => !plane && flag[v] === 1 && (pinned[v]! & ~pinned[other]!) === 0;
  // A node that may not move (on an earlier boundary or a plane) with a cut closer than alpha: the surface is made
  // to pass through it instead (its value set to zero), so no sliver forms between it and the cut point.
  const held = new Uint8Array(nodeCount);
  const tickRoots = progressReporter(options, `${stage}: cut points`, ne);
  for (let e = 0; e < ne; e++) {
    if ((e & 0x3fff) === 0) tickRoots(e);
    const u = EU[e]!, v = EV[e]!;
    const t = edgeRoot(f, pv, u, v, phi[u]!, phi[v]!);
    roots[e] = t;
    const len = Math.sqrt((pv[3 * v]! - pv[3 * u]!) ** 2 + (pv[3 * v + 1]! - pv[3 * u + 1]!) ** 2 + (pv[3 * v + 2]! - pv[3 * u + 2]!) ** 2);
    const alpha = len > longEdge ? STUFFING_ALPHA_LONG : STUFFING_ALPHA_SHORT;
    if (t < alpha) {
      if (movable(u, v)) {
        if (t * len < best[u]!) { best[u] = t * len; target[u] = e; }
      } else if (!plane) held[u] = 1;
    }
    if (1 - t < alpha) {
      if (movable(v, u)) {
        if ((1 - t) * len < best[v]!) { best[v] = (1 - t) * len; target[v] = e; }
      } else if (!plane) held[v] = 1;
    }
  }
  // Warp: each violated node moves to its nearest cut point and becomes zero. All targets are computed from
  // unmoved nodes first (an edge's other end may warp too), then applied.
  let warped = 0;
  for (let v = 0; v < nodeCount; v++) if (target[v]! >= 0) warped++;
  const warpNode = new Int32Array(warped);
  const warpPos = new Float64Array(6 * warped); // new position, then the old one
  for (let v = 0, w = 0; v < nodeCount; v++) {
    const e = target[v]!;
    if (e < 0) continue;
    const u0 = EU[e]!, v0 = EV[e]!, t = roots[e]!;
    for (let a = 0; a < 3; a++) {
      warpPos[6 * w + a] = pv[3 * u0 + a]! + t * (pv[3 * v0 + a]! - pv[3 * u0 + a]!);
      warpPos[6 * w + 3 + a] = pv[3 * v + a]!;
    }
    warpNode[w++] = v;
  }
  const slot = new Int32Array(nodeCount).fill(-1);
  for (let w = 0; w < warped; w++) {
    const v = warpNode[w]!;
    slot[v] = w;
    pv[3 * v] = warpPos[6 * w]!; pv[3 * v + 1] = warpPos[6 * w + 1]!; pv[3 * v + 2] = warpPos[6 * w + 2]!;
  }
  // The lattice's alpha values bound the quality of a single smooth surface's stuffing (Labelle and Shewchuk);
  // next to the planes, at creases of the implicit (a wall's offset surface where two branches meet) and after
  // earlier cuts they do not: a warp that leaves a tet flatter than WARP_MIN_SHAPE is taken back (that edge is
  // cut instead), until none does.
  for (let changed = warped > 0; changed; ) {
    changed = false;
    for (let t = 0; t < nt; t++) {
      const o = 4 * t;
      const a = tv[o]!, b = tv[o + 1]!, c = tv[o + 2]!, d = tv[o + 3]!;
      if (slot[a]! < 0 && slot[b]! < 0 && slot[c]! < 0 && slot[d]! < 0) continue;
      if (shape(pv, a, b, c, d) > WARP_MIN_SHAPE) continue;
      for (let i = 0; i < 4; i++) {
        const v = tv[o + i]!, w = slot[v]!;
        if (w < 0) continue;
        pv[3 * v] = warpPos[6 * w + 3]!; pv[3 * v + 1] = warpPos[6 * w + 4]!; pv[3 * v + 2] = warpPos[6 * w + 5]!;
        slot[v] = -1;
        target[v] = -1;
      }
      changed = true;
    }
  }
  for (let w = 0; w < warped; w++) if (slot[warpNode[w]!]! >= 0) phi[warpNode[w]!] = 0;
  for (let v = 0; v < nodeCount; v++) if (held[v]) phi[v] = 0;
  // Cut points of the edges that keep their sign change (both ends unmoved, so the root is still on the edge).
  const cut = new Int32Array(ne).fill(-1);
  let nodes = nodeCount;
  for (let e = 0; e < ne; e++) {
    const u = EU[e]!, v = EV[e]!;
    if (target[u]! >= 0 || target[v]! >= 0) continue;
    pv = P.reserve(3);
    const t = roots[e]!;
    const w = nodes++;
    P.length += 3;
    for (let a = 0; a < 3; a++) pv[3 * w + a] = pv[3 * u + a]! + t * (pv[3 * v + a]! - pv[3 * u + a]!);
    if (plane) pv[3 * w + plane.axis] = plane.at;
    cut[e] = w;
  }
  const outT: Growable<Uint32Array> = new Growable<Uint32Array>(new Uint32Array(Math.max(1024, Math.ceil(tv.length * 1.1))), (n) => new Uint32Array(n));
  const outR: Growable<Int32Array> = new Growable<Int32Array>(new Int32Array(Math.max(256, Math.ceil(nt * 1.1))), (n) => new Int32Array(n));
  let inverted = 0;
  const cutNode = (u: number, v: number): number => {
    const e = edgeOf.get(u < v ? u * nodeCount + v : v * nodeCount + u);
    const w = e === undefined ? -1 : cut[e]!;
    if (w < 0) throw new PhysiotwinError('MESH_INVALID', `${stage}: no cut point on edge (${u}, ${v})`);
    return w;
  };
  let pieceVolume = 0;
  const emit = (a: number, b: number, c: number, d: number, r: number) => {
    const s = det6(pv, a, b, c, d);
    pieceVolume += Math.abs(s);
    const t = outT.reserve(4);
    const o = outT.length;
    outT.length += 4;
    t[o] = a; t[o + 1] = b; t[o + 2] = s >= 0 ? c : d; t[o + 3] = s >= 0 ? d : c;
    outR.reserve(1)[outR.length++] = r;
  };
  const pyramid = (b0: number, b1: number, b2: number, b3: number, apex: number, r: number) => {
    const m = Math.min(b0, b1, b2, b3);
    if (m === b0 || m === b2) {
      emit(apex, b0, b1, b2, r);
      emit(apex, b0, b2, b3, r);
    } else {
      emit(apex, b1, b2, b3, r);
      emit(apex, b1, b3, b0, r);
    }
  };
  const pr = new Int32Array(6);
  // Prism with triangles (p0, p1, p2) and (q0, q1, q2), edges pi-qi: the tet at the smallest node, then a pyramid.
  const prism = (p0: number, p1: number, p2: number, q0: number, q1: number, q2: number, r: number) => {
    pr[0] = p0; pr[1] = p1; pr[2] = p2; pr[3] = q0; pr[4] = q1; pr[5] = q2;
    let m = 0;
    for (let i = 1; i < 6; i++) if (pr[i]! < pr[m]!) m = i;
    const top = m >= 3 ? 3 : 0, bot = 3 - top, s = m % 3;
    const a0 = pr[top + s]!, a1 = pr[top + ((s + 1) % 3)]!, a2 = pr[top + ((s + 2) % 3)]!;
    const b0 = pr[bot + s]!, b1 = pr[bot + ((s + 1) % 3)]!, b2 = pr[bot + ((s + 2) % 3)]!;
    emit(a0, b0, b1, b2, r);
    pyramid(a1, a2, b2, b1, a0, r);
  };
  const neg = new Int32Array(4), pos = new Int32Array(4), zer = new Int32Array(4);
  // The piece of a cut tet on one side: `I` its nodes strictly on that side (1..3), `O` strictly on the other
  // (at least one), `Z` on the surface.
  const piece = (I: Int32Array, ni: number, O: Int32Array, no: number, Z: Int32Array, r: number) => {
    if (ni === 1) {
      const i = I[0]!;
      if (no === 3) emit(i, cutNode(i, O[0]!), cutNode(i, O[1]!), cutNode(i, O[2]!), r);
      else if (no === 2) emit(i, Z[0]!, cutNode(i, O[0]!), cutNode(i, O[1]!), r);
      else emit(i, Z[0]!, Z[1]!, cutNode(i, O[0]!), r);
    } else if (ni === 2) {
      const i0 = I[0]!, i1 = I[1]!;
      if (no === 2) {
        const o0 = O[0]!, o1 = O[1]!;
        prism(i0, cutNode(i0, o0), cutNode(i0, o1), i1, cutNode(i1, o0), cutNode(i1, o1), r);
      } else {
        const o = O[0]!;
        pyramid(i0, i1, cutNode(i1, o), cutNode(i0, o), Z[0]!, r);
      }
    } else {
      const o = O[0]!;
      prism(I[0]!, I[1]!, I[2]!, cutNode(I[0]!, o), cutNode(I[1]!, o), cutNode(I[2]!, o), r);
    }
  };
  const tick = progressReporter(options, `${stage}: split`, nt);
  for (let t = 0; t < nt; t++) {
    if ((t & 0xffff) === 0) tick(t);
    const o = 4 * t;
    const parent = rv[t]!;
    let nn = 0, np = 0, nz = 0;
    for (let i = 0; i < 4; i++) {
      const v = tv[o + i]!;
      const s = phi[v]!;
      if (s < 0) neg[nn++] = v;
      else if (s > 0) pos[np++] = v;
      else zer[nz++] = v;
    }
    const a = tv[o]!, b = tv[o + 1]!, c = tv[o + 2]!, d = tv[o + 3]!;
    const volume = det6(pv, a, b, c, d);
    if (!(volume > 0)) inverted++;
    const inside = plane || parent >= 0 ? parent : region;
    const outside = plane ? DROPPED : parent >= 0 ? parent : -1;
    if (np === 0 || nn === 0) {
      let side = np === 0;
      if (nn === 0 && np === 0) {
        // Every node on the surface: the centroid decides.
        const gx = (pv[3 * a]! + pv[3 * b]! + pv[3 * c]! + pv[3 * d]!) / 4;
        const gy = (pv[3 * a + 1]! + pv[3 * b + 1]! + pv[3 * c + 1]! + pv[3 * d + 1]!) / 4;
        const gz = (pv[3 * a + 2]! + pv[3 * b + 2]! + pv[3 * c + 2]! + pv[3 * d + 2]!) / 4;
        side = (!plane && parent >= 0) || f(gx, gy, gz) < 0;
      }
      const t4 = outT.reserve(4);
      const w = outT.length;
      outT.length += 4;
      t4[w] = a; t4[w + 1] = b; t4[w + 2] = c; t4[w + 3] = d;
      outR.reserve(1)[outR.length++] = side ? inside : outside;
      continue;
    }
    pieceVolume = 0;
    piece(neg, nn, pos, np, zer, inside);
    piece(pos, np, neg, nn, zer, outside);
    // The pieces tile the tet exactly when none is inverted (rounding: 1e-9 of the tet).
    if (Math.abs(pieceVolume - volume) > 1e-9 * Math.abs(volume) + 1e-300) inverted++;
  }
  // A plane pins its nodes (the lattice nodes on it and its cut points); a stage's cut point lies on the planes
  // both ends of its edge lie on.
  const nextPinned = new Uint8Array(nodes);
  nextPinned.set(pinned);
  for (let e = 0; e < ne; e++) {
    const w = cut[e]!;
    if (w >= 0) nextPinned[w] = plane ? plane.bit : pinned[EU[e]!]! & pinned[EV[e]!]!;
  }
  if (plane) for (let v = 0; v < nodeCount; v++) if (flag[v] && phi[v] === 0) nextPinned[v]! |= plane.bit;
  return { nodes, T: outT, R: outR, pinned: nextPinned, inverted };
}
