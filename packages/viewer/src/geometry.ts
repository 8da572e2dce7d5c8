// The geometry of the orthogonal views, in pure TypeScript (no DOM, no cornerstone): which volume axis each view
// looks along, its camera in world LPS mm, and world <-> canvas <-> voxel. The viewer sets exactly these cameras on
// its cornerstone viewports, so these functions are the single truth for picking and for the test hook.
import type { Vec3, Volume } from '@physiotwin/core';
import { PhysiotwinError } from '@physiotwin/core';

/** An orthogonal (slice) view. */
export type OrthoView = 'axial' | 'sagittal' | 'coronal';

/** The three orthogonal views, in display order. */
export const ORTHO_VIEWS: readonly OrthoView[] = ['axial', 'sagittal', 'coronal'];

/** The geometry a view needs from a volume (a {@link Volume} without its data). */
export type VolumeGeometry = Pick<Volume, 'dims' | 'spacing' | 'origin' | 'direction'>;

/**
 * A parallel-projection camera in world LPS mm, as cornerstone (vtk.js) defines it: the view plane passes through
 * `focalPoint`; `viewPlaneNormal` points from the scene towards the viewer; `viewUp` is the canvas's up (-y);
 * `parallelScale` is half the canvas height in mm.
 */
export interface ViewCamera {
  focalPoint: Vec3;
  viewPlaneNormal: Vec3;
  viewUp: Vec3;
  /** up x normal: the canvas's +x. */
  viewRight: Vec3;
  parallelScale: number;
}

/** A canvas size in CSS pixels. */
export interface CanvasSize {
  width: number;
  height: number;
}

/** How a view cuts a volume: the index axis it steps through and the two it shows. */
export interface SliceAxes {
  /** Index axis (0 = i, 1 = j, 2 = k) normal to the view's slices. */
  sliceAxis: 0 | 1 | 2;
  /** Index axis drawn along the canvas's up direction. */
  upAxis: 0 | 1 | 2;
  /** Index axis drawn along the canvas's right direction. */
  rightAxis: 0 | 1 | 2;
}

/**
 * The patient-frame camera of each view when the volume is axis-aligned (cornerstone's MPR_CAMERA_VALUES): axial
 * looks up from the feet (normal [0, 0, -1]) with anterior up, sagittal from the left, coronal from the front.
 */
const CANONICAL: Readonly<Record<OrthoView, { normal: Vec3; up: Vec3 }>> = {
  axial: { normal: [0, 0, -1], up: [0, -1, 0] },
  sagittal: { normal: [1, 0, 0], up: [0, 0, 1] },
  coronal: { normal: [0, -1, 0], up: [0, 0, 1] },
};

const dot = (a: Vec3, b: Vec3): number => a[0] * b[0] + a[1] * b[1] + a[2] * b[2];
const cross = (a: Vec3, b: Vec3): Vec3 => [a[1] * b[2] - a[2] * b[1], a[2] * b[0] - a[0] * b[2], a[0] * b[1] - a[1] * b[0]];
const scale = (a: Vec3, s: number): Vec3 => [a[0] * s, a[1] * s, a[2] * s];
const add = (a: Vec3, b: Vec3): Vec3 => [a[0] + b[0], a[1] + b[1], a[2] + b[2]];
const sub = (a: Vec3, b: Vec3): Vec3 => [a[0] - b[0], a[1] - b[1], a[2] - b[2]];

function normalize(a: Vec3, what: string): Vec3 {
  const n = Math.hypot(a[0], a[1], a[2]);
  if (!(n > 1e-12)) throw new PhysiotwinError('INVALID_ARGUMENT', `viewer: ${what} is a zero vector (a singular volume direction)`);
  return scale(a, 1 / n);
}

/** Column `c` (the unit index axis c in LPS) of a volume's direction. */
function axis(v: VolumeGeometry, c: number): Vec3 {
  const d = v.direction;
  return [d[3 * c]!, d[3 * c + 1]!, d[3 * c + 2]!];
}

function checkGeometry(v: VolumeGeometry): void {
  const finite = [...v.dims, ...v.spacing, ...v.origin, ...v.direction].every(Number.isFinite);
  if (!finite || v.dims.some((n) => n < 1 || !Number.isInteger(n)) || v.spacing.some((s) => !(s > 0))) {
    throw new PhysiotwinError('INVALID_ARGUMENT', `viewer: volume geometry must have positive integer dims and positive spacing (dims ${v.dims.join('x')}, spacing ${v.spacing.join('x')})`);
  }
}

