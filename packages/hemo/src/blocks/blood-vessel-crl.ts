import type { DaeSystem } from '../system.js';
import { Block, scalar, stenosisKernel, type AssemblyContext, type BlockDefinition } from './block.js';

const PARAMS = [scalar('R_poiseuille'), scalar('C', 0), scalar('L', 0), scalar('stenosis_coefficient', 0)];

/**
 * BloodVesselCRL: capacitor at the inlet, then R and L (svZeroDSolver `src/model/BloodVesselCRL.h`):
 * P_in - P_out - (R + S|Q_out|) Q_out - L dQ_out = 0;  Q_in - Q_out - C dP_in = 0.
 */
export class BloodVesselCRL extends Block {
  override readonly isVessel = true;
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

export const bloodVesselCRL: BlockDefinition = {
  type: 'BloodVesselCRL',
  sections: ['vessels'],
  read: (r, name, values, path) => new BloodVesselCRL(name, 'BloodVesselCRL', 'vessel', r.params('BloodVesselCRL', name, PARAMS, values, path)),
  kernel: {
    solution(g) {
      if (!g.zero('stenosis_coefficient')) stenosisKernel(g, g.p('stenosis_coefficient'), 0, 3);
    },
  },
};
