// Sharded ensembles: one `physiotwin hemo ensemble` process against the same ensemble as a 2-task Slurm job array on
// a local single-node cluster with 2 CPUs (test/slurm-cluster.ts), from submit.sh to the end of the dependent merge
// job. Issue 16's floor: 2 CPUs give at least 1.8x one process. Where the cluster cannot start (not root, no
// slurm-wlm), the 2 shards run as 2 parallel processes and the merge after them, and the report says so.
//
// Work: the svZeroDSolver bifurcation with two RCR outlets (3 vessels, general kernel), 10 cardiac cycles of 201
// time points per variant, a 65 536-variant (2^16) Sobol' plan over both distal resistances and one capacitance
// (about 100 s in one process on an idle core; PHYSIOTWIN_SHARDING_VARIANTS changes the count). A power of two, as
// Sobol' plans should be: each half of 2^16 points is a net of its own, so the two contiguous shards cost the same
// (49.98 and 49.07 s CPU); with 50 000 points the second shard held the unbalanced tail and cost 10 % more (36.3 s
// against 40.0 s, each run alone), which alone capped 2 shards near 1.8x. A variant costs about 1.6 ms
// of CPU and its summary row about 760 bytes; every process pays about 0.8 s CPU before its first variant (Node and
// module loading 0.15 s, the static pivot analysis 0.17 s, the generated kernel's JIT warm-up about 0.4 s, GC), and
// the sharded run adds Slurm's scheduling (about 0.4 s to the first task, 0.1 s to the merge job) and the merge
// (0.3 s start-up, about 20 us per variant). The floor needs the run's work to be at least about 20x those fixed
// costs: with 65 536 variants it is about 50x (measured on the quiet machine: 1.88x; docs/cluster.md). With the
// cheapest model (the RCR kernel, about 57 us per variant at 100 cycles and 270 bytes per row) the merge of 1e5 rows
// alone (0.7-0.9 s wall, measured under load) is 12-16 % of the one-process run and caps 2 shards near 1.6x.
//
// Every process runs under GNU time (/usr/bin/time, where present), so the report also gives CPU time (user + sys)
// per shard against the single process: unlike the wall-time ratio, it shows the cost of sharding on a busy machine.
// Each task's start and end are logged, which shows whether both array tasks ran at once.
import { execFileSync, spawn } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { newReport, oneRun, writeReport, type BenchResult } from './harness.js';
import { slurmAvailability, startCluster } from '../test/slurm-cluster.js';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
const BIN = join(ROOT, 'packages/cli/bin/physiotwin.js');
const VARIANTS = Number(process.env['PHYSIOTWIN_SHARDING_VARIANTS'] ?? 65_536);
const CYCLES = 10;
const POINTS = 201;
const GNU_TIME = '/usr/bin/time';

/** What one process cost: its wall span (epoch seconds) and, under GNU time, CPU seconds and peak RSS. */
interface Span {
  start: number;
  end: number;
  cpuS?: number | undefined;
  rssMb?: number | undefined;
}

/**
 * A launcher that logs each run's start and end (epoch seconds) and GNU time's user, sys and peak RSS into
 * `<dir>/times/<name>.*`, name = the Slurm array task id, else $PHYSIOTWIN_TASK, else 'merge'.
 */
function writeLauncher(dir: string): string {
  const path = join(dir, 'task.sh');
  const timed = existsSync(GNU_TIME) ? `${GNU_TIME} -f '%U %S %M' -o "$log.time" ` : '';
  writeFileSync(
    path,
    `#!/bin/sh\nname=\${SLURM_ARRAY_TASK_ID:-\${PHYSIOTWIN_TASK:-merge}}\nlog='${dir}/times/'"$name"\nstart=$(date +%s.%N)\n` +
      `${timed}node '${BIN}' "$@"\nrc=$?\necho "$start $(date +%s.%N)" > "$log.span"\nexit $rc\n`,
  );
  chmodSync(path, 0o755);
  mkdirSync(join(dir, 'times'), { recursive: true });
  return path;
}

function readSpan(dir: string, name: string): Span {
  const [start, end] = readFileSync(join(dir, 'times', `${name}.span`), 'utf8').trim().split(' ').map(Number);
  const span: Span = { start: start!, end: end! };
  const time = join(dir, 'times', `${name}.time`);
  if (existsSync(time)) {
    // GNU time writes 'Command exited with non-zero status' first when the command failed; the figures are last.
    const [u, s, m] = readFileSync(time, 'utf8').trim().split('\n').at(-1)!.split(' ').map(Number);
    span.cpuS = u! + s!;
    span.rssMb = m! / 1024;
  }
  return span;
}

const runTask = (dir: string, launcher: string, name: string, args: string[]) =>
  new Promise<void>((resolve, reject) => {
    const p = spawn(launcher, args, { cwd: dir, env: { ...process.env, PHYSIOTWIN_TASK: name }, stdio: ['ignore', 'ignore', 'inherit'] });
    p.once('exit', (code) => (code === 0 ? resolve() : reject(new Error(`physiotwin ${args.join(' ')} exited with ${code}`))));
  });

