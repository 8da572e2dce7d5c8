import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { isPhysiotwinError } from '@physiotwin/core';
import { describe, expect, it } from 'vitest';
import { resultTable, samplesFromRecords, simulate, simulateEnsemble, type SvZeroDConfig } from './index.js';

const ROOT = join(__dirname, '../../../fixtures/hemo/svzerod/cases');
const load = (name: string): Record<string, any> => JSON.parse(readFileSync(join(ROOT, `${name}.json`), 'utf8'));

/** FLOW 5 mL/s -> BloodVessel R 100 -> RESISTANCE R 100, Pd 100: inlet pressure 1100 (steady). */
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

/** Awaits `run` and returns the typed error it must reject with. */
async function failure(run: () => Promise<unknown> | unknown): Promise<{ code: string; message: string; location?: { jsonPath?: string } }> {
  try {
    await run();
  } catch (e) {
    if (!isPhysiotwinError(e)) throw e;
    return e as never;
  }
  return expect.unreachable('no error');
}

describe('hostile and malformed configs get CONFIG_INVALID with a JSON path, never a raw error', () => {
  it('null config, non-object sections and entries, a 100,000-character name', async () => {
    const cases: Array<[unknown, string]> = [
      [null, '$'],
      [[], '$'],
      [{ ...base(), simulation_parameters: 5 }, '$.simulation_parameters'],
      [{ ...base(), vessels: {} }, '$.vessels'],
      [{ ...base(), boundary_conditions: [null] }, '$.boundary_conditions[0]'],
      [{ ...base(), junctions: ['x'] }, '$.junctions[0]'],
      [{ ...base(), initial_condition: [1] }, '$.initial_condition'],
    ];
    const long = base();
    long.vessels[0].vessel_name = 'x'.repeat(100000);
    cases.push([long, '$.vessels[0].vessel_name']);
    const proto = base();
    proto.chambers = [{ name: 'c', type: 'LinearElastanceChamber', values: { Emax: 1, Epass: 1, Vrest: 1 }, activation_function: { type: 'constructor' } }];
    cases.push([proto, '$.chambers[0].activation_function.type']);
    for (const [cfg, path] of cases) {
      const e = await failure(() => simulate(cfg as SvZeroDConfig));
      expect(e.code, JSON.stringify(path)).toBe('CONFIG_INVALID');
      expect(e.location?.jsonPath).toBe(path);
      expect(e.message.length).toBeLessThan(500);
    }
  });

  it('samples: [null], records that name no parameter, and names [] in simulateEnsemble', async () => {
    expect(await failure(() => samplesFromRecords([null] as never))).toMatchObject({ code: 'CONFIG_INVALID', location: { jsonPath: '$[0]' } });
    expect(await failure(() => samplesFromRecords(null as never))).toMatchObject({ code: 'CONFIG_INVALID', location: { jsonPath: '$' } });
    expect(await failure(() => samplesFromRecords([{}, {}]))).toMatchObject({ code: 'CONFIG_INVALID', message: expect.stringMatching(/name no parameter/) });
    expect(await failure(() => samplesFromRecords([{ 'OUT.R': 1 }, { 'OUT.R': 'x' as never }]))).toMatchObject({ code: 'CONFIG_INVALID', location: { jsonPath: '$[1].OUT.R' } });
    const e = await failure(() => simulateEnsemble(base(), { names: [], values: new Float64Array(0) }, { backend: 'cpu' }));
    expect(e).toMatchObject({ code: 'CONFIG_INVALID', message: expect.stringMatching(/name no parameter/) });
  });
});

