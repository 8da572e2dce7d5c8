import { PhysiotwinError, type OperationOptions } from '@physiotwin/core';
import { KernelBuilder, type KernelPrecision, type ParamPlan } from './ensemble-general.codegen.js';
import type { EnsembleSamples } from './ensemble-samples.js';
import type { GeneralProblem } from './ensemble-schedule.js';
import { Integrator, keepSteadyCapacitances } from './integrator.js';
import { applyOverrides, integrate, type PreparedSimulation } from './solver.js';
import { singularError } from './sparse.js';

/** Upper bound on (sample matrices) x n^3 of the pivot analysis (about 0.1 s of host time). */
const PIVOT_WORK = 5e7;

/**
 * Prepares the general WebGPU ensemble: checks that every block has a GPU generator, evaluates the
 * constant matrix entries of every variant with the blocks' own `constant()` (f64), tabulates the shared
 * time-dependent values, chooses a static pivot order and generates the kernel.
 *
 * Pivot order: the Newton matrices of every variant share one sparsity pattern; their values change with
 * the state (valves switch entries to zero). The order is chosen once by partial pivoting over a set of
 * sample matrices: those of the first (and last) variant of `reference` (default `samples`) along a short f64
 * run (up to 3 cycles, about 200 states each), taking in each column the row whose smallest relative magnitude over the samples is
 * largest (the diagonal when within a factor 10 of that, as the CPU LU prefers). The kernel checks every
 * pivot (non-zero, multipliers |l| <= 2^18) and reports a variant where the order fails; the caller re-runs
 * it with the f64 solver.
 *
 * Nothing the kernel decides depends on which variants `samples` holds beyond their own rows: the pivot order
 * comes from `reference` (a shard passes the whole run's first and last variant, so it uses the order of the
 * whole run), and the constant matrix entries that travel per variant are those non-zero for a variant of
 * `samples` or `reference`, or that a varied parameter reaches (stamped with the varied parameters NaN), so a
 * shard whose variants all zero an entry generates the same code as the whole run.
 *
 * Precision: 'f32' or 'df' (double-float) for the WGSL kernel, 'f64' for the JavaScript one of the CPU
 * (simulateEnsemble chooses; its 'auto' uses `doubleFloatReason`).
 *
 * @param prepared the model (its parameters are overridden by the sample runs of the pivot analysis)
 * @param samples checked samples (`checkSamples`); @param outputs unknown ids to summarise; @param splits outlet
 *   flow unknown ids
 * @throws PhysiotwinError `INVALID_ARGUMENT` for a block without a GPU generator or cycle-to-cycle
 *   convergence; `SOLVER_DIVERGED` for a structurally singular model or a non-finite shared value (an `fn` that
 *   evaluates to NaN); `ABORTED`
 */
