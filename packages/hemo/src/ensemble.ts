import { isPhysiotwinError, PhysiotwinError } from '@physiotwin/core';
import { chooseBackend, type GpuContext } from '@physiotwin/gpu';
import { BloodVessel, FlowBC, WindkesselBC } from './blocks.js';
import { buildModel, readSimulationSettings, type Model, type SimulationSettings, type SvZeroDConfig } from './model.js';
import { initialState, simulate } from './solver.js';
import type { EnsembleTimeGrid } from './ensemble-schedule.js';
import { rcrEnsembleCpu } from './ensemble-rcr.cpu.js';
import { rcrEnsembleWebgpu } from './ensemble-rcr.webgpu.js';
import { generalProblem } from './ensemble-general.js';
import { generalEnsembleWebgpu } from './ensemble-general.webgpu.js';
import { generalEnsembleCpu } from './ensemble-general.cpu.js';
import type { GeneralStats } from './ensemble-schedule.js';
import { doubleFloatReason, GENERAL_GPU_BLOCK_TYPES } from './ensemble-general.codegen.js';
import { probeDoubleFloat } from './double-float.js';

/** Ensemble variants: parameter columns `block.param` and one row of values per variant. */
export interface EnsembleSamples {
  /** Parameter keys, e.g. `OUT.Rd`, `branch0_seg0.R_poiseuille`, `J0.R_poiseuille[1]`. */
  names: string[];
  /** Row-major values, `values[v * names.length + j]` (CGS units, as the config). */
  values: Float64Array;
}

/** Options of {@link simulateEnsemble}. */
export interface EnsembleOptions {
  /**
   * 'auto' runs WebGPU on a hardware adapter for models the GPU kernels support and at least
   * 1e5 model-steps, else the CPU. @default 'cpu'
   */
  backend?: 'auto' | 'cpu' | 'webgpu';
  /** Device for the 'webgpu' backend. */
  gpu?: GpuContext;
  /** Unknowns to summarise (names as in variable-based output). @default every node pressure and flow */
  outputs?: string[];
  /**
   * Arithmetic of the generated WebGPU kernel for general models: 'f32', 'df' (double-float: pairs of f32,
   * about 2^-48 relative, several times slower), or 'auto': double-float for models whose f32 results
   * cannot match the f64 solver within 1e-3 (ClosedLoopHeartAndPulmonary's ideal valves), f32 otherwise.
   * The RCR kernel is always f32 and the CPU always f64. @default 'auto'
   */
  precision?: 'auto' | 'f32' | 'df';
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
  /**
   * 'rcr': the specialised FLOW -> R vessel -> RCR kernel; 'general': a kernel generated for the model (f64
   * JavaScript on the cpu, WGSL on webgpu), or on the cpu the full f64 solver per variant for models the
   * generated kernels do not support.
   */
  kernel: 'rcr' | 'general';
  /** Arithmetic the summaries were computed in: 'f64' on the CPU, 'f32' or 'df' (double-float) on WebGPU. */
  precision: 'f64' | 'f32' | 'df';
  /**
   * Variants of a 'general' run whose summaries the CPU computed instead of the backend's kernel: on webgpu
   * those the GPU kernel handed back (Newton did not converge, its static pivot order failed, or a
   * decision fell within its rounding), computed by the CPU's generated f64 kernel or the full solver; on
   * the cpu those the generated f64 kernel handed to the full solver. Empty otherwise.
   */
  cpuVariants: number[];
}

/** Drive and constants shared by every variant of an RCR ensemble (computed once in f64 on the host). */
export interface RcrProblem extends EnsembleTimeGrid {
  /** Per-variant R, Rp, C, Rd, Pd (stride 5). */
  params: Float64Array;
  /** Inflow at t_n + alpha_f dt and the new inflow Q_{n+1}, per step (steady steps first). */
  qAf: Float64Array;
  qNext: Float64Array;
  /** Initial Pc and dPc/dt. */
  pc0: number;
  pcDot0: number;
  /** Initial inflow (for the single-cycle case that also outputs the initial state). */
  q0: number;
}

/** Raw per-variant statistics of an RCR ensemble: for P_in, P_out, Pc: sum, min, max (stride 9), and count. */
export interface RcrStats {
  stats: Float64Array;
  count: number;
}

