import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { isPhysiotwinError } from '@physiotwin/core';
import { describe, expect, it } from 'vitest';
import { resultTable, simulate } from './index.js';

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
  it.each(cases)('%s matches the reference to 1e-7 (upstream rule)', async (name) => {
    const config = JSON.parse(readFileSync(join(ROOT, 'cases', `${name}.json`), 'utf8'));
    // pandas layout {column: {row: value}}: the keys are the upstream row indices, so a column of a subset
    // file holds exactly the cells it was given (a missing cell is not a NaN to compare).
    const ref = JSON.parse(readFileSync(join(ROOT, 'results', `result_${name}.json`), 'utf8')) as Record<string, Record<string, string | number | null>>;
    const got = resultTable(await simulate(config));
    const names = ref.name!;
    expect(got.name.length).toBe(SUBSETS[name] ?? Object.keys(names).length);
    for (const [row, n] of Object.entries(names)) expect(got.name[Number(row)], `row ${row}`).toBe(n);
    let worst = 0;
    let checked = 0;
    for (const [col, cells] of Object.entries(ref)) {
      if (!(col.includes('pressure') || col.includes('flow') || col === 'y')) continue;
      const a = got.values[col];
      expect(a, `column ${col}`).toBeDefined();
      for (const [row, v] of Object.entries(cells)) {
        expect(typeof v, `${col}[${row}]`).toBe('number');
        const b = v as number;
        worst = Math.max(worst, Math.abs(a![Number(row)]! - b) / (1 + Math.abs(b)));
        checked++;
      }
    }
    for (const [row, v] of Object.entries(ref.time!)) {
      // Upstream writes times with 10 decimals at most (pandas' default precision): 1e-9 covers that rounding.
      if (v === null) expect(got.time[Number(row)]).toBeNaN();
      else expect(Math.abs(got.time[Number(row)]! - (v as number))).toBeLessThan(1e-9);
    }
    console.info(`${name}: ${checked} values${SUBSETS[name] ? ` (a subset of ${SUBSETS[name]} rows)` : ''}, max |y - y_ref| / (1 + |y_ref|) = ${worst.toExponential(2)}`);
    expect(checked).toBeGreaterThan(0);
    expect(worst).toBeLessThanOrEqual(TOL);
  });

  it('rejects the mismatched cardiac period with CONFIG_INVALID and the JSON path', async () => {
    const config = JSON.parse(readFileSync(join(ROOT, 'cases', 'pulsatileFlow_R_RCR_mismatchPeriod.json'), 'utf8'));
    try {
      await simulate(config);
      expect.unreachable('the mismatched period was accepted');
    } catch (e) {
      expect(isPhysiotwinError(e, 'CONFIG_INVALID')).toBe(true);
      expect((e as Error).message).toMatch(/Inconsistent cardiac cycle period/);
      expect((e as Error).message).toContain('$.simulation_parameters.cardiac_period');
    }
  });
});
