import type { CliIO, Command } from './command.js';
import type { CommandEntry } from './commands/index.js';
import { commands } from './commands/index.js';
import { VERSION } from './version.js';

/** The top-level help: loads every command for its summary (help is not on the start-up path that must be fast). */
async function help(): Promise<string> {
  const loaded = await Promise.all(commands.map((c) => c.load()));
  const width = Math.max(...loaded.map((c) => c.name.length));
  return [
    `physiotwin ${VERSION}: patient-specific imaging and physiology modeling`,
    '',
    'usage: physiotwin <command> [options]',
    '',
    ...loaded.map((c) => `  ${c.name.padEnd(width)}  ${c.summary}`),
    '',
    'physiotwin <command> --help shows the options of a command.',
    'Global: --version, --help, --verbose (also show what the native GPU layer prints: Vulkan loader and Dawn',
    'messages, hidden by default).',
    '',
  ].join('\n');
}

/** Finds the command whose (possibly multi-word) name is the longest prefix of argv. */
function findCommand(argv: string[]): { entry: CommandEntry; rest: string[] } | undefined {
  let best: { entry: CommandEntry; rest: string[] } | undefined;
  for (const entry of commands) {
    const words = entry.name.split(' ');
    if (words.every((w, i) => argv[i] === w) && (!best || words.length > best.entry.name.split(' ').length)) {
      best = { entry, rest: argv.slice(words.length) };
    }
  }
  return best;
}

/**
 * Runs the CLI with `argv` (without node and script) and returns the exit code. `--verbose`
 * (anywhere) lets the native GPU layer's messages through (it sets `PHYSIOTWIN_GPU_LOG=show` for this process,
 * see @physiotwin/gpu) and adds the stack to an unexpected (untyped) error.
 * @throws nothing: usage errors and PhysiotwinErrors become a message on stderr and an exit code, and an unexpected error is printed too (with its stack under `--verbose`).
 */
export async function runCli(argv: string[], io: CliIO): Promise<number> {
  const verbose = argv.includes('--verbose');
  if (verbose) {
    argv = argv.filter((a) => a !== '--verbose');
    process.env.PHYSIOTWIN_GPU_LOG = 'show';
  }
  if (argv[0] === '--version' || argv[0] === '-v') {
    io.stdout(`${VERSION}\n`);
    return 0; // EXIT.ok: --version loads neither command.ts nor @physiotwin/core, so it starts as fast as Node
  }
  const { EXIT, UsageError } = await import('./command.js');
  const { isPhysiotwinError } = await import('@physiotwin/core');
  if (argv.length === 0 || argv[0] === '--help' || argv[0] === '-h' || argv[0] === 'help') {
    io.stdout(await help());
    return argv.length === 0 ? EXIT.usage : EXIT.ok;
  }
  const found = findCommand(argv);
  if (!found) {
    io.stderr(`physiotwin: unknown command '${argv.join(' ')}'\n\n${await help()}`);
    return EXIT.usage;
  }
  const command: Command = await found.entry.load();
  const { rest } = found;
  if (rest.includes('--help') || rest.includes('-h')) {
    io.stdout(`usage: physiotwin ${command.name} ${command.usage}\n`);
    return EXIT.ok;
  }
  try {
    return await command.run(rest, io);
  } catch (e) {
    if (e instanceof UsageError || (e instanceof TypeError && (e as { code?: string }).code?.startsWith('ERR_PARSE_ARGS'))) {
      io.stderr(`physiotwin ${command.name}: ${e.message}\nusage: physiotwin ${command.name} ${command.usage}\n`);
      return EXIT.usage;
    }
    if (isPhysiotwinError(e)) {
      io.stderr(`physiotwin ${command.name}: ${e.message}\n`);
      return EXIT.failed;
    }
    // Not a typed error: a bug, or a case no check foresaw. One line, never a stack trace unless asked for.
    const detail = verbose && e instanceof Error ? (e.stack ?? e.message) : e instanceof Error ? e.message : String(e);
    io.stderr(`physiotwin ${command.name}: unexpected error: ${detail}${verbose ? '' : ' (--verbose shows where)'}\n`);
    return EXIT.failed;
  } finally {
    // Release the shared GPU device only when one was made: gpu's registry (SHARED_GPU_KEY, a slot on globalThis
    // that its first getSharedGpu call makes) says so without loading the package, which a command that never used
    // it (info) must not pay for here (start-up, issue #11).
    if ((globalThis as { [key: symbol]: { current?: unknown } | undefined })[Symbol.for('@physiotwin/gpu:shared-device')]?.current !== undefined) {
      const { releaseSharedGpu } = await import('@physiotwin/gpu');
      await releaseSharedGpu();
    }
  }
}
