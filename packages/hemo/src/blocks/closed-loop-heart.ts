import { fourierElastance, wrappingCosine } from '../activation.js';
import type { DaeSystem } from '../system.js';
import { Block, scalar, type AssemblyContext, type BlockDefinition } from './block.js';

const f = (x: number): string => {
  const s = String(x);
  return /[.eE]/.test(s) ? s : `${s}.0`;
};

const PARAMS = [
  'Tsa', 'tpwave', 'Erv_s', 'Elv_s', 'iml', 'imr', 'Lra_v', 'Rra_v', 'Lrv_a', 'Rrv_a', 'Lla_v', 'Rla_v', 'Llv_a', 'Rlv_ao',
  'Vrv_u', 'Vlv_u', 'Rpd', 'Cp', 'Cpa', 'Kxp_ra', 'Kxv_ra', 'Kxp_la', 'Kxv_la', 'Emax_ra', 'Emax_la', 'Vaso_ra', 'Vaso_la',
].map((n) => scalar(n));

/** Internal variable names of the heart block, in unknown order after (P_in, Q_in, P_out, Q_out). */
export const HEART_INTERNALS = ['V_RA', 'Q_RA', 'P_RV', 'V_RV', 'Q_RV', 'P_pul', 'P_LA', 'V_LA', 'Q_LA', 'P_LV', 'V_LV', 'Q_LV'] as const;

/**
 * ClosedLoopHeartAndPulmonary: four-chamber heart with pulmonary RC (Sankaran 2012, Menon 2023;
 * svZeroDSolver `src/model/ClosedLoopHeartPulmonary.h`). Unknowns: P_RA = P_in, Q_in, P_out (aorta),
 * Q_out, then {@link HEART_INTERNALS}. Atria: P = A(t) Emax (V - Vaso) + (1 - A) Kxp (exp(Kxv (V - Vaso)) - 1);
 * ventricles: P = E(t)(V - Vu) with the Fourier elastance; valves are ideal diodes (0/1 switches on the
 * outflows, forced to zero flow after each Newton update while closed).
 */
