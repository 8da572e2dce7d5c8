import { PhysiotwinError } from '@physiotwin/core';
import type { AssemblyContext } from './blocks.js';
import { buildModel, readSimulationSettings, type Model, type SimulationSettings, type SvZeroDConfig } from './model.js';
import { SparseLU, singularError } from './sparse.js';
import { DaeSystem } from './system.js';

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
}

/**
 * Generalized-alpha integrator with Newton iterations, exactly as svZeroDSolver `src/algebra/Integrator.cpp`:
 * alpha_m = (3 - rho)/(2 + 2 rho), alpha_f = 1/(1 + rho), gamma = 1/2 + alpha_m - alpha_f; predictor
 * y0 = y_n, ydot0 = (1 - 1/gamma) ydot_n; residual at t_n + alpha_f dt with y_{n+alpha_f}, ydot_{n+alpha_m};
 * solve for the ydot increment with J = alpha_m (E + dC/dydot) + alpha_f gamma dt (F + dC/dy).
 */
export class Integrator {
  readonly n: number;
  readonly sys: DaeSystem;
  private readonly lu: SparseLU;
  /** Position of each slot in the CSC value array. */
  private readonly slotPos: Int32Array;
  private readonly jac: Float64Array;
  private readonly res: Float64Array;
  private readonly yaf: Float64Array;
  private readonly ydam: Float64Array;
  readonly ctx: AssemblyContext;
  alphaM: number;
  alphaF: number;
  gamma: number;
  dt = 0;
  newtonIterations = 0;
  stepCount = 0;
  private readonly y0: Float64Array;
  private readonly yd0: Float64Array;

  constructor(
    readonly model: Model,
    readonly atol: number,
    readonly maxIter: number,
    rho: number,
  ) {
    const n = model.dofNames.length;
    this.n = n;
    this.alphaM = (0.5 * (3 - rho)) / (1 + rho);
    this.alphaF = 1 / (1 + rho);
    this.gamma = 0.5 + this.alphaM - this.alphaF;
    const sys = new DaeSystem(n);
    for (const b of model.blocks) b.setup(sys);
    sys.freeze();
    this.sys = sys;
    // CSC pattern of the Jacobian: slots sorted by column, then row.
    const m = sys.rows.length;
    const order = Array.from({ length: m }, (_, i) => i).sort((a, b) => sys.cols[a]! - sys.cols[b]! || sys.rows[a]! - sys.rows[b]!);
    const colPtr = new Int32Array(n + 1);
    const rowIdx = new Int32Array(m);
    this.slotPos = new Int32Array(m);
    order.forEach((slot, pos) => {
      rowIdx[pos] = sys.rows[slot]!;
      colPtr[sys.cols[slot]! + 1]!++;
      this.slotPos[slot] = pos;
    });
    for (let j = 0; j < n; j++) colPtr[j + 1] = colPtr[j + 1]! + colPtr[j]!;
    this.lu = new SparseLU(n, colPtr, rowIdx);
    this.jac = new Float64Array(m);
    this.res = new Float64Array(n);
    this.yaf = new Float64Array(n);
    this.ydam = new Float64Array(n);
    this.ctx = { p: new Float64Array(model.params.length), time: 0, period: model.period, steady: false };
    this.y0 = new Float64Array(n);
    this.yd0 = new Float64Array(n);
  }

  /** Switches between the steady start and the unsteady run and re-stamps the constant terms. */
  setPhase(steady: boolean, dt: number): void {
    this.dt = dt;
    this.ctx.steady = steady;
    for (const prm of this.model.params) prm.setSteady(steady);
    this.updateParams(0);
    this.sys.clear();
    for (const b of this.model.blocks) b.constant(this.sys, this.ctx);
  }

  private updateParams(time: number): void {
    const ps = this.model.params;
    const p = this.ctx.p;
    for (let i = 0; i < ps.length; i++) p[i] = ps[i]!.get(time);
    this.ctx.time = time;
  }

