import { PhysiotwinError } from '@physiotwin/core';
import type { Block, KernelScope } from './blocks/block.js';
import { BLOCK_DEFINITIONS, blockDefinition } from './blocks/index.js';
import { rewriteExpression } from './ensemble-general.rewrite.js';
import { doubleFloatWgsl, generalEnsembleWgsl } from './generated/shaders.js';
import type { Model } from './model.js';
import type { DaeSystem } from './system.js';

/**
 * Code generation for the general ensemble kernels: WGSL for WebGPU (skeleton:
 * shaders/hemo/general-ensemble.wgsl) and JavaScript for the CPU (skeleton: {@link GENERAL_ENSEMBLE_JS}).
 * Each supported block type has a generator beside its class in `blocks/` that writes its time- and
 * solution-dependent terms, the same equations as the class, as f32 WGSL on scalars; the
 * terms that depend on parameters only (`Block.constant`) are evaluated on the host in f64 by the blocks
 * themselves and passed per variant. Unknowns, matrix entries and LU steps are unrolled. Double-float and
 * JavaScript kernels get the same expressions rewritten (ensemble-general.rewrite.ts).
 */

/** A shared time-dependent value, evaluated on the host in f64 at t_n + alpha_f dt of every step. */
export interface DriveColumn {
  key: string;
  /** Value at evaluation time `t` (s); parameters are in the phase's steady mode when this is called. */
  value(t: number): number;
}

/** What the generators need to know about the model's parameters. */
export interface ParamPlan {
  /** True when the parameter is a time series shared by all variants (it then travels in the drive table). */
  isSharedSeries(id: number): boolean;
  /** True when the parameter is the constant 0 for every variant (terms it multiplies can be left out). */
  isZero(id: number): boolean;
  /** Host value of a shared series at time t. */
  series(id: number, t: number): number;
}

/**
 * Arithmetic of a generated kernel: WGSL in f32 or in double-float pairs of f32 (about 2^-48 relative,
 * shaders/hemo/double-float.wgsl), or JavaScript in f64 (the CPU kernel).
 */
export type KernelPrecision = 'f32' | 'df' | 'f64';

const f = (x: number): string => {
  const s = String(x);
  return /[.eE]/.test(s) ? s : `${s}.0`;
};

/**
 * Skeleton of the JavaScript (f64) general ensemble kernel: the WGSL skeleton's loops
 * (shaders/hemo/general-ensemble.wgsl) with one loop over the variants `P.v0` to `P.v1` - 1 in place of the invocations.
 * ensemble-general.codegen.ts fills the `// @insert` lines with the same generated code, rewritten for
 * JavaScript; the body becomes `function (P, vpar, cst, drive, state, stats, status, wrappingCosine)`.
 */
export const GENERAL_ENSEMBLE_JS = `
for (let v = P.v0; v < P.v1; v++) {
  if (status[v * 4] !== 0) continue;
  const c0 = P.c0;
  const yc = P.yc;
  const jy = P.jy;
  // @insert load
  if (P.steady === 0 && P.firstStep === 1 && P.statsFrom === 0) {
    // @insert stats
  }
  let code = 0;
  let fstep = 0;
  let frow = 0;
  let fres = 0;
  for (let i = 0; i < P.steps; i++) {
    const k = P.stepOffset + i;
    // @insert time
    // @insert predictor
    for (let it = 0; it < P.maxIter; it++) {
      // @insert newton
    }
    if (code !== 0) {
      fstep = k;
      break;
    }
    if (P.steady === 0 && P.firstStep + i >= P.statsFrom) {
      // @insert stats
    }
  }
  if (code !== 0) {
    status[v * 4] = code;
    status[v * 4 + 1] = fstep;
    status[v * 4 + 2] = frow;
    status[v * 4 + 3] = fres;
    continue;
  }
  // @insert store
}
`;


/** Block types the generated ensemble kernels (WebGPU, and the CPU's f64 JavaScript) support. */
export const GENERAL_GPU_BLOCK_TYPES: readonly string[] = BLOCK_DEFINITIONS.filter((d) => d.kernel).map((d) => d.type);

/**
 * Why a model needs a double-float kernel to match the f64 solver within 1e-3 (the first block that says
 * so), or undefined when f32 suffices.
 */