describe('non-finite values anywhere in a solve are SOLVER_DIVERGED naming the block and time', () => {
  it("an fn that evaluates to NaN (sqrt(-1), 0/0): simulate and the ensemble kernels", async () => {
    for (const fn of ['sqrt(-1)', '0/0', '1/(t - t)']) {
      const cfg = base();
      cfg.boundary_conditions[0].bc_values = { fn };
      const e = await failure(() => simulate(cfg));
      expect(e.code).toBe('SOLVER_DIVERGED');
      expect(e.message).toMatch(/parameter IN\.Q evaluates to (NaN|Infinity) at t = \d/);
    }
    // General model (generated kernel): the shared drive table is checked on the host when it is tabulated.
    const g = base();
    g.boundary_conditions[0].bc_values = { fn: 'sqrt(0.5 - t)' }; // finite until t = 0.5 s
    g.vessels[0].zero_d_element_values.C = 1e-4;
    const e = await failure(() => simulateEnsemble(g, { names: ['OUT.R'], values: Float64Array.of(100, 200) }, { backend: 'cpu' }));
    expect(e.code).toBe('SOLVER_DIVERGED');
    expect(e.message).toMatch(/parameter IN\.Q is NaN at t = /);
  });

  it('Rd = 1e308: SOLVER_DIVERGED from simulate and from the RCR ensemble kernel (no NaN mean, no Infinity min)', async () => {
    const cfg = base();
    cfg.boundary_conditions[1] = { bc_name: 'OUT', bc_type: 'RCR', bc_values: { Rp: 100, C: 1e-4, Rd: 1e308, Pd: 0 } };
    expect((await failure(() => simulate(cfg))).code).toBe('SOLVER_DIVERGED');
    const e = await failure(() => simulateEnsemble(cfg, { names: ['OUT.Rp'], values: Float64Array.of(100, 200) }, { backend: 'cpu' }));
    expect(e).toMatchObject({ code: 'SOLVER_DIVERGED', message: expect.stringMatching(/^SOLVER_DIVERGED: variant 0: .*OUT/) });
  });
});

describe('unbounded work is refused before it starts, naming the option that raises the limit', () => {
  const sp = (o: Record<string, number>): Record<string, any> => {
    const c = base();
    Object.assign(c.simulation_parameters, o);
    return c;
  };
  it('time points, cycles, Newton iterations, memory and variants', async () => {
    const t0 = performance.now();
    expect(await failure(() => simulate(sp({ number_of_time_pts_per_cardiac_cycle: 1e7 })))).toMatchObject({ code: 'LIMIT_EXCEEDED', message: expect.stringMatching(/option maxSteps/) });
    expect(await failure(() => simulate(sp({ number_of_cardiac_cycles: 1e9 })))).toMatchObject({ code: 'LIMIT_EXCEEDED', message: expect.stringMatching(/option maxSteps/) });
    expect(await failure(() => simulate(sp({ maximum_nonlinear_iterations: 1e9, absolute_tolerance: 1e-300 })))).toMatchObject({
      code: 'LIMIT_EXCEEDED',
      message: expect.stringMatching(/option maxNonlinearIterations/),
      location: { jsonPath: '$.simulation_parameters.maximum_nonlinear_iterations' },
    });
    // 4e6 steps are within maxSteps, but writing all of them takes about 4e6 x 2 x (8 x 4 + 160) bytes > 1 GiB.
    const all = sp({ number_of_time_pts_per_cardiac_cycle: 2e6 + 1 });
    all.simulation_parameters.output_all_cycles = true;
    expect(await failure(() => simulate(all))).toMatchObject({ code: 'OUT_OF_MEMORY', message: expect.stringMatching(/option maxMemoryBytes/) });
    const rows = new Float64Array(2e6).fill(100);
    expect(await failure(() => simulateEnsemble(base(), { names: ['OUT.R'], values: rows }, { backend: 'cpu' }))).toMatchObject({ code: 'LIMIT_EXCEEDED', message: expect.stringMatching(/option maxVariants/) });
    // All refused up front: well under a second in total.
    expect(performance.now() - t0).toBeLessThan(1000);
    // The options raise (or lower) the limits.
    expect((await simulate(sp({ maximum_nonlinear_iterations: 2000 }), { maxNonlinearIterations: 2000 })).steps).toBe(8);
    expect((await failure(() => simulate(base(), { maxSteps: 4 }))).code).toBe('LIMIT_EXCEEDED');
  });
});