/**
 * Which index axis each view steps through: the one whose direction is closest to the view's patient-frame
 * normal (axial: S, sagittal: L, coronal: P), then the closest to its up. A view therefore shows true voxel slices
 * of an oblique or tilted volume (no resampling across slices), placed where they are in the world.
 * @throws PhysiotwinError `INVALID_ARGUMENT` for a volume direction with a zero column.
 */
export function sliceAxes(v: Pick<VolumeGeometry, 'direction'>, view: OrthoView): SliceAxes {
  const g = v as VolumeGeometry;
  const { normal, up } = CANONICAL[view];
  const axes = [0, 1, 2].map((c) => normalize(axis(g, c), `direction column ${c}`));
  const best = (ref: Vec3, among: number[]): number => among.reduce((b, c) => (Math.abs(dot(axes[c]!, ref)) > Math.abs(dot(axes[b]!, ref)) ? c : b), among[0]!);
  const sliceAxis = best(normal, [0, 1, 2]);
  const rest = [0, 1, 2].filter((c) => c !== sliceAxis);
  const upAxis = best(up, rest);
  const rightAxis = rest.find((c) => c !== upAxis)!;
  return { sliceAxis, upAxis, rightAxis } as SliceAxes;
}

/** World LPS mm of a continuous index (i, j, k): origin + direction * diag(spacing) * ijk. @throws nothing. */
export function indexToWorldPoint(v: VolumeGeometry, ijk: readonly [number, number, number]): Vec3 {
  const d = v.direction, s = v.spacing, o = v.origin;
  const a = ijk[0] * s[0], b = ijk[1] * s[1], c = ijk[2] * s[2];
  return [o[0] + d[0] * a + d[3] * b + d[6] * c, o[1] + d[1] * a + d[4] * b + d[7] * c, o[2] + d[2] * a + d[5] * b + d[8] * c];
}

/**
 * The continuous index of a world point (the inverse of {@link indexToWorldPoint}, also for a non-orthogonal
 * direction).
 * @throws PhysiotwinError `INVALID_ARGUMENT` when the direction is singular.
 */
export function worldToIndexPoint(v: VolumeGeometry, world: Vec3): Vec3 {
  const cols = [0, 1, 2].map((c) => scale(axis(v, c), v.spacing[c]!)) as [Vec3, Vec3, Vec3];
  // Cramer's rule on [c0 c1 c2] x = world - origin.
  const r = sub(world, v.origin);
  const det = dot(cols[0], cross(cols[1], cols[2]));
  if (!(Math.abs(det) > 1e-300) || !Number.isFinite(det)) throw new PhysiotwinError('INVALID_ARGUMENT', 'viewer: volume geometry is not invertible');
  return [dot(r, cross(cols[1], cols[2])) / det, dot(cols[0], cross(r, cols[2])) / det, dot(cols[0], cross(cols[1], r)) / det];
}

/** The voxel (rounded index) containing a world point, or undefined outside the volume. @throws as {@link worldToIndexPoint}. */
export function worldToVoxel(v: VolumeGeometry, world: Vec3): Vec3 | undefined {
  const ijk = worldToIndexPoint(v, world).map((x) => Math.round(x) + 0) as Vec3; // + 0: no -0
  return ijk.every((x, c) => x >= 0 && x < v.dims[c]!) ? ijk : undefined;
}

/** Zoom and pan of a view. */
export interface ViewZoom {
  /** Magnification over the fitted view (2 shows half the width). @default 1 */
  scale?: number | undefined;
  /** World point shown at the canvas centre (moved onto the slice). @default the volume's centre */
  center?: Vec3 | undefined;
}

/**
 * The camera of `view` on `v` showing slice `slice` (an index along the view's slice axis, default the middle one)
 * with the whole volume in a canvas of `size` (or magnified and panned by `zoom`): the focal point is the volume's
 * centre (or `zoom.center`) moved onto the slice, the
 * normal is perpendicular to the slice (the cross product of the two in-plane index axes, so a tilted stack is cut
 * along its own slices), up is the in-plane up axis made orthogonal to the normal, and `parallelScale` fits the
 * volume's eight corners (voxel edges) with a 5% margin.
 * @throws PhysiotwinError `INVALID_ARGUMENT` for a bad geometry or canvas size.
 */
