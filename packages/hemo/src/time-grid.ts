import type { Model } from './model.js';
import type { SimulationSettings } from './settings.js';

/** The steps every solver of a model walks (the full solver and both ensemble kernels): computed once, here. */
export interface TimeGrid {
  /** Cardiac period (s). */
  period: number;
  ptsPerCycle: number;
  /** Cardiac cycles run (Pfaller 2021 eq. 21 with `use_cycle_to_cycle_error` and an RCR; else the configured count). */
  cycles: number;
  /** Steps of the steady start (0 or 31) and their dt = T/10 (s). */
  steadySteps: number;
  dtSteady: number;
  /** Unsteady steps ((pts - 1) cycles) and dt = T/(pts - 1) (s). */
  steps: number;
  dt: number;
  /** Generalized-alpha coefficients for the spectral radius rho_inf. */
  alphaM: number;
  alphaF: number;
  gamma: number;
  /** First unsteady step (1-based) in the last cycle, the one written by default; 0 includes the initial state. */
  firstSummaryStep: number;
}

/** Steps of the steady start (upstream `Solver::run`: 31 steps of T/10). */
const STEADY_STEPS = 31;

/**
 * The time grid of `model` under `settings` (svZeroDSolver `Solver` and `Integrator`): alpha_m = (3 - rho)/(2 + 2 rho),
 * alpha_f = 1/(1 + rho), gamma = 1/2 + alpha_m - alpha_f. The step count is not bounded here (see limits.ts).
 * @throws nothing (settings and model were validated when they were read)
 */
export function timeGrid(model: Pick<Model, 'period' | 'hasWindkessel' | 'largestWindkesselTau'>, settings: SimulationSettings): TimeGrid {
  const T = model.period;
  const pts = settings.ptsPerCycle;
  let cycles = settings.numberOfCycles;
  if (settings.useCycleToCycleError && model.hasWindkessel) {
    // Pfaller 2021 eq. 21: cycles needed for the slowest RCR to decay below the relative error.
    cycles = Math.max(1, Math.ceil((-model.largestWindkesselTau / T) * Math.log(settings.cycleToCycleError)));
  }
  const rho = settings.rhoInfinity;
  const alphaM = (0.5 * (3 - rho)) / (1 + rho);
  const alphaF = 1 / (1 + rho);
  const steps = (pts - 1) * cycles;
  return {
    period: T,
    ptsPerCycle: pts,
    cycles,
    steadySteps: settings.steadyInitial ? STEADY_STEPS : 0,
    dtSteady: T / 10,
    steps,
    dt: T / (pts - 1),
    alphaM,
    alphaF,
    gamma: 0.5 + alphaM - alphaF,
    firstSummaryStep: Math.max(0, steps + 1 - pts),
  };
}
