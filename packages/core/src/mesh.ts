import { PhysiotwinError } from './errors.js';

/** A named per-point or per-cell array with `components` values per entry (flat, entry-major). */
export interface DataArray {
  values: Float32Array | Float64Array | Int32Array | Uint32Array | Uint8Array;
  components: number;
}

/**
 * A triangle surface in world millimetres (LPS).
 * Triangle t uses points `triangles[3t..3t+2]`, counter-clockwise seen from outside (outward normals).
 */
export interface SurfaceMesh {
  /** xyz per point, mm. */
  positions: Float32Array;
  triangles: Uint32Array;
  /** Unit normal per point, if computed. */
  normals?: Float32Array | undefined;
  pointData?: Record<string, DataArray> | undefined;
  cellData?: Record<string, DataArray> | undefined;
}

/** A tetrahedral mesh: linear (4 nodes per tet) or quadratic (10 nodes, VTK node order). */
export interface TetMesh {
  /** xyz per node, mm, double precision for the solvers. */
  positions: Float64Array;
  tets: Uint32Array;
  nodesPerTet: 4 | 10;
  /** Region id per tet. */
  regions?: Int32Array | undefined;
  /** Boundary faces as node triples (corner nodes), with a face label each. */
  boundaryFaces?: Uint32Array | undefined;
  boundaryLabels?: Int32Array | undefined;
  /** A name per boundary label value (e.g. `{ 1: 'lumen', 2: 'outer' }`), for writers and case files. */
  boundaryLabelNames?: Record<number, string> | undefined;
  pointData?: Record<string, DataArray> | undefined;
  cellData?: Record<string, DataArray> | undefined;
}

function checkIndices(indices: Uint32Array, pointCount: number, what: string): void {
  for (let i = 0; i < indices.length; i++) {
    const p = indices[i]!;
    if (p >= pointCount) {
      throw new PhysiotwinError('INVALID_ARGUMENT', `${what} ${Math.floor(i / 3)} references point ${p} of ${pointCount}`);
    }
  }
}

function checkDataArrays(arrays: Record<string, DataArray> | undefined, count: number, what: string): void {
  for (const [name, a] of Object.entries(arrays ?? {})) {
    if (a.values.length !== count * a.components) {
      throw new PhysiotwinError('INVALID_ARGUMENT', `${what} array '${name}' has ${a.values.length} values, expected ${count * a.components}`);
    }
  }
}

/** Checks a surface mesh's invariants. @throws PhysiotwinError `INVALID_ARGUMENT`. */
export function validateSurfaceMesh(m: SurfaceMesh): void {
  if (m.positions.length % 3 !== 0) throw new PhysiotwinError('INVALID_ARGUMENT', 'positions length is not a multiple of 3');
  if (m.triangles.length % 3 !== 0) throw new PhysiotwinError('INVALID_ARGUMENT', 'triangles length is not a multiple of 3');
  const n = m.positions.length / 3;
  checkIndices(m.triangles, n, 'triangle');
  if (m.normals && m.normals.length !== m.positions.length) throw new PhysiotwinError('INVALID_ARGUMENT', 'normals and positions differ in length');
  checkDataArrays(m.pointData, n, 'point');
  checkDataArrays(m.cellData, m.triangles.length / 3, 'cell');
}

/** Checks a tet mesh's invariants. @throws PhysiotwinError `INVALID_ARGUMENT`. */
export function validateTetMesh(m: TetMesh): void {
  if (m.positions.length % 3 !== 0) throw new PhysiotwinError('INVALID_ARGUMENT', 'positions length is not a multiple of 3');
  if (m.tets.length % m.nodesPerTet !== 0) throw new PhysiotwinError('INVALID_ARGUMENT', `tets length is not a multiple of ${m.nodesPerTet}`);
  const n = m.positions.length / 3;
  checkIndices(m.tets, n, 'tet');
  const tetCount = m.tets.length / m.nodesPerTet;
  if (m.regions && m.regions.length !== tetCount) throw new PhysiotwinError('INVALID_ARGUMENT', 'regions has one entry per tet');
  if (m.boundaryFaces) {
    if (m.boundaryFaces.length % 3 !== 0) throw new PhysiotwinError('INVALID_ARGUMENT', 'boundaryFaces length is not a multiple of 3');
    checkIndices(m.boundaryFaces, n, 'boundary face');
    if (m.boundaryLabels && m.boundaryLabels.length !== m.boundaryFaces.length / 3) {
      throw new PhysiotwinError('INVALID_ARGUMENT', 'boundaryLabels has one entry per boundary face');
    }
  }
  checkDataArrays(m.pointData, n, 'point');
  checkDataArrays(m.cellData, tetCount, 'cell');
}
