import type { DaeSystem } from '../system.js';
import { Block, scalar, type AssemblyContext, type BlockDefinition } from './block.js';

const PARAMS = [scalar('Rmax'), scalar('Rmin')];

/**
 * PiecewiseValve: R = Rmin when P_out < P_in, else Rmax (svZeroDSolver `src/model/PiecewiseValve.h`):
 * P_in - P_out - R Q_in = 0;  Q_in - Q_out = 0. Listed in vessel-based output, as upstream's csv_writer does.
 */
export class PiecewiseValve extends Block {
  override readonly isVessel = true;
  numEquations(): number {
    return 2;
  }
  protected entries(): Array<[number, number]> {
    return [[0, 0], [0, 2], [0, 1], [1, 1], [1, 3]];
  }
  override constant(sys: DaeSystem): void {
    const s = this.s;
    sys.F[s[0]!] = 1;
    sys.F[s[1]!] = -1;
    sys.F[s[3]!] = 1;
    sys.F[s[4]!] = -1;
  }
  override solution(sys: DaeSystem, c: AssemblyContext, y: Float64Array): void {
    const open = y[this.v[2]!]! < y[this.v[0]!]!;
    sys.F[this.s[2]!] = -(open ? this.par(c, 'Rmin') : this.par(c, 'Rmax'));
  }
}

export const piecewiseValve: BlockDefinition = {
  type: 'PiecewiseValve',
  sections: ['valves'],
  read: (r, name, values, path) => new PiecewiseValve(name, 'PiecewiseValve', 'valve', r.params('PiecewiseValve', name, PARAMS, values, path, ['upstream_block', 'downstream_block'])),
  kernel: {
    solution(g) {
      g.F(0, 1, `-select(${g.p('Rmax')}, ${g.p('Rmin')}, ${g.ya(2)} < ${g.ya(0)})`);
    },
  },
};