export function doubleFloatReason(model: Model): string | undefined {
  for (const b of model.blocks) {
    const why = blockDefinition(b.type)?.kernel?.needsDoubleFloat;
    if (why) return `${b.type} '${b.name}': ${why}`;
  }
  return undefined;
}

/** Unit roundoff of each kernel precision: f32 2^-24; double-float 2^-48 (hi + lo carry 48 bits); f64 2^-53. */
const UNIT_ROUNDOFF: Record<KernelPrecision, number> = { f32: 2 ** -24, df: 2 ** -48, f64: 2 ** -53 };

/** Kernel values that are not reals (every other identifier the generated expressions use is). */
const U32_NAMES = new Set(['it', 'worst', 'P.n', 'P.v0', 'P.v1', 'P.steps', 'P.stepOffset', 'P.firstStep', 'P.statsFrom', 'P.steady', 'P.maxIter', 'P.opaque']);
const BOOL_NAMES = new Set(['conv', 'fin', 'pok']);
const kindOf = (name: string): 'u32' | 'bool' | undefined => (U32_NAMES.has(name) ? 'u32' : BOOL_NAMES.has(name) ? 'bool' : undefined);

/**
 * Builds the kernel of one model. `new KernelBuilder(...)` runs the block generators (which fixes the
 * parameters and shared drive values the kernel reads and the matrix entries it writes); {@link pattern}
 * gives the entries of the Newton matrix that can be non-zero; {@link assemble} writes the WGSL for a
 * pivot order.
 */
export class KernelBuilder {
  /** Model parameter ids of the per-variant parameter columns, in column order. */
  readonly variantParams: number[] = [];
  /** Shared time-dependent values (one column each per step). */
  readonly drive: DriveColumn[] = [];
  private readonly vparCol = new Map<number, number>();
  private readonly driveCol = new Map<string, number>();
  private readonly time: string[] = [];
  private readonly solution: string[] = [];
  private readonly post: string[] = [];
  private readonly conv: string[] = [];
  /** Lines of the marginal-decision test and the conditions they flag (exact-loop kernels). */
  private readonly marginalLines: string[] = [];
  private readonly marginalConds: string[] = [];
  /** Equations whose C entry has its own rounding scale (`Cs<row>`). */
  private readonly cScaled = new Set<number>();
  /** Slots (or equation rows for C) written by time- or solution-dependent code. */
  private readonly written = { E: new Set<number>(), F: new Set<number>(), Dy: new Set<number>(), Dd: new Set<number>(), C: new Set<number>() };
  private readonly slotIndex = new Map<number, number>();
  private readonly n: number;
  /** A real-valued expression, written in f32 WGSL, in this kernel's arithmetic. */
  private readonly rx: (expr: string) => string;

  constructor(
    private readonly model: Model,
    private readonly sys: DaeSystem,
    private readonly plan: ParamPlan,
    readonly precision: KernelPrecision = 'f32',
  ) {
    this.n = model.dofNames.length;
    this.rx = precision === 'f32' ? (e) => e : (e) => rewriteExpression(e, precision === 'df' ? 'df' : 'js', kindOf);
    sys.rows.forEach((r, s) => this.slotIndex.set(r * this.n + sys.cols[s]!, s));
    model.blocks.forEach((b, bi) => {
      const gen = blockDefinition(b.type)?.kernel;
      if (!gen) throw unsupported(b);
      if (gen.time) gen.time(this.scope(b, bi, this.time), b);
      if (gen.solution) gen.solution(this.scope(b, bi, this.solution), b);
      if (gen.postSolve) gen.postSolve(this.scope(b, bi, this.post), b);
      if (gen.converged && precision === 'f32') gen.converged(this.scope(b, bi, this.conv), b);
      if (gen.marginal && precision !== 'f32') gen.marginal(this.scope(b, bi, this.marginalLines), b);
    });
  }

  private param(id: number): string {
    if (this.plan.isSharedSeries(id)) return this.driveValue(`param${id}`, (t) => this.plan.series(id, t));
    let c = this.vparCol.get(id);
    if (c === undefined) {
      c = this.variantParams.length;
      this.variantParams.push(id);
      this.vparCol.set(id, c);
    }
    return `pv${c}`;
  }

  private driveValue(key: string, value: (t: number) => number): string {
    let c = this.driveCol.get(key);
    if (c === undefined) {
      c = this.drive.length;
      this.drive.push({ key, value });
      this.driveCol.set(key, c);
    }
    return `dv${c}`;
  }