export class ClosedLoopHeart extends Block {
  private AA = 0;
  private Elv = 0;
  private Erv = 0;
  private readonly valves = new Float64Array(16);
  override internals(): string[] {
    return [...HEART_INTERNALS];
  }
  numEquations(): number {
    return 14;
  }
  protected entries(): Array<[number, number]> {
    return [
      [0, 0], [1, 2], [1, 3], [2, 4], [2, 1], [3, 5], [3, 0], [3, 6], [4, 6], [5, 7], [6, 8], [6, 6], [6, 9], // 0-12
      [7, 9], [7, 10], [8, 10], [9, 11], [10, 12], [10, 10], [10, 13], [11, 13], [12, 14], [13, 2], [13, 13], [13, 15], // 13-24
      [0, 4], [4, 7], [8, 11], [11, 14], // 25-28 time-dependent F
      [1, 15], [7, 8], [2, 5], [5, 5], [5, 8], [9, 8], [9, 12], [12, 12], [12, 15], // 29-37 valve switches
    ];
  }
  override constant(sys: DaeSystem, c: AssemblyContext): void {
    const s = this.s;
    const F = sys.F;
    const E = sys.E;
    F[s[0]!] = 1;
    E[s[1]!] = this.par(c, 'Cpa');
    F[s[2]!] = 1;
    E[s[3]!] = 1;
    F[s[4]!] = -1;
    E[s[5]!] = this.par(c, 'Lra_v');
    F[s[6]!] = -1;
    F[s[7]!] = 1;
    F[s[8]!] = 1;
    E[s[9]!] = 1;
    E[s[10]!] = this.par(c, 'Lrv_a');
    F[s[11]!] = -1;
    F[s[12]!] = 1;
    const Rpd = this.par(c, 'Rpd');
    E[s[13]!] = this.par(c, 'Cp');
    F[s[13]!] = 1 / Rpd;
    F[s[14]!] = -1 / Rpd;
    F[s[15]!] = 1;
    E[s[16]!] = 1;
    E[s[17]!] = this.par(c, 'Lla_v');
    F[s[18]!] = -1;
    F[s[19]!] = 1;
    F[s[20]!] = 1;
    E[s[21]!] = 1;
    F[s[22]!] = 1;
    F[s[23]!] = -1;
    E[s[24]!] = this.par(c, 'Llv_a');
  }
  override time(sys: DaeSystem, c: AssemblyContext): void {
    const T = c.period;
    const tc = c.time % T;
    this.AA = wrappingCosine(tc, T, this.par(c, 'Tsa'), this.par(c, 'tpwave'));
    const e = fourierElastance(tc, T);
    this.Elv = e * this.par(c, 'Elv_s');
    this.Erv = e * this.par(c, 'Erv_s');
    const s = this.s;
    sys.F[s[25]!] = -this.AA * this.par(c, 'Emax_ra');
    sys.F[s[26]!] = -this.Erv;
    sys.C[this.e[4]!] = this.Erv * this.par(c, 'Vrv_u');
    sys.F[s[27]!] = -this.AA * this.par(c, 'Emax_la');
    sys.F[s[28]!] = -this.Elv;
    sys.C[this.e[11]!] = this.Elv * this.par(c, 'Vlv_u');
  }
  override solution(sys: DaeSystem, c: AssemblyContext, y: Float64Array): void {
    const v = this.v;
    const AA = this.AA;
    const vra = y[v[4]!]!;
    const vla = y[v[11]!]!;
    const kxpRa = this.par(c, 'Kxp_ra');
    const kxvRa = this.par(c, 'Kxv_ra');
    const vasoRa = this.par(c, 'Vaso_ra');
    const kxpLa = this.par(c, 'Kxp_la');
    const kxvLa = this.par(c, 'Kxv_la');
    const vasoLa = this.par(c, 'Vaso_la');
    const exRa = Math.exp((vra - vasoRa) * kxvRa);
    const exLa = Math.exp((vla - vasoLa) * kxvLa);
    const psiRa = kxpRa * (exRa - 1);
    const psiLa = kxpLa * (exLa - 1);
    const val = this.valves;
    val.fill(1);
    // An ideal valve is closed when the downstream pressure is not lower and the flow is not positive.
    if (y[v[0]!]! <= y[v[6]!]! && y[v[5]!]! <= 0) val[5] = 0;
    if (y[v[6]!]! <= y[v[9]!]! && y[v[8]!]! <= 0) val[8] = 0;
    if (y[v[10]!]! <= y[v[13]!]! && y[v[12]!]! <= 0) val[12] = 0;
    if (y[v[13]!]! <= y[v[2]!]! && y[v[15]!]! <= 0) val[15] = 0;
    const s = this.s;
    const e = this.e;
    sys.C[e[0]!] = AA * this.par(c, 'Emax_ra') * vasoRa + psiRa * (AA - 1);
    sys.dCdy[s[25]!] = kxpRa * exRa * kxvRa * (AA - 1);
    sys.C[e[8]!] = AA * this.par(c, 'Emax_la') * vasoLa + psiLa * (AA - 1);
    sys.dCdy[s[27]!] = kxpLa * exLa * kxvLa * (AA - 1);
    const F = sys.F;
    F[s[29]!] = -val[15]!;
    F[s[30]!] = -val[8]!;
    F[s[31]!] = val[5]!;
    F[s[32]!] = -val[5]!;
    F[s[33]!] = val[8]!;
    F[s[34]!] = -val[8]!;
    F[s[35]!] = val[12]!;
    F[s[36]!] = -val[12]!;
    F[s[37]!] = val[15]!;
    F[s[5]!] = this.par(c, 'Rra_v') * val[5]!;
    F[s[10]!] = this.par(c, 'Rrv_a') * val[8]!;
    F[s[17]!] = this.par(c, 'Rla_v') * val[12]!;
    F[s[24]!] = this.par(c, 'Rlv_ao') * val[15]!;
  }
  override postSolve(y: Float64Array): void {
    for (let i = 0; i < 16; i++) if (this.valves[i]! < 0.5) y[this.v[i]!] = 0;
  }
}

/**
 * The heart of `closed_loop_blocks` (named `CLH`, as upstream names it); the section reader adds its inlet and
 * outlet junctions. Its kernel needs double-float (see `needsDoubleFloat`).
 */
