import { PhysiotwinError, throwIfAborted, type OperationOptions } from '@physiotwin/core';
import type { AdapterDescription, ComputeOptions } from '@physiotwin/gpu';
import { invalid, isObj } from './config-read.js';
import { Integrator, keepSteadyCapacitances } from './integrator.js';
import { allocating, checkLimit, checkMemory, resolveLimits, TYPED_ARRAY_OVERHEAD, type SolverLimits } from './limits.js';
import { buildModel, type Model } from './model.js';
import { workTicker } from './progress.js';
import { readSimulationSettings, type SimulationSettings, type SvZeroDConfig } from './settings.js';
import { timeGrid, type TimeGrid } from './time-grid.js';

/** Solution at the output times: one row of unknowns per time. */
export interface SimulationResult {
  model: Model;
  settings: SimulationSettings;
  /** Output times (s); re-based to start at 0 unless all cycles are written. */
  times: Float64Array;
  /** y[k] holds all unknowns at times[k] (order of `model.dofNames`). */
  y: Float64Array[];
  /** Time derivatives, same layout. */
  ydot: Float64Array[];
  /** Number of time steps taken (excluding the steady start). */
  steps: number;
  /** Cardiac cycles actually simulated (after any cycle-to-cycle extension). */
  cycles: number;
  /** Mean Newton iterations per step. */
  meanNewtonIterations: number;
  /** The backend that ran: always 'cpu' (one trajectory is a sequence of dependent steps). */
  backend: 'cpu';
  /** The adapter of a WebGPU run: never set for a single simulation. */
  adapter?: AdapterDescription | undefined;
}

/** Options of {@link simulate}. */
export interface SimulateOptions extends ComputeOptions, SolverLimits {
  /** Parameter overrides `{ 'block.param': value }` (ensembles, calibration). */
  overrides?: Readonly<Record<string, number>> | undefined;
}

/** A parsed, validated model with its settings, time grid and initial state, ready to integrate (once or per variant). */
export interface PreparedSimulation {
  config: SvZeroDConfig;
  settings: SimulationSettings;
  model: Model;
  grid: TimeGrid;
  init: { y: Float64Array; ydot: Float64Array };
  limits: Required<SolverLimits>;
}

/**
 * Parses and validates a config, builds its model and time grid, and checks the work it asks for against the
 * limits (before anything large is allocated).
 * @throws PhysiotwinError `CONFIG_INVALID` (with JSON path), `LIMIT_EXCEEDED` (steps or Newton iterations above
 *   `maxSteps` / `maxNonlinearIterations`), `INVALID_ARGUMENT` (a limit that is not a positive number)
 */
export function prepareSimulation(config: SvZeroDConfig, limits: SolverLimits = {}): PreparedSimulation {
  const lim = resolveLimits(limits);
  const settings = readSimulationSettings(config);
  checkLimit(lim, 'maxNonlinearIterations', settings.maxNonlinearIterations, 'maximum_nonlinear_iterations', '$.simulation_parameters.maximum_nonlinear_iterations');
  // Bounded before the model is built: number_of_cardiac_cycles 1e9 would otherwise only be caught later.
  checkLimit(lim, 'maxSteps', (settings.ptsPerCycle - 1) * settings.numberOfCycles, 'time steps (number_of_cardiac_cycles x (number_of_time_pts_per_cardiac_cycle - 1))', '$.simulation_parameters');
  const model = buildModel(config, settings);
  const grid = timeGrid(model, settings);
  checkLimit(lim, 'maxSteps', grid.steps, `time steps (${grid.cycles} cycles from use_cycle_to_cycle_error, Pfaller 2021 eq. 21)`, '$.simulation_parameters');
  return { config, settings, model, grid, init: initialState(config, model), limits: lim };
}

