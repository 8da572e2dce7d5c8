// A real Slurm: a single-node cluster on localhost (slurm-cluster.ts) runs the job-array scripts that
// `physiotwin slurm ensemble` writes for a 1e4-variant ensemble in 8 shards; the merged result must be the bytes of
// the single-process run, and a cancelled array task must be completed by resubmitting the scripts. Runs as root
// (CI installs slurm-wlm and munge when missing); skipped, saying why, on machines that cannot run Slurm.
// A 3-row cohort (one row failing on purpose) runs as an array too, and its summary job lists every row.
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '@physiotwin/cli';
import { createVolume } from '@physiotwin/core';
import { writeVolumeFile } from '@physiotwin/io/node';
import { slurmAvailability, startCluster, type TestCluster } from './slurm-cluster.js';

const ROOT = join(import.meta.dirname, '..');
const CASE = join(ROOT, 'fixtures/hemo/svzerod/cases/pulsatileFlow_R_RCR.json');
const BIN = join(ROOT, 'packages/cli/bin/physiotwin.js');
const why = slurmAvailability();
if (why && process.env['CI'] === 'true') throw new Error(`the Slurm test must run on CI: ${why}`);

const io = (cwd: string) => ({ out: '', err: '', isTTY: false, cwd, stdout(t: string) { this.out += t; }, stderr(t: string) { this.err += t; } });

