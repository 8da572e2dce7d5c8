import type { OperationOptions } from '@physiotwin/core';
import { checkBindingSizes, createBufferFrom, createUniformBuffer, getComputePipeline, readBuffer, type GpuContext } from '@physiotwin/gpu';
import { fromDoubleFloat, toDoubleFloat } from './double-float.js';
import { submitDispatches } from './ensemble-dispatch.webgpu.js';
import { cycleDispatches, initialBuffers, KERNEL_PARAM_REAL, KERNEL_PARAM_U32, kernelParams, variantWorkgroups, type GeneralProblem, type GeneralStats } from './ensemble-schedule.js';

const WG = 64;

/**
 * Runs the generated general ensemble kernel: one variant per invocation, the state resident on the
 * device, one dispatch for the steady start and one per cardiac cycle (cancellation checked between them).
 * @throws PhysiotwinError `GPU_LIMIT_EXCEEDED` when N exceeds the dispatch limit of the device,
 *   `GPU_VALIDATION` when the generated WGSL does not compile, `ABORTED`
 */
export async function generalEnsembleWebgpu(p: GeneralProblem, gpu: GpuContext, options: OperationOptions = {}): Promise<GeneralStats> {
  const { device } = gpu;
  const groups = variantWorkgroups(device, p.n, WG);
  const pipeline = await getComputePipeline(device, { kernel: p.kernel, code: p.code });
  const N = p.dofs;
  const NS = 3 * p.outputs.length + p.splits.length;
  // Reals travel as f32 or as double-float pairs (hi, lo) of f32.
  const df = p.precision === 'df';
  const real = df ? toDoubleFloat : (x: ArrayLike<number>) => Float32Array.from(x);
  const bytes = df ? 8 : 4;
  // every binding checked before anything is allocated (N variants can outgrow a binding long before memory)
  checkBindingSizes(device, 'hemo/general-ensemble', { cst: bytes * p.cst.length, vpar: bytes * p.vpar.length, drive: bytes * p.drive.length, state: 2 * bytes * N * p.n, stats: bytes * NS * p.n, status: 16 * p.n });
  // 3.4e38: within f32 range (the high part of a pair too).
  const { state, stats } = initialBuffers(p, 3.4e38);
  const S = GPUBufferUsage.STORAGE;
  const label = 'hemo/general-ensemble';
  const bufs = {
    vpar: createBufferFrom(device, real(p.vpar), S, `${label}:vpar`),
    cst: createBufferFrom(device, real(p.cst), S, `${label}:cst`),
    drive: createBufferFrom(device, real(p.drive), S, `${label}:drive`),
    state: createBufferFrom(device, real(state), S, `${label}:state`),
    stats: createBufferFrom(device, real(stats), S, `${label}:stats`),
    status: createBufferFrom(device, new Uint32Array(4 * p.n), S, `${label}:status`),
  };
  const dispatches = cycleDispatches(p);
  const uniforms: GPUBuffer[] = [];
  try {
    const entries = [bufs.vpar, bufs.cst, bufs.drive, bufs.state, bufs.stats, bufs.status];
    await submitDispatches(device, label, dispatches, p.n, (encoder, d) => {
      const kp = kernelParams(p, d);
      const u = createUniformBuffer(
        device,
        [...KERNEL_PARAM_U32.map((k): ['u32', number] => ['u32', kp[k]]), ...Array.from(real(KERNEL_PARAM_REAL.map((k) => kp[k])), (x): ['f32', number] => ['f32', x])],
        `${label}:params`,
      );
      uniforms.push(u);
      const pass = encoder.beginComputePass({ label });
      pass.setPipeline(pipeline);
      pass.setBindGroup(0, device.createBindGroup({ label, layout: pipeline.getBindGroupLayout(0), entries: [u, ...entries].map((buffer, binding) => ({ binding, resource: { buffer } })) }));
      pass.dispatchWorkgroups(groups);
      pass.end();
    }, options);
    const out = new Float32Array(await readBuffer(device, bufs.stats, bytes * NS * p.n));
    const status = new Uint32Array(await readBuffer(device, bufs.status, 16 * p.n));
    return { stats: df ? fromDoubleFloat(out) : Float64Array.from(out), status, count: p.steps + 1 - p.firstSummaryStep };
  } finally {
    for (const b of [...Object.values(bufs), ...uniforms]) b.destroy();
  }
}
