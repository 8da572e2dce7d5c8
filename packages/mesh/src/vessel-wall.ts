import type { OperationOptions, Vec3, Volume } from '@physiotwin/core';
import { PhysiotwinError, throwIfAborted, validateVolume } from '@physiotwin/core';
import type { GridField } from './tet-fields.js';
import { curvatureNeutralSmooth, edgeSnapper, gridToWorld, imagePlanes, paddedField, regionBoundaryFaces, sampleFields, voxelBox } from './tet-fields.js';
import type { TetMeshResult } from './tet-labels.js';
import { finishMesh } from './tet-labels.js';
import type { Implicit } from './tet-stuffing.js';
import { stuffLattice } from './tet-stuffing.js';
import { Growable } from './growable.js';

/** Boundary tag of the wall's inner surface (where the lumen pressure acts). */
export const WALL_TAG_LUMEN = 1;
/** Boundary tag of the wall's outer surface. */
export const WALL_TAG_OUTER = 2;
/** Boundary tag of the first cut end; the ends are numbered from here (3, 4, ...). */
export const WALL_TAG_FIRST_END = 3;

/** Options of {@link vesselWall}. */
export interface VesselWallSpec {
  /** Wall thickness, mm (> 0). */
  thicknessMm: number;
  /** Labels that make the lumen. @default every non-zero voxel */
  labels?: readonly number[] | undefined;
  /** Lattice spacing (longest lattice edge), mm. @default min(largest voxel spacing, thicknessMm / 2) */
  maxEdgeMm?: number | undefined;
  /** Smoothing of the lumen's indicator, mm, as `TetMeshLabelsSpec.smoothMm`. @default the largest voxel spacing */
  smoothMm?: number | undefined;
}

/** Where the wall leaves the image: one cut end. */
export interface WallEnd {
  tag: number;
  name: string;
  /** The image face it lies on: axis (0 = i, 1 = j, 2 = k) and side (-1: index 0, +1: the last index). */
  axis: 0 | 1 | 2;
  side: -1 | 1;
  /** Mean of its faces' centroids (area-weighted), world mm. */
  centroid: Vec3;
  /** Ring area, mm^2. */
  areaMm2: number;
}

/** A vessel wall mesh: {@link TetMeshResult} plus its ends. */
export interface VesselWallResult extends TetMeshResult {
  ends: WallEnd[];
}

/**
 * A vessel wall of given thickness grown outward from the smooth lumen surface of a labelmap, meshed with tets by
 * isosurface stuffing: the region 0 <= d <= t, where the lumen's surface (d = 0) is the 0.5 level of its smoothed
 * indicator (as in `tetMeshLabels`: voxels past the image repeat the edge, so the vessel runs on straight) and
 * d is the distance to that surface; cut flat (sharp edges) at the image's outermost voxel centres where the vessel
 * leaves the image. Region 1. Boundary
 * faces are tagged {@link WALL_TAG_LUMEN} (1, normal into the lumen), {@link WALL_TAG_OUTER} (2) and one tag per
 * cut end from {@link WALL_TAG_FIRST_END} (3, 4, ...: ends ordered by image face i-, i+, j-, j+, k-, k+, then by
 * position), named `lumen`, `outer`, `end1`, `end2`, ... in `boundaryLabelNames`.
 * @throws PhysiotwinError `INVALID_ARGUMENT` (bad thickness or options, empty lumen), `MESH_INVALID`,
 * `LIMIT_EXCEEDED`, `ABORTED`.
 * @example
 * ```ts
 * const { mesh, ends } = vesselWall(lumen, { thicknessMm: 1.5 });
 * // fix the ends (tags 3..), load the lumen (tag 1)
 * ```
 */