  private slot(b: Block, i: number, j: number): number {
    const s = this.slotIndex.get(b.e[i]! * this.n + b.v[j]!);
    if (s === undefined) throw new Error(`internal: ${b.type} '${b.name}' writes entry (${i}, ${j}), which its class does not register`);
    return s;
  }

  private scope(b: Block, bi: number, out: string[]): KernelScope {
    const prefix = `b${bi}_`;
    const set = (kind: 'E' | 'F' | 'Dy' | 'Dd', i: number, j: number, expr: string): void => {
      const s = this.slot(b, i, j);
      if (this.written[kind].has(s)) throw new Error(`internal: ${kind} entry ${s} is written twice`);
      this.written[kind].add(s);
      out.push(`let ${kind}${s} = ${this.rx(expr)};`);
    };
    const pidOf = (name: string): number => {
      const id = b.pid[name];
      if (id === undefined) throw new Error(`internal: ${b.type} has no parameter ${name}`);
      return id;
    };
    return {
      p: (name) => this.param(pidOf(name)),
      pid: (id) => this.param(id),
      zero: (name) => this.plan.isZero(pidOf(name)),
      ya: (j) => `ya${b.v[j]!}`,
      yda: (j) => `yda${b.v[j]!}`,
      yAt: (dof) => `ya${dof}`,
      y: (j) => `y${b.v[j]!}`,
      assign: (target, expr) => out.push(`${target} = ${this.rx(expr)};`),
      tc: () => this.driveValue('cycle-time', (t) => t % this.model.period),
      drive: (key, value) => this.driveValue(key, value),
      let: (name, expr) => {
        out.push(`let ${prefix}${name} = ${this.rx(expr)};`);
        return `${prefix}${name}`;
      },
      scopeName: (name) => `${prefix}${name}`,
      period: this.model.period,
      E: (i, j, e) => set('E', i, j, e),
      F: (i, j, e) => set('F', i, j, e),
      Dy: (i, j, e) => set('Dy', i, j, e),
      Dd: (i, j, e) => set('Dd', i, j, e),
      C: (i, expr, scale) => {
        const r = b.e[i]!;
        if (this.written.C.has(r)) throw new Error(`internal: C entry ${r} is written twice`);
        this.written.C.add(r);
        out.push(`let C${r} = ${this.rx(expr)};`);
        // The rounding scale serves the f32 convergence test only (double-float kernels test as the CPU).
        if (scale !== undefined && this.precision === 'f32') {
          out.push(`let Cs${r} = ${scale};`);
          this.cScaled.add(r);
        }
      },
      steady: '(P.steady == 1u)',
      roundoff: UNIT_ROUNDOFF[this.precision],
      marginal: (cond) => this.marginalConds.push(`(${cond})`),
    };
  }

  /**
   * Slots of the Newton matrix that can be non-zero: those with a constant E or F entry (`constE`,
   * `constF`: non-zero for some variant in some phase) or written by time- or solution-dependent code.
   */
  pattern(constE: ReadonlySet<number>, constF: ReadonlySet<number>): number[] {
    const w = this.written;
    return this.sys.rows.map((_, s) => s).filter((s) => constE.has(s) || constF.has(s) || w.E.has(s) || w.F.has(s) || w.Dy.has(s) || w.Dd.has(s));
  }

