import { wrappingCosine } from './activation.js';
import type { GeneralProblem } from './ensemble-general.js';
import { cycleDispatches, initialBuffers, kernelParams, type GeneralStats } from './ensemble-schedule.js';

/**
 * Skeleton of the JavaScript (f64) general ensemble kernel: the WGSL skeleton's loops
 * (shaders/hemo/general-ensemble.wgsl) with one loop over the variants in place of the invocations.
 * ensemble-general.codegen.ts fills the `// @insert` lines with the same generated code, rewritten for
 * JavaScript; the body becomes `function (P, vpar, cst, drive, state, stats, status, wrappingCosine)`.
 */
export const GENERAL_ENSEMBLE_JS = `
for (let v = 0; v < P.n; v++) {
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

type CompiledKernel = (
  P: ReturnType<typeof kernelParams>,
  vpar: Float64Array,
  cst: Float64Array,
  drive: Float64Array,
  state: Float64Array,
  stats: Float64Array,
  status: Float64Array,
  wc: typeof wrappingCosine,
) => void;

/** Compiled kernels by generated code (a model's ensembles share one; bounded like a small LRU). */
const compiled = new Map<string, CompiledKernel>();
const MAX_COMPILED = 16;

/** Compiles generated kernel code, or undefined where the platform forbids it (a CSP without 'unsafe-eval'). */
function compile(code: string): CompiledKernel | undefined {
  let fn = compiled.get(code);
  if (fn) return fn;
  try {
    fn = new Function('P', 'vpar', 'cst', 'drive', 'state', 'stats', 'status', 'wrappingCosine', `'use strict';\n${code}`) as CompiledKernel;
  } catch (e) {
    if (e instanceof EvalError) return undefined;
    throw e;
  }
  if (compiled.size >= MAX_COMPILED) compiled.delete(compiled.keys().next().value!);
  compiled.set(code, fn);
  return fn;
}

/**
 * Runs the generated f64 JavaScript kernel of a general model (`generalProblem(..., 'f64')`): every
 * variant in one loop, the same unrolled generalized-alpha/Newton code and static pivot order as the WebGPU
 * kernel, and the CPU solver's Newton loop and convergence test. Returns undefined where code cannot be
 * compiled at run time (the caller then runs the full solver per variant).
 */
export function generalEnsembleCpu(p: GeneralProblem): GeneralStats | undefined {
  if (p.precision !== 'f64') throw new Error(`internal: the cpu kernel runs f64 code, got ${p.precision}`);
  const run = compile(p.code);
  if (!run) return undefined;
  const { state, stats } = initialBuffers(p, Infinity);
  const status = new Float64Array(4 * p.n);
  for (const d of cycleDispatches(p)) run(kernelParams(p, d), p.vpar, p.cst, p.drive, state, stats, status, wrappingCosine);
  return { stats, status, count: p.steps + 1 - p.firstSummaryStep };
}