function invalid(msg: string, path = '$'): PhysiotwinError {
  return new PhysiotwinError('CONFIG_INVALID', msg, { location: { jsonPath: path } });
}

/**
 * Normalises samples given as records.
 * @throws PhysiotwinError `INVALID_ARGUMENT` when a record lacks a finite value for a parameter the first record names.
 */
export function samplesFromRecords(rows: ReadonlyArray<Readonly<Record<string, number>>>): EnsembleSamples {
  const names = [...new Set(rows.flatMap((r) => Object.keys(r)))];
  const values = new Float64Array(rows.length * names.length);
  rows.forEach((r, v) =>
    names.forEach((k, j) => {
      const x = r[k];
      if (typeof x !== 'number' || !Number.isFinite(x)) throw new PhysiotwinError('INVALID_ARGUMENT', `sample ${v} has no finite value for '${k}'`);
      values[v * names.length + j] = x;
    }),
  );
  return { names, values };
}

function variantOverrides(s: EnsembleSamples, v: number): Record<string, number> {
  const o: Record<string, number> = {};
  s.names.forEach((k, j) => (o[k] = s.values[v * s.names.length + j]!));
  return o;
}

/** Recognises FLOW -> BloodVessel (R only) -> RCR, the topology of the specialised kernels. */
function rcrTopology(model: Model): { vessel: BloodVessel; flow: FlowBC; rcr: WindkesselBC } | undefined {
  if (model.blocks.length !== 3) return undefined;
  const vessel = model.blocks.find((b): b is BloodVessel => b instanceof BloodVessel);
  const flow = model.blocks.find((b): b is FlowBC => b instanceof FlowBC);
  const rcr = model.blocks.find((b): b is WindkesselBC => b instanceof WindkesselBC);
  if (!vessel || !flow || !rcr) return undefined;
  if (vessel.inlets[0]!.name !== `${flow.name}:${vessel.name}` || vessel.outlets[0]!.name !== `${vessel.name}:${rcr.name}`) return undefined;
  return { vessel, flow, rcr };
}

/**
 * Sets up the RCR kernels' problem: per-variant parameters and the shared inflow recurrence of
 * generalized-alpha (Q is algebraic: Q_{n+alpha_f} = Q(t_{n+alpha_f}), Q_{n+1} = Q_n + (Q_af - Q_n)/alpha_f).
 * Returns undefined when the model or the samples need the general solver.
 * @throws PhysiotwinError `CONFIG_INVALID` for a sample of a parameter the model does not have, `INVALID_ARGUMENT` for a sample value that is not finite.
 */
export function rcrProblem(config: SvZeroDConfig, samples: EnsembleSamples): RcrProblem | undefined {
  const settings: SimulationSettings = readSimulationSettings(config);
  const model = buildModel(config, settings);
  const topo = rcrTopology(model);
  if (!topo || settings.useCycleToCycleError) return undefined;
  const { vessel, flow, rcr } = topo;
  const varying = new Set(samples.names);
  for (const k of ['C', 'L', 'stenosis_coefficient']) {
    const key = `${vessel.name}.${k}`;
    if (varying.has(key) || model.params[vessel.pid[k]!]!.get(0) !== 0) return undefined;
  }
  const keys = [`${vessel.name}.R_poiseuille`, `${rcr.name}.Rp`, `${rcr.name}.C`, `${rcr.name}.Rd`, `${rcr.name}.Pd`];
  const base = keys.map((k) => model.params[model.paramIds.get(k)!]!);
  for (let j = 0; j < keys.length; j++) if (base[j]!.isSeries && !varying.has(keys[j]!)) return undefined;
  for (const k of samples.names) if (!keys.includes(k)) {
    if (!model.paramIds.has(k)) throw invalid(`no parameter '${k}' in this model`, k);
    return undefined;
  }
  const n = samples.values.length / Math.max(1, samples.names.length);
  const params = new Float64Array(n * 5);
  const col = keys.map((k) => samples.names.indexOf(k));
  for (let v = 0; v < n; v++) {
    for (let j = 0; j < 5; j++) {
      const x = col[j]! >= 0 ? samples.values[v * samples.names.length + col[j]!]! : base[j]!.get(0);
      if (!Number.isFinite(x)) throw new PhysiotwinError('INVALID_ARGUMENT', `sample ${v}: ${keys[j]} = ${x} is not finite`);
      params[v * 5 + j] = x;
    }
  }
  const rho = settings.rhoInfinity;
  const alphaM = (0.5 * (3 - rho)) / (1 + rho);
  const alphaF = 1 / (1 + rho);
  const gamma = 0.5 + alphaM - alphaF;
  const T = model.period;
  const pts = settings.ptsPerCycle;
  const steps = (pts - 1) * settings.numberOfCycles;
  const steadySteps = settings.steadyInitial ? 31 : 0;
  const dtSteady = T / 10;
  const dt = T / (pts - 1);
  const init = initialState(config, model);
  const qParam = model.params[flow.pid.Q!]!;
  const qAf = new Float64Array(steadySteps + steps);
  const qNext = new Float64Array(steadySteps + steps);
  const qDof = vessel.inlets[0]!.flowDof;
  let q = init.y[qDof]!;
  const step = (k: number, t: number, h: number): void => {
    const qa = qParam.get(t + alphaF * h);
    const qn = q + (qa - q) / alphaF;
    qAf[k] = qa;
    qNext[k] = qn;
    q = qn;
  };
  qParam.setSteady(true);
  for (let i = 0; i < steadySteps; i++) step(i, dtSteady * i, dtSteady);
  qParam.setSteady(false);
  const q0 = q;
  for (let i = 1; i <= steps; i++) step(steadySteps + i - 1, dt * (i - 1), dt);
  const nSteps = steps + 1;
  const pcDof = rcr.v[2]!;
  return {
    n,
    params,
    steadySteps,
    dtSteady,
    steps,
    dt,
    ptsPerCycle: pts,
    alphaM,
    alphaF,
    gamma,
    qAf,
    qNext,
    pc0: init.y[pcDof]!,
    pcDot0: init.ydot[pcDof]!,
    q0,
    firstSummaryStep: Math.max(0, nSteps - pts),
  };
}