  /**
   * The WGSL of the kernel.
   * @param cstSlots the constant entries uploaded per variant, in column order: [array, slot]
   * @param perm static pivot order: perm[k] is the row that eliminates column k
   * @param outputs unknowns whose sum/min/max are accumulated; @param splits flow unknowns whose sums are
   */
  assemble(cstSlots: ReadonlyArray<readonly ['E' | 'F', number]>, perm: readonly number[], outputs: readonly number[], splits: readonly number[]): string {
    const n = this.n;
    const { rows, cols } = this.sys;
    const w = this.written;
    const constE = new Set(cstSlots.filter((c) => c[0] === 'E').map((c) => c[1]));
    const constF = new Set(cstSlots.filter((c) => c[0] === 'F').map((c) => c[1]));
    const hasE = (s: number): boolean => constE.has(s) || w.E.has(s);
    const hasF = (s: number): boolean => constF.has(s) || w.F.has(s);
    const slots = this.pattern(constE, constF);
    const NP = this.variantParams.length;
    const ND = this.drive.length;
    const NC = cstSlots.length;
    const NS = 3 * outputs.length + splits.length;
    const rx = this.rx;
    const df = this.precision === 'df';
    // Double-float and f64 kernels run the CPU's Newton loop exactly (its convergence test, no forced update).
    const exact = this.precision !== 'f32';

    // WGSL: every binding used, so that the layout never loses one.
    const load: string[] = this.precision === 'f64' ? [] : ['_ = vpar[0]; _ = cst[0]; _ = drive[0]; _ = stats[0];'];
    for (let c = 0; c < NP; c++) load.push(`let pv${c} = vpar[v * ${NP}u + ${c}u];`);
    load.push(`let cb = (P.steady * P.n + v) * ${NC}u;`);
    // A constant entry that time- or solution-dependent code also writes is overwritten before every use.
    cstSlots.forEach(([kind, s], c) => {
      if (!w[kind].has(s)) load.push(`let ${kind}${s} = cst[cb + ${c}u];`);
    });
    load.push(`let sb = v * ${2 * n}u;`);
    for (let d = 0; d < n; d++) load.push(`var y${d} = state[sb + ${d}u]; var yd${d} = state[sb + ${n + d}u];`);
    load.push(`let tb = v * ${NS}u;`);
    for (let j = 0; j < NS; j++) load.push(`var st${j} = stats[tb + ${j}u];`);

    const time: string[] = [];
    for (let c = 0; c < ND; c++) time.push(`let dv${c} = drive[k * ${ND}u + ${c}u];`);
    time.push(...this.time);
    const predictor: string[] = [];
    for (let d = 0; d < n; d++) predictor.push(`let yo${d} = y${d}; let ydo${d} = yd${d}; yd${d} = ${rx(`ydo${d} * c0`)};`);

    const newton: string[] = [];
    for (let d = 0; d < n; d++) newton.push(`let ya${d} = ${rx(`yo${d} + (y${d} - yo${d}) * P.alphaF`)}; let yda${d} = ${rx(`ydo${d} + (yd${d} - ydo${d}) * P.alphaM`)};`);
    newton.push(...this.solution);
    // Residual r = -(C + E ydot_am + F y_af) per equation, and the magnitude its f32 evaluation rounds at:
    // |C| + sum |E| (|ydot_n| + |ydot|) + |F| (|y_n| + |y|) (the interpolated y_af, ydot_am inherit the
    // rounding of their end points: a chamber's dV = 0 while both its valves are closed is computed from
    // ydot values of hundreds of mL/s).
    const terms: string[][] = Array.from({ length: n }, () => []);
    const scale: string[][] = Array.from({ length: n }, () => []);
    for (let s = 0; s < rows.length; s++) {
      const c = cols[s]!;
      if (hasE(s)) {
        terms[rows[s]!]!.push(`E${s} * yda${c}`);
        scale[rows[s]!]!.push(`abs(E${s}) * (abs(ydo${c}) + abs(yd${c}))`);
      }
      if (hasF(s)) {
        terms[rows[s]!]!.push(`F${s} * ya${c}`);
        scale[rows[s]!]!.push(`abs(F${s}) * (abs(yo${c}) + abs(y${c}))`);
      }
    }
    // worst: the equation furthest above its tolerance (ratio |r| / tol), reported on failure with its |r|.
    newton.push(`var conv = true; var fin = true; var worst = 0u; var maxRes = R();${exact ? '' : ' var worstRatio = R();'}`);
    for (let r = 0; r < n; r++) {
      const t = w.C.has(r) ? [`C${r}`, ...terms[r]!] : terms[r]!;
      const sc = w.C.has(r) ? [this.cScaled.has(r) ? `Cs${r}` : `abs(C${r})`, ...scale[r]!] : scale[r]!;
      if (t.length === 0) {
        t.push('0.0');
        sc.push('0.0');
      }
      newton.push(`let r${r} = ${rx(`-(${t.join(' + ')})`)};`);
      newton.push(`let ar${r} = ${rx(`abs(r${r})`)}; fin = ${rx(`fin & (ar${r} <= 3.0e38)`)};`);
      if (exact) {
        // Double-float and f64: the CPU's test, |r| < absolute_tolerance for every equation (double-float
        // rounding, about 2^-48 of the magnitudes, lies below 1e-8 for these models; where it does not,
        // Newton runs out of iterations and the variant is re-run by the full solver).
        newton.push(`conv = ${rx(`conv & (ar${r} < P.atol)`)}; worst = ${rx(`select(worst, ${r}u, ar${r} > maxRes)`)}; maxRes = ${rx(`max(maxRes, ar${r})`)};`);
      } else {
        // Convergence in f32: |r| below absolute_tolerance or below the rounding level of evaluating this
        // equation in f32, 4 (t + 2) 2^-24 times its magnitude (t terms, the interpolation and the stored
        // unknowns each add about 2^-24 relative; a factor 4 of margin): absolute_tolerance (1e-8) lies below
        // that level at the magnitudes of these models (pressures 1e0-1e5, flows 1e0-1e3).
        const rt = 4 * (t.length + 2) * UNIT_ROUNDOFF.f32;
        newton.push(`let tr${r} = max(P.atol, ${f(rt)} * (${sc.join(' + ')})); conv = conv & (ar${r} < tr${r});`);
        newton.push(`let q${r} = ar${r} / tr${r}; worst = select(worst, ${r}u, q${r} > worstRatio); maxRes = select(maxRes, ar${r}, q${r} > worstRatio); worstRatio = max(worstRatio, q${r});`);
      }
    }
    // f32: at least one Newton update per step, as the CPU in practice (its 1e-8 is never met by the
    // predictor): the update is what resets the flow of a valve that closed (postSolve). Double-float: exactly
    // the CPU's loop.
    // Exact loops: a converged state whose next decision lies within rounding stops the variant (code 3).
    const marginal = this.marginalConds.length ? ` ${this.marginalLines.join(' ')} if (${rx(this.marginalConds.join(' | '))}) { code = 3u; }` : '';
    newton.push(exact ? `if (${rx('conv & fin')}) {${marginal} break; }` : `if (conv & fin & (it > 0u)) { ${this.conv.join(' ')} break; }`);
    newton.push(`if (${rx('(it + 1u == P.maxIter) | !fin')}) { code = 1u; frow = worst; fres = ${df ? 'maxRes.x' : 'maxRes'}; break; }`);
    // Newton matrix J = alpha_m (E + dC/dydot) + alpha_f gamma dt (F + dC/dy) on the pattern, then Gaussian
    // elimination in the static pivot order, unrolled on the pattern (fill-in created as needed), with the
    // right-hand side (the residual) eliminated alongside. Every value is a new `let` (SSA names).
    const present = Array.from({ length: n }, () => new Map<number, string>());
    for (const s of slots) {
      const e = [hasE(s) ? `E${s}` : '', w.Dd.has(s) ? `Dd${s}` : ''].filter(Boolean).join(' + ');
      const fy = [hasF(s) ? `F${s}` : '', w.Dy.has(s) ? `Dy${s}` : ''].filter(Boolean).join(' + ');
      const parts = [e ? `(${e}) * P.alphaM` : '', fy ? `(${fy}) * jy` : ''].filter(Boolean);
      const name = `a${rows[s]!}_${cols[s]!}`;
      newton.push(`let ${name} = ${rx(parts.join(' + '))};`);
      present[rows[s]!]!.set(cols[s]!, name);
    }
    const rhs = Array.from({ length: n }, (_, r) => `r${r}`);
    let version = 0;
    // Safety of the static order: a pivot must be non-zero and every multiplier |l| <= 2^-6 / u (u the unit
    // roundoff: 2^18 in f32, 2^42 in double-float), so that the rounding noise an update adds (about |l| u
    // of the pivot row's entries) stays below 2^-6 of them. Larger multipliers are legitimate in f64 (e.g. a
    // ValveTanh status row while the valve switches) and an inexact factorisation only slows Newton
    // (convergence is judged on the residual), but beyond that bound the update is noise; such a variant is
    // re-run on the CPU.
    const lmax = f(2 ** -6 / UNIT_ROUNDOFF[this.precision]);
    newton.push('var pok = true;');
    const done = new Uint8Array(n);
    for (let k = 0; k < n; k++) {
      const p = perm[k]!;
      const piv = present[p]!.get(k);
      if (piv === undefined) throw new Error(`internal: pivot row ${p} has no entry in column ${k}`);
      newton.push(`let ip${k} = ${rx(`1.0 / ${piv}`)}; pok = ${rx(`pok & (abs(${piv}) > 0.0)`)};`);
      done[p] = 1;
      const upper = [...present[p]!].filter(([j]) => j > k).sort((a, b) => a[0] - b[0]);
      for (let i = 0; i < n; i++) {
        const aik = present[i]!.get(k);
        if (done[i] || aik === undefined) continue;
        const l = `l${i}_${k}`;
        newton.push(`let ${l} = ${rx(`${aik} * ip${k}`)}; pok = ${rx(`pok & (abs(${l}) <= ${lmax})`)};`);
        for (const [j, apj] of upper) {
          const aij = present[i]!.get(j);
          const name = `a${i}_${j}_${++version}`;
          newton.push(`let ${name} = ${rx(aij === undefined ? `-${l} * ${apj}` : `${aij} - ${l} * ${apj}`)};`);
          present[i]!.set(j, name);
        }
        const x = `x${i}_${++version}`;
        newton.push(`let ${x} = ${rx(`${rhs[i]!} - ${l} * ${rhs[p]!}`)};`);
        rhs[i] = x;
      }
    }
    newton.push(`if (${rx('!pok')}) { code = 2u; break; }`);
    // Back substitution: unknown k from its pivot row perm[k].
    for (let k = n - 1; k >= 0; k--) {
      const p = perm[k]!;
      const upper = [...present[p]!].filter(([j]) => j > k).sort((a, b) => a[0] - b[0]);
      newton.push(`let dx${k} = ${rx(`(${rhs[p]!}${upper.map(([j, apj]) => ` - ${apj} * dx${j}`).join('')}) * ip${k}`)};`);
    }
    newton.push(...this.post);
    for (let d = 0; d < n; d++) newton.push(`yd${d} = ${rx(`yd${d} + dx${d}`)}; y${d} = ${rx(`y${d} + dx${d} * yc`)};`);

    const stats: string[] = [];
    outputs.forEach((d, j) => stats.push(`st${3 * j} = ${rx(`st${3 * j} + y${d}`)}; st${3 * j + 1} = ${rx(`min(st${3 * j + 1}, y${d})`)}; st${3 * j + 2} = ${rx(`max(st${3 * j + 2}, y${d})`)};`));
    splits.forEach((d, j) => stats.push(`st${3 * outputs.length + j} = ${rx(`st${3 * outputs.length + j} + y${d}`)};`));
    const store: string[] = [];
    for (let d = 0; d < n; d++) store.push(`state[sb + ${d}u] = y${d}; state[sb + ${n + d}u] = yd${d};`);
    for (let j = 0; j < NS; j++) store.push(`stats[tb + ${j}u] = st${j};`);

    // Double-float: the library, and its fence value read from a uniform (always 0) so that no compiler can
    // fold it (see shaders/hemo/double-float.wgsl).
    const prelude = { f32: ['alias R = f32;'], df: [...doubleFloatWgsl.split('\n'), 'alias R = vec2<f32>;'], f64: [] }[this.precision];
    const init = df ? ['df_opaque = P.opaque;'] : [];
    const sections: Record<string, string[]> = { prelude, init, load, stats, time, predictor, newton, store };
    // JavaScript: the structural lines above (indices, counters) are written in WGSL with u32 literals and
    // `R()` zeros; expressions have already been rewritten. Integer literals become plain numbers.
    const js = this.precision === 'f64';
    const line = js ? (l: string): string => l.replace(/\b(\d+)u\b/g, '$1').replace(/\bR\(\)/g, '0') : (l: string): string => l;
    const skeleton = js ? GENERAL_ENSEMBLE_JS : generalEnsembleWgsl;
    return skeleton.replace(/^(\s*)\/\/ @insert (\w+)\s*$/gm, (_, indent: string, name: string) => {
      const body = sections[name];
      if (!body) throw new Error(`internal: no section '${name}' for the general-ensemble skeleton`);
      return body.map((l) => indent + line(l)).join('\n');
    });
  }
}

function unsupported(b: Block): PhysiotwinError {
  return new PhysiotwinError(
    'INVALID_ARGUMENT',
    `the webgpu ensemble kernel does not support ${b.type} block '${b.name}' (supported: ${GENERAL_GPU_BLOCK_TYPES.join(', ')}); run this model with the cpu backend`,
    { details: { block: b.name, type: b.type } },
  );
}
