import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describeBackends } from '@physiotwin/gpu/testing';
import { describe, expect, it } from 'vitest';
import { simulate, simulateEnsemble, resultTable, type EnsembleSamples, type SvZeroDConfig } from './index.js';

const ROOT = join(__dirname, '../../../fixtures/hemo/svzerod/cases');
const rcrCase = (): SvZeroDConfig => JSON.parse(readFileSync(join(ROOT, 'pulsatileFlow_R_RCR.json'), 'utf8'));

function samples(n: number): EnsembleSamples {
  // Deterministic spread of +-40 % around the case's values.
  const names = ['OUT.Rp', 'OUT.Rd', 'OUT.C', 'branch0_seg0.R_poiseuille', 'OUT.Pd'];
  const values = new Float64Array(n * names.length);
  for (let v = 0; v < n; v++) {
    const f = (k: number): number => 0.6 + 0.8 * (((v * 7919 + k * 104729) % 1000) / 999);
    values.set([1000 * f(1), 1000 * f(2), 1e-4 * f(3), 100 * f(4), 50 * f(5)], v * names.length);
  }
  return { names, values };
}

describeBackends('hemo ensemble (RCR kernel)', (b) => {
  it('agrees with the full f64 solver per variant (CPU 1e-9 relative: Newton stops at |r| < 1e-9; WebGPU 1e-3: f32 states)', async () => {
    const cfg = rcrCase();
    const s = samples(8);
    const sum = await simulateEnsemble(cfg, s, b.options());
    expect(sum.kernel).toBe('rcr');
    expect(sum.backend).toBe(b.backend);
    // The result names the adapter of a WebGPU run (and none on the CPU).
    expect(sum.adapter === undefined).toBe(b.backend === 'cpu');
    const tol = b.backend === 'cpu' ? 1e-9 : 1e-3;
    let worst = 0;
    for (let v = 0; v < s.values.length / s.names.length; v++) {
      const overrides = Object.fromEntries(s.names.map((k, j) => [k, s.values[v * s.names.length + j]!]));
      const ref = await simulate({ ...cfg, simulation_parameters: { ...(cfg.simulation_parameters as object), output_all_cycles: false } }, { overrides });
      for (let k = 0; k < sum.outputs.length; k++) {
        const d = ref.model.dofNames.indexOf(sum.outputs[k]!);
        const series = ref.y.map((y) => y[d]!);
        const m = series.reduce((a, x) => a + x, 0) / series.length;
        const checks: Array<[number, number]> = [
          [sum.mean[v * sum.outputs.length + k]!, m],
          [sum.min[v * sum.outputs.length + k]!, Math.min(...series)],
          [sum.max[v * sum.outputs.length + k]!, Math.max(...series)],
        ];
        for (const [got, want] of checks) worst = Math.max(worst, Math.abs(got - want) / Math.abs(want));
      }
    }
    console.info(`[${b.backend}] RCR ensemble vs full solver: max relative difference ${worst.toExponential(2)}`);
    expect(worst).toBeLessThan(tol);
  });
});

it('CPU RCR kernel: all four interleaved lanes and the remainder (N = 301) match the full solver', async () => {
  const cfg = rcrCase();
  const s = samples(301);
  const sum = await simulateEnsemble(cfg, s, { backend: 'cpu', outputs: ['pressure:INFLOW:branch0_seg0'] });
  for (const v of [0, 1, 2, 3, 298, 299, 300]) {
    const overrides = Object.fromEntries(s.names.map((k, j) => [k, s.values[v * s.names.length + j]!]));
    const ref = await simulate({ ...cfg, simulation_parameters: { ...(cfg.simulation_parameters as object), output_all_cycles: false } }, { overrides });
    const d = ref.model.dofNames.indexOf('pressure:INFLOW:branch0_seg0');
    const series = ref.y.map((y) => y[d]!);
    // 1e-9 relative: Newton in the full solver stops at |residual| < 1e-9 (absolute_tolerance of the case).
    expect(Math.abs(sum.mean[v]! - series.reduce((a, x) => a + x, 0) / series.length) / Math.abs(sum.mean[v]!)).toBeLessThan(1e-9);
    expect(Math.abs(sum.max[v]! - Math.max(...series)) / Math.abs(sum.max[v]!)).toBeLessThan(1e-9);
  }
});

