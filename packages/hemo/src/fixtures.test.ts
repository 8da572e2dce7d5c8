import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { isPhysiotwinError } from '@physiotwin/core';
import { describe, expect, it } from 'vitest';
import { parseResultTable, resultTable, simulate } from './index.js';

const ROOT = join(__dirname, '../../../fixtures/hemo/svzerod');
const cases = readdirSync(join(ROOT, 'cases'))
  .filter((f) => f.endsWith('.json') && !f.includes('mismatchPeriod'))
  .map((f) => f.replace(/\.json$/, ''));
/**
 * Reference files that keep only some rows of the upstream result (the whole file would be megabytes):
 * case -> number of rows of the upstream result. Their rows keep the upstream row index as their key.
 */
const SUBSETS = JSON.parse(readFileSync(join(ROOT, 'results', 'subsets.json'), 'utf8')) as Record<string, number>;

/** Upstream rule (svZeroDSolver tests/utils): |y - y_ref| <= tol (1 + |y_ref|), tol = 1e-7. */
const TOL = 1e-7;

describe('svZeroDSolver reference cases', () => {
  it.each(cases)('%s matches the reference to 1e-7 (upstream rule)', (name) => {
    const config = JSON.parse(readFileSync(join(ROOT, 'cases', `${name}.json`), 'utf8'));
    const text = readFileSync(join(ROOT, 'results', `result_${name}.json`), 'utf8');
    const ref = parseResultTable(text);
    // Upstream row index of each reference row (pandas writes them as the keys, in order).
    const rows = Object.keys((JSON.parse(text) as { name: Record<string, unknown> }).name).map(Number);
    const got = resultTable(simulate(config));
    expect(got.name.length).toBe(SUBSETS[name] ?? ref.name.length);
    expect(rows.map((r) => got.name[r])).toEqual(ref.name);
    let worst = 0;
    let checked = 0;
    for (const col of ref.columns.slice(2)) {
      if (!(col.includes('pressure') || col.includes('flow') || col === 'y')) continue;
      const a = got.values[col]!;
      const b = ref.values[col]!;
      for (let i = 0; i < b.length; i++) {
        worst = Math.max(worst, Math.abs(a[rows[i]!]! - b[i]!) / (1 + Math.abs(b[i]!)));
        checked++;
      }
    }
    for (let i = 0; i < ref.time.length; i++) {
      // Upstream writes times with 10 decimals at most (pandas' default precision): 1e-9 covers that rounding.
      if (Number.isNaN(ref.time[i]!)) expect(got.time[rows[i]!]).toBeNaN();
      else expect(Math.abs(got.time[rows[i]!]! - ref.time[i]!)).toBeLessThan(1e-9);
    }
    console.info(`${name}: ${checked} values${SUBSETS[name] ? ` (a subset of ${SUBSETS[name]} rows)` : ''}, max |y - y_ref| / (1 + |y_ref|) = ${worst.toExponential(2)}`);
    expect(checked).toBeGreaterThan(0);
    expect(worst).toBeLessThanOrEqual(TOL);
  });

  it('rejects the mismatched cardiac period with CONFIG_INVALID and the JSON path', () => {
    const config = JSON.parse(readFileSync(join(ROOT, 'cases', 'pulsatileFlow_R_RCR_mismatchPeriod.json'), 'utf8'));
    try {
      simulate(config);
      expect.unreachable('the mismatched period was accepted');
    } catch (e) {
      expect(isPhysiotwinError(e, 'CONFIG_INVALID')).toBe(true);
      expect((e as Error).message).toMatch(/Inconsistent cardiac cycle period/);
      expect((e as Error).message).toContain('$.simulation_parameters.cardiac_period');
    }
  });
});
