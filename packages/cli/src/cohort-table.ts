// Cohort tables: one row per patient (input, seed, targets, output folder), run row by row by
// `physiotwin pipeline --cohort cohort.csv --index i|auto` and gathered by `physiotwin cohort summary`. This module
// is the interface between them: the pipeline command reads its row with cohortRow and, when the row fails, records
// the error with writeCohortError; a finished row is a folder with manifest.json.
import { existsSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { PhysiotwinError } from '@physiotwin/core';
import { prepareOutputs, readInputFile, UsageError } from './command.js';
import { SHARD_ENV } from './ensemble-shards.js';

/** One row of a cohort table. */
export interface CohortRow {
  /** The row's id (column `id`; default its 0-based index). */
  id: string;
  /** The row's input (a DICOM folder or a volume), absolute (resolved against the table's folder). */
  input: string;
  /** The row's output folder, absolute (column `output`; default `<id>` beside the table). */
  output: string;
  /** Column `seed`, when given. */
  seed?: number | undefined;
  /** Every other column, as text (targets and options the pipeline reads). */
  extra: Record<string, string>;
}

/** A cohort table. */
export interface CohortTable {
  path: string;
  rows: CohortRow[];
}

/**
 * Reads a cohort CSV: a header with at least `input`, and optionally `id`, `output`, `seed` and any other columns
 * (no quoting: paths without commas). Relative paths are taken from the table's folder.
 * @throws PhysiotwinError `IO_*` for the file, `IO_INVALID` for a bad header, row, repeated id or seed
 */
export function readCohort(path: string): CohortTable {
  const lines = readInputFile(path).toString('utf8').split(/\r?\n/).filter((l) => l.trim() !== '');
  const header = (lines[0] ?? '').split(',').map((h) => h.trim());
  const col = (name: string) => header.indexOf(name);
  if (col('input') < 0) throw new PhysiotwinError('IO_INVALID', `a cohort table needs an 'input' column, got '${lines[0] ?? ''}'`, { location: { file: path } });
  const base = dirname(path);
  const ids = new Set<string>();
  const rows = lines.slice(1).map((line, r): CohortRow => {
    const cells = line.split(',').map((c) => c.trim());
    const where = { file: path, line: r + 2 };
    if (cells.length !== header.length) throw new PhysiotwinError('IO_INVALID', `row ${r} has ${cells.length} values, the header ${header.length}`, { location: where });
    const get = (name: string) => (col(name) >= 0 && cells[col(name)] !== '' ? cells[col(name)] : undefined);
    const id = get('id') ?? String(r);
    if (ids.has(id)) throw new PhysiotwinError('IO_INVALID', `id '${id}' is used twice`, { location: where });
    ids.add(id);
    const seedText = get('seed');
    const seed = seedText === undefined ? undefined : Number(seedText);
    if (seed !== undefined && (!Number.isInteger(seed) || seed < 0 || seed > 0xffffffff)) throw new PhysiotwinError('IO_INVALID', `row ${r}: seed '${seedText}' is not an integer in [0, 2^32)`, { location: where });
    const input = get('input');
    if (input === undefined) throw new PhysiotwinError('IO_INVALID', `row ${r} has no input`, { location: where });
    const extra = Object.fromEntries(header.map((h, j) => [h, cells[j]!] as const).filter(([h]) => !['id', 'input', 'output', 'seed'].includes(h)));
    return { id, input: resolve(base, input), output: resolve(base, get('output') ?? id), seed, extra };
  });
  if (rows.length === 0) throw new PhysiotwinError('IO_INVALID', 'the cohort table has no rows', { location: { file: path } });
  return { path, rows };
}

/**
 * Row `index` of a table; `'auto'` reads the index as `--shard auto` does (SLURM_ARRAY_TASK_ID or
 * JOB_COMPLETION_INDEX).
 * @throws UsageError for an index outside the table or auto outside an array task
 */
export function cohortRow(table: CohortTable, index: string, env: NodeJS.ProcessEnv = process.env): CohortRow {
  const text = index === 'auto' ? SHARD_ENV.index.map((k) => env[k]).find((v) => v !== undefined && v !== '') : index;
  if (text === undefined) throw new UsageError(`--index auto needs ${SHARD_ENV.index.join(' or ')}`);
  const i = Number(text);
  if (!/^\d+$/.test(text) || i >= table.rows.length) throw new UsageError(`--index must be in 0..${table.rows.length - 1}, got '${text}'`);
  return table.rows[i]!;
}

/** The file a failed row leaves in its output folder: `{ "code": ..., "message": ... }`. */
export const COHORT_ERROR_FILE = 'error.json';

/** Records a failed row (the pipeline command calls this before exiting with the error). @throws PhysiotwinError `IO_*` when the folder cannot be written */
export async function writeCohortError(row: CohortRow, error: unknown): Promise<void> {
  const code = error instanceof PhysiotwinError ? error.code : 'UNEXPECTED';
  const file = `${row.output}/${COHORT_ERROR_FILE}`;
  const out = await prepareOutputs([file], true, { folder: row.output });
  await out.write([[file, JSON.stringify({ id: row.id, code, message: (error as Error)?.message ?? String(error) }, null, 2) + '\n']]);
}

/** The state of a row's output folder: done (manifest.json), failed (error.json, with its code) or missing. */
export function rowState(output: string): { state: 'done' | 'failed' | 'missing'; manifest?: string; code?: string; message?: string } {
  if (existsSync(`${output}/manifest.json`)) return { state: 'done', manifest: `${output}/manifest.json` };
  if (existsSync(`${output}/${COHORT_ERROR_FILE}`)) {
    let e: { code?: string; message?: string } = {};
    try {
      e = JSON.parse(readInputFile(`${output}/${COHORT_ERROR_FILE}`).toString('utf8')) as typeof e;
    } catch {
      e = { code: 'IO_INVALID', message: `unreadable ${COHORT_ERROR_FILE}` };
    }
    return { state: 'failed', code: e.code ?? 'UNKNOWN', message: e.message ?? '' };
  }
  return { state: 'missing' };
}
