import { isPhysiotwinError, PhysiotwinError, type OperationOptions } from '@physiotwin/core';
import { chooseBackend, type AdapterDescription, type ComputeOptions, type GpuContext } from '@physiotwin/gpu';
import { doubleFloatReason, GENERAL_GPU_BLOCK_TYPES } from './ensemble-general.codegen.js';
import { generalEnsembleCpu } from './ensemble-general.cpu.js';
import { generalProblem } from './ensemble-general.js';
import { rcrEnsembleCpu } from './ensemble-rcr.cpu.js';
import { rcrProblem, rcrTopology, type RcrProblem, type RcrStats } from './ensemble-rcr.js';
import { checkSamples, checkWhole, variantOverrides, type EnsembleSamples } from './ensemble-samples.js';
import type { GeneralStats } from './ensemble-schedule.js';
import { allocating, checkMemory, type SolverLimits } from './limits.js';
import { invalid } from './config-read.js';
import { workTicker } from './progress.js';
import { DaeSystem } from './system.js';
import type { SvZeroDConfig } from './settings.js';
import { applyOverrides, integrate, prepareSimulation, type PreparedSimulation } from './solver.js';

/** Options of {@link simulateEnsemble}. */
export interface EnsembleOptions extends ComputeOptions, SolverLimits {
  /**
   * 'auto' runs WebGPU on a hardware adapter (the shared device unless `gpu` is given) for models the GPU kernels
   * support and at least 1e5 model-steps, else the CPU; 'webgpu' uses `gpu` or the shared device. @default 'auto'
   */
  backend?: 'auto' | 'cpu' | 'webgpu' | undefined;
  /** Unknowns to summarise (names as in variable-based output). @default every node pressure and flow */
  outputs?: string[] | undefined;
  /**
   * Arithmetic of the generated WebGPU kernel for general models: 'f32', 'df' (double-float: pairs of f32,
   * about 2^-48 relative, several times slower), or 'auto': double-float for models whose f32 results
   * cannot match the f64 solver within 1e-3 (ClosedLoopHeartAndPulmonary's ideal valves), f32 otherwise.
   * The RCR kernel is always f32 and the CPU always f64. @default 'auto'
   */
  precision?: 'auto' | 'f32' | 'df' | undefined;
  /**
   * When `samples` are a part (a shard) of a larger run: what the whole run decides from, so that this part decides
   * the same and its summaries are, bit for bit, the whole run's rows of these variants (`physiotwin hemo ensemble
   * --shard` and the worker pool pass it). Without it the part is its own whole run.
   */
  whole?:
    | {
        /** Variants of the whole run (at least those of `samples`): 'auto' weighs the whole run's work against the GPU's. */
        variants: number;
        /**
         * The whole run's first and last variant (one row when it has one), with the columns of `samples` in their
         * order: the general kernel's static pivot order is chosen from their Jacobians.
         */
        ends: EnsembleSamples;
      }
    | undefined;
}

/** Per-variant summaries over the last cardiac cycle (the rows svZeroDSolver writes by default). */
export interface EnsembleSummary {
  n: number;
  outputs: string[];
  /** `mean[v * outputs.length + k]`, also `min`, `max` (CGS). */
  mean: Float64Array;
  min: Float64Array;
  max: Float64Array;
  /** Nodes that flow into a boundary condition (outlets). */
  splitNames: string[];
  /** Mean outlet flow over the sum of mean outlet flows, `splits[v * splitNames.length + j]`. */
  splits: Float64Array;
  backend: 'cpu' | 'webgpu';
  /** The adapter of a WebGPU run. */
  adapter?: AdapterDescription | undefined;
  /**
   * 'rcr': the specialised FLOW -> R vessel -> RCR kernel; 'general': a kernel generated for the model (f64
   * JavaScript on the cpu, WGSL on webgpu), or on the cpu the full f64 solver per variant for models the
   * generated kernels do not support.
   */
  kernel: 'rcr' | 'general';
  /** Arithmetic the summaries were computed in: 'f64' on the CPU, 'f32' or 'df' (double-float) on WebGPU. */
  precision: 'f64' | 'f32' | 'df';
  /**
   * Variants whose summaries the CPU computed instead of the backend's kernel: on webgpu those the GPU kernel
   * handed back (Newton did not converge, its static pivot order failed, a decision fell within its rounding,
   * or a summary was not finite), computed by the CPU's generated f64 kernel or the full solver; on the cpu those
   * the generated f64 kernel handed to the full solver; for the 'rcr' kernel those whose statistics were not
   * finite, re-run by the full solver. Empty otherwise.
   */
  cpuVariants: number[];
}