/**
 * Runs N variants of one model and returns per-variant summaries (mean, min, max over the last cardiac
 * cycle of chosen unknowns, and outlet flow splits) without moving whole waveforms.
 *
 * The FLOW -> BloodVessel (R) -> RCR topology runs a specialised kernel: generalized-alpha for this linear
 * DAE reduces to one recurrence per variant for Pc (exact Newton solution of each step), in f64 typed-array
 * loops on the CPU, or in f32 on WebGPU with one variant per invocation and the whole time loop on the
 * device (one cardiac cycle per dispatch). Other models run the full f64 solver once per variant on the CPU,
 * or on WebGPU a kernel generated for the model (ensemble-general.ts: f32 or double-float states, see
 * `options.precision`; one variant per invocation, the whole generalized-alpha/Newton time loop on the
 * device with an unrolled sparse LU in a static pivot order, one dispatch per cycle) for the block types in
 * `GENERAL_GPU_BLOCK_TYPES`; variants
 * whose Newton fails on the GPU are re-run by the f64 solver (listed in `cpuVariants`).
 *
 * @param samples parameter overrides per variant (keys `block.param`)
 * @throws PhysiotwinError `CONFIG_INVALID` (bad config or parameter key), `INVALID_ARGUMENT` (no variants, a
 *   non-finite sample, the webgpu backend for a block type or option without a GPU kernel, missing device,
 *   unknown backend or precision), `GPU_*` codes from the device (limits, out of memory, lost device;
 *   `GPU_UNSUPPORTED` when a double-float kernel is needed and the device's arithmetic fails the
 *   double-float probe: 'auto' then runs on the CPU),
 *   `SOLVER_DIVERGED` (naming the variant, time and block)
 * @example
 * ```ts
 * const s = await simulateEnsemble(cfg, { names: ['OUT.Rd'], values: Float64Array.of(900, 1000, 1100) });
 * s.mean[1 * s.outputs.length + s.outputs.indexOf('pressure:branch0_seg0:OUT')];
 * ```
 */