export function vesselWall(labelmap: Volume, spec: VesselWallSpec, options: OperationOptions = {}): VesselWallResult {
  validateVolume(labelmap);
  if (labelmap.components !== 1) throw new PhysiotwinError('INVALID_ARGUMENT', `vesselWall needs a scalar labelmap, this one has ${labelmap.components} components`);
  const t = spec.thicknessMm;
  if (!(Number.isFinite(t) && t > 0)) throw new PhysiotwinError('INVALID_ARGUMENT', `vesselWall: thicknessMm must be a positive number, got ${t}`);
  const sp = labelmap.spacing;
  const maxSpacing = Math.max(...sp);
  const h = spec.maxEdgeMm ?? Math.min(maxSpacing, t / 2);
  const sigma = spec.smoothMm ?? maxSpacing;
  if (!(Number.isFinite(h) && h > 0)) throw new PhysiotwinError('INVALID_ARGUMENT', `vesselWall: maxEdgeMm must be a positive number, got ${h}`);
  if (!(Number.isFinite(sigma) && sigma >= 0)) throw new PhysiotwinError('INVALID_ARGUMENT', `vesselWall: smoothMm must be >= 0, got ${sigma}`);
  const labels = spec.labels ? new Set(spec.labels) : undefined;
  const isLumen = (v: number) => (labels ? labels.has(v) : v !== 0);
  const box = voxelBox(labelmap, isLumen);
  if (!box) throw new PhysiotwinError('INVALID_ARGUMENT', 'vesselWall: the lumen is empty');
  const lo: Vec3 = [0, 0, 0], hi: Vec3 = [0, 0, 0], flo: Vec3 = [0, 0, 0], fhi: Vec3 = [0, 0, 0], margin: Vec3 = [0, 0, 0];
  for (let a = 0; a < 3; a++) {
    const grow = Math.ceil(t / sp[a]!) + 1;
    lo[a] = Math.max(box.lo[a]! - grow, 0) * sp[a]! - 1.5 * h;
    hi[a] = Math.min(box.hi[a]! + grow, labelmap.dims[a]! - 1) * sp[a]! + 1.5 * h;
    flo[a] = Math.floor(lo[a]! / sp[a]!);
    fhi[a] = Math.ceil(hi[a]! / sp[a]!);
    // Replicated lumen must reach t + the smoothing past the lattice for the distance there to be right.
    margin[a] = Math.ceil((t + 3 * Math.SQRT2 * sigma) / sp[a]!) + 2;
  }
  const indicator = curvatureNeutralSmooth(paddedField(labelmap, flo, fhi, margin, (v) => (isLumen(v) ? 1 : 0)), sigma);
  // The distance is needed up to t past the lumen and a lattice cell beyond; +-band outside that.
  const d = surfaceDistance(indicator, t + 2 * Math.max(h, maxSpacing), options.signal);
  const fields = [d, indicator];
  const s = new Float64Array(2);
  const dist: Implicit = (x, y, z) => sampleFields(fields, x, y, z, s)[0]!;
  // The lumen side is the smoothed indicator's 0.5 level itself (as in tetMeshLabels), in mm near the surface:
  // the smoothed step's slope there is 1 / (sigma sqrt(2 pi)) per mm.
  const kappa = sigma > 0 ? (sigma * Math.sqrt(2 * Math.PI)) / 2 : maxSpacing / 2;
  const lumenSide: Implicit = (x, y, z) => (2 * sampleFields(fields, x, y, z, s)[1]! - 1) * kappa;
  const wall: Implicit = (x, y, z) => {
    sampleFields(fields, x, y, z, s);
    return Math.max((2 * s[1]! - 1) * kappa, s[0]! - t);
  };
  const planes = imagePlanes(labelmap, lo, hi);
  const out = stuffLattice({ lo, hi, h, union: wall, stages: [wall], regions: [1], planes }, options);
  // Tag each boundary face (grid mm, before the world map): an end face has its three nodes on one image plane;
  // the others by the larger of the lumen and outer terms of max(lumen side, d - t) at the centroid.
  const gridFaces = regionBoundaryFaces({ tets: out.tets, nodesPerTet: 4, positions: out.positions }, out.regions).faces;
  const nf = gridFaces.length / 3;
  const tags = new Int32Array(nf);
  const plane = new Int8Array(nf).fill(-1); // 2 axis + (side > 0), for end faces
  const P = out.positions;
  const bits = out.planeBits;
  for (let f = 0; f < nf; f++) {
    const a = gridFaces[3 * f]!, b = gridFaces[3 * f + 1]!, c = gridFaces[3 * f + 2]!;
    const common = bits[a]! & bits[b]! & bits[c]!;
    if (common) {
      const p = planes[31 - Math.clz32(common & -common)]!;
      tags[f] = -1;
      plane[f] = 2 * p.axis + (p.side > 0 ? 1 : 0);
      continue;
    }
    const x = (P[3 * a]! + P[3 * b]! + P[3 * c]!) / 3, y = (P[3 * a + 1]! + P[3 * b + 1]! + P[3 * c + 1]!) / 3, z = (P[3 * a + 2]! + P[3 * b + 2]! + P[3 * c + 2]!) / 3;
    tags[f] = lumenSide(x, y, z) >= dist(x, y, z) - t ? WALL_TAG_LUMEN : WALL_TAG_OUTER;
  }
  const ends = numberEnds(gridFaces, plane, tags, P);
  const { mesh, quality } = finishMesh(labelmap, out.positions, out.tets, out.regions, out.inverted, gridFaces);
  mesh.boundaryFaces = gridFaces;
  mesh.boundaryLabels = tags;
  const names: Record<number, string> = { [WALL_TAG_LUMEN]: 'lumen', [WALL_TAG_OUTER]: 'outer' };
  const endList: WallEnd[] = ends.map((e, i) => {
    const tag = WALL_TAG_FIRST_END + i;
    names[tag] = `end${i + 1}`;
    const centroid = gridToWorld(labelmap, Float64Array.from(e.centroid));
    return { tag, name: `end${i + 1}`, axis: e.axis, side: e.side, centroid: [centroid[0]!, centroid[1]!, centroid[2]!], areaMm2: e.area };
  });
  mesh.boundaryLabelNames = names;
  const inner: Implicit = (x, y, z) => -lumenSide(x, y, z);
  const outerFn: Implicit = (x, y, z) => dist(x, y, z) - t;
  const snapEdge = edgeSnapper(labelmap, mesh, out.planeBits, planes, (tag) => (tag === WALL_TAG_LUMEN ? inner : tag === WALL_TAG_OUTER ? outerFn : undefined), h);
  return { mesh, quality, snapEdge, ends: endList };
}