  /**
   * One step from (y, ydot) at `time` to `time + dt`, in place.
   * @throws PhysiotwinError `SOLVER_DIVERGED` naming the time and the block with the largest residual
   */
  step(y: Float64Array, ydot: Float64Array, time: number): void {
    const n = this.n;
    const { alphaM, alphaF, gamma, dt } = this;
    const sys = this.sys;
    const blocks = this.model.blocks;
    const yOld = this.yaf;
    const ydOld = this.ydam;
    // Keep the old state in scratch copies; y/ydot become the new state.
    const y0 = this.y0;
    const yd0 = this.yd0;
    y0.set(y);
    yd0.set(ydot);
    const c = 1 - 1 / gamma;
    for (let i = 0; i < n; i++) ydot[i] = yd0[i]! * c;
    const tAf = time + alphaF * dt;
    this.updateParams(tAf);
    for (const b of blocks) b.time(sys, this.ctx);
    this.stepCount++;
    const res = this.res;
    const E = sys.E;
    const F = sys.F;
    const rows = sys.rows;
    const cols = sys.cols;
    const m = rows.length;
    const yCoeff = gamma * dt;
    const jy = alphaF * yCoeff;
    for (let it = 0; it < this.maxIter; it++) {
      for (let i = 0; i < n; i++) {
        ydOld[i] = yd0[i]! + (ydot[i]! - yd0[i]!) * alphaM;
        yOld[i] = y0[i]! + (y[i]! - y0[i]!) * alphaF;
      }
      for (const b of blocks) b.solution(sys, this.ctx, yOld, ydOld);
      for (let i = 0; i < n; i++) res[i] = -sys.C[i]!;
      for (let k = 0; k < m; k++) {
        const r = rows[k]!;
        const col = cols[k]!;
        res[r] = res[r]! - E[k]! * ydOld[col]! - F[k]! * yOld[col]!;
      }
      let maxRes = 0;
      let worst = 0;
      for (let i = 0; i < n; i++) {
        const a = Math.abs(res[i]!);
        if (!(a <= maxRes)) {
          maxRes = a;
          worst = i;
        }
      }
      if (maxRes < this.atol) return;
      if (it === this.maxIter - 1 || !Number.isFinite(maxRes)) {
        const blk = this.model.eqOwner[worst]!;
        throw new PhysiotwinError(
          'SOLVER_DIVERGED',
          `Newton iterations did not converge at t = ${time + dt} s (step from ${time} s): max |residual| ${maxRes} >= ${this.atol} after ${it + 1} iterations, largest in block '${blk.name}' (${blk.type})`,
          { details: { time: time + dt, block: blk.name, residual: maxRes } },
        );
      }
      const jac = this.jac;
      const pos = this.slotPos;
      const dCdy = sys.dCdy;
      const dCdyd = sys.dCdydot;
      for (let k = 0; k < m; k++) jac[pos[k]!] = (E[k]! + dCdyd[k]!) * alphaM + (F[k]! + dCdy[k]!) * jy;
      const bad = this.lu.refactor(jac);
      if (bad >= 0) throw singularError(bad, time + dt, this.model.dofNames[bad] ?? String(bad));
      this.lu.solve(res);
      for (const b of blocks) b.postSolve(y);
      for (let i = 0; i < n; i++) {
        ydot[i] = ydot[i]! + res[i]!;
        y[i] = y[i]! + res[i]! * yCoeff;
      }
      this.newtonIterations++;
    }
  }
}

/**
 * After a steady start: upstream `Model::to_steady`/`to_unsteady` cache the RCR (and closed-loop RCR)
 * capacitance while it is held at its steady value and restore it as a constant, so a time-dependent C keeps
 * its mean for the rest of the run. Every solver of these models (the f64 one, the GPU ensembles) calls this.
 */
export function keepSteadyCapacitances(model: Model): void {
  for (const b of model.blocks) {
    if (b.type !== 'RCR' && b.type !== 'ClosedLoopRCR') continue;
    const c = model.params[b.pid.C!]!;
    if (!c.isSeries) continue;
    c.setSteady(true);
    const mean = c.get(0);
    c.setSteady(false);
    c.setConstant(mean);
  }
}

/** Reads `initial_condition` (+ `pressure_all`, `flow_all`) and `initial_condition_d` as svZeroDSolver does. */
export function initialState(config: SvZeroDConfig, model: Model): { y: Float64Array; ydot: Float64Array } {
  const n = model.dofNames.length;
  const y = new Float64Array(n);
  const ydot = new Float64Array(n);
  const read = (key: string, out: Float64Array, allKeys: boolean): void => {
    const ic = config[key];
    if (ic === undefined) return;
    if (typeof ic !== 'object' || ic === null || Array.isArray(ic)) throw new PhysiotwinError('CONFIG_INVALID', 'expected an object', { location: { jsonPath: `$.${key}` } });
    const icr = ic as Record<string, unknown>;
    // Names that match no unknown are ignored, as svZeroDSolver does (its own test configs carry stale ones).
    for (const [k, v] of Object.entries(icr)) {
      if (k.startsWith('_')) continue;
      if (typeof v !== 'number' || !Number.isFinite(v)) throw new PhysiotwinError('CONFIG_INVALID', `expected a finite number, got ${JSON.stringify(v)}`, { location: { jsonPath: `$.${key}.${k}` } });
    }
    model.dofNames.forEach((name, i) => {
      const v = icr[name];
      if (typeof v === 'number') out[i] = v;
      else if (allKeys && typeof icr.pressure_all === 'number' && (name.startsWith('pressure:') || name.startsWith('P_c:'))) out[i] = icr.pressure_all;
      else if (allKeys && typeof icr.flow_all === 'number' && name.startsWith('flow:')) out[i] = icr.flow_all;
    });
  };
  read('initial_condition', y, true);
  read('initial_condition_d', ydot, false);
  return { y, ydot };
}

