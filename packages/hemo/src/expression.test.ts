import { isPhysiotwinError } from '@physiotwin/core';
import { describe, expect, it } from 'vitest';
import { compileTimeFunction } from './expression.js';
import { simulate, type SvZeroDConfig } from './index.js';

const f = (src: string): ((t: number) => number) => compileTimeFunction(src, '$.fn');

async function expectInvalid(run: () => unknown, path: string, text: RegExp): Promise<void> {
  try {
    await run();
    expect.unreachable('accepted an invalid expression');
  } catch (e) {
    expect(isPhysiotwinError(e, 'CONFIG_INVALID')).toBe(true);
    expect((e as { location?: { jsonPath?: string } }).location?.jsonPath).toBe(path);
    expect((e as Error).message).toMatch(text);
  }
}

describe('fn time expressions (ExprTk arithmetic)', () => {
  it('evaluates the upstream test expressions, case-insensitively', async () => {
    // timeDep_Flow / timeDep_Pressure: 2 pi cos(2 pi t) written with ATAN(1.) for pi/4.
    const q = f('2.0 * (4*ATAN(1.)) * COS(2.0 * (4*ATAN(1.)) * t)');
    for (const t of [0, 0.1, 0.37, 1.25]) expect(q(t)).toBeCloseTo(2 * Math.PI * Math.cos(2 * Math.PI * t), 12);
    expect(f('Sin(PI/2) + sqrt(16) - Exp(0)')(0)).toBe(4);
  });
  it('follows the usual precedence: power above unary minus, right-associative power, products before sums, comparisons last', async () => {
    // The two power forms follow the mathematical convention; ExprTk's own reading of them is not verified
    // (no upstream case uses them), see the module comment.
    expect(f('-2^2')(0)).toBe(-4);
    expect(f('2^3^2')(0)).toBe(512);
    expect(f('1 + 2 * 3 - 4 / 2')(0)).toBe(5);
    expect(f('7 % 3 + (1 + 2) * t')(2)).toBe(7);
    expect(f('t < 0.5')(0.25)).toBe(1);
    expect(f('t >= 0.5')(0.25)).toBe(0);
    expect(f('max(t, 1) + min(t, 1) + atan2(1, 1) * 4 / pi')(3)).toBe(5);
    expect(f('1e-3 * 2.5E+2 + .5')(0)).toBe(0.75);
  });
  it('rejects what it does not implement, with the position, instead of guessing', async () => {
    await expectInvalid(() => f('2 * x'), '$.fn', /unknown name 'x' .* at position 4/);
    await expectInvalid(() => f('sin(t'), '$.fn', /expected '\)'/);
    await expectInvalid(() => f('pow(t)'), '$.fn', /pow takes 2 argument/);
    await expectInvalid(() => f('t +'), '$.fn', /unexpected end/);
    await expectInvalid(() => f('t ? 1 : 2'), '$.fn', /unexpected '\?'/);
    await expectInvalid(() => f('('.repeat(1000) + 't' + ')'.repeat(1000)), '$.fn', /nesting deeper than 256/);
    await expectInvalid(() => f('2^'.repeat(1000) + 't'), '$.fn', /nesting deeper than 256/);
    expect(f('-'.repeat(2001) + 't')(2)).toBe(-2);
    expect(f(Array(2000).fill('t').join('+'))(1)).toBe(2000);
    await expectInvalid(() => f(Array(100000).fill('t').join('+')), '$.fn', /at most 4096/);
  });
  it('an fn FLOW drives the model at absolute time; a malformed or ambiguous fn is CONFIG_INVALID with its path', async () => {
    const cfg = (values: Record<string, unknown>): SvZeroDConfig => ({
      simulation_parameters: { number_of_cardiac_cycles: 2, number_of_time_pts_per_cardiac_cycle: 11, steady_initial: false, output_all_cycles: true },
      boundary_conditions: [
        { bc_name: 'IN', bc_type: 'FLOW', bc_values: values },
        { bc_name: 'OUT', bc_type: 'RESISTANCE', bc_values: { R: 100, Pd: 0 } },
      ],
      vessels: [{ vessel_id: 0, vessel_name: 'v', zero_d_element_type: 'BloodVessel', zero_d_element_values: { R_poiseuille: 100 }, boundary_conditions: { inlet: 'IN', outlet: 'OUT' } }],
    });
    // A linear ramp is not periodic: the flow keeps rising in the second cycle (period 1 s by default).
    const r = await simulate(cfg({ fn: '1 + t' }));
    const q = r.model.dofNames.indexOf('flow:IN:v');
    const p = r.model.dofNames.indexOf('pressure:IN:v');
    const last = r.y.length - 1;
    expect(r.times[last]).toBeCloseTo(2, 12);
    // Q is algebraic here (Q = Q_in(t)): the zero initial state is off by -1, and generalized-alpha damps an
    // algebraic (infinitely stiff) error by its root at infinity, -rho_inf = -0.5 per step (the defining property
    // of rho_inf; a linear input adds no error), so after 20 steps Q(2 s) = 3 - 0.5^20, up to rounding.
    // P = 200 Q for the two resistances in series.
    expect(Math.abs(r.y[last]![q]! - (3 - 0.5 ** 20))).toBeLessThan(1e-12);
    expect(Math.abs(r.y[last]![p]! - 200 * r.y[last]![q]!)).toBeLessThan(1e-6 * 600);
    await expectInvalid(() => simulate(cfg({ fn: '1 + s' })), '$.boundary_conditions[0].bc_values.fn', /unknown name 's'/);
    for (const inherited of ['constructor', '1 + __proto__', 'toString(t)']) {
      await expectInvalid(() => simulate(cfg({ fn: inherited })), '$.boundary_conditions[0].bc_values.fn', /unknown name/);
    }
    await expectInvalid(() => simulate(cfg({ fn: '1 + t', Q: [1, 2], t: [0, 1] })), '$.boundary_conditions[0].bc_values.fn', /all are given/);
    await expectInvalid(() => simulate(cfg({ fn: 3 })), '$.boundary_conditions[0].bc_values.fn', /non-empty string/);
    // fn stands only for a boundary condition's inflow or pressure: on an RCR it would replace C, which the
    // solver holds at its steady value.
    const rcr = cfg({ fn: '1 + t' });
    (rcr.boundary_conditions as Array<Record<string, unknown>>)[1] = { bc_name: 'OUT', bc_type: 'RCR', bc_values: { Rp: 100, Rd: 1000, Pd: 0, fn: '0.0001' } };
    await expectInvalid(() => simulate(rcr), '$.boundary_conditions[1].bc_values.fn', /FLOW and PRESSURE boundary conditions only/);
  });
});
