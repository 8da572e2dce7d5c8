import type { Volume } from '@physiotwin/core';
import { PhysiotwinError } from '@physiotwin/core';
import { histogram } from './stats.js';
import type { BackendReport, ComputeOptions } from '@physiotwin/gpu';
import type { MaskResult } from './threshold.js';
import { threshold } from './threshold.js';
import { checkScalarVolume } from './volume-utils.js';

/** Options of {@link otsuThreshold}. */
export interface OtsuSpec {
  /** Histogram bins over [min, max]. @default 256 */
  bins?: number | undefined;
}

/** Otsu's threshold (physical units) and the histogram bin it falls after. */
export interface OtsuResult extends BackendReport {
  /** Values >= threshold are the upper class: the upper edge of the last bin of the lower class. */
  threshold: number;
  /** Between-class variance at the threshold (physical units squared). */
  betweenClassVariance: number;
}

/**
 * Otsu's method: the threshold that maximises the between-class variance of the histogram (computed by
 * {@link histogram} on the chosen backend over [min, max] with `bins` bins). Resolution is one bin width.
 * @throws PhysiotwinError `INVALID_ARGUMENT` (not scalar, bad bins, a constant volume), as {@link histogram}.
 * @example
 * ```ts
 * const { threshold: t } = await otsuThreshold(ct);
 * const { mask } = await threshold(ct, { lower: t });
 * ```
 */
export async function otsuThreshold(volume: Volume, spec: OtsuSpec = {}, options: ComputeOptions = {}): Promise<OtsuResult> {
  checkScalarVolume(volume, 'otsuThreshold');
  const bins = spec.bins ?? 256;
  const h = await histogram(volume, { bins }, options);
  if (h.count === 0 || h.min === h.max) {
    throw new PhysiotwinError('INVALID_ARGUMENT', `otsuThreshold: the volume is constant (${h.min}) or has no finite values: there is nothing to separate`);
  }
  const counts = h.counts;
  const centre = (b: number) => h.range[0] + (b + 0.5) * h.binWidth;
  let total = 0;
  let sumAll = 0;
  for (let b = 0; b < bins; b++) {
    total += counts[b]!;
    sumAll += counts[b]! * centre(b);
  }
  let w0 = 0;
  let sum0 = 0;
  let best = -1;
  let bestVar = -1;
  for (let b = 0; b < bins - 1; b++) {
    w0 += counts[b]!;
    sum0 += counts[b]! * centre(b);
    const w1 = total - w0;
    if (w0 === 0 || w1 === 0) continue;
    const m0 = sum0 / w0;
    const m1 = (sumAll - sum0) / w1;
    const v = (w0 * w1 * (m0 - m1) ** 2) / (total * total);
    if (v > bestVar) {
      bestVar = v;
      best = b;
    }
  }
  return { threshold: h.range[0] + (best + 1) * h.binWidth, betweenClassVariance: bestVar, backend: h.backend, adapter: h.adapter };
}

/**
 * Otsu segmentation: {@link otsuThreshold}, then {@link threshold} with `lower` at it.
 * @throws as {@link otsuThreshold} and {@link threshold}.
 */
export async function otsuMask(volume: Volume, spec: OtsuSpec = {}, options: ComputeOptions = {}): Promise<MaskResult & { threshold: number }> {
  const t = await otsuThreshold(volume, spec, options);
  return { ...(await threshold(volume, { lower: t.threshold }, options)), threshold: t.threshold };
}
