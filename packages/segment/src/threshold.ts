import type { Volume } from '@physiotwin/core';
import { PhysiotwinError, progressReporter } from '@physiotwin/core';
import type { BackendReport, ComputeOptions } from '@physiotwin/gpu';
import { backendReport, chooseBackend } from '@physiotwin/gpu';
import { thresholdCpu } from './threshold.cpu.js';
import type { Mask } from './volume-utils.js';
import { checkScalarVolume, storedRange, volumeProblem, withData } from './volume-utils.js';

/** A mask and the backend that made it. */
export interface MaskResult extends BackendReport {
  mask: Mask;
}

/** Options of {@link threshold}: an inclusive range of physical values (after `volume.rescale`). */
export interface ThresholdRange {
  /** @default -Infinity */
  lower?: number | undefined;
  /** @default +Infinity */
  upper?: number | undefined;
}

/** Resolves a physical [lower, upper] to stored values. @throws PhysiotwinError `INVALID_ARGUMENT`. */
export function resolveRange(volume: Volume, range: ThresholdRange, op: string): [number, number] {
  const lower = range.lower ?? -Infinity;
  const upper = range.upper ?? Infinity;
  if (Number.isNaN(lower) || Number.isNaN(upper) || lower > upper) {
    throw new PhysiotwinError('INVALID_ARGUMENT', `${op}: need lower <= upper, got [${lower}, ${upper}]`);
  }
  return storedRange(volume, lower, upper);
}

/**
 * Binary threshold: 1 where lower <= value <= upper (physical values, inclusive), else 0 (NaN is outside).
 * Both backends give identical masks (the WebGPU kernel compares f32 values against the f32 bounds that select
 * the same values).
 * @throws PhysiotwinError `INVALID_ARGUMENT` (not scalar, lower > upper, dtype not readable on WebGPU),
 *   `GPU_UNAVAILABLE`, `GPU_LIMIT_EXCEEDED`, `ABORTED`.
 * @example
 * ```ts
 * const { mask } = await threshold(ct, { lower: 150, upper: 600 });
 * ```
 */
export async function threshold(volume: Volume, range: ThresholdRange, options: ComputeOptions = {}): Promise<MaskResult> {
  checkScalarVolume(volume, 'threshold');
  const [lo, hi] = resolveRange(volume, range, 'threshold');
  const tick = progressReporter(options, 'threshold', 1);
  tick(0);
  const chosen = await chooseBackend(options, volumeProblem(volume, 'threshold'));
  let data: Uint8Array;
  if (chosen.backend === 'webgpu') {
    const { thresholdWebgpu } = await import('./threshold.webgpu.js');
    data = await thresholdWebgpu(chosen.gpu, volume, lo, hi);
  } else {
    data = thresholdCpu(volume.data, lo, hi, new Uint8Array(volume.data.length));
  }
  tick(1);
  return { mask: withData(volume, data), ...backendReport(chosen) };
}
