import type { SurfaceMesh } from '@physiotwin/core';
import { validateSurfaceMesh } from '@physiotwin/core';

/** The quality report of a triangle surface (the CLI prints its first ten keys as the `--report` contract). */
export interface MeshQuality {
  /** Vertices referenced by at least one triangle. */
  vertices: number;
  triangles: number;
  /** No boundary edges (every edge has two triangles). */
  closed: boolean;
  /** Every edge has at most two triangles and the triangles around every vertex form one fan. */
  manifold: boolean;
  /** Every interior edge is used in opposite directions by its two triangles. */
  oriented: boolean;
  /** V - E + F over the referenced vertices. */
  euler: number;
  /** Sum of the genera of the components, for a closed, manifold, oriented surface; null otherwise. */
  genus: number | null;
  /** Edge-connected components. */
  components: number;
  /** Total area, mm^2. */
  area: number;
  /** Enclosed volume by the divergence theorem, mm^3; positive when the normals point outward. */
  volume: number;
  boundaryEdges: number;
  nonManifoldEdges: number;
  nonManifoldVertices: number;
  /** Triangles with a repeated vertex or zero area. */
  degenerateTriangles: number;
  /** Edges whose two triangles disagree in direction. */
  misorientedEdges: number;
  /** Triangle angles in degrees, 18 bins of 10 degrees: angleHistogram[b] counts angles in [10b, 10b + 10). */
  angleHistogram: number[];
  minAngle: number;
  maxAngle: number;
}

function find(parent: Int32Array, i: number): number {
  while (parent[i] !== i) {
    const p = parent[parent[i]!]!;
    parent[i] = p;
    i = p;
  }
  return i;
}

/**
 * Topology and geometry checks of a triangle surface: closed, manifold, oriented, Euler characteristic, genus,
 * components, area, enclosed volume, triangle angle histogram. O(triangles), f64 throughout.
 * @throws PhysiotwinError `INVALID_ARGUMENT` when the mesh is malformed (index out of range).
 * @example
 * ```ts
 * const q = meshQuality(surface);
 * if (!q.closed || !q.manifold) console.warn(q.boundaryEdges, q.nonManifoldEdges);
 * ```
 */