/** Below this many model-steps (variants x steps) 'auto' stays on the CPU: uploads and dispatches cost more. */
const MIN_WORK_FOR_GPU = 1e5;

/**
 * Runs N variants of one model and returns per-variant summaries (mean, min, max over the last cardiac
 * cycle of chosen unknowns, and outlet flow splits) without moving whole waveforms.
 *
 * The FLOW -> BloodVessel (R) -> RCR topology runs a specialised kernel: generalized-alpha for this linear
 * DAE reduces to one recurrence per variant for Pc (exact Newton solution of each step), in f64 typed-array
 * loops on the CPU, or in f32 on WebGPU with one variant per invocation and the whole time loop on the
 * device (one cardiac cycle per dispatch). Other models run a kernel generated for the model (ensemble-general.ts:
 * f64 JavaScript on the CPU; on WebGPU f32 or double-float states, see `options.precision`; one variant per
 * invocation, the whole generalized-alpha/Newton time loop on the device with an unrolled sparse LU in a static
 * pivot order, one dispatch per cycle) for the block types in `GENERAL_GPU_BLOCK_TYPES`, and the full f64 solver
 * per variant otherwise. Variants a kernel hands back (Newton failed, its pivots failed, a decision within its
 * rounding, or a non-finite summary) are re-run by the f64 solver (listed in `cpuVariants`), which either
 * computes them or reports where they diverge. The config is parsed once; WebGPU code is loaded on first use.
 *
 * @param samples parameter overrides per variant (keys `block.param`)
 * @throws PhysiotwinError `CONFIG_INVALID` (bad config, samples that name no parameter, an unknown parameter
 *   key), `INVALID_ARGUMENT` (no variants, a non-finite sample, a `whole` that does not fit the samples, the webgpu backend for a block type or option
 *   without a GPU kernel, unknown backend or precision), `GPU_*` codes from the device (limits, out of memory,
 *   lost device; `GPU_UNSUPPORTED` when a double-float kernel is needed and the device's arithmetic fails the
 *   double-float probe: 'auto' then runs on the CPU), `SOLVER_DIVERGED` (naming the variant, time and block),
 *   `LIMIT_EXCEEDED` / `OUT_OF_MEMORY` (variants, steps or memory above the limits, naming the option that raises
 *   them), `ABORTED`
 * @example
 * ```ts
 * const s = await simulateEnsemble(cfg, { names: ['OUT.Rd'], values: Float64Array.of(900, 1000, 1100) });
 * s.mean[1 * s.outputs.length + s.outputs.indexOf('pressure:branch0_seg0:OUT')];
 * ```
 */
