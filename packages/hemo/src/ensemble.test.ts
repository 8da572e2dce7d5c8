import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describeBackends } from '@physiotwin/gpu/testing';
import { expect, it } from 'vitest';
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
    const tol = b.backend === 'cpu' ? 1e-9 : 1e-3;
    let worst = 0;
    for (let v = 0; v < s.values.length / s.names.length; v++) {
      const overrides = Object.fromEntries(s.names.map((k, j) => [k, s.values[v * s.names.length + j]!]));
      const ref = simulate({ ...cfg, simulation_parameters: { ...(cfg.simulation_parameters as object), output_all_cycles: false } }, { overrides });
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
  const sum = await simulateEnsemble(cfg, s, { outputs: ['pressure:INFLOW:branch0_seg0'] });
  for (const v of [0, 1, 2, 3, 298, 299, 300]) {
    const overrides = Object.fromEntries(s.names.map((k, j) => [k, s.values[v * s.names.length + j]!]));
    const ref = simulate({ ...cfg, simulation_parameters: { ...(cfg.simulation_parameters as object), output_all_cycles: false } }, { overrides });
    const d = ref.model.dofNames.indexOf('pressure:INFLOW:branch0_seg0');
    const series = ref.y.map((y) => y[d]!);
    // 1e-9 relative: Newton in the full solver stops at |residual| < 1e-9 (absolute_tolerance of the case).
    expect(Math.abs(sum.mean[v]! - series.reduce((a, x) => a + x, 0) / series.length) / Math.abs(sum.mean[v]!)).toBeLessThan(1e-9);
    expect(Math.abs(sum.max[v]! - Math.max(...series)) / Math.abs(sum.max[v]!)).toBeLessThan(1e-9);
  }
});

it('general models run the full solver per variant, with flow splits (bifurcation)', async () => {
  const cfg = JSON.parse(readFileSync(join(ROOT, 'steadyFlow_bifurcationR_R1.json'), 'utf8')) as SvZeroDConfig;
  const s: EnsembleSamples = { names: ['OUT1.R', 'OUT2.R'], values: Float64Array.of(100, 100, 100, 300) };
  const sum = await simulateEnsemble(cfg, s, { outputs: ['pressure:J0:branch1_seg0'] });
  expect(sum.kernel).toBe('general');
  expect(sum.splitNames).toEqual(['flow:branch1_seg0:OUT1', 'flow:branch2_seg0:OUT2']);
  // Analytic (case description): equal branches split 2.5/2.5; with R2 = 300, Q1 = Q (R2 + 100)/(R1 + R2 + 200) = 5 * 400/600.
  const tol = 1e-7;
  expect(Math.abs(sum.splits[0]! - 0.5)).toBeLessThan(tol);
  expect(Math.abs(sum.splits[2]! - 400 / 600)).toBeLessThan(tol);
  // junction pressure = Q1 (R1 + 100) + Pd = (10/3) * 200 + 100
  expect(Math.abs(sum.mean[1]! - ((10 / 3) * 200 + 100)) / 800).toBeLessThan(tol);
  const full = resultTable(simulate(cfg));
  expect(full.name.length).toBeGreaterThan(0);
});
