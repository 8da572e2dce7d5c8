import type { Volume } from '@physiotwin/core';
import { PhysiotwinError, throwIfAborted } from '@physiotwin/core';
import type { GpuContext } from '@physiotwin/gpu';
import { bindAll, checkBindingSize, createBufferFrom, createStorageBuffer, createUniformBuffer, dispatch2d, getComputePipeline, readBuffer, withGpuErrorScope } from '@physiotwin/gpu';
import { relabelFromRoots } from './components.cpu.js';
import { componentsWgsl } from './generated/shaders.js';
import type { Connectivity } from './volume-utils.js';

/** Propagation rounds (propagate + 2 jumps) encoded per submit between convergence checks. */
const ROUNDS_PER_CHECK = 8;

/**
 * Connected components on WebGPU by label propagation with pointer jumping; the converged labels (smallest
 * voxel index + 1 per component) are renumbered on the host in raster order, as the CPU backend numbers them.
 * @throws PhysiotwinError `GPU_LIMIT_EXCEEDED`, `SOLVER_NOT_CONVERGED` (cannot happen for a correct device:
 *   each productive round lowers some label), `ABORTED`.
 */
export async function connectedComponentsWebgpu(gpu: GpuContext, mask: Volume, connectivity: Connectivity, signal?: AbortSignal): Promise<{ labels: Uint32Array; count: number }> {
  const { device } = gpu;
  const n = mask.data.length;
  checkBindingSize(device, n * 4, 'components:labels');
  const init = new Uint32Array(n);
  const m = mask.data;
  for (let i = 0; i < n; i++) init[i] = m[i] !== 0 ? i + 1 : 0;
  // One after the other: concurrent createComputePipelineAsync calls have crashed Dawn on SwiftShader.
  const propagate = await getComputePipeline(device, { kernel: 'segment/components', code: componentsWgsl, entryPoint: 'propagate' });
  const jump = await getComputePipeline(device, { kernel: 'segment/components', code: componentsWgsl, entryPoint: 'jump' });
  const d = dispatch2d(n);
  const labels = createBufferFrom(device, init, GPUBufferUsage.STORAGE, 'components:labels');
  const changed = createStorageBuffer(device, 4, 'components:changed');
  const params = createUniformBuffer(device, [['u32', mask.dims[0]], ['u32', mask.dims[1]], ['u32', mask.dims[2]], ['u32', d.rowThreads], ['u32', connectivity]], 'components:params');
  const zero = new Uint32Array(1);
  try {
    // jump does not touch `changed`, so its auto layout has no binding 2.
    const groups = [bindAll(device, propagate, [params, labels, changed], 'segment/components'), bindAll(device, jump, [params, labels], 'segment/components')];
    // Each productive round lowers at least one label, so n rounds always suffice; in practice the
    // diameter of the largest component (in jumps) bounds it.
    for (let round = 0; ; round += ROUNDS_PER_CHECK) {
      if (round > n + ROUNDS_PER_CHECK) throw new PhysiotwinError('SOLVER_NOT_CONVERGED', `label propagation did not converge in ${round} rounds`);
      throwIfAborted(signal, 'connected components');
      device.queue.writeBuffer(changed, 0, zero);
      await withGpuErrorScope(device, 'segment/components', () => {
        const encoder = device.createCommandEncoder({ label: 'segment/components' });
        const pass = encoder.beginComputePass({ label: 'segment/components' });
        for (let r = 0; r < ROUNDS_PER_CHECK; r++) {
          for (const [pipeline, group] of [[propagate, groups[0]!], [jump, groups[1]!], [jump, groups[1]!]] as const) {
            pass.setPipeline(pipeline);
            pass.setBindGroup(0, group);
            pass.dispatchWorkgroups(d.x, d.y);
          }
        }
        pass.end();
        device.queue.submit([encoder.finish()]);
      });
      if (new Uint32Array(await readBuffer(device, changed, 4))[0] === 0) break;
    }
    const raw = new Uint32Array(await readBuffer(device, labels, n * 4));
    const out = new Uint32Array(n);
    const count = relabelFromRoots(mask.data, (i) => raw[i]! - 1, out);
    return { labels: out, count };
  } finally {
    for (const b of [labels, changed, params]) b.destroy();
  }
}