describe('cancellation and progress', () => {
  it('simulate and simulateEnsemble stop within well under a second of an abort, and report progress', async () => {
    const long = load('pulsatileFlow_R_RCR');
    long.simulation_parameters.number_of_cardiac_cycles = 5000; // 1e6 steps: many seconds if not stopped
    const events: number[] = [];
    // Latency is measured from the moment the abort fires (the timer itself may be late on a loaded machine).
    const abortAfter = (ms: number): { signal: AbortSignal; firedAt: () => number } => {
      const ac = new AbortController();
      let at = Number.NaN;
      ac.signal.addEventListener('abort', () => (at = performance.now()));
      setTimeout(() => ac.abort(), ms);
      return { signal: ac.signal, firedAt: () => at };
    };
    const a1 = abortAfter(100);
    const e = await failure(() => simulate(long, { signal: a1.signal, onProgress: (p) => events.push(p.done) }));
    const stoppedAfter = performance.now() - a1.firedAt();
    expect(e.code).toBe('ABORTED');
    console.info(`simulate stopped ${stoppedAfter.toFixed(0)} ms after the abort`);
    expect(stoppedAfter).toBeLessThan(500);
    expect(events.length).toBeGreaterThan(0);
    expect(events.every((d, i) => i === 0 || d >= events[i - 1]!)).toBe(true);

    // A general model on the CPU's generated kernel: slices of variants and steps between checks.
    const gen = load('pulsatileFlow_R_RCR');
    gen.simulation_parameters.number_of_cardiac_cycles = 200;
    gen.vessels[0].zero_d_element_values.C = 1e-5;
    const n = 2000;
    const a2 = abortAfter(200);
    const e2 = await failure(() => simulateEnsemble(gen, { names: ['OUT.Rd'], values: new Float64Array(n).fill(1000) }, { backend: 'cpu', signal: a2.signal }));
    const stopped2 = performance.now() - a2.firedAt();
    expect(e2.code).toBe('ABORTED');
    console.info(`simulateEnsemble stopped ${stopped2.toFixed(0)} ms after the abort`);
    expect(stopped2).toBeLessThan(500);

    // Progress of an ensemble that runs to the end: its stage, and a last report of all the work.
    gen.simulation_parameters.number_of_cardiac_cycles = 2;
    const reports: Array<{ stage: string; done: number; total: number }> = [];
    await simulateEnsemble(gen, { names: ['OUT.Rd'], values: Float64Array.of(900, 1100) }, { backend: 'cpu', onProgress: (p) => reports.push(p) });
    expect(new Set(reports.map((p) => p.stage))).toEqual(new Set(['hemo/ensemble']));
    expect(reports[reports.length - 1]!.done).toBe(reports[reports.length - 1]!.total);
  });
});

describe('backend report', () => {
  it("simulate reports the CPU and refuses 'webgpu' (one trajectory is sequential)", async () => {
    expect((await simulate(base())).backend).toBe('cpu');
    expect(await failure(() => simulate(base(), { backend: 'webgpu' }))).toMatchObject({ code: 'INVALID_ARGUMENT', message: expect.stringMatching(/simulateEnsemble/) });
  });
});

