import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { convertUnit } from '@physiotwin/core';
import { describe, expect, it } from 'vitest';
import { resultTable, simulate, type SvZeroDConfig } from './index.js';

const ROOT = join(__dirname, '../../../fixtures/hemo/svzerod/cases');

/**
 * A physiological closed loop: svZeroDSolver's ClosedLoopHeartAndPulmonary with the heart and pulmonary
 * parameters of its test case `closedLoopHeart_singleVessel.json` (SimVascular/svZeroDSolver
 * tests/cases, parameters given there in mmHg-mL-s units, "x/pConv" with pConv = 1333.34), converted here to
 * CGS, closed by an aorta and a systemic ClosedLoopRCR. The systemic RCR and the stressed blood volume are
 * set to adult values: total resistance 1.1 mmHg s/mL (Rp 6 %), compliance 0.9 mL/mmHg, 220 mL added to the
 * chamber volumes of the upstream case (55 mL each).
 */
export function physiologicalClosedLoop(cycles = 30): SvZeroDConfig {
  const base = JSON.parse(readFileSync(join(ROOT, 'closedLoopHeart_singleVessel.json'), 'utf8')) as Record<string, unknown>;
  const heart = (base.closed_loop_blocks as Array<Record<string, unknown>>)[0]!;
  const hp = heart.parameters as Record<string, number>;
  const mmHg = convertUnit(1, 'mmHg', 'dyn/cm^2');
  // Quantities per unit of pressure (mmHg -> dyn/cm^2): resistances, inductances, elastances, Kxp scale up;
  // compliances scale down; volumes, times and exponents (Kxv in 1/mL) are unchanged.
  const pressureLike = ['Erv_s', 'Elv_s', 'Lrv_a', 'Rrv_a', 'Lra_v', 'Rra_v', 'Lla_v', 'Rla_v', 'Rlv_ao', 'Llv_a', 'Rpd', 'Kxp_ra', 'Emax_ra', 'Kxp_la', 'Emax_la'];
  const complianceLike = ['Cp', 'Cpa'];
  const params: Record<string, number> = {};
  for (const [k, v] of Object.entries(hp)) {
    if (k.startsWith('_')) continue;
    params[k] = pressureLike.includes(k) ? v * mmHg : complianceLike.includes(k) ? v / mmHg : v;
  }
  const Rt = 1.1 * mmHg;
  return {
    simulation_parameters: { number_of_cardiac_cycles: cycles, number_of_time_pts_per_cardiac_cycle: 100, steady_initial: false, absolute_tolerance: 1e-8 },
    boundary_conditions: [{ bc_name: 'RCR_aorta', bc_type: 'ClosedLoopRCR', bc_values: { Rp: 0.06 * Rt, Rd: 0.94 * Rt, C: 0.9 / mmHg, closed_loop_outlet: true } }],
    vessels: [
      { vessel_id: 0, vessel_name: 'aorta', zero_d_element_type: 'BloodVessel', zero_d_element_values: { R_poiseuille: 0.003348073 * mmHg, L: 0.004 * mmHg }, boundary_conditions: { outlet: 'RCR_aorta' } },
    ],
    closed_loop_blocks: [{ outlet_blocks: ['aorta'], closed_loop_type: 'ClosedLoopHeartAndPulmonary', cardiac_cycle_period: heart.cardiac_cycle_period, parameters: params }],
    initial_condition: { 'V_RA:CLH': 38.43 + 55, 'V_RV:CLH': 96.07 + 55, 'V_LA:CLH': 38.43 + 55, 'V_LV:CLH': 96.07 + 55, 'P_pul:CLH': 8 * mmHg },
  };
}

describe('closed-loop heart and pulmonary circulation', () => {
  it('gives a physiological aortic pressure (about 120/80 mmHg) and cardiac output (4-8 L/min)', async () => {
    const r = await simulate(physiologicalClosedLoop());
    const t = resultTable(r, false);
    const p = t.values.pressure_in!;
    const q = t.values.flow_in!;
    let pmin = Infinity;
    let pmax = -Infinity;
    let volume = 0;
    for (let i = 0; i < p.length; i++) {
      pmin = Math.min(pmin, convertUnit(p[i]!, 'dyn/cm^2', 'mmHg'));
      pmax = Math.max(pmax, convertUnit(p[i]!, 'dyn/cm^2', 'mmHg'));
      if (i > 0) volume += 0.5 * (q[i]! + q[i - 1]!) * (t.time[i]! - t.time[i - 1]!);
    }
    const co = convertUnit(volume / r.model.period, 'mL/s', 'L/min');
    console.info(`closed loop, last of ${r.cycles} cycles: aortic pressure ${pmax.toFixed(1)}/${pmin.toFixed(1)} mmHg, cardiac output ${co.toFixed(2)} L/min, ${r.meanNewtonIterations.toFixed(2)} Newton iterations per step`);
    expect(pmax).toBeGreaterThan(105);
    expect(pmax).toBeLessThan(140);
    expect(pmin).toBeGreaterThan(65);
    expect(pmin).toBeLessThan(95);
    expect(co).toBeGreaterThan(4);
    expect(co).toBeLessThan(8);
  });

  it('responds smoothly to input perturbations: the ideal valves switch at the same steps (what a double-float kernel relies on)', async () => {
    // The f64 solution as a function of the inputs: perturbing two parameters by a relative 1e-7 must move
    // every unknown's cycle mean, minimum and maximum by about that much (observed 8e-8 relative to max |x|),
    // not by the 1e-3-1e-2 a valve event moved by one step causes. So a GPU kernel whose arithmetic tracks
    // the f64 one to 2^-48 per operation can agree with it far within 1e-3.
    const cfg = JSON.parse(readFileSync(join(ROOT, 'closedLoopHeart_singleVessel.json'), 'utf8')) as SvZeroDConfig;
    (cfg.simulation_parameters as Record<string, unknown>).number_of_cardiac_cycles = 5;
    const summary = async (f: number): Promise<Array<{ mean: number; min: number; max: number; scale: number }>> => {
      const r = await simulate(cfg, { overrides: { 'RCR_aorta.Rd': 1.2 * (1 + f), 'CLH.Elv_s': 3.1 * (1 - f) } });
      return r.model.dofNames.map((_, i) => {
        const x = r.y.map((y) => y[i]!);
        return { mean: x.reduce((a, b) => a + b, 0) / x.length, min: Math.min(...x), max: Math.max(...x), scale: Math.max(...x.map(Math.abs)) || 1 };
      });
    };
    const a = await summary(0);
    const b = await summary(1e-7);
    let worst = 0;
    a.forEach((s, i) => {
      const t = b[i]!;
      worst = Math.max(worst, Math.abs(s.mean - t.mean) / s.scale, Math.abs(s.min - t.min) / s.scale, Math.abs(s.max - t.max) / s.scale);
    });
    console.info(`closed loop: a 1e-7 input perturbation moves the summaries by ${worst.toExponential(2)} (relative to max |x|)`);
    expect(worst).toBeLessThan(1e-6);
  });
});