export async function simulateEnsemble(config: SvZeroDConfig, samples: EnsembleSamples, options: EnsembleOptions = {}): Promise<EnsembleSummary> {
  const requested = options.backend ?? 'auto';
  if (!['auto', 'cpu', 'webgpu'].includes(requested)) throw new PhysiotwinError('INVALID_ARGUMENT', `backend must be 'auto', 'cpu' or 'webgpu', got ${JSON.stringify(requested)}`);
  const precision = options.precision ?? 'auto';
  if (!['auto', 'f32', 'df'].includes(precision)) throw new PhysiotwinError('INVALID_ARGUMENT', `precision must be 'auto', 'f32' or 'df', got ${JSON.stringify(precision)}`);
  const prepared = prepareSimulation(config, options);
  const { model, settings, grid, limits } = prepared;
  const n = checkSamples(samples, model, limits);
  const ends = options.whole === undefined ? samples : checkWhole(options.whole, samples, n);
  const outputs = options.outputs ?? model.dofNames.filter((d) => d.startsWith('pressure:') || d.startsWith('flow:'));
  for (const o of outputs) if (!model.dofNames.includes(o)) throw invalid(`no unknown named '${String(o).slice(0, 100)}' (names as in variable-based output, e.g. ${model.dofNames[0]})`, String(o).slice(0, 100));
  const splitNodes = model.nodes.filter((nd) => model.byName.get(nd.name.split(':')[1]!)?.cls === 'boundary_condition');
  const splitNames = splitNodes.map((nd) => `flow:${nd.name}`);
  const K = outputs.length;
  const S = splitNodes.length;
  // Per variant: the summaries, a kernel's statistics, status and state, its parameters and its constant matrix
  // entries (at most E and F of every entry of the pattern in both phases), in f64.
  const N = model.dofNames.length;
  const pattern = new DaeSystem(N);
  for (const b of model.blocks) b.setup(pattern);
  // The generated kernels' static pivot analysis adds about 9 dense N x N f64 sample matrices (ensemble-general.ts).
  const generated = !settings.useCycleToCycleError && model.blocks.every((b) => GENERAL_GPU_BLOCK_TYPES.includes(b.type));
  checkMemory(limits, 8 * n * (2 * (3 * K + S) + 4 + 2 * N + model.params.length + 4 * pattern.rows.length) + (generated ? 9 * 8 * N * N : 0), `an ensemble of ${n} variants of ${N} unknowns`);
  const mean = new Float64Array(n * K);
  const min = new Float64Array(n * K);
  const max = new Float64Array(n * K);
  const splits = new Float64Array(n * S);

  const prob = rcrProblem(prepared, samples);
  let gpu: GpuContext | undefined;
  if (requested === 'webgpu' || (requested === 'auto' && (prob !== undefined || generated))) {
    const r = await chooseBackend({ backend: requested, gpu: options.gpu }, { op: 'simulateEnsemble', work: (options.whole?.variants ?? n) * grid.steps, minWorkForGpu: MIN_WORK_FOR_GPU });
    if (r.backend === 'webgpu') gpu = r.gpu;
  }
  // The RCR kernel (f32 on WebGPU) unless the general kernel is needed: a single cycle also summarises the
  // initial state, which the RCR WebGPU kernel does not, and double-float was asked for.
  const useRcr = prob !== undefined && !(gpu && (prob.firstSummaryStep === 0 || precision === 'df'));
  // A double-float kernel needs f32 arithmetic that keeps error-free transformations exact; one probe per device.
  const kernelPrecision = precision === 'auto' ? (doubleFloatReason(model) ? 'df' : 'f32') : precision;
  if (gpu && !useRcr && kernelPrecision === 'df') {
    const { probeDoubleFloat } = await import('./double-float.webgpu.js');
    const probe = await probeDoubleFloat(gpu.device);
    if (!probe.ok) {
      if (requested === 'auto') gpu = undefined;
      else {
        const worst = Object.entries(probe.maxError).sort((a, b) => b[1] - a[1])[0]!;
        throw new PhysiotwinError(
          'GPU_UNSUPPORTED',
          `this device's f32 arithmetic does not support double-float emulation (probe: ${worst[0]} error ${worst[1].toExponential(2)} > ${probe.bound.toExponential(2)}); use backend 'cpu'${precision === 'auto' ? ", or precision 'f32' (summaries then differ from f64 by about 1e-2 for this model)" : ''}`,
        );
      }
    }
  }
  const backend: 'cpu' | 'webgpu' = gpu ? 'webgpu' : 'cpu';
  const report = { backend, ...(gpu ? { adapter: gpu.adapter } : {}) };
  const idx = outputs.map((o) => model.dofNames.indexOf(o));
  const sidx = splitNodes.map((nd) => nd.flowDof);
  const summary = { n, outputs, mean, min, max, splitNames, splits, ...report };

  /** One variant with the full f64 solver (last cycle only), summarised into the output arrays. */
  const quiet = { ...settings, outputAllCycles: false, outputInterval: 1 };
  const cpuVariant = async (v: number): Promise<void> => {
    let r;
    try {
      applyOverrides(model, variantOverrides(samples, v));
      r = await integrate(prepared, quiet, { signal: options.signal });
    } catch (e) {
      // Solver failures name the variant (their messages carry no location suffix; strip the code prefix).
      if (isPhysiotwinError(e, 'SOLVER_DIVERGED') || isPhysiotwinError(e, 'SOLVER_NOT_CONVERGED')) {
        throw new PhysiotwinError(e.code, `variant ${v}: ${e.message.slice(e.code.length + 2)}`, { details: { ...e.details, variant: v }, cause: e });
      }
      throw e;
    }
    const T = r.y.length;
    for (let k = 0; k < K; k++) {
      let s = 0;
      let lo = Infinity;
      let hi = -Infinity;
      for (let t = 0; t < T; t++) {
        const x = r.y[t]![idx[k]!]!;
        s += x;
        lo = Math.min(lo, x);
        hi = Math.max(hi, x);
      }
      mean[v * K + k] = s / T;
      min[v * K + k] = lo;
      max[v * K + k] = hi;
    }
    let total = 0;
    const m = sidx.map((d) => {
      let s = 0;
      for (let t = 0; t < T; t++) s += r.y[t]![d]!;
      total += s / T;
      return s / T;
    });
    for (let j = 0; j < S; j++) splits[v * S + j] = m[j]! / total;
  };
  /** The full solver for `variants`, with progress and cancellation between them. */
  const fullSolver = async (variants: readonly number[]): Promise<void> => {
    const tick = workTicker(options, 'hemo/ensemble (full solver per variant)', variants.length);
    for (let i = 0; i < variants.length; i++) {
      await cpuVariant(variants[i]!);
      await tick(i + 1);
    }
  };

  if (prob && useRcr) {
    const raw = gpu ? await (await import('./ensemble-rcr.webgpu.js')).rcrEnsembleWebgpu(prob, gpu, options) : await rcrCpu(prob, options);
    const rest = fillRcr(prob, raw, model, rcrTopology(model)!, outputs, summary);
    // Variants whose recurrence overflowed (e.g. Rd = 1e308) go to the full solver, which names where they diverge.
    await fullSolver(rest);
    return { ...summary, kernel: 'rcr', precision: gpu ? 'f32' : 'f64', cpuVariants: rest };
  }

  /** Summaries of variants[i] from row i of a general kernel's raw results; returns the variants it could not give. */
  const fill = (raw: GeneralStats, variants: number[]): number[] => {
    const NS = 3 * K + S;
    const failed: number[] = [];
    variants.forEach((v, i) => {
      const row = raw.stats.subarray(i * NS, (i + 1) * NS);
      if (raw.status[4 * i] !== 0 || !row.every(Number.isFinite)) {
        failed.push(v);
        return;
      }
      for (let k = 0; k < K; k++) {
        mean[v * K + k] = row[3 * k]! / raw.count;
        min[v * K + k] = row[3 * k + 1]!;
        max[v * K + k] = row[3 * k + 2]!;
      }
      let total = 0;
      for (let j = 0; j < S; j++) total += row[3 * K + j]! / raw.count;
      for (let j = 0; j < S; j++) splits[v * S + j] = row[3 * K + j]! / raw.count / total;
    });
    return failed;
  };
  const all = Array.from({ length: n }, (_, v) => v);
  // The chosen backend's kernel, then the CPU's generated f64 kernel for what it could not do, then the full
  // solver for the rest (models the generated kernels do not support go straight to it).
  let rest = all;
  if (gpu) {
    const { generalEnsembleWebgpu } = await import('./ensemble-general.webgpu.js');
    const problem = await allocating('the WebGPU kernel tables', () => generalProblem(prepared, samples, idx, sidx, kernelPrecision, options, ends));
    rest = fill(await generalEnsembleWebgpu(problem, gpu, options), all);
  }
  const cpuVariants = gpu ? [...rest] : [];
  if (generated && rest.length > 0) {
    const sub = rest;
    const P = samples.names.length;
    const subSamples = { names: samples.names, values: Float64Array.from(sub.flatMap((v) => Array.from(samples.values.subarray(v * P, (v + 1) * P)))) };
    // The pivot order of the whole run (not of the variants handed back): the same for a shard as for the whole.
    const problem = await allocating('the CPU kernel tables', () => generalProblem(prepared, subSamples, idx, sidx, 'f64', options, ends));
    const raw = await generalEnsembleCpu(problem, options);
    if (raw) rest = fill(raw, sub);
  }
  if (!gpu) cpuVariants.push(...rest);
  await fullSolver(rest);
  return { ...summary, kernel: 'general', precision: gpu ? kernelPrecision : 'f64', cpuVariants };
}

