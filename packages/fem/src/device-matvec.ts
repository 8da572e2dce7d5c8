import type { GpuContext } from '@physiotwin/gpu';
import type { BsrMatrix } from './bsr.js';
import type { DeviceMatvec } from './pcg.webgpu.js';

/**
 * Uploads `a` (as f32) and `x` for timing the device matvec alone ({@link DeviceMatvec}). The WebGPU module (its
 * shaders and pipelines) loads on the first call, so importing @physiotwin/fem does not pull it in.
 * @throws PhysiotwinError `GPU_LIMIT_EXCEEDED` when the matrix exceeds the device's binding sizes.
 */
export async function deviceMatvec(gpu: GpuContext, a: BsrMatrix, x: Float64Array): Promise<DeviceMatvec> {
  const webgpu = await import('./pcg.webgpu.js');
  return webgpu.deviceMatvec(gpu, a, x);
}
