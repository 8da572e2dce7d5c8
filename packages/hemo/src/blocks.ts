import type { Activation } from './activation.js';
import { fourierElastance, wrappingCosine } from './activation.js';
import type { DaeSystem } from './system.js';

/**
 * The 0D blocks. Each implements the equations of the svZeroDSolver block of the same name (header and
 * source cited per class), written as rows of `E ydot + F y + C = 0`. Unknowns of a block, in order:
 * (pressure, flow) of each inlet node, of each outlet node, then its internal variables.
 */

/** A connection between two blocks: one pressure and one flow unknown. */
export interface BlockNode {
  name: string;
  flowDof: number;
  presDof: number;
}

/** Broad role of a block (which config section it came from). */
export type BlockClass = 'vessel' | 'junction' | 'boundary_condition' | 'closed_loop' | 'valve' | 'chamber';

/** Time and model data a block sees while being assembled. */
export interface AssemblyContext {
  /** Current parameter values, indexed by the model's parameter ids. */
  p: Float64Array;
  /** Evaluation time (s): t_n + alpha_f dt during a step. */
  time: number;
  /** Cardiac period (s). */
  period: number;
  /** True during the steady start. */
  steady: boolean;
}

/** Base class: unknown and equation bookkeeping plus the assembly hooks. */
export abstract class Block {
  readonly inlets: BlockNode[] = [];
  readonly outlets: BlockNode[] = [];
  /** Global unknown ids: inlet (P,Q)..., outlet (P,Q)..., internal variables. */
  v: number[] = [];
  /** Global equation ids. */
  e: number[] = [];
  /** Slot ids (into {@link DaeSystem} value arrays), registered in {@link setup}. */
  protected s: number[] = [];

  constructor(
    readonly name: string,
    readonly type: string,
    readonly cls: BlockClass,
    /** Parameter ids into the model parameter table, by parameter name. */
    readonly pid: Readonly<Record<string, number>>,
  ) {}

  /** Names of internal variables (registered as `<name>:<block>`). */
  internals(): string[] {
    return [];
  }

  /** Number of equations the block contributes. */
  abstract numEquations(): number;

  /** Registers the matrix entries the block ever writes: pairs (local equation, local unknown). */
  protected abstract entries(): Array<[number, number]>;

  /** Registers slots with the system; called once after unknowns and equations are numbered. */
  setup(sys: DaeSystem): void {
    this.s = this.entries().map(([i, j]) => sys.slot(this.e[i]!, this.v[j]!));
  }

  /** Terms that depend on neither time nor solution (re-stamped when the steady start begins or ends). */
  constant(_sys: DaeSystem, _c: AssemblyContext): void {}
  /** Time-dependent terms. */
  time(_sys: DaeSystem, _c: AssemblyContext): void {}
  /** Solution-dependent terms (C and its derivatives). */
  solution(_sys: DaeSystem, _c: AssemblyContext, _y: Float64Array, _yd: Float64Array): void {}
  /** Post-Newton-update hook on the new solution. */
  postSolve(_y: Float64Array): void {}
  /** Parameters that depend on the initial (or steady-start) state. */
  initialState(_y: Float64Array, _yd: Float64Array, _c: AssemblyContext): void {}
  /** True when the block reads this parameter name. */
  hasParam(name: string): boolean {
    return name in this.pid;
  }
  protected par(c: AssemblyContext, name: string): number {
    return c.p[this.pid[name]!]!;
  }
}

/**
 * BloodVessel: R-C-L segment with stenosis (svZeroDSolver `src/model/BloodVessel.h`):
 * P_in - P_out - (R + S|Q_in|) Q_in - L dQ_out = 0;  Q_in - Q_out - C dP_in + C (R + 2 S|Q_in|) dQ_in = 0.
 */
