// The views' geometry in Node: world <-> canvas <-> voxel round trips and the cameras of axis-aligned, rotated
// (fixtures/mesh/vtkjs-headsq: 30 degrees about z) and oblique/tilted volumes.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import type { Mat3, Vec3 } from '@physiotwin/core';
import { isPhysiotwinError } from '@physiotwin/core';
import type { OrthoView, VolumeGeometry } from './geometry.js';
import { canvasToVoxel, canvasToWorld, cameraSlice, indexToWorldPoint, ORTHO_VIEWS, sliceAxes, viewCamera, voxelToCanvas, worldToCanvas, worldToIndexPoint, worldToVoxel } from './geometry.js';

/** The rotated head CT's geometry as its index.json records it (the data is not needed). */
function headsq(): VolumeGeometry {
  const j = JSON.parse(readFileSync(new URL('../../../fixtures/mesh/vtkjs-headsq/index.json', import.meta.url), 'utf8')) as { spacing: Vec3; origin: Vec3; direction: Mat3; extent: number[] };
  const e = j.extent;
  return { dims: [e[1]! - e[0]! + 1, e[3]! - e[2]! + 1, e[5]! - e[4]! + 1], spacing: j.spacing, origin: j.origin, direction: j.direction };
}

/** A synthetic oblique volume: rotated 20 degrees about x then 35 about z, with a 10 degree gantry-like shear of k. */
function oblique(): VolumeGeometry {
  const a = (20 * Math.PI) / 180, b = (35 * Math.PI) / 180, t = (10 * Math.PI) / 180;
  const rx = (v: Vec3): Vec3 => [v[0], Math.cos(a) * v[1] - Math.sin(a) * v[2], Math.sin(a) * v[1] + Math.cos(a) * v[2]];
  const rz = (v: Vec3): Vec3 => [Math.cos(b) * v[0] - Math.sin(b) * v[1], Math.sin(b) * v[0] + Math.cos(b) * v[1], v[2]];
  const i = rz(rx([1, 0, 0])), j = rz(rx([0, 1, 0]));
  const kRaw = rz(rx([0, Math.sin(t), Math.cos(t)]));
  return { dims: [40, 30, 20], spacing: [0.7, 0.9, 2.5], origin: [-12.5, 40, 101], direction: [...i, ...j, ...kRaw] as Mat3 };
}

const size = { width: 300, height: 200 };
const near = (a: readonly number[], b: readonly number[], tol: number) => a.forEach((x, c) => expect(Math.abs(x - b[c]!)).toBeLessThan(tol));
// Round trips are a few dozen flops on values up to ~1e3: 1e-9 is far above double rounding and far below a voxel.
const TOL = 1e-9;

