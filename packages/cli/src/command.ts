// The command framework and the helpers every command shares (flags, JSON, progress, outputs, manifests). Commands
// import from here, never from each other. Heavy packages load inside the helpers that need them, so that
// `physiotwin --version` stays fast.
import { closeSync, constants, existsSync, fstatSync, openSync, readFileSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import type { BackendRecord, JsonValue, Vec3 } from '@physiotwin/core';
import { createManifest, fileReadError, notRegularFileError, PhysiotwinError } from '@physiotwin/core';
import type { AtomicOutputs, StageOptions, StagedFile } from '@physiotwin/io/node';
import { VERSION } from './version.js';

/** Where a command writes; tests pass their own. */
export interface CliIO {
  stdout(text: string): void;
  stderr(text: string): void;
  /** True when stderr is a terminal: progress is drawn as a bar, else printed as plain lines. */
  isTTY: boolean;
  cwd: string;
}

/** One subcommand. `name` may have several words ('dicom info'); the longest match wins. */
export interface Command {
  name: string;
  summary: string;
  /** Usage text shown by `physiotwin <name> --help` (flags and their meaning). */
  usage: string;
  /** Runs with the arguments after the command name; returns the exit code. */
  run(args: string[], io: CliIO): Promise<number>;
}

/** Exit codes: 0 ok, 1 the input or computation failed with a typed error, 2 bad command line, 130/143 interrupted. */
export const EXIT = { ok: 0, failed: 1, usage: 2 } as const;

/** Thrown for a bad command line; main prints the command's usage with it. */
export class UsageError extends PhysiotwinError {
  constructor(message: string) {
    super('INVALID_ARGUMENT', message);
  }
}

/** Parses a comma-separated triple of numbers ("1,2,3"), for flags like --seed. */
export function parseTriple(text: string, flag: string): [number, number, number] {
  const parts = text.split(',').map(Number);
  if (parts.length !== 3 || !parts.every(Number.isFinite)) throw new UsageError(`${flag} takes three comma-separated numbers, got '${text}'`);
  return parts as [number, number, number];
}

/** Parses a finite number flag; undefined when the flag is absent. @throws UsageError for anything else. */
export function numberFlag(text: string | undefined, flag: string): number | undefined {
  if (text === undefined) return undefined;
  const v = Number(text);
  if (text.trim() === '' || !Number.isFinite(v)) throw new UsageError(`${flag} takes a number, got '${text}'`);
  return v;
}

/** Parses a positive finite number flag; undefined when the flag is absent. @throws UsageError for anything else. */
export function positiveFlag(text: string | undefined, flag: string): number | undefined {
  if (text === undefined) return undefined;
  const v = Number(text);
  if (text.trim() === '' || !Number.isFinite(v) || v <= 0) throw new UsageError(`${flag} takes a positive number, got '${text}'`);
  return v;
}

/** The values of `--backend`. */
export const BACKEND_NAMES = ['auto', 'cpu', 'webgpu'] as const;
/** A `--backend` value. */
export type BackendFlag = (typeof BACKEND_NAMES)[number];

/**
 * parseArgs options of the flags several commands share, with the same meaning and default everywhere: `-o/--out`,
 * `--backend` (default auto), and the switches `--force`, `--quiet`, `--json`, `--report`. A command lists the ones
 * it takes: `options: { out: FLAGS.out, force: FLAGS.force, ... }`; repeatable `--seed` is {@link seedOption}.
 */
export const FLAGS = {
  out: { type: 'string', short: 'o' },
  backend: { type: 'string', default: 'auto' },
  force: { type: 'boolean', default: false },
  quiet: { type: 'boolean', default: false },
  json: { type: 'boolean', default: false },
  report: { type: 'boolean', default: false },
} as const;

/** The parseArgs option of a repeatable `--seed i,j,k` (a fresh default array per call). */
export function seedOption(): { type: 'string'; multiple: true; default: string[] } {
  return { type: 'string', multiple: true, default: [] };
}

/** Checks a `--backend` value. @throws UsageError naming the values it takes */
export function backendFlag(text: string): BackendFlag {
  if (!(BACKEND_NAMES as readonly string[]).includes(text)) throw new UsageError(`--backend must be one of ${BACKEND_NAMES.join(', ')}`);
  return text as BackendFlag;
}

/** Parses repeated `--seed i,j,k` flags (0-based voxel indices). @throws UsageError for a seed that is not three numbers */
export function seedsFlag(texts: readonly string[]): Vec3[] {
  return texts.map((s) => parseTriple(s, '--seed') as Vec3);
}

/** The `-o` a command requires; `what` shows what it names (e.g. '<out-dir>'). @throws UsageError `-o <what> is required` */
export function requiredOut(out: string | undefined, what: string): string {
  if (!out) throw new UsageError(`-o ${what} is required`);
  return out;
}

/** Prints `value` as indented JSON followed by a newline. */
export function printJson(io: CliIO, value: unknown): void {
  io.stdout(JSON.stringify(value, null, 2) + '\n');
}

/**
 * Reads an input file whole, with file-system failures as typed errors; FIFOs and devices are refused before any
 * read (a FIFO would block, /dev/zero would never end).
 * @throws PhysiotwinError `IO_NOT_FOUND`, `IO_PERMISSION`, `IO_INVALID` (a folder, a FIFO, a device, another read failure).
 */
export function readInputFile(path: string): Buffer {
  let fd: number;
  try {
    // O_NONBLOCK: opening a FIFO returns at once, so that fstat can refuse it. The open of @physiotwin/io's
    // readRegularFile, repeated here because this module is on every command's start-up path and imports io/node
    // only when a command writes (the io graph is about 10 modules)
    fd = openSync(path, constants.O_RDONLY | (constants.O_NONBLOCK ?? 0));
  } catch (e) {
    throw fileReadError(e, path);
  }
  try {
    const st = fstatSync(fd);
    if (!st.isFile()) throw notRegularFileError(st, path);
    return readFileSync(fd);
  } catch (e) {
    throw fileReadError(e, path);
  } finally {
    closeSync(fd);
  }
}

/** Reads and parses a JSON file. @throws PhysiotwinError as {@link readInputFile}, `IO_INVALID` for bad JSON. */
export function readJsonFile(path: string): unknown {
  const text = readInputFile(path).toString('utf8');
  try {
    return JSON.parse(text);
  } catch (e) {
    throw new PhysiotwinError('IO_INVALID', `not valid JSON: ${(e as Error).message}`, { location: { file: path } });
  }
}

/** A progress callback that draws a bar on a TTY and prints plain lines otherwise. */
export function progressPrinter(io: CliIO): (e: { stage: string; done: number; total: number }) => void {
  let lastLine = '';
  return ({ stage, done, total }) => {
    const pct = total > 0 ? Math.floor((100 * done) / total) : 100;
    if (io.isTTY) {
      const width = 30;
      const filled = Math.round((width * pct) / 100);
      io.stderr(`\r${stage} [${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${pct}%${done >= total ? '\n' : ''}`);
    } else {
      const line = `${stage}: ${pct}%`;
      // Plain output: one line per 10% step, so logs stay short.
      if (pct % 10 === 0 && line !== lastLine) io.stderr(line + '\n');
      lastLine = line;
    }
  };
}

/** Collects stage timings (ms) for a manifest: `lap('read')` records the time since the previous lap. */
export function stopwatch(): { timings: Record<string, number>; lap(stage: string): void; add(stages: Record<string, number>): void } {
  const timings: Record<string, number> = {};
  let t = performance.now();
  return {
    timings,
    lap(stage) {
      const now = performance.now();
      timings[stage] = Math.round(now - t);
      t = now;
    },
    add(stages) {
      for (const [stage, ms] of Object.entries(stages)) timings[stage] = Math.round(ms);
      t = performance.now();
    },
  };
}

/** The manifest written beside a single-file output. */
export function manifestPathFor(output: string): string {
  return `${output}.manifest.json`;
}

/** What a command records in its run manifest; `inputs` are file paths, hashed here. */
export interface RunRecord {
  tool: string;
  inputs: string[];
  parameters: JsonValue;
  backend: BackendRecord;
  timings?: Record<string, number> | undefined;
}

/** The run manifest (createManifest from @physiotwin/core) as the JSON text a command writes. */
export async function manifestJson(run: RunRecord): Promise<string> {
  const inputs = [];
  for (const name of run.inputs) inputs.push({ name, data: new Uint8Array(readInputFile(name)) });
  const manifest = await createManifest({ ...run, inputs, packages: { '@physiotwin/cli': VERSION } });
  return JSON.stringify(manifest, null, 2) + '\n';
}

/** Staged output sets; while there are any, SIGINT and SIGTERM remove their files before exiting. */
let interruptible = 0;
let abandonPendingWrites: (() => void) | undefined;
function onInterrupt(signal: NodeJS.Signals): void {
  // Handlers run on the event loop, between the asynchronous steps of the writes: nothing is half-renamed.
  abandonPendingWrites?.();
  process.exit(signal === 'SIGINT' ? 130 : 143);
}

/**
 * Writes the files of a command, checked before any work and written atomically at the end. Every writing command
 * calls {@link prepareOutputs} with all its output paths before reading its inputs: an existing file (without
 * `--force`), a missing or unwritable folder, a parent that is a file refuse the run with a typed `IO_*` error
 * and nothing written. Files are then staged (temporary name beside the target, fsynced) and committed together:
 * without --force an existing name fails the commit with `IO_EXISTS` (of concurrent runs into one path exactly
 * one wins); with --force each file replaces the old one only once complete. While files are staged, SIGINT and
 * SIGTERM remove them before the process exits (130, 143); outside that window the signals keep their default
 * effect, so an interrupt during a long computation stops at once.
 */
export interface OutputWriter {
  /** Stages `files` and commits them, in order (the first decides a race between runs). */
  write(files: ReadonlyArray<readonly [string, Uint8Array | string]>): Promise<void>;
  /**
   * Writes one output to its temporary file (a command that makes its outputs one by one); parts are written one
   * after the other (no copy into one buffer). With `options.sha256` it returns the file's SHA-256, hashed while
   * the file system writes (for the run's provenance, without reading the file back).
   */
  stage(path: string, data: Uint8Array | string | readonly Uint8Array[], options?: StageOptions): Promise<StagedFile>;
  /** Moves every staged file to its name. */
  commit(): Promise<void>;
  /** Removes the staged files: for a failure between stage and commit. */
  discard(): void;
}

/**
 * Checks `paths` for writing (see {@link OutputWriter}) and returns the writer. Their folders must exist, except
 * `options.folder` (an output folder the command creates): it must exist or be creatable, and it is created when
 * the first file is staged.
 */
export async function prepareOutputs(paths: readonly string[], force: boolean, options: { folder?: string } = {}): Promise<OutputWriter> {
  const io = await import('@physiotwin/io/node');
  abandonPendingWrites = io.abandonPendingWrites;
  const folder = options.folder;
  if (folder !== undefined) await io.checkFolderCreatable(folder);
  // Nothing can be in the way inside a folder that does not exist yet.
  if (folder === undefined || existsSync(folder)) await io.checkOutputs(paths, { overwrite: force });
  const outputs: AtomicOutputs = new io.AtomicOutputs({ overwrite: force });
  let guarded = false;
  const guard = () => {
    if (guarded) return;
    guarded = true;
    if (interruptible++ === 0) {
      process.on('SIGINT', onInterrupt);
      process.on('SIGTERM', onInterrupt);
    }
  };
  const release = () => {
    if (!guarded) return;
    guarded = false;
    if (--interruptible === 0) {
      process.off('SIGINT', onInterrupt);
      process.off('SIGTERM', onInterrupt);
    }
  };
  const writer: OutputWriter = {
    async write(files) {
      try {
        for (const [path, data] of files) await writer.stage(path, data);
        await writer.commit();
      } catch (e) {
        writer.discard();
        throw e;
      }
    },
    async stage(path, data, stageOptions) {
      guard();
      try {
        if (folder !== undefined) {
          try {
            await mkdir(folder, { recursive: true });
          } catch (e) {
            throw io.writeError(e, folder);
          }
        }
        return await outputs.stage(path, data, stageOptions);
      } catch (e) {
        release();
        throw e;
      }
    },
    async commit() {
      try {
        await outputs.commit();
      } finally {
        release();
      }
    },
    discard() {
      outputs.discard();
      release();
    },
  };
  return writer;
}
