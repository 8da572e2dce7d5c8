import type { DaeSystem } from '../system.js';
import { Block, scalar, type AssemblyContext, type BlockDefinition } from './block.js';

const PARAMS = ['rho', 'thick0', 'radius0', 'W1', 'W2', 'eta', 'sigma_max', 'alpha_max', 'alpha_min', 'tsys', 'tdias', 'steepness'].map((n) => scalar(n));

/**
 * ChamberSphere: spherical chamber with hyperelastic wall and active stress (svZeroDSolver
 * `src/model/ChamberSphere.h`; Caruel 2013 eqs. 13a-b, Pfaller 2019 eqs. 12-16). Internals
 * radius, velo, stress, tau, volume; 7 equations (momentum, stress, volume change, active stress,
 * kinematics, mass, pressure equality). With C = (1 + r/r0)^2 the spherical stress is
 * -S + tau + 4 (1 - C^-3)(W1 + C W2) + eta dC/dt (1 + 2 C^-6) = 0: the viscous term as corrected
 * upstream in svZeroDSolver PR #217 (issue #216), which replaced 2 eta dC/dt (1 - 2 C^-6); the
 * upstream reference result of `chamber_sphere.json` was regenerated with the corrected term.
 */
export class ChamberSphere extends Block {
  override readonly isVessel = true;
  private act = 0;
  private actPlus = 0;
  override internals(): string[] {
    return ['radius', 'velo', 'stress', 'tau', 'volume'];
  }
  numEquations(): number {
    return 7;
  }
  protected entries(): Array<[number, number]> {
    return [
      [0, 5], [1, 6], [1, 7], [2, 8], [3, 7], [4, 4], [4, 5], [5, 1], [5, 3], [5, 8], [6, 0], [6, 2],
      [0, 2], [0, 4], [0, 6], [1, 4], [2, 4], [2, 5],
    ];
  }
  override constant(sys: DaeSystem, c: AssemblyContext): void {
    const s = this.s;
    sys.E[s[0]!] = this.par(c, 'rho') * this.par(c, 'thick0');
    sys.F[s[1]!] = -1;
    sys.F[s[2]!] = 1;
    sys.E[s[3]!] = -1;
    sys.E[s[4]!] = 1;
    sys.E[s[5]!] = 1;
    sys.F[s[6]!] = -1;
    sys.F[s[7]!] = 1;
    sys.F[s[8]!] = -1;
    sys.E[s[9]!] = -1;
    sys.F[s[10]!] = 1;
    sys.F[s[11]!] = -1;
  }
  override time(sys: DaeSystem, c: AssemblyContext): void {
    const tc = c.time % c.period;
    const g = this.par(c, 'steepness');
    const f = 0.5 * (1 + Math.tanh((tc - this.par(c, 'tsys')) / g)) * 0.5 * (1 - Math.tanh((tc - this.par(c, 'tdias')) / g));
    const a = this.par(c, 'alpha_max') * f + this.par(c, 'alpha_min') * (1 - f);
    this.act = Math.abs(a);
    this.actPlus = Math.max(a, 0);
    sys.F[this.s[4]!] = this.act;
  }
  override solution(sys: DaeSystem, c: AssemblyContext, y: Float64Array, yd: Float64Array): void {
    const W1 = this.par(c, 'W1');
    const W2 = this.par(c, 'W2');
    const eta = this.par(c, 'eta');
    const d0 = this.par(c, 'thick0');
    const r0 = this.par(c, 'radius0');
    const velo = y[this.v[5]!]!;
    const dr = yd[this.v[4]!]!;
    const pout = y[this.v[2]!]!;
    const r = y[this.v[4]!]!;
    const S = y[this.v[6]!]!;
    const R = r + r0;
    const s = this.s;
    const e = this.e;
    sys.C[e[0]!] = (R * (-pout * R + S * d0)) / (r0 * r0);
    sys.dCdy[s[12]!] = -(R * R) / (r0 * r0);
    sys.dCdy[s[13]!] = (-2 * pout * R + S * d0) / (r0 * r0);
    sys.dCdy[s[14]!] = (d0 * R) / (r0 * r0);
    // Elastic part 4 (1 - C^-3)(W1 + C W2) and viscous part eta dC/dt (1 + 2 C^-6), with
    // C = (R/r0)^2 and dC/dt = 2 R dr / r0^2, i.e. 2 eta dr R (1 + 2 (r0/R)^12) / r0^2.
    const q6 = (r0 / R) ** 6;
    const q12 = q6 * q6;
    const visc = (2 * eta * R * (1 + 2 * q12)) / (r0 * r0);
    sys.C[e[1]!] = 4 * (1 - q6) * (W1 + (W2 * R * R) / (r0 * r0)) + dr * visc;
    sys.dCdy[s[15]!] =
      (24 * W1 * q6) / R + (16 * W2 * q6 * R) / (r0 * r0) + (8 * W2 * R) / (r0 * r0) + (2 * dr * eta * (1 - 22 * q12)) / (r0 * r0);
    sys.dCdydot[s[15]!] = visc;
    sys.C[e[2]!] = 4 * Math.PI * velo * R * R;
    sys.dCdy[s[16]!] = 8 * Math.PI * velo * R;
    sys.dCdy[s[17]!] = 4 * Math.PI * R * R;
    sys.C[e[3]!] = -this.actPlus * this.par(c, 'sigma_max');
  }
}

/** ChamberSphere may be listed among the vessels or the chambers (upstream reads both). No ensemble-kernel generator. */
export const chamberSphere: BlockDefinition = {
  type: 'ChamberSphere',
  sections: ['vessels', 'chambers'],
  read: (r, name, values, path) => new ChamberSphere(name, 'ChamberSphere', 'vessel', r.params('ChamberSphere', name, PARAMS, values, path)),
};