export class BloodVessel extends Block {
  numEquations(): number {
    return 2;
  }
  protected entries(): Array<[number, number]> {
    // 0..2: eq0 P_in, Q_in, P_out; 3: eq0 Q_out (E); 4..6: eq1 P_in (E), Q_in, Q_out
    return [[0, 0], [0, 1], [0, 2], [0, 3], [1, 0], [1, 1], [1, 3]];
  }
  override constant(sys: DaeSystem, c: AssemblyContext): void {
    const R = this.par(c, 'R_poiseuille');
    const C = this.par(c, 'C');
    const L = this.par(c, 'L');
    const s = this.s;
    sys.F[s[0]!] = 1;
    sys.F[s[1]!] = -R;
    sys.F[s[2]!] = -1;
    sys.E[s[3]!] = -L;
    sys.E[s[4]!] = -C;
    sys.E[s[5]!] = C * R;
    sys.F[s[5]!] = 1;
    sys.F[s[6]!] = -1;
  }
  override solution(sys: DaeSystem, c: AssemblyContext, y: Float64Array, yd: Float64Array): void {
    const S = this.par(c, 'stenosis_coefficient');
    if (S === 0) return;
    const C = this.par(c, 'C');
    const q = y[this.v[1]!]!;
    const dq = yd[this.v[1]!]!;
    const sr = S * Math.abs(q);
    const sgn = q > 0 ? 1 : q < 0 ? -1 : 0;
    sys.C[this.e[0]!] = -sr * q;
    sys.C[this.e[1]!] = 2 * sr * C * dq;
    sys.dCdy[this.s[1]!] = -2 * S * sgn * q;
    sys.dCdy[this.s[5]!] = 2 * S * sgn * C * dq;
    sys.dCdydot[this.s[5]!] = 2 * sr * C;
  }
}

/**
 * BloodVesselCRL: capacitor at the inlet, then R and L (svZeroDSolver `src/model/BloodVesselCRL.h`):
 * P_in - P_out - (R + S|Q_out|) Q_out - L dQ_out = 0;  Q_in - Q_out - C dP_in = 0.
 */
export class BloodVesselCRL extends Block {
  numEquations(): number {
    return 2;
  }
  protected entries(): Array<[number, number]> {
    return [[0, 0], [0, 2], [0, 3], [1, 0], [1, 1], [1, 3]];
  }
  override constant(sys: DaeSystem, c: AssemblyContext): void {
    const s = this.s;
    sys.F[s[0]!] = 1;
    sys.F[s[1]!] = -1;
    sys.F[s[2]!] = -this.par(c, 'R_poiseuille');
    sys.E[s[2]!] = -this.par(c, 'L');
    sys.E[s[3]!] = -this.par(c, 'C');
    sys.F[s[4]!] = 1;
    sys.F[s[5]!] = -1;
  }
  override solution(sys: DaeSystem, c: AssemblyContext, y: Float64Array): void {
    const S = this.par(c, 'stenosis_coefficient');
    if (S === 0) return;
    const q = y[this.v[3]!]!;
    sys.C[this.e[0]!] = -S * Math.abs(q) * q;
    // d/dQ_out of -S|q|q (upstream writes this derivative into the Q_in column; the exact one is used here)
    sys.dCdy[this.s[2]!] = -2 * S * Math.abs(q);
  }
}

/**
 * BloodVesselRC: flow-through pulmonary RC (svZeroDSolver `src/model/BloodVesselRC.h`):
 * Cp dP_in + (P_in - P_out)/Rpd - Q_in = 0;  Q_in - Q_out = 0.
 */
export class BloodVesselRC extends Block {
  numEquations(): number {
    return 2;
  }
  protected entries(): Array<[number, number]> {
    return [[0, 0], [0, 1], [0, 2], [1, 1], [1, 3]];
  }
  override constant(sys: DaeSystem, c: AssemblyContext): void {
    const Rpd = this.par(c, 'Rpd');
    const s = this.s;
    sys.E[s[0]!] = this.par(c, 'Cp');
    sys.F[s[0]!] = 1 / Rpd;
    sys.F[s[1]!] = -1;
    sys.F[s[2]!] = -1 / Rpd;
    sys.F[s[3]!] = 1;
    sys.F[s[4]!] = -1;
  }
}

/**
 * NORMAL_JUNCTION: equal pressures and conservation of mass (svZeroDSolver `src/model/Junction.h`).
 */
export class Junction extends Block {
  numEquations(): number {
    return this.inlets.length + this.outlets.length;
  }
  protected entries(): Array<[number, number]> {
    const m = this.inlets.length + this.outlets.length;
    const out: Array<[number, number]> = [];
    for (let i = 0; i < m - 1; i++) out.push([i, 0], [i, 2 * i + 2]);
    for (let i = 0; i < m; i++) out.push([m - 1, 2 * i + 1]);
    return out;
  }
  override constant(sys: DaeSystem): void {
    const m = this.inlets.length + this.outlets.length;
    const s = this.s;
    let k = 0;
    for (let i = 0; i < m - 1; i++) {
      sys.F[s[k++]!] = 1;
      sys.F[s[k++]!] = -1;
    }
    for (let i = 0; i < m; i++) sys.F[s[k++]!] = i < this.inlets.length ? 1 : -1;
  }
}

