import { createVolume, type Mat3, type Vec3, type Volume } from '@physiotwin/core';

/** A straight axis segment from a to b (mm) with radius r(s) at distance s from a. */
export interface AxisSegment {
  a: Vec3;
  b: Vec3;
  radius: (s: number) => number;
}

/** Closest point parameter (mm from a, clamped to the segment) and distance from x to the segment's axis. */
export function toSegment(seg: AxisSegment, x: readonly number[]): { s: number; d: number; length: number } {
  const ab = [seg.b[0] - seg.a[0], seg.b[1] - seg.a[1], seg.b[2] - seg.a[2]];
  const length = Math.hypot(ab[0]!, ab[1]!, ab[2]!);
  const ax = [x[0]! - seg.a[0], x[1]! - seg.a[1], x[2]! - seg.a[2]];
  const s = Math.min(Math.max((ax[0]! * ab[0]! + ax[1]! * ab[1]! + ax[2]! * ab[2]!) / length, 0), length);
  const d = Math.hypot(ax[0]! - (s * ab[0]!) / length, ax[1]! - (s * ab[1]!) / length, ax[2]! - (s * ab[2]!) / length);
  return { s, d, length };
}

/**
 * A labelmap (1 in the lumen) of the union of tubes of revolution around straight segments, in world mm: a voxel
 * centre x is inside a segment's tube when its projection on the axis falls within the segment (ends are flat,
 * or cut by the image) and its distance to the axis is at most r(s).
 */
export function tubeLabelmap(segments: readonly AxisSegment[], dims: Vec3, spacing: Vec3, origin: Vec3 = [0, 0, 0], direction?: Mat3): Volume<Uint8Array> {
  const data = new Uint8Array(dims[0] * dims[1] * dims[2]);
  const D = direction ?? [1, 0, 0, 0, 1, 0, 0, 0, 1];
  const x = [0, 0, 0];
  for (let k = 0; k < dims[2]; k++) for (let j = 0; j < dims[1]; j++) for (let i = 0; i < dims[0]; i++) {
    for (let d = 0; d < 3; d++) x[d] = origin[d]! + D[d]! * i * spacing[0] + D[3 + d]! * j * spacing[1] + D[6 + d]! * k * spacing[2];
    for (const seg of segments) {
      const ab = [seg.b[0] - seg.a[0], seg.b[1] - seg.a[1], seg.b[2] - seg.a[2]];
      const length = Math.hypot(ab[0]!, ab[1]!, ab[2]!);
      const t = ((x[0]! - seg.a[0]) * ab[0]! + (x[1]! - seg.a[1]) * ab[1]! + (x[2]! - seg.a[2]) * ab[2]!) / length;
      if (t < 0 || t > length) continue;
      if (toSegment(seg, x).d <= seg.radius(t)) {
        data[i + dims[0] * (j + dims[1] * k)] = 1;
        break;
      }
    }
  }
  return createVolume({ data, dims, spacing, origin, ...(direction ? { direction } : {}) });
}

/** A helix x = a cos t, y = a sin t, z = c t (t in [0, turns 2 pi]) centred in the volume, as a labelmap of a tube of radius r. */
export function helixLabelmap(a: number, c: number, turns: number, r: number, spacing: Vec3): { volume: Volume<Uint8Array>; curve: (t: number) => Vec3; tMax: number; offset: Vec3 } {
  const tMax = 2 * Math.PI * turns;
  const margin = r + 2;
  const offset: Vec3 = [a + margin, a + margin, 0];
  const dims: Vec3 = [Math.ceil((2 * (a + margin)) / spacing[0]) + 1, Math.ceil((2 * (a + margin)) / spacing[1]) + 1, Math.floor((c * tMax) / spacing[2]) + 1];
  const curve = (t: number): Vec3 => [offset[0] + a * Math.cos(t), offset[1] + a * Math.sin(t), c * t];
  const samples = Math.ceil(tMax / 0.004);
  const pts = new Float64Array(3 * (samples + 1));
  for (let m = 0; m <= samples; m++) pts.set(curve((tMax * m) / samples), 3 * m);
  const data = new Uint8Array(dims[0] * dims[1] * dims[2]);
  for (let k = 0; k < dims[2]; k++) {
    const z = k * spacing[2];
    // only the samples whose z is within r of the slice
    const m0 = Math.max(0, Math.floor(((z - r) / c / tMax) * samples)), m1 = Math.min(samples, Math.ceil(((z + r) / c / tMax) * samples));
    for (let j = 0; j < dims[1]; j++) for (let i = 0; i < dims[0]; i++) {
      const x = i * spacing[0], y = j * spacing[1];
      let best = Infinity;
      for (let m = m0; m <= m1; m++) best = Math.min(best, (pts[3 * m]! - x) ** 2 + (pts[3 * m + 1]! - y) ** 2 + (pts[3 * m + 2]! - z) ** 2);
      if (best <= r * r) data[i + dims[0] * (j + dims[1] * k)] = 1;
    }
  }
  return { volume: createVolume({ data, dims, spacing }), curve, tMax, offset };
}
