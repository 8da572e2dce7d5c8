import { PhysiotwinError } from '@physiotwin/core';
import type { AssemblyContext } from './blocks/block.js';
import type { Model } from './model.js';
import { SparseLU, singularError } from './sparse.js';
import { DaeSystem } from './system.js';

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
    for (let i = 0; i < ps.length; i++) {
      const x = ps[i]!.get(time);
      // An `fn` can evaluate to NaN (sqrt(-1), 0/0) or overflow: name the parameter, not a block it reaches.
      if (!Number.isFinite(x)) throw diverged(`parameter ${this.model.paramNames[i]} evaluates to ${x} at t = ${time} s`, time, this.model.paramNames[i]!.split('.')[0]!);
      p[i] = x;
    }
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
      if (maxRes < this.atol) {
        this.checkFinite(y, ydot, time + dt);
        return;
      }
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

  /**
   * Every unknown and derivative of a converged step is finite (an unknown that no residual reads, such as a
   * closed valve's flow, could otherwise carry a NaN or an overflow into the results).
   * @throws PhysiotwinError `SOLVER_DIVERGED` naming the unknown (hence its block) and the time
   */
  private checkFinite(y: Float64Array, ydot: Float64Array, time: number): void {
    for (let i = 0; i < this.n; i++) {
      if (Number.isFinite(y[i]!) && Number.isFinite(ydot[i]!)) continue;
      const name = this.model.dofNames[i]!;
      throw diverged(`${name} is ${y[i]} (d/dt ${ydot[i]}) at t = ${time} s`, time, name.split(':').slice(1).join(':'));
    }
  }
}

/** A `SOLVER_DIVERGED` error for a non-finite value at `time` in `block`. */
function diverged(what: string, time: number, block: string): PhysiotwinError {
  return new PhysiotwinError('SOLVER_DIVERGED', `non-finite value: ${what}`, { details: { time, block } });
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

