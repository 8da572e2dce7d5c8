import { PhysiotwinError } from '@physiotwin/core';

/** The time grid every ensemble kernel walks: an optional steady start, then the unsteady steps. */
export interface EnsembleTimeGrid {
  /** Variants. */
  n: number;
  /** Steps of the steady start (0 or 31) and their dt (s). */
  steadySteps: number;
  dtSteady: number;
  /** Unsteady steps (number of time points - 1) and dt (s). */
  steps: number;
  dt: number;
  ptsPerCycle: number;
  alphaM: number;
  alphaF: number;
  gamma: number;
  /** First unsteady step (1-based) whose state is in the summary; 0 includes the initial state. */
  firstSummaryStep: number;
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
