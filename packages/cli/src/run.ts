import { isPhysiotwinError } from '@physiotwin/core';
import { releaseSharedGpu } from '@physiotwin/gpu';
import type { CliIO, Command } from './command.js';
import { EXIT, UsageError } from './command.js';
import { commands } from './commands/index.js';
import { VERSION } from './version.js';

function help(): string {
  const width = Math.max(...commands.map((c) => c.name.length));
  return [
    `physiotwin ${VERSION}: patient-specific imaging and physiology modeling`,
    '',
    'usage: physiotwin <command> [options]',
    '',
    ...commands.map((c) => `  ${c.name.padEnd(width)}  ${c.summary}`),
    '',
    'physiotwin <command> --help shows the options of a command. Global: --version, --help.',
    '',
  ].join('\n');
}

/** Finds the command whose (possibly multi-word) name is the longest prefix of argv. */
function findCommand(argv: string[]): { command: Command; rest: string[] } | undefined {
  let best: { command: Command; rest: string[] } | undefined;
  for (const command of commands) {
    const words = command.name.split(' ');
    if (words.every((w, i) => argv[i] === w) && (!best || words.length > best.command.name.split(' ').length)) {
      best = { command, rest: argv.slice(words.length) };
    }
  }
  return best;
}

/**
 * Runs the CLI with `argv` (without node and script) and returns the exit code.
 * @throws nothing for failures it reports (usage errors and PhysiotwinErrors become a message on stderr and the exit code); any other error, a bug, is rethrown.
 */
export async function runCli(argv: string[], io: CliIO): Promise<number> {
  if (argv.length === 0 || argv[0] === '--help' || argv[0] === '-h' || argv[0] === 'help') {
    io.stdout(help());
    return argv.length === 0 ? EXIT.usage : EXIT.ok;
  }
  if (argv[0] === '--version' || argv[0] === '-v') {
    io.stdout(`${VERSION}\n`);
    return EXIT.ok;
  }
  const found = findCommand(argv);
  if (!found) {
    io.stderr(`physiotwin: unknown command '${argv.join(' ')}'\n\n${help()}`);
    return EXIT.usage;
  }
  const { command, rest } = found;
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
    throw e;
  } finally {
    await releaseSharedGpu();
  }
}
