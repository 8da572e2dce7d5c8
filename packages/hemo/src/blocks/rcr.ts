import type { DaeSystem } from '../system.js';
import { Block, series, type AssemblyContext, type BlockDefinition } from './block.js';

const PARAMS = [series('Rp'), series('C'), series('Rd'), series('Pd', 0)];

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

export const rcr: BlockDefinition = {
  type: 'RCR',
  sections: ['boundary_conditions'],
  read: (r, name, values, path) => new WindkesselBC(name, 'RCR', 'boundary_condition', r.params('RCR', name, PARAMS, values, path)),
  kernel: {
    time(g) {
      const Rd = g.p('Rd');
      g.E(1, 2, `select(-${Rd} * ${g.p('C')}, 0.0, ${g.steady})`);
      g.F(0, 1, `-${g.p('Rp')}`);
      g.F(1, 1, Rd);
      g.C(1, g.p('Pd'));
    },
  },
};
