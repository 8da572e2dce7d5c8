// Sharded ensembles: the wall time of one `physiotwin hemo ensemble` process against the same ensemble as a 2-task
// Slurm job array on a local single-node cluster with 2 CPUs (test/slurm-cluster.ts), from submit.sh to the merged
// result (scheduling, both shards, the dependent merge job). Issue 16's floor: 2 CPUs give at least 1.8x one
// process. Where the cluster cannot start (not root, no slurm-wlm), the 2 shards run as 2 parallel processes and
// the merge after them, and the report says so. Work: RCR model, 100 cycles x 200 steps, 1e5 variants (2e9
// model-steps), so that compute outweighs process start-up and scheduling. The numbers need an otherwise idle
// machine with 2 free cores.
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { newReport, writeReport, type BenchResult } from './harness.js';
import { slurmAvailability, startCluster } from '../test/slurm-cluster.js';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
const BIN = join(ROOT, 'packages/cli/bin/physiotwin.js');
const VARIANTS = 100_000;
const CYCLES = 100;

const cli = (dir: string, args: string[]) =>
  new Promise<void>((resolve, reject) => {
    const p = spawn('node', [BIN, ...args], { cwd: dir, stdio: ['ignore', 'ignore', 'inherit'] });
    p.once('exit', (code) => (code === 0 ? resolve() : reject(new Error(`physiotwin ${args.join(' ')} exited with ${code}`))));
  });

const result = (name: string, impl: string, ms: number, peakRssMb?: number): BenchResult => ({
  name,
  impl,
  backend: 'cpu',
  size: { variants: VARIANTS, steps: CYCLES * 200 },
  repeats: 1,
  firstMs: ms,
  medianMs: ms,
  minMs: ms,
  maxMs: ms,
  meanMs: ms,
  throughputPerS: (VARIANTS * CYCLES * 200) / (ms / 1000),
  itemUnit: 'model-steps',
  ...(peakRssMb !== undefined ? { extra: { peakRssMb } } : {}),
});

export default async function run(): Promise<void> {
  const report = newReport('sharding');
  const dir = mkdtempSync(join(tmpdir(), 'physiotwin-sharding-'));
  const cfg = JSON.parse(readFileSync(join(ROOT, 'fixtures/hemo/svzerod/cases/pulsatileFlow_R_RCR.json'), 'utf8'));
  cfg.simulation_parameters.number_of_cardiac_cycles = CYCLES;
  writeFileSync(join(dir, 'model.json'), JSON.stringify(cfg));
  writeFileSync(join(dir, 'plan.json'), JSON.stringify({ format: 'physiotwin-sample-plan', version: 1, method: 'sobol', n: VARIANTS, seed: 1, parameters: [{ name: 'OUT.Rd', min: 500, max: 1500 }, { name: 'OUT.C', min: 5e-5, max: 2e-4 }] }));
  const ensemble = ['hemo', 'ensemble', 'model.json', '--samples', 'plan.json'];

  // One process, with its peak resident memory (GNU time's %M, where present): what one shard of this size costs.
  let t = performance.now();
  let rss: number | undefined;
  if (existsSync('/usr/bin/time')) {
    const r = spawnSync('/usr/bin/time', ['-f', '%M', 'node', BIN, ...ensemble, '-o', 'single'], { cwd: dir, encoding: 'utf8', stdio: ['ignore', 'ignore', 'pipe'] });
    if (r.status !== 0) throw new Error(`the single run failed: ${r.stderr}`);
    rss = Number(r.stderr.trim().split('\n').at(-1)) / 1024;
  } else await cli(dir, [...ensemble, '-o', 'single']);
  const single = result('RCR ensemble 1e5 x 2e4 steps', 'one process', performance.now() - t, rss);
  report.results.push(single);

  const why = slurmAvailability();
  let sharded: BenchResult;
  if (why === undefined) {
    const cluster = await startCluster(2);
    try {
      execFileSync('node', [BIN, 'slurm', ...ensemble.slice(1), '-o', 'run', '--array-size', '2', '--physiotwin', `node ${BIN}`], { cwd: dir, stdio: 'ignore' });
      t = performance.now();
      execFileSync(join(dir, 'run/submit.sh'), { env: cluster.env, stdio: 'ignore' });
      const deadline = Date.now() + 600_000;
      while (!existsSync(join(dir, 'run/result/summary.csv'))) {
        if (Date.now() > deadline) throw new Error('the sharded run did not finish within 10 minutes');
        await new Promise((r) => setTimeout(r, 100));
      }
      sharded = result('RCR ensemble 1e5 x 2e4 steps', 'Slurm array, 2 tasks on 2 local CPUs, + merge job', performance.now() - t);
    } finally {
      await cluster.stop();
    }
  } else {
    console.log(`no local Slurm (${why}): 2 shards as 2 parallel processes, then the merge`);
    t = performance.now();
    await Promise.all([0, 1].map((i) => cli(dir, [...ensemble, '--shard', `${i}/2`, '-o', `shard-${i}`])));
    await cli(dir, ['hemo', 'merge', 'shard-0', 'shard-1', '-o', 'result']);
    sharded = result('RCR ensemble 1e5 x 2e4 steps', '2 parallel processes (no Slurm here), + merge', performance.now() - t);
  }
  report.results.push(sharded);
  const speedup = single.medianMs / sharded.medianMs;
  report.ratios.push({ label: `one process time / 2-shard time (${sharded.impl}); floor 1.8`, value: speedup });
  const merged = why === undefined ? 'run/result/summary.csv' : 'result/summary.csv';
  if (readFileSync(join(dir, merged), 'utf8') !== readFileSync(join(dir, 'single/summary.csv'), 'utf8')) throw new Error('the merged summary differs from the single run');
  console.log(`speed-up ${speedup.toFixed(2)}x${speedup < 1.8 ? ' (below the 1.8x floor: is the machine busy?)' : ''}`);
  rmSync(dir, { recursive: true, force: true });
  writeReport(report);
}
