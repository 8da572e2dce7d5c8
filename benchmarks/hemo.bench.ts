// 0D hemodynamics: single-run time per step (RCR and closed loop, the full f64 solver) and ensemble
// throughput (RCR N = 1e3, 1e4, 1e5 and two closed loops N = 1e3), CPU vs WebGPU in one run.
// Reference: svZeroDSolver (C++) takes about 2-4 us per step for RCR and 13-62 us for closed-loop cases
// on a 2-core machine (issue 4).
import { getSharedGpu, releaseSharedGpu, type GpuContext } from '@physiotwin/gpu';
import { simulate, simulateEnsemble, type EnsembleSamples, type EnsembleSummary, type SvZeroDConfig } from '@physiotwin/hemo';
import { measure, newReport, ratio, writeReport, type BenchResult } from './harness.js';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { readFileSync } from 'node:fs';

const CASES = join(dirname(fileURLToPath(import.meta.url)), '../fixtures/hemo/svzerod/cases');
const load = (name: string): SvZeroDConfig => JSON.parse(readFileSync(join(CASES, `${name}.json`), 'utf8')) as SvZeroDConfig;

function withSim(cfg: SvZeroDConfig, sim: Record<string, unknown>): SvZeroDConfig {
  return { ...cfg, simulation_parameters: { ...(cfg.simulation_parameters as object), ...sim } };
}

function rcrSamples(n: number): EnsembleSamples {
  const names = ['OUT.Rp', 'OUT.Rd', 'OUT.C'];
  const values = new Float64Array(n * 3);
  for (let v = 0; v < n; v++) {
    const f = (k: number): number => 0.6 + 0.8 * (((v * 7919 + k * 104729) % 1000) / 999);
    values.set([1000 * f(1), 1000 * f(2), 1e-4 * f(3)], 3 * v);
  }
  return { names, values };
}

/**
 * The double-float closed-loop parity check, moved here from packages/hemo/src/ensemble.test.ts (which keeps its
 * CPU half) because compiling the generated 67,000-character double-float kernel (23 unknowns, LU unrolled) costs
 * 26 s of one core on SwiftShader, a tenth of `npm test`, against 0.15 s for the run. Same case and tolerances:
 * ClosedLoopHeartAndPulmonary with ideal valves, 2 variants of 2 cycles, the smallest input that takes every path
 * (variant 0 is computed by the kernel, variant 1 is handed back, code 3, at drive-table step 187 in the second
 * cycle). The f64 solver leaves about 1e-6 mL/s in a closed ideal valve, and the step at which a valve reopens
 * depends on its sign; f32 cannot resolve it, so 'auto' precision runs this model in double-float (about 2^-48
 * relative per operation): kernel-computed variants within 1e-9 of the f64 solver (2^-48 amplified by the LU;
 * observed 2e-14), every variant within the 1e-3, relative to each output's largest |x| over the cycle.
 * Throws, failing `npm run bench -- hemo`, when the check fails. Its kernel serves the N = 1e3 df case below.
 * @throws Error when the WebGPU ensemble misses the f64 solver by more than the tolerances.
 */