describe('svZeroDSolver conformance: output and coupling blocks', () => {
  it('vessel-based output lists the block types upstream csv_writer lists (valves and linear chambers in, BloodVesselRC out)', async () => {
    const cfg = load('closed_loop_two_hill');
    cfg.simulation_parameters = { ...cfg.simulation_parameters, number_of_cardiac_cycles: 1, number_of_time_pts_per_cardiac_cycle: 20, output_variable_based: false };
    const r = await simulate(cfg);
    const names = [...new Set(resultTable(r, false).name)];
    expect(names).toEqual(r.model.blocks.filter((b) => ['BloodVessel', 'BloodVesselCRL', 'ChamberSphere', 'LinearElastanceChamber', 'PiecewiseValve'].includes(b.type)).map((b) => b.name));
    expect(names.some((n) => r.model.byName.get(n)!.type === 'PiecewiseValve')).toBe(true);
    expect(names.some((n) => r.model.byName.get(n)!.type === 'LinearElastanceChamber')).toBe(true);
    const rc = base();
    rc.vessels.push({ vessel_id: 1, vessel_name: 'pulm', zero_d_element_type: 'BloodVesselRC', zero_d_element_values: { Rpd: 10, Cp: 1e-4 } });
    rc.vessels[0].boundary_conditions = { inlet: 'IN' };
    rc.vessels[1].boundary_conditions = { outlet: 'OUT' };
    rc.junctions = [{ junction_name: 'J', junction_type: 'NORMAL_JUNCTION', inlet_vessels: [0], outlet_vessels: [1] }];
    expect([...new Set(resultTable(await simulate(rc), false).name)]).toEqual(['v']);
  });

  it('external coupling blocks run standalone: a non-periodic FLOW at a vessel inlet follows its own time, not the cycle', async () => {
    // Q(t) = 2 t given on [0, 1] and extrapolated past it; R 100 + 100 and Pd 100: P_in = 200 Q + 100 exactly
    // (generalized-alpha reproduces a linear drive exactly from a consistent initial state; a periodic series would
    // restart at Q = 0 after t = 1).
    const cfg = base();
    cfg.initial_condition = { 'pressure:EXT:v': 100, 'pressure:v:OUT': 100 };
    cfg.boundary_conditions.shift();
    cfg.vessels[0].boundary_conditions = { outlet: 'OUT' };
    cfg.simulation_parameters = { number_of_cardiac_cycles: 2, number_of_time_pts_per_cardiac_cycle: 5, output_all_cycles: true, steady_initial: false, cardiac_period: 1 };
    cfg.external_solver_coupling_blocks = [{ name: 'EXT', type: 'FLOW', location: 'inlet', connected_block: 'v', periodic: false, values: { t: [0, 1], Q: [0, 2] } }];
    const r = await simulate(cfg);
    const p = r.model.dofNames.indexOf('pressure:EXT:v');
    r.times.forEach((t, k) => {
      // Newton stops at |residual| < 1e-8: the upstream 1e-7 (1 + |y|) rule.
      expect(Math.abs(r.y[k]![p]! - (200 * 2 * t + 100))).toBeLessThan(1e-7 * (1 + 1000));
    });
    expect(r.times[r.times.length - 1]).toBe(2);
    const bad = (o: Record<string, unknown>): SvZeroDConfig => ({ ...cfg, external_solver_coupling_blocks: [{ ...cfg.external_solver_coupling_blocks[0], ...o }] });
    expect(await failure(() => simulate(bad({ location: 'middle' })))).toMatchObject({ code: 'CONFIG_INVALID', location: { jsonPath: '$.external_solver_coupling_blocks[0].location' } });
    expect(await failure(() => simulate(bad({ connected_block: 'NOPE' })))).toMatchObject({ code: 'CONFIG_INVALID', location: { jsonPath: '$.external_solver_coupling_blocks[0].connected_block' } });
    expect(await failure(() => simulate(bad({ type: 'RCR' })))).toMatchObject({ code: 'CONFIG_INVALID', location: { jsonPath: '$.external_solver_coupling_blocks[0].type' } });
    expect(await failure(() => simulate(bad({ location: 'outlet', connected_block: 'OUT' })))).toMatchObject({ code: 'CONFIG_INVALID', message: expect.stringMatching(/outlet coupling block connects to/) });
  });
});