const result = (impl: string, ms: number, extra: Record<string, number | string>): BenchResult => ({
  name: `bifurcation RCR ensemble, ${VARIANTS} variants x ${CYCLES * POINTS} steps`,
  impl,
  backend: 'cpu',
  size: { variants: VARIANTS, steps: CYCLES * POINTS },
  ...oneRun(ms),
  throughputPerS: VARIANTS / (ms / 1000),
  itemUnit: 'variants',
  extra,
});

const fmt = (x: number | undefined, digits = 2) => (x === undefined ? 'n/a' : x.toFixed(digits));

export default async function run(): Promise<void> {
  const report = newReport('sharding');
  const dir = mkdtempSync(join(tmpdir(), 'physiotwin-sharding-'));
  const cfg = JSON.parse(readFileSync(join(ROOT, 'fixtures/hemo/svzerod/cases/pulsatileFlow_bifurcationR_RCR_cycle_error.json'), 'utf8'));
  cfg.simulation_parameters = { number_of_cardiac_cycles: CYCLES, number_of_time_pts_per_cardiac_cycle: POINTS, absolute_tolerance: 1e-9, output_all_cycles: true, steady_initial: false };
  writeFileSync(join(dir, 'model.json'), JSON.stringify(cfg));
  // The fixture's outlets: Rd 70 000 (OUT1) and 70 000 (OUT2), C 1e-4, in CGS units; +-50 % and 0.5-2x.
  const parameters = [
    { name: 'OUT1.Rd', min: 35_000, max: 105_000 },
    { name: 'OUT2.Rd', min: 35_000, max: 105_000 },
    { name: 'OUT1.C', min: 5e-5, max: 2e-4 },
  ];
  writeFileSync(join(dir, 'plan.json'), JSON.stringify({ format: 'physiotwin-sample-plan', version: 1, method: 'sobol', n: VARIANTS, seed: 1, parameters }));
  const ensemble = ['hemo', 'ensemble', 'model.json', '--samples', 'plan.json'];
  const launcher = writeLauncher(dir);
  const load0 = loadavg()[0]!;

  // What every process pays before its first variant (Node, modules, the pivot analysis, the kernel's JIT warm-up):
  // the same model on 8 variants. Load-independent, unlike the wall-time ratio.
  writeFileSync(join(dir, 'tiny.json'), JSON.stringify({ format: 'physiotwin-sample-plan', version: 1, method: 'sobol', n: 8, seed: 1, parameters }));
  await runTask(dir, launcher, 'tiny', ['hemo', 'ensemble', 'model.json', '--samples', 'tiny.json', '-o', 'tiny']);
  const fixed = readSpan(dir, 'tiny');

  // One process: the same launcher, so both sides pay the same start-up and write the same summary.csv.
  let t = performance.now();
  await runTask(dir, launcher, 'single', [...ensemble, '-o', 'single']);
  const singleMs = performance.now() - t;
  const single = readSpan(dir, 'single');

  const why = slurmAvailability();
  let impl: string;
  let submitted: number;
  let shardedMs: number;
  if (why === undefined) {
    impl = 'Slurm array, 2 tasks on 2 local CPUs, + merge job';
    const cluster = await startCluster(2);
    try {
      execFileSync('node', [BIN, 'slurm', ...ensemble.slice(1), '-o', 'run', '--array-size', '2', '--physiotwin', launcher], { cwd: dir, stdio: 'ignore' });
      t = performance.now();
      submitted = Date.now() / 1000;
      execFileSync(join(dir, 'run/submit.sh'), { env: cluster.env, stdio: 'ignore' });
      const deadline = Date.now() + 1_800_000;
      // Done when the merge process has exited (its span is written after it), as the single run is timed.
      while (!existsSync(join(dir, 'times/merge.span'))) {
        if (Date.now() > deadline) throw new Error('the sharded run did not finish within 30 minutes');
        await new Promise((r) => setTimeout(r, 50));
      }
      shardedMs = performance.now() - t;
    } finally {
      await cluster.stop();
    }
  } else {
    console.log(`no local Slurm (${why}): 2 shards as 2 parallel processes, then the merge`);
    impl = '2 parallel processes (no Slurm here), + merge';
    t = performance.now();
    submitted = Date.now() / 1000;
    await Promise.all([0, 1].map((i) => runTask(dir, launcher, String(i), [...ensemble, '--shard', `${i}/2`, '-o', `run/shard-${i}`])));
    await runTask(dir, launcher, 'merge', ['hemo', 'merge', 'run/shard-0', 'run/shard-1', '-o', 'run/result']);
    shardedMs = performance.now() - t;
  }
  if (readFileSync(join(dir, 'run/result/summary.csv'), 'utf8') !== readFileSync(join(dir, 'single/summary.csv'), 'utf8')) throw new Error('the merged summary differs from the single run');
  const shards = [readSpan(dir, '0'), readSpan(dir, '1')];
  const merge = readSpan(dir, 'merge');
  const load1 = loadavg()[0]!;

  // Where the sharded run's time went (seconds): scheduling to the first task, the shards (overlap = both running),
  // the gap to the merge job, the merge.
  const firstStart = Math.min(...shards.map((s) => s.start));
  const lastEnd = Math.max(...shards.map((s) => s.end));
  const overlap = Math.max(0, Math.min(...shards.map((s) => s.end)) - Math.max(...shards.map((s) => s.start)));
  const shardCpu = shards.every((s) => s.cpuS !== undefined) ? shards.reduce((a, s) => a + s.cpuS!, 0) : undefined;
  const cpuRatio = shardCpu !== undefined && single.cpuS ? shardCpu / single.cpuS : undefined;
  const cpuRatioMerge = cpuRatio !== undefined && merge.cpuS !== undefined ? (shardCpu! + merge.cpuS) / single.cpuS! : undefined;
  // What the CPU times allow on 2 idle CPUs: the single run's CPU time over the longest shard's plus the merge's
  // (the scheduling and I/O waits left out).
  const cpuBound = single.cpuS && shardCpu !== undefined && merge.cpuS !== undefined ? single.cpuS / (Math.max(...shards.map((s) => s.cpuS!)) + merge.cpuS) : undefined;

  report.results.push(result('one process', singleMs, { cpuS: fmt(single.cpuS), peakRssMb: fmt(single.rssMb, 0), fixedCpuSPerProcess: fmt(fixed.cpuS) }));
  report.results.push(
    result(impl, shardedMs, {
      shardCpuS: shards.map((s) => fmt(s.cpuS)).join(' + '),
      mergeCpuS: fmt(merge.cpuS),
      shardWallS: shards.map((s) => fmt(s.end - s.start)).join(', '),
      submitToFirstTaskS: fmt(firstStart - submitted),
      bothRunningS: fmt(overlap),
      lastShardToMergeS: fmt(merge.start - lastEnd),
      mergeWallS: fmt(merge.end - merge.start),
      shardPeakRssMb: shards.map((s) => fmt(s.rssMb, 0)).join(', '),
    }),
  );
  const speedup = singleMs / shardedMs;
  report.ratios.push({ label: `one process time / 2-shard time (${impl}); floor 1.8`, value: speedup });
  if (cpuRatio !== undefined) report.ratios.push({ label: 'CPU time (user + sys) of both shards / of the one process', value: cpuRatio });
  if (cpuRatioMerge !== undefined) report.ratios.push({ label: 'CPU time of both shards and the merge / of the one process', value: cpuRatioMerge });
  if (cpuBound !== undefined) report.ratios.push({ label: 'one process CPU time / (longest shard + merge CPU time): the speed-up 2 idle CPUs allow', value: cpuBound });
  report.notes.push(`load average (1 min) ${load0.toFixed(1)} before, ${load1.toFixed(1)} after, on ${report.machine.cores} cores: wall times are upper bounds when it exceeds 0`);
  if (single.cpuS === undefined) report.notes.push(`no GNU time at ${GNU_TIME} (Debian: apt-get install time): CPU times not measured`);
  rmSync(dir, { recursive: true, force: true });
  writeReport(report);

  console.log(`every process: ${fmt(fixed.cpuS)} s CPU before its first variant (8 variants: ${fmt(fixed.end - fixed.start)} s wall)`);
  console.log(`one process: ${fmt(singleMs / 1000, 1)} s wall, ${fmt(single.cpuS)} s CPU`);
  console.log(`2 shards (${impl}): ${fmt(shardedMs / 1000, 1)} s wall; submit to first task ${fmt(firstStart - submitted)} s, shards ${shards.map((s) => `${fmt(s.end - s.start)} s wall / ${fmt(s.cpuS)} s CPU`).join(' and ')}, both running for ${fmt(overlap)} s, merge job ${fmt(merge.start - lastEnd)} s after the last shard, merge ${fmt(merge.end - merge.start)} s wall / ${fmt(merge.cpuS)} s CPU`);
  if (cpuRatio !== undefined) console.log(`CPU time: shards / one process ${fmt(cpuRatio, 3)}, with the merge ${fmt(cpuRatioMerge, 3)}; speed-up the CPU times allow on 2 idle CPUs ${fmt(cpuBound)}x`);
  if (overlap < 0.9 * Math.min(...shards.map((s) => s.end - s.start))) console.log(`the 2 array tasks ran together for only ${fmt(overlap)} s: check the node's CPUs and the tasks' --cpus-per-task`);
  console.log(`load average ${load0.toFixed(1)} -> ${load1.toFixed(1)} on ${report.machine.cores} cores`);
  // On a busy machine 2 processes get a larger share of the CPUs than 1, so the ratio is not the quiet machine's
  // (either way): only a run with load average near 0 tests the floor.
  const busy = load0 > 0.5 || load1 > 0.5 ? `; the machine was busy (load ${load0.toFixed(1)}): 2 processes get another share of it than 1, so this is not the idle-machine ratio` : '';
  console.log(`speed-up ${speedup.toFixed(2)}x (floor 1.8)${speedup < 1.8 ? ': below the floor' : ''}${busy}`);
}
