import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { PhysiotwinError, type JsonValue } from '@physiotwin/core';
import { createSamplePlan, shardRange } from '@physiotwin/hemo';
import type { Command } from '../command.js';
import { EXIT, manifestJson, stopwatch, UsageError } from '../command.js';
import { prepareFolderOutput, readEnsembleRecord, readSummary, sobolCsv, type EnsembleRecord } from '../ensemble-shards.js';

export const hemoMerge: Command = {
  name: 'hemo merge',
  summary: 'Join the shard folders of a sharded hemo ensemble into the result of the whole run',
  usage: `<shard-folder>... -o <folder> [--force]

  Checks that the shards come from one run (the same plan hash, config hash, outputs, shard count,
  backend, precision and pivot reference) and cover every variant exactly once, then writes summary.csv (the same
  bytes as the run unsharded), manifest.json (the shards' summaries hashed) and, for a Saltelli plan,
  sobol.csv: first (Saltelli 2010) and total (Jansen) Sobol' indices of each
  result column, with standard errors. A missing or repeated shard, or shards of different runs,
  are an error naming them: INVALID_ARGUMENT (IO_NOT_FOUND for a missing shard).`,
  async run(args, io) {
    const { values, positionals } = parseArgs({
      args,
      allowPositionals: true,
      options: { output: { type: 'string', short: 'o' }, force: { type: 'boolean', default: false } },
    });
    if (positionals.length === 0) throw new UsageError('expected the shard folders');
    if (!values.output) throw new UsageError('-o <folder> is required');
    const out = resolve(io.cwd, values.output);
    const write = await prepareFolderOutput(out, ['summary.csv', 'manifest.json'], values.force);
    const clock = stopwatch();
    const folders = positionals.map((p) => resolve(io.cwd, p));
    const shards = folders.map((folder) => {
      const record = readEnsembleRecord(folder);
      if (!record) throw new PhysiotwinError('IO_NOT_FOUND', 'not a finished shard: no manifest.json', { location: { file: folder } });
      return { folder, record };
    });
    const first = shards[0]!.record;
    // A shard from before issue #16 (no reference: its own pivot order) does not merge with one from after.
    const key = (r: EnsembleRecord) => JSON.stringify([r.plan, r.config, r.outputs, r.shard.count, r.backend, r.precision, r.reference ?? null]);
    for (const s of shards) {
      if (key(s.record) !== key(first)) {
        throw new PhysiotwinError('INVALID_ARGUMENT', `${s.folder} is not a shard of the same run as ${shards[0]!.folder} (plan ${s.record.plan.hash.slice(0, 12)} vs ${first.plan.hash.slice(0, 12)}, config, outputs, shard count, backend, precision or pivot reference differ)`);
      }
    }
    const n = first.shard.count;
    const byIndex = new Map<number, string>();
    for (const s of shards) {
      const { index, start, end } = s.record.shard;
      const expected = shardRange(first.plan.variants, index, n);
      if (start !== expected.start || end !== expected.end) throw new PhysiotwinError('INVALID_ARGUMENT', `shard ${index}/${n} holds variants ${start}..${end - 1}, the plan gives it ${expected.start}..${expected.end - 1}`, { location: { file: s.folder } });
      const other = byIndex.get(index);
      if (other !== undefined) throw new PhysiotwinError('INVALID_ARGUMENT', `shard ${index}/${n} is given twice: ${other} and ${s.folder}`);
      byIndex.set(index, s.folder);
    }
    const missing = Array.from({ length: n }, (_, i) => i).filter((i) => !byIndex.has(i));
    if (missing.length) {
      const r = shardRange(first.plan.variants, missing[0]!, n);
      throw new PhysiotwinError('IO_NOT_FOUND', `shard ${missing[0]}/${n} (variants ${r.start}..${r.end - 1}) is missing${missing.length > 1 ? `, and ${missing.length - 1} more (${missing.slice(1, 9).join(', ')}${missing.length > 9 ? ', ...' : ''})` : ''}`);
    }
    let csv = '';
    let header: string | undefined;
    for (let i = 0; i < n; i++) {
      const text = readSummary(byIndex.get(i)!);
      const cut = text.indexOf('\n') + 1;
      if (header === undefined) header = text.slice(0, cut);
      else if (text.slice(0, cut) !== header) throw new PhysiotwinError('INVALID_ARGUMENT', 'its summary.csv has other columns than shard 0', { location: { file: byIndex.get(i)! } });
      csv += i === 0 ? text : text.slice(cut);
    }
    const rows = csv.split('\n').length - 2;
    if (rows !== first.plan.variants) throw new PhysiotwinError('IO_INVALID', `the shards' summaries hold ${rows} rows, the plan ${first.plan.variants} variants`);
    let sobol: string | undefined;
    if (first.plan.definition?.method === 'saltelli') sobol = sobolCsv(createSamplePlan(first.plan.definition), csv);
    clock.lap('merge');
    const record: EnsembleRecord = { ...first, shard: { index: 0, count: 1, start: 0, end: first.plan.variants } };
    const manifest = await manifestJson({
      tool: 'physiotwin hemo merge',
      inputs: Array.from({ length: n }, (_, i) => `${byIndex.get(i)!}/summary.csv`),
      parameters: { ...record, merged: n } as unknown as JsonValue,
      backend: { backend: first.backend as 'cpu' | 'webgpu' },
      timings: clock.timings,
    });
    await write([['summary.csv', csv], ['manifest.json', manifest], ...(sobol !== undefined ? [['sobol.csv', sobol] as const] : [])]);
    io.stdout(`wrote ${out}: ${rows} variants from ${n} shards\n`);
    return EXIT.ok;
  },
};
