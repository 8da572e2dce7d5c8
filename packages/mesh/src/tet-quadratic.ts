import { PhysiotwinError, validateTetMesh } from '@physiotwin/core';
import type { TetMesh } from '@physiotwin/core';

/** Corner pairs of the T10 mid-edge nodes 4..9 in VTK order. */
const EDGES: ReadonlyArray<readonly [number, number]> = [[0, 1], [1, 2], [0, 2], [0, 3], [1, 3], [2, 3]];

/** Options of {@link toQuadraticTets}. */
export interface ToQuadraticOptions {
  /**
   * Moves a boundary mid-edge node onto the true surface. Called once per edge that lies on a boundary face
   * (a face of exactly one tet), with the straight midpoint `p` (mm) and the edge's corner nodes `a`, `b`; returns
   * the snapped position, or undefined to keep the midpoint. Interior mid-edge nodes stay at their midpoints.
   * @default keep every midpoint (straight-sided T10)
   */
  snap?: ((p: [number, number, number], a: number, b: number) => [number, number, number] | undefined) | undefined;
}

/**
 * Promotes a linear tet mesh to 10-node tets by adding one node per edge (VTK node order: corners, then edges
 * (0,1) (1,2) (0,2) (0,3) (1,3) (2,3)). Corner node numbers, regions, boundary faces (corner triples) and point
 * arrays' existing rows are kept; new nodes are numbered after the old ones (point arrays are dropped since their
 * values at new nodes are unknown; cell arrays are kept). A T10 mesh is returned unchanged.
 * @example
 * ```ts
 * const t10 = toQuadraticTets(t4);
 * ```
 * After snapping, every tet with a snapped node is checked at its 4 stiffness quadrature points: where the curved
 * element's Jacobian determinant falls to 0.1 of the straight tet's (or changes
 * sign: the element inverts), its snapped nodes go back to their midpoints one at a time (the one that helps most
 * first) until it passes; a tet with all its nodes at midpoints is its straight self, so this always ends.
 * @throws PhysiotwinError `INVALID_ARGUMENT` for a malformed mesh or a snap that returns non-finite coordinates.
 */
export function toQuadraticTets(mesh: TetMesh, options: ToQuadraticOptions = {}): TetMesh {
  validateTetMesh(mesh);
  if (mesh.nodesPerTet === 10) return mesh;
  const nNodes = mesh.positions.length / 3;
  const nTets = mesh.tets.length / 4;
  const edgeId = new Map<number, number>();
  const tets = new Uint32Array(nTets * 10);
  const extra: number[] = [];
  const ends: number[] = [];
  for (let t = 0; t < nTets; t++) {
    for (let k = 0; k < 4; k++) tets[10 * t + k] = mesh.tets[4 * t + k]!;
    for (let e = 0; e < 6; e++) {
      const a = mesh.tets[4 * t + EDGES[e]![0]]!;
      const b = mesh.tets[4 * t + EDGES[e]![1]]!;
      const key = Math.min(a, b) * nNodes + Math.max(a, b);
      let id = edgeId.get(key);
      if (id === undefined) {
        id = nNodes + ends.length / 2;
        edgeId.set(key, id);
        ends.push(Math.min(a, b), Math.max(a, b));
        for (let d = 0; d < 3; d++) extra.push((mesh.positions[3 * a + d]! + mesh.positions[3 * b + d]!) / 2);
      }
      tets[10 * t + 4 + e] = id;
    }
  }
  const positions = new Float64Array(3 * nNodes + extra.length);
  positions.set(mesh.positions);
  positions.set(extra, 3 * nNodes);
  if (options.snap) {
    const boundaryEdges = boundaryEdgeKeys(mesh, nNodes);
    const snapped = new Uint8Array(ends.length / 2);
    for (const key of boundaryEdges) {
      const id = edgeId.get(key)!;
      const e = id - nNodes;
      const p: [number, number, number] = [positions[3 * id]!, positions[3 * id + 1]!, positions[3 * id + 2]!];
      const q = options.snap(p, ends[2 * e]!, ends[2 * e + 1]!);
      if (!q) continue;
      if (!q.every(Number.isFinite)) throw new PhysiotwinError('INVALID_ARGUMENT', `snap returned non-finite coordinates for edge ${ends[2 * e]}-${ends[2 * e + 1]}`);
      positions.set(q, 3 * id);
      snapped[e] = 1;
    }
    unsnapInverted(tets, positions, nNodes, snapped, extra);
  }
  const out: TetMesh = { positions, tets, nodesPerTet: 10 };
  if (mesh.regions) out.regions = mesh.regions;
  if (mesh.boundaryFaces) out.boundaryFaces = mesh.boundaryFaces;
  if (mesh.boundaryLabels) out.boundaryLabels = mesh.boundaryLabels;
  if (mesh.cellData) out.cellData = mesh.cellData;
  return out;
}

