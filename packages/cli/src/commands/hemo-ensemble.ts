import { extname, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { PhysiotwinError } from '@physiotwin/core';
import { getSharedGpu } from '@physiotwin/gpu';
import { samplesFromRecords, simulateEnsemble, type EnsembleSamples, type EnsembleSummary, type SvZeroDConfig } from '@physiotwin/hemo';
import type { Command } from '../command.js';
import { EXIT, manifestJson, manifestPathFor, prepareOutputs, readInputFile, readJsonFile, stopwatch, UsageError } from '../command.js';

/** Reads ensemble samples: CSV (header of `block.param` keys, one row per variant) or JSON (array of records or pandas columns). */
export function readSamples(path: string): EnsembleSamples {
  if (extname(path).toLowerCase() === '.json') {
    const data = readJsonFile(path);
    if (Array.isArray(data)) return samplesFromRecords(data as Array<Record<string, number>>);
    if (typeof data === 'object' && data !== null) {
      const cols = data as Record<string, Record<string, number>>;
      const names = Object.keys(cols);
      const rows = names.length ? Object.keys(cols[names[0]!]!) : [];
      return samplesFromRecords(rows.map((r) => Object.fromEntries(names.map((k) => [k, cols[k]![r]!]))));
    }
    throw new PhysiotwinError('IO_INVALID', 'samples JSON must be an array of records or {column: {row: value}}', { location: { file: path } });
  }
  const lines = readInputFile(path).toString('utf8').split(/\r?\n/).filter((l) => l.trim().length > 0);
  const names = (lines[0] ?? '').split(',').map((s) => s.trim());
  if (names.length === 0 || names.some((n) => !n.includes('.'))) {
    throw new PhysiotwinError('IO_INVALID', `the header must name parameters as block.param, got '${lines[0] ?? ''}'`, { location: { file: path } });
  }
  const values = new Float64Array((lines.length - 1) * names.length);
  for (let i = 1; i < lines.length; i++) {
    const cells = lines[i]!.split(',');
    if (cells.length !== names.length) throw new PhysiotwinError('IO_INVALID', `row ${i + 1} has ${cells.length} values, header has ${names.length}`, { location: { file: path } });
    cells.forEach((c, j) => {
      const x = Number(c);
      if (c.trim() === '' || !Number.isFinite(x)) throw new PhysiotwinError('IO_INVALID', `row ${i + 1}, column '${names[j]}': '${c}' is not a number`, { location: { file: path } });
      values[(i - 1) * names.length + j] = x;
    });
  }
  return { names, values };
}

/** Summary CSV: variant, the sample's parameters, then <output>:mean/min/max and split:<outlet>. */
export function summaryToCsv(samples: EnsembleSamples, s: EnsembleSummary): string {
  const header = ['variant', ...samples.names, ...s.outputs.flatMap((o) => [`${o}:mean`, `${o}:min`, `${o}:max`]), ...s.splitNames.map((n) => `split:${n}`)];
  const lines = [header.join(',')];
  const P = samples.names.length;
  const K = s.outputs.length;
  const S = s.splitNames.length;
  for (let v = 0; v < s.n; v++) {
    const row: Array<string | number> = [v];
    for (let j = 0; j < P; j++) row.push(samples.values[v * P + j]!);
    for (let k = 0; k < K; k++) row.push(s.mean[v * K + k]!, s.min[v * K + k]!, s.max[v * K + k]!);
    for (let j = 0; j < S; j++) row.push(s.splits[v * S + j]!);
    lines.push(row.join(','));
  }
  return lines.join('\n') + '\n';
}

export const hemoEnsemble: Command = {
  name: 'hemo ensemble',
  summary: 'Run N parameter variants of a 0D model and write per-variant summaries',
  usage: `<config.json> --samples <samples.csv|json> -o <summary.csv> [--backend cpu|webgpu|auto] [--precision auto|f32|df] [--outputs a,b,...] [--force]

  Each sample row overrides parameters named block.param (e.g. OUT.Rd, branch0_seg0.R_poiseuille).
  The summary has one row per variant: the sample values, mean/min/max over the last cardiac cycle
  of each output (variable names as in variable-based output; default every node pressure and
  flow; CGS units) and the flow split of each outlet. --backend webgpu runs the model on the GPU
  (block types: see the hemo README; others are rejected): results agree with cpu within 1e-3
  relative. --precision auto (default) runs it in f32, or in double-float (pairs of f32, slower)
  for ClosedLoopHeartAndPulmonary, whose ideal valves f32 cannot follow (f32: about 1e-2 in the
  means); f32 or df force one. Variants whose Newton fails on the GPU are re-run in f64, counted in
  the output line. --backend auto picks webgpu on a hardware GPU for supported models of at least
  1e5 model-steps, else cpu. <output>.manifest.json records the run. The folder of -o must exist;
  existing files are kept unless --force.`,
  async run(args, io) {
    const { values, positionals } = parseArgs({
      args,
      allowPositionals: true,
      options: {
        samples: { type: 'string' },
        output: { type: 'string', short: 'o' },
        backend: { type: 'string', default: 'cpu' },
        precision: { type: 'string', default: 'auto' },
        outputs: { type: 'string' },
        force: { type: 'boolean', default: false },
      },
    });
    if (positionals.length !== 1) throw new UsageError('expected one config file');
    if (!values.samples) throw new UsageError('--samples <samples.csv|json> is required');
    if (!values.output) throw new UsageError('-o <summary.csv> is required');
    if (values.backend !== 'cpu' && values.backend !== 'webgpu' && values.backend !== 'auto') throw new UsageError(`--backend must be cpu, webgpu or auto, got '${values.backend}'`);
    if (values.precision !== 'auto' && values.precision !== 'f32' && values.precision !== 'df') throw new UsageError(`--precision must be auto, f32 or df, got '${values.precision}'`);
    const out = resolve(io.cwd, values.output);
    if (extname(out).toLowerCase() !== '.csv') throw new UsageError(`-o must end in .csv, got '${values.output}'`);
    const outputs = await prepareOutputs([out, manifestPathFor(out)], values.force);
    const configPath = resolve(io.cwd, positionals[0]!);
    const samplesPath = resolve(io.cwd, values.samples);
    const config = readJsonFile(configPath) as SvZeroDConfig;
    const samples = readSamples(samplesPath);
    const outputNames = values.outputs?.split(',').map((s) => s.trim());
    const clock = stopwatch();
    const summary = await simulateEnsemble(config, samples, {
      backend: values.backend,
      precision: values.precision,
      ...(values.backend === 'webgpu' ? { gpu: await getSharedGpu() } : {}),
      ...(outputNames ? { outputs: outputNames } : {}),
    });
    clock.lap('ensemble');
    const manifest = await manifestJson({
      tool: 'physiotwin hemo ensemble',
      inputs: [configPath, samplesPath],
      parameters: { backend: values.backend, precision: values.precision, outputs: outputNames ?? null },
      backend: summary.backend === 'webgpu' ? { backend: 'webgpu', adapter: (await getSharedGpu()).adapter } : { backend: 'cpu' },
      timings: clock.timings,
    });
    await outputs.write([[out, summaryToCsv(samples, summary)], [manifestPathFor(out), manifest]]);
    const ms = clock.timings.ensemble!;
    const rerun = summary.cpuVariants.length ? `, ${summary.cpuVariants.length} re-run in f64 on the CPU` : '';
    io.stdout(`wrote ${out}: ${summary.n} variants (${summary.kernel} kernel, ${summary.backend} ${summary.precision}${rerun}) in ${ms.toFixed(0)} ms\n`);
    return EXIT.ok;
  },
};
