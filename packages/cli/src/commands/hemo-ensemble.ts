import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { getSharedGpu } from '@physiotwin/gpu';
import { shardRange, simulateEnsemble, type SvZeroDConfig } from '@physiotwin/hemo';
import { sha256Hex, type JsonValue } from '@physiotwin/core';
import type { Command } from '../command.js';
import { EXIT, manifestJson, readInputFile, readJsonFile, stopwatch, UsageError } from '../command.js';
import { parseShard, prepareFolderOutput, readEnsembleRecord, readVariantSource, sobolCsv, summaryHeader, summaryRows, type EnsembleRecord } from '../ensemble-shards.js';

export const hemoEnsemble: Command = {
  name: 'hemo ensemble',
  summary: 'Run N parameter variants of a 0D model (or one shard of them) and write per-variant summaries',
  usage: `<config.json> --samples <plan.json|samples.csv|samples.json> -o <folder> [--shard i/n|auto] [--backend cpu|webgpu|auto] [--precision auto|f32|df] [--outputs a,b,...] [--force]

  --samples is a sample plan (physiotwin hemo plan: grid, Monte Carlo, Latin hypercube, Sobol',
  Saltelli) or a table whose rows override parameters named block.param (e.g. OUT.Rd,
  branch0_seg0.R_poiseuille). -o names a folder: summary.csv has one row per variant (its index,
  the sample values, mean/min/max over the last cardiac cycle of each output (variable names as in
  variable-based output; default every node pressure and flow; CGS units) and the flow split of each
  outlet); manifest.json records the plan hash, shard, variant range, config hash, backend,
  precision, seed and the reference the shard's static decisions came from (the plan's first and
  last variant); a Saltelli plan run whole also gets sobol.csv (first and total Sobol' indices).
  --shard i/n runs only shard i of n (contiguous variant ranges computed from the plan alone);
  physiotwin hemo merge joins the shards into the bytes of the whole run. --shard auto reads the
  index from SLURM_ARRAY_TASK_ID or JOB_COMPLETION_INDEX and the count from PHYSIOTWIN_SHARD_COUNT or
  SLURM_ARRAY_TASK_COUNT. The folder is written under a temporary name and renamed when complete; a
  folder already holding this shard of this plan and config is kept and the run skipped (so
  resubmitted array tasks redo only unfinished shards); any other existing folder is refused unless
  --force. --backend webgpu runs the model on the GPU (block types: see the hemo README): results
  agree with cpu within 1e-3 relative. --precision auto (default) runs it in f32, or in double-float
  (pairs of f32, slower) for ClosedLoopHeartAndPulmonary, whose ideal valves f32 cannot follow; f32
  or df force one. Variants whose Newton fails on the GPU are re-run in f64. --backend auto picks
  webgpu on a hardware GPU for supported models of at least 1e5 model-steps, else cpu.`,
  async run(args, io) {
    const { values, positionals } = parseArgs({
      args,
      allowPositionals: true,
      options: {
        samples: { type: 'string' },
        output: { type: 'string', short: 'o' },
        shard: { type: 'string' },
        backend: { type: 'string', default: 'cpu' },
        precision: { type: 'string', default: 'auto' },
        outputs: { type: 'string' },
        force: { type: 'boolean', default: false },
      },
    });
    if (positionals.length !== 1) throw new UsageError('expected one config file');
    if (!values.samples) throw new UsageError('--samples <plan.json|samples.csv> is required');
    if (!values.output) throw new UsageError('-o <folder> is required');
    if (values.backend !== 'cpu' && values.backend !== 'webgpu' && values.backend !== 'auto') throw new UsageError(`--backend must be cpu, webgpu or auto, got '${values.backend}'`);
    if (values.precision !== 'auto' && values.precision !== 'f32' && values.precision !== 'df') throw new UsageError(`--precision must be auto, f32 or df, got '${values.precision}'`);
    if (/\.(csv|json)$/i.test(values.output)) throw new UsageError(`-o names a folder (summary.csv and manifest.json go inside), got '${values.output}'`);
    const shard = parseShard(values.shard);
    const out = resolve(io.cwd, values.output);
    const configPath = resolve(io.cwd, positionals[0]!);
    const samplesPath = resolve(io.cwd, values.samples);
    // A finished shard of this plan and config is kept: resubmitting an array redoes only what is missing.
    // Outputs are checked before any input is read (an existing folder of another run is refused here).
    const done = values.force ? undefined : readEnsembleRecord(out);
    const write = done ? undefined : await prepareFolderOutput(out, ['summary.csv', 'manifest.json'], values.force);
    const source = await readVariantSource(samplesPath);
    const { start, end } = shardRange(source.total, shard.index, shard.count);
    const configHash = await sha256Hex(new Uint8Array(readInputFile(configPath)));
    if (done && done.plan.hash === source.hash && done.config === configHash && done.shard.start === start && done.shard.end === end) {
      io.stdout(`${out}: shard ${shard.index}/${shard.count} (variants ${start}..${end - 1}) is already done\n`);
      return EXIT.ok;
    }
    const whole = shard.count === 1;
    const saltelli = whole && source.plan?.method === 'saltelli';
    const writeFolder = write ?? (await prepareFolderOutput(out, ['summary.csv', 'manifest.json'], values.force));
    const config = readJsonFile(configPath) as SvZeroDConfig;
    const samples = source.rows(start, end);
    // A shard decides what the whole run decides (pivot order from the plan's first and last variant, 'auto' from the
    // plan's work), so the merged shards are the bytes of the unsharded run.
    const last = source.total - 1;
    const ends = whole ? undefined : last > 0 ? { names: samples.names, values: Float64Array.of(...source.rows(0, 1).values, ...source.rows(last, last + 1).values) } : source.rows(0, 1);
    const outputNames = values.outputs?.split(',').map((s) => s.trim());
    const clock = stopwatch();
    const summary = await simulateEnsemble(config, samples, {
      backend: values.backend,
      precision: values.precision,
      ...(values.backend === 'webgpu' ? { gpu: await getSharedGpu() } : {}),
      ...(outputNames ? { outputs: outputNames } : {}),
      ...(ends ? { whole: { variants: source.total, ends } } : {}),
    });
    clock.lap('ensemble');
    const record: EnsembleRecord = {
      plan: { hash: source.hash, method: source.plan?.method ?? 'table', seed: source.plan?.seed ?? null, variants: source.total, definition: source.plan ?? null },
      shard: { index: shard.index, count: shard.count, start, end },
      config: configHash,
      outputs: outputNames ?? null,
      backend: summary.backend,
      precision: summary.precision,
      requested: { backend: values.backend, precision: values.precision },
      reference: { variants: source.total, rows: source.total > 1 ? [0, source.total - 1] : [0] },
    };
    const manifest = await manifestJson({
      tool: 'physiotwin hemo ensemble',
      inputs: [configPath, samplesPath],
      parameters: record as unknown as JsonValue,
      backend: summary.backend === 'webgpu' ? { backend: 'webgpu', adapter: (await getSharedGpu()).adapter } : { backend: 'cpu' },
      timings: clock.timings,
    });
    const csv = summaryHeader(samples.names, summary) + summaryRows(samples, summary, start);
    await writeFolder([['summary.csv', csv], ['manifest.json', manifest], ...(saltelli ? [['sobol.csv', sobolCsv(source.plan!, csv)] as const] : [])]);
    const ms = clock.timings.ensemble!;
    const rerun = summary.cpuVariants.length ? `, ${summary.cpuVariants.length} re-run in f64 on the CPU` : '';
    const part = whole ? '' : ` (shard ${shard.index}/${shard.count}, variants ${start}..${end - 1})`;
    io.stdout(`wrote ${out}: ${summary.n} variants${part} (${summary.kernel} kernel, ${summary.backend} ${summary.precision}${rerun}) in ${ms.toFixed(0)} ms\n`);
    return EXIT.ok;
  },
};
