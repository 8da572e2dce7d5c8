import { PhysiotwinError, type OperationOptions } from '@physiotwin/core';
import { checkBindingSizes, createBufferFrom, createUniformBuffer, getComputePipeline, readBuffer, type GpuContext } from '@physiotwin/gpu';
import { submitDispatches } from './ensemble-dispatch.webgpu.js';
import type { RcrProblem, RcrStats } from './ensemble-rcr.js';
import { cycleDispatches, variantWorkgroups } from './ensemble-schedule.js';
import { rcrEnsembleWgsl } from './generated/shaders.js';

const WG = 64;

/**
 * RCR ensemble on WebGPU: the recurrence of {@link rcrEnsembleCpu} in f32, one variant per invocation,
 * the state resident on the device, one dispatch for the steady start and one per cardiac cycle.
 * The inflow drive is computed once in f64 on the host and uploaded as f32.
 * @throws PhysiotwinError `GPU_LIMIT_EXCEEDED` when N exceeds the dispatch limit of the device, `ABORTED`
 */
export async function rcrEnsembleWebgpu(p: RcrProblem, gpu: GpuContext, options: OperationOptions = {}): Promise<RcrStats> {
  const { device } = gpu;
  const groups = variantWorkgroups(device, p.n, WG);
  if (p.firstSummaryStep === 0) {
    throw new PhysiotwinError('INVALID_ARGUMENT', 'the webgpu RCR ensemble needs at least two cardiac cycles (a single cycle also summarises the initial state)');
  }
  const pipeline = await getComputePipeline(device, { kernel: 'hemo/rcr-ensemble', code: rcrEnsembleWgsl });
  checkBindingSizes(device, 'hemo/rcr-ensemble', { variant: 20 * p.n, drive: 8 * p.qAf.length, state: 8 * p.n, stats: 36 * p.n });
  const S = GPUBufferUsage.STORAGE;
  const drive = new Float32Array(2 * p.qAf.length);
  for (let k = 0; k < p.qAf.length; k++) {
    drive[2 * k] = p.qAf[k]!;
    drive[2 * k + 1] = p.qNext[k]!;
  }
  const state = new Float32Array(2 * p.n);
  const stats = new Float32Array(9 * p.n);
  for (let v = 0; v < p.n; v++) {
    state[2 * v] = p.pc0;
    state[2 * v + 1] = p.pcDot0;
    for (let j = 0; j < 3; j++) {
      stats[9 * v + 3 * j] = 0;
      stats[9 * v + 3 * j + 1] = 3.4e38;
      stats[9 * v + 3 * j + 2] = -3.4e38;
    }
  }
  const bufs = {
    variant: createBufferFrom(device, Float32Array.from(p.params), S, 'hemo/rcr-ensemble:variant'),
    drive: createBufferFrom(device, drive, S, 'hemo/rcr-ensemble:drive'),
    state: createBufferFrom(device, state, S, 'hemo/rcr-ensemble:state'),
    stats: createBufferFrom(device, stats, S, 'hemo/rcr-ensemble:stats'),
  };
  const dispatches = cycleDispatches(p);
  const uniforms: GPUBuffer[] = [];
  try {
    await submitDispatches(device, 'hemo/rcr-ensemble', dispatches, p.n, (encoder, d) => {
      const u = createUniformBuffer(
        device,
        [
          ['u32', p.n], ['u32', d.offset], ['u32', d.steps], ['u32', d.first], ['u32', Math.max(1, p.firstSummaryStep)], ['u32', d.steady],
          ['f32', d.dt], ['f32', p.alphaM], ['f32', p.alphaF], ['f32', p.gamma],
        ],
        'hemo/rcr-ensemble:params',
      );
      uniforms.push(u);
      const pass = encoder.beginComputePass({ label: 'hemo/rcr-ensemble' });
      pass.setPipeline(pipeline);
      pass.setBindGroup(0, device.createBindGroup({ layout: pipeline.getBindGroupLayout(0), entries: [u, bufs.variant, bufs.drive, bufs.state, bufs.stats].map((buffer, binding) => ({ binding, resource: { buffer } })) }));
      pass.dispatchWorkgroups(groups);
      pass.end();
    }, options);
    const out = new Float32Array(await readBuffer(device, bufs.stats, 9 * 4 * p.n));
    const res = Float64Array.from(out);
    return { stats: res, count: p.steps - p.firstSummaryStep + 1 };
  } finally {
    for (const b of [...Object.values(bufs), ...uniforms]) b.destroy();
  }
}
