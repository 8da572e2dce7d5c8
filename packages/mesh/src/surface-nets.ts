import type { OperationOptions, SurfaceMesh, Volume } from '@physiotwin/core';
import { PhysiotwinError, progressReporter, validateVolume } from '@physiotwin/core';
import { flipsOrientation, indexToWorldRows } from './marching-cubes.cpu.js';

/** Options of {@link surfaceNets}. */
export interface SurfaceNetsSpec {
  /** Only the closed, outward surface of this label; absent: every boundary between two labels, once. */
  label?: number | undefined;
  /**
   * Relaxation sweeps: each vertex moves to the mean of its quad neighbours, kept inside its cell (+-0.5 voxel
   * around the cell centre). Shared vertices move once, so neighbouring labels keep one common boundary.
   * @default 0
   */
  relax?: number | undefined;
}

/**
 * Surface nets of a labelmap (Frisken Gibson 1998, multi-label): one vertex per 2x2x2 block of voxels with more
 * than one label, one quad (two triangles) per pair of face-neighbouring voxels with different labels. Outside
 * the volume is label 0, so label surfaces are closed. Each interface appears once, oriented from its `labels`
 * cell-data entry [back, front]: the normal points from the back label to the front label. With `label`, the
 * surface of that label alone, oriented outward. World millimetres as marching cubes.
 * @throws PhysiotwinError `INVALID_ARGUMENT` (not scalar, bad relax count), `ABORTED`.
 * @example
 * ```ts
 * const all = surfaceNets(labels);            // every interface, cellData.labels = [back, front]
 * const liver = surfaceNets(labels, { label: 3 });
 * ```
 */
export function surfaceNets(volume: Volume, spec: SurfaceNetsSpec = {}, options: OperationOptions = {}): SurfaceMesh {
  validateVolume(volume);
  if (volume.components !== 1) throw new PhysiotwinError('INVALID_ARGUMENT', `surfaceNets needs a scalar labelmap, this one has ${volume.components} components`);
  const relax = spec.relax ?? 0;
  if (!(Number.isInteger(relax) && relax >= 0)) throw new PhysiotwinError('INVALID_ARGUMENT', `surfaceNets: relax must be an integer >= 0, got ${relax}`);
  const [nx, ny, nz] = volume.dims;
  const data = volume.data;
  const label = (i: number, j: number, k: number) => (i < 0 || j < 0 || k < 0 || i >= nx || j >= ny || k >= nz ? 0 : data[i + nx * (j + ny * k)]!);
  // Cells (ci, cj, ck) for ci in -1 .. nx - 1 cover voxels ci and ci + 1.
  const cx = nx + 1, cy = ny + 1, cz = nz + 1;
  const cellVertex = new Int32Array(cx * cy * cz).fill(-1);
  const idx: number[] = []; // index-space vertex positions
  const vertexOf = (ci: number, cj: number, ck: number) => {
    const c = ci + 1 + cx * (cj + 1 + cy * (ck + 1));
    let v = cellVertex[c]!;
    if (v < 0) {
      v = cellVertex[c] = idx.length / 3;
      idx.push(ci + 0.5, cj + 0.5, ck + 0.5);
    }
    return v;
  };
  const quads: number[] = [];
  const quadLabels: number[] = [];
  const tick = progressReporter(options, 'surface nets', nz + 1);
  for (let k = -1; k < nz; k++) {
    tick(k + 1);
    for (let j = -1; j < ny; j++) {
      for (let i = -1; i < nx; i++) {
        const l = label(i, j, k);
        for (let axis = 0; axis < 3; axis++) {
          const m = axis === 0 ? label(i + 1, j, k) : axis === 1 ? label(i, j + 1, k) : label(i, j, k + 1);
          if (m === l) continue;
          // The face between voxel (i, j, k) and its +axis neighbour: the four cells around it, counter-clockwise
          // seen from +axis (u, v = the next two axes cyclically), so the normal points from l to m.
          const corner = (du: number, dv: number) =>
            axis === 0 ? vertexOf(i, j + du, k + dv) : axis === 1 ? vertexOf(i + dv, j, k + du) : vertexOf(i + du, j + dv, k);
          quads.push(corner(-1, -1), corner(0, -1), corner(0, 0), corner(-1, 0));
          quadLabels.push(l, m);
        }
      }
    }
  }
  const nv = idx.length / 3;
  if (relax > 0) {
    const nbrs: Array<Set<number>> = Array.from({ length: nv }, () => new Set());
    for (let q = 0; q < quads.length; q += 4) {
      for (let c = 0; c < 4; c++) {
        const a = quads[q + c]!;
        const b = quads[q + ((c + 1) % 4)]!;
        nbrs[a]!.add(b);
        nbrs[b]!.add(a);
      }
    }
    const centre = Float64Array.from(idx);
    let p = Float64Array.from(idx);
    let next = new Float64Array(p.length);
    for (let it = 0; it < relax; it++) {
      for (let v = 0; v < nv; v++) {
        const set = nbrs[v]!;
        for (let d = 0; d < 3; d++) {
          let s = 0;
          for (const u of set) s += p[3 * u + d]!;
          const target = set.size ? s / set.size : p[3 * v + d]!;
          const c = centre[3 * v + d]!;
          next[3 * v + d] = Math.min(c + 0.5, Math.max(c - 0.5, target));
        }
      }
      [p, next] = [next, p];
    }
    for (let i = 0; i < p.length; i++) idx[i] = p[i]!;
  }
  const m = indexToWorldRows(volume);
  const flip = flipsOrientation(volume.direction);
  const positions = new Float32Array(3 * nv);
  for (let v = 0; v < nv; v++) {
    const x = idx[3 * v]!, y = idx[3 * v + 1]!, z = idx[3 * v + 2]!;
    for (let r = 0; r < 3; r++) positions[3 * v + r] = m[4 * r]! * x + m[4 * r + 1]! * y + m[4 * r + 2]! * z + m[4 * r + 3]!;
  }
  const tris: number[] = [];
  const triLabels: number[] = [];
  for (let q = 0, n = 0; q < quads.length; q += 4, n++) {
    let back = quadLabels[2 * n]!;
    let front = quadLabels[2 * n + 1]!;
    let [a, b, c, d] = [quads[q]!, quads[q + 1]!, quads[q + 2]!, quads[q + 3]!];
    if (spec.label !== undefined) {
      if (back !== spec.label && front !== spec.label) continue;
      // Outward for the label: the label must be behind the face.
      if (front === spec.label) {
        [b, d] = [d, b];
        [back, front] = [front, back];
      }
    }
    if (flip) [b, d] = [d, b];
    tris.push(a, b, c, a, c, d);
    triLabels.push(back, front, back, front);
  }
  const mesh: SurfaceMesh = { positions, triangles: Uint32Array.from(tris), cellData: { labels: { values: Int32Array.from(triLabels), components: 2 } } };
  if (spec.label === undefined) return mesh;
  // Drop the vertices the label's surface does not use.
  const remap = new Int32Array(nv).fill(-1);
  const out: number[] = [];
  const T = mesh.triangles;
  for (let t = 0; t < T.length; t++) {
    const v = T[t]!;
    if (remap[v] === -1) {
      remap[v] = out.length / 3;
      out.push(positions[3 * v]!, positions[3 * v + 1]!, positions[3 * v + 2]!);
    }
    T[t] = remap[v]!;
  }
  return { ...mesh, positions: Float32Array.from(out) };
}
