// Issue #16 through the CLI: `hemo ensemble --shard i/n` then `hemo merge` writes the bytes of the unsharded run for
// a general-kernel model whose last shard, run on its own, would choose another static pivot order.
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { runCli } from '../run.js';
import { capture, REPO_ROOT } from '../capture-io.test-helper.js';

const CASE = join(REPO_ROOT, 'fixtures/hemo/svzerod/cases/pulsatileFlow_R_RCR.json');

describe('physiotwin hemo ensemble --shard: the pivot order of the whole run', () => {
  it('merging 4 shards gives the bytes of the single run; each manifest records the reference', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'hemo-pivot-'));
    // FLOW -> BloodVessel (R, C) -> RCR, 2 cycles of 51 points; the vessel's C spans 1e-6 .. 10 (log) over 12
    // variants, which swaps the equation that dominates the inflow's column (see hemo's ensemble-shard-pivot.test.ts).
    const cfg = JSON.parse(readFileSync(CASE, 'utf8'));
    cfg.simulation_parameters.number_of_cardiac_cycles = 2;
    cfg.simulation_parameters.number_of_time_pts_per_cardiac_cycle = 51;
    cfg.vessels[0].zero_d_element_values.C = 1e-6;
    writeFileSync(join(dir, 'model.json'), JSON.stringify(cfg));
    const rows = Array.from({ length: 12 }, (_, v) => `${1e-6 * 10 ** ((7 * v) / 11)},${100 * (1 + 0.1 * v)}`);
    writeFileSync(join(dir, 's.csv'), `branch0_seg0.C,branch0_seg0.R_poiseuille\n${rows.join('\n')}\n`);
    const cli = async (...args: string[]) => {
      const io = capture(dir);
      const code = await runCli(args, io);
      expect(io.err).toBe('');
      expect(code).toBe(0);
      return io.out;
    };
    expect(await cli('hemo', 'ensemble', 'model.json', '--samples', 's.csv', '-o', 'whole')).toMatch(/general kernel, cpu f64/);
    for (let i = 0; i < 4; i++) await cli('hemo', 'ensemble', 'model.json', '--samples', 's.csv', '-o', `shard${i}`, '--shard', `${i}/4`);
    await cli('hemo', 'merge', 'shard0', 'shard1', 'shard2', 'shard3', '-o', 'merged');
    expect(readFileSync(join(dir, 'merged/summary.csv'), 'utf8')).toBe(readFileSync(join(dir, 'whole/summary.csv'), 'utf8'));
    for (const f of ['whole', 'shard3', 'merged']) {
      expect(JSON.parse(readFileSync(join(dir, f, 'manifest.json'), 'utf8')).parameters.reference).toEqual({ variants: 12, rows: [0, 11] });
    }
    // A shard from before the fix (no reference: its own pivot order) does not merge with these.
    const old = JSON.parse(readFileSync(join(dir, 'shard3/manifest.json'), 'utf8'));
    delete old.parameters.reference;
    writeFileSync(join(dir, 'shard3/manifest.json'), JSON.stringify(old));
    const io = capture(dir);
    expect(await runCli(['hemo', 'merge', 'shard0', 'shard1', 'shard2', 'shard3', '-o', 'merged2'], io)).not.toBe(0);
    expect(io.err).toMatch(/pivot reference/);
  });
});
