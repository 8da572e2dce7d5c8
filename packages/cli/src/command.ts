import { PhysiotwinError } from '@physiotwin/core';

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

/** Exit codes: 0 ok, 1 the input or computation failed with a typed error, 2 bad command line. */
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

/** Prints `value` as indented JSON followed by a newline. */
export function printJson(io: CliIO, value: unknown): void {
  io.stdout(JSON.stringify(value, null, 2) + '\n');
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