describe.skipIf(why !== undefined)(`physiotwin on a real Slurm (single node, 2 CPUs)${why ? `: skipped, ${why}` : ''}`, () => {
  let cluster: TestCluster;
  let dir: string;
  let expected: string;

  beforeAll(async () => {
    if (!existsSync(join(ROOT, 'packages/cli/dist/main.js'))) throw new Error('the Slurm tasks run the built CLI: run `npm run build` first');
    dir = mkdtempSync(join(tmpdir(), 'physiotwin-slurm-run-'));
    writeFileSync(join(dir, 'spec.json'), JSON.stringify({ method: 'sobol', n: 10_000, seed: 16, parameters: [{ name: 'OUT.Rd', min: 500, max: 1500 }, { name: 'OUT.C', distribution: 'loguniform', min: 5e-5, max: 2e-4 }] }));
    for (const args of [['hemo', 'plan', 'spec.json', '-o', 'plan.json'], ['hemo', 'ensemble', CASE, '--samples', 'plan.json', '-o', 'single']]) {
      const c = io(dir);
      expect(await runCli(args, c), c.err).toBe(0);
    }
    expected = readFileSync(join(dir, 'single/summary.csv'), 'utf8');
    cluster = await startCluster(2);
  }, 60_000);

  afterAll(async () => {
    await cluster?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  /** Waits until `done()` or the deadline, polling; fails naming what it waited for, with the cluster's queue. */
  async function waitFor(what: string, done: () => boolean, seconds: number): Promise<void> {
    const deadline = Date.now() + seconds * 1000;
    while (!done()) {
      if (Date.now() > deadline) throw new Error(`timed out after ${seconds} s waiting for ${what}; queue:\n${cluster.run('squeue', ['-a'])}`);
      await new Promise((r) => setTimeout(r, 200));
    }
  }
  const submit = (run: string) => {
    const out = execFileSync(join(dir, run, 'submit.sh'), { env: cluster.env, encoding: 'utf8' });
    const m = /array job (\d+), merge job (\d+)/.exec(out);
    if (!m) throw new Error(`submit.sh printed '${out}'`);
    return { array: m[1]!, merge: m[2]! };
  };
  const queued = (job: string) => cluster.run('squeue', ['-h', '-j', job, '-o', '%i %T']).trim();

  it('runs the 1e4-variant ensemble as an 8-task array and merges it into the bytes of the single run', async () => {
    const c = io(dir);
    expect(await runCli(['slurm', 'ensemble', CASE, '--samples', 'plan.json', '-o', 'run', '--array-size', '8', '--limit', '2', '--physiotwin', `node ${BIN}`], c), c.err).toBe(0);
    submit('run');
    await waitFor('the merged result', () => existsSync(join(dir, 'run/result/summary.csv')), 60);
    expect(readFileSync(join(dir, 'run/result/summary.csv'), 'utf8') === expected).toBe(true);
    expect(readFileSync(join(dir, 'run/logs/ensemble-3.out'), 'utf8')).toMatch(/shard 3\/8, variants 3750\.\.4999/);
  }, 90_000);

  it('an array task cancelled while running is completed by resubmitting; finished shards are skipped', async () => {
    // Task 3 waits 3 s before starting physiotwin, so that it is certainly running when it is cancelled.
    const delayed = `sh -c '[ "$SLURM_ARRAY_TASK_ID" != 3 ] || sleep 3; exec "$0" "$@"' node ${BIN}`;
    const c = io(dir);
    expect(await runCli(['slurm', 'ensemble', CASE, '--samples', 'plan.json', '-o', 'kill', '--array-size', '8', '--limit', '2', '--physiotwin', delayed], c), c.err).toBe(0);
    const first = submit('kill');
    await waitFor('array task 3 to run', () => queued(`${first.array}_3`).endsWith('RUNNING'), 30);
    cluster.run('scancel', [`${first.array}_3`]);
    // The other tasks finish; the merge job can never start (afterok failed): cancel it.
    await waitFor('the other array tasks', () => [0, 1, 2, 4, 5, 6, 7].every((i) => existsSync(join(dir, `kill/shard-${i}/manifest.json`))), 60);
    expect(existsSync(join(dir, 'kill/shard-3'))).toBe(false);
    cluster.run('scancel', [first.merge]);
    const second = submit('kill');
    await waitFor('the merged result after resubmission', () => existsSync(join(dir, 'kill/result/summary.csv')), 60);
    expect(readFileSync(join(dir, 'kill/result/summary.csv'), 'utf8') === expected).toBe(true);
    expect(readFileSync(join(dir, 'kill/logs/ensemble-0.out'), 'utf8')).toMatch(/shard 0\/8 \(variants 0\.\.1249\) is already done/);
    expect(queued(second.array)).toBe('');
  }, 90_000);

  it('runs a 3-row cohort as an array (one row failing on purpose); the summary job lists the results and the error code', async () => {
    // The 16 x 16 x 12 tube of packages/cli/src/commands/pipeline-cohort.test.ts; row c's seed is outside the image.
    await writeVolumeFile(join(dir, 'tube.nii.gz'), createVolume({ data: new Float32Array(16 * 16 * 12).map((_, v) => (Math.hypot((v % 16) - 8, (Math.floor(v / 16) % 16) - 8) < 3 ? 1000 : 100) + ((v * 7919) % 13) * 5), dims: [16, 16, 12], spacing: [1, 1, 1] }));
    writeFileSync(join(dir, 'cohort.csv'), 'id,input,seeds,output\na,tube.nii.gz,8 8 6,coh/a\nb,tube.nii.gz,8 8 3,coh/b\nc,tube.nii.gz,8 8 40,coh/c\n');
    const c = io(dir);
    expect(await runCli(['slurm', 'cohort', 'cohort.csv', '-o', 'coh', '--limit', '2', '--physiotwin', `node ${BIN}`], c), c.err).toBe(0);
    submit('coh');
    await waitFor('the cohort summary', () => existsSync(join(dir, 'coh/cohort-summary.csv')), 60);
    const csv = readFileSync(join(dir, 'coh/cohort-summary.csv'), 'utf8').trim().split('\n');
    expect(csv[0]).toMatch(/result:meanPressure_mmHg/);
    expect(csv.slice(1).map((l) => l.split(',').slice(0, 3).join(','))).toEqual(['a,done,', 'b,done,', 'c,failed,INVALID_ARGUMENT']);
    expect(readFileSync(join(dir, 'coh/logs/cohort-2.out'), 'utf8')).toMatch(/seed 8,8,40 is outside the image/);
  }, 90_000);
});
