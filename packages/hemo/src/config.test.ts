import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { isPhysiotwinError } from '@physiotwin/core';
import { describe, expect, it } from 'vitest';
import { simulate, type SvZeroDConfig } from './index.js';

function base(): Record<string, any> {
  return {
    simulation_parameters: { number_of_cardiac_cycles: 2, number_of_time_pts_per_cardiac_cycle: 5 },
    boundary_conditions: [
      { bc_name: 'IN', bc_type: 'FLOW', bc_values: { Q: [5, 5], t: [0, 1] } },
      { bc_name: 'OUT', bc_type: 'RESISTANCE', bc_values: { R: 100, Pd: 100 } },
    ],
    vessels: [{ vessel_id: 0, vessel_name: 'v', zero_d_element_type: 'BloodVessel', zero_d_element_values: { R_poiseuille: 100 }, boundary_conditions: { inlet: 'IN', outlet: 'OUT' } }],
  };
}

async function expectInvalid(cfg: SvZeroDConfig, path: string, text: RegExp): Promise<void> {
  try {
    await simulate(cfg);
    expect.unreachable('accepted an invalid config');
  } catch (e) {
    expect(isPhysiotwinError(e, 'CONFIG_INVALID')).toBe(true);
    expect((e as { location?: { jsonPath?: string } }).location?.jsonPath).toBe(path);
    expect((e as Error).message).toMatch(text);
  }
}

describe('config validation', () => {
  it('accepts the base case (steady 1100/600 as the analytic answer)', async () => {
    const r = await simulate(base());
    // Newton stops at max |residual| < 1e-8 (default absolute_tolerance): the upstream 1e-7 (1 + |y|) rule.
    expect(Math.abs(r.y[0]![r.model.dofNames.indexOf('pressure:IN:v')]! - 1100)).toBeLessThan(1e-7 * 1101);
  });
  it('rejects an unknown block type', async () => {
    const c = base();
    c.vessels[0].zero_d_element_type = 'BloodVesselXYZ';
    await expectInvalid(c, '$.vessels[0].zero_d_element_type', /unknown vessel block type 'BloodVesselXYZ'/);
    const d = base();
    d.boundary_conditions[1].bc_type = 'WINDKESSEL';
    await expectInvalid(d, '$.boundary_conditions[1].bc_type', /unknown boundary condition type/);
  });
  it('rejects a missing and an unknown parameter', async () => {
    const c = base();
    delete c.vessels[0].zero_d_element_values.R_poiseuille;
    await expectInvalid(c, '$.vessels[0].zero_d_element_values.R_poiseuille', /missing parameter 'R_poiseuille'/);
    const d = base();
    d.boundary_conditions[1].bc_values.Rx = 3;
    await expectInvalid(d, '$.boundary_conditions[1].bc_values.Rx', /unknown parameter 'Rx'/);
  });
  it('rejects inconsistent cardiac periods between time series', async () => {
    const c = base();
    c.boundary_conditions[1] = { bc_name: 'OUT', bc_type: 'PRESSURE', bc_values: { P: [1, 2, 1], t: [0, 0.5, 1.2] } };
    await expectInvalid(c, '$.boundary_conditions[1].bc_values.t', /Inconsistent cardiac cycle period/);
  });
  it('rejects unknown chamber, valve and closed-loop types, a missing activation parameter and a heart period that contradicts cardiac_period', async () => {
    const load = (name: string): Record<string, any> => JSON.parse(readFileSync(join(__dirname, '../../../fixtures/hemo/svzerod/cases', `${name}.json`), 'utf8'));
    const a = load('closed_loop_two_hill');
    a.chambers[1].type = 'ChamberXYZ';
    await expectInvalid(a, '$.chambers[1].type', /unknown chamber type 'ChamberXYZ'/);
    const b = load('closed_loop_two_hill');
    b.valves[2].type = 'MagicValve';
    await expectInvalid(b, '$.valves[2].type', /unknown valve type 'MagicValve'/);
    const c = load('closed_loop_two_hill');
    delete c.chambers[0].activation_function.tau_2;
    await expectInvalid(c, '$.chambers[0].activation_function.tau_2', /missing parameter 'tau_2' of two_hill activation/);
    const d = load('closedLoopHeart_singleVessel');
    d.simulation_parameters.cardiac_period = 2 * d.closed_loop_blocks[0].cardiac_cycle_period;
    await expectInvalid(d, '$.simulation_parameters.cardiac_period', /Inconsistent cardiac cycle period/);
    const e = load('closedLoopHeart_singleVessel');
    e.closed_loop_blocks[0].closed_loop_type = 'ClosedLoopHeartXYZ';
    await expectInvalid(e, '$.closed_loop_blocks[0].closed_loop_type', /unknown closed-loop block type/);
    const f = load('closedLoopHeart_singleVessel');
    delete f.closed_loop_blocks[0].parameters.Rpd;
    await expectInvalid(f, '$.closed_loop_blocks[0].parameters.Rpd', /missing parameter 'Rpd'/);
  });
  it('rejects dangling connections, bad numbers and non-matching series lengths', async () => {
    const c = base();
    c.vessels[0].boundary_conditions.outlet = 'NOPE';
    await expectInvalid(c, '$.vessels[0].boundary_conditions.outlet', /unknown block 'NOPE'/);
    const d = base();
    d.simulation_parameters.number_of_time_pts_per_cardiac_cycle = 1.5;
    await expectInvalid(d, '$.simulation_parameters.number_of_time_pts_per_cardiac_cycle', /integer/);
    const e = base();
    e.boundary_conditions[0].bc_values.t = [0, 0.5, 1];
    await expectInvalid(e, '$.boundary_conditions[0].bc_values.t', /3 samples but 'Q' has 2/);
    const f = base();
    f.boundary_conditions.push({ bc_name: 'LOOSE', bc_type: 'RESISTANCE', bc_values: { R: 1, Pd: 0 } });
    await expectInvalid(f, '$.boundary_conditions[2]', /connected to exactly one block/);
  });
  it('reports a Newton failure as SOLVER_DIVERGED with the time and the block', async () => {
    const c = base();
    c.vessels[0].zero_d_element_values.stenosis_coefficient = 100;
    // One iteration allowed: the first residual check fails, as an iteration cap would on a hard problem.
    c.simulation_parameters.maximum_nonlinear_iterations = 1;
    c.simulation_parameters.steady_initial = false;
    try {
      await simulate(c);
      expect.unreachable('no divergence reported');
    } catch (e) {
      expect(isPhysiotwinError(e, 'SOLVER_DIVERGED')).toBe(true);
      expect((e as Error).message).toMatch(/at t = 0\.25 s/);
      expect((e as Error).message).toMatch(/block '(v|IN|OUT)'/);
    }
  });
});