async function closedLoopDoubleFloatParity(gpu: GpuContext, closed: SvZeroDConfig, notes: string[]): Promise<void> {
  const cfg = withSim(closed, { number_of_cardiac_cycles: 2 });
  const s: EnsembleSamples = { names: ['RCR_aorta.Rd', 'CLH.Elv_s'], values: Float64Array.of(1.2, 3.1, 1.5, 2.8) };
  const started = performance.now();
  const sum = await simulateEnsemble(cfg, s, { backend: 'webgpu', gpu });
  const ms = performance.now() - started;
  let worst = 0;
  let worstKernel = 0;
  for (let v = 0; v < sum.n; v++) {
    const overrides = Object.fromEntries(s.names.map((k, j) => [k, s.values[v * s.names.length + j]!]));
    const ref = await simulate({ ...cfg, simulation_parameters: { ...(cfg.simulation_parameters as object), output_all_cycles: false } }, { overrides });
    sum.outputs.forEach((o, k) => {
      const series = ref.y.map((y) => y[ref.model.dofNames.indexOf(o)]!);
      const scale = Math.max(...series.map(Math.abs)) || 1;
      const i = v * sum.outputs.length + k;
      const wants = [series.reduce((a, x) => a + x, 0) / series.length, Math.min(...series), Math.max(...series)];
      [sum.mean[i]!, sum.min[i]!, sum.max[i]!].forEach((got, q) => {
        const d = Math.abs(got - wants[q]!) / scale;
        worst = Math.max(worst, d);
        if (!sum.cpuVariants.includes(v)) worstKernel = Math.max(worstKernel, d);
      });
    });
  }
  const line = `closed loop df parity (closedLoopHeart_singleVessel, 2 variants x 2 cycles, compilation included: ${(ms / 1000).toFixed(1)} s): precision ${sum.precision}, handed back ${sum.cpuVariants.join(', ') || 'none'}, max difference to the f64 solver ${worst.toExponential(2)} (kernel-computed variants ${worstKernel.toExponential(2)})`;
  console.log(line);
  notes.push(line);
  const failures = [
    sum.precision === 'df' ? '' : `precision ${sum.precision}, not df`,
    sum.cpuVariants.length < sum.n ? '' : 'the kernel computed no variant',
    worstKernel < 1e-9 ? '' : `kernel-computed variants ${worstKernel} from the f64 solver (tolerance 1e-9)`,
    worst < 1e-3 ? '' : `a variant ${worst} from the f64 solver (tolerance 1e-3)`,
  ].filter(Boolean);
  if (failures.length) throw new Error(`closed loop df parity failed: ${failures.join('; ')}`);
}

