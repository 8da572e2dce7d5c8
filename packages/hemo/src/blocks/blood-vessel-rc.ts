import type { DaeSystem } from '../system.js';
import { Block, scalar, type AssemblyContext, type BlockDefinition } from './block.js';

const PARAMS = [scalar('Rpd'), scalar('Cp')];

/**
 * BloodVesselRC: flow-through pulmonary RC (svZeroDSolver `src/model/BloodVesselRC.h`):
 * Cp dP_in + (P_in - P_out)/Rpd - Q_in = 0;  Q_in - Q_out = 0. Not in vessel-based output (upstream's csv_writer
 * does not list it).
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

export const bloodVesselRC: BlockDefinition = {
  type: 'BloodVesselRC',
  sections: ['vessels'],
  read: (r, name, values, path) => new BloodVesselRC(name, 'BloodVesselRC', 'vessel', r.params('BloodVesselRC', name, PARAMS, values, path)),
  // All of its terms are constant (evaluated on the host).
  kernel: {},
};