it('CPU RCR kernel: variants in later slices give the bits they give when run alone', async () => {
  // 80 cycles of 201 points: slices of 12 variants (2e5 model-steps each), so most variants run in a slice that
  // starts past variant 0 (the per-slice state arrays are indexed from the slice's start).
  const cfg = rcrCase();
  cfg.simulation_parameters = { ...(cfg.simulation_parameters as object), number_of_cardiac_cycles: 80 };
  const s = samples(30);
  const all = await simulateEnsemble(cfg, s, { backend: 'cpu' });
  for (const v of [13, 26, 29]) {
    const one = await simulateEnsemble(cfg, { names: s.names, values: s.values.slice(v * 5, v * 5 + 5) }, { backend: 'cpu' });
    expect(Array.from(all.mean.subarray(v * all.outputs.length, (v + 1) * all.outputs.length))).toEqual(Array.from(one.mean));
    expect(Array.from(all.max.subarray(v * all.outputs.length, (v + 1) * all.outputs.length))).toEqual(Array.from(one.max));
  }
});
it('general models run the generated f64 kernel on the CPU, with flow splits (bifurcation)', async () => {
  const cfg = JSON.parse(readFileSync(join(ROOT, 'steadyFlow_bifurcationR_R1.json'), 'utf8')) as SvZeroDConfig;
  const s: EnsembleSamples = { names: ['OUT1.R', 'OUT2.R'], values: Float64Array.of(100, 100, 100, 300) };
  const sum = await simulateEnsemble(cfg, s, { backend: 'cpu', outputs: ['pressure:J0:branch1_seg0'] });
  expect(sum.kernel).toBe('general');
  expect(sum.splitNames).toEqual(['flow:branch1_seg0:OUT1', 'flow:branch2_seg0:OUT2']);
  // Analytic (case description): equal branches split 2.5/2.5; with R2 = 300, Q1 = Q (R2 + 100)/(R1 + R2 + 200) = 5 * 400/600.
  const tol = 1e-7;
  expect(Math.abs(sum.splits[0]! - 0.5)).toBeLessThan(tol);
  expect(Math.abs(sum.splits[2]! - 400 / 600)).toBeLessThan(tol);
  // junction pressure = Q1 (R1 + 100) + Pd = (10/3) * 200 + 100
  expect(Math.abs(sum.mean[1]! - ((10 / 3) * 200 + 100)) / 800).toBeLessThan(tol);
  const full = resultTable(await simulate(cfg));
  expect(full.name.length).toBeGreaterThan(0);
});

/** Per-variant summaries of the full f64 solver (the reference), as `simulateEnsemble` defines them. */
async function referenceSummary(cfg: SvZeroDConfig, s: EnsembleSamples, v: number, outputs: string[]): Promise<Array<{ mean: number; min: number; max: number; scale: number }>> {
  const overrides = Object.fromEntries(s.names.map((k, j) => [k, s.values[v * s.names.length + j]!]));
  const ref = await simulate({ ...cfg, simulation_parameters: { ...(cfg.simulation_parameters as object), output_all_cycles: false } }, { overrides });
  return outputs.map((o) => {
    const d = ref.model.dofNames.indexOf(o);
    const series = ref.y.map((y) => y[d]!);
    return {
      mean: series.reduce((a, x) => a + x, 0) / series.length,
      min: Math.min(...series),
      max: Math.max(...series),
      scale: Math.max(...series.map(Math.abs)),
    };
  });
}

const fixture = (name: string, sim: Record<string, unknown> = {}): SvZeroDConfig => {
  const cfg = JSON.parse(readFileSync(join(ROOT, `${name}.json`), 'utf8')) as SvZeroDConfig;
  return { ...cfg, simulation_parameters: { ...(cfg.simulation_parameters as object), ...sim } };
};

/** chamber_elastance_inductor with its chamber made exponential (passive curve Kxp (exp(Kxv (V - Vaso)) - 1)). */
function exponentialChamber(): SvZeroDConfig {
  const cfg = fixture('chamber_elastance_inductor', { number_of_cardiac_cycles: 2 });
  const chambers = (cfg.chambers as Array<Record<string, unknown>>).map((c) => ({
    ...c,
    type: 'ChamberElastanceInductorExponential',
    values: { Impedance: 0.000351787, Emax: 1.057, Kxp: 0.3, Kxv: 0.05, Vaso: 18.0 },
  }));
  return { ...cfg, chambers };
}

