// What `physiotwin slurm ...` and `physiotwin k8s ...` share: the array task and the merge step of an ensemble or a
// cohort, as argument lists, and how to quote them for a shell. Each engine's command turns them into its own files.
import { resolve } from 'node:path';
import { numberFlag, UsageError, type CliIO } from './command.js';

/** Stands for the task's index in a task's arguments; each engine puts its own variable there. */
export const INDEX = '\u0000INDEX\u0000';

/** An array of `count` tasks and the step that runs once they all succeeded. */
export interface ClusterWork {
  /** 'ensemble' or 'cohort' (job names). */
  kind: 'ensemble' | 'cohort';
  count: number;
  /** Arguments of one task after the physiotwin command, with {@link INDEX} for the task index. */
  task: string[];
  /** Environment of each task. */
  env: Record<string, string>;
  /** Arguments of the merge step. */
  merge: string[];
  /** The folder the tasks write under (logs go to `<out>/logs`). */
  out: string;
}

/** Quotes one argument for a POSIX shell; {@link INDEX} becomes `"$<indexVar>"`. */
export function shellWord(arg: string, indexVar: string): string {
  return arg
    .split(INDEX)
    .map((part) => (part === '' ? '' : /^[A-Za-z0-9_@%+=:,./-]+$/.test(part) ? part : `'${part.replaceAll("'", `'\\''`)}'`))
    .join(`"\${${indexVar}}"`);
}

/** A command line for a POSIX shell. */
export function shellLine(args: readonly string[], indexVar: string): string {
  return args.map((a) => shellWord(a, indexVar)).join(' ');
}

/** Flags every engine command takes for the work it runs (ensemble or cohort). */
export const WORK_FLAGS = {
  output: { type: 'string', short: 'o' },
  samples: { type: 'string' },
  'array-size': { type: 'string' },
  backend: { type: 'string' },
  precision: { type: 'string' },
  outputs: { type: 'string' },
  force: { type: 'boolean', default: false },
  physiotwin: { type: 'string', default: 'physiotwin' },
} as const;

/** Usage text of {@link WORK_FLAGS}. */
export const WORK_USAGE = `  ensemble: <config.json> --samples <plan.json|samples.csv> --array-size n [--backend ...] [--precision ...]
  [--outputs ...]: n tasks, task i runs physiotwin hemo ensemble ... --shard auto -o <out>/shard-i (the
  count in PHYSIOTWIN_SHARD_COUNT), then physiotwin hemo merge <out>/shard-* -o <out>/result.
  cohort: <cohort.csv>: one task per row (--array-size defaults to the number of rows), task i runs
  physiotwin pipeline --cohort cohort.csv --index auto, then physiotwin cohort summary <out>.
  Paths are written as absolute paths (resolved here): the cluster must see the same file system.`;

/**
 * Reads the work of `slurm <kind>` / `k8s <kind>` from its flags.
 * @throws UsageError for a missing or bad flag
 */
export function readWork(kind: 'ensemble' | 'cohort', positionals: string[], values: { [K in keyof typeof WORK_FLAGS]?: string | boolean | undefined }, io: CliIO, cohortRows: (path: string) => number): ClusterWork {
  if (positionals.length !== 1) throw new UsageError(kind === 'ensemble' ? 'expected one config file' : 'expected one cohort table');
  if (typeof values.output !== 'string') throw new UsageError('-o <folder> is required');
  const out = resolve(io.cwd, values.output);
  const input = resolve(io.cwd, positionals[0]!);
  const size = numberFlag(values['array-size'] as string | undefined, '--array-size');
  if (size !== undefined && (!Number.isInteger(size) || size < 1)) throw new UsageError(`--array-size takes a positive integer, got ${size}`);
  if (kind === 'cohort') {
    const count = size ?? cohortRows(input);
    return { kind, count, task: ['pipeline', '--cohort', input, '--index', 'auto'], env: {}, merge: ['cohort', 'summary', out, '--cohort', input, '--force'], out };
  }
  if (typeof values.samples !== 'string') throw new UsageError('--samples <plan.json|samples.csv> is required');
  if (size === undefined) throw new UsageError('--array-size n is required');
  const extra = (['backend', 'precision', 'outputs'] as const).flatMap((f) => (typeof values[f] === 'string' ? [`--${f}`, values[f] as string] : []));
  return {
    kind,
    count: size,
    task: ['hemo', 'ensemble', input, '--samples', resolve(io.cwd, values.samples), ...extra, '--shard', 'auto', '-o', `${out}/shard-${INDEX}`],
    env: { PHYSIOTWIN_SHARD_COUNT: String(size) },
    merge: ['hemo', 'merge', ...Array.from({ length: size }, (_, i) => `${out}/shard-${i}`), '-o', `${out}/result`, '--force'],
    out,
  };
}