/**
 * BloodVesselJunction: one inlet, a resistive-inductive-stenotic branch per outlet
 * (svZeroDSolver `src/model/BloodVesselJunction.h`): Q_in - sum Q_out,i = 0;
 * P_in - P_out,i - (R_i + S_i|Q_out,i|) Q_out,i - L_i dQ_out,i = 0. Parameters are per-outlet lists
 * (ids `R_poiseuille[i]`, `L[i]`, `stenosis_coefficient[i]`).
 */
export class BloodVesselJunction extends Block {
  numEquations(): number {
    return this.outlets.length + 1;
  }
  protected entries(): Array<[number, number]> {
    const out: Array<[number, number]> = [[0, 1]];
    for (let i = 0; i < this.outlets.length; i++) out.push([0, 3 + 2 * i], [i + 1, 0], [i + 1, 2 + 2 * i], [i + 1, 3 + 2 * i]);
    return out;
  }
  override constant(sys: DaeSystem, c: AssemblyContext): void {
    const s = this.s;
    sys.F[s[0]!] = 1;
    for (let i = 0; i < this.outlets.length; i++) {
      const b = 1 + 4 * i;
      sys.F[s[b]!] = -1;
      sys.F[s[b + 1]!] = 1;
      sys.F[s[b + 2]!] = -1;
      sys.F[s[b + 3]!] = -this.par(c, `R_poiseuille[${i}]`);
      sys.E[s[b + 3]!] = -this.par(c, `L[${i}]`);
    }
  }
  override solution(sys: DaeSystem, c: AssemblyContext, y: Float64Array): void {
    for (let i = 0; i < this.outlets.length; i++) {
      const S = this.par(c, `stenosis_coefficient[${i}]`);
      const q = y[this.v[3 + 2 * i]!]!;
      sys.C[this.e[i + 1]!] = -S * Math.abs(q) * q;
      sys.dCdy[this.s[1 + 4 * i + 3]!] = -2 * S * Math.abs(q);
    }
  }
}

/** FLOW: prescribed flow Q(t) (svZeroDSolver `src/model/FlowReferenceBC.h`): Q - Q(t) = 0. */
export class FlowBC extends Block {
  numEquations(): number {
    return 1;
  }
  protected entries(): Array<[number, number]> {
    return [[0, 1]];
  }
  override constant(sys: DaeSystem): void {
    sys.F[this.s[0]!] = 1;
  }
  override time(sys: DaeSystem, c: AssemblyContext): void {
    sys.C[this.e[0]!] = -this.par(c, 'Q');
  }
}

/** PRESSURE: prescribed pressure P(t) (svZeroDSolver `src/model/PressureReferenceBC.h`): P - P(t) = 0. */
export class PressureBC extends Block {
  numEquations(): number {
    return 1;
  }
  protected entries(): Array<[number, number]> {
    return [[0, 0]];
  }
  override constant(sys: DaeSystem): void {
    sys.F[this.s[0]!] = 1;
  }
  override time(sys: DaeSystem, c: AssemblyContext): void {
    sys.C[this.e[0]!] = -this.par(c, 'P');
  }
}

/** RESISTANCE: P - R(t) Q - Pd(t) = 0 (svZeroDSolver `src/model/ResistanceBC.h`). */
export class ResistanceBC extends Block {
  numEquations(): number {
    return 1;
  }
  protected entries(): Array<[number, number]> {
    return [[0, 0], [0, 1]];
  }
  override constant(sys: DaeSystem): void {
    sys.F[this.s[0]!] = 1;
  }
  override time(sys: DaeSystem, c: AssemblyContext): void {
    sys.F[this.s[1]!] = -this.par(c, 'R');
    sys.C[this.e[0]!] = -this.par(c, 'Pd');
  }
}

/**
 * RCR Windkessel with distal pressure (svZeroDSolver `src/model/WindkesselBC.h`):
 * P - Rp Q - Pc = 0;  Rd Q - Pc - Rd C dPc + Pd = 0 (internal `pressure_c`). The steady start sets C = 0.
 */
export class WindkesselBC extends Block {
  override internals(): string[] {
    return ['pressure_c'];
  }
  numEquations(): number {
    return 2;
  }
  protected entries(): Array<[number, number]> {
    return [[0, 0], [0, 2], [1, 2], [0, 1], [1, 1]];
  }
  override constant(sys: DaeSystem): void {
    sys.F[this.s[0]!] = 1;
    sys.F[this.s[1]!] = -1;
    sys.F[this.s[2]!] = -1;
  }
  override time(sys: DaeSystem, c: AssemblyContext): void {
    const Rd = this.par(c, 'Rd');
    sys.E[this.s[2]!] = c.steady ? 0 : -Rd * this.par(c, 'C');
    sys.F[this.s[3]!] = -this.par(c, 'Rp');
    sys.F[this.s[4]!] = Rd;
    sys.C[this.e[1]!] = this.par(c, 'Pd');
  }
}

