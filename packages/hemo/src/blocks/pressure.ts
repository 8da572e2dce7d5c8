import type { DaeSystem } from '../system.js';
import { Block, series, type AssemblyContext, type BlockDefinition } from './block.js';

const PARAMS = [series('P')];

/**
 * PRESSURE: prescribed pressure P(t) (svZeroDSolver `src/model/PressureReferenceBC.h`): P - P(t) = 0. Also an
 * external-solver coupling block.
 */
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

export const pressure: BlockDefinition = {
  type: 'PRESSURE',
  sections: ['boundary_conditions', 'external_solver_coupling_blocks'],
  read: (r, name, values, path) => new PressureBC(name, 'PRESSURE', 'boundary_condition', r.params('PRESSURE', name, PARAMS, values, path)),
  kernel: {
    time(g) {
      g.C(0, `-${g.p('P')}`);
    },
  },
};
