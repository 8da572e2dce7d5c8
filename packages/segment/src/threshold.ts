import type { OperationOptions, Volume } from '@physiotwin/core';
import { dtypeOf, PhysiotwinError, throwIfAborted } from '@physiotwin/core';
import type { BackendOptions } from '@physiotwin/gpu';
import { resolveBackend } from '@physiotwin/gpu';
import { thresholdCpu } from './threshold.cpu.js';
import type { BackendReport, Mask } from './volume-utils.js';
import { checkScalarVolume, storedRange, withData } from './volume-utils.js';

/** Options of the segmentation operations: backend choice, cancellation, progress. */
export type SegmentOptions = BackendOptions & OperationOptions;

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

/** Dtypes the WebGPU segmentation kernels read exactly (every value is an f32). */
export const WEBGPU_SEGMENT_DTYPES = ['uint8', 'int8', 'uint16', 'int16', 'float32'] as const;

/** Below this many voxels 'auto' stays on the CPU: upload and dispatch cost more than the pass. */
export const MIN_VOXELS_FOR_GPU = 1 << 22;

/** True when the WebGPU kernels can read `volume`'s dtype exactly. */
export function gpuReadable(volume: Volume): boolean {
  return (WEBGPU_SEGMENT_DTYPES as readonly string[]).includes(dtypeOf(volume.data));
}

/**
 * Picks the backend for a segmentation op on `volume`: 'webgpu' for a dtype the kernels cannot read exactly is
 * refused, 'auto' then stays on the CPU.
 * @throws PhysiotwinError `INVALID_ARGUMENT` (webgpu requested for an unreadable dtype), `GPU_UNAVAILABLE`.
 */
export async function chooseBackend(volume: Volume, options: SegmentOptions, op: string) {
  if (!gpuReadable(volume)) {
    if (options.backend === 'webgpu') {
      throw new PhysiotwinError('INVALID_ARGUMENT', `${op} on WebGPU reads ${WEBGPU_SEGMENT_DTYPES.join(', ')}; this volume is ${dtypeOf(volume.data)}: use backend 'cpu'`);
    }
    return { backend: 'cpu' } as const;
  }
  return resolveBackend(options, volume.data.length, MIN_VOXELS_FOR_GPU);
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
 *   `GPU_UNAVAILABLE`, `ABORTED`.
 * @example
 * ```ts
 * const { mask } = await threshold(ct, { lower: 150, upper: 600 });
 * ```
 */
export async function threshold(volume: Volume, range: ThresholdRange, options: SegmentOptions = {}): Promise<MaskResult> {
  checkScalarVolume(volume, 'threshold');
  const [lo, hi] = resolveRange(volume, range, 'threshold');
  throwIfAborted(options.signal, 'threshold');
  const chosen = await chooseBackend(volume, options, 'threshold');
  if (chosen.backend === 'webgpu') {
    const { thresholdWebgpu } = await import('./threshold.webgpu.js');
    const data = await thresholdWebgpu(chosen.gpu, volume, lo, hi);
    return { mask: withData(volume, data), backend: 'webgpu', adapter: chosen.gpu.adapter };
  }
  return { mask: withData(volume, thresholdCpu(volume.data, lo, hi, new Uint8Array(volume.data.length))), backend: 'cpu' };
}