/**
 * Signed distance (mm, negative inside) from every voxel of a smoothed indicator to its 0.5 level, within `band`
 * mm (+-band beyond): the distance to the nearest point where the level crosses a grid edge (linear
 * interpolation: those points lie on the trilinear surface). Points are bucketed in cells of edge `band`, so each
 * voxel looks at 27 cells. The cloud's gaps (at most a voxel) cost about gap^2 / (8 d) at distance d: 0.02 mm for
 * 0.5 mm voxels at 1.5 mm.
 */
function surfaceDistance(s: GridField, band: number, signal: AbortSignal | undefined): GridField {
  const { data, dims, spacing } = s;
  const [nx, ny, nz] = dims;
  const pts = new Growable(new Float64Array(3 * 1024), (n) => new Float64Array(n));
  const strides = [1, nx, nx * ny];
  for (let k = 0, p = 0; k < nz; k++) {
    for (let j = 0; j < ny; j++) {
      for (let i = 0; i < nx; i++, p++) {
        const a = data[p]! - 0.5;
        const idx = [i, j, k];
        for (let axis = 0; axis < 3; axis++) {
          if (idx[axis]! + 1 >= dims[axis]!) continue;
          const b = data[p + strides[axis]!]! - 0.5;
          if (!(a * b < 0)) continue;
          const t = a / (a - b);
          pts.push((i + (axis === 0 ? t : 0)) * spacing[0]);
          pts.push((j + (axis === 1 ? t : 0)) * spacing[1]);
          pts.push((k + (axis === 2 ? t : 0)) * spacing[2]);
        }
      }
    }
  }
  const P = pts.view();
  const np = P.length / 3;
  const cx = Math.ceil(((nx - 1) * spacing[0]) / band) + 1, cy = Math.ceil(((ny - 1) * spacing[1]) / band) + 1, cz = Math.ceil(((nz - 1) * spacing[2]) / band) + 1;
  const cell = (x: number, y: number, z: number) => Math.floor(x / band) + cx * (Math.floor(y / band) + cy * Math.floor(z / band));
  const start = new Int32Array(cx * cy * cz + 1);
  for (let q = 0; q < np; q++) start[cell(P[3 * q]!, P[3 * q + 1]!, P[3 * q + 2]!) + 1]!++;
  for (let c = 0; c < cx * cy * cz; c++) start[c + 1]! += start[c]!;
  const fill = start.slice(0, cx * cy * cz);
  const order = new Int32Array(np);
  for (let q = 0; q < np; q++) order[fill[cell(P[3 * q]!, P[3 * q + 1]!, P[3 * q + 2]!)]!++] = q;
  const out = new Float32Array(data.length);
  const b2 = band * band;
  for (let k = 0, p = 0; k < nz; k++) {
    throwIfAborted(signal, 'vesselWall: distance');
    const z = k * spacing[2], ck = Math.floor(z / band);
    for (let j = 0; j < ny; j++) {
      const y = j * spacing[1], cj = Math.floor(y / band);
      for (let i = 0; i < nx; i++, p++) {
        const x = i * spacing[0], ci = Math.floor(x / band);
        let best = b2;
        for (let c2 = Math.max(ck - 1, 0); c2 <= Math.min(ck + 1, cz - 1); c2++) {
          for (let c1 = Math.max(cj - 1, 0); c1 <= Math.min(cj + 1, cy - 1); c1++) {
            for (let c0 = Math.max(ci - 1, 0); c0 <= Math.min(ci + 1, cx - 1); c0++) {
              const c = c0 + cx * (c1 + cy * c2);
              for (let e = start[c]!, end = start[c + 1]!; e < end; e++) {
                const q = 3 * order[e]!;
                const d2 = (P[q]! - x) ** 2 + (P[q + 1]! - y) ** 2 + (P[q + 2]! - z) ** 2;
                if (d2 < best) best = d2;
              }
            }
          }
        }
        out[p] = data[p]! > 0.5 ? -Math.sqrt(best) : Math.sqrt(best);
      }
    }
  }
  return { ...s, data: out };
}

