import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { resultTable, simulate, type SvZeroDConfig } from './index.js';

const ROOT = join(__dirname, '../../../fixtures/hemo/svzerod/cases');
const load = (name: string): Record<string, any> => JSON.parse(readFileSync(join(ROOT, `${name}.json`), 'utf8'));

async function cycleMeans(cfg: SvZeroDConfig, column: string): Promise<number[]> {
  const t = resultTable(await simulate(cfg), false);
  const pts = (cfg.simulation_parameters as { number_of_time_pts_per_cardiac_cycle: number }).number_of_time_pts_per_cardiac_cycle;
  const v = t.values[column]!;
  const means: number[] = [];
  for (let start = 0; start + pts <= v.length; start += pts - 1) {
    let s = 0;
    for (let i = 0; i < pts; i++) s += v[start + i]!;
    means.push(s / pts);
  }
  return means;
}

describe('cycle-to-cycle convergence (use_cycle_to_cycle_error)', () => {
  it('with an RCR: runs ceil(-tau_max / T ln(err)) cycles (Pfaller 2021 eq. 21)', async () => {
    const cfg = load('pulsatileFlow_R_RCR');
    cfg.simulation_parameters.use_cycle_to_cycle_error = true;
    cfg.simulation_parameters.sim_cycle_to_cycle_percent_error = 0.001;
    cfg.boundary_conditions[1].bc_values.C = 1e-3; // tau = Rd C = 1 s, T = 1 s
    const r = await simulate(cfg);
    expect(r.cycles).toBe(Math.ceil(-1 * Math.log(1e-5)));
    expect(r.steps).toBe(r.cycles * 200);
  });

  it('without an RCR: adds cycles until the mean cap pressure and flow change by less than the error', async () => {
    const cfg = load('pulsatileFlow_R_coronary');
    cfg.simulation_parameters.number_of_cardiac_cycles = 2;
    cfg.simulation_parameters.steady_initial = false;
    cfg.simulation_parameters.use_cycle_to_cycle_error = true;
    cfg.simulation_parameters.sim_cycle_to_cycle_percent_error = 0.1;
    const r = await simulate(cfg);
    expect(r.cycles).toBeGreaterThan(2);
    const all = { ...cfg, simulation_parameters: { ...cfg.simulation_parameters, output_all_cycles: true, use_cycle_to_cycle_error: false, number_of_cardiac_cycles: r.cycles } };
    // The single vessel has boundary conditions at both ends: upstream checks such a cap at its inlet
    // (`Solver::get_vessel_caps_dof_indices`), mean flow and mean pressure.
    const p = await cycleMeans(all, 'pressure_in');
    const q = await cycleMeans(all, 'flow_in');
    const change = (m: number[], k: number): number => Math.abs((m[k]! - m[k - 1]!) / m[k - 1]!);
    const rel = (k: number): number => Math.max(change(p, k), change(q, k));
    const m = p;
    console.info(`coronary without steady start: ${r.cycles} cycles; relative change of the mean inlet pressure/flow over the last two cycles ${rel(m.length - 1).toExponential(2)}, one cycle earlier ${rel(m.length - 2).toExponential(2)}`);
    expect(rel(m.length - 1)).toBeLessThanOrEqual(1e-3);
    expect(rel(m.length - 2)).toBeGreaterThan(1e-3);
  });

  it('without an RCR and without output_all_cycles: writes the last configured cycle, as upstream does, not the last simulated one', async () => {
    // Upstream Solver::run keeps the output window of the configured cycle count while it runs extra cycles.
    const cfg = load('pulsatileFlow_R_coronary');
    Object.assign(cfg.simulation_parameters, { number_of_cardiac_cycles: 2, steady_initial: false, output_all_cycles: false, use_cycle_to_cycle_error: true, sim_cycle_to_cycle_percent_error: 0.1 });
    const extended = await simulate(cfg);
    const plain = await simulate({ ...cfg, simulation_parameters: { ...cfg.simulation_parameters, use_cycle_to_cycle_error: false } });
    expect(extended.cycles).toBeGreaterThan(2);
    // Two configured cycles: upstream also appends the end state of each extra cycle (i reaches startLast there).
    expect(extended.y.length).toBe(plain.y.length + (extended.cycles - 2));
    for (let k = 0; k < plain.y.length; k++) {
      expect(extended.times[k]).toBe(plain.times[k]);
      expect(Array.from(extended.y[k]!)).toEqual(Array.from(plain.y[k]!));
    }
  });
});
