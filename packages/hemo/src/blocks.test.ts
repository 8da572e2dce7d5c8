import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { buildModel, Integrator, readSimulationSettings, simulate, type SvZeroDConfig, type SimulationResult } from './index.js';

const ROOT = join(__dirname, '../../../fixtures/hemo/svzerod/cases');
const load = (name: string): Record<string, any> => JSON.parse(readFileSync(join(ROOT, `${name}.json`), 'utf8'));
/** Newton stops at |residual| < absolute_tolerance: the upstream comparison rule. */
const close = (a: number, b: number): boolean => Math.abs(a - b) <= 1e-7 * (1 + Math.abs(b));

function last(r: SimulationResult, name: string): number {
  const i = r.model.dofNames.indexOf(name);
  expect(i).toBeGreaterThanOrEqual(0);
  return r.y[r.y.length - 1]![i]!;
}

describe('blocks without a reference case', () => {
  it('BloodVesselRC: steady flow gives P_in = Q (Rpd + R) + Pd', async () => {
    const cfg: SvZeroDConfig = {
      simulation_parameters: { number_of_cardiac_cycles: 30, number_of_time_pts_per_cardiac_cycle: 101, absolute_tolerance: 1e-10 },
      boundary_conditions: [
        { bc_name: 'IN', bc_type: 'FLOW', bc_values: { Q: [5, 5], t: [0, 1] } },
        { bc_name: 'OUT', bc_type: 'RESISTANCE', bc_values: { R: 100, Pd: 10 } },
      ],
      vessels: [{ vessel_id: 0, vessel_name: 'pul', zero_d_element_type: 'BloodVesselRC', zero_d_element_values: { Rpd: 200, Cp: 1e-3 }, boundary_conditions: { inlet: 'IN', outlet: 'OUT' } }],
    };
    const r = await simulate(cfg);
    expect(close(last(r, 'pressure:IN:pul'), 5 * 300 + 10)).toBe(true);
    expect(close(last(r, 'flow:pul:OUT'), 5)).toBe(true);
  });

  it('CORONARY_VAR_RES with Ra2_min = Ra2_max reproduces CORONARY (pulsatile case)', async () => {
    const a = load('pulsatileFlow_R_coronary');
    a.simulation_parameters.number_of_cardiac_cycles = 5;
    const b = structuredClone(a);
    const v = b.boundary_conditions[1].bc_values;
    b.boundary_conditions[1] = { bc_name: 'OUT', bc_type: 'CORONARY_VAR_RES', bc_values: { Ra1: v.Ra1, Rv1: v.Rv1, Ca: v.Ca, Cc: v.Cc, Pim: v.Pim, t: v.t, P_v: v.P_v, Ra2_min: v.Ra2, Ra2_max: v.Ra2, T_vc: 0.2, T_vr: 0.3 } };
    const ra = await simulate(a);
    const rb = await simulate(b);
    let worst = 0;
    for (let k = 0; k < ra.y.length; k++) for (let i = 0; i < ra.y[k]!.length; i++) worst = Math.max(worst, Math.abs(ra.y[k]![i]! - rb.y[k]![i]!) / (1 + Math.abs(ra.y[k]![i]!)));
    expect(worst).toBeLessThan(1e-12);
    // A varying Ram changes the result.
    b.boundary_conditions[1].bc_values.Ra2_max = 3 * v.Ra2;
    const rc = await simulate(b);
    const maxP = (r: SimulationResult): number => Math.max(...r.y.map((y) => y[r.model.dofNames.indexOf('pressure:branch0_seg0:OUT')]!));
    expect(maxP(rc) - maxP(ra)).toBeGreaterThan(1);
  });

  it('RCR with a time-dependent C: after the steady start it keeps the mean of C, as upstream caches it', async () => {
    // Upstream Model::to_steady stores C at its steady (mean) value and to_unsteady restores that constant.
    const withSeries = load('pulsatileFlow_R_RCR');
    withSeries.simulation_parameters.number_of_cardiac_cycles = 3;
    Object.assign(withSeries.boundary_conditions[1].bc_values, { C: [1e-4, 3e-4], t: [0, 1] });
    const withMean = structuredClone(withSeries);
    withMean.boundary_conditions[1].bc_values = { Rp: 1000, Rd: 1000, Pd: 0, C: 2e-4 };
    const pc = async (c: SvZeroDConfig): Promise<number[]> => {
      const r = await simulate(c);
      const i = r.model.dofNames.indexOf('pressure_c:OUT');
      return r.y.map((y) => y[i]!);
    };
    const a = await pc(withSeries);
    const b = await pc(withMean);
    let worst = 0;
    for (let k = 0; k < a.length; k++) worst = Math.max(worst, Math.abs(a[k]! - b[k]!));
    // Only the rounding of the mean, (1e-4 + 3e-4) / 2 vs 2e-4 (one ulp), separates the two runs.
    expect(worst).toBeLessThan(1e-13 * Math.max(...b.map(Math.abs)));
    // Without the steady start the series is used as given, and the result differs.
    withSeries.simulation_parameters.steady_initial = false;
    withMean.simulation_parameters.steady_initial = false;
    const c = await pc(withSeries);
    const d = await pc(withMean);
    expect(Math.max(...c.map((v, k) => Math.abs(v - d[k]!)))).toBeGreaterThan(1);
  });

  it('ChamberSphere (parameters of its header example) runs and conserves mass: Q_in - Q_out = dV/dt', async () => {
    const cfg: SvZeroDConfig = {
      simulation_parameters: { number_of_cardiac_cycles: 3, number_of_time_pts_per_cardiac_cycle: 501, steady_initial: false, output_all_cycles: true, output_variable_based: true, absolute_tolerance: 1e-8 },
      boundary_conditions: [
        { bc_name: 'IN', bc_type: 'PRESSURE', bc_values: { P: [1000, 1000], t: [0, 1] } },
        { bc_name: 'OUT', bc_type: 'RESISTANCE', bc_values: { R: 1e8, Pd: 0 } },
      ],
      // SI units as in the header example (Pa, m, m^3/s): filling through a resistance of 1e8 Pa s/m^3.
      vessels: [
        { vessel_id: 1, vessel_name: 'inflow', zero_d_element_type: 'BloodVessel', zero_d_element_values: { R_poiseuille: 1e8 }, boundary_conditions: { inlet: 'IN' } },
        { vessel_id: 0, vessel_name: 'ventricle', zero_d_element_type: 'ChamberSphere', zero_d_element_values: { rho: 1e3, thick0: 0.01, radius0: 0.05, W1: 10e3, W2: 40, eta: 10.0, sigma_max: 185e3, alpha_max: 30.0, alpha_min: -30.0, tsys: 0.17, tdias: 0.484, steepness: 0.005 }, boundary_conditions: { outlet: 'OUT' } },
      ],
      junctions: [{ junction_name: 'J', junction_type: 'NORMAL_JUNCTION', inlet_vessels: [1], outlet_vessels: [0] }],
    };
    const r = await simulate(cfg);
    const iq = r.model.dofNames.indexOf('flow:J:ventricle');
    const oq = r.model.dofNames.indexOf('flow:ventricle:OUT');
    const iv = r.model.dofNames.indexOf('volume:ventricle');
    expect(iv).toBeGreaterThan(0);
    // The equation holds at the generalized-alpha levels (y at n + alpha_f, ydot at n + alpha_m), where Newton
    // drives its residual below absolute_tolerance (1e-8).
    const am = 0.5 * (3 - 0.5) / 1.5;
    const af = 1 / 1.5;
    let worst = 0;
    let qmax = 0;
    for (let k = 1; k < r.y.length; k++) {
      const lv = (i: number): number => r.y[k - 1]![i]! + af * (r.y[k]![i]! - r.y[k - 1]![i]!);
      const vdot = r.ydot[k - 1]![iv]! + am * (r.ydot[k]![iv]! - r.ydot[k - 1]![iv]!);
      worst = Math.max(worst, Math.abs(lv(iq) - lv(oq) - vdot));
      qmax = Math.max(qmax, Math.abs(r.y[k]![iq]!));
    }
    console.info(`ChamberSphere: max |Q_in - Q_out - dV/dt| at the alpha levels ${worst.toExponential(2)} m^3/s (max |Q_in| ${qmax.toExponential(2)})`);
    expect(qmax).toBeGreaterThan(0);
    expect(worst).toBeLessThan(1e-8);
    expect(r.model.dofNames.filter((d) => d.endsWith(':ventricle') && !d.startsWith('flow') && !d.startsWith('pressure'))).toEqual(['radius:ventricle', 'velo:ventricle', 'stress:ventricle', 'tau:ventricle', 'volume:ventricle']);
  });

  it('ChamberSphere: stress term is 4 (1 - C^-3)(W1 + C W2) + eta dC/dt (1 + 2 C^-6) (upstream PR #217), Jacobian = derivatives of C', async () => {
    const cfg = load('chamber_sphere');
    const settings = readSimulationSettings(cfg);
    const model = buildModel(cfg, settings);
    const integ = new Integrator(model, settings.absoluteTolerance, settings.maxNonlinearIterations, settings.rhoInfinity);
    integ.setPhase(false, 0.002);
    const blk = model.blocks.find((b) => b.name === 'ventricle')!;
    const sys = integ.sys;
    const { W1, W2, eta, radius0: r0 } = cfg.vessels[1].zero_d_element_values as Record<string, number>;
    // A strongly deformed, moving state, so that every term matters: r = 0.3 r0, dr/dt = -0.7 m/s.
    const y = new Float64Array(integ.n);
    const yd = new Float64Array(integ.n);
    const [, , iPout, , iR, iV, iS] = blk.v;
    y[iPout!] = 1.2e4;
    y[iR!] = 0.3 * r0!;
    y[iV!] = -0.7;
    y[iS!] = 5e4;
    yd[iR!] = -0.7;
    const evalC = (yy: Float64Array, yyd: Float64Array): Float64Array => {
      blk.solution(sys, integ.ctx, yy, yyd);
      return Float64Array.from(blk.e.map((eq) => sys.C[eq]!));
    };
    const c0 = evalC(y, yd);
    // The header's spherical-stress equation with C = (1 + r/r0)^2 and dC/dt = 2 (1 + r/r0) dr / r0.
    const Cg = (1 + y[iR!]! / r0!) ** 2;
    const dCg = (2 * (1 + y[iR!]! / r0!) * yd[iR!]!) / r0!;
    const expected = 4 * (1 - Cg ** -3) * (W1! + Cg * W2!) + eta! * dCg * (1 + 2 * Cg ** -6);
    expect(Math.abs(c0[1]! - expected)).toBeLessThan(1e-12 * Math.abs(expected));
    // The pre-#217 term 2 eta dC/dt (1 - 2 C^-6) differs here by far more than that.
    expect(Math.abs(expected - (4 * (1 - Cg ** -3) * (W1! + Cg * W2!) + 2 * eta! * dCg * (1 - 2 * Cg ** -6)))).toBeGreaterThan(1);
    // Stored derivatives (read before the difference quotients overwrite them) against central differences.
    blk.solution(sys, integ.ctx, y, yd);
    // An entry the block never registered is a zero derivative (slot() would create it, so look it up first).
    const stored = (arr: 'dCdy' | 'dCdydot', eq: number, col: number): number =>
      sys.rows.some((r, i) => r === eq && sys.cols[i] === col) ? sys[arr][sys.slot(eq, col)]! : 0;
    const checks: Array<[string, 'dCdy' | 'dCdydot', number, number]> = [];
    for (const col of [iPout!, iR!, iV!, iS!]) for (let k = 0; k < 3; k++) checks.push([`dC${k}/d ${model.dofNames[col]}`, 'dCdy', k, col]);
    checks.push(['dC1/d (d radius/dt)', 'dCdydot', 1, iR!]);
    const want = checks.map(([, arr, k, col]) => stored(arr, blk.e[k]!, col));
    checks.forEach(([label, arr, k, col], i) => {
      const base = arr === 'dCdy' ? y : yd;
      const h = 1e-6 * Math.max(Math.abs(base[col]!), 1e-3);
      const plus = Float64Array.from(base);
      const minus = Float64Array.from(base);
      plus[col] = plus[col]! + h;
      minus[col] = minus[col]! - h;
      const fd = arr === 'dCdy' ? (evalC(plus, yd)[k]! - evalC(minus, yd)[k]!) / (2 * h) : (evalC(y, plus)[k]! - evalC(y, minus)[k]!) / (2 * h);
      // Central differences are exact to O(h^2) here; what remains is rounding, about eps |C| / h.
      const tol = 1e-8 * Math.abs(fd) + (10 * Number.EPSILON * Math.abs(c0[k]!)) / h + 1e-12;
      expect(Math.abs(want[i]! - fd), `${label}: stored ${want[i]} vs difference quotient ${fd}`).toBeLessThanOrEqual(tol);
    });
  });

  it('ClosedLoopCoronaryLeft/Right attach to the heart inlet junction and carry coronary flow', async () => {
    // The upstream closed-loop case (mmHg-mL-s units) with a left and a right coronary bed added.
    const cfg = load('closedLoopHeart_singleVessel');
    const mmHg = 1;
    const cor = (name: string, type: string): Record<string, unknown> => ({ bc_name: name, bc_type: type, bc_values: { Ra: 100 * mmHg, Ram: 150 * mmHg, Rv: 50 * mmHg, Ca: 0.001 / mmHg, Cim: 0.005 / mmHg } });
    cfg.boundary_conditions.push(cor('LCA', 'ClosedLoopCoronaryLeft'), cor('RCA', 'ClosedLoopCoronaryRight'));
    cfg.vessels.push(
      { vessel_id: 1, vessel_name: 'lca', zero_d_element_type: 'BloodVessel', zero_d_element_values: { R_poiseuille: 1 * mmHg }, boundary_conditions: { outlet: 'LCA' } },
      { vessel_id: 2, vessel_name: 'rca', zero_d_element_type: 'BloodVessel', zero_d_element_values: { R_poiseuille: 1 * mmHg }, boundary_conditions: { outlet: 'RCA' } },
    );
    cfg.closed_loop_blocks[0].outlet_blocks = ['branch0_seg0', 'lca', 'rca'];
    const r = await simulate(cfg);
    expect(r.model.dofNames).toContain('flow:LCA:J_heart_inlet');
    expect(r.model.dofNames).toContain('volume_im:RCA');
    // Mean coronary flow over the last cycle is positive and a small fraction of cardiac output.
    const mean = (d: string): number => {
      const i = r.model.dofNames.indexOf(d);
      return r.y.reduce((a, y) => a + y[i]!, 0) / r.y.length;
    };
    const qc = mean('flow:lca:LCA') + mean('flow:rca:RCA');
    const qa = mean('flow:branch0_seg0:RCR_aorta');
    expect(qc).toBeGreaterThan(0);
    expect(qc / (qc + qa)).toBeLessThan(0.2);
  });
});
