import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { createVolume } from '@physiotwin/core';
import { writeVolumeFile } from '@physiotwin/io/node';
import { runCli } from '../run.js';
import { capture } from '../capture-io.test-helper.js';

const dir = mkdtempSync(join(tmpdir(), 'physiotwin-cli-cohort-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('physiotwin pipeline --cohort', () => {
  it('runs rows 0..2 of a table (one failing on purpose); cohort summary lists the key results and the error code', async () => {
    // A 16 x 16 x 12 CT-like image of a bright tube along k (radius 3 voxels), as in test/ops-contract.test.ts: the
    // smallest image the whole pipeline runs on (a few seconds a row on the CPU).
    const tube = createVolume({ data: new Float32Array(16 * 16 * 12).map((_, v) => (Math.hypot((v % 16) - 8, (Math.floor(v / 16) % 16) - 8) < 3 ? 1000 : 100) + ((v * 7919) % 13) * 5), dims: [16, 16, 12], spacing: [1, 1, 1] });
    await writeVolumeFile(join(dir, 'tube.nii.gz'), tube);
    // row c's seed is outside the image (k = 40 of 12)
    writeFileSync(join(dir, 'c.csv'), 'id,input,seeds,map-pressure,output\na,tube.nii.gz,8 8 6,93,out/a\nb,tube.nii.gz,8 8 3;8 8 9,100,out/b\nc,tube.nii.gz,8 8 40,93,out/c\n');
    const codes: number[] = [];
    const errs: string[] = [];
    for (const i of ['0', '1', '2']) {
      const io = capture(dir);
      codes.push(await runCli(['pipeline', '--cohort', 'c.csv', '--index', i, '--backend', 'cpu', '--quiet'], io));
      errs.push(io.err);
    }
    expect(codes, errs.join('\n')).toEqual([0, 0, 1]);
    expect(errs[2]).toMatch(/seed 8,8,40 is outside the image/);
    const manifest = JSON.parse(readFileSync(join(dir, 'out/b/manifest.json'), 'utf8')) as { parameters: { seeds: number[][]; targets: { mapPressureMmHg?: number } } };
    expect(manifest.parameters.seeds).toEqual([[8, 8, 3], [8, 8, 9]]);
    expect(manifest.parameters.targets.mapPressureMmHg).toBe(100);

    const io = capture(dir);
    expect(await runCli(['cohort', 'summary', 'out', '--cohort', 'c.csv'], io)).toBe(1);
    expect(io.out).toMatch(/3 rows, 2 done, 1 failed, 0 missing/);
    const [header, ...lines] = readFileSync(join(dir, 'out/cohort-summary.csv'), 'utf8').trim().split('\n');
    const cols = header!.split(',');
    const rows = lines.map((l) => Object.fromEntries(l.split(',').map((c, j) => [cols[j]!, c])));
    expect(rows.map((r) => [r.id, r.state, r.code])).toEqual([['a', 'done', ''], ['b', 'done', ''], ['c', 'failed', 'INVALID_ARGUMENT']]);
    // each row on its own target: the 0D model is tuned to the mean pressure within 5 % (the demo's check)
    expect(Math.abs(Number(rows[0]!['result:meanPressure_mmHg']) / 93 - 1)).toBeLessThan(0.05);
    expect(Math.abs(Number(rows[1]!['result:meanPressure_mmHg']) / 100 - 1)).toBeLessThan(0.05);
    expect(Number(rows[0]!['result:peakVonMises_MPa'])).toBeGreaterThan(0);
    expect(readFileSync(join(dir, 'out/cohort-summary.md'), 'utf8')).toMatch(/\| c \| failed \| INVALID_ARGUMENT \| .*outside the image/);

    // resubmission: a done row is skipped, the failed row fails again
    const again = capture(dir);
    expect(await runCli(['pipeline', '--cohort', 'c.csv', '--index', '0'], again)).toBe(0);
    expect(again.err).toMatch(/row 'a' is done .*; skipped/);
  }, 60_000);

  it.each([
    [['pipeline', '--cohort', 'c.csv'], /--cohort and --index go together/],
    [['pipeline', '--cohort', 'c.csv', '--index', '0', '-o', 'x'], /come from the table row/],
    [['pipeline', '--cohort', 'c.csv', '--index', '7'], /--index must be in 0\.\.2/],
  ])('%j is a usage error', async (argv, message) => {
    writeFileSync(join(dir, 'c.csv'), 'input,seeds\na,1 2 3\nb,1 2 3\nc,1 2 3\n');
    const io = capture(dir);
    expect(await runCli(argv, io)).toBe(2);
    expect(io.err).toMatch(message);
  });
});
