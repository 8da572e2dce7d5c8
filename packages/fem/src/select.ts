import { PhysiotwinError } from '@physiotwin/core';
import type { TetMesh } from '@physiotwin/core';
import type { Selector } from './case.js';
import { edgeNode } from './element.js';

/** Corner triples of the four faces of a tet, counter-clockwise seen from outside for a positive tet. */
export const TET_FACES: ReadonlyArray<readonly [number, number, number]> = [[1, 2, 3], [0, 3, 2], [0, 1, 3], [0, 2, 1]];

/** Mesh facts the selectors and loads share, computed once per solve. */
export interface Topology {
  mesh: TetMesh;
  nNodes: number;
  nTets: number;
  /** Region per tet (1 where the mesh has none). */
  regions: Int32Array;
  /** Bounding-box diagonal, mm. */
  diagonal: number;
  /** Every face of the mesh by its corners, with its owner (built on first use). */
  faces(): FaceTable;
}

/**
 * The faces of a tet mesh keyed by their three corners in any order: an open-addressing hash table on typed arrays
 * (string keys in a Map took 0.8 s for the 400k faces of the VMTK aorta's wall).
 */
export interface FaceTable {
  /** Owner code 4 * tet + local face of the face with these corners (its first tet for an interior face), or -1. */
  owner(a: number, b: number, c: number): number;
  /** Owner codes of the exterior faces (faces of one tet), in order of first appearance. */
  exterior(): number[];
}

/** Builds the {@link Topology} of a mesh. */
export function topology(mesh: TetMesh): Topology {
  const nNodes = mesh.positions.length / 3;
  const nTets = mesh.tets.length / mesh.nodesPerTet;
  const lo = [Infinity, Infinity, Infinity];
  const hi = [-Infinity, -Infinity, -Infinity];
  for (let i = 0; i < nNodes; i++) {
    for (let d = 0; d < 3; d++) {
      const v = mesh.positions[3 * i + d]!;
      if (v < lo[d]!) lo[d] = v;
      if (v > hi[d]!) hi[d] = v;
    }
  }
  let table: FaceTable | undefined;
  return {
    mesh,
    nNodes,
    nTets,
    regions: mesh.regions ?? new Int32Array(nTets).fill(1),
    diagonal: Math.hypot(hi[0]! - lo[0]!, hi[1]! - lo[1]!, hi[2]! - lo[2]!),
    faces: () => (table ??= faceTable(mesh, nTets)),
  };
}

function faceTable(mesh: TetMesh, nTets: number): FaceTable {
  const k = mesh.nodesPerTet;
  // Capacity a power of two at least twice the number of tet faces: load factor <= 1/2, short probes.
  let capacity = 16;
  while (capacity < 8 * nTets) capacity *= 2;
  const mask = capacity - 1;
  // Slot s holds the sorted corners (lo, mid, hi) in keys[3s..3s+2] (lo = -1: empty), its first owner in
  // owners[s] and 2 in shared[s] once a second tet has it.
  const keys = new Int32Array(3 * capacity).fill(-1);
  const owners = new Int32Array(capacity);
  const shared = new Uint8Array(capacity);
  const order: number[] = [];
  const slotOf = (a: number, b: number, c: number, insert: boolean): number => {
    const lo = Math.min(a, b, c);
    const hi = Math.max(a, b, c);
    const mid = a + b + c - lo - hi;
    let s = (Math.imul(lo, 0x9e3779b1) ^ Math.imul(mid, 0x85ebca77) ^ Math.imul(hi, 0xc2b2ae3d)) & mask;
    for (;;) {
      const at = 3 * s;
      if (keys[at] === -1) {
        if (!insert) return -1;
        keys[at] = lo;
        keys[at + 1] = mid;
        keys[at + 2] = hi;
        return s;
      }
      if (keys[at] === lo && keys[at + 1] === mid && keys[at + 2] === hi) return s;
      s = (s + 1) & mask;
    }
  };
  for (let t = 0; t < nTets; t++) {
    for (let f = 0; f < 4; f++) {
      const c = TET_FACES[f]!;
      const s = slotOf(mesh.tets[t * k + c[0]]!, mesh.tets[t * k + c[1]]!, mesh.tets[t * k + c[2]]!, true);
      if (shared[s] === 0) {
        owners[s] = 4 * t + f;
        shared[s] = 1;
        order.push(s);
      } else shared[s] = 2;
    }
  }
  return {
    owner(a, b, c) {
      const s = slotOf(a, b, c, false);
      return s < 0 ? -1 : owners[s]!;
    },
    exterior: () => order.filter((s) => shared[s] === 1).map((s) => owners[s]!),
  };
}

/**
 * The nodes of face `f` of tet `t` oriented outward: 3 corners, then for T10 the mid-edge nodes of edges
 * (0,1), (1,2), (0,2) of the face. Writes into `out` and returns the node count (3 or 6).
 */
export function orientedFaceNodes(mesh: TetMesh, t: number, f: number, out: Uint32Array): 3 | 6 {
  const k = mesh.nodesPerTet;
  const c = TET_FACES[f]!;
  for (let i = 0; i < 3; i++) out[i] = mesh.tets[t * k + c[i]!]!;
  if (k === 4) return 3;
  out[3] = mesh.tets[t * k + edgeNode(c[0], c[1])]!;
  out[4] = mesh.tets[t * k + edgeNode(c[1], c[2])]!;
  out[5] = mesh.tets[t * k + edgeNode(c[0], c[2])]!;
  return 6;
}