/**
 * CORONARY open-loop coronary model (Kim et al.; svZeroDSolver `src/model/OpenLoopCoronaryBC.h`), internal
 * `volume_im`. Unsteady rows:
 * Cim Rv Q - V - Ca Cim Rv dP + Ra Ca Cim Rv dQ - Cim Rv dV + Cim (Pv - Pim + Pim0 - Pcim0) = 0;
 * Cim Rv P - Cim Rv Ra Q - (Rv + Ram) V - Cim Rv Ram dV + Ram Cim Pv - Cim (Rv + Ram)(Pim + Pcim0 - Pim0) = 0.
 * Steady start: V = 0 and P = (Ra + Ram + Rv) Q + Pv. Pcim0 and Pim0 come from the initial state.
 * CORONARY_VAR_RES (`OpenLoopCoronaryVarResBC.h`) replaces Ram by
 * Ram(t) = [(sqrt(Ram_max) - sqrt(Ram_min)) e(t) + sqrt(Ram_min)]^2 with a cosine e(t) over the cycle.
 */
export class OpenLoopCoronaryBC extends Block {
  private pim0 = 0;
  private pcim0 = 0;
  constructor(name: string, type: string, pid: Readonly<Record<string, number>>, private readonly variable: boolean) {
    super(name, type, 'boundary_condition', pid);
  }
  override internals(): string[] {
    return ['volume_im'];
  }
  numEquations(): number {
    return 2;
  }
  protected entries(): Array<[number, number]> {
    return [[0, 0], [0, 1], [0, 2], [1, 0], [1, 1], [1, 2]];
  }
  private ram(c: AssemblyContext): number {
    if (!this.variable) return this.par(c, 'Ra2');
    const lo = Math.sqrt(this.par(c, 'Ra2_min'));
    const hi = Math.sqrt(this.par(c, 'Ra2_max'));
    if (c.steady) return lo * lo;
    const tvc = this.par(c, 'T_vc');
    const tvr = this.par(c, 'T_vr');
    const tc = c.time % c.period;
    let e = 0;
    if (tc <= tvc) e = 0.5 * (1 - Math.cos((Math.PI * tc) / tvc));
    else if (tc <= tvc + tvr) e = 0.5 * (1 + Math.cos((Math.PI * (tc - tvc)) / tvr));
    const r = lo + (hi - lo) * e;
    return r * r;
  }
  override time(sys: DaeSystem, c: AssemblyContext): void {
    const Ra = this.par(c, 'Ra1');
    const Rv = this.par(c, 'Rv1');
    const Ca = this.par(c, 'Ca');
    const Cim = this.par(c, 'Cc');
    const Pim = this.par(c, 'Pim');
    const Pv = this.par(c, 'P_v');
    const Ram = this.ram(c);
    const s = this.s;
    if (c.steady) {
      sys.F[s[2]!] = 1;
      sys.F[s[3]!] = -1;
      sys.F[s[4]!] = Ra + Ram + Rv;
      sys.C[this.e[0]!] = 0;
      sys.C[this.e[1]!] = Pv;
      return;
    }
    sys.F[s[1]!] = Cim * Rv;
    sys.F[s[2]!] = -1;
    sys.F[s[3]!] = Cim * Rv;
    sys.F[s[4]!] = -Cim * Rv * Ra;
    sys.F[s[5]!] = -(Rv + Ram);
    sys.E[s[0]!] = -Ca * Cim * Rv;
    sys.E[s[1]!] = Ra * Ca * Cim * Rv;
    sys.E[s[2]!] = -Cim * Rv;
    sys.E[s[5]!] = -Cim * Rv * Ram;
    sys.C[this.e[0]!] = Cim * (-Pim + Pv + this.pim0 - this.pcim0);
    sys.C[this.e[1]!] = Ram * Cim * Pv - Cim * (Rv + Ram) * (Pim + this.pcim0 - this.pim0);
  }
  override initialState(y: Float64Array, yd: Float64Array, c: AssemblyContext): void {
    const Ra = this.par(c, 'Ra1');
    const Ca = this.par(c, 'Ca');
    const Ram = this.variable ? this.par(c, 'Ra2_min') : this.par(c, 'Ra2');
    const pCa = y[this.v[0]!]! - Ra * y[this.v[1]!]!;
    const pCaDot = yd[this.v[0]!]! - Ra * yd[this.v[1]!]!;
    const qam = y[this.v[1]!]! - Ca * pCaDot;
    this.pcim0 = pCa - Ram * qam;
    this.pim0 = this.par(c, 'Pim');
  }
}