export default async function run(): Promise<void> {
  const report = newReport('hemo');
  const rcr = withSim(load('pulsatileFlow_R_RCR'), { output_all_cycles: false });
  const rcrLong = withSim(rcr, { number_of_cardiac_cycles: 50 });
  const rcrSteps = 50 * 200 + 31;
  const closed = load('closedLoopHeart_singleVessel');
  const closedLong = withSim(closed, { number_of_cardiac_cycles: 30 });
  const closedSteps = 30 * 99;

  const single = async (name: string, cfg: SvZeroDConfig, steps: number): Promise<BenchResult> => {
    const r = await measure({ name, impl: 'physiotwin cpu (f64, sparse LU)', backend: 'cpu', size: { steps }, items: steps, itemUnit: 'steps', run: () => simulate(cfg) });
    r.extra = { usPerStep: (1000 * r.medianMs) / steps };
    report.results.push(r);
    return r;
  };
  const sRcr = await single('single run RCR (pulsatileFlow_R_RCR, 50 cycles x 200 steps)', rcrLong, rcrSteps);
  const sClosed = await single('single run closed loop (closedLoopHeart_singleVessel, 30 cycles x 99 steps)', closedLong, closedSteps);
  report.notes.push(
    `time per step, median of 5 warm runs (parse + assembly included): RCR ${(sRcr.extra!.usPerStep as number).toFixed(2)} us (svZeroDSolver about 2-4 us), closed loop ${(sClosed.extra!.usPerStep as number).toFixed(2)} us (svZeroDSolver 13-62 us); first (cold, JIT) runs: ${((1000 * sRcr.firstMs) / rcrSteps).toFixed(2)} and ${((1000 * sClosed.firstMs) / closedSteps).toFixed(2)} us`,
  );

  const ensSteps = 10 * 200 + 31;
  const gpu = await getSharedGpu();
  const adapter = `${gpu.adapter.description || gpu.adapter.architecture} (${gpu.adapter.vendor})`;
  for (const n of [1e3, 1e4, 1e5]) {
    const samples = rcrSamples(n);
    const cpu = await measure({
      name: `ensemble RCR N=${n}`,
      impl: 'physiotwin cpu (batched f64 loop, 1 thread)',
      backend: 'cpu',
      size: { variants: n, stepsPerVariant: ensSteps },
      items: n * ensSteps,
      itemUnit: 'model-steps',
      repeats: n >= 1e5 ? 3 : 5,
      run: () => simulateEnsemble(rcr, samples, { backend: 'cpu' }),
    });
    cpu.extra = { simulationsPerS: n / (cpu.medianMs / 1000) };
    report.results.push(cpu);
    const wg = await measure({
      name: `ensemble RCR N=${n}`,
      impl: 'physiotwin webgpu (f32, 1 variant/invocation, 1 dispatch/cycle)',
      backend: 'webgpu',
      adapter,
      isFallbackAdapter: gpu.adapter.isFallback,
      size: { variants: n, stepsPerVariant: ensSteps },
      items: n * ensSteps,
      itemUnit: 'model-steps',
      repeats: n >= 1e5 ? 3 : 5,
      run: () => simulateEnsemble(rcr, samples, { backend: 'webgpu', gpu }),
    });
    wg.extra = { simulationsPerS: n / (wg.medianMs / 1000) };
    report.results.push(wg);
    report.ratios.push({ label: `RCR N=${n}: cpu time / webgpu time${gpu.adapter.isFallback ? ' (SwiftShader: software, not GPU times)' : ''}`, value: ratio(cpu, wg) });
  }
  await closedLoopDoubleFloatParity(gpu, closed, report.notes);
  const nClosed = 1000;
  /**
   * A closed-loop ensemble on the CPU and on WebGPU in each kernel precision given, with each WebGPU run's
   * summary differences to the CPU ones in this run.
   */
  const closedLoop = async (label: string, cfg: SvZeroDConfig, samples: EnsembleSamples, outputs: string[], stepsPerVariant: number, precisions: Array<'f32' | 'df'>): Promise<void> => {
    const size = { variants: nClosed, stepsPerVariant };
    const common = { name: `ensemble ${label} N=${nClosed}`, size, items: nClosed * stepsPerVariant, itemUnit: 'model-steps' };
    // Baseline: the full solver (simulate) once per variant, what CPU ensembles of these models ran before the
    // generated f64 kernel.
    const full = await measure({
      ...common,
      impl: 'physiotwin cpu (full f64 solver, simulate() per variant)',
      backend: 'cpu',
      repeats: 1,
      run: async () => {
        const sp = { ...(cfg.simulation_parameters as object), output_all_cycles: false };
        for (let v = 0; v < nClosed; v++) await simulate({ ...cfg, simulation_parameters: sp }, { overrides: Object.fromEntries(samples.names.map((k, j) => [k, samples.values[v * samples.names.length + j]!])) });
      },
    });
    full.extra = { simulationsPerS: nClosed / (full.medianMs / 1000) };
    report.results.push(full);
    let cpuSummary: EnsembleSummary | undefined;
    const cl = await measure({
      ...common,
      impl: 'physiotwin cpu (generated per-model kernel, f64 JavaScript, 1 thread)',
      backend: 'cpu',
      repeats: 3,
      run: async () => (cpuSummary = await simulateEnsemble(cfg, samples, { backend: 'cpu', outputs })),
    });
    cl.extra = { simulationsPerS: nClosed / (cl.medianMs / 1000), variantsRerunByFullSolver: cpuSummary!.cpuVariants.length };
    report.results.push(cl);
    report.ratios.push({ label: `${label} N=${nClosed}: full solver per variant / generated f64 kernel (cpu)`, value: ratio(full, cl) });
    for (const precision of precisions) {
      const arithmetic = precision === 'df' ? 'double-float (f32 pairs)' : 'f32';
      let gpuSummary: EnsembleSummary | undefined;
      const clg = await measure({
        ...common,
        impl: `physiotwin webgpu (generated per-model kernel, ${arithmetic}, 1 variant/invocation, 1 dispatch/cycle)`,
        backend: 'webgpu',
        adapter,
        isFallbackAdapter: gpu.adapter.isFallback,
        repeats: 3,
        run: async () => (gpuSummary = await simulateEnsemble(cfg, samples, { backend: 'webgpu', gpu, outputs, precision })),
      });
      clg.extra = { simulationsPerS: nClosed / (clg.medianMs / 1000), variantsRerunOnCpu: gpuSummary!.cpuVariants.length };
      report.results.push(clg);
      report.ratios.push({ label: `${label} N=${nClosed}: cpu time / webgpu ${precision} time${gpu.adapter.isFallback ? ' (SwiftShader: software, not GPU times)' : ''}`, value: ratio(cl, clg) });
      // Relative to each variant's largest |x| of that output over the cycle.
      for (const [k, o] of outputs.entries()) {
        let worstMean = 0;
        let worstExt = 0;
        const c = cpuSummary!;
        const g = gpuSummary!;
        for (let v = 0; v < nClosed; v++) {
          const i = v * outputs.length + k;
          const scale = Math.max(Math.abs(c.min[i]!), Math.abs(c.max[i]!));
          worstMean = Math.max(worstMean, Math.abs(g.mean[i]! - c.mean[i]!) / scale);
          worstExt = Math.max(worstExt, Math.abs(g.min[i]! - c.min[i]!) / scale, Math.abs(g.max[i]! - c.max[i]!) / scale);
        }
        report.notes.push(`${label} N=${nClosed}, ${o}: webgpu ${precision} vs cpu summaries differ by at most ${worstMean.toExponential(2)} (mean) and ${worstExt.toExponential(2)} (min/max), relative to max |x| over the cycle`);
      }
      report.notes.push(`${label} N=${nClosed} webgpu ${precision}: ${gpuSummary!.cpuVariants.length} variants handed back to the CPU (Newton did not converge, static pivots failed, or a decision within the kernel's rounding), included in its time`);
    }
  };
  // ClosedLoopHeartAndPulmonary (ideal valves): aortic pressure and the heart's outflow (cardiac output).
  await closedLoop(
    'closed loop (closedLoopHeart_singleVessel, 5 cycles x 99 steps)',
    withSim(closed, { number_of_cardiac_cycles: 5 }),
    { names: ['RCR_aorta.Rd'], values: Float64Array.from({ length: nClosed }, (_, v) => 1.356472458 * (0.8 + (0.4 * v) / nClosed)) },
    ['pressure:J_heart_outlet:branch0_seg0', 'flow:CLH:J_heart_outlet'],
    5 * 99,
    // 'auto' precision is double-float for this model; f32 shown for its speed and its error.
    ['df', 'f32'],
  );
  // Four elastance chambers and piecewise valves: left-ventricular pressure and aortic-valve flow.
  await closedLoop(
    'closed loop (closed_loop_two_hill, 2 cycles x 688 steps)',
    withSim(load('closed_loop_two_hill'), { number_of_cardiac_cycles: 2 }),
    { names: ['LV.Emax'], values: Float64Array.from({ length: nClosed }, (_, v) => 333878537 * (0.8 + (0.4 * v) / nClosed)) },
    ['pressure:LV:AV', 'flow:AV:AR_SYS'],
    2 * 688,
    ['f32'],
  );
  for (const r of report.results) {
    if (r.extra?.simulationsPerS !== undefined) report.notes.push(`${r.name} [${r.backend}]: ${(r.extra.simulationsPerS as number).toExponential(2)} simulations/s, ${r.throughputPerS!.toExponential(2)} model-steps/s`);
  }
  if (gpu.adapter.isFallback) report.notes.push('WebGPU ran on SwiftShader (CPU software rasteriser): its timings are not GPU times.');
  writeReport(report);
  await releaseSharedGpu();
}
