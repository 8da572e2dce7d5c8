import { bool, int, invalid, isObj, num, obj } from './config-read.js';

/** A svZeroDSolver input file (JSON), as parsed. Sections other than those the model reads are rejected. */
export type SvZeroDConfig = Record<string, unknown>;

/** Simulation settings (svZeroDSolver `simulation_parameters`), with upstream defaults applied. */
export interface SimulationSettings {
  numberOfCycles: number;
  ptsPerCycle: number;
  /** Newton stops when max |residual| < absoluteTolerance. @default 1e-8 */
  absoluteTolerance: number;
  /** @default 30 */
  maxNonlinearIterations: number;
  /** @default true */
  steadyInitial: boolean;
  /** Spectral radius of generalized-alpha. @default 0.5 */
  rhoInfinity: number;
  outputVariableBased: boolean;
  outputInterval: number;
  outputMeanOnly: boolean;
  outputDerivative: boolean;
  outputAllCycles: boolean;
  /** Period from `cardiac_period`, when given (s). */
  cardiacPeriod: number | undefined;
  useCycleToCycleError: boolean;
  /** Relative tolerance for the cycle-to-cycle check (fraction, from the percent value). @default 0.01 */
  cycleToCycleError: number;
}

/**
 * Reads and validates `simulation_parameters` (svZeroDSolver defaults).
 * @throws PhysiotwinError `CONFIG_INVALID` with the JSON path of the offending entry (also for a config that is not
 *   a JSON object)
 */
export function readSimulationSettings(config: SvZeroDConfig): SimulationSettings {
  if (!isObj(config)) throw invalid('the configuration must be a JSON object', '$');
  const base = '$.simulation_parameters';
  const sp = obj(config.simulation_parameters, base);
  // Unknown keys are ignored, as upstream does (its own configs carry optional flags such as max_iter_warning).
  if (sp.coupled_simulation === true) throw invalid('coupled (external solver) simulations are not supported', `${base}.coupled_simulation`);
  const opt = <T>(k: string, f: (v: unknown, path: string) => T, d: T): T => (sp[k] === undefined ? d : f(sp[k], `${base}.${k}`));
  if (sp.number_of_cardiac_cycles === undefined) throw invalid('number_of_cardiac_cycles is mandatory', `${base}.number_of_cardiac_cycles`);
  if (sp.number_of_time_pts_per_cardiac_cycle === undefined) throw invalid('number_of_time_pts_per_cardiac_cycle is mandatory', `${base}.number_of_time_pts_per_cardiac_cycle`);
  const settings: SimulationSettings = {
    numberOfCycles: int(sp.number_of_cardiac_cycles, `${base}.number_of_cardiac_cycles`, 1),
    ptsPerCycle: int(sp.number_of_time_pts_per_cardiac_cycle, `${base}.number_of_time_pts_per_cardiac_cycle`, 2),
    absoluteTolerance: opt('absolute_tolerance', num, 1e-8),
    maxNonlinearIterations: opt('maximum_nonlinear_iterations', (v, q) => int(v, q, 1), 30),
    steadyInitial: opt('steady_initial', bool, true),
    rhoInfinity: opt('rho_infty', num, 0.5),
    outputVariableBased: opt('output_variable_based', bool, false),
    outputInterval: opt('output_interval', (v, q) => int(v, q, 1), 1),
    outputMeanOnly: opt('output_mean_only', bool, false),
    outputDerivative: opt('output_derivative', bool, false),
    outputAllCycles: opt('output_all_cycles', bool, false),
    cardiacPeriod: sp.cardiac_period === undefined ? undefined : num(sp.cardiac_period, `${base}.cardiac_period`),
    useCycleToCycleError: opt('use_cycle_to_cycle_error', bool, false),
    cycleToCycleError: opt('sim_cycle_to_cycle_percent_error', num, 1) / 100,
  };
  if (!(settings.absoluteTolerance > 0)) throw invalid('absolute_tolerance must be > 0', `${base}.absolute_tolerance`);
  if (!(settings.rhoInfinity >= 0 && settings.rhoInfinity <= 1)) throw invalid('rho_infty must lie in [0, 1]', `${base}.rho_infty`);
  if (settings.cardiacPeriod !== undefined && !(settings.cardiacPeriod > 0)) throw invalid('cardiac_period must be > 0', `${base}.cardiac_period`);
  if (settings.useCycleToCycleError && settings.numberOfCycles < 2) throw invalid('use_cycle_to_cycle_error needs at least 2 cardiac cycles', `${base}.number_of_cardiac_cycles`);
  if (!(settings.cycleToCycleError > 0)) throw invalid('sim_cycle_to_cycle_percent_error must be > 0', `${base}.sim_cycle_to_cycle_percent_error`);
  return settings;
}