export function viewCamera(v: VolumeGeometry, view: OrthoView, size: CanvasSize, slice?: number, zoom: ViewZoom = {}): ViewCamera {
  checkGeometry(v);
  const magnify = zoom.scale ?? 1;
  if (!(magnify > 0) || !Number.isFinite(magnify) || (zoom.center && !zoom.center.every(Number.isFinite))) throw new PhysiotwinError('INVALID_ARGUMENT', `viewer: zoom needs a positive scale and a finite centre (scale ${magnify})`);
  if (!(size.width > 0 && size.height > 0)) throw new PhysiotwinError('INVALID_ARGUMENT', `viewer: canvas size must be positive (${size.width}x${size.height})`);
  const { sliceAxis, upAxis, rightAxis } = sliceAxes(v, view);
  const canon = CANONICAL[view];
  let normal = normalize(cross(axis(v, upAxis), axis(v, rightAxis)), 'slice normal');
  if (dot(normal, canon.normal) < 0) normal = scale(normal, -1);
  const upAx = axis(v, upAxis);
  let up = normalize(sub(upAx, scale(normal, dot(upAx, normal))), 'view up');
  if (dot(up, canon.up) < 0) up = scale(up, -1);
  const right = cross(up, normal);
  const centreIdx: Vec3 = [(v.dims[0] - 1) / 2, (v.dims[1] - 1) / 2, (v.dims[2] - 1) / 2];
  const centre = indexToWorldPoint(v, centreIdx);
  const k = slice ?? Math.floor((v.dims[sliceAxis] - 1) / 2);
  const onSlice = [...centreIdx] as Vec3;
  onSlice[sliceAxis] = k;
  // The slice plane passes through the voxel centres of slice k; the focal point is the centre projected on it.
  const planePoint = indexToWorldPoint(v, onSlice);
  const look = zoom.center ?? centre;
  const focalPoint = add(look, scale(normal, dot(sub(planePoint, look), normal)));
  let halfUp = 0, halfRight = 0;
  for (let c = 0; c < 8; c++) {
    const corner: Vec3 = [c & 1 ? v.dims[0] - 0.5 : -0.5, c & 2 ? v.dims[1] - 0.5 : -0.5, c & 4 ? v.dims[2] - 0.5 : -0.5];
    const d = sub(indexToWorldPoint(v, corner), centre);
    halfUp = Math.max(halfUp, Math.abs(dot(d, up)));
    halfRight = Math.max(halfRight, Math.abs(dot(d, right)));
  }
  const parallelScale = (1.05 * Math.max(halfUp, (halfRight * size.height) / size.width)) / magnify;
  return { focalPoint, viewPlaneNormal: normal, viewUp: up, viewRight: right, parallelScale };
}

/** The slice index (along the view's slice axis, rounded) that a camera's focal plane shows. @throws as {@link worldToIndexPoint}. */
export function cameraSlice(v: VolumeGeometry, view: OrthoView, camera: Pick<ViewCamera, 'focalPoint'>): number {
  return Math.round(worldToIndexPoint(v, camera.focalPoint)[sliceAxes(v, view).sliceAxis]);
}

/** Canvas CSS pixels (x right, y down, origin top-left) of a world point projected on the view plane. @throws nothing. */
export function worldToCanvas(camera: ViewCamera, size: CanvasSize, world: Vec3): [number, number] {
  const s = size.height / 2 / camera.parallelScale;
  const d = sub(world, camera.focalPoint);
  return [size.width / 2 + dot(d, camera.viewRight) * s, size.height / 2 - dot(d, camera.viewUp) * s];
}

/** The world point (on the view plane through the focal point) at canvas CSS pixels `xy`. @throws nothing. */
export function canvasToWorld(camera: ViewCamera, size: CanvasSize, xy: readonly [number, number]): Vec3 {
  const s = size.height / 2 / camera.parallelScale;
  return add(camera.focalPoint, add(scale(camera.viewRight, (xy[0] - size.width / 2) / s), scale(camera.viewUp, (size.height / 2 - xy[1]) / s)));
}

/** Canvas CSS pixels of voxel `ijk`'s centre in a view (projected on its plane). @throws nothing. */
export function voxelToCanvas(v: VolumeGeometry, camera: ViewCamera, size: CanvasSize, ijk: readonly [number, number, number]): [number, number] {
  return worldToCanvas(camera, size, indexToWorldPoint(v, ijk));
}

/**
 * The voxel under canvas CSS pixels `xy` of a view, or undefined outside the volume.
 * @throws PhysiotwinError `INVALID_ARGUMENT` when the geometry is singular.
 */
export function canvasToVoxel(v: VolumeGeometry, camera: ViewCamera, size: CanvasSize, xy: readonly [number, number]): Vec3 | undefined {
  return worldToVoxel(v, canvasToWorld(camera, size, xy));
}