/** The CPU RCR kernel in slices of variants, with cancellation and progress between slices. */
async function rcrCpu(p: RcrProblem, options: OperationOptions): Promise<RcrStats> {
  const stats = new Float64Array(p.n * 9);
  const perSlice = Math.max(4, 4 * Math.floor(2e5 / (4 * (p.steadySteps + p.steps))));
  const tick = workTicker(options, 'hemo/ensemble', p.n);
  let count = 0;
  for (let v = 0; v < p.n; v += perSlice) {
    count = rcrEnsembleCpu(p, stats, v, Math.min(p.n, v + perSlice)).count;
    await tick(Math.min(p.n, v + perSlice));
  }
  return { stats, count };
}

/** Fills the summaries from an RCR kernel's statistics; returns the variants whose statistics are not finite. */
function fillRcr(prob: RcrProblem, raw: RcrStats, model: PreparedSimulation['model'], topo: NonNullable<ReturnType<typeof rcrTopology>>, outputs: string[], out: Pick<EnsembleSummary, 'mean' | 'min' | 'max' | 'splits' | 'splitNames'>): number[] {
  const qIn = topo.vessel.inlets[0]!;
  const qOut = topo.vessel.outlets[0]!;
  // Inflow statistics are the same for every variant.
  let qs = 0;
  let qmin = Infinity;
  let qmax = -Infinity;
  const from = prob.firstSummaryStep;
  if (from === 0) {
    qs += prob.q0;
    qmin = qmax = prob.q0;
  }
  for (let i = Math.max(1, from); i <= prob.steps; i++) {
    const q = prob.qNext[prob.steadySteps + i - 1]!;
    qs += q;
    qmin = Math.min(qmin, q);
    qmax = Math.max(qmax, q);
  }
  const source = (name: string): number => {
    if (name === `flow:${qIn.name}` || name === `flow:${qOut.name}`) return -1;
    if (name === `pressure:${qIn.name}`) return 0;
    if (name === `pressure:${qOut.name}`) return 1;
    if (name === `pressure_c:${topo.rcr.name}`) return 2;
    throw invalid(`the RCR ensemble kernel summarises flows, pressures and pressure_c, not '${name}' (unknowns: ${model.dofNames.join(', ')})`, name);
  };
  const src = outputs.map(source);
  const K = outputs.length;
  const S = out.splitNames.length;
  const failed: number[] = [];
  for (let v = 0; v < prob.n; v++) {
    if (!raw.stats.subarray(v * 9, v * 9 + 9).every(Number.isFinite)) {
      failed.push(v);
      continue;
    }
    for (let k = 0; k < K; k++) {
      const j = src[k]!;
      const o = v * K + k;
      if (j < 0) {
        out.mean[o] = qs / raw.count;
        out.min[o] = qmin;
        out.max[o] = qmax;
      } else {
        out.mean[o] = raw.stats[v * 9 + 3 * j]! / raw.count;
        out.min[o] = raw.stats[v * 9 + 3 * j + 1]!;
        out.max[o] = raw.stats[v * 9 + 3 * j + 2]!;
      }
    }
    for (let j = 0; j < S; j++) out.splits[v * S + j] = 1;
  }
  return failed;
}