/**
 * ClosedLoopRCR (svZeroDSolver `src/model/ClosedLoopRCRBC.h`), internal `P_c`:
 * -Q_in + Q_out + C dPc = 0;  P_in - Rp Q_in - Pc = 0;  Pc - Rd Q_out - P_out = 0. Steady start: C = 0.
 */
export class ClosedLoopRCR extends Block {
  override internals(): string[] {
    return ['P_c'];
  }
  numEquations(): number {
    return 3;
  }
  protected entries(): Array<[number, number]> {
    return [[0, 1], [0, 3], [0, 4], [1, 0], [1, 1], [1, 4], [2, 2], [2, 3], [2, 4]];
  }
  override constant(sys: DaeSystem, c: AssemblyContext): void {
    const s = this.s;
    sys.F[s[0]!] = -1;
    sys.F[s[1]!] = 1;
    sys.E[s[2]!] = c.steady ? 0 : this.par(c, 'C');
    sys.F[s[3]!] = 1;
    sys.F[s[4]!] = -this.par(c, 'Rp');
    sys.F[s[5]!] = -1;
    sys.F[s[6]!] = -1;
    sys.F[s[7]!] = -this.par(c, 'Rd');
    sys.F[s[8]!] = 1;
  }
}

/**
 * ValveTanh: smooth diode (svZeroDSolver `src/model/ValveTanh.h`; Pfaller 2019 eqs. 16, 22), internal
 * `valve_status`: P_in - P_out - Q_in [ (Rmax+Rmin)/2 + (Rmax-Rmin)/2 tanh(k (P_out - P_in)) ] = 0;
 * Q_in - Q_out = 0;  status - (1 + tanh(k (P_out - P_in)))/2 = 0.
 */
export class ValveTanh extends Block {
  override internals(): string[] {
    return ['valve_status'];
  }
  numEquations(): number {
    return 3;
  }
  protected entries(): Array<[number, number]> {
    return [[0, 0], [0, 1], [0, 2], [1, 1], [1, 3], [2, 4], [2, 0], [2, 2]];
  }
  override constant(sys: DaeSystem, c: AssemblyContext): void {
    const s = this.s;
    sys.F[s[0]!] = 1;
    sys.F[s[1]!] = -0.5 * (this.par(c, 'Rmax') + this.par(c, 'Rmin'));
    sys.F[s[2]!] = -1;
    sys.F[s[3]!] = 1;
    sys.F[s[4]!] = -1;
    sys.F[s[5]!] = 1;
  }
  override solution(sys: DaeSystem, c: AssemblyContext, y: Float64Array): void {
    const pin = y[this.v[0]!]!;
    const pout = y[this.v[2]!]!;
    const q = y[this.v[1]!]!;
    const dR = this.par(c, 'Rmax') - this.par(c, 'Rmin');
    const k = this.par(c, 'Steepness');
    const th = Math.tanh(k * (pout - pin));
    const ch = Math.cosh(k * (pin - pout));
    const fcosh = (0.5 * k) / (ch * ch);
    const s = this.s;
    sys.C[this.e[0]!] = -0.5 * q * dR * th;
    sys.C[this.e[2]!] = -0.5 * (1 + th);
    sys.dCdy[s[0]!] = 0.5 * q * dR * k * (1 - th * th);
    sys.dCdy[s[1]!] = -0.5 * dR * th;
    sys.dCdy[s[2]!] = -0.5 * q * dR * k * (1 - th * th);
    sys.dCdy[s[6]!] = fcosh;
    sys.dCdy[s[7]!] = -fcosh;
  }
}

/**
 * PiecewiseValve: R = Rmin when P_out < P_in, else Rmax (svZeroDSolver `src/model/PiecewiseValve.h`):
 * P_in - P_out - R Q_in = 0;  Q_in - Q_out = 0.
 */
export class PiecewiseValve extends Block {
  numEquations(): number {
    return 2;
  }
  protected entries(): Array<[number, number]> {
    return [[0, 0], [0, 2], [0, 1], [1, 1], [1, 3]];
  }
  override constant(sys: DaeSystem): void {
    const s = this.s;
    sys.F[s[0]!] = 1;
    sys.F[s[1]!] = -1;
    sys.F[s[3]!] = 1;
    sys.F[s[4]!] = -1;
  }
  override solution(sys: DaeSystem, c: AssemblyContext, y: Float64Array): void {
    const open = y[this.v[2]!]! < y[this.v[0]!]!;
    sys.F[this.s[2]!] = -(open ? this.par(c, 'Rmin') : this.par(c, 'Rmax'));
  }
}

