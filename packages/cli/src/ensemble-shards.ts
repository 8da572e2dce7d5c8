// What `hemo ensemble` and `hemo merge` share: reading a plan or a samples table, the shard a task runs, the shard
// record in manifest.json, the summary and Sobol' tables, and output folders written whole (staged, then renamed).
import { existsSync } from 'node:fs';
import { rename, rm } from 'node:fs/promises';
import { extname } from 'node:path';
import { canonicalJson, PhysiotwinError, sha256Hex } from '@physiotwin/core';
import {
  createSamplePlan,
  planSamples,
  planVariantCount,
  samplePlanHash,
  samplesFromRecords,
  sobolIndicesSaltelli,
  type EnsembleSamples,
  type EnsembleSummary,
  type SamplePlan,
} from '@physiotwin/hemo';
import { prepareOutputs, readInputFile, readJsonFile, UsageError } from './command.js';

/** The variants of a run: a sample plan (rows computed per range) or a samples table (CSV or JSON records). */
export interface VariantSource {
  /** The plan, when the input was one. */
  plan?: SamplePlan | undefined;
  /** Number of variants. */
  total: number;
  /** SHA-256 naming the variants: of the plan's canonical JSON, or of the table's names and values. */
  hash: string;
  /** Rows start .. end - 1. */
  rows(start: number, end: number): EnsembleSamples;
}

