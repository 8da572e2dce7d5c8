import type { DaeSystem } from '../system.js';
import { Block, scalar, type AssemblyContext, type BlockDefinition, type KernelScope } from './block.js';
import { ClosedLoopHeart } from './closed-loop-heart.js';

const PARAMS = ['Ra', 'Ram', 'Rv', 'Ca', 'Cim'].map((n) => scalar(n));

/**
 * ClosedLoopCoronaryLeft/Right (svZeroDSolver `src/model/ClosedLoopCoronaryBC.h`), internal `volume_im`;
 * the intramyocardial pressure is im * P_LV (left, im = iml) or im * P_RV (right, im = imr) of the heart:
 * -Ram Ca dP_in + Ram Ra Ca dQ_in - P_in + (Ra + Ram) Q_in + P_out + Rv Q_out = 0;
 * -Ca dP_in + Ca Ra dQ_in - dV + Q_in - Q_out = 0;  Cim P_out + Cim Rv Q_out - V - Cim Pim = 0.
 */
export class ClosedLoopCoronaryBC extends Block {
  override joinsHeart = true;
  /** Unknown id of the ventricular pressure and parameter id of im, set once the heart exists. */
  ventricleDof = -1;
  imParam = -1;
  override internals(): string[] {
    return ['volume_im'];
  }
  numEquations(): number {
    return 3;
  }
  protected entries(): Array<[number, number]> {
    return [[0, 0], [0, 1], [0, 2], [0, 3], [1, 0], [1, 1], [1, 4], [1, 3], [2, 2], [2, 3], [2, 4]];
  }
  override constant(sys: DaeSystem, c: AssemblyContext): void {
    const ra = this.par(c, 'Ra');
    const ram = this.par(c, 'Ram');
    const rv = this.par(c, 'Rv');
    const ca = this.par(c, 'Ca');
    const cim = this.par(c, 'Cim');
    const s = this.s;
    sys.E[s[0]!] = -ram * ca;
    sys.E[s[1]!] = ram * ra * ca;
    sys.E[s[4]!] = -ca;
    sys.E[s[5]!] = ca * ra;
    sys.E[s[6]!] = -1;
    sys.F[s[0]!] = -1;
    sys.F[s[1]!] = ra + ram;
    sys.F[s[2]!] = 1;
    sys.F[s[3]!] = rv;
    sys.F[s[5]!] = 1;
    sys.F[s[7]!] = -1;
    sys.F[s[8]!] = cim;
    sys.F[s[9]!] = cim * rv;
    sys.F[s[10]!] = -1;
  }
  override link(blocks: readonly Block[]): string | undefined {
    const heart = blocks.find((b): b is ClosedLoopHeart => b instanceof ClosedLoopHeart);
    if (!heart) return `${this.type} '${this.name}' needs a ClosedLoopHeartAndPulmonary block`;
    const left = this.type === 'ClosedLoopCoronaryLeft';
    this.ventricleDof = heart.v[left ? 13 : 6]!;
    this.imParam = heart.pid[left ? 'iml' : 'imr']!;
    return undefined;
  }
  override solution(sys: DaeSystem, c: AssemblyContext, y: Float64Array): void {
    sys.C[this.e[2]!] = -this.par(c, 'Cim') * c.p[this.imParam]! * y[this.ventricleDof]!;
  }
}

function coronaryKernel(g: KernelScope, b: Block): void {
  const cor = b as ClosedLoopCoronaryBC;
  g.C(2, `-${g.p('Cim')} * ${g.pid(cor.imParam)} * ${g.yAt(cor.ventricleDof)}`);
}

function definition(type: 'ClosedLoopCoronaryLeft' | 'ClosedLoopCoronaryRight'): BlockDefinition {
  return {
    type,
    sections: ['boundary_conditions'],
    read: (r, name, values, path) => new ClosedLoopCoronaryBC(name, type, 'closed_loop', r.params(type, name, PARAMS, values, path)),
    kernel: { solution: coronaryKernel },
  };
}

export const closedLoopCoronaryLeft = definition('ClosedLoopCoronaryLeft');
export const closedLoopCoronaryRight = definition('ClosedLoopCoronaryRight');
