import type { Volume } from '@physiotwin/core';
import type { GpuContext } from '@physiotwin/gpu';
import { bindAll, ceilF32, createStorageBuffer, createUniformBuffer, dispatch2d, floorF32, getComputePipeline, readBuffer, unpackMask, uploadValuesF32, withGpuErrorScope } from '@physiotwin/gpu';
import { thresholdWgsl } from './generated/shaders.js';

/** Threshold on WebGPU: returns the mask bytes (1 inside [lo, hi] in stored values, else 0). */
export async function thresholdWebgpu(gpu: GpuContext, volume: Volume, lo: number, hi: number): Promise<Uint8Array> {
  const { device } = gpu;
  const n = volume.data.length;
  const pipeline = await getComputePipeline(device, { kernel: 'segment/threshold', code: thresholdWgsl });
  const words = Math.ceil(n / 4);
  const d = dispatch2d(words);
  const values = uploadValuesF32(device, volume, 'threshold:values');
  const out = createStorageBuffer(device, words * 4, 'threshold:out');
  const params = createUniformBuffer(device, [['u32', n], ['u32', d.rowThreads], ['f32', ceilF32(lo)], ['f32', floorF32(hi)]], 'threshold:params');
  try {
    await withGpuErrorScope(device, 'segment/threshold', () => {
      const encoder = device.createCommandEncoder({ label: 'segment/threshold' });
      const pass = encoder.beginComputePass({ label: 'segment/threshold' });
      pass.setPipeline(pipeline);
      pass.setBindGroup(0, bindAll(device, pipeline, [params, values, out], 'segment/threshold'));
      pass.dispatchWorkgroups(d.x, d.y);
      pass.end();
      device.queue.submit([encoder.finish()]);
    });
    return unpackMask(await readBuffer(device, out, words * 4), n);
  } finally {
    for (const b of [values, out, params]) b.destroy();
  }
}
