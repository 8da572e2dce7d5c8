import type { OperationOptions, Polylines, SurfaceMesh, Vec3, Volume } from '@physiotwin/core';
import { PhysiotwinError, progressReporter, throwIfAborted, validateSurfaceMesh, validateVolume } from '@physiotwin/core';
import { checkSeeds, squaredDistanceCpu } from '@physiotwin/segment';
import { branchTree, findEnds, minimalPaths, pathTo, pathWeights, voxelMm, type LumenGrid } from './centerline-paths.js';
import { crossSection, inscribedRadius, resample, smoothPolyline, tangentAt } from './centerline-section.js';
import { surfaceDistance, triangleGrid } from './centerline-surface.js';

/** Options of {@link extractCenterlines}. */
export interface CenterlineOptions extends OperationOptions {
  /** The lumen is the voxels equal to this label. @default every non-zero voxel */
  label?: number | undefined;
  /**
   * Inlet seed voxel (i, j, k) inside the lumen: the centerlines start there (moved uphill on the distance map
   * to the medial axis). @default the branch end (found as the outlets are) with the largest inscribed radius:
   * the proximal end of an arterial tree cut by the image
   */
  inlet?: Vec3 | undefined;
  /** Outlet seed voxels (i, j, k) inside the lumen, each moved to the medial axis as the inlet is. @default found automatically: the ends of the branches, as TEASAR finds them (see {@link extractCenterlines}) */
  outlets?: readonly Vec3[] | undefined;
  /** p in the path cost 1 / r^p (r the distance to the background, mm): larger keeps paths closer to the axis. @default 2 */
  costExponent?: number | undefined;
  /**
   * Automatic outlets: a side branch is kept when its length from the centerline it joins is at least this many
   * times the radius there (shorter ones are bumps of the wall or stubs). @default 2.5
   */
  minBranchRatio?: number | undefined;
  /** Automatic outlets: a traced path covers the voxels within this many times the radius of its points, plus one voxel. @default 1.5 */
  coverScale?: number | undefined;
  /** Point spacing along the centerlines, mm. @default the finest voxel spacing */
  step?: number | undefined;
  /**
   * The lumen's surface (world LPS mm; e.g. its marching-cubes surface, smoothed). When given, each point's
   * radius is its distance to the nearest triangle, the maximal inscribed sphere of the surface as VMTK measures
   * it (where a triangle lies within twice the mask's radius plus two voxels; elsewhere the mask's estimate).
   */
  surface?: SurfaceMesh | undefined;
}

/** One branch of {@link Centerlines}: points `start .. start + count - 1` of its arrays. */
export interface CenterlineBranch {
  id: number;
  start: number;
  count: number;
  /** The branch it leaves at its first point (that branch's last point); -1 for branches from the inlet. */
  parent: number;
  children: number[];
  /** True when it ends at an outlet, false at a bifurcation. */
  endsAtOutlet: boolean;
  /** Length along its points, mm. */
  length: number;
}

/**
 * Centerlines of a vessel tree, split into branches at bifurcations. A bifurcation point is stored once per
 * branch that meets there (the parent's last point and each child's first point), so every branch is one
 * polyline. Per point: world position (LPS mm), maximal inscribed sphere radius, cross-section area, abscissa.
 */
export interface Centerlines {
  /** xyz per point, world LPS mm. */
  points: Float64Array;
  /** Radius of the largest sphere centred at the point inside the lumen, mm. */
  radius: Float64Array;
  /**
   * Area of the lumen's cut normal to the centerline, mm^2; where that cut runs into a bifurcation (it is not a
   * closed region within 1.5 radii), pi radius^2 instead.
   */
  area: Float64Array;
  /** Distance along the branch from its first point, mm. */
  abscissa: Float64Array;
  branchId: Int32Array;
  branches: CenterlineBranch[];
  /** The inlet voxel the paths start from (after moving to the medial axis). */
  inletVoxel: Vec3;
  /** The outlet voxels, one per branch that ends at an outlet, in branch order. */
  outletVoxels: Vec3[];
}

