import type { TetMesh } from '@physiotwin/core';
import { PhysiotwinError, validateTetMesh } from '@physiotwin/core';

/**
 * Local node triples of a tet's four faces: face f is opposite corner f and is ordered so that its normal points
 * out of a positively oriented tet (det[p1 - p0, p2 - p0, p3 - p0] > 0).
 */
export const TET_FACES: readonly (readonly [number, number, number])[] = [
  [1, 2, 3],
  [0, 3, 2],
  [0, 1, 3],
  [0, 2, 1],
];

/**
 * The face across each tet face: `out[4t + f]` is `4u + g` when face f of tet t is face g of tet u, or -1 on the
 * mesh boundary. Corner nodes only (the first 4 of each tet). O(tets): a hash table on the sorted node triples.
 * @throws PhysiotwinError `MESH_INVALID` when a face is shared by more than two tets (not a manifold mesh).
 */
export function tetFaceNeighbours(tets: Uint32Array, nodesPerTet: number): Int32Array {
  const nt = tets.length / nodesPerTet;
  const nf = 4 * nt;
  const key = new Uint32Array(3 * nf); // sorted node triple per face
  // Open addressing on the sorted triple: one probe sequence per face, O(faces).
  const size = 2 ** Math.ceil(Math.log2(2 * nf + 2));
  const mask = size - 1;
  const table = new Int32Array(size).fill(-1);
  const out = new Int32Array(nf).fill(-1);
  for (let t = 0; t < nt; t++) {
    const o = t * nodesPerTet;
    for (let f = 0; f < 4; f++) {
      const [i, j, k] = TET_FACES[f]!;
      let a = tets[o + i]!, b = tets[o + j]!, c = tets[o + k]!;
      if (a > b) { const s = a; a = b; b = s; }
      if (b > c) { const s = b; b = c; c = s; }
      if (a > b) { const s = a; a = b; b = s; }
      const x = 4 * t + f;
      key[3 * x] = a; key[3 * x + 1] = b; key[3 * x + 2] = c;
      let h = (Math.imul(a, 0x9e3779b1) ^ Math.imul(b, 0x85ebca6b) ^ Math.imul(c, 0xc2b2ae35)) & mask;
      for (;;) {
        const y = table[h]!;
        if (y < 0) {
          table[h] = x;
          break;
        }
        if (key[3 * y] === a && key[3 * y + 1] === b && key[3 * y + 2] === c) {
          if (out[y] !== -1) throw new PhysiotwinError('MESH_INVALID', `face (${a}, ${b}, ${c}) is shared by more than two tets`);
          out[y] = x;
          out[x] = y;
          break;
        }
        h = (h + 1) & mask;
      }
    }
  }
  return out;
}

/** The quality report of a tet mesh (corner nodes; T10 mid-edge nodes are not looked at). */
export interface TetQuality {
  tets: number;
  nodes: number;
  /** Sum of the tets' signed volumes, mm^3. */
  volume: number;
  /** Smallest and largest dihedral angle over all tets, degrees (a regular tet: 70.53). */
  minDihedralDeg: number;
  maxDihedralDeg: number;
  /** 3 r_in / R_circ: 1 for the regular tet, 0 for a flat one. */
  minRadiusRatio: number;
  meanRadiusRatio: number;
  /** Tets with signed volume <= 0 (inverted or flat): never allowed in a mesh handed to a solver. */
  inverted: number;
  /** Dihedral angles in 18 bins of 10 degrees: `dihedralHistogram[b]` counts angles in [10b, 10b + 10). */
  dihedralHistogram: number[];
}

/**
 * Dihedral angles, radius ratios, volume and inverted elements of a tet mesh. O(tets), f64.
 * @throws PhysiotwinError `INVALID_ARGUMENT` for a malformed mesh (index out of range, lengths).
 * @example
 * ```ts
 * const q = tetQuality(mesh);
 * console.log(q.minDihedralDeg, q.inverted);
 * ```
 */
