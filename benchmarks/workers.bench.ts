// Workers: a pool of 2 worker threads against one thread on independent work (issue 14: "measured on 2 cores
// against one thread"). Two workloads: an RCR ensemble split into 2 contiguous shards (pool.simulateEnsemble: same
// numbers as one call), and 4 tiny pipelines (a folder of studies: pool.map over runPipeline) against the same 4
// in-process one after another. Both on the CPU backend. The first run of a pool case includes starting its
// workers (and their module loading); the median does not. On 2 cores the floor is 1x and the roof 2x; the numbers
// need an otherwise idle machine (on a loaded one they are an upper bound of the time, a lower bound of the ratio).
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { availableParallelism, loadavg } from 'node:os';
import { createVolume, type Volume } from '@physiotwin/core';
import { simulateEnsemble, type SvZeroDConfig } from '@physiotwin/hemo';
import { runPipeline } from '@physiotwin/pipeline';
import { createWorkerPool } from '@physiotwin/workers';
import { measure, newReport, ratio, writeReport, type BenchCase, type BenchResult } from './harness.js';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
const VARIANTS = 20_000;
const CYCLES = 10;
const STUDIES = 4;

/** A 24 x 24 x 20 CT-like image of a bright tube along k (radius 4 voxels) with a deterministic ripple. */
const tube = (): Volume => createVolume({ data: new Float32Array(24 * 24 * 20).map((_, v) => (Math.hypot((v % 24) - 12, (Math.floor(v / 24) % 24) - 12) < 4 ? 1000 : 100) + ((v * 7919) % 13) * 5), dims: [24, 24, 20], spacing: [1, 1, 1] });

/**
 * `measure`, plus the CPU time this process (all its threads, workers included) spent per second of wall time over
 * every run: about 1 for one thread, up to 2 when two workers compute at once. Load-independent where the cores
 * are shared: it says whether the pool ran in parallel even when other jobs take the cores.
 */
async function measureCpu(c: BenchCase): Promise<BenchResult> {
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  const r = await measure(c);
  const cpu = process.cpuUsage(cpu0);
  const wallMs = performance.now() - t0;
  return { ...r, extra: { ...r.extra, cpuPerWall: Number(((cpu.user + cpu.system) / 1000 / wallMs).toFixed(2)) } };
}

export default async function run(): Promise<void> {
  const report = newReport('workers');
  const cfg = JSON.parse(readFileSync(join(ROOT, 'fixtures/hemo/svzerod/cases/pulsatileFlow_R_RCR.json'), 'utf8')) as SvZeroDConfig & { simulation_parameters: Record<string, unknown> };
  cfg.simulation_parameters.number_of_cardiac_cycles = CYCLES;
  const steps = CYCLES * Number(cfg.simulation_parameters.number_of_time_pts_per_cardiac_cycle ?? 100);
  const values = Float64Array.from({ length: VARIANTS }, (_, v) => 500 + (1000 * v) / VARIANTS);
  const samples = () => ({ names: ['OUT.Rd'], values: values.slice() });
  const ensembleSize = { variants: VARIANTS, steps };
  const pool = createWorkerPool({ size: 2 });
  report.notes.push(`1-minute load average at the start: ${loadavg()[0]!.toFixed(1)}.`);
  try {
    const one = await measureCpu({ name: `RCR ensemble ${VARIANTS} variants x ${steps} steps`, impl: 'one thread (in-process simulateEnsemble)', backend: 'cpu', size: ensembleSize, items: VARIANTS * steps, itemUnit: 'model-steps', repeats: 3, run: () => simulateEnsemble(cfg, samples(), { backend: 'cpu' }) });
    const two = await measureCpu({ name: `RCR ensemble ${VARIANTS} variants x ${steps} steps`, impl: 'pool of 2 workers (2 shards)', backend: 'cpu', size: ensembleSize, items: VARIANTS * steps, itemUnit: 'model-steps', repeats: 3, run: () => pool.simulateEnsemble(cfg, samples(), { backend: 'cpu', shards: 2 }) });
    const studySize = { studies: STUDIES, voxels: 24 * 24 * 20 };
    const seq = await measureCpu({ name: `${STUDIES} tiny pipelines (24x24x20 tube)`, impl: 'one thread (in-process, one after another)', backend: 'cpu', size: studySize, items: STUDIES, itemUnit: 'studies', repeats: 3, run: async () => {
      for (let i = 0; i < STUDIES; i++) await runPipeline({ volume: tube(), seeds: [[12, 12, 10]] }, { backend: 'cpu' });
    } });
    const par = await measureCpu({ name: `${STUDIES} tiny pipelines (24x24x20 tube)`, impl: 'pool of 2 workers (pool.map)', backend: 'cpu', size: studySize, items: STUDIES, itemUnit: 'studies', repeats: 3, run: () => pool.map(Array.from({ length: STUDIES }, tube), (w, volume) => w.runPipeline({ volume, seeds: [[12, 12, 10]] }, { backend: 'cpu', files: false })) });
    report.results.push(one, two, seq, par);
    report.ratios.push({ label: 'ensemble: one thread / pool of 2 (median)', value: ratio(one, two) });
    report.ratios.push({ label: `${STUDIES} pipelines: one thread / pool of 2 (median)`, value: ratio(seq, par) });
    report.notes.push(`availableParallelism() = ${availableParallelism()}; the pool cases' first run includes starting 2 workers.`);
    report.notes.push('cpuPerWall: CPU seconds of this process (every thread) per wall second over the runs of a case: ~1 for one thread, up to 2 when both workers compute at once.');
    report.notes.push('The pool\'s pipelines run with files: false (no output files encoded), as the in-process runs; their results (surface, labelmap, wall, tables) are transferred back.');
    report.notes.push(`1-minute load average at the end: ${loadavg()[0]!.toFixed(1)} on ${availableParallelism()} cores. Above ~1, other jobs share the cores: times are upper bounds, ratios lower bounds of an idle machine's.`);
  } finally {
    await pool.terminate();
  }
  writeReport(report);
}
