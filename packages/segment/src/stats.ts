import type { Volume } from '@physiotwin/core';
import { dtypeOf, PhysiotwinError, throwIfAborted } from '@physiotwin/core';
import type { ComputeOptions } from '@physiotwin/gpu';
import type { Histogram, HistogramSpec, VolumeStatistics } from './stats.cpu.js';
import { statisticsCpu } from './stats.cpu.js';

export type { Histogram, HistogramSpec, VolumeStatistics };

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

async function run(volume: Volume, spec: HistogramSpec | undefined, options: ComputeOptions): Promise<VolumeStatistics> {
  if (spec) checkSpec(spec);
  throwIfAborted(options.signal, 'statistics');
  // backend 'cpu' is what chooseBackend would answer without looking further: skipping it leaves @physiotwin/gpu
  // (its device, kernel and shader modules) unloaded, which `physiotwin info` relies on for start-up (issue #11).
  if (options.backend === 'cpu') return statisticsCpu(volume, spec, options);
  const { chooseBackend } = await import('@physiotwin/gpu');
  // The kernels read the volume in chunks that each fit a binding: no binding-size bound on the problem.
  const chosen = await chooseBackend(options, { op: 'statistics', work: volume.data.length, dtype: dtypeOf(volume.data) });
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
export async function volumeStatistics(volume: Volume, options: ComputeOptions = {}): Promise<VolumeStatistics> {
  return run(volume, undefined, options);
}

/**
 * Histogram (with the statistics) of a volume's physical values. Bin membership is decided in stored-value
 * space against thresholds computed once in f64 (`histogramThresholds` in stats.cpu.ts), so the CPU and WebGPU
 * backends put every value of an integer or float32 volume in the same bin: counts agree exactly.
 * @throws PhysiotwinError `INVALID_ARGUMENT` for bad bins or range, `GPU_UNAVAILABLE`, `ABORTED`.
 * @example
 * ```ts
 * const h = await histogram(ct, { bins: 256, range: [-1024, 3071] });
 * ```
 */
export async function histogram(volume: Volume, spec: HistogramSpec, options: ComputeOptions = {}): Promise<Histogram> {
  // With a spec, both backends return the histogram fields too.
  return (await run(volume, spec, options)) as Histogram;
}