/**
 * Chambers with an elastance E(t), an outflow inductance and volume Vc (internal `Vc`):
 * - ChamberElastanceInductor (`src/model/ChamberElastanceInductor.h`): P_in - E(t)(Vc - Vrest(t)) = 0,
 *   E = (Emax - Emin) a + Emin, Vrest = (1 - a)(Vrd - Vrs) + Vrs;
 * - ChamberElastanceInductorExponential (`ChamberElastanceInductorExponential.h`):
 *   P_in = a Emax (Vc - Vaso) + (1 - a) Kxp (exp(Kxv (Vc - Vaso)) - 1);
 * both with P_in - P_out - L dQ_out = 0 and Q_in - Q_out - dVc = 0;
 * - LinearElastanceChamber (`LinearElastanceChamber.h`): P_in - (Epass + Emax a)(Vc - Vrest) = 0,
 *   P_in - P_out = 0, Q_in - Q_out - dVc = 0.
 */
export class ElastanceChamber extends Block {
  constructor(
    name: string,
    type: 'ChamberElastanceInductor' | 'ChamberElastanceInductorExponential' | 'LinearElastanceChamber',
    pid: Readonly<Record<string, number>>,
    readonly activation: Activation,
  ) {
    super(name, type, 'chamber', pid);
  }
  private act = 0;
  override internals(): string[] {
    return ['Vc'];
  }
  numEquations(): number {
    return 3;
  }
  protected entries(): Array<[number, number]> {
    return [[0, 0], [0, 4], [1, 0], [1, 2], [1, 3], [2, 1], [2, 3], [2, 4]];
  }
  override constant(sys: DaeSystem, c: AssemblyContext): void {
    const s = this.s;
    sys.F[s[0]!] = 1;
    sys.F[s[2]!] = 1;
    sys.F[s[3]!] = -1;
    sys.E[s[4]!] = this.type === 'LinearElastanceChamber' ? 0 : -this.par(c, 'Impedance');
    sys.F[s[5]!] = 1;
    sys.F[s[6]!] = -1;
    sys.E[s[7]!] = -1;
  }
  override time(sys: DaeSystem, c: AssemblyContext): void {
    const a = this.activation.compute(c.time);
    this.act = a;
    let E: number;
    let Cterm: number;
    if (this.type === 'ChamberElastanceInductor') {
      const Emax = this.par(c, 'Emax');
      const Emin = this.par(c, 'Emin');
      const Vrd = this.par(c, 'Vrd');
      const Vrs = this.par(c, 'Vrs');
      E = (Emax - Emin) * a + Emin;
      Cterm = E * ((1 - a) * (Vrd - Vrs) + Vrs);
    } else if (this.type === 'LinearElastanceChamber') {
      E = this.par(c, 'Epass') + this.par(c, 'Emax') * a;
      Cterm = E * this.par(c, 'Vrest');
    } else {
      E = a * this.par(c, 'Emax');
      Cterm = Number.NaN; // set in solution()
    }
    sys.F[this.s[1]!] = -E;
    if (!Number.isNaN(Cterm)) sys.C[this.e[0]!] = Cterm;
  }
  override solution(sys: DaeSystem, c: AssemblyContext, y: Float64Array): void {
    if (this.type !== 'ChamberElastanceInductorExponential') return;
    const Kxp = this.par(c, 'Kxp');
    const Kxv = this.par(c, 'Kxv');
    const Vaso = this.par(c, 'Vaso');
    const ex = Math.exp(Kxv * (y[this.v[4]!]! - Vaso));
    const psi = Kxp * (ex - 1);
    sys.C[this.e[0]!] = this.act * this.par(c, 'Emax') * Vaso + psi * (this.act - 1);
    sys.dCdy[this.s[1]!] = Kxp * Kxv * ex * (this.act - 1);
  }
}

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

/** Internal variable names of the heart block, in unknown order after (P_in, Q_in, P_out, Q_out). */
export const HEART_INTERNALS = ['V_RA', 'Q_RA', 'P_RV', 'V_RV', 'Q_RV', 'P_pul', 'P_LA', 'V_LA', 'Q_LA', 'P_LV', 'V_LV', 'Q_LV'] as const;

