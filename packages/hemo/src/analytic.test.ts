import { describe, expect, it } from 'vitest';
import { simulate, type SvZeroDConfig } from './index.js';

/**
 * Analytic checks of the RCR Windkessel, P_in = Rp Q + Pc, C dPc/dt = Q - (Pc - Pd)/Rd, driven by a FLOW
 * boundary condition through a zero-resistance vessel. Errors are printed and the observed order of
 * convergence in dt is asserted (generalized-alpha with rho = 0.5 is second order).
 */
const Rp = 100;
const Rd = 1000;
const C = 1e-3; // tau = Rd C = 1 s
const Pd = 1000;
const tau = Rd * C;

function rcrConfig(t: number[], q: number[], pts: number, cycles: number, extra: Partial<SvZeroDConfig>): SvZeroDConfig {
  return {
    simulation_parameters: { number_of_cardiac_cycles: cycles, number_of_time_pts_per_cardiac_cycle: pts, output_all_cycles: true, absolute_tolerance: 1e-10, ...((extra.simulation_parameters as object) ?? {}) },
    boundary_conditions: [
      { bc_name: 'IN', bc_type: 'FLOW', bc_values: { t, Q: q } },
      { bc_name: 'OUT', bc_type: 'RCR', bc_values: { Rp, Rd, C, Pd } },
    ],
    vessels: [{ vessel_id: 0, vessel_name: 'v', zero_d_element_type: 'BloodVessel', zero_d_element_values: { R_poiseuille: 0 }, boundary_conditions: { inlet: 'IN', outlet: 'OUT' } }],
    ...(extra.initial_condition ? { initial_condition: extra.initial_condition, initial_condition_d: extra.initial_condition_d } : {}),
  };
}

function order(errors: number[]): number[] {
  return errors.slice(1).map((e, i) => Math.log2(errors[i]! / e));
}

describe('RCR analytic solutions', () => {
  it('constant inflow relaxes to Pd + Q (Rp + Rd) with time constant Rd C, second order in dt', async () => {
    const Q = 5;
    const T = 5 * tau;
    const errors: number[] = [];
    const rows: string[] = [];
    for (const pts of [26, 51, 101, 201, 401]) {
      // Consistent start: Pc = Pd, dPc/dt = Q / C.
      const cfg = rcrConfig([0, T], [Q, Q], pts, 1, {
        simulation_parameters: { steady_initial: false },
        initial_condition: { 'flow:IN:v': Q, 'flow:v:OUT': Q, 'pressure:IN:v': Pd + Rp * Q, 'pressure:v:OUT': Pd + Rp * Q, 'pressure_c:OUT': Pd },
        initial_condition_d: { 'pressure_c:OUT': Q / C },
      });
      const r = await simulate(cfg);
      const ip = r.model.dofNames.indexOf('pressure:v:OUT');
      let err = 0;
      for (let k = 0; k < r.times.length; k++) {
        const t = r.times[k]!;
        const exact = Pd + Rp * Q + Q * Rd * (1 - Math.exp(-t / tau));
        err = Math.max(err, Math.abs(r.y[k]![ip]! - exact));
      }
      errors.push(err);
      rows.push(`dt = ${(T / (pts - 1)).toExponential(3)} s: max |P_in - exact| = ${err.toExponential(3)} dyn/cm^2 (relative to Q (Rp+Rd) = ${(err / (Q * (Rp + Rd))).toExponential(3)})`);
      // The end state is the analytic asymptote minus the exp(-5) remainder.
      const end = r.y[r.y.length - 1]![ip]!;
      expect(Math.abs(end - (Pd + Q * (Rp + Rd) - Q * Rd * Math.exp(-5)))).toBeLessThanOrEqual(err);
    }
    const p = order(errors);
    console.info(['RCR step response (constant Q):', ...rows, `observed orders: ${p.map((x) => x.toFixed(3)).join(', ')}`].join('\n'));
    for (const x of p) expect(x).toBeGreaterThan(1.9);
    for (const x of p) expect(x).toBeLessThan(2.1);
  });

  it('sinusoidal inflow reaches the analytic periodic solution, second order in dt', async () => {
    const Q0 = 5;
    const A = 3;
    const T = 1;
    const w = (2 * Math.PI) / T;
    const errors: number[] = [];
    const rows: string[] = [];
    // 12 cycles: the start-up transient decays as exp(-12 T / tau) ~ 6e-6 relative before the checked cycle.
    const cycles = 12;
    const tauS = 0.25;
    for (const pts of [51, 101, 201, 401]) {
      // Inflow sampled on the step grid: its interpolation error is O(dt^2) as well.
      const t = Array.from({ length: pts }, (_, i) => (i * T) / (pts - 1));
      const q = t.map((x) => Q0 + A * Math.sin(w * x));
      const cfg = rcrConfig(t, q, pts, cycles, { simulation_parameters: { output_all_cycles: false } });
      (cfg.boundary_conditions as Array<{ bc_values: Record<string, number> }>)[1]!.bc_values.C = tauS / Rd;
      const r = await simulate(cfg);
      const ipc = r.model.dofNames.indexOf('pressure_c:OUT');
      let err = 0;
      const wt = w * tauS;
      for (let k = 0; k < r.times.length; k++) {
        const tt = r.times[k]!; // last cycle re-based to 0, same phase since T divides the start time
        const exact = Pd + Q0 * Rd + ((A * Rd) / (1 + wt * wt)) * (Math.sin(w * tt) - wt * Math.cos(w * tt));
        err = Math.max(err, Math.abs(r.y[k]![ipc]! - exact));
      }
      errors.push(err);
      rows.push(`dt = ${(T / (pts - 1)).toExponential(3)} s: max |Pc - exact| = ${err.toExponential(3)} dyn/cm^2 (amplitude A Rd / sqrt(1 + (w tau)^2) = ${((A * Rd) / Math.sqrt(1 + wt * wt)).toFixed(1)})`);
    }
    const p = order(errors);
    console.info(['RCR periodic solution (Q0 + A sin wt):', ...rows, `observed orders: ${p.map((x) => x.toFixed(3)).join(', ')}`].join('\n'));
    for (const x of p) expect(x).toBeGreaterThan(1.8);
    for (const x of p) expect(x).toBeLessThan(2.2);
  });
});
