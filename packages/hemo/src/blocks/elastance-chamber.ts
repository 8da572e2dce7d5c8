import { ACTIVATION_PARAMS, Activation, type ActivationType } from '../activation.js';
import { invalid, num, obj, str } from '../config-read.js';
import type { DaeSystem } from '../system.js';
import { Block, scalar, type AssemblyContext, type BlockDefinition, type BlockReader, type KernelScope, type ParamSpec, type SectionEntry } from './block.js';

type ChamberType = 'ChamberElastanceInductor' | 'ChamberElastanceInductorExponential' | 'LinearElastanceChamber';

/**
 * Chambers with an elastance E(t), an outflow inductance and volume Vc (internal `Vc`):
 * - ChamberElastanceInductor (`src/model/ChamberElastanceInductor.h`): P_in - E(t)(Vc - Vrest(t)) = 0,
 *   E = (Emax - Emin) a + Emin, Vrest = (1 - a)(Vrd - Vrs) + Vrs;
 * - ChamberElastanceInductorExponential (`ChamberElastanceInductorExponential.h`):
 *   P_in = a Emax (Vc - Vaso) + (1 - a) Kxp (exp(Kxv (Vc - Vaso)) - 1);
 * both with P_in - P_out - L dQ_out = 0 and Q_in - Q_out - dVc = 0;
 * - LinearElastanceChamber (`LinearElastanceChamber.h`): P_in - (Epass + Emax a)(Vc - Vrest) = 0,
 *   P_in - P_out = 0, Q_in - Q_out - dVc = 0 (listed in vessel-based output, as upstream's csv_writer does).
 */
export class ElastanceChamber extends Block {
  override readonly isVessel: boolean;
  private act = 0;
  constructor(
    name: string,
    type: ChamberType,
    pid: Readonly<Record<string, number>>,
    readonly activation: Activation,
  ) {
    super(name, type, 'chamber', pid);
    this.isVessel = type === 'LinearElastanceChamber';
  }
  override internals(): string[] {
    return ['Vc'];
  }
  numEquations(): number {
    return 3;
  }
  protected entries(): Array<[number, number]> {
    return [[0, 0], [0, 4], [1, 0], [1, 2], [1, 3], [2, 1], [2, 3], [2, 4]];
  }
  override constant(sys: DaeSystem, c: AssemblyContext): void {
    const s = this.s;
    sys.F[s[0]!] = 1;
    sys.F[s[2]!] = 1;
    sys.F[s[3]!] = -1;
    sys.E[s[4]!] = this.type === 'LinearElastanceChamber' ? 0 : -this.par(c, 'Impedance');
    sys.F[s[5]!] = 1;
    sys.F[s[6]!] = -1;
    sys.E[s[7]!] = -1;
  }
  override time(sys: DaeSystem, c: AssemblyContext): void {
    const a = this.activation.compute(c.time);
    this.act = a;
    let E: number;
    let Cterm: number;
    if (this.type === 'ChamberElastanceInductor') {
      const Emax = this.par(c, 'Emax');
      const Emin = this.par(c, 'Emin');
      const Vrd = this.par(c, 'Vrd');
      const Vrs = this.par(c, 'Vrs');
      E = (Emax - Emin) * a + Emin;
      Cterm = E * ((1 - a) * (Vrd - Vrs) + Vrs);
    } else if (this.type === 'LinearElastanceChamber') {
      E = this.par(c, 'Epass') + this.par(c, 'Emax') * a;
      Cterm = E * this.par(c, 'Vrest');
    } else {
      E = a * this.par(c, 'Emax');
      Cterm = Number.NaN; // set in solution()
    }
    sys.F[this.s[1]!] = -E;
    if (!Number.isNaN(Cterm)) sys.C[this.e[0]!] = Cterm;
  }
  override solution(sys: DaeSystem, c: AssemblyContext, y: Float64Array): void {
    if (this.type !== 'ChamberElastanceInductorExponential') return;
    const Kxp = this.par(c, 'Kxp');
    const Kxv = this.par(c, 'Kxv');
    const Vaso = this.par(c, 'Vaso');
    const ex = Math.exp(Kxv * (y[this.v[4]!]! - Vaso));
    const psi = Kxp * (ex - 1);
    sys.C[this.e[0]!] = this.act * this.par(c, 'Emax') * Vaso + psi * (this.act - 1);
    sys.dCdy[this.s[1]!] = Kxp * Kxv * ex * (this.act - 1);
  }
}

