import type { OperationOptions, TetMesh, Vec3, Volume } from '@physiotwin/core';
import { PhysiotwinError, validateVolume } from '@physiotwin/core';
import type { EdgeSnap, GridField } from './tet-fields.js';
import { curvatureNeutralSmooth, edgeSnapper, flipsHandedness, gridToWorld, imagePlanes, paddedField, regionBoundaryFaces, sampleFields, voxelBox } from './tet-fields.js';
import type { TetQuality } from './tet-quality.js';
import { tetQuality } from './tet-quality.js';
import type { Implicit } from './tet-stuffing.js';
import { stuffLattice } from './tet-stuffing.js';

/** Options of {@link tetMeshLabels}. */
export interface TetMeshLabelsSpec {
  /** Labels to mesh, one region each (region id = label); the other labels count as outside. @default every non-zero label present */
  labels?: readonly number[] | undefined;
  /**
   * Lattice spacing h, mm: the longest lattice edge (uniform: no grading). Cut edges are shorter; warping moves a
   * node by at most 0.41 of a short lattice edge (0.36 h), which can lengthen its other edges by as much; between
   * two image-edge planes h is adjusted so a whole number of cells fits. @default the largest voxel spacing
   */
  maxEdgeMm?: number | undefined;
  /**
   * Standard deviation of the Gaussian that smooths each label's indicator before the 0.5 level is taken, mm.
   * Larger is smoother; a sphere of radius R shrinks by about smoothMm^2 / R. @default the largest voxel spacing
   */
  smoothMm?: number | undefined;
}

/** A tet mesh with its quality report and a projection onto its smooth boundary (for T10 mid-edge nodes). */
export interface TetMeshResult {
  mesh: TetMesh;
  quality: TetQuality;
  /**
   * For T10: `toQuadraticTets(mesh, { snap: snapEdge })` puts the mid-edge nodes of boundary edges on the smooth
   * surface their face carries (edges in an image-edge cut stay in its plane; those on the crease move along it).
   */
  snapEdge: EdgeSnap;
}

/**
 * Boundary tag of the faces between regions (labels) a and b, 0 for the outside: 65536 max(a, b) + min(a, b).
 * @throws nothing
 */
export function labelPairTag(a: number, b: number): number {
  return 65536 * Math.max(a, b) + Math.min(a, b);
}

/**
 * Tetrahedral mesh of a labelmap with smooth boundaries, by isosurface stuffing (Labelle and Shewchuk 2007) of a
 * body-centred cubic lattice. Each label's indicator is smoothed by a Gaussian; label k's region is where its
 * smoothed indicator beats those of the labels after it and of the outside, carved in increasing label order (so
 * labels conform: an interface is cut once and both regions use its nodes). Boundary nodes lie on the smoothed
 * surfaces (trilinear interpolation, root finding along the lattice edges). A label that reaches the image's edge is
 * cut flat at the outermost voxel centres. Region id per tet = label; each boundary face carries
 * {@link labelPairTag} of the two labels it separates (0 = outside), with the name `"a|b"` in
 * `boundaryLabelNames`; faces point out of the larger label. CPU, f64 positions, typed arrays throughout.
 * @throws PhysiotwinError `INVALID_ARGUMENT` (not a scalar labelmap, bad options, no voxel of the labels),
 * `MESH_INVALID` (an inverted element: never handed out), `LIMIT_EXCEEDED`, `ABORTED`.
 * @example
 * ```ts
 * const { mesh, quality } = tetMeshLabels(labels, { labels: [1, 2], maxEdgeMm: 1 });
 * console.log(quality.minDihedralDeg, quality.volume);
 * ```
 */
