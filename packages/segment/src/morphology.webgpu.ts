import type { Volume } from '@physiotwin/core';
import type { GpuContext } from '@physiotwin/gpu';
import { bindAll, checkBindingSize, createBufferFrom, createStorageBuffer, createUniformBuffer, dispatch2d, getComputePipeline, readBuffer, unpackMask, withGpuErrorScope } from '@physiotwin/gpu';
import { morphologyWgsl } from './generated/shaders.js';
import { ballOffsets } from './morphology.cpu.js';

/**
 * A sequence of dilations (true) / erosions (false) by one ball on WebGPU, all in one submit (open and close
 * never come back to the host between steps). Returns the mask bytes.
 */
export async function morphologyWebgpu(gpu: GpuContext, mask: Volume, radiusMm: number, steps: boolean[]): Promise<Uint8Array> {
  const { device } = gpu;
  const n = mask.data.length;
  const words = Math.ceil(n / 4);
  checkBindingSize(device, words * 4, 'morphology:mask');
  const pipeline = await getComputePipeline(device, { kernel: 'segment/morphology', code: morphologyWgsl });
  const offsets = ballOffsets(radiusMm, mask.spacing);
  const count = offsets.length / 3;
  const ball = new Int32Array(4 * count);
  for (let o = 0; o < count; o++) ball.set(offsets.subarray(3 * o, 3 * o + 3), 4 * o);
  const bytes = new Uint8Array(words * 4);
  for (let i = 0; i < n; i++) bytes[i] = mask.data[i] !== 0 ? 1 : 0;
  const d = dispatch2d(words);
  const ballBuf = createBufferFrom(device, ball, GPUBufferUsage.STORAGE, 'morphology:ball');
  const a = createBufferFrom(device, bytes, GPUBufferUsage.STORAGE, 'morphology:a');
  const b = createStorageBuffer(device, words * 4, 'morphology:b');
  const params = steps.map((grow) =>
    createUniformBuffer(device, [['u32', mask.dims[0]], ['u32', mask.dims[1]], ['u32', mask.dims[2]], ['u32', d.rowThreads], ['u32', count], ['u32', grow ? 1 : 0]], 'morphology:params'),
  );
  try {
    await withGpuErrorScope(device, 'segment/morphology', () => {
      const encoder = device.createCommandEncoder({ label: 'segment/morphology' });
      const pass = encoder.beginComputePass({ label: 'segment/morphology' });
      pass.setPipeline(pipeline);
      steps.forEach((_, s) => {
        const [src, dst] = s % 2 === 0 ? [a, b] : [b, a];
        pass.setBindGroup(0, bindAll(device, pipeline, [params[s]!, ballBuf, src, dst], 'segment/morphology'));
        pass.dispatchWorkgroups(d.x, d.y);
      });
      pass.end();
      device.queue.submit([encoder.finish()]);
    });
    return unpackMask(await readBuffer(device, steps.length % 2 === 1 ? b : a, words * 4), n);
  } finally {
    for (const buf of [ballBuf, a, b, ...params]) buf.destroy();
  }
}
