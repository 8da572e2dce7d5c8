import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import type { Command } from '../command.js';
import { backendFlag, FLAGS, UsageError } from '../command.js';
import { runPipelineCommand } from '../pipeline-run.js';

/** The bundled VMTK aorta CT (fixtures/mesh/README.md: source, licence note, seeds). */
const AORTA = new URL('../../../../fixtures/mesh/vmtk-aorta/aorta.mha', import.meta.url);
/** VMTK's seed inside the aorta (its tests' seed; `segment --auto` reaches both iliacs from it). */
const SEED: [number, number, number] = [71, 213, 16];

export const demo: Command = {
  name: 'demo',
  summary: 'the whole pipeline on the bundled VMTK aorta CT: report.html and every output in one folder',
  usage: [
    '[-o <out-dir>] [--backend auto|cpu|webgpu] [--quiet] [--json]',
    '  Runs `physiotwin pipeline fixtures/mesh/vmtk-aorta/aorta.mha --seed 71,213,16` into <out-dir>',
    '  (default physiotwin-demo), replacing earlier demo outputs there. Then open <out-dir>/report.html.',
  ].join('\n'),
  async run(args, io) {
    const { values, positionals } = parseArgs({
      args,
      options: {
        out: { type: 'string', short: 'o', default: 'physiotwin-demo' },
        backend: FLAGS.backend,
        quiet: FLAGS.quiet,
        json: FLAGS.json,
      },
      allowPositionals: true,
      strict: true,
    });
    if (positionals.length > 0) throw new UsageError('demo takes no input: it runs on the bundled aorta CT');
    const backend = backendFlag(values.backend);
    return runPipelineCommand(
      {
        input: fileURLToPath(AORTA),
        outDir: resolve(io.cwd, values.out),
        seeds: [SEED],
        backend,
        targets: {},
        // The demo's own folder: its outputs are regenerated on every run.
        force: true,
        resume: false,
        quiet: values.quiet,
        json: values.json,
      },
      io,
    );
  },
};
