import type { DaeSystem } from '../system.js';
import { Block, scalar, type AssemblyContext, type BlockDefinition } from './block.js';

const PARAMS = [scalar('Rmax'), scalar('Rmin'), scalar('Steepness')];

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

export const valveTanh: BlockDefinition = {
  type: 'ValveTanh',
  sections: ['valves'],
  read: (r, name, values, path) => new ValveTanh(name, 'ValveTanh', 'valve', r.params('ValveTanh', name, PARAMS, values, path, ['upstream_block', 'downstream_block'])),
  kernel: {
    solution(g) {
      const pin = g.ya(0);
      const q = g.ya(1);
      const pout = g.ya(2);
      const dR = g.let('dR', `${g.p('Rmax')} - ${g.p('Rmin')}`);
      const k = g.p('Steepness');
      const th = g.let('th', `tanh_safe(${k} * (${pout} - ${pin}))`);
      // 1/cosh^2 = 1 - tanh^2 (the CPU writes 1/cosh^2; cosh overflows f32 where tanh saturates).
      const d = g.let('d', `1.0 - ${th} * ${th}`);
      const fc = g.let('fc', `0.5 * ${k} * ${d}`);
      g.C(0, `-0.5 * ${q} * ${dR} * ${th}`);
      // 1 + tanh cancels while the valve is closed (tanh near -1): it rounds at the scale of 1.
      g.C(2, `-0.5 * (1.0 + ${th})`, `0.5 * (1.0 + abs(${th}))`);
      g.Dy(0, 0, `0.5 * ${q} * ${dR} * ${k} * ${d}`);
      g.Dy(0, 1, `-0.5 * ${dR} * ${th}`);
      g.Dy(0, 2, `-0.5 * ${q} * ${dR} * ${k} * ${d}`);
      g.Dy(2, 0, fc);
      g.Dy(2, 2, `-${fc}`);
    },
  },
};
