import { PhysiotwinError } from '@physiotwin/core';
import type { GpuContext } from './device.js';
import { getSharedGpu } from './device.js';

/** Which implementation of an operation runs. */
export type Backend = 'auto' | 'cpu' | 'webgpu';

/** Options every dual-backend operation accepts. */
export interface BackendOptions {
  /** @default 'auto' */
  backend?: Backend | undefined;
  /** Device to run on; the shared device is used when absent. */
  gpu?: GpuContext | undefined;
}

/** The backend that actually runs, with its device when it is WebGPU. */
export type ResolvedBackend = { backend: 'cpu' } | { backend: 'webgpu'; gpu: GpuContext };

/**
 * Picks the backend. 'cpu' and 'webgpu' are obeyed ('webgpu' throws `GPU_UNAVAILABLE` if no device);
 * 'auto' picks WebGPU only for a hardware adapter and a problem of at least `minWorkForGpu` units,
 * since transfers and software adapters (SwiftShader) make small or emulated GPU runs slower than the CPU.
 */
export async function resolveBackend(options: BackendOptions, work: number, minWorkForGpu: number): Promise<ResolvedBackend> {
  const requested = options.backend ?? 'auto';
  if (requested === 'cpu') return { backend: 'cpu' };
  if (requested === 'webgpu') return { backend: 'webgpu', gpu: options.gpu ?? (await getSharedGpu()) };
  if (requested !== 'auto') {
    throw new PhysiotwinError('INVALID_ARGUMENT', `backend must be 'auto', 'cpu' or 'webgpu', got ${JSON.stringify(requested)}`);
  }
  if (work < minWorkForGpu) return { backend: 'cpu' };
  try {
    const gpu = options.gpu ?? (await getSharedGpu());
    return gpu.adapter.isFallback ? { backend: 'cpu' } : { backend: 'webgpu', gpu };
  } catch {
    return { backend: 'cpu' };
  }
}
