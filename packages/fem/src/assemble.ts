import { PhysiotwinError } from '@physiotwin/core';
import type { TetMesh } from '@physiotwin/core';
import type { BsrMatrix } from './bsr.js';
import { blockIndex, bsrPattern } from './bsr.js';
import { TET_RULE_1, TET_RULE_4, elementScratch, elementStiffness, faceLoad, lame, physicalGradients, tetShape } from './element.js';

/** Lame parameters per tet: [lambda, mu] pairs (MPa). */
export type TetMaterials = Float64Array;

/** Copies the coordinates of tet t into `x` (3 per node). */
export function gatherCoordinates(mesh: TetMesh, t: number, x: Float64Array): void {
  const k = mesh.nodesPerTet;
  for (let i = 0; i < k; i++) {
    const n = mesh.tets[t * k + i]!;
    x[3 * i] = mesh.positions[3 * n]!;
    x[3 * i + 1] = mesh.positions[3 * n + 1]!;
    x[3 * i + 2] = mesh.positions[3 * n + 2]!;
  }
}

/** Lame parameters per tet from per-region E and nu. */
export function tetMaterials(regions: Int32Array, byRegion: ReadonlyMap<number, { E: number; nu: number }>): TetMaterials {
  const out = new Float64Array(2 * regions.length);
  for (let t = 0; t < regions.length; t++) {
    const m = byRegion.get(regions[t]!)!;
    const [l, mu] = lame(m.E, m.nu);
    out[2 * t] = l;
    out[2 * t + 1] = mu;
  }
  return out;
}

function longestEdgeCubed(x: Float64Array): number {
  let h = 0;
  for (let a = 0; a < 4; a++) for (let b = a + 1; b < 4; b++) h = Math.max(h, Math.hypot(x[3 * a]! - x[3 * b]!, x[3 * a + 1]! - x[3 * b + 1]!, x[3 * a + 2]! - x[3 * b + 2]!));
  return h * h * h;
}

/**
 * Assembles the stiffness (3x3 block CSR) of a T4 or T10 mesh.
 * @throws PhysiotwinError `MESH_INVALID` for an inverted element (det J <= 0 at a quadrature point) or a
 *   degenerate one (det J below 1e-10 of its longest edge cubed).
 */
export function assembleStiffness(mesh: TetMesh, materials: TetMaterials, onTet?: (t: number) => void): BsrMatrix {
  const k = mesh.nodesPerTet;
  const n = mesh.positions.length / 3;
  const a = bsrPattern(n, mesh.tets, k);
  const s = elementScratch();
  const ke = new Float64Array(900);
  const m = 3 * k;
  const slots = new Int32Array(k * k);
  const nTets = mesh.tets.length / k;
  for (let t = 0; t < nTets; t++) {
    gatherCoordinates(mesh, t, s.x);
    const minDet = elementStiffness(k, materials[2 * t]!, materials[2 * t + 1]!, s, ke);
    if (!(minDet > 1e-10 * longestEdgeCubed(s.x))) {
      const what = minDet <= 0 ? 'inverted' : 'degenerate';
      throw new PhysiotwinError('MESH_INVALID', `tet ${t} is ${what} (det J = ${minDet.toPrecision(3)} at a quadrature point)`, { details: { tet: t } });
    }
    for (let i = 0; i < k; i++) {
      const ni = mesh.tets[t * k + i]!;
      for (let j = 0; j < k; j++) slots[i * k + j] = blockIndex(a, ni, mesh.tets[t * k + j]!);
    }
    const v = a.values;
    for (let i = 0; i < k; i++) {
      for (let j = 0; j < k; j++) {
        const o = 9 * slots[i * k + j]!;
        const r = 3 * i * m + 3 * j;
        for (let rr = 0; rr < 3; rr++) {
          for (let cc = 0; cc < 3; cc++) v[o + 3 * rr + cc] = v[o + 3 * rr + cc]! + ke[r + rr * m + cc]!;
        }
      }
    }
    onTet?.(t);
  }
  return a;
}

/** Adds a body force (N/mm^3) on tet t to `f` (3 per node), integrated with the element's shape functions. */
export function addBodyForce(mesh: TetMesh, t: number, b: readonly number[], f: Float64Array): void {
  const k = mesh.nodesPerTet;
  const rule = k === 4 ? TET_RULE_1 : TET_RULE_4;
  const s = elementScratch();
  gatherCoordinates(mesh, t, s.x);
  for (let q = 0; q < rule.weights.length; q++) {
    tetShape(k, rule.points[3 * q]!, rule.points[3 * q + 1]!, rule.points[3 * q + 2]!, s.n, s.dn);
    const w = rule.weights[q]! * physicalGradients(k, s.x, s.dn, s.grad);
    for (let i = 0; i < k; i++) {
      const node = mesh.tets[t * k + i]!;
      for (let d = 0; d < 3; d++) f[3 * node + d] = f[3 * node + d]! + w * s.n[i]! * b[d]!;
    }
  }
}

/** Adds a face load (pressure along -n, or a traction) on the face with outward nodes `nodes` to `f`. */
export function addFaceLoad(mesh: TetMesh, nodes: Uint32Array, count: 3 | 6, traction: readonly number[] | undefined, pressure: number, f: Float64Array): void {
  const x = new Float64Array(18);
  const fe = new Float64Array(18);
  for (let i = 0; i < count; i++) for (let d = 0; d < 3; d++) x[3 * i + d] = mesh.positions[3 * nodes[i]! + d]!;
  faceLoad(count, x, traction, pressure, fe);
  for (let i = 0; i < count; i++) for (let d = 0; d < 3; d++) f[3 * nodes[i]! + d] = f[3 * nodes[i]! + d]! + fe[3 * i + d]!;
}