export async function generalProblem(prepared: PreparedSimulation, samples: EnsembleSamples, outputs: number[], splits: number[], precision: KernelPrecision, options: OperationOptions = {}, reference: EnsembleSamples = samples): Promise<GeneralProblem> {
  const { settings, model, grid, init } = prepared;
  if (settings.useCycleToCycleError) {
    throw new PhysiotwinError('INVALID_ARGUMENT', 'the webgpu ensemble kernel runs a fixed number of cycles; use_cycle_to_cycle_error needs the cpu backend', {
      location: { jsonPath: '$.simulation_parameters.use_cycle_to_cycle_error' },
    });
  }
  const integ = new Integrator(model, settings.absoluteTolerance, settings.maxNonlinearIterations, settings.rhoInfinity);
  const sys = integ.sys;
  const ctx = integ.ctx;
  const P = samples.names.length;
  const n = samples.values.length / P;
  const varied = new Map<number, number>();
  samples.names.forEach((k, j) => varied.set(model.paramIds.get(k)!, j));
  const prm = model.params;
  // As simulate(): a time-dependent RCR capacitance is its mean during the steady start and after it.
  if (settings.steadyInitial) keepSteadyCapacitances(model);
  const plan: ParamPlan = {
    isSharedSeries: (id) => !varied.has(id) && prm[id]!.isSeries,
    isZero: (id) => !varied.has(id) && !prm[id]!.isSeries && prm[id]!.get(0) === 0,
    series: (id, t) => prm[id]!.get(t),
  };
  const builder = new KernelBuilder(model, sys, plan, precision);
  const { dt, dtSteady: dtS, steps, steadySteps } = grid;
  const phases = steadySteps > 0 ? [false, true] : [false];
  const m = sys.rows.length;

  /** Parameter values of row v of `rows` at time t into ctx.p (series in the phase's steady mode). */
  const fillRow = (rows: Float64Array, v: number, t: number): void => {
    for (let i = 0; i < prm.length; i++) ctx.p[i] = prm[i]!.get(t);
    for (const [id, j] of varied) ctx.p[id] = rows[v * P + j]!;
    ctx.time = t;
  };
  const stampRow = (rows: Float64Array, v: number): void => {
    fillRow(rows, v, 0);
    sys.clear();
    for (const b of model.blocks) b.constant(sys, ctx);
  };
  const stampConstants = (v: number): void => stampRow(samples.values, v);

  // Constant entries: those non-zero in some phase for some variant of the samples or the reference, or reached by
  // a varied parameter (NaN probe), travel per variant: the same set for a shard as for the whole run.
  const nzE = new Uint8Array(m);
  const nzF = new Uint8Array(m);
  const probe = new Float64Array(P).fill(NaN);
  for (const steady of phases) {
    integ.setPhase(steady, steady ? dtS : dt);
    const sets: Array<readonly [Float64Array, number]> = [[samples.values, n], [probe, 1]];
    if (reference !== samples) sets.push([reference.values, reference.values.length / P]);
    for (const [rows, count] of sets) {
      for (let v = 0; v < count; v++) {
        stampRow(rows, v);
        for (let s = 0; s < m; s++) {
          if (sys.E[s] !== 0) nzE[s] = 1;
          if (sys.F[s] !== 0) nzF[s] = 1;
        }
      }
    }
  }
  const cstSlots: Array<['E' | 'F', number]> = [];
  for (let s = 0; s < m; s++) {
    if (nzE[s]) cstSlots.push(['E', s]);
    if (nzF[s]) cstSlots.push(['F', s]);
  }
  const nc = cstSlots.length;
  const cst = new Float64Array(2 * n * nc);
  for (const steady of phases) {
    integ.setPhase(steady, steady ? dtS : dt);
    const base = steady ? n * nc : 0;
    for (let v = 0; v < n; v++) {
      stampConstants(v);
      cstSlots.forEach(([kind, s], c) => (cst[base + v * nc + c] = (kind === 'E' ? sys.E : sys.F)[s]!));
    }
  }

  // Shared drive values at t_n + alpha_f dt of every step, steady steps first.
  const nd = builder.drive.length;
  const drive = new Float64Array((steadySteps + steps) * nd);
  const af = integ.alphaF;
  for (const steady of phases) {
    integ.setPhase(steady, steady ? dtS : dt);
    const count = steady ? steadySteps : steps;
    const off = steady ? 0 : steadySteps;
    for (let i = 0; i < count; i++) {
      const t = steady ? dtS * (i + af) : dt * (i + af);
      builder.drive.forEach((col, c) => {
        const x = col.value(t);
        if (!Number.isFinite(x)) {
          throw new PhysiotwinError('SOLVER_DIVERGED', `non-finite value: ${driveName(col.key, model.paramNames)} is ${x} at t = ${t} s`, { details: { time: t, value: col.key } });
        }
        drive[(off + i) * nd + c] = x;
      });
    }
  }

  const vpar = new Float64Array(n * builder.variantParams.length);
  const np = builder.variantParams.length;
  for (let v = 0; v < n; v++) {
    builder.variantParams.forEach((id, c) => {
      const j = varied.get(id);
      vpar[v * np + c] = j === undefined ? prm[id]!.get(0) : samples.values[v * P + j]!;
    });
  }

  const pattern = builder.pattern(new Set(cstSlots.filter((c) => c[0] === 'E').map((c) => c[1])), new Set(cstSlots.filter((c) => c[0] === 'F').map((c) => c[1])));
  const nRef = reference.values.length / P;
  const perm = await pivotOrder(prepared, integ, reference, nRef, (v, t) => fillRow(reference.values, v, t), pattern, options);
  const code = builder.assemble(cstSlots, perm, outputs, splits);
  return {
    ...grid,
    n,
    dofs: model.dofNames.length,
    code,
    kernel: `hemo/general-ensemble#${hash(code)}`,
    precision,
    vpar,
    cst,
    drive,
    np,
    nc,
    nd,
    y0: init.y,
    yd0: init.ydot,
    atol: settings.absoluteTolerance,
    maxIter: settings.maxNonlinearIterations,
    outputs,
    splits,
    perm,
  };
}

/** The parameter a drive column carries (`param<id>`), by name, for messages. */
function driveName(key: string, paramNames: readonly string[]): string {
  const m = /^param(\d+)$/.exec(key);
  return m ? `parameter ${paramNames[Number(m[1])] ?? key}` : `shared value ${key}`;
}

