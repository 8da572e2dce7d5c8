// Test helper (not built: tsconfig excludes *.test-helper.ts): a CliIO that records what a command prints.
import { fileURLToPath } from 'node:url';
import type { CliIO } from './command.js';

/** The repository root, where fixtures/ lives. */
export const REPO_ROOT = fileURLToPath(new URL('../../../', import.meta.url));

/** A non-TTY CliIO whose stdout and stderr accumulate in `out` and `err`; paths resolve against `cwd`. */
export function capture(cwd: string = REPO_ROOT): CliIO & { out: string; err: string } {
  const io = { out: '', err: '', isTTY: false, cwd, stdout: (t: string) => void (io.out += t), stderr: (t: string) => void (io.err += t) };
  return io;
}
