import type { Volume } from '@physiotwin/core';
import type { GpuContext } from '@physiotwin/gpu';
import { bindAll, checkBindingSize, createStorageBuffer, createUniformBuffer, dispatch2d, getComputePipeline, readBuffer, uploadValuesF32, withGpuErrorScope } from '@physiotwin/gpu';
import { diffusionWgsl } from './generated/shaders.js';

/** The largest finite f32. */
const F32_MAX = 3.4028234663852886e38;

/**
 * `iterations` Perona-Malik steps on the stored values in f32, ping-ponging two buffers within one submit.
 * `invConductance` is 1 / K, K in stored-value units per mm; above the largest f32 it is passed as that (as
 * Infinity it would make 0 * inf = NaN between equal neighbours; the cap changes g only where |d| < 1e-19 per mm,
 * whose flux is below any f32 rounding of the values).
 * Returns the stored-value result.
 */
export async function diffusionWebgpu(gpu: GpuContext, volume: Volume, iterations: number, dt: number, invConductance: number): Promise<Float32Array> {
  const { device } = gpu;
  const n = volume.data.length;
  checkBindingSize(device, n * 4, 'diffusion:values');
  const pipeline = await getComputePipeline(device, { kernel: 'segment/diffusion', code: diffusionWgsl });
  const [nx, ny, nz] = volume.dims;
  const [hx, hy, hz] = volume.spacing;
  const d = dispatch2d(n);
  const a = uploadValuesF32(device, volume, 'diffusion:a');
  const b = createStorageBuffer(device, n * 4, 'diffusion:b');
  const params = createUniformBuffer(
    device,
    [['u32', nx], ['u32', ny], ['u32', nz], ['u32', d.rowThreads], ['f32', dt], ['f32', Math.min(invConductance, F32_MAX)], ['f32', 1 / hx], ['f32', 1 / hy], ['f32', 1 / hz]],
    'diffusion:params',
  );
  try {
    await withGpuErrorScope(device, 'segment/diffusion', () => {
      const encoder = device.createCommandEncoder({ label: 'segment/diffusion' });
      const pass = encoder.beginComputePass({ label: 'segment/diffusion' });
      pass.setPipeline(pipeline);
      const ab = bindAll(device, pipeline, [params, a, b], 'segment/diffusion a->b');
      const ba = bindAll(device, pipeline, [params, b, a], 'segment/diffusion b->a');
      for (let it = 0; it < iterations; it++) {
        pass.setBindGroup(0, it % 2 === 0 ? ab : ba);
        pass.dispatchWorkgroups(d.x, d.y);
      }
      pass.end();
      device.queue.submit([encoder.finish()]);
    });
    return new Float32Array(await readBuffer(device, iterations % 2 === 1 ? b : a, n * 4));
  } finally {
    for (const buf of [a, b, params]) buf.destroy();
  }
}