export async function simulateEnsemble(config: SvZeroDConfig, samples: EnsembleSamples, options: EnsembleOptions = {}): Promise<EnsembleSummary> {
  const requested = options.backend ?? 'cpu';
  if (samples.names.length === 0 ? samples.values.length !== 0 : samples.values.length % samples.names.length !== 0) {
    throw new PhysiotwinError('INVALID_ARGUMENT', `samples: ${samples.values.length} values do not fill rows of ${samples.names.length} parameters`);
  }
  if (samples.names.length > 0 && samples.values.length === 0) throw new PhysiotwinError('INVALID_ARGUMENT', 'samples: no variants (no rows of values)');
  // One check for every backend, naming the variant (a NaN would otherwise surface differently per kernel).
  const bad = samples.values.findIndex((x) => !Number.isFinite(x));
  if (bad >= 0) {
    const cols = samples.names.length;
    throw new PhysiotwinError('INVALID_ARGUMENT', `samples: variant ${Math.floor(bad / cols)}, ${samples.names[bad % cols]} = ${samples.values[bad]} is not finite`);
  }
  const precision = options.precision ?? 'auto';
  if (!['auto', 'f32', 'df'].includes(precision)) throw new PhysiotwinError('INVALID_ARGUMENT', `precision must be 'auto', 'f32' or 'df', got ${JSON.stringify(precision)}`);
  const settings = readSimulationSettings(config);
  const model = buildModel(config, settings);
  for (const k of samples.names) if (!model.paramIds.has(k)) throw invalid(`no parameter '${k}' in this model`, k);
  const outputs = options.outputs ?? model.dofNames.filter((d) => d.startsWith('pressure:') || d.startsWith('flow:'));
  for (const o of outputs) if (!model.dofNames.includes(o)) throw invalid(`no unknown named '${o}' (names as in variable-based output, e.g. ${model.dofNames[0]})`, o);
  const splitNodes = model.nodes.filter((nd) => model.byName.get(nd.name.split(':')[1]!)?.cls === 'boundary_condition');
  const splitNames = splitNodes.map((nd) => `flow:${nd.name}`);
  const n = samples.names.length === 0 ? 1 : samples.values.length / samples.names.length;
  const K = outputs.length;
  const S = splitNodes.length;
  const mean = new Float64Array(n * K);
  const min = new Float64Array(n * K);
  const max = new Float64Array(n * K);
  const splits = new Float64Array(n * S);

  const prob = rcrProblem(config, samples);
  // Models the generated kernels (WGSL and JavaScript) support.
  const generated = !settings.useCycleToCycleError && model.blocks.every((b) => GENERAL_GPU_BLOCK_TYPES.includes(b.type));
  const gpuCapable = prob !== undefined || generated;
  let backend: 'cpu' | 'webgpu' = requested === 'webgpu' ? 'webgpu' : 'cpu';
  if (requested === 'auto' && gpuCapable) {
    const work = n * (settings.ptsPerCycle - 1) * settings.numberOfCycles;
    const r = await chooseBackend({ backend: 'auto', gpu: options.gpu }, { op: 'simulateEnsemble', work, minWorkForGpu: 1e5 });
    if (r.backend === 'webgpu') {
      backend = 'webgpu';
      options = { ...options, gpu: r.gpu };
    }
  } else if (requested !== 'auto' && requested !== 'cpu' && requested !== 'webgpu') {
    throw new PhysiotwinError('INVALID_ARGUMENT', `backend must be 'auto', 'cpu' or 'webgpu', got ${JSON.stringify(requested)}`);
  }
  if (backend === 'webgpu' && !options.gpu) throw new PhysiotwinError('INVALID_ARGUMENT', "the 'webgpu' backend needs options.gpu");
  // The RCR kernel (f32 on WebGPU) unless the general kernel is needed: a single cycle also summarises the
  // initial state, which the RCR WebGPU kernel does not, and double-float was asked for.
  const useRcr = prob !== undefined && !(backend === 'webgpu' && (prob.firstSummaryStep === 0 || precision === 'df'));
  // A double-float kernel needs f32 arithmetic that keeps error-free transformations exact; one probe per device.
  const kernelPrecision = precision === 'auto' ? (doubleFloatReason(model) ? 'df' : 'f32') : precision;
  if (backend === 'webgpu' && !useRcr && kernelPrecision === 'df') {
    const probe = await probeDoubleFloat(options.gpu!.device);
    if (!probe.ok) {
      if (requested === 'auto') backend = 'cpu';
      else {
        const worst = Object.entries(probe.maxError).sort((a, b) => b[1] - a[1])[0]!;
        throw new PhysiotwinError(
          'GPU_UNSUPPORTED',
          `this device's f32 arithmetic does not support double-float emulation (probe: ${worst[0]} error ${worst[1].toExponential(2)} > ${probe.bound.toExponential(2)}); use backend 'cpu'${precision === 'auto' ? ", or precision 'f32' (summaries then differ from f64 by about 1e-2 for this model)" : ''}`,
        );
      }
    }
  }
  if (prob && useRcr) {
    const raw = backend === 'webgpu' ? await rcrEnsembleWebgpu(prob, options.gpu!) : rcrEnsembleCpu(prob);
    const topo = rcrTopology(model)!;
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
      throw invalid(`the RCR ensemble kernel summarises flows, pressures and pressure_c, not '${name}'`, name);
    };
    const src = outputs.map(source);
    for (let v = 0; v < n; v++) {
      for (let k = 0; k < K; k++) {
        const j = src[k]!;
        const o = v * K + k;
        if (j < 0) {
          mean[o] = qs / raw.count;
          min[o] = qmin;
          max[o] = qmax;
        } else {
          mean[o] = raw.stats[v * 9 + 3 * j]! / raw.count;
          min[o] = raw.stats[v * 9 + 3 * j + 1]!;
          max[o] = raw.stats[v * 9 + 3 * j + 2]!;
        }
      }
      for (let j = 0; j < S; j++) splits[v * S + j] = 1;
    }
    return { n, outputs, mean, min, max, splitNames, splits, backend, kernel: 'rcr', precision: backend === 'webgpu' ? 'f32' : 'f64', cpuVariants: [] };
  }
  const idx = outputs.map((o) => model.dofNames.indexOf(o));
  const sidx = splitNodes.map((nd) => nd.flowDof);
  const quiet = { ...config, simulation_parameters: { ...(config.simulation_parameters as object), output_all_cycles: false, output_interval: 1 } };
  /** One variant with the full f64 solver, summarised into the output arrays. */
  const cpuVariant = (v: number): void => {
    let r;
    try {
      r = simulate(quiet, { overrides: samples.names.length ? variantOverrides(samples, v) : {} });
    } catch (e) {
      // Solver failures name the variant (their messages carry no location suffix; strip the code prefix).
      if (n > 1 && (isPhysiotwinError(e, 'SOLVER_DIVERGED') || isPhysiotwinError(e, 'SOLVER_NOT_CONVERGED'))) {
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
  /** Summaries of variants[i] from row i of a general kernel's raw results; returns the variants it could not give. */
  const fill = (raw: GeneralStats, variants: number[]): number[] => {
    const NS = 3 * K + S;
    const failed: number[] = [];
    variants.forEach((v, i) => {
      if (raw.status[4 * i] !== 0) {
        failed.push(v);
        return;
      }
      for (let k = 0; k < K; k++) {
        mean[v * K + k] = raw.stats[i * NS + 3 * k]! / raw.count;
        min[v * K + k] = raw.stats[i * NS + 3 * k + 1]!;
        max[v * K + k] = raw.stats[i * NS + 3 * k + 2]!;
      }
      let total = 0;
      for (let j = 0; j < S; j++) total += raw.stats[i * NS + 3 * K + j]! / raw.count;
      for (let j = 0; j < S; j++) splits[v * S + j] = raw.stats[i * NS + 3 * K + j]! / raw.count / total;
    });
    return failed;
  };
  const all = Array.from({ length: n }, (_, v) => v);
  // The chosen backend's kernel, then the CPU's generated f64 kernel for what it could not do, then the full
  // solver for the rest (models the generated kernels do not support go straight to it).
  let rest = backend === 'webgpu' ? fill(await generalEnsembleWebgpu(generalProblem(config, samples, idx, sidx, kernelPrecision), options.gpu!), all) : all;
  const cpuVariants = backend === 'webgpu' ? [...rest] : [];
  if (generated && rest.length > 0) {
    const sub = rest;
    const P = samples.names.length;
    const subSamples = P === 0 ? samples : { names: samples.names, values: Float64Array.from(sub.flatMap((v) => Array.from(samples.values.subarray(v * P, (v + 1) * P)))) };
    const raw = generalEnsembleCpu(generalProblem(config, subSamples, idx, sidx, 'f64'));
    if (raw) rest = fill(raw, sub);
  }
  if (backend === 'cpu') cpuVariants.push(...rest);
  for (const v of rest) cpuVariant(v);
  return { n, outputs, mean, min, max, splitNames, splits, backend, kernel: 'general', precision: backend === 'webgpu' ? kernelPrecision : 'f64', cpuVariants };
}