/** Reads `initial_condition` (+ `pressure_all`, `flow_all`) and `initial_condition_d` as svZeroDSolver does. */
export function initialState(config: SvZeroDConfig, model: Model): { y: Float64Array; ydot: Float64Array } {
  const n = model.dofNames.length;
  const y = new Float64Array(n);
  const ydot = new Float64Array(n);
  const read = (key: string, out: Float64Array, allKeys: boolean): void => {
    const ic = config[key];
    if (ic === undefined) return;
    if (!isObj(ic)) throw invalid('expected an object', `$.${key}`);
    // Names that match no unknown are ignored, as svZeroDSolver does (its own test configs carry stale ones).
    for (const [k, v] of Object.entries(ic)) {
      if (k.startsWith('_')) continue;
      if (typeof v !== 'number' || !Number.isFinite(v)) throw invalid(`expected a finite number, got ${JSON.stringify(v)?.slice(0, 40)}`, `$.${key}.${k.slice(0, 100)}`);
    }
    model.dofNames.forEach((name, i) => {
      const v = Object.hasOwn(ic, name) ? ic[name] : undefined;
      if (typeof v === 'number') out[i] = v;
      else if (allKeys && typeof ic.pressure_all === 'number' && (name.startsWith('pressure:') || name.startsWith('P_c:'))) out[i] = ic.pressure_all;
      else if (allKeys && typeof ic.flow_all === 'number' && name.startsWith('flow:')) out[i] = ic.flow_all;
    });
  };
  read('initial_condition', y, true);
  read('initial_condition_d', ydot, false);
  return { y, ydot };
}

/**
 * Runs a svZeroDSolver configuration: parse and validate, assemble, optional steady start (31 steps of
 * T/10 with time-dependent parameters at their means and RCR capacitances zero), then
 * `(pts - 1) * cycles` generalized-alpha steps of dt = T / (pts - 1), keeping the output rows
 * svZeroDSolver keeps (last cycle re-based to t = 0 by default, every `output_interval`-th step with
 * `output_all_cycles`). Runs on the CPU in f64 (`backend` 'auto' or 'cpu'; a single trajectory is a chain of
 * dependent steps: many variants run on WebGPU with {@link simulateEnsemble}). Yields to the event loop every
 * few dozen milliseconds, so `signal` stops it within that time.
 *
 * @param config parsed svZeroDSolver JSON (CGS units: dyn/cm^2, mL/s, s)
 * @throws PhysiotwinError `CONFIG_INVALID` (with JSON path), `SOLVER_DIVERGED` (a non-finite parameter or state, or
 *   Newton not converging, with time and block), `SOLVER_NOT_CONVERGED` when the cycle-to-cycle criterion is not
 *   met within 1000 extra cycles, `LIMIT_EXCEEDED` / `OUT_OF_MEMORY` (work or memory above the limits, naming the
 *   option that raises them), `ABORTED`, `INVALID_ARGUMENT` (backend 'webgpu', an unknown backend)
 * @example
 * ```ts
 * const r = await simulate(JSON.parse(readFileSync('case.json', 'utf8')));
 * const csv = tableToCsv(resultTable(r));
 * ```
 */
export async function simulate(config: SvZeroDConfig, options: SimulateOptions = {}): Promise<SimulationResult> {
  const backend = options.backend ?? 'auto';
  if (backend === 'webgpu') throw new PhysiotwinError('INVALID_ARGUMENT', "simulate runs on the CPU only (one trajectory is a chain of dependent steps); run many variants on WebGPU with simulateEnsemble");
  if (backend !== 'auto' && backend !== 'cpu') throw new PhysiotwinError('INVALID_ARGUMENT', `backend must be 'auto', 'cpu' or 'webgpu', got ${JSON.stringify(backend)}`);
  throwIfAborted(options.signal);
  const prepared = prepareSimulation(config, options);
  applyOverrides(prepared.model, options.overrides);
  return integrate(prepared, prepared.settings, options);
}

/**
 * Integrates a prepared model under `settings` (the prepared ones, or a variation of their output and cycle
 * options) from its initial state. The model's parameters are used as they are (overrides already applied).
 * @throws PhysiotwinError as {@link simulate}
 */