function configError(path: string, message: string): never {
  throw new PhysiotwinError('CONFIG_INVALID', message, { location: { jsonPath: path } });
}

/** True for nodes a geometric selector picks (undefined for faceTag and region, which are not geometric). */
function geometricTest(sel: Selector, tol: number): ((x: number, y: number, z: number) => boolean) | undefined {
  if (sel.box) {
    const { min, max } = sel.box;
    return (x, y, z) => x >= min[0] - tol && x <= max[0] + tol && y >= min[1] - tol && y <= max[1] + tol && z >= min[2] - tol && z <= max[2] + tol;
  }
  if (sel.plane) {
    const [px, py, pz] = sel.plane.point;
    const len = Math.hypot(...sel.plane.normal);
    const [nx, ny, nz] = sel.plane.normal.map((v) => v / len) as [number, number, number];
    return (x, y, z) => Math.abs((x - px) * nx + (y - py) * ny + (z - pz) * nz) <= tol;
  }
  if (sel.sphere) {
    const [cx, cy, cz] = sel.sphere.center;
    const r = sel.sphere.radius + tol;
    return (x, y, z) => (x - cx) ** 2 + (y - cy) ** 2 + (z - cz) ** 2 <= r * r;
  }
  if (sel.cylinder) {
    const [px, py, pz] = sel.cylinder.point;
    const len = Math.hypot(...sel.cylinder.axis);
    const [ax, ay, az] = sel.cylinder.axis.map((v) => v / len) as [number, number, number];
    const r = sel.cylinder.radius + tol;
    return (x, y, z) => {
      const dx = x - px, dy = y - py, dz = z - pz;
      const s = dx * ax + dy * ay + dz * az;
      return dx * dx + dy * dy + dz * dz - s * s <= r * r;
    };
  }
  return undefined;
}

/** Boundary faces with label `tag`, as owner codes (4 * tet + local face). */
function taggedFaces(topo: Topology, tag: number, path: string): number[] {
  const { mesh } = topo;
  const out: number[] = [];
  if (!mesh.boundaryFaces || !mesh.boundaryLabels) configError(path, 'faceTag selects nothing: the mesh has no labelled boundary faces');
  const faces = topo.faces();
  for (let f = 0; f < mesh.boundaryLabels.length; f++) {
    if (mesh.boundaryLabels[f] !== tag) continue;
    const code = faces.owner(mesh.boundaryFaces[3 * f]!, mesh.boundaryFaces[3 * f + 1]!, mesh.boundaryFaces[3 * f + 2]!);
    if (code < 0) {
      throw new PhysiotwinError('MESH_INVALID', `boundary face ${f} (label ${tag}) is not a face of any tet`);
    }
    out.push(code);
  }
  return out;
}

/**
 * The nodes a selector picks, as a 0/1 mask.
 * @throws PhysiotwinError `CONFIG_INVALID` (at `path`) when it picks none.
 */
export function selectNodes(topo: Topology, sel: Selector, path: string): Uint8Array {
  const { mesh, nNodes, nTets } = topo;
  const mask = new Uint8Array(nNodes);
  const k = mesh.nodesPerTet;
  let count = 0;
  const pick = (n: number) => {
    if (!mask[n]) count++;
    mask[n] = 1;
  };
  if (sel.faceTag !== undefined) {
    const nodes = new Uint32Array(6);
    for (const code of taggedFaces(topo, sel.faceTag, path)) {
      const m = orientedFaceNodes(mesh, code >> 2, code & 3, nodes);
      for (let i = 0; i < m; i++) pick(nodes[i]!);
    }
  } else if (sel.region !== undefined) {
    for (let t = 0; t < nTets; t++) if (topo.regions[t] === sel.region) for (let i = 0; i < k; i++) pick(mesh.tets[t * k + i]!);
  } else {
    const test = geometricTest(sel, sel.tolerance ?? 1e-6 * topo.diagonal)!;
    const p = mesh.positions;
    for (let n = 0; n < nNodes; n++) if (test(p[3 * n]!, p[3 * n + 1]!, p[3 * n + 2]!)) pick(n);
  }
  if (count === 0) configError(path, `the selector ${JSON.stringify(sel)} selects no nodes`);
  return mask;
}

/**
 * The faces a selector picks, as owner codes (4 * tet + local face, outward): tagged boundary faces for
 * `faceTag`, else exterior faces (faces of one tet) whose corners the selector all picks.
 * @throws PhysiotwinError `CONFIG_INVALID` (at `path`) when it picks none.
 */
export function selectFaces(topo: Topology, sel: Selector, path: string): number[] {
  let out: number[];
  if (sel.faceTag !== undefined) {
    out = taggedFaces(topo, sel.faceTag, path);
  } else {
    const mask = selectNodes(topo, sel, path);
    out = [];
    for (const code of topo.faces().exterior()) {
      const t = code >> 2;
      const c = TET_FACES[code & 3]!;
      const k = topo.mesh.nodesPerTet;
      if (c.every((i) => mask[topo.mesh.tets[t * k + i]!])) out.push(code);
    }
  }
  if (out.length === 0) configError(path, `the selector ${JSON.stringify(sel)} selects no faces`);
  return out;
}