/**
 * Groups the end faces (plane >= 0) into edge-connected components per image face, sorts them (image face, then
 * centroid) and writes their tags into `tags`. Returns each end's area-weighted centroid (grid mm) and area.
 */
function numberEnds(faces: Uint32Array, plane: Int8Array, tags: Int32Array, P: Float64Array): Array<{ axis: 0 | 1 | 2; side: -1 | 1; centroid: Vec3; area: number }> {
  const nf = plane.length;
  const parent = new Int32Array(nf);
  for (let f = 0; f < nf; f++) parent[f] = f;
  const find = (x: number): number => {
    while (parent[x] !== x) x = parent[x] = parent[parent[x]!]!;
    return x;
  };
  const edgeFace = new Map<string, number>();
  for (let f = 0; f < nf; f++) {
    if (plane[f]! < 0) continue;
    for (let e = 0; e < 3; e++) {
      const a = faces[3 * f + e]!, b = faces[3 * f + ((e + 1) % 3)]!;
      const key = `${Math.min(a, b)},${Math.max(a, b)}`;
      const g = edgeFace.get(key);
      if (g === undefined) edgeFace.set(key, f);
      else if (plane[g] === plane[f]) parent[find(g)] = find(f);
    }
  }
  const groups = new Map<number, { plane: number; cx: number; cy: number; cz: number; area: number; faces: number[] }>();
  for (let f = 0; f < nf; f++) {
    if (plane[f]! < 0) continue;
    const root = find(f);
    let g = groups.get(root);
    if (!g) groups.set(root, (g = { plane: plane[f]!, cx: 0, cy: 0, cz: 0, area: 0, faces: [] }));
    const a = 3 * faces[3 * f]!, b = 3 * faces[3 * f + 1]!, c = 3 * faces[3 * f + 2]!;
    const ux = P[b]! - P[a]!, uy = P[b + 1]! - P[a + 1]!, uz = P[b + 2]! - P[a + 2]!;
    const vx = P[c]! - P[a]!, vy = P[c + 1]! - P[a + 1]!, vz = P[c + 2]! - P[a + 2]!;
    const area = 0.5 * Math.hypot(uy * vz - uz * vy, uz * vx - ux * vz, ux * vy - uy * vx);
    g.cx += (area * (P[a]! + P[b]! + P[c]!)) / 3;
    g.cy += (area * (P[a + 1]! + P[b + 1]! + P[c + 1]!)) / 3;
    g.cz += (area * (P[a + 2]! + P[b + 2]! + P[c + 2]!)) / 3;
    g.area += area;
    g.faces.push(f);
  }
  const list = [...groups.values()].map((g) => ({ ...g, cx: g.cx / g.area, cy: g.cy / g.area, cz: g.cz / g.area }));
  list.sort((a, b) => a.plane - b.plane || a.cx - b.cx || a.cy - b.cy || a.cz - b.cz);
  return list.map((g, i) => {
    for (const f of g.faces) tags[f] = WALL_TAG_FIRST_END + i;
    return { axis: (g.plane >> 1) as 0 | 1 | 2, side: g.plane & 1 ? 1 : -1, centroid: [g.cx, g.cy, g.cz] as Vec3, area: g.area };
  });
}
