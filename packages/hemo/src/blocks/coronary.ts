import type { DaeSystem } from '../system.js';
import { Block, scalar, series, type AssemblyContext, type BlockDefinition } from './block.js';

/**
 * CORONARY open-loop coronary model (Kim et al.; svZeroDSolver `src/model/OpenLoopCoronaryBC.h`), internal
 * `volume_im`. Unsteady rows:
 * Cim Rv Q - V - Ca Cim Rv dP + Ra Ca Cim Rv dQ - Cim Rv dV + Cim (Pv - Pim + Pim0 - Pcim0) = 0;
 * Cim Rv P - Cim Rv Ra Q - (Rv + Ram) V - Cim Rv Ram dV + Ram Cim Pv - Cim (Rv + Ram)(Pim + Pcim0 - Pim0) = 0.
 * Steady start: V = 0 and P = (Ra + Ram + Rv) Q + Pv. Pcim0 and Pim0 come from the initial state.
 * CORONARY_VAR_RES (`OpenLoopCoronaryVarResBC.h`) replaces Ram by
 * Ram(t) = [(sqrt(Ram_max) - sqrt(Ram_min)) e(t) + sqrt(Ram_min)]^2 with a cosine e(t) over the cycle.
 * No ensemble-kernel generator: Pim0 and Pcim0 depend on the state after the steady start.
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

const FIXED = [series('Ra1'), series('Ra2'), series('Rv1'), series('Ca'), series('Cc'), series('Pim'), series('P_v')];
const VARIABLE = [scalar('Ra1'), scalar('Rv1'), scalar('Ca'), scalar('Cc'), series('Pim'), scalar('P_v'), scalar('Ra2_min'), scalar('Ra2_max'), scalar('T_vc'), scalar('T_vr')];

export const coronary: BlockDefinition = {
  type: 'CORONARY',
  sections: ['boundary_conditions'],
  read: (r, name, values, path) => new OpenLoopCoronaryBC(name, 'CORONARY', r.params('CORONARY', name, FIXED, values, path), false),
};

export const coronaryVarRes: BlockDefinition = {
  type: 'CORONARY_VAR_RES',
  sections: ['boundary_conditions'],
  read: (r, name, values, path) => new OpenLoopCoronaryBC(name, 'CORONARY_VAR_RES', r.params('CORONARY_VAR_RES', name, VARIABLE, values, path, ['closed_loop_outlet']), true),
};