export function meshQuality(mesh: SurfaceMesh): MeshQuality {
  validateSurfaceMesh(mesh);
  const P = mesh.positions;
  const T = mesh.triangles;
  const nv = P.length / 3;
  const nt = T.length / 3;
  // Half-edges grouped by their smaller vertex (CSR): entry h = 3t + c is the edge from corner c to c + 1.
  const start = new Int32Array(nv + 1);
  for (let h = 0; h < 3 * nt; h++) {
    const a = T[h]!;
    const b = T[h - (h % 3) + ((h % 3) + 1) % 3]!;
    start[Math.min(a, b) + 1]!++;
  }
  for (let v = 0; v < nv; v++) start[v + 1]! += start[v]!;
  const fill = start.slice(0, nv);
  const half = new Int32Array(3 * nt);
  for (let h = 0; h < 3 * nt; h++) {
    const a = T[h]!;
    const b = T[h - (h % 3) + ((h % 3) + 1) % 3]!;
    half[fill[Math.min(a, b)]!++] = h;
  }
  const other = (h: number) => {
    const a = T[h]!;
    const b = T[h - (h % 3) + ((h % 3) + 1) % 3]!;
    return a < b ? b : a;
  };
  const forward = (h: number) => T[h]! < T[h - (h % 3) + ((h % 3) + 1) % 3]!;
  let edges = 0;
  let boundaryEdges = 0;
  let nonManifoldEdges = 0;
  let misorientedEdges = 0;
  const parent = new Int32Array(nv);
  for (let v = 0; v < nv; v++) parent[v] = v;
  const used = new Uint8Array(nv);
  for (let v = 0; v < nv; v++) {
    const s = start[v]!;
    const e = start[v + 1]!;
    for (let x = s; x < e; x++) {
      const hx = half[x]!;
      const w = other(hx);
      used[v] = 1;
      used[w] = 1;
      const rv = find(parent, v);
      const rw = find(parent, w);
      if (rv !== rw) parent[Math.max(rv, rw)] = Math.min(rv, rw);
      // Count this edge once: at its first half-edge in the group.
      let first = true;
      for (let y = s; y < x; y++) if (other(half[y]!) === w) first = false;
      if (!first) continue;
      edges++;
      let count = 0;
      let fwd = 0;
      for (let y = x; y < e; y++) {
        if (other(half[y]!) !== w) continue;
        count++;
        if (forward(half[y]!)) fwd++;
      }
      if (count === 1) boundaryEdges++;
      else if (count > 2) nonManifoldEdges++;
      else if (fwd !== 1) misorientedEdges++;
    }
  }
  // Vertex fans: the triangles around a vertex must be one edge-connected fan.
  const vStart = new Int32Array(nv + 1);
  for (let c = 0; c < 3 * nt; c++) vStart[T[c]! + 1]!++;
  for (let v = 0; v < nv; v++) vStart[v + 1]! += vStart[v]!;
  const vFill = vStart.slice(0, nv);
  const vTris = new Int32Array(3 * nt);
  for (let c = 0; c < 3 * nt; c++) vTris[vFill[T[c]!]!++] = c;
  let nonManifoldVertices = 0;
  const fanParent: number[] = [];
  for (let v = 0; v < nv; v++) {
    const s = vStart[v]!;
    const deg = vStart[v + 1]! - s;
    if (deg < 2) continue;
    fanParent.length = deg;
    for (let a = 0; a < deg; a++) fanParent[a] = a;
    const root = (a: number): number => (fanParent[a] === a ? a : (fanParent[a] = root(fanParent[a]!)));
    for (let a = 0; a < deg; a++) {
      const ca = vTris[s + a]!;
      const ta = ca - (ca % 3);
      for (let b = a + 1; b < deg; b++) {
        const cb = vTris[s + b]!;
        const tb = cb - (cb % 3);
        // Triangles around v share an edge through v when they share another vertex.
        let shared = false;
        for (let i = 0; i < 3 && !shared; i++) {
          const x = T[ta + i]!;
          if (x === v) continue;
          for (let j = 0; j < 3; j++) if (T[tb + j] === x) shared = true;
        }
        if (shared) fanParent[root(a)] = root(b);
      }
    }
    let fans = 0;
    for (let a = 0; a < deg; a++) if (root(a) === a) fans++;
    if (fans > 1) nonManifoldVertices++;
  }
  let vertices = 0;
  let components = 0;
  for (let v = 0; v < nv; v++) {
    if (!used[v]) continue;
    vertices++;
    if (find(parent, v) === v) components++;
  }
  let area = 0;
  let volume = 0;
  let degenerateTriangles = 0;
  let minAngle = 180;
  let maxAngle = 0;
  const angleHistogram = new Array<number>(18).fill(0);
  const sides = [0, 0, 0];
  for (let t = 0; t < nt; t++) {
    const a = T[3 * t]!;
    const b = T[3 * t + 1]!;
    const c = T[3 * t + 2]!;
    const ax = P[3 * a]!, ay = P[3 * a + 1]!, az = P[3 * a + 2]!;
    const bx = P[3 * b]!, by = P[3 * b + 1]!, bz = P[3 * b + 2]!;
    const cx = P[3 * c]!, cy = P[3 * c + 1]!, cz = P[3 * c + 2]!;
    const ux = bx - ax, uy = by - ay, uz = bz - az;
    const wx = cx - ax, wy = cy - ay, wz = cz - az;
    const nx = uy * wz - uz * wy, ny = uz * wx - ux * wz, nz = ux * wy - uy * wx;
    const twice = Math.sqrt(nx * nx + ny * ny + nz * nz);
    area += twice / 2;
    volume += (ax * (by * cz - bz * cy) + ay * (bz * cx - bx * cz) + az * (bx * cy - by * cx)) / 6;
    if (a === b || b === c || a === c || twice === 0) {
      degenerateTriangles++;
      continue;
    }
    sides[0] = Math.hypot(bx - cx, by - cy, bz - cz);
    sides[1] = Math.hypot(wx, wy, wz);
    sides[2] = Math.hypot(ux, uy, uz);
    for (let i = 0; i < 3; i++) {
      const opp = sides[i]!;
      const s1 = sides[(i + 1) % 3]!;
      const s2 = sides[(i + 2) % 3]!;
      const cos = Math.min(1, Math.max(-1, (s1 * s1 + s2 * s2 - opp * opp) / (2 * s1 * s2)));
      const deg = (Math.acos(cos) * 180) / Math.PI;
      angleHistogram[Math.min(17, Math.floor(deg / 10))]!++;
      if (deg < minAngle) minAngle = deg;
      if (deg > maxAngle) maxAngle = deg;
    }
  }
  const euler = vertices - edges + nt;
  const closed = boundaryEdges === 0;
  const manifold = nonManifoldEdges === 0 && nonManifoldVertices === 0;
  const oriented = misorientedEdges === 0 && nonManifoldEdges === 0;
  const genus = closed && manifold && oriented ? (2 * components - euler) / 2 : null;
  return {
    vertices, triangles: nt, closed, manifold, oriented, euler, genus, components, area, volume,
    boundaryEdges, nonManifoldEdges, nonManifoldVertices, degenerateTriangles, misorientedEdges,
    angleHistogram, minAngle: nt ? minAngle : 0, maxAngle,
  };
}