/**
 * ClosedLoopHeartAndPulmonary: four-chamber heart with pulmonary RC (Sankaran 2012, Menon 2023;
 * svZeroDSolver `src/model/ClosedLoopHeartPulmonary.h`). Unknowns: P_RA = P_in, Q_in, P_out (aorta),
 * Q_out, then {@link HEART_INTERNALS}. Atria: P = A(t) Emax (V - Vaso) + (1 - A) Kxp (exp(Kxv (V - Vaso)) - 1);
 * ventricles: P = E(t)(V - Vu) with the Fourier elastance; valves are ideal diodes (0/1 switches on the
 * outflows, forced to zero flow after each Newton update while closed).
 */
export class ClosedLoopHeart extends Block {
  private AA = 0;
  private Elv = 0;
  private Erv = 0;
  private readonly valves = new Float64Array(16);
  override internals(): string[] {
    return [...HEART_INTERNALS];
  }
  numEquations(): number {
    return 14;
  }
  protected entries(): Array<[number, number]> {
    return [
      [0, 0], [1, 2], [1, 3], [2, 4], [2, 1], [3, 5], [3, 0], [3, 6], [4, 6], [5, 7], [6, 8], [6, 6], [6, 9], // 0-12
      [7, 9], [7, 10], [8, 10], [9, 11], [10, 12], [10, 10], [10, 13], [11, 13], [12, 14], [13, 2], [13, 13], [13, 15], // 13-24
      [0, 4], [4, 7], [8, 11], [11, 14], // 25-28 time-dependent F
      [1, 15], [7, 8], [2, 5], [5, 5], [5, 8], [9, 8], [9, 12], [12, 12], [12, 15], // 29-37 valve switches
    ];
  }
  override constant(sys: DaeSystem, c: AssemblyContext): void {
    const s = this.s;
    const F = sys.F;
    const E = sys.E;
    F[s[0]!] = 1;
    E[s[1]!] = this.par(c, 'Cpa');
    F[s[2]!] = 1;
    E[s[3]!] = 1;
    F[s[4]!] = -1;
    E[s[5]!] = this.par(c, 'Lra_v');
    F[s[6]!] = -1;
    F[s[7]!] = 1;
    F[s[8]!] = 1;
    E[s[9]!] = 1;
    E[s[10]!] = this.par(c, 'Lrv_a');
    F[s[11]!] = -1;
    F[s[12]!] = 1;
    const Rpd = this.par(c, 'Rpd');
    E[s[13]!] = this.par(c, 'Cp');
    F[s[13]!] = 1 / Rpd;
    F[s[14]!] = -1 / Rpd;
    F[s[15]!] = 1;
    E[s[16]!] = 1;
    E[s[17]!] = this.par(c, 'Lla_v');
    F[s[18]!] = -1;
    F[s[19]!] = 1;
    F[s[20]!] = 1;
    E[s[21]!] = 1;
    F[s[22]!] = 1;
    F[s[23]!] = -1;
    E[s[24]!] = this.par(c, 'Llv_a');
  }
  override time(sys: DaeSystem, c: AssemblyContext): void {
    const T = c.period;
    const tc = c.time % T;
    this.AA = wrappingCosine(tc, T, this.par(c, 'Tsa'), this.par(c, 'tpwave'));
    const e = fourierElastance(tc, T);
    this.Elv = e * this.par(c, 'Elv_s');
    this.Erv = e * this.par(c, 'Erv_s');
    const s = this.s;
    sys.F[s[25]!] = -this.AA * this.par(c, 'Emax_ra');
    sys.F[s[26]!] = -this.Erv;
    sys.C[this.e[4]!] = this.Erv * this.par(c, 'Vrv_u');
    sys.F[s[27]!] = -this.AA * this.par(c, 'Emax_la');
    sys.F[s[28]!] = -this.Elv;
    sys.C[this.e[11]!] = this.Elv * this.par(c, 'Vlv_u');
  }
  override solution(sys: DaeSystem, c: AssemblyContext, y: Float64Array): void {
    const v = this.v;
    const AA = this.AA;
    const vra = y[v[4]!]!;
    const vla = y[v[11]!]!;
    const kxpRa = this.par(c, 'Kxp_ra');
    const kxvRa = this.par(c, 'Kxv_ra');
    const vasoRa = this.par(c, 'Vaso_ra');
    const kxpLa = this.par(c, 'Kxp_la');
    const kxvLa = this.par(c, 'Kxv_la');
    const vasoLa = this.par(c, 'Vaso_la');
    const exRa = Math.exp((vra - vasoRa) * kxvRa);
    const exLa = Math.exp((vla - vasoLa) * kxvLa);
    const psiRa = kxpRa * (exRa - 1);
    const psiLa = kxpLa * (exLa - 1);
    const val = this.valves;
    val.fill(1);
    // An ideal valve is closed when the downstream pressure is not lower and the flow is not positive.
    if (y[v[0]!]! <= y[v[6]!]! && y[v[5]!]! <= 0) val[5] = 0;
    if (y[v[6]!]! <= y[v[9]!]! && y[v[8]!]! <= 0) val[8] = 0;
    if (y[v[10]!]! <= y[v[13]!]! && y[v[12]!]! <= 0) val[12] = 0;
    if (y[v[13]!]! <= y[v[2]!]! && y[v[15]!]! <= 0) val[15] = 0;
    const s = this.s;
    const e = this.e;
    sys.C[e[0]!] = AA * this.par(c, 'Emax_ra') * vasoRa + psiRa * (AA - 1);
    sys.dCdy[s[25]!] = kxpRa * exRa * kxvRa * (AA - 1);
    sys.C[e[8]!] = AA * this.par(c, 'Emax_la') * vasoLa + psiLa * (AA - 1);
    sys.dCdy[s[27]!] = kxpLa * exLa * kxvLa * (AA - 1);
    const F = sys.F;
    F[s[29]!] = -val[15]!;
    F[s[30]!] = -val[8]!;
    F[s[31]!] = val[5]!;
    F[s[32]!] = -val[5]!;
    F[s[33]!] = val[8]!;
    F[s[34]!] = -val[8]!;
    F[s[35]!] = val[12]!;
    F[s[36]!] = -val[12]!;
    F[s[37]!] = val[15]!;
    F[s[5]!] = this.par(c, 'Rra_v') * val[5]!;
    F[s[10]!] = this.par(c, 'Rrv_a') * val[8]!;
    F[s[17]!] = this.par(c, 'Rla_v') * val[12]!;
    F[s[24]!] = this.par(c, 'Rlv_ao') * val[15]!;
  }
  override postSolve(y: Float64Array): void {
    for (let i = 0; i < 16; i++) if (this.valves[i]! < 0.5) y[this.v[i]!] = 0;
  }
}