/** Reads samples as a table: CSV (header of `block.param` keys, one row per variant) or JSON (records or pandas columns). */
function readSamplesTable(path: string, data: unknown): EnsembleSamples {
  if (data !== undefined) {
    if (Array.isArray(data)) return samplesFromRecords(data as Array<Record<string, number>>);
    if (typeof data === 'object' && data !== null) {
      const cols = data as Record<string, Record<string, number>>;
      const names = Object.keys(cols);
      const rows = names.length ? Object.keys(cols[names[0]!]!) : [];
      return samplesFromRecords(rows.map((r) => Object.fromEntries(names.map((k) => [k, cols[k]![r]!]))));
    }
    throw new PhysiotwinError('IO_INVALID', 'samples JSON must be a sample plan, an array of records or {column: {row: value}}', { location: { file: path } });
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

/**
 * Reads `--samples`: a sample plan (JSON with `"format": "physiotwin-sample-plan"`, from `hemo plan`, or its spec), or a samples
 * table (CSV, JSON records or pandas columns, as `hemo ensemble` has always taken).
 * @throws PhysiotwinError `IO_*` for the file, `CONFIG_INVALID` for a bad plan or table
 */
export async function readVariantSource(path: string): Promise<VariantSource> {
  const json = extname(path).toLowerCase() === '.json' ? readJsonFile(path) : undefined;
  // A plan, or a plan spec (hemo plan's input: the same fields without format and version).
  if (typeof json === 'object' && json !== null && !Array.isArray(json) && ('format' in json || ('method' in json && 'parameters' in json))) {
    let plan: SamplePlan;
    try {
      plan = createSamplePlan(json);
    } catch (e) {
      if (e instanceof PhysiotwinError) throw new PhysiotwinError(e.code, e.message.replace(/^[A-Z_]+: /, ''), { location: { file: path, jsonPath: (e.location as { jsonPath?: string } | undefined)?.jsonPath } });
      throw e;
    }
    return { plan, total: planVariantCount(plan), hash: await samplePlanHash(plan), rows: (s, e) => planSamples(plan, s, e) };
  }
  const table = readSamplesTable(path, json);
  const P = table.names.length;
  return {
    total: table.values.length / P,
    hash: await sha256Hex(canonicalJson({ names: table.names, values: table.values })),
    rows: (s, e) => ({ names: table.names, values: table.values.slice(s * P, e * P) }),
  };
}

/** Shard i of n. */
export interface ShardIndex {
  index: number;
  count: number;
}

/**
 * Environment variables `--shard auto` reads: the index from Slurm's array task id or a Kubernetes Indexed Job's
 * completion index, the count from PHYSIOTWIN_SHARD_COUNT (the generated scripts set it) or Slurm's task count.
 */
export const SHARD_ENV = { index: ['SLURM_ARRAY_TASK_ID', 'JOB_COMPLETION_INDEX'], count: ['PHYSIOTWIN_SHARD_COUNT', 'SLURM_ARRAY_TASK_COUNT'] } as const;

/**
 * Parses `--shard i/n` or `--shard auto` (see {@link SHARD_ENV}); none means the whole run (shard 0 of 1).
 * @throws UsageError for anything else, or `auto` outside an array task
 */
export function parseShard(text: string | undefined, env: NodeJS.ProcessEnv = process.env): ShardIndex {
  if (text === undefined) return { index: 0, count: 1 };
  let i: string | undefined;
  let n: string | undefined;
  if (text === 'auto') {
    i = SHARD_ENV.index.map((k) => env[k]).find((v) => v !== undefined && v !== '');
    n = SHARD_ENV.count.map((k) => env[k]).find((v) => v !== undefined && v !== '');
    if (i === undefined || n === undefined) {
      throw new UsageError(`--shard auto needs the shard index in ${SHARD_ENV.index.join(' or ')} and the count in ${SHARD_ENV.count.join(' or ')}`);
    }
  } else {
    [i, n] = text.split('/');
  }
  const index = Number(i);
  const count = Number(n);
  if (!/^\d+$/.test(i ?? '') || !/^\d+$/.test(n ?? '') || count < 1 || index >= count) throw new UsageError(`--shard takes i/n with 0 <= i < n, or auto; got '${text}'${text === 'auto' ? ` (index ${i}, count ${n})` : ''}`);
  return { index, count };
}

/** What manifest.json's `parameters` hold for an ensemble folder (a shard, or a whole or merged run). */
export interface EnsembleRecord {
  /** The plan's hash, method ('table' for a samples table), seed, variant count and the plan itself (null for a table). */
  plan: { hash: string; method: string; seed: number | null; variants: number; definition: SamplePlan | null };
  shard: { index: number; count: number; start: number; end: number };
  /** SHA-256 of the model config. */
  config: string;
  outputs: string[] | null;
  /** What ran: the backend and arithmetic of the summaries. */
  backend: string;
  precision: string;
  /** The kernel and precision asked for on the command line. */
  requested: { backend: string; precision: string };
  /**
   * What every shard's static decisions (the general kernel's pivot order, 'auto''s work) came from: the plan's
   * variant count and the rows of its first and last variant. Absent in manifests written before issue #16.
   */
  reference?: { variants: number; rows: number[] } | undefined;
}

/** Reads the ensemble record of a folder's manifest.json; undefined when there is no manifest. @throws PhysiotwinError `IO_INVALID` for a manifest without one */
export function readEnsembleRecord(folder: string): EnsembleRecord | undefined {
  const path = `${folder}/manifest.json`;
  if (!existsSync(path)) return undefined;
  const m = readJsonFile(path) as { parameters?: Partial<EnsembleRecord> };
  const p = m?.parameters;
  if (!p || typeof p.plan?.hash !== 'string' || typeof p.shard?.start !== 'number' || typeof p.config !== 'string') {
    throw new PhysiotwinError('IO_INVALID', 'not the manifest of a hemo ensemble run (no plan hash, shard range or config hash)', { location: { file: path } });
  }
  return p as EnsembleRecord;
}

/** The summary table's header: variant, the parameters, then <output>:mean/min/max and split:<outlet>. */
export function summaryHeader(names: readonly string[], s: Pick<EnsembleSummary, 'outputs' | 'splitNames'>): string {
  return ['variant', ...names, ...s.outputs.flatMap((o) => [`${o}:mean`, `${o}:min`, `${o}:max`]), ...s.splitNames.map((n) => `split:${n}`)].join(',') + '\n';
}

/** The summary rows of variants first .. first + n - 1 (numbers as JavaScript prints them: shortest round trip). */
export function summaryRows(samples: EnsembleSamples, s: EnsembleSummary, first: number): string {
  const P = samples.names.length;
  const K = s.outputs.length;
  const S = s.splitNames.length;
  let out = '';
  for (let v = 0; v < s.n; v++) {
    const row: Array<string | number> = [first + v];
    for (let j = 0; j < P; j++) row.push(samples.values[v * P + j]!);
    for (let k = 0; k < K; k++) row.push(s.mean[v * K + k]!, s.min[v * K + k]!, s.max[v * K + k]!);
    for (let j = 0; j < S; j++) row.push(s.splits[v * S + j]!);
    out += row.join(',') + '\n';
  }
  return out;
}

/**
 * sobol.csv of a Saltelli plan's summary table: first and total indices (with standard errors) of every result
 * column whose value varies, parameters in plan order.
 */
export function sobolCsv(plan: SamplePlan, summaryCsv: string): string {
  const lines = summaryCsv.trimEnd().split('\n');
  const header = lines[0]!.split(',');
  const k = plan.parameters.length;
  const rows = lines.slice(1).map((l) => l.split(',').map(Number));
  let out = 'output,parameter,S1,S1_se,ST,ST_se\n';
  for (let c = 1 + k; c < header.length; c++) {
    const r = sobolIndicesSaltelli(Float64Array.from(rows, (row) => row[c]!), k);
    if (!r) continue;
    for (let i = 0; i < k; i++) out += [header[c], plan.parameters[i]!.name, r.first[i], r.firstSe[i], r.total[i], r.totalSe[i]].join(',') + '\n';
  }
  return out;
}

/**
 * Checks that an ensemble folder can be written (its parent exists or can be made, nothing is in the way) and
 * returns a writer that stages every file in a temporary folder beside it (`<out>.partial-<pid>`) and renames that
 * folder to `out` at the end: a killed task leaves no half-written folder under the final name.
 * @throws PhysiotwinError `IO_EXISTS` when `out` exists (without force), else as prepareOutputs
 */
export async function prepareFolderOutput(out: string, files: readonly string[], force: boolean): Promise<(contents: ReadonlyArray<readonly [string, string]>) => Promise<void>> {
  if (existsSync(out) && !force) throw new PhysiotwinError('IO_EXISTS', 'the output folder exists (use --force to replace it)', { location: { file: out } });
  const tmp = `${out}.partial-${process.pid}`;
  const writer = await prepareOutputs(files.map((f) => `${tmp}/${f}`), true, { folder: tmp });
  return async (contents) => {
    await rm(tmp, { recursive: true, force: true });
    await writer.write(contents.map(([f, data]) => [`${tmp}/${f}`, data] as const));
    if (force) await rm(out, { recursive: true, force: true });
    try {
      await rename(tmp, out);
    } catch (e) {
      await rm(tmp, { recursive: true, force: true });
      const code = (e as NodeJS.ErrnoException).code;
      if (code === 'ENOTEMPTY' || code === 'EEXIST') throw new PhysiotwinError('IO_EXISTS', 'another run wrote this output folder first', { location: { file: out } });
      throw new PhysiotwinError('IO_WRITE_FAILED', `cannot rename ${tmp} to it: ${(e as Error).message}`, { location: { file: out } });
    }
  };
}

/** The summary.csv of a folder. @throws PhysiotwinError as readInputFile */
export function readSummary(folder: string): string {
  return readInputFile(`${folder}/summary.csv`).toString('utf8');
}