/** Options of {@link simulate}. */
export interface SimulateOptions {
  /** Parameter overrides `{ 'block.param': value }` (ensemble variants). */
  overrides?: Readonly<Record<string, number>>;
}

/**
 * Runs a svZeroDSolver configuration: parse and validate, assemble, optional steady start (31 steps of
 * T/10 with time-dependent parameters at their means and RCR capacitances zero), then
 * `(pts - 1) * cycles` generalized-alpha steps of dt = T / (pts - 1), keeping the output rows
 * svZeroDSolver keeps (last cycle re-based to t = 0 by default, every `output_interval`-th step with
 * `output_all_cycles`).
 *
 * @param config parsed svZeroDSolver JSON (CGS units: dyn/cm^2, mL/s, s)
 * @throws PhysiotwinError `CONFIG_INVALID` (with JSON path), `SOLVER_DIVERGED` (with time and block),
 *   `SOLVER_NOT_CONVERGED` when the cycle-to-cycle criterion is not met within 1000 extra cycles
 * @example
 * ```ts
 * const r = simulate(JSON.parse(readFileSync('case.json', 'utf8')));
 * const csv = resultToCsv(r);
 * ```
 */
export function simulate(config: SvZeroDConfig, options: SimulateOptions = {}): SimulationResult {
  const settings = readSimulationSettings(config);
  const model = buildModel(config, settings);
  applyOverrides(model, options.overrides);
  const T = model.period;
  const integ = new Integrator(model, settings.absoluteTolerance, settings.maxNonlinearIterations, settings.rhoInfinity);
  const { y, ydot } = initialState(config, model);

  if (settings.steadyInitial) {
    const dtS = T / 10;
    integ.setPhase(true, dtS);
    for (let i = 0; i < 31; i++) integ.step(y, ydot, dtS * i);
    keepSteadyCapacitances(model);
  }
  integ.setPhase(false, T / (settings.ptsPerCycle - 1));
  for (const b of model.blocks) b.initialState(y, ydot, integ.ctx);
  integ.newtonIterations = 0;
  integ.stepCount = 0;

  const pts = settings.ptsPerCycle;
  let cycles = settings.numberOfCycles;
  if (settings.useCycleToCycleError && model.hasWindkessel) {
    // Pfaller 2021 eq. 21: cycles needed for the slowest RCR to decay below the relative error.
    cycles = Math.max(1, Math.ceil((-model.largestWindkesselTau / T) * Math.log(settings.cycleToCycleError)));
  }
  const dt = integ.dt;
  const times: number[] = [];
  const ys: Float64Array[] = [];
  const yds: Float64Array[] = [];
  const interval = settings.outputInterval;
  const all = settings.outputAllCycles;
  // Keep the last two cycles for the cycle-to-cycle check (2 (pts - 1) + 1 states).
  const keepTwo = settings.useCycleToCycleError;
  const ring: Float64Array[] = [];
  const nSteps = (pts - 1) * cycles + 1;
  const startLast = nSteps - pts;
  if (all || startLast <= 0) {
    times.push(0);
    ys.push(Float64Array.from(y));
    yds.push(Float64Array.from(ydot));
  }
  let counter = 0;
  for (let i = 1; i < nSteps; i++) {
    if (keepTwo && i === nSteps - 2 * (pts - 1)) ring.push(Float64Array.from(y));
    integ.step(y, ydot, dt * (i - 1));
    if (ring.length > 0) ring.push(Float64Array.from(y));
    counter++;
    if (counter === interval || (!all && i === startLast)) {
      if (all || i >= startLast) {
        times.push(dt * i);
        ys.push(Float64Array.from(y));
        yds.push(Float64Array.from(ydot));
      }
      counter = 0;
    }
  }

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
      ring.splice(0, ring.length - (pts - 1) - 1);
      cycles++;
      for (let i = 1; i < pts; i++) {
        integ.step(y, ydot, time);
        ring.push(Float64Array.from(y));
        counter++;
        time = dt * i;
        if (counter === interval || (!all && i === startLast)) {
          if (all || i >= startLast) {
            times.push(time);
            ys.push(Float64Array.from(y));
            yds.push(Float64Array.from(ydot));
          }
          counter = 0;
        }
      }
    }
  }
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
    if (id === undefined) throw new PhysiotwinError('CONFIG_INVALID', `no parameter '${key}' in this model (use block.param, e.g. ${[...model.paramIds.keys()].slice(0, 3).join(', ')})`, { location: { jsonPath: key } });
    if (!Number.isFinite(value)) throw new PhysiotwinError('CONFIG_INVALID', `override ${key} = ${value} is not finite`, { location: { jsonPath: key } });
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