describeBackends('hemo ensemble (general models)', (b) => {
  // Open-loop models with inductance, capacitance, stenosis, junctions, valves and chambers, and a closed
  // loop of elastance chambers and piecewise valves (2 cycles keep the SwiftShader run short). 1e-3 relative to each quantity's largest magnitude over the cycle (the issue's
  // tolerance; a flow that crosses zero has no relative error of its own): f32 states carry 2^-24
  // relative rounding per step, the generalized-alpha recurrence damps it (rho_inf = 0.5), and Newton stops
  // at the f32 rounding level of each equation, so a few hundred steps stay near 1e-5. CPU: 1e-12 (the
  // generated f64 kernel: the solver's scheme and Newton test, a static pivot order and its own summation
  // order, so 2^-53 roundings amplified by the LU; observed 7e-14 at most).
  const cases: Array<[string, SvZeroDConfig, EnsembleSamples]> = [
    ['pulsatileFlow_CRL', fixture('pulsatileFlow_CRL', { number_of_cardiac_cycles: 2 }), { names: ['branch0_seg0.R_poiseuille', 'branch0_seg0.L', 'branch0_seg0.stenosis_coefficient'], values: Float64Array.of(100, 1, 0, 80, 1.5, 0.5, 130, 0.6, 2) }],
    // FLOW -> RC vessel -> RCR: a vessel capacitance takes it off the specialised RCR kernel.
    ['pulsatileFlow_R_RCR (vessel C)', fixture('pulsatileFlow_R_RCR', { number_of_cardiac_cycles: 2 }), { names: ['branch0_seg0.C', 'OUT.Rd'], values: Float64Array.of(1e-5, 1000, 3e-5, 1400) }],
    ['steadyFlow_blood_vessel_junction', fixture('steadyFlow_blood_vessel_junction'), { names: ['J0.R_poiseuille[1]', 'J0.stenosis_coefficient[0]', 'J0.stenosis_coefficient[1]'], values: Float64Array.of(50, 0, 0, 200, 3, 8) }],
    ['steadyFlow_stenosis_R', fixture('steadyFlow_stenosis_R'), { names: ['branch0_seg0.stenosis_coefficient'], values: Float64Array.of(0.5, 2) }],
    // PRESSURE -> RC vessel -> ValveTanh -> RC vessel -> RESISTANCE, steady start, a smooth valve that switches.
    ['valve_tanh', fixture('valve_tanh', { number_of_cardiac_cycles: 2 }), { names: ['valve.Rmin', 'OUTLET.R'], values: Float64Array.of(100, 1000, 150, 800) }],
    // PRESSURE -> ValveTanh -> ChamberElastanceInductor -> ValveTanh -> vessel -> RESISTANCE.
    ['chamber_elastance_inductor', fixture('chamber_elastance_inductor', { number_of_cardiac_cycles: 2 }), { names: ['ventricle.Emax'], values: Float64Array.of(1.0, 1.4) }],
    // The same circuit with an exponential (ChamberElastanceInductorExponential) chamber.
    ['chamber_elastance_inductor (exponential)', exponentialChamber(), { names: ['ventricle.Kxp'], values: Float64Array.of(0.3, 0.5) }],
    // Closed loop: four LinearElastanceChambers (two-hill activation), PiecewiseValves, vessels, junctions.
    ['closed_loop_two_hill', fixture('closed_loop_two_hill', { number_of_cardiac_cycles: 2 }), { names: ['LV.Emax'], values: Float64Array.of(3.0e8, 3.6e8) }],
  ];
  for (const [name, cfg, s] of cases) {
    it(`${name}: agrees with the full f64 solver per variant`, async () => {
      const sum = await simulateEnsemble(cfg, s, b.options());
      expect(sum.kernel).toBe('general');
      expect(sum.backend).toBe(b.backend);
      expect(sum.cpuVariants).toEqual([]);
      const tol = b.backend === 'cpu' ? 1e-12 : 1e-3;
      let worst = 0;
      for (let v = 0; v < sum.n; v++) {
        (await referenceSummary(cfg, s, v, sum.outputs)).forEach((r, k) => {
          const o = v * sum.outputs.length + k;
          for (const [got, want] of [[sum.mean[o]!, r.mean], [sum.min[o]!, r.min], [sum.max[o]!, r.max]] as const) {
            worst = Math.max(worst, Math.abs(got - want) / (r.scale || 1));
          }
        });
      }
      console.info(`[${b.backend}] ${name}: max difference to the f64 solver ${worst.toExponential(2)} (relative to max |x|)`);
      expect(worst).toBeLessThan(tol);
    });
  }

  // The CPU half of the closed-loop parity case; its WebGPU half (the double-float kernel, and a variant handed
  // back to the CPU) is checked by `npm run bench -- hemo` (closedLoopDoubleFloatParity in benchmarks/hemo.bench.ts,
  // same case and tolerances), since compiling that 67,000-character kernel costs 26 s of one core on SwiftShader,
  // against 0.15 s for the run. The double-float kernel itself stays tested here by the 'df' case below.
  if (b.backend === 'cpu') {
    it('closed loop (ClosedLoopHeartAndPulmonary, ideal valves): agrees with the f64 solver per variant', async () => {
      // The generated f64 kernel against the f64 solver: 1e-12 relative to each quantity's largest magnitude (the
      // solver's scheme and Newton test, its own summation order; see the cases above).
      const cfg = fixture('closedLoopHeart_singleVessel', { number_of_cardiac_cycles: 2 });
      const s: EnsembleSamples = { names: ['RCR_aorta.Rd', 'CLH.Elv_s'], values: Float64Array.of(1.2, 3.1, 1.5, 2.8) };
      const sum = await simulateEnsemble(cfg, s, b.options());
      expect(sum.precision).toBe('f64');
      expect(sum.cpuVariants.length).toBeLessThan(sum.n);
      let worst = 0;
      for (let v = 0; v < sum.n; v++) {
        (await referenceSummary(cfg, s, v, sum.outputs)).forEach((r, k) => {
          const o = v * sum.outputs.length + k;
          for (const [got, want] of [[sum.mean[o]!, r.mean], [sum.min[o]!, r.min], [sum.max[o]!, r.max]] as const) worst = Math.max(worst, Math.abs(got - want) / (r.scale || 1));
        });
      }
      console.info(`[cpu] closed loop: max difference to the f64 solver ${worst.toExponential(2)} (handed back: ${sum.cpuVariants.join(', ') || 'none'})`);
      expect(worst).toBeLessThan(1e-12);
    });
  }

  it("precision 'df' runs any supported model in double-float (tanh valves, exponential chamber)", async () => {
    // Same circuit as 'chamber_elastance_inductor (exponential)': ValveTanh (df_tanh_safe) and an exponential
    // chamber (df_exp). Double-float pairs carry 2^-48 relative per operation and the kernel runs the CPU's
    // Newton loop and test, so its summaries follow the f64 ones far closer than f32 (2.5e-5 above): 1e-9
    // allows the LU's amplification of 2^-48 (observed below 1e-12); the CPU ignores the option (f64).
    const cfg = exponentialChamber();
    const s: EnsembleSamples = { names: ['ventricle.Kxp'], values: Float64Array.of(0.3, 0.5) };
    const sum = await simulateEnsemble(cfg, s, { ...b.options(), precision: 'df' });
    expect(sum.precision).toBe(b.backend === 'cpu' ? 'f64' : 'df');
    expect(sum.cpuVariants).toEqual([]);
    let worst = 0;
    for (let v = 0; v < sum.n; v++) {
      (await referenceSummary(cfg, s, v, sum.outputs)).forEach((r, k) => {
        const o = v * sum.outputs.length + k;
        for (const [got, want] of [[sum.mean[o]!, r.mean], [sum.min[o]!, r.min], [sum.max[o]!, r.max]] as const) worst = Math.max(worst, Math.abs(got - want) / (r.scale || 1));
      });
    }
    console.info(`[${b.backend}] exponential chamber, precision df: max difference to the f64 solver ${worst.toExponential(2)} (relative to max |x|)`);
    expect(worst).toBeLessThan(b.backend === 'cpu' ? 1e-12 : 1e-9);
    // Its own timeout: the WebGPU run compiles a double-float kernel on SwiftShader, about 8 s of one core, and
    // took over 60 s while eight engineers shared the two cores.
  }, 180_000);

  it('a single-cycle RCR ensemble (the initial state is in the summary) runs on either backend', async () => {
    const cfg = fixture('pulsatileFlow_R_RCR', { number_of_cardiac_cycles: 1 });
    const s = samples(3);
    const sum = await simulateEnsemble(cfg, s, b.options());
    expect(sum.kernel).toBe(b.backend === 'cpu' ? 'rcr' : 'general');
    // CPU: the RCR recurrence vs Newton stopping at |r| < 1e-9 (1e-9 relative, as above); WebGPU: 1e-3, f32.
    const tol = b.backend === 'cpu' ? 1e-9 : 1e-3;
    let worst = 0;
    for (let v = 0; v < sum.n; v++) {
      (await referenceSummary(cfg, s, v, sum.outputs)).forEach((r, k) => {
        const o = v * sum.outputs.length + k;
        for (const [got, want] of [[sum.mean[o]!, r.mean], [sum.min[o]!, r.min], [sum.max[o]!, r.max]] as const) worst = Math.max(worst, Math.abs(got - want) / (r.scale || 1));
      });
    }
    expect(worst).toBeLessThan(tol);
  });

  it('rejects a block type without a GPU generator (webgpu) and runs it on the CPU otherwise', async () => {
    const cfg = fixture('pulsatileFlow_R_coronary', { number_of_cardiac_cycles: 1 });
    const s: EnsembleSamples = { names: ['OUT.Ra1'], values: Float64Array.of(100) };
    if (b.backend === 'webgpu') {
      await expect(simulateEnsemble(cfg, s, b.options())).rejects.toMatchObject({ code: 'INVALID_ARGUMENT', message: expect.stringMatching(/does not support CORONARY block 'OUT'/) });
    } else {
      expect((await simulateEnsemble(cfg, s, b.options())).backend).toBe('cpu');
    }
  });
});

