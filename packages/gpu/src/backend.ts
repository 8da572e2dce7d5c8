import type { OperationOptions, VolumeDtype } from '@physiotwin/core';
import { PhysiotwinError } from '@physiotwin/core';
import type { AdapterDescription, GpuContext } from './device.js';
import { getSharedGpu } from './device.js';

/** Which implementation of an operation runs. */
export type Backend = 'auto' | 'cpu' | 'webgpu';

/**
 * Options every compute operation accepts (the last argument of each op): backend choice, the device,
 * cancellation and progress.
 */
export interface ComputeOptions extends OperationOptions {
  /** @default 'auto' */
  backend?: Backend | undefined;
  /** Device to run on; the shared device ({@link getSharedGpu}) is used when absent. */
  gpu?: GpuContext | undefined;
}

/** Which backend produced a result, and on which adapter (absent on the CPU). Every op's result carries it. */
export interface BackendReport {
  backend: 'cpu' | 'webgpu';
  adapter?: AdapterDescription | undefined;
}

/** The backend that runs, with its device when it is WebGPU. */
export type ResolvedBackend = { backend: 'cpu' } | { backend: 'webgpu'; gpu: GpuContext };

/** Dtypes that WebGPU kernels read exactly as f32 (every value of these types is an f32). */
export const F32_EXACT_DTYPES: readonly VolumeDtype[] = ['uint8', 'int8', 'uint16', 'int16', 'float32'];

/**
 * Below this much work (voxels, variant-steps, ...) 'auto' stays on the CPU: upload, dispatch and readback cost
 * more than a CPU pass over a few million elements.
 */
export const GPU_WORK_FLOOR = 1 << 22;

/** What an operation tells {@link chooseBackend} about its problem. */
export interface GpuProblem {
  /** The operation's name, used in error messages. */
  op: string;
  /** Units of work (voxels, variants x steps, ...), compared with `minWorkForGpu`. */
  work: number;
  /** @default GPU_WORK_FLOOR */
  minWorkForGpu?: number | undefined;
  /** Dtype of the data the kernels read; must be one of `dtypes`. Absent when the kernels read no volume. */
  dtype?: VolumeDtype | undefined;
  /** @default F32_EXACT_DTYPES */
  dtypes?: readonly VolumeDtype[] | undefined;
  /** Bytes of the largest storage binding the kernels need, checked against the device's limits. */
  bindingBytes?: number | undefined;
}

function bindingLimit(gpu: GpuContext): number {
  return Math.min(gpu.device.limits.maxStorageBufferBindingSize, gpu.device.limits.maxBufferSize);
}

/**
 * Picks the backend of one operation; the one place where this is decided. 'cpu' is obeyed. 'webgpu' is obeyed
 * when the problem can run there, else it throws. 'auto' picks WebGPU only for a problem the kernels can read
 * (dtype), of at least `minWorkForGpu` units, that fits the adapter's limits, on a hardware adapter (software
 * adapters such as SwiftShader are slower than the CPU code), and falls back to the CPU otherwise, including
 * when no device can be had.
 * @throws PhysiotwinError `INVALID_ARGUMENT` (unknown backend name; 'webgpu' for a dtype the kernels cannot read
 *   exactly), `GPU_UNAVAILABLE` ('webgpu' without a device), `GPU_LIMIT_EXCEEDED` ('webgpu' for a problem over
 *   the device's binding limit).
 * @example
 * ```ts
 * const chosen = await chooseBackend(options, { op: 'threshold', work: volume.data.length, dtype: dtypeOf(volume.data) });
 * if (chosen.backend === 'webgpu') { ... chosen.gpu ... }
 * ```
 */
export async function chooseBackend(options: ComputeOptions, problem: GpuProblem): Promise<ResolvedBackend> {
  const requested = options.backend ?? 'auto';
  if (requested !== 'auto' && requested !== 'cpu' && requested !== 'webgpu') {
    throw new PhysiotwinError('INVALID_ARGUMENT', `${problem.op}: backend must be 'auto', 'cpu' or 'webgpu', got ${JSON.stringify(requested)}`);
  }
  if (requested === 'cpu') return { backend: 'cpu' };
  const dtypes = problem.dtypes ?? F32_EXACT_DTYPES;
  const readable = problem.dtype === undefined || dtypes.includes(problem.dtype);
  if (requested === 'webgpu') {
    if (!readable) {
      throw new PhysiotwinError('INVALID_ARGUMENT', `${problem.op} on WebGPU reads ${dtypes.join(', ')}; this volume is ${problem.dtype}: use backend 'cpu'`);
    }
    const gpu = options.gpu ?? (await getSharedGpu());
    if (problem.bindingBytes !== undefined && problem.bindingBytes > bindingLimit(gpu)) {
      throw new PhysiotwinError('GPU_LIMIT_EXCEEDED', `${problem.op} needs a ${problem.bindingBytes}-byte storage binding; this device allows ${bindingLimit(gpu)}: use backend 'cpu'`);
    }
    return { backend: 'webgpu', gpu };
  }
  if (!readable || problem.work < (problem.minWorkForGpu ?? GPU_WORK_FLOOR)) return { backend: 'cpu' };
  let gpu: GpuContext;
  try {
    gpu = options.gpu ?? (await getSharedGpu());
  } catch {
    return { backend: 'cpu' };
  }
  if (gpu.adapter.isFallback) return { backend: 'cpu' };
  if (problem.bindingBytes !== undefined && problem.bindingBytes > bindingLimit(gpu)) return { backend: 'cpu' };
  return { backend: 'webgpu', gpu };
}

/**
 * The {@link BackendReport} of a resolved backend, for the op's result.
 * @throws nothing.
 */
export function backendReport(chosen: ResolvedBackend): BackendReport {
  return chosen.backend === 'webgpu' ? { backend: 'webgpu', adapter: chosen.gpu.adapter } : { backend: 'cpu' };
}