/** Reads the chamber's activation: `activation_function`, or the older half-cosine times among the values. */
function readActivation(r: BlockReader, values: Record<string, unknown>, path: string, { entry, path: entryPath }: SectionEntry): Activation {
  if (entry.activation_function === undefined && values.t_active !== undefined) {
    return new Activation('half_cosine', { t_active: num(values.t_active, `${path}.t_active`), t_twitch: num(values.t_twitch, `${path}.t_twitch`) }, r.period(), path);
  }
  const ap = `${entryPath}.activation_function`;
  const af = obj(entry.activation_function, ap);
  const at = str(af.type, `${ap}.type`) as ActivationType;
  const names = Object.hasOwn(ACTIVATION_PARAMS, at) ? ACTIVATION_PARAMS[at] : undefined;
  if (!names) throw invalid(`unknown activation function '${at}' (known: ${Object.keys(ACTIVATION_PARAMS).join(', ')})`, `${ap}.type`);
  for (const k of Object.keys(af)) if (k !== 'type' && !k.startsWith('_') && !names.includes(k)) throw invalid(`unknown parameter '${k}' of ${at} activation`, `${ap}.${k}`);
  const values2: Record<string, number> = {};
  for (const k of names) {
    if (af[k] === undefined) throw invalid(`missing parameter '${k}' of ${at} activation`, `${ap}.${k}`);
    values2[k] = num(af[k], `${ap}.${k}`);
  }
  return new Activation(at, values2, r.period(), ap);
}

function chamber(type: ChamberType, params: readonly ParamSpec[], kernel: BlockDefinition['kernel']): BlockDefinition {
  return {
    type,
    sections: ['chambers'],
    read: (r, name, values, path, entry) => {
      const legacy = entry.entry.activation_function === undefined && values.t_active !== undefined;
      const ids = r.params(type, name, params, values, path, legacy ? ['t_active', 't_twitch'] : []);
      return new ElastanceChamber(name, type, ids, readActivation(r, values, path, entry));
    },
    ...(kernel ? { kernel } : {}),
  };
}

/** The chamber's activation at the evaluation time: shared by all variants (its parameters are not block parameters). */
function activationKernel(g: KernelScope, b: Block): string {
  const act = (b as ElastanceChamber).activation;
  return g.let('act', g.drive(`activation:${b.name}`, (t) => act.compute(t)));
}

export const chamberElastanceInductor = chamber('ChamberElastanceInductor', ['Emax', 'Emin', 'Vrd', 'Vrs', 'Impedance'].map((n) => scalar(n)), {
  time(g, b) {
    const a = activationKernel(g, b);
    const E = g.let('E', `(${g.p('Emax')} - ${g.p('Emin')}) * ${a} + ${g.p('Emin')}`);
    g.F(0, 4, `-${E}`);
    g.C(0, `${E} * ((1.0 - ${a}) * (${g.p('Vrd')} - ${g.p('Vrs')}) + ${g.p('Vrs')})`);
  },
});

export const linearElastanceChamber = chamber('LinearElastanceChamber', ['Emax', 'Epass', 'Vrest'].map((n) => scalar(n)), {
  time(g, b) {
    const E = g.let('E', `${g.p('Epass')} + ${g.p('Emax')} * ${activationKernel(g, b)}`);
    g.F(0, 4, `-${E}`);
    g.C(0, `${E} * ${g.p('Vrest')}`);
  },
});

export const chamberElastanceInductorExponential = chamber('ChamberElastanceInductorExponential', ['Impedance', 'Emax', 'Kxp', 'Kxv', 'Vaso'].map((n) => scalar(n)), {
  time(g, b) {
    g.F(0, 4, `-${activationKernel(g, b)} * ${g.p('Emax')}`);
  },
  solution(g) {
    const a = g.scopeName('act');
    const kxp = g.p('Kxp');
    const vaso = g.p('Vaso');
    const ex = g.let('ex', `exp(${g.p('Kxv')} * (${g.ya(4)} - ${vaso}))`);
    // exp(...) - 1 cancels near Vc = Vaso: it rounds at the scale of Kxp exp(...).
    g.C(0, `${a} * ${g.p('Emax')} * ${vaso} + ${kxp} * (${ex} - 1.0) * (${a} - 1.0)`, `abs(${a} * ${g.p('Emax')} * ${vaso}) + abs(${kxp} * (${ex} + 1.0) * (${a} - 1.0))`);
    g.Dy(0, 4, `${kxp} * ${g.p('Kxv')} * ${ex} * (${a} - 1.0)`);
  },
});