export function tetQuality(mesh: TetMesh): TetQuality {
  validateTetMesh(mesh);
  const P = mesh.positions;
  const T = mesh.tets;
  const npt = mesh.nodesPerTet;
  const nt = T.length / npt;
  const n = new Float64Array(12); // outward face normals (unnormalised), face f at 3f
  const area = new Float64Array(4);
  const hist = new Float64Array(18);
  let volume = 0, minD = Infinity, maxD = -Infinity, minR = Infinity, sumR = 0, inverted = 0;
  for (let t = 0; t < nt; t++) {
    const o = t * npt;
    const i0 = 3 * T[o]!, i1 = 3 * T[o + 1]!, i2 = 3 * T[o + 2]!, i3 = 3 * T[o + 3]!;
    const ax = P[i1]! - P[i0]!, ay = P[i1 + 1]! - P[i0 + 1]!, az = P[i1 + 2]! - P[i0 + 2]!;
    const bx = P[i2]! - P[i0]!, by = P[i2 + 1]! - P[i0 + 1]!, bz = P[i2 + 2]! - P[i0 + 2]!;
    const cx = P[i3]! - P[i0]!, cy = P[i3 + 1]! - P[i0 + 1]!, cz = P[i3 + 2]! - P[i0 + 2]!;
    // b x c, c x a, a x b
    const bcx = by * cz - bz * cy, bcy = bz * cx - bx * cz, bcz = bx * cy - by * cx;
    const cax = cy * az - cz * ay, cay = cz * ax - cx * az, caz = cx * ay - cy * ax;
    const abx = ay * bz - az * by, aby = az * bx - ax * bz, abz = ax * by - ay * bx;
    const det = ax * bcx + ay * bcy + az * bcz;
    volume += det / 6;
    if (!(det > 0)) {
      inverted++;
      minD = 0;
      minR = 0;
      continue;
    }
    // Outward normals: face opposite 1 is -(b x c) ... with the sum of the four being zero.
    n[3] = -bcx; n[4] = -bcy; n[5] = -bcz;
    n[6] = -cax; n[7] = -cay; n[8] = -caz;
    n[9] = -abx; n[10] = -aby; n[11] = -abz;
    n[0] = bcx + cax + abx; n[1] = bcy + cay + aby; n[2] = bcz + caz + abz;
    let areaSum = 0;
    for (let f = 0; f < 4; f++) {
      area[f] = Math.sqrt(n[3 * f]! ** 2 + n[3 * f + 1]! ** 2 + n[3 * f + 2]! ** 2);
      areaSum += area[f]! / 2;
    }
    // The edge between faces f and g: dihedral = pi - angle(n_f, n_g).
    for (let f = 0; f < 3; f++) {
      for (let g = f + 1; g < 4; g++) {
        const c = (n[3 * f]! * n[3 * g]! + n[3 * f + 1]! * n[3 * g + 1]! + n[3 * f + 2]! * n[3 * g + 2]!) / (area[f]! * area[g]!);
        const deg = 180 - (Math.acos(c > 1 ? 1 : c < -1 ? -1 : c) * 180) / Math.PI;
        if (deg < minD) minD = deg;
        if (deg > maxD) maxD = deg;
        hist[Math.min(17, Math.floor(deg / 10))]!++;
      }
    }
    // Circumcentre offset from p0: (|a|^2 (b x c) + |b|^2 (c x a) + |c|^2 (a x b)) / (2 det).
    const a2 = ax * ax + ay * ay + az * az, b2 = bx * bx + by * by + bz * bz, c2 = cx * cx + cy * cy + cz * cz;
    const ox = a2 * bcx + b2 * cax + c2 * abx, oy = a2 * bcy + b2 * cay + c2 * aby, oz = a2 * bcz + b2 * caz + c2 * abz;
    const R = Math.sqrt(ox * ox + oy * oy + oz * oz) / (2 * det);
    const rIn = (3 * (det / 6)) / areaSum;
    const ratio = (3 * rIn) / R;
    if (ratio < minR) minR = ratio;
    sumR += ratio;
  }
  return {
    tets: nt,
    nodes: P.length / 3,
    volume,
    minDihedralDeg: nt ? minD : 0,
    maxDihedralDeg: nt ? maxD : 0,
    minRadiusRatio: nt ? minR : 0,
    meanRadiusRatio: nt - inverted > 0 ? sumR / (nt - inverted) : 0,
    inverted,
    dihedralHistogram: Array.from(hist),
  };
}

/**
 * Throws unless every tet is positively oriented with non-zero volume and every coordinate is finite.
 * @throws PhysiotwinError `MESH_INVALID` naming the first bad tet or node.
 */
export function assertValidTets(mesh: TetMesh): void {
  const P = mesh.positions;
  for (let i = 0; i < P.length; i++) {
    if (!Number.isFinite(P[i]!)) throw new PhysiotwinError('MESH_INVALID', `node ${Math.floor(i / 3)} has a non-finite coordinate`);
  }
  const q = tetQuality(mesh);
  if (q.inverted > 0) throw new PhysiotwinError('MESH_INVALID', `${q.inverted} of ${q.tets} tets are inverted or flat (signed volume <= 0)`);
}
