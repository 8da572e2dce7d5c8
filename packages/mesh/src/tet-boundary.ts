// The boundary of a tet mesh as a triangle surface with nodal values carried along: what a viewer draws of an FE
// mesh (the wall's outer surface coloured by its nodal von Mises stress). Pure; one pass over the boundary faces.
import type { SurfaceMesh, TetMesh } from '@physiotwin/core';
import { PhysiotwinError } from '@physiotwin/core';

/**
 * The boundary of a tet mesh as a surface (its `boundaryFaces`, optionally only those with one of `labels`), its
 * points compacted, with `nodal` values (one per tet node, e.g. the FE's nodal von Mises) carried as point data
 * `name`. The wall of `vesselWall` names its face labels in `boundaryLabelNames` ('outer' is its outside).
 * @example
 * ```ts
 * const outer = tetBoundarySurface(wall.mesh, { name: 'vonMises', values: fe.nodalVonMises }, [WALL_TAG_OUTER]);
 * ```
 * @throws PhysiotwinError `INVALID_ARGUMENT` when the mesh has no boundary faces or `nodal` is not one per node.
 */
export function tetBoundarySurface(mesh: Pick<TetMesh, 'positions' | 'boundaryFaces' | 'boundaryLabels'>, nodal?: { name: string; values: ArrayLike<number> }, labels?: readonly number[]): SurfaceMesh {
  const faces = mesh.boundaryFaces;
  if (!faces || faces.length === 0) throw new PhysiotwinError('INVALID_ARGUMENT', 'mesh: the tet mesh has no boundary faces');
  const nodes = mesh.positions.length / 3;
  if (nodal && nodal.values.length !== nodes) throw new PhysiotwinError('INVALID_ARGUMENT', `mesh: ${nodal.values.length} nodal values for ${nodes} nodes`);
  const labelSet = labels ? new Set(labels) : undefined;
  const faceLabels = mesh.boundaryLabels;
  const map = new Int32Array(nodes).fill(-1);
  const tris = new Uint32Array(faces.length);
  let used = 0, t = 0;
  for (let f = 0; f < faces.length / 3; f++) {
    if (labelSet && !(faceLabels !== undefined && labelSet.has(faceLabels[f]!))) continue;
    for (let c = 0; c < 3; c++) {
      const n = faces[3 * f + c]!;
      if (n >= nodes) throw new PhysiotwinError('INVALID_ARGUMENT', `mesh: boundary face ${f} references node ${n} of ${nodes}`);
      if (map[n] === -1) map[n] = used++;
      tris[t++] = map[n]!;
    }
  }
  const positions = new Float32Array(3 * used);
  const values = new Float32Array(used);
  const src = mesh.positions;
  for (let n = 0; n < nodes; n++) {
    const m = map[n]!;
    if (m < 0) continue;
    positions[3 * m] = src[3 * n]!;
    positions[3 * m + 1] = src[3 * n + 1]!;
    positions[3 * m + 2] = src[3 * n + 2]!;
    if (nodal) values[m] = nodal.values[n]!;
  }
  const surface: SurfaceMesh = { positions, triangles: tris.slice(0, t) };
  if (nodal) surface.pointData = { [nodal.name]: { values, components: 1 } };
  return surface;
}