/**
 * ClosedLoopCoronaryLeft/Right (svZeroDSolver `src/model/ClosedLoopCoronaryBC.h`), internal `volume_im`;
 * the intramyocardial pressure is im * P_LV (left, im = iml) or im * P_RV (right, im = imr) of the heart:
 * -Ram Ca dP_in + Ram Ra Ca dQ_in - P_in + (Ra + Ram) Q_in + P_out + Rv Q_out = 0;
 * -Ca dP_in + Ca Ra dQ_in - dV + Q_in - Q_out = 0;  Cim P_out + Cim Rv Q_out - V - Cim Pim = 0.
 */
export class ClosedLoopCoronaryBC extends Block {
  /** Unknown id of the ventricular pressure and parameter id of im, set once the heart exists. */
  ventricleDof = -1;
  imParam = -1;
  override internals(): string[] {
    return ['volume_im'];
  }
  numEquations(): number {
    return 3;
  }
  protected entries(): Array<[number, number]> {
    return [[0, 0], [0, 1], [0, 2], [0, 3], [1, 0], [1, 1], [1, 4], [1, 3], [2, 2], [2, 3], [2, 4]];
  }
  override constant(sys: DaeSystem, c: AssemblyContext): void {
    const ra = this.par(c, 'Ra');
    const ram = this.par(c, 'Ram');
    const rv = this.par(c, 'Rv');
    const ca = this.par(c, 'Ca');
    const cim = this.par(c, 'Cim');
    const s = this.s;
    sys.E[s[0]!] = -ram * ca;
    sys.E[s[1]!] = ram * ra * ca;
    sys.E[s[4]!] = -ca;
    sys.E[s[5]!] = ca * ra;
    sys.E[s[6]!] = -1;
    sys.F[s[0]!] = -1;
    sys.F[s[1]!] = ra + ram;
    sys.F[s[2]!] = 1;
    sys.F[s[3]!] = rv;
    sys.F[s[5]!] = 1;
    sys.F[s[7]!] = -1;
    sys.F[s[8]!] = cim;
    sys.F[s[9]!] = cim * rv;
    sys.F[s[10]!] = -1;
  }
  override solution(sys: DaeSystem, c: AssemblyContext, y: Float64Array): void {
    sys.C[this.e[2]!] = -this.par(c, 'Cim') * c.p[this.imParam]! * y[this.ventricleDof]!;
  }
}
