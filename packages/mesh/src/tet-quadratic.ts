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
    for (const key of boundaryEdges) {
      const id = edgeId.get(key)!;
      const e = id - nNodes;
      const p: [number, number, number] = [positions[3 * id]!, positions[3 * id + 1]!, positions[3 * id + 2]!];
      const q = options.snap(p, ends[2 * e]!, ends[2 * e + 1]!);
      if (!q) continue;
      if (!q.every(Number.isFinite)) throw new PhysiotwinError('INVALID_ARGUMENT', `snap returned non-finite coordinates for edge ${ends[2 * e]}-${ends[2 * e + 1]}`);
      positions.set(q, 3 * id);
    }
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
