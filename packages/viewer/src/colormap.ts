// Scalars on a mesh to colours (pure): per-cell values to per-point values and a colormap, for the viewer's 3D view
// (the outer surface of a tet mesh with its nodal values is @physiotwin/mesh's tetBoundarySurface).
import { PhysiotwinError } from '@physiotwin/core';

/** Control points of the colormap (blue -> cyan -> green -> yellow -> red, a "rainbow/jet" for stress maps). */
const STOPS: ReadonlyArray<readonly [number, number, number, number]> = [
  [0, 0, 0, 255],
  [0.25, 0, 255, 255],
  [0.5, 0, 255, 0],
  [0.75, 255, 255, 0],
  [1, 255, 0, 0],
];

/** RGB (0..255) of `t` in [0, 1] (clamped; NaN is grey). @throws nothing. */
export function colormapRgb(t: number): [number, number, number] {
  if (Number.isNaN(t)) return [128, 128, 128];
  const x = Math.min(1, Math.max(0, t));
  let k = 1;
  while (k < STOPS.length - 1 && STOPS[k]![0] < x) k++;
  const a = STOPS[k - 1]!, b = STOPS[k]!;
  const f = (x - a[0]) / (b[0] - a[0]);
  return [Math.round(a[1] + f * (b[1] - a[1])), Math.round(a[2] + f * (b[2] - a[2])), Math.round(a[3] + f * (b[3] - a[3]))];
}

/** Finite minimum and maximum of `values` ([0, 0] when none is finite). @throws nothing. */
export function scalarRange(values: ArrayLike<number>): [number, number] {
  let lo = Infinity, hi = -Infinity;
  for (let i = 0; i < values.length; i++) {
    const v = values[i]!;
    if (v < lo) lo = v;
    if (v > hi) hi = v;
  }
  return lo <= hi ? [lo, hi] : [0, 0];
}

/**
 * RGB per value (3 bytes each) on the colormap over `range` (default the values' own range).
 * @throws nothing.
 */
export function scalarsToRgb(values: ArrayLike<number>, range: readonly [number, number] = scalarRange(values)): Uint8Array {
  const out = new Uint8Array(3 * values.length);
  const span = range[1] - range[0];
  for (let i = 0; i < values.length; i++) {
    const rgb = colormapRgb(span > 0 ? (values[i]! - range[0]) / span : 0.5);
    out[3 * i] = rgb[0];
    out[3 * i + 1] = rgb[1];
    out[3 * i + 2] = rgb[2];
  }
  return out;
}

/**
 * Per-point values from per-triangle values: the mean over the triangles that use each point (0 for a point no
 * triangle uses).
 * @throws PhysiotwinError `INVALID_ARGUMENT` when `cellValues` is not one per triangle or a triangle names a missing point.
 */
export function cellToPointScalars(triangles: Uint32Array, cellValues: ArrayLike<number>, pointCount: number): Float32Array {
  if (cellValues.length * 3 !== triangles.length) throw new PhysiotwinError('INVALID_ARGUMENT', `viewer: ${cellValues.length} cell values for ${triangles.length / 3} triangles`);
  const sum = new Float64Array(pointCount), count = new Uint32Array(pointCount);
  for (let t = 0; t < triangles.length; t++) {
    const p = triangles[t]!;
    if (p >= pointCount) throw new PhysiotwinError('INVALID_ARGUMENT', `viewer: triangle ${Math.floor(t / 3)} references point ${p} of ${pointCount}`);
    sum[p] = sum[p]! + cellValues[Math.floor(t / 3)]!;
    count[p] = count[p]! + 1;
  }
  const out = new Float32Array(pointCount);
  for (let p = 0; p < pointCount; p++) out[p] = count[p]! > 0 ? sum[p]! / count[p]! : 0;
  return out;
}
