import type { OperationOptions, Volume } from '@physiotwin/core';
import { dtypeOf, PhysiotwinError, throwIfAborted } from '@physiotwin/core';
import type { AdapterDescription, BackendOptions } from '@physiotwin/gpu';
import { resolveBackend } from '@physiotwin/gpu';
import { histogramThresholds, statisticsCpu } from './stats.cpu.js';

/**
 * Intensity statistics of a volume, in physical units (stored values mapped through `volume.rescale`),
 * over every element (all components), NaNs excluded and counted.
 */
export interface VolumeStatistics {
  /** Elements that entered the statistics (NaNs excluded). */
  count: number;
  nanCount: number;
  min: number;
  max: number;
  mean: number;
  /** Population standard deviation (divides by count). */
  std: number;
  backend: 'cpu' | 'webgpu';
  adapter?: AdapterDescription | undefined;
}

/** A histogram of equal-width bins over `range`, in physical units. */
export interface Histogram extends VolumeStatistics {
  /** counts[b] = elements v with edges[b] <= v < edges[b + 1]; the last bin also holds v == range[1]. */
  counts: Uint32Array;
  range: [number, number];
  binWidth: number;
  /** Elements below range[0] / above range[1]. */
  underflow: number;
  overflow: number;
}

/** Options of {@link histogram}. */
export interface HistogramSpec {
  /** Number of bins, 1 .. 2^24. */
  bins: number;
  /** [low, high] in physical units, low < high. @default [min, max] of the volume */
  range?: [number, number] | undefined;
}

/** Options of the statistics operations. */
export type StatsOptions = BackendOptions & OperationOptions;

/** Dtypes the WebGPU kernels read exactly (every value is an f32). */
export const WEBGPU_STATS_DTYPES = ['uint8', 'int8', 'uint16', 'int16', 'float32'] as const;

/** Below this many elements 'auto' stays on the CPU: upload and dispatch cost more than the pass. */
const MIN_ELEMENTS_FOR_GPU = 1 << 22;

function checkSpec(spec: HistogramSpec): void {
  if (!Number.isInteger(spec.bins) || spec.bins < 1 || spec.bins > 1 << 24) {
    throw new PhysiotwinError('INVALID_ARGUMENT', `histogram bins must be an integer in [1, 2^24], got ${spec.bins}`);
  }
  if (spec.range) {
    const [lo, hi] = spec.range;
    if (!(Number.isFinite(lo) && Number.isFinite(hi) && lo < hi)) {
      throw new PhysiotwinError('INVALID_ARGUMENT', `histogram range must be finite with low < high, got [${lo}, ${hi}]`);
    }
  }
}

async function run(volume: Volume, spec: HistogramSpec | undefined, options: StatsOptions): Promise<VolumeStatistics> {
  if (spec) checkSpec(spec);
  throwIfAborted(options.signal, 'statistics');
  const dtype = dtypeOf(volume.data);
  const gpuCapable = (WEBGPU_STATS_DTYPES as readonly string[]).includes(dtype);
  if (options.backend === 'webgpu' && !gpuCapable) {
    throw new PhysiotwinError('INVALID_ARGUMENT', `the WebGPU statistics kernels read ${WEBGPU_STATS_DTYPES.join(', ')}; this volume is ${dtype}: use backend 'cpu'`);
  }
  const chosen = gpuCapable ? await resolveBackend(options, volume.data.length, MIN_ELEMENTS_FOR_GPU) : ({ backend: 'cpu' } as const);
  if (chosen.backend === 'webgpu') {
    const { statisticsWebgpu } = await import('./stats.webgpu.js');
    return statisticsWebgpu(chosen.gpu, volume, spec, options);
  }
  return statisticsCpu(volume, spec, options);
}

/**
 * Minimum, maximum, mean and standard deviation of a volume's physical values.
 * WebGPU results agree with the CPU's f64 results: min and max exactly, mean and std to 1e-5 relative
 * (f32 sums within a workgroup, combined in f64 on the host).
 * @throws PhysiotwinError `INVALID_ARGUMENT` (dtype not readable by the requested backend), `GPU_UNAVAILABLE`, `ABORTED`.
 * @example
 * ```ts
 * const { min, max, mean, std } = await volumeStatistics(volume, { backend: 'cpu' });
 * ```
 */
export async function volumeStatistics(volume: Volume, options: StatsOptions = {}): Promise<VolumeStatistics> {
  return run(volume, undefined, options);
}

/**
 * Histogram (with the statistics) of a volume's physical values. Bin membership is decided in stored-value
 * space against thresholds computed once in f64 ({@link histogramThresholds}), so the CPU and WebGPU
 * backends put every value of an integer or float32 volume in the same bin: counts agree exactly.
 * @throws PhysiotwinError `INVALID_ARGUMENT` for bad bins or range, `GPU_UNAVAILABLE`, `ABORTED`.
 * @example
 * ```ts
 * const h = await histogram(ct, { bins: 256, range: [-1024, 3071] });
 * ```
 */
export async function histogram(volume: Volume, spec: HistogramSpec, options: StatsOptions = {}): Promise<Histogram> {
  // With a spec, both backends return the histogram fields too.
  return (await run(volume, spec, options)) as Histogram;
}

export { histogramThresholds };
export type { HistogramThresholds } from "./stats.cpu.js";