/** Edge keys (min * n + max) of the edges of faces that belong to exactly one tet. */
function boundaryEdgeKeys(mesh: TetMesh, n: number): Set<number> {
  const faces = new Map<string, number>();
  const FACES = [[1, 2, 3], [0, 3, 2], [0, 1, 3], [0, 2, 1]];
  for (let t = 0; t < mesh.tets.length / 4; t++) {
    for (const f of FACES) {
      const v = f.map((k) => mesh.tets[4 * t + k]!).sort((x, y) => x - y);
      const key = v.join(',');
      faces.set(key, (faces.get(key) ?? 0) + 1);
    }
  }
  const edges = new Set<number>();
  for (const [key, count] of faces) {
    if (count !== 1) continue;
    const [a, b, c] = key.split(',').map(Number) as [number, number, number];
    edges.add(a * n + b).add(b * n + c).add(a * n + c);
  }
  return edges;
}

/**
 * Smallest accepted ratio of a snapped T10's Jacobian determinant, at each quadrature point of the 4-point rule,
 * to its straight-sided tet's (constant) determinant. Below it the curved element is inverted or nearly so.
 */
const MIN_CURVED_JACOBIAN_RATIO = 0.1;

const GA = 0.5854101966249685;
const GB = 0.1381966011250105;
/** Barycentric coordinates (l0..l3) of the 4-point rule's points. */
const GAUSS_4 = [[GA, GB, GB, GB], [GB, GA, GB, GB], [GB, GB, GA, GB], [GB, GB, GB, GA]];

/** min over the 4 quadrature points of det J(curved) / det J(straight) of T10 `t`; +Infinity for a flat straight tet. */
function curvedJacobianRatio(tets: Uint32Array, positions: Float64Array, t: number): number {
  const node = (k: number, d: number) => positions[3 * tets[10 * t + k]! + d]!;
  const lin: number[] = [];
  for (let k = 1; k < 4; k++) for (let d = 0; d < 3; d++) lin.push(node(k, d) - node(0, d));
  const det3 = (m: number[]) => m[0]! * (m[4]! * m[8]! - m[5]! * m[7]!) - m[1]! * (m[3]! * m[8]! - m[5]! * m[6]!) + m[2]! * (m[3]! * m[7]! - m[4]! * m[6]!);
  const straight = det3(lin);
  if (straight === 0) return Infinity; // flat already: the solver's own checks report it
  let worst = Infinity;
  for (const l of GAUSS_4) {
    // g[j] = dx/dl_j with the l's independent: corner j gives (4 l_j - 1) x_j, edge (a, b) gives 4 l_b x_e to g[a].
    const g = [0, 1, 2, 3].map((j) => [0, 1, 2].map((d) => (4 * l[j]! - 1) * node(j, d)));
    EDGES.forEach(([a, b], e) => {
      for (let d = 0; d < 3; d++) {
        g[a]![d] = g[a]![d]! + 4 * l[b]! * node(4 + e, d);
        g[b]![d] = g[b]![d]! + 4 * l[a]! * node(4 + e, d);
      }
    });
    // Reference coordinates are l1, l2, l3 (l0 = 1 - l1 - l2 - l3): column k of J is g[k] - g[0].
    const j: number[] = [];
    for (let k = 1; k < 4; k++) for (let d = 0; d < 3; d++) j.push(g[k]![d]! - g[0]![d]!);
    worst = Math.min(worst, det3(j) / straight);
  }
  return worst;
}

/**
 * Puts snapped mid-edge nodes back at their midpoints (`midpoints`, 3 per edge node) where a curved tet fails
 * `MIN_CURVED_JACOBIAN_RATIO`, greedily, re-checking the tets that share each node moved.
 */
function unsnapInverted(tets: Uint32Array, positions: Float64Array, nNodes: number, snapped: Uint8Array, midpoints: number[]): void {
  const nTets = tets.length / 10;
  const byEdge: number[][] = Array.from({ length: snapped.length }, () => []);
  const queue: number[] = [];
  for (let t = 0; t < nTets; t++) {
    let any = false;
    for (let e = 0; e < 6; e++) {
      const id = tets[10 * t + 4 + e]! - nNodes;
      byEdge[id]!.push(t);
      if (snapped[id]) any = true;
    }
    if (any) queue.push(t);
  }
  const snappedPos = new Float64Array(3);
  while (queue.length) {
    const t = queue.pop()!;
    while (curvedJacobianRatio(tets, positions, t) <= MIN_CURVED_JACOBIAN_RATIO) {
      // Try each snapped node of t at its midpoint; keep the move that leaves t best.
      let best = -1;
      let bestRatio = -Infinity;
      for (let e = 0; e < 6; e++) {
        const id = tets[10 * t + 4 + e]!;
        if (!snapped[id - nNodes]) continue;
        snappedPos.set(positions.subarray(3 * id, 3 * id + 3));
        for (let d = 0; d < 3; d++) positions[3 * id + d] = midpoints[3 * (id - nNodes) + d]!;
        const r = curvedJacobianRatio(tets, positions, t);
        positions.set(snappedPos, 3 * id);
        if (r > bestRatio) {
          bestRatio = r;
          best = id;
        }
      }
      // With every node of t at its midpoint t is straight (ratio 1), so a snapped node is always left here.
      if (best < 0) break;
      for (let d = 0; d < 3; d++) positions[3 * best + d] = midpoints[3 * (best - nNodes) + d]!;
      snapped[best - nNodes] = 0;
      for (const other of byEdge[best - nNodes]!) if (other !== t) queue.push(other);
    }
  }
}