function voxelOf(dims: Vec3, v: number): Vec3 {
  return [v % dims[0], Math.floor(v / dims[0]) % dims[1], Math.floor(v / (dims[0] * dims[1]))];
}

/** Moves a lumen voxel uphill on the distance map (26 neighbours) to a local maximum: onto the medial axis. */
function toAxis(g: LumenGrid, v: number): number {
  const [nx, ny, nz] = g.dims;
  for (;;) {
    const [i, j, k] = voxelOf(g.dims, v);
    let best = v;
    for (let c = Math.max(0, k - 1); c <= Math.min(nz - 1, k + 1); c++) {
      for (let b = Math.max(0, j - 1); b <= Math.min(ny - 1, j + 1); b++) {
        for (let a = Math.max(0, i - 1); a <= Math.min(nx - 1, i + 1); a++) {
          const u = a + nx * (b + ny * c);
          if (g.dt[u]! > g.dt[best]!) best = u;
        }
      }
    }
    if (best === v) return v;
    v = best;
  }
}

function positive(name: string, value: number | undefined, fallback: number): number {
  const v = value ?? fallback;
  if (!(Number.isFinite(v) && v > 0)) throw new PhysiotwinError('INVALID_ARGUMENT', `extractCenterlines: ${name} must be a positive number, got ${value}`);
  return v;
}

/**
 * Centerlines of a vessel lumen from its labelmap, between an inlet and the outlets, split into branches at the
 * bifurcations, with the maximal inscribed sphere radius, cross-section area and abscissa at every point.
 *
 * Method (a distance-map counterpart of VMTK's Voronoi-diagram centerlines): the exact Euclidean distance map r
 * (mm, anisotropic spacing) of the lumen; minimal-cost paths from the inlet through the 26-connected lumen with
 * cost 1 / r^p per mm (Dijkstra; one predecessor tree, so the paths to different outlets share their voxels until
 * they part, and they part at the bifurcation); outlets, unless given, found as TEASAR (Sato et al. 2000) finds
 * branch ends: repeatedly the voxel farthest along the paths that no traced path's ball (coverScale radii) covers,
 * kept when its branch is at least minBranchRatio radii long, and moved back from the wall it reaches to the
 * centre of the largest sphere inscribed there (a vessel cut by the image border ends near its cut); each
 * branch's voxel path resampled every `step` mm, smoothed, and moved three times to the centroid of the lumen's
 * cross-section normal to its tangent (the region of the plane inside the 0.5 level of the trilinearly
 * interpolated mask that holds the point; points whose cut is not closed, at bifurcations, stay; a vessel cut
 * by the image border ends where its cut first reaches the border). The radius is the distance from the point
 * to the nearest background voxel centre or, where smaller, sqrt(area / pi) of its cross-section (the sphere's
 * cut lies in the cross-section), averaged with the neighbouring points'; with `surface`, the distance to it.
 * Outside the image is not background, so a vessel cut by the image border keeps its full radius there.
 *
 * Only the connected lumen holding the inlet is followed. CPU only: paths are sequential graph searches.
 * @param mask labelmap on any geometry (spacing and direction are honoured; results are in world LPS mm)
 * @throws PhysiotwinError `INVALID_ARGUMENT` (empty lumen, a seed outside the image or the lumen, an outlet seed
 *   not connected to the inlet, bad options), `GEOMETRY_INVALID` (no outlet found: the lumen is a blob with no
 *   branch longer than minBranchRatio radii, or the mask fills the image), `ABORTED`.
 * @example
 * ```ts
 * const c = extractCenterlines(labels, { label: 1 });
 * const bytes = writeVtpPolylines(centerlinesToPolylines(c));
 * ```
 */