export function tetMeshLabels(labelmap: Volume, spec: TetMeshLabelsSpec = {}, options: OperationOptions = {}): TetMeshResult {
  validateVolume(labelmap);
  if (labelmap.components !== 1) throw new PhysiotwinError('INVALID_ARGUMENT', `tetmesh needs a scalar labelmap, this one has ${labelmap.components} components`);
  const maxSpacing = Math.max(...labelmap.spacing);
  const h = spec.maxEdgeMm ?? maxSpacing;
  const sigma = spec.smoothMm ?? maxSpacing;
  if (!(Number.isFinite(h) && h > 0)) throw new PhysiotwinError('INVALID_ARGUMENT', `tetmesh: maxEdgeMm must be a positive number, got ${h}`);
  if (!(Number.isFinite(sigma) && sigma >= 0)) throw new PhysiotwinError('INVALID_ARGUMENT', `tetmesh: smoothMm must be >= 0, got ${sigma}`);
  let labels = spec.labels ? [...spec.labels] : presentLabels(labelmap);
  labels = [...new Set(labels)].sort((a, b) => a - b);
  for (const l of labels) {
    if (!(Number.isInteger(l) && l > 0 && l < 32768)) throw new PhysiotwinError('INVALID_ARGUMENT', `tetmesh: labels must be integers in 1..32767, got ${l}`);
  }
  if (labels.length === 0) throw new PhysiotwinError('INVALID_ARGUMENT', 'tetmesh: the labelmap has no non-zero label');
  const wanted = new Set(labels);
  const box = voxelBox(labelmap, (v) => wanted.has(v));
  if (!box) throw new PhysiotwinError('INVALID_ARGUMENT', `tetmesh: no voxel has label ${labels.join(' or ')}`);
  const { fields, lo, hi } = smoothedIndicators(labelmap, labels, box, h, sigma);
  const L = labels.length;
  const s = new Float64Array(L);
  // Stage k: region labels[k] where its indicator beats the later labels' and the outside's (1 - sum of all).
  const stage = (k: number): Implicit => (x, y, z) => {
    sampleFields(fields, x, y, z, s);
    let sum = 0, others = 0;
    for (let m = 0; m < L; m++) sum += s[m]!;
    others = 1 - sum;
    for (let m = k + 1; m < L; m++) if (s[m]! > others) others = s[m]!;
    return others - s[k]!;
  };
  const union: Implicit = (x, y, z) => {
    sampleFields(fields, x, y, z, s);
    let sum = 0, most = 0;
    for (let m = 0; m < L; m++) { sum += s[m]!; if (s[m]! > most) most = s[m]!; }
    return 1 - sum - most;
  };
  const stages = labels.map((_, k) => stage(k));
  const planes = imagePlanes(labelmap, lo, hi);
  const out = stuffLattice({ lo, hi, h, union, stages, regions: labels, planes }, options);
  const { mesh, quality } = finishMesh(labelmap, out.positions, out.tets, out.regions, out.inverted);
  const { faces, inner, outer } = regionBoundaryFaces(mesh, out.regions);
  const tags = new Int32Array(inner.length);
  const names: Record<number, string> = {};
  for (let i = 0; i < tags.length; i++) {
    tags[i] = labelPairTag(inner[i]!, outer[i]!);
    names[tags[i]!] ??= `${inner[i]}|${outer[i]}`;
  }
  mesh.boundaryFaces = faces;
  mesh.boundaryLabels = tags;
  mesh.boundaryLabelNames = names;
  // The a|b interface was carved by the stage of the smaller label (the outside, 0, is carved by a's stage).
  const surfaceOf = (tag: number) => stages[labels.indexOf(tag % 65536 || Math.floor(tag / 65536))];
  const snapEdge = edgeSnapper(labelmap, mesh, out.planeBits, planes, surfaceOf, h);
  return { mesh, quality, snapEdge };
}

/** Every non-zero value in the labelmap, ascending. */
function presentLabels(volume: Volume): number[] {
  const seen = new Set<number>();
  const d = volume.data;
  for (let i = 0; i < d.length; i++) if (d[i] !== 0) seen.add(d[i]!);
  return [...seen];
}

/**
 * One Gaussian-smoothed indicator per label on a grid around the labels' voxel box, and the lattice box (grid mm):
 * the voxel box grown by a voxel and 1.5 lattice cells, clipped to the image box before growing by the cells.
 */
function smoothedIndicators(volume: Volume, labels: readonly number[], box: { lo: Vec3; hi: Vec3 }, h: number, sigma: number): { fields: GridField[]; lo: Vec3; hi: Vec3 } {
  const sp = volume.spacing;
  const lo: Vec3 = [0, 0, 0], hi: Vec3 = [0, 0, 0];
  const flo: Vec3 = [0, 0, 0], fhi: Vec3 = [0, 0, 0], margin: Vec3 = [0, 0, 0];
  for (let a = 0; a < 3; a++) {
    lo[a] = Math.max(box.lo[a]! - 1, 0) * sp[a]! - 1.5 * h;
    hi[a] = Math.min(box.hi[a]! + 1, volume.dims[a]! - 1) * sp[a]! + 1.5 * h;
    // The field covers the lattice box; the smoothing margin (3 sigma) keeps its values right there.
    flo[a] = Math.floor(lo[a]! / sp[a]!);
    fhi[a] = Math.ceil(hi[a]! / sp[a]!);
    margin[a] = Math.ceil((3 * Math.SQRT2 * sigma) / sp[a]!) + 1;
  }
  const fields = labels.map((l) => curvatureNeutralSmooth(paddedField(volume, flo, fhi, margin, (v) => (v === l ? 1 : 0)), sigma));
  return { fields, lo, hi };
}

/**
 * A {@link TetMesh} in world mm from stuffing output in grid mm (positive tets kept positive, and `faces`, node
 * triples made in grid mm, kept outward, under a flipping direction matrix).
 * @throws PhysiotwinError `MESH_INVALID` when stuffing reported an inverted piece or any tet has volume <= 0.
 */
export function finishMesh(volume: Volume, positions: Float64Array, tets: Uint32Array, regions: Int32Array, inverted: number, faces?: Uint32Array): { mesh: TetMesh; quality: TetQuality } {
  if (inverted > 0) throw new PhysiotwinError('MESH_INVALID', `tetmesh: ${inverted} cut elements came out inverted`);
  gridToWorld(volume, positions);
  if (flipsHandedness(volume)) {
    for (let t = 0; t < tets.length; t += 4) {
      const c = tets[t + 2]!;
      tets[t + 2] = tets[t + 3]!;
      tets[t + 3] = c;
    }
    for (let f = 0; faces && f < faces.length; f += 3) {
      const b = faces[f + 1]!;
      faces[f + 1] = faces[f + 2]!;
      faces[f + 2] = b;
    }
  }
  const mesh: TetMesh = { positions, tets, nodesPerTet: 4, regions };
  const q = tetQuality(mesh);
  if (q.inverted > 0) throw new PhysiotwinError('MESH_INVALID', `tetmesh: ${q.inverted} of ${q.tets} elements are inverted or flat`);
  return { mesh, quality: q };
}
