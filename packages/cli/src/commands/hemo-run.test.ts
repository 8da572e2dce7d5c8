import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseResultTable } from '@physiotwin/hemo';
import { describe, expect, it } from 'vitest';
import { runCli } from '../run.js';
import { capture, REPO_ROOT } from '../capture-io.test-helper.js';

const CASES = join(REPO_ROOT, 'fixtures/hemo/svzerod');


/** Upstream comparison rule, |y - y_ref| <= 1e-7 (1 + |y_ref|). */
function maxRelErr(got: ReturnType<typeof parseResultTable>, ref: ReturnType<typeof parseResultTable>): number {
  expect(got.name).toEqual(ref.name);
  let worst = 0;
  for (const c of ref.columns.slice(2)) {
    for (let i = 0; i < ref.name.length; i++) worst = Math.max(worst, Math.abs(got.values[c]![i]! - ref.values[c]![i]!) / (1 + Math.abs(ref.values[c]![i]!)));
  }
  return worst;
}

describe('physiotwin hemo run / plot', () => {
  const dir = mkdtempSync(join(tmpdir(), 'hemo-cli-'));

  it('writes the vessel-based CSV and pandas JSON layouts, matching the reference', async () => {
    const ref = parseResultTable(readFileSync(join(CASES, 'results/result_pulsatileFlow_R_RCR.json'), 'utf8'));
    for (const out of ['r.csv', 'r.json']) {
      const io = capture(dir);
      const code = await runCli(['hemo', 'run', join(CASES, 'cases/pulsatileFlow_R_RCR.json'), '-o', out], io);
      expect(io.err).toBe('');
      expect(code).toBe(0);
      const text = readFileSync(join(dir, out), 'utf8');
      if (out.endsWith('.csv')) expect(text.split('\n')[0]).toBe('name,time,flow_in,flow_out,pressure_in,pressure_out');
      else expect(Object.keys(JSON.parse(text))).toEqual(['name', 'time', 'flow_in', 'flow_out', 'pressure_in', 'pressure_out']);
      expect(maxRelErr(parseResultTable(text), ref)).toBeLessThanOrEqual(1e-7);
    }
  });

  it('writes the variable-based layout when the config asks, and on --variable-based', async () => {
    const io = capture(dir);
    expect(await runCli(['hemo', 'run', join(CASES, 'cases/valve_tanh.json'), '-o', 'v.csv'], io)).toBe(0);
    const got = parseResultTable(readFileSync(join(dir, 'v.csv'), 'utf8'));
    expect(got.columns).toEqual(['name', 'time', 'y']);
    const ref = parseResultTable(readFileSync(join(CASES, 'results/result_valve_tanh.json'), 'utf8'));
    expect(maxRelErr(got, ref)).toBeLessThanOrEqual(1e-7);
    const io2 = capture(dir);
    expect(await runCli(['hemo', 'run', join(CASES, 'cases/steadyFlow_R_R.json'), '-o', 'v2.json', '--variable-based'], io2)).toBe(0);
    const t2 = parseResultTable(readFileSync(join(dir, 'v2.json'), 'utf8'));
    expect(t2.columns).toEqual(['name', 'time', 'y']);
    expect(new Set(t2.name)).toEqual(new Set(['flow:INFLOW:branch0_seg0', 'pressure:INFLOW:branch0_seg0', 'flow:branch0_seg0:OUT', 'pressure:branch0_seg0:OUT']));
  });

  it('refuses to overwrite without --force, and reports invalid configs with their JSON path', async () => {
    writeFileSync(join(dir, 'exists.csv'), 'x');
    const io = capture(dir);
    expect(await runCli(['hemo', 'run', join(CASES, 'cases/steadyFlow_R_R.json'), '-o', 'exists.csv'], io)).toBe(1);
    expect(io.err).toMatch(/IO_EXISTS/);
    expect(readFileSync(join(dir, 'exists.csv'), 'utf8')).toBe('x');
    expect(await runCli(['hemo', 'run', join(CASES, 'cases/steadyFlow_R_R.json'), '-o', 'exists.csv', '--force'], capture(dir))).toBe(0);
    const io2 = capture(dir);
    expect(await runCli(['hemo', 'run', join(CASES, 'cases/pulsatileFlow_R_RCR_mismatchPeriod.json'), '-o', 'mm.csv'], io2)).toBe(1);
    expect(io2.err).toMatch(/CONFIG_INVALID: Inconsistent cardiac cycle period.*\$\.simulation_parameters\.cardiac_period/);
  });

  it('plots pressure (mmHg) and flow (mL/s) waveforms per vessel as SVG', async () => {
    const io = capture(dir);
    expect(await runCli(['hemo', 'run', join(CASES, 'cases/pulsatileFlow_R_RCR.json'), '-o', 'p.csv'], io)).toBe(0);
    const io2 = capture(dir);
    expect(await runCli(['hemo', 'plot', 'p.csv', '-o', 'p.svg'], io2)).toBe(0);
    const svg = readFileSync(join(dir, 'p.svg'), 'utf8');
    expect(svg.startsWith('<svg')).toBe(true);
    expect(svg).toContain('branch0_seg0: pressure');
    expect(svg).toContain('branch0_seg0: flow');
    expect(svg).toContain('pressure (mmHg)');
    expect(svg).toContain('flow (mL/s)');
    expect(svg).toContain('time (s)');
    expect((svg.match(/<polyline/g) ?? []).length).toBe(4);
  });

  it('reads pressures in the unit given by --pressure-unit-in (results of cases written in mmHg)', async () => {
    expect(await runCli(['hemo', 'run', join(CASES, 'cases/pulsatileFlow_R_RCR.json'), '-o', 'u.csv'], capture(dir))).toBe(0);
    expect(await runCli(['hemo', 'plot', 'u.csv', '-o', 'cgs.svg'], capture(dir))).toBe(0);
    expect(await runCli(['hemo', 'plot', 'u.csv', '-o', 'mmhg.svg', '--pressure-unit-in', 'mmHg'], capture(dir))).toBe(0);
    // Same data read as mmHg instead of dyn/cm^2: the pressure axis ticks are 1333x larger, so the drawings differ.
    const ticks = (f: string) => [...readFileSync(join(dir, f), 'utf8').matchAll(/>(-?[\d.e+]+)</g)].map((m) => Number(m[1]));
    expect(Math.max(...ticks('mmhg.svg'))).toBeGreaterThan(100 * Math.max(...ticks('cgs.svg').filter((t) => t < 1e4)));
    const bad = capture(dir);
    expect(await runCli(['hemo', 'plot', 'u.csv', '-o', 'bad.svg', '--pressure-unit-in', 'furlong'], bad)).toBe(1);
    expect(bad.err).toMatch(/INVALID_ARGUMENT/);
  });
});
