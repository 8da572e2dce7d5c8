import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { verifyRun } from '@physiotwin/io/node';
import type { Command } from '../command.js';
import { EXIT, UsageError, printJson } from '../command.js';

export const verifyRunCommand: Command = {
  name: 'verify-run',
  summary: "re-check an output folder against its provenance: the runId and the SHA-256 of every input and output",
  usage: [
    '<out-dir> [--json]',
    '  out-dir  a folder physiotwin wrote (manifest.json and ro-crate-metadata.json in it)',
    '  --json   print {runId, manifestIntact, files: [{role, name, status: ok|changed|missing}], ok}',
    'Exit 0 when everything matches, 1 when something changed or is missing.',
  ].join('\n'),
  async run(args, io) {
    const { values, positionals } = parseArgs({ args, options: { json: { type: 'boolean', default: false } }, allowPositionals: true, strict: true });
    if (positionals.length !== 1) throw new UsageError('give one output folder');
    const result = await verifyRun(resolve(io.cwd, positionals[0]!), io.cwd);
    if (values.json) printJson(io, result);
    else {
      io.stdout(`run ${result.runId}: manifest ${result.manifestIntact ? 'intact' : 'CHANGED (runId does not match its content)'}\n`);
      for (const f of result.files) if (f.status !== 'ok') io.stdout(`  ${f.role} ${f.name}: ${f.status}\n`);
      io.stdout(result.ok ? `all ${result.files.length} file(s) match\n` : 'something changed\n');
    }
    return result.ok ? EXIT.ok : EXIT.failed;
  },
};
