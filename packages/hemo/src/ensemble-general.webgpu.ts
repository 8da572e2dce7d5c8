import { checkBindingSizes, createBufferFrom, createUniformBuffer, getComputePipeline, readBuffer, withGpuErrorScope, type GpuContext } from '@physiotwin/gpu';
import { fromDoubleFloat, toDoubleFloat } from './double-float.js';
import type { GeneralProblem } from './ensemble-general.js';
import { cycleDispatches, variantWorkgroups } from './ensemble-schedule.js';

const WG = 64;

/** Raw per-variant results of the general WebGPU ensemble. */
export interface GeneralStats {
  /** Per variant: sum, min, max of each output, then the sum of each split flow (accumulated in the kernel's precision). */
  stats: Float64Array;
  /** Per variant: code (0 ok, 1 Newton failure, 2 static pivot failure), drive-table step, equation row, |residual| bits. */
  status: Uint32Array;
  /** Number of states in each sum. */
  count: number;
}

/**
 * Runs the generated general ensemble kernel: one variant per invocation, the state resident on the
 * device, one dispatch for the steady start and one per cardiac cycle, all submitted at once.
 * @throws PhysiotwinError `GPU_LIMIT_EXCEEDED` when N exceeds the dispatch limit of the device,
 *   `GPU_VALIDATION` when the generated WGSL does not compile
 */
export async function generalEnsembleWebgpu(p: GeneralProblem, gpu: GpuContext): Promise<GeneralStats> {
  const { device } = gpu;
  const groups = variantWorkgroups(device, p.n, WG);
  const pipeline = await getComputePipeline(device, { kernel: p.kernel, code: p.code });
  const N = p.dofs;
  const K = p.outputs.length;
  const NS = 3 * K + p.splits.length;
  // Reals travel as f32 or as double-float pairs (hi, lo) of f32.
  const df = p.precision === 'df';
  const real = df ? toDoubleFloat : (x: ArrayLike<number>) => Float32Array.from(x);
  const bytes = df ? 8 : 4;
  // every binding checked before anything is allocated (N variants can outgrow a binding long before memory)
  checkBindingSizes(device, 'hemo/general-ensemble', { cst: bytes * p.cst.length, vpar: bytes * p.vpar.length, drive: bytes * p.drive.length, state: 2 * bytes * N * p.n, stats: bytes * NS * p.n, status: 16 * p.n });
  const state = new Float64Array(2 * N * p.n);
  const stats = new Float64Array(NS * p.n);
  for (let v = 0; v < p.n; v++) {
    state.set(p.y0, 2 * N * v);
    state.set(p.yd0, 2 * N * v + N);
    for (let k = 0; k < K; k++) {
      stats[NS * v + 3 * k + 1] = 3.4e38;
      stats[NS * v + 3 * k + 2] = -3.4e38;
    }
  }
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
    await withGpuErrorScope(device, label, () => {
      const encoder = device.createCommandEncoder({ label });
      const entries = [bufs.vpar, bufs.cst, bufs.drive, bufs.state, bufs.stats, bufs.status];
      for (const d of dispatches) {
        // The step coefficients in f64 as the CPU computes them (solver.ts Integrator.step).
        const yc = p.gamma * d.dt;
        const reals = [p.alphaM, p.alphaF, p.atol, p.period, 1 - 1 / p.gamma, yc, p.alphaF * yc];
        const u = createUniformBuffer(
          device,
          [
            ['u32', p.n], ['u32', d.steps], ['u32', d.offset], ['u32', d.first], ['u32', p.firstSummaryStep], ['u32', d.steady], ['u32', p.maxIter], ['u32', 0],
            ...Array.from(real(reals), (x): ['f32', number] => ['f32', x]),
          ],
          `${label}:params`,
        );
        uniforms.push(u);
        const pass = encoder.beginComputePass({ label });
        pass.setPipeline(pipeline);
        pass.setBindGroup(0, device.createBindGroup({ label, layout: pipeline.getBindGroupLayout(0), entries: [u, ...entries].map((buffer, binding) => ({ binding, resource: { buffer } })) }));
        pass.dispatchWorkgroups(groups);
        pass.end();
      }
      device.queue.submit([encoder.finish()]);
    });
    const out = new Float32Array(await readBuffer(device, bufs.stats, bytes * NS * p.n));
    const status = new Uint32Array(await readBuffer(device, bufs.status, 16 * p.n));
    return { stats: df ? fromDoubleFloat(out) : Float64Array.from(out), status, count: p.steps + 1 - p.firstSummaryStep };
  } finally {
    for (const b of [...Object.values(bufs), ...uniforms]) b.destroy();
  }
}
