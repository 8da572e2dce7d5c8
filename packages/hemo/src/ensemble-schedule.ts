import { PhysiotwinError } from '@physiotwin/core';
import type { KernelPrecision } from './ensemble-general.codegen.js';
import type { TimeGrid } from './time-grid.js';

/** The time grid every ensemble kernel walks (the model's, time-grid.ts) and the number of variants. */
export interface EnsembleTimeGrid extends TimeGrid {
  /** Variants. */
  n: number;
}

/** Everything the general WebGPU ensemble kernel needs, prepared once on the host in f64. */
export interface GeneralProblem extends EnsembleTimeGrid {
  /** Unknowns per variant. */
  dofs: number;
  /** Generated WGSL and the pipeline cache key derived from it. */
  code: string;
  kernel: string;
  /** The kernel's arithmetic; the arrays below are f64 and travel as f32 or double-float pairs. */
  precision: KernelPrecision;
  /** Per-variant parameter values (`np` per variant). */
  vpar: Float64Array;
  /** Constant matrix entries per variant, unsteady phase block then steady phase block (`nc` per variant). */
  cst: Float64Array;
  /** Shared time-dependent values per step (`nd` per step), steady steps first. */
  drive: Float64Array;
  np: number;
  nc: number;
  nd: number;
  /** Initial state (the same for every variant). */
  y0: Float64Array;
  yd0: Float64Array;
  atol: number;
  maxIter: number;
  period: number;
  /** Summarised unknowns and the outlet flows of the splits. */
  outputs: number[];
  splits: number[];
  /** Static pivot order (diagnostics): perm[k] is the equation that eliminates unknown k. */
  perm: number[];
}


/** One dispatch of an ensemble kernel: `steps` steps from drive row `offset`, the first being step `first`. */
export interface EnsembleDispatch {
  offset: number;
  steps: number;
  first: number;
  /** 1 for the steady start, else 0. */
  steady: number;
  dt: number;
}

/**
 * The dispatches of a WebGPU ensemble run: the steady start (if any) in one, then one per cardiac cycle (the
 * issue's rule: a dispatch stays short enough for a GPU watchdog, and the host never reads back in between).
 */
export function cycleDispatches(p: EnsembleTimeGrid): EnsembleDispatch[] {
  const dispatches: EnsembleDispatch[] = [];
  if (p.steadySteps > 0) dispatches.push({ offset: 0, steps: p.steadySteps, first: 0, steady: 1, dt: p.dtSteady });
  const perCycle = p.ptsPerCycle - 1;
  for (let first = 1; first <= p.steps; first += perCycle) {
    dispatches.push({ offset: p.steadySteps + first - 1, steps: Math.min(perCycle, p.steps - first + 1), first, steady: 0, dt: p.dt });
  }
  return dispatches;
}

/**
 * Workgroups for one variant per invocation in workgroups of `size`.
 * @throws PhysiotwinError `GPU_LIMIT_EXCEEDED` when the device allows fewer workgroups in one dimension
 */
export function variantWorkgroups(device: GPUDevice, n: number, size: number): number {
  const groups = Math.ceil(n / size);
  if (groups > device.limits.maxComputeWorkgroupsPerDimension) {
    throw new PhysiotwinError('GPU_LIMIT_EXCEEDED', `${n} variants need ${groups} workgroups, the device allows ${device.limits.maxComputeWorkgroupsPerDimension}`);
  }
  return groups;
}

/** Raw per-variant results of a general ensemble kernel (either skeleton). */
export interface GeneralStats {
  /** Per variant: sum, min, max of each output, then the sum of each split flow (accumulated in the kernel's precision). */
  stats: Float64Array;
  /**
   * Per variant: code (0 ok, 1 Newton failure, 2 static pivot failure, 3 a decision within the kernel's
   * rounding, e.g. an ideal valve's leftover flow), drive-table step, equation row,
   * |residual| (WebGPU: the bits of an f32).
   */
  status: Uint32Array | Float64Array;
  /** Number of states in each sum. */
  count: number;
}

/** The kernel parameters of one dispatch (the skeletons' `P`). */
export interface KernelParams {
  n: number;
  steps: number;
  stepOffset: number;
  firstStep: number;
  statsFrom: number;
  steady: number;
  maxIter: number;
  /** Always 0: the double-float library's fence value. */
  opaque: number;
  alphaM: number;
  alphaF: number;
  atol: number;
  period: number;
  c0: number;
  yc: number;
  jy: number;
}

/** Integer and real fields of {@link KernelParams} in the order of the WGSL `Params` struct. */
export const KERNEL_PARAM_U32 = ['n', 'steps', 'stepOffset', 'firstStep', 'statsFrom', 'steady', 'maxIter', 'opaque'] as const;
export const KERNEL_PARAM_REAL = ['alphaM', 'alphaF', 'atol', 'period', 'c0', 'yc', 'jy'] as const;

/**
 * A general kernel's initial buffers in f64: each variant's y and ydot, and its statistics (sums 0, minima
 * `extreme`, maxima -`extreme`: the largest value the kernel's arithmetic holds).
 */
export function initialBuffers(p: GeneralProblem, extreme: number): { state: Float64Array; stats: Float64Array } {
  const N = p.dofs;
  const K = p.outputs.length;
  const NS = 3 * K + p.splits.length;
  const state = new Float64Array(2 * N * p.n);
  const stats = new Float64Array(NS * p.n);
  for (let v = 0; v < p.n; v++) {
    state.set(p.y0, 2 * N * v);
    state.set(p.yd0, 2 * N * v + N);
    for (let k = 0; k < K; k++) {
      stats[NS * v + 3 * k + 1] = extreme;
      stats[NS * v + 3 * k + 2] = -extreme;
    }
  }
  return { state, stats };
}

/** The parameters of dispatch d; the step coefficients in f64 as solver.ts Integrator.step computes them. */
export function kernelParams(p: GeneralProblem, d: EnsembleDispatch): KernelParams {
  const yc = p.gamma * d.dt;
  return {
    n: p.n,
    steps: d.steps,
    stepOffset: d.offset,
    firstStep: d.first,
    statsFrom: p.firstSummaryStep,
    steady: d.steady,
    maxIter: p.maxIter,
    opaque: 0,
    alphaM: p.alphaM,
    alphaF: p.alphaF,
    atol: p.atol,
    period: p.period,
    c0: 1 - 1 / p.gamma,
    yc,
    jy: p.alphaF * yc,
  };
}
