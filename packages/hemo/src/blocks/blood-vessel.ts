import type { DaeSystem } from '../system.js';
import { Block, scalar, type AssemblyContext, type BlockDefinition } from './block.js';

const PARAMS = [scalar('R_poiseuille'), scalar('C', 0), scalar('L', 0), scalar('stenosis_coefficient', 0)];

/**
 * BloodVessel: R-C-L segment with stenosis (svZeroDSolver `src/model/BloodVessel.h`):
 * P_in - P_out - (R + S|Q_in|) Q_in - L dQ_out = 0;  Q_in - Q_out - C dP_in + C (R + 2 S|Q_in|) dQ_in = 0.
 */
export class BloodVessel extends Block {
  override readonly isVessel = true;
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

export const bloodVessel: BlockDefinition = {
  type: 'BloodVessel',
  sections: ['vessels'],
  read: (r, name, values, path) => new BloodVessel(name, 'BloodVessel', 'vessel', r.params('BloodVessel', name, PARAMS, values, path)),
  kernel: {
    solution(g) {
      if (g.zero('stenosis_coefficient')) return;
      const S = g.p('stenosis_coefficient');
      const Cv = g.p('C');
      const q = g.ya(1);
      const dq = g.yda(1);
      const sr = g.let('sr', `${S} * abs(${q})`);
      const sg = g.let('sg', `sign(${q})`);
      g.C(0, `-${sr} * ${q}`);
      g.C(1, `2.0 * ${sr} * ${Cv} * ${dq}`);
      g.Dy(0, 1, `-2.0 * ${S} * ${sg} * ${q}`);
      g.Dy(1, 1, `2.0 * ${S} * ${sg} * ${Cv} * ${dq}`);
      g.Dd(1, 1, `2.0 * ${sr} * ${Cv}`);
    },
  },
};