export const closedLoopHeart: BlockDefinition = {
  type: 'ClosedLoopHeartAndPulmonary',
  sections: ['closed_loop_blocks'],
  read: (r, name, values, path) => new ClosedLoopHeart(name, 'ClosedLoopHeartAndPulmonary', 'closed_loop', r.params('ClosedLoopHeartAndPulmonary', name, PARAMS, values, path)),
  kernel: {
    needsDoubleFloat:
      'its ideal valves reopen at the step decided by the sign of a closed valve\'s leftover flow (about 1e-6 mL/s, the last Newton increment, see converged()), which f32 rounding cannot resolve',
    time(g) {
      const AA = g.let('AA', `wrapping_cosine(${g.tc()}, P.period, ${g.p('Tsa')}, ${g.p('tpwave')})`);
      const T = g.period;
      const e = g.drive('fourier-elastance', (t) => fourierElastance(t % T, T));
      const Elv = g.let('Elv', `${e} * ${g.p('Elv_s')}`);
      const Erv = g.let('Erv', `${e} * ${g.p('Erv_s')}`);
      g.F(0, 4, `-${AA} * ${g.p('Emax_ra')}`);
      g.F(4, 7, `-${Erv}`);
      g.C(4, `${Erv} * ${g.p('Vrv_u')}`);
      g.F(8, 11, `-${AA} * ${g.p('Emax_la')}`);
      g.F(11, 14, `-${Elv}`);
      g.C(11, `${Elv} * ${g.p('Vlv_u')}`);
    },
    solution(g) {
      const AA = g.scopeName('AA');
      const atrium = (vol: number, side: 'ra' | 'la', eq: number): void => {
        const kxp = g.p(`Kxp_${side}`);
        const kxv = g.p(`Kxv_${side}`);
        const vaso = g.p(`Vaso_${side}`);
        const ex = g.let(`ex_${side}`, `exp((${g.ya(vol)} - ${vaso}) * ${kxv})`);
        // exp(...) - 1 cancels near V = Vaso: it rounds at the scale of Kxp exp(...).
        g.C(eq, `${AA} * ${g.p(`Emax_${side}`)} * ${vaso} + ${kxp} * (${ex} - 1.0) * (${AA} - 1.0)`, `abs(${AA} * ${g.p(`Emax_${side}`)} * ${vaso}) + abs(${kxp} * (${ex} + 1.0) * (${AA} - 1.0))`);
        g.Dy(eq, vol, `${kxp} * ${ex} * ${kxv} * (${AA} - 1.0)`);
      };
      atrium(4, 'ra', 0);
      atrium(11, 'la', 8);
      // Ideal valves: closed when the downstream pressure is not lower and the flow is not positive.
      const valve = (flow: number, up: number, down: number): string =>
        g.let(`val${flow}`, `select(1.0, 0.0, (${g.ya(up)} <= ${g.ya(down)}) & (${g.ya(flow)} <= 0.0))`);
      const v5 = valve(5, 0, 6);
      const v8 = valve(8, 6, 9);
      const v12 = valve(12, 10, 13);
      const v15 = valve(15, 13, 2);
      g.F(1, 15, `-${v15}`);
      g.F(7, 8, `-${v8}`);
      g.F(2, 5, v5);
      g.F(5, 5, `-${v5}`);
      g.F(5, 8, v8);
      g.F(9, 8, `-${v8}`);
      g.F(9, 12, v12);
      g.F(12, 12, `-${v12}`);
      g.F(12, 15, v15);
      g.F(3, 5, `${g.p('Rra_v')} * ${v5}`);
      g.F(6, 8, `${g.p('Rrv_a')} * ${v8}`);
      g.F(10, 12, `${g.p('Rla_v')} * ${v12}`);
      g.F(13, 15, `${g.p('Rlv_ao')} * ${v15}`);
    },
    postSolve(g) {
      // A closed valve's flow is reset before the Newton update, as the CPU block's postSolve does.
      for (const j of [5, 8, 12, 15]) g.assign(g.y(j), `select(${g.y(j)}, 0.0, ${g.scopeName(`val${j}`)} < 0.5)`);
    },
    marginal(g) {
      // A closed valve's leftover flow (gamma dt times the last Newton increment) decides whether it reopens
      // at the next step; its rounding is about u yc (|L dQ/dt| + |P_up| + |P_down|) / (alpha_m L) (the
      // closed valve's row, L dQ/dt = P_up - P_down, solved for the increment). Where the leftover is within
      // 3 times that, the kernel cannot tell its sign as the f64 solver does (seen: 2 % of 1e3 variants of
      // closedLoopHeart_singleVessel in double-float, the leftover at 0.9 times the estimate, typical 8 times;
      // in f64 the solver's own two runs in different rounding order disagreed where it was 1e-2 to 1e-3
      // times it). Such a variant is handed to the full f64 solver.
      const inductance = { 5: 'Lra_v', 8: 'Lrv_a', 12: 'Lla_v', 15: 'Llv_a' } as const;
      for (const [j, up, down] of [[5, 0, 6], [8, 6, 9], [12, 10, 13], [15, 13, 2]] as const) {
        const L = g.p(inductance[j]);
        const noise = g.let(`leftover_rounding${j}`, `${f(2 * g.roundoff)} * yc * (abs(${L} * ${g.yda(j)}) + abs(${g.ya(up)}) + abs(${g.ya(down)})) / (P.alphaM * ${L})`);
        g.marginal(`(${g.scopeName(`val${j}`)} < 0.5) & (abs(${g.y(j)}) < ${noise})`);
      }
    },
    converged(g) {
      // After the last update a closed valve's flow is gamma dt times the last Newton increment: it enters
      // no equation (its coefficients are the zero valve switches) and tends to 0 as Newton converges
      // (about 1e-6 mL/s in f64 at absolute_tolerance 1e-8). In f32 that increment is rounding noise, and a
      // positive one opens the valve at the next step whatever the pressures (seen: a valve held open
      // against the gradient, -7e3 mL/s of backflow). The f32 kernel takes the limit, 0; its summaries then
      // differ from the f64 ones by a few 1e-3. The double-float kernel keeps the leftover, as the f64 solver.
      for (const j of [5, 8, 12, 15]) g.assign(g.y(j), `select(${g.y(j)}, 0.0, ${g.scopeName(`val${j}`)} < 0.5)`);
    },
  },
};
