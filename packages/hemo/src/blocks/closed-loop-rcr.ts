import { bool } from '../config-read.js';
import type { DaeSystem } from '../system.js';
import { Block, scalar, type AssemblyContext, type BlockDefinition, type PortRule } from './block.js';

const PARAMS = [scalar('Rp'), scalar('C'), scalar('Rd')];

/**
 * ClosedLoopRCR (svZeroDSolver `src/model/ClosedLoopRCRBC.h`), internal `P_c`:
 * -Q_in + Q_out + C dPc = 0;  P_in - Rp Q_in - Pc = 0;  Pc - Rd Q_out - P_out = 0. Steady start: C = 0.
 * With `closed_loop_outlet` its outlet joins the heart's inlet junction.
 */
export class ClosedLoopRCR extends Block {
  override internals(): string[] {
    return ['P_c'];
  }
  numEquations(): number {
    return 3;
  }
  override ports(): PortRule {
    return 'through';
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

export const closedLoopRCR: BlockDefinition = {
  type: 'ClosedLoopRCR',
  sections: ['boundary_conditions'],
  read: (r, name, values, path) => {
    const b = new ClosedLoopRCR(name, 'ClosedLoopRCR', 'boundary_condition', r.params('ClosedLoopRCR', name, PARAMS, values, path, ['closed_loop_outlet', 'unsteady']));
    b.joinsHeart = values.closed_loop_outlet === undefined ? false : bool(values.closed_loop_outlet, `${path}.closed_loop_outlet`);
    return b;
  },
  kernel: {},
};