describe('viewer geometry', () => {
  it('the rotated head CT: index (1,0,0) is world (2.7712, 1.6, 0) as its README says, and world <-> index round-trips', () => {
    const v = headsq();
    near(indexToWorldPoint(v, [1, 0, 0]), [2.7712, 1.6, 0], 1e-12);
    const ijk: Vec3 = [17.25, 40.5, 61];
    near(worldToIndexPoint(v, indexToWorldPoint(v, ijk)), ijk, TOL);
    expect(worldToVoxel(v, indexToWorldPoint(v, [63, 0, 92]))).toEqual([63, 0, 92]);
    expect(worldToVoxel(v, indexToWorldPoint(v, [64, 0, 0]))).toBeUndefined();
  });

  it('the rotated head CT: axial steps through k, shows i right and j up (anterior up flips j), in the rotated frame', () => {
    const v = headsq();
    expect(sliceAxes(v, 'axial')).toEqual({ sliceAxis: 2, upAxis: 1, rightAxis: 0 });
    expect(sliceAxes(v, 'sagittal').sliceAxis).toBe(0);
    expect(sliceAxes(v, 'coronal').sliceAxis).toBe(1);
    const cam = viewCamera(v, 'axial', size, 10);
    near(cam.viewPlaneNormal, [0, 0, -1], TOL);
    // Up is -j (anterior = -P): j's direction is (-0.5, 0.866, 0); right is i (0.866, 0.5, 0).
    near(cam.viewUp, [0.5, -0.866, 0], 1e-3);
    near(cam.viewRight, [0.866, 0.5, 0], 1e-3);
    expect(cameraSlice(v, 'axial', cam)).toBe(10);
    // One voxel step along i moves 3.2 mm to the right on the canvas, none up: the 30 degree rotation is undone.
    const a = voxelToCanvas(v, cam, size, [10, 20, 10]), b = voxelToCanvas(v, cam, size, [11, 20, 10]);
    const pxPerMm = size.height / 2 / cam.parallelScale;
    near([b[0] - a[0], b[1] - a[1]], [3.2 * pxPerMm, 0], 1e-3 * pxPerMm);
    // A step in j (posterior-ish) goes down the canvas.
    const c = voxelToCanvas(v, cam, size, [10, 21, 10]);
    near([c[0] - a[0], c[1] - a[1]], [0, 3.2 * pxPerMm], 1e-3 * pxPerMm);
  });

  it('every view of every geometry: canvas -> world -> canvas, voxel -> canvas -> voxel on the shown slice', () => {
    const axisAligned: VolumeGeometry = { dims: [157, 393, 34], spacing: [0.878906, 0.878906, 1.50009], origin: [-156.445, -24.6094, 0], direction: [-1, 0, 0, 0, -1, 0, 0, 0, 1] };
    for (const v of [axisAligned, headsq(), oblique()]) {
      for (const view of ORTHO_VIEWS) {
        const { sliceAxis } = sliceAxes(v, view);
        const slice = Math.min(3, v.dims[sliceAxis] - 1);
        const cam = viewCamera(v, view, size, slice);
        // An orthonormal, right-handed frame: right = up x normal.
        near([Math.hypot(...cam.viewUp), Math.hypot(...cam.viewRight), Math.hypot(...cam.viewPlaneNormal)], [1, 1, 1], TOL);
        expect(Math.abs(cam.viewUp[0] * cam.viewPlaneNormal[0] + cam.viewUp[1] * cam.viewPlaneNormal[1] + cam.viewUp[2] * cam.viewPlaneNormal[2])).toBeLessThan(TOL);
        const xy: [number, number] = [37.5, 151.25];
        near(worldToCanvas(cam, size, canvasToWorld(cam, size, xy)), xy, 1e-7);
        for (const ijk of [[0, 0, 0], [v.dims[0] - 1, 5, 2], [7, v.dims[1] - 1, v.dims[2] - 1]] as Vec3[]) {
          ijk[sliceAxis] = slice;
          expect(canvasToVoxel(v, cam, size, voxelToCanvas(v, cam, size, ijk)), `${view} ${ijk.join(',')}`).toEqual(ijk);
        }
        // The whole volume fits: every corner voxel's centre is inside the canvas.
        for (let c = 0; c < 8; c++) {
          const [x, y] = voxelToCanvas(v, cam, size, [c & 1 ? v.dims[0] - 1 : 0, c & 2 ? v.dims[1] - 1 : 0, c & 4 ? v.dims[2] - 1 : 0]);
          expect(x >= 0 && x <= size.width && y >= 0 && y <= size.height, `${view} corner ${c}: ${x},${y}`).toBe(true);
        }
      }
    }
  });

  it('a tilted stack is cut along its own slices: the normal is perpendicular to i and j, not to k', () => {
    const v = oblique();
    const cam = viewCamera(v, 'axial', size);
    const col = (c: number): Vec3 => [v.direction[3 * c]!, v.direction[3 * c + 1]!, v.direction[3 * c + 2]!];
    const { upAxis, rightAxis, sliceAxis } = sliceAxes(v, 'axial');
    expect(sliceAxis).toBe(2);
    for (const c of [upAxis, rightAxis]) expect(Math.abs(col(c).reduce((s, x, n) => s + x * cam.viewPlaneNormal[n]!, 0))).toBeLessThan(TOL);
    expect(Math.abs(col(2).reduce((s, x, n) => s + x * cam.viewPlaneNormal[n]!, 0))).toBeLessThan(0.99);
    // Every voxel centre of the shown slice lies on the view plane.
    const k = cameraSlice(v, 'axial', cam);
    const p = indexToWorldPoint(v, [31, 2, k]);
    const off = [0, 1, 2].reduce((s, n) => s + (p[n]! - cam.focalPoint[n]!) * cam.viewPlaneNormal[n]!, 0);
    expect(Math.abs(off)).toBeLessThan(TOL * 1e3);
  });

  it('zoom magnifies about a chosen centre: that point stays at the canvas centre, distances grow by the scale', () => {
    const v = oblique();
    const ijk: Vec3 = [30, 4, 7];
    const fit = viewCamera(v, 'coronal', size, ijk[sliceAxes(v, 'coronal').sliceAxis]);
    const zoomed = viewCamera(v, 'coronal', size, ijk[sliceAxes(v, 'coronal').sliceAxis], { scale: 4, center: indexToWorldPoint(v, ijk) });
    near(voxelToCanvas(v, zoomed, size, ijk), [size.width / 2, size.height / 2], 1e-7);
    expect(fit.parallelScale / zoomed.parallelScale).toBeCloseTo(4, 12);
    const step = (c: typeof fit) => Math.hypot(...voxelToCanvas(v, c, size, [31, 4, 7]).map((x, n) => x - voxelToCanvas(v, c, size, ijk)[n]!));
    expect(step(zoomed) / step(fit)).toBeCloseTo(4, 9);
    expect(() => viewCamera(v, 'axial', size, 0, { scale: 0 })).toThrow(expect.objectContaining({ code: 'INVALID_ARGUMENT' }) as Error);
  });

  it('refuses a degenerate geometry or canvas with INVALID_ARGUMENT', () => {
    const v = headsq();
    const bad: Array<[VolumeGeometry, OrthoView]> = [
      [{ ...v, spacing: [0, 1, 1] }, 'axial'],
      [{ ...v, dims: [0, 4, 4] }, 'sagittal'],
      [{ ...v, direction: [0, 0, 0, 0, 1, 0, 0, 0, 1] }, 'coronal'],
    ];
    for (const [g, view] of bad) expect(() => viewCamera(g, view, size)).toThrow(expect.objectContaining({ code: 'INVALID_ARGUMENT' }) as Error);
    try {
      viewCamera(v, 'axial', { width: 0, height: 10 });
      expect.unreachable();
    } catch (e) {
      expect(isPhysiotwinError(e) && e.code).toBe('INVALID_ARGUMENT');
    }
  });
});
