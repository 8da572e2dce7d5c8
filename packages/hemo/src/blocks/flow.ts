import type { DaeSystem } from '../system.js';
import { Block, series, type AssemblyContext, type BlockDefinition } from './block.js';

const PARAMS = [series('Q')];

/**
 * FLOW: prescribed flow Q(t) (svZeroDSolver `src/model/FlowReferenceBC.h`): Q - Q(t) = 0. Also an external-solver
 * coupling block (`external_solver_coupling_blocks`), where upstream runs it standalone the same way.
 */
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

export const flow: BlockDefinition = {
  type: 'FLOW',
  sections: ['boundary_conditions', 'external_solver_coupling_blocks'],
  read: (r, name, values, path) => new FlowBC(name, 'FLOW', 'boundary_condition', r.params('FLOW', name, PARAMS, values, path)),
  kernel: {
    time(g) {
      g.C(0, `-${g.p('Q')}`);
    },
  },
};
