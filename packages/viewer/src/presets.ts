// CT window/level presets and an automatic window for images in other units (pure; no DOM, no cornerstone).
import type { Volume } from '@physiotwin/core';
import { PhysiotwinError } from '@physiotwin/core';

/** A display window: values below `center - width / 2` show black, above `center + width / 2` white. */
export interface WindowLevel {
  /** Window width, in the image's physical units (HU for CT). */
  width: number;
  /** Window centre (level), same units. */
  center: number;
}

/** Names of the CT presets. */
export type CtPresetName = 'softTissue' | 'angio' | 'bone' | 'lung';

/** The usual CT windows, HU: soft tissue 400/40, angio (contrast vessels) 600/300, bone 2000/500, lung 1500/-600. */
export const CT_PRESETS: Readonly<Record<CtPresetName, WindowLevel>> = {
  softTissue: { width: 400, center: 40 },
  angio: { width: 600, center: 300 },
  bone: { width: 2000, center: 500 },
  lung: { width: 1500, center: -600 },
};

/** The value range [lower, upper] a window shows. @throws PhysiotwinError `INVALID_ARGUMENT` for a width that is not positive. */
export function windowRange(w: WindowLevel): { lower: number; upper: number } {
  if (!(w.width > 0) || !Number.isFinite(w.center)) throw new PhysiotwinError('INVALID_ARGUMENT', `viewer: a window needs a positive width and a finite centre (got ${w.width}/${w.center})`);
  return { lower: w.center - w.width / 2, upper: w.center + w.width / 2 };
}

/**
 * A window from the image's own values: the 1st to the 99.5th percentile of (at most 65 536) evenly sampled voxels,
 * in physical units (rescale applied). For images not in HU (e.g. the VMTK aorta's scanner units).
 * @throws PhysiotwinError `INVALID_ARGUMENT` for an empty volume.
 */
export function autoWindow(v: Pick<Volume, 'data' | 'rescale'>): WindowLevel {
  const n = v.data.length;
  if (n === 0) throw new PhysiotwinError('INVALID_ARGUMENT', 'viewer: cannot window an empty volume');
  const step = Math.max(1, Math.floor(n / 65536));
  const sample = new Float64Array(Math.ceil(n / step));
  let m = 0;
  for (let i = 0; i < n; i += step) {
    const x = Number(v.data[i]);
    if (Number.isFinite(x)) sample[m++] = x;
  }
  const s = sample.subarray(0, Math.max(1, m)).sort();
  const slope = v.rescale?.slope ?? 1, intercept = v.rescale?.intercept ?? 0;
  const lo = s[Math.floor(0.01 * (s.length - 1))]! * slope + intercept;
  const hi = s[Math.floor(0.995 * (s.length - 1))]! * slope + intercept;
  const a = Math.min(lo, hi), b = Math.max(lo, hi);
  return { width: Math.max(b - a, 1e-6), center: (a + b) / 2 };
}