export async function integrate(p: PreparedSimulation, settings: SimulationSettings, options: OperationOptions = {}): Promise<SimulationResult> {
  const { model, limits } = p;
  const grid = settings === p.settings ? p.grid : timeGrid(model, settings);
  checkLimit(limits, 'maxSteps', grid.steps, 'time steps', '$.simulation_parameters');
  const n = model.dofNames.length;
  const pts = grid.ptsPerCycle;
  const interval = settings.outputInterval;
  const all = settings.outputAllCycles;
  const keepTwo = settings.useCycleToCycleError;
  const rowBytes = 2 * (8 * n + TYPED_ARRAY_OVERHEAD);
  const rows = all ? Math.floor(grid.steps / interval) + 1 : pts;
  checkMemory(limits, rows * rowBytes + (keepTwo ? 2 * pts * rowBytes : 0), `${rows} result rows of ${n} unknowns`);
  const integ = new Integrator(model, settings.absoluteTolerance, settings.maxNonlinearIterations, settings.rhoInfinity);
  const y = Float64Array.from(p.init.y);
  const ydot = Float64Array.from(p.init.ydot);
  const tick = workTicker(options, 'hemo/simulate', grid.steadySteps + grid.steps);
  await tick(0);

  if (grid.steadySteps > 0) {
    integ.setPhase(true, grid.dtSteady);
    for (let i = 0; i < grid.steadySteps; i++) integ.step(y, ydot, grid.dtSteady * i);
    keepSteadyCapacitances(model);
  }
  integ.setPhase(false, grid.dt);
  for (const b of model.blocks) b.initialState(y, ydot, integ.ctx);
  integ.newtonIterations = 0;
  integ.stepCount = 0;

  let cycles = grid.cycles;
  const dt = grid.dt;
  const times: number[] = [];
  const ys: Float64Array[] = [];
  const yds: Float64Array[] = [];
  const keep = (t: number): void => {
    times.push(t);
    ys.push(Float64Array.from(y));
    yds.push(Float64Array.from(ydot));
  };
  // Keep the last two cycles for the cycle-to-cycle check (2 (pts - 1) + 1 states).
  const ring: Float64Array[] = [];
  const nSteps = grid.steps + 1;
  const startLast = nSteps - pts;
  let counter = 0;
  await allocating('storing the result rows', async () => {
    if (all || startLast <= 0) keep(0);
    for (let i = 1; i < nSteps; i++) {
      if (keepTwo && i === nSteps - 2 * (pts - 1)) ring.push(Float64Array.from(y));
      integ.step(y, ydot, dt * (i - 1));
      if (ring.length > 0) ring.push(Float64Array.from(y));
      counter++;
      if (counter === interval || (!all && i === startLast)) {
        if (all || i >= startLast) keep(dt * i);
        counter = 0;
      }
      if ((i & 31) === 0) await tick(grid.steadySteps + i);
    }
  });

  if (keepTwo && !model.hasWindkessel) {
    // Extra cycles until the cap means settle, exactly as upstream `Solver::run` does it: the last-cycle
    // window (startLast) and the output rule stay those of the configured cycle count, and the clock of
    // each extra cycle restarts (its steps start at the previous time, then at dt, 2 dt, ..., and its
    // rows are written with times dt..T). So with output_all_cycles the extra cycles' rows repeat the
    // times of one cycle, and without it the cycle written is the last one before the extra cycles
    // (plus, for 2 configured cycles, the end state of each extra cycle). Periodic parameters see the
    // same phase either way.
    const caps = capDofs(model);
    let time = dt * (nSteps - 1);
    let extra = 0;
    while (!cycleConverged(ring.slice(-(2 * (pts - 1) + 1)), caps, pts, settings.cycleToCycleError)) {
      if (++extra > 1000) throw new PhysiotwinError('SOLVER_NOT_CONVERGED', `cycle-to-cycle error above ${settings.cycleToCycleError} after 1000 extra cycles`);
      checkLimit(limits, 'maxSteps', (cycles + 1) * (pts - 1), 'time steps (configured and extra cycles of use_cycle_to_cycle_error)', '$.simulation_parameters');
      checkMemory(limits, (ys.length + pts) * rowBytes + 2 * pts * rowBytes, `${ys.length + pts} result rows of ${n} unknowns`);
      ring.splice(0, ring.length - (pts - 1) - 1);
      cycles++;
      for (let i = 1; i < pts; i++) {
        integ.step(y, ydot, time);
        ring.push(Float64Array.from(y));
        counter++;
        time = dt * i;
        if (counter === interval || (!all && i === startLast)) {
          if (all || i >= startLast) keep(time);
          counter = 0;
        }
        if ((i & 31) === 0) await tick(grid.steadySteps + grid.steps);
      }
    }
  }
  await tick(grid.steadySteps + grid.steps);
  const tArr = Float64Array.from(times);
  if (!all && tArr.length > 0) {
    const t0 = tArr[0]!;
    for (let i = 0; i < tArr.length; i++) tArr[i] = tArr[i]! - t0;
  }
  return {
    model,
    settings,
    times: tArr,
    y: ys,
    ydot: yds,
    steps: integ.stepCount,
    cycles,
    meanNewtonIterations: integ.newtonIterations / Math.max(1, integ.stepCount),
    backend: 'cpu',
  };
}