export function extractCenterlines(mask: Volume, options: CenterlineOptions = {}): Centerlines {
  validateVolume(mask);
  if (mask.components !== 1) throw new PhysiotwinError('INVALID_ARGUMENT', `extractCenterlines: the mask must have one component per voxel, got ${mask.components}`);
  const exponent = positive('costExponent', options.costExponent, 2);
  const minBranchRatio = positive('minBranchRatio', options.minBranchRatio, 2.5);
  const coverScale = positive('coverScale', options.coverScale, 1.5);
  const minSpacing = Math.min(...mask.spacing);
  const maxSpacing = Math.max(...mask.spacing);
  const step = positive('step', options.step, minSpacing);
  if (options.surface) validateSurfaceMesh(options.surface);
  if (options.inlet) checkSeeds(mask, [options.inlet], 'extractCenterlines (inlet)');
  if (options.outlets) checkSeeds(mask, options.outlets, 'extractCenterlines (outlets)');
  const { dims, spacing } = mask;
  const label = options.label;
  const inside = new Uint8Array(mask.data.length);
  let lumenVoxels = 0;
  for (let v = 0; v < inside.length; v++) {
    const value = mask.data[v]!;
    if (label === undefined ? value !== 0 : value === label) (inside[v] = 1, lumenVoxels++);
  }
  if (lumenVoxels === 0) throw new PhysiotwinError('INVALID_ARGUMENT', `extractCenterlines: the mask has no lumen voxel${label === undefined ? '' : ` with label ${label}`}`);

  throwIfAborted(options.signal, 'centerlines');
  options.onProgress?.({ stage: 'centerlines: distance map', done: 0, total: 1 });
  const d2 = squaredDistanceCpu(inside, dims, spacing, false);
  const dt = new Float64Array(inside.length);
  for (let v = 0; v < dt.length; v++) {
    if (!inside[v]) continue;
    if (!Number.isFinite(d2[v]!)) throw new PhysiotwinError('GEOMETRY_INVALID', 'extractCenterlines: the lumen fills the whole image (no background voxel): nothing bounds its radius');
    dt[v] = Math.sqrt(d2[v]!);
  }
  const g: LumenGrid = { dims, spacing, inside, dt };
  const pathTick = progressReporter(options, 'centerlines: paths', 1);
  const tick = () => pathTick(0);
  const seedVoxel = (s: Vec3, what: string) => {
    const v = s[0] + dims[0] * (s[1] + dims[1] * s[2]);
    if (!inside[v]) throw new PhysiotwinError('INVALID_ARGUMENT', `extractCenterlines: the ${what} seed (${s.join(', ')}) is not in the lumen${label === undefined ? '' : ` (label ${label})`}`);
    return toAxis(g, v);
  };
  const weight = pathWeights(g, exponent);
  const search = { ballScale: coverScale, ballMm: maxSpacing, minBranchRatio };

  let source: number;
  let field;
  let ends: number[];
  if (options.inlet) {
    source = seedVoxel(options.inlet, 'inlet');
    field = minimalPaths(g, source, weight, tick);
    ends = options.outlets ? options.outlets.map((s, n) => seedVoxel(s, `outlet ${n}`)) : findEnds(g, field, search, tick);
  } else {
    // As TEASAR picks its root: the voxel farthest from the deepest one (on the wall of a branch end); the ends
    // as seen from there, plus that end itself moved to its inscribed sphere's centre as findEnds moves ends;
    // the widest of them is the inlet.
    let deepest = 0;
    for (let v = 1; v < dt.length; v++) if (dt[v]! > dt[deepest]!) deepest = v;
    const fromDeepest = minimalPaths(g, deepest, weight, tick);
    let farthest = deepest;
    for (let v = 0; v < dt.length; v++) if (fromDeepest.length[v]! > fromDeepest.length[farthest]! && Number.isFinite(fromDeepest.length[v]!)) farthest = v;
    field = minimalPaths(g, farthest, weight, tick);
    const found = findEnds(g, field, search, tick);
    if (found.length === 0) throw new PhysiotwinError('GEOMETRY_INVALID', 'extractCenterlines: no branch end found to start from; give the inlet as a seed');
    const root: Vec3 = [0, 0, 0], q: Vec3 = [0, 0, 0];
    voxelMm(g, farthest, root);
    const rootEnd = pathTo(field, found[0]!).find((v) => {
      voxelMm(g, v, q);
      return Math.hypot(q[0] - root[0], q[1] - root[1], q[2] - root[2]) >= dt[v]!;
    }) ?? farthest;
    const candidates = [rootEnd, ...found];
    source = candidates.reduce((a, b) => (dt[b]! > dt[a]! ? b : a));
    field = minimalPaths(g, source, weight, tick);
    ends = options.outlets ? options.outlets.map((s, n) => seedVoxel(s, `outlet ${n}`)) : candidates;
  }
  ends.forEach((v, n) => {
    if (!Number.isFinite(field.cost[v]!)) throw new PhysiotwinError('INVALID_ARGUMENT', `extractCenterlines: outlet seed ${n} (${voxelOf(dims, v).join(', ')}) is not connected to the inlet through the lumen`);
  });
  ends = ends.filter((v) => v !== source);
  if (ends.length === 0) throw new PhysiotwinError('GEOMETRY_INVALID', 'extractCenterlines: no outlet found: the lumen connected to the inlet has no branch longer than minBranchRatio radii; give outlet seeds or lower minBranchRatio');

  const tree = branchTree(field, ends);
  const refineTick = progressReporter(options, 'centerlines: refine', tree.length);
  const rootChildren = tree.filter((b) => b.parent < 0).length;
  const sampleStep = 0.5 * minSpacing;
  const nearestDt = (x: number, y: number, z: number) => {
    const i = Math.min(Math.max(Math.round(x / spacing[0]), 0), dims[0] - 1);
    const j = Math.min(Math.max(Math.round(y / spacing[1]), 0), dims[1] - 1);
    const k = Math.min(Math.max(Math.round(z / spacing[2]), 0), dims[2] - 1);
    return Math.max(dt[i + dims[0] * (j + dims[1] * k)]!, minSpacing);
  };
  const section = (xyz: Float64Array, i: number) => {
    const p = [xyz[3 * i]!, xyz[3 * i + 1]!, xyz[3 * i + 2]!];
    const r = nearestDt(p[0]!, p[1]!, p[2]!);
    const t = tangentAt(xyz, i, Math.max(1, Math.round(r / step)));
    return { r, s: crossSection(g, p, t, 1.5 * r + 2 * maxSpacing, sampleStep) };
  };

  const perBranch: { xyz: Float64Array; radius: Float64Array; area: Float64Array }[] = [];
  tree.forEach((b, id) => {
    refineTick(id);
    const fixedStart = b.parent >= 0 || rootChildren > 1;
    const fixedEnd = !b.endsAtOutlet;
    let xyz: Float64Array = new Float64Array(3 * b.voxels.length);
    b.voxels.forEach((v, t) => {
      const [i, j, k] = voxelOf(dims, v);
      xyz[3 * t] = i * spacing[0];
      xyz[3 * t + 1] = j * spacing[1];
      xyz[3 * t + 2] = k * spacing[2];
    });
    xyz = smoothPolyline(resample(xyz, step), 2);
    for (let pass = 0; pass < 3; pass++) {
      const n = xyz.length / 3;
      const sections = Array.from({ length: n }, (_, i) => section(xyz, i).s);
      // A free end (inlet or outlet) cut by the image border ends where its cut first reaches the border:
      // beyond, the lumen's cut is unknown.
      let first = 0, last = n - 1;
      if (!fixedStart) while (first < last - 1 && sections[first]!.clipped) first++;
      if (!fixedEnd) while (last > first + 1 && sections[last]!.clipped) last--;
      const moved = xyz.slice(3 * first, 3 * last + 3);
      for (let i = first; i <= last; i++) {
        if ((i === 0 && fixedStart) || (i === n - 1 && fixedEnd)) continue;
        const s = sections[i]!;
        if (s.found && s.closed) moved.set(s.centroid, 3 * (i - first));
      }
      xyz = smoothPolyline(moved, 1);
    }
    xyz = resample(xyz, step);
    const m = xyz.length / 3;
    // The distance to the nearest background voxel centre exceeds the inscribed radius by up to a few % of a
    // voxel (which centre happens to be nearest); the sphere's cut by the normal plane lies in the cross-section,
    // so sqrt(area / pi) bounds the radius too: the smaller of the two, averaged over +-1 point.
    const sphere = new Float64Array(m);
    const closed = new Float64Array(m).fill(NaN);
    for (let i = 0; i < m; i++) {
      sphere[i] = inscribedRadius(g, xyz.subarray(3 * i, 3 * i + 3));
      const { s } = section(xyz, i);
      if (s.found && s.closed) {
        closed[i] = s.area;
        sphere[i] = Math.min(sphere[i]!, Math.sqrt(s.area / Math.PI));
      }
    }
    const radius = new Float64Array(m);
    const area = new Float64Array(m);
    for (let i = 0; i < m; i++) {
      const h = Math.min(1, i, m - 1 - i);
      for (let o = -h; o <= h; o++) radius[i] = radius[i]! + sphere[i + o]! / (2 * h + 1);
      area[i] = Number.isNaN(closed[i]!) ? Math.PI * radius[i]! ** 2 : closed[i]!;
    }
    perBranch.push({ xyz, radius, area });
  });
  refineTick(tree.length);

  const surface = options.surface && options.surface.triangles.length > 0 ? triangleGrid(options.surface) : undefined;
  const total = perBranch.reduce((a, b) => a + b.radius.length, 0);
  const points = new Float64Array(3 * total);
  const radius = new Float64Array(total);
  const area = new Float64Array(total);
  const abscissa = new Float64Array(total);
  const branchId = new Int32Array(total);
  const D = mask.direction, O = mask.origin;
  const branches: CenterlineBranch[] = [];
  let at = 0;
  perBranch.forEach((b, id) => {
    const m = b.radius.length;
    for (let i = 0; i < m; i++) {
      const [x, y, z] = [b.xyz[3 * i]!, b.xyz[3 * i + 1]!, b.xyz[3 * i + 2]!];
      for (let d = 0; d < 3; d++) points[3 * (at + i) + d] = O[d]! + D[d]! * x + D[3 + d]! * y + D[6 + d]! * z;
      if (i > 0) abscissa[at + i] = abscissa[at + i - 1]! + Math.hypot(x - b.xyz[3 * i - 3]!, y - b.xyz[3 * i - 2]!, z - b.xyz[3 * i - 1]!);
    }
    if (surface) {
      for (let i = 0; i < m; i++) {
        const d = surfaceDistance(surface, points.subarray(3 * (at + i), 3 * (at + i) + 3), 2 * b.radius[i]! + 2 * maxSpacing);
        if (Number.isFinite(d)) b.radius[i] = d;
      }
    }
    radius.set(b.radius, at);
    area.set(b.area, at);
    branchId.fill(id, at, at + m);
    const t = tree[id]!;
    branches.push({ id, start: at, count: m, parent: t.parent, children: [...t.children], endsAtOutlet: t.endsAtOutlet, length: abscissa[at + m - 1]! });
    at += m;
  });
  return {
    points,
    radius,
    area,
    abscissa,
    branchId,
    branches,
    inletVoxel: voxelOf(dims, source),
    outletVoxels: tree.filter((b) => b.endsAtOutlet).map((b) => voxelOf(dims, b.voxels[b.voxels.length - 1]!)),
  };
}

/**
 * The centerlines as polylines (one line per branch) with point arrays `radius`, `area`, `abscissa` (mm, mm^2)
 * and `branchId`, and cell arrays `branchId` and `parentId` (-1 at the inlet), for `writeVtpPolylines`.
 * @throws nothing (the centerlines come from extractCenterlines)
 */
export function centerlinesToPolylines(c: Centerlines): Polylines {
  const n = c.radius.length;
  const offsets = new Uint32Array(c.branches.length);
  let end = 0;
  c.branches.forEach((b, i) => (offsets[i] = end += b.count));
  const connectivity = new Uint32Array(n);
  for (let i = 0; i < n; i++) connectivity[i] = i;
  return {
    positions: Float32Array.from(c.points),
    connectivity,
    offsets,
    pointData: {
      radius: { values: c.radius, components: 1 },
      area: { values: c.area, components: 1 },
      abscissa: { values: c.abscissa, components: 1 },
      branchId: { values: c.branchId, components: 1 },
    },
    cellData: {
      branchId: { values: Int32Array.from(c.branches, (b) => b.id), components: 1 },
      parentId: { values: Int32Array.from(c.branches, (b) => b.parent), components: 1 },
    },
  };
}
