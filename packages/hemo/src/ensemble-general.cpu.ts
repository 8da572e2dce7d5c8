import type { OperationOptions } from '@physiotwin/core';
import { wrappingCosine } from './activation.js';
import { cycleDispatches, initialBuffers, kernelParams, type GeneralProblem, type GeneralStats } from './ensemble-schedule.js';
import { workTicker } from './progress.js';

/** Unknown-steps per call of the compiled kernel between checks for cancellation (a few milliseconds). */
const SLICE_WORK = 2e5;

type CompiledKernel = (
  P: ReturnType<typeof kernelParams> & { v0: number; v1: number },
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
 * Runs the generated f64 JavaScript kernel of a general model (`generalProblem(..., 'f64')`): the same unrolled
 * generalized-alpha/Newton code and static pivot order as the WebGPU kernel, and the CPU solver's Newton loop and
 * convergence test. Each cardiac-cycle dispatch runs in slices of steps and variants (the state lives in the
 * buffers between them), with a check for cancellation and a progress report between slices. Returns undefined
 * where code cannot be compiled at run time (the caller then runs the full solver per variant).
 * @throws PhysiotwinError `ABORTED`
 */
export async function generalEnsembleCpu(p: GeneralProblem, options: OperationOptions = {}): Promise<GeneralStats | undefined> {
  if (p.precision !== 'f64') throw new Error(`internal: the cpu kernel runs f64 code, got ${p.precision}`);
  const run = compile(p.code);
  if (!run) return undefined;
  const { state, stats } = initialBuffers(p, Infinity);
  const status = new Float64Array(4 * p.n);
  const stepsPerSlice = Math.max(1, Math.floor(SLICE_WORK / p.dofs));
  const total = (p.steadySteps + p.steps) * p.n;
  const tick = workTicker(options, 'hemo/ensemble', total);
  let done = 0;
  for (const d of cycleDispatches(p)) {
    for (let j = 0; j < d.steps; j += stepsPerSlice) {
      const piece = { ...d, offset: d.offset + j, steps: Math.min(stepsPerSlice, d.steps - j), first: d.first + j };
      const variantsPerSlice = Math.max(1, Math.floor(SLICE_WORK / (piece.steps * p.dofs)));
      const kp = kernelParams(p, piece);
      for (let v0 = 0; v0 < p.n; v0 += variantsPerSlice) {
        const v1 = Math.min(p.n, v0 + variantsPerSlice);
        run({ ...kp, v0, v1 }, p.vpar, p.cst, p.drive, state, stats, status, wrappingCosine);
        done += piece.steps * (v1 - v0);
        await tick(done);
      }
    }
  }
  return { stats, status, count: p.steps + 1 - p.firstSummaryStep };
}