/** Static pivot order (see {@link generalProblem}): perm[k] is the row that eliminates column k. */
async function pivotOrder(
  prepared: PreparedSimulation,
  integ: Integrator,
  samples: EnsembleSamples,
  nVariants: number,
  fillParams: (v: number, t: number) => void,
  pattern: number[],
  options: OperationOptions,
): Promise<number[]> {
  const { model, settings, init } = prepared;
  const dtSteady = prepared.grid.steadySteps > 0 ? prepared.grid.dtSteady : 0;
  const dt = prepared.grid.dt;
  const n = model.dofNames.length;
  const sys = integ.sys;
  const mats: Float64Array[] = [];
  const cap = Math.max(4, Math.floor(PIVOT_WORK / (n * n * n)));
  const jacobian = (v: number, steady: boolean, t: number, y: Float64Array, yd: Float64Array): void => {
    integ.setPhase(steady, steady ? dtSteady : dt);
    fillParams(v, t);
    sys.clear();
    for (const b of model.blocks) b.constant(sys, integ.ctx);
    for (const b of model.blocks) b.time(sys, integ.ctx);
    for (const b of model.blocks) b.solution(sys, integ.ctx, y, yd);
    const h = steady ? dtSteady : dt;
    const jy = integ.alphaF * integ.gamma * h;
    const A = new Float64Array(n * n);
    for (const s of pattern) {
      const at = sys.rows[s]! * n + sys.cols[s]!;
      A[at] = A[at]! + (sys.E[s]! + sys.dCdydot[s]!) * integ.alphaM + (sys.F[s]! + sys.dCdy[s]!) * jy;
    }
    mats.push(A);
  };
  const cycles = Math.min(3, settings.numberOfCycles);
  const pts = settings.ptsPerCycle;
  const perRun = Math.max(2, Math.floor(cap / 2));
  const interval = Math.max(1, Math.ceil(((pts - 1) * cycles) / perRun));
  const sampleSettings = { ...settings, numberOfCycles: cycles, outputAllCycles: true, outputInterval: interval };
  const P = samples.names.length;
  for (const v of nVariants > 1 ? [0, nVariants - 1] : [0]) {
    if (dtSteady > 0) jacobian(v, true, integ.alphaF * dtSteady, init.y, init.ydot);
    applyOverrides(model, Object.fromEntries(samples.names.map((k, j) => [k, samples.values[v * P + j]!])));
    let run;
    try {
      run = await integrate(prepared, sampleSettings, { signal: options.signal });
    } catch (e) {
      // A variant that diverges in f64 gives no trajectory; it will diverge on the GPU too and be reported there.
      if (e instanceof PhysiotwinError && e.code === 'SOLVER_DIVERGED') continue;
      throw e;
    }
    if (dtSteady > 0) jacobian(v, true, integ.alphaF * dtSteady, run.y[0]!, run.ydot[0]!);
    run.y.forEach((y, r) => jacobian(v, false, run.times[r]! + integ.alphaF * dt, y, run.ydot[r]!));
  }
  if (mats.length === 0) jacobian(0, false, integ.alphaF * dt, init.y, init.ydot);

  const struct = new Uint8Array(n * n);
  for (const s of pattern) struct[sys.rows[s]! * n + sys.cols[s]!] = 1;
  const used = new Uint8Array(n);
  const perm: number[] = [];
  for (let k = 0; k < n; k++) {
    const score = new Float64Array(n).fill(Infinity);
    for (const A of mats) {
      let mx = 0;
      for (let i = 0; i < n; i++) if (!used[i]) mx = Math.max(mx, Math.abs(A[i * n + k]!));
      if (mx === 0) continue; // singular sample (e.g. a transient state); it cannot rank the rows
      for (let i = 0; i < n; i++) if (!used[i]) score[i] = Math.min(score[i]!, Math.abs(A[i * n + k]!) / mx);
    }
    let best = -1;
    for (let i = 0; i < n; i++) if (!used[i] && struct[i * n + k] && (best < 0 || score[i]! > score[best]!)) best = i;
    if (best < 0) throw singularError(k, 0, model.dofNames[k] ?? String(k));
    if (best !== k && !used[k] && struct[k * n + k] && score[k]! >= 0.1 * score[best]!) best = k;
    used[best] = 1;
    perm.push(best);
    for (let i = 0; i < n; i++) {
      if (used[i] || !struct[i * n + k]) continue;
      for (let j = k + 1; j < n; j++) if (struct[best * n + j]) struct[i * n + j] = 1;
      for (const A of mats) {
        const p = A[best * n + k]!;
        const l = p !== 0 ? A[i * n + k]! / p : 0;
        if (l !== 0) for (let j = k + 1; j < n; j++) A[i * n + j] = A[i * n + j]! - l * A[best * n + j]!;
      }
    }
  }
  return perm;
}

/** FNV-1a (32 bit) of the code and its length: the pipeline cache key of a generated kernel. */
function hash(s: string): string {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 0x01000193);
  return `${(h >>> 0).toString(16)}-${s.length}`;
}