/**
 * Sets constant values for `block.param` keys (ensembles, calibration).
 * @throws PhysiotwinError `CONFIG_INVALID` for a key that names no parameter
 */
export function applyOverrides(model: Model, overrides: Readonly<Record<string, number>> | undefined): void {
  if (!overrides) return;
  for (const [key, value] of Object.entries(overrides)) {
    const id = model.paramIds.get(key);
    if (id === undefined) throw new PhysiotwinError('CONFIG_INVALID', `no parameter '${key.slice(0, 100)}' in this model (use block.param, e.g. ${[...model.paramIds.keys()].slice(0, 3).join(', ')})`, { location: { jsonPath: key.slice(0, 100) } });
    if (!Number.isFinite(value)) throw new PhysiotwinError('CONFIG_INVALID', `override ${key} = ${value} is not finite`, { location: { jsonPath: key.slice(0, 100) } });
    model.params[id]!.setConstant(value);
  }
}

/** (flow dof, pressure dof) at each vessel's boundary cap (upstream `get_vessel_caps_dof_indices`). */
function capDofs(model: Model): Array<[number, number]> {
  const out: Array<[number, number]> = [];
  for (const v of model.vessels) {
    const inBc = v.inlets[0] && model.byName.get(v.inlets[0].name.split(':')[0]!)?.cls === 'boundary_condition';
    const outBc = v.outlets[0] && model.byName.get(v.outlets[0].name.split(':')[1]!)?.cls === 'boundary_condition';
    // As upstream (`Solver::get_vessel_caps_dof_indices`): a vessel with an inlet boundary condition (also one
    // with both) is checked at its inlet, one with only an outlet boundary condition at its outlet.
    if (inBc) out.push([v.inlets[0]!.flowDof, v.inlets[0]!.presDof]);
    else if (outBc) out.push([v.outlets[0]!.flowDof, v.outlets[0]!.presDof]);
  }
  return out;
}

function cycleConverged(states: Float64Array[], caps: Array<[number, number]>, pts: number, tol: number): boolean {
  for (const [qd, pd] of caps) {
    let q1 = 0;
    let p1 = 0;
    let q2 = 0;
    let p2 = 0;
    for (let i = 0; i < pts; i++) {
      q1 += states[i]![qd]!;
      p1 += states[i]![pd]!;
      q2 += states[pts - 1 + i]![qd]!;
      p2 += states[pts - 1 + i]![pd]!;
    }
    if (Math.abs((q2 - q1) / q1) > tol || Math.abs((p2 - p1) / p1) > tol) return false;
  }
  return true;
}
