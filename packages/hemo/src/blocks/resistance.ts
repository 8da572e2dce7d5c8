import type { DaeSystem } from '../system.js';
import { Block, series, type AssemblyContext, type BlockDefinition } from './block.js';

const PARAMS = [series('R'), series('Pd')];

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

export const resistance: BlockDefinition = {
  type: 'RESISTANCE',
  sections: ['boundary_conditions'],
  read: (r, name, values, path) => new ResistanceBC(name, 'RESISTANCE', 'boundary_condition', r.params('RESISTANCE', name, PARAMS, values, path)),
  kernel: {
    time(g) {
      g.F(0, 1, `-${g.p('R')}`);
      g.C(0, `-${g.p('Pd')}`);
    },
  },
};