describe('hemo ensemble backends', () => {
  it("'auto' runs models without a GPU kernel on the CPU; unknown backends and precisions are rejected", async () => {
    const cfg = fixture('pulsatileFlow_R_coronary', { number_of_cardiac_cycles: 1 });
    const s: EnsembleSamples = { names: ['OUT.Ra1'], values: Float64Array.of(100) };
    expect((await simulateEnsemble(cfg, s, { backend: 'auto' })).backend).toBe('cpu');
    await expect(simulateEnsemble(cfg, s, { backend: 'gpu' as 'cpu' })).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
    await expect(simulateEnsemble(cfg, s, { precision: 'f64' as 'df' })).rejects.toMatchObject({ code: 'INVALID_ARGUMENT', message: expect.stringMatching(/precision must be/) });
  });

  it('rejects empty and non-finite samples before any backend runs, naming the variant', async () => {
    const cfg = fixture('pulsatileFlow_R_RCR', { number_of_cardiac_cycles: 2 });
    await expect(simulateEnsemble(cfg, { names: ['OUT.Rd'], values: new Float64Array(0) })).rejects.toMatchObject({ code: 'INVALID_ARGUMENT', message: expect.stringMatching(/no variants/) });
    const nan = { names: ['OUT.Rd', 'OUT.C'], values: Float64Array.of(1000, 1e-4, 1200, Number.NaN) };
    for (const backend of ['cpu', 'webgpu', 'auto'] as const) {
      await expect(simulateEnsemble(cfg, nan, { backend })).rejects.toMatchObject({ code: 'INVALID_ARGUMENT', message: expect.stringMatching(/variant 1, OUT\.C = NaN is not finite/) });
    }
  });

  it('names the variant when the f64 solver diverges', async () => {
    // Two Newton iterations suffice for the linear variant (no stenosis), not for the stenotic one.
    const cfg = fixture('steadyFlow_stenosis_R', { maximum_nonlinear_iterations: 2 });
    const s: EnsembleSamples = { names: ['branch0_seg0.stenosis_coefficient'], values: Float64Array.of(0, 5) };
    await expect(simulateEnsemble(cfg, s)).rejects.toMatchObject({ code: 'SOLVER_DIVERGED', message: expect.stringMatching(/^SOLVER_DIVERGED: variant 1: Newton iterations did not converge/) });
  });
});
