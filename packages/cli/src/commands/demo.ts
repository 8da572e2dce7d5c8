import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import type { Command } from '../command.js';
import { UsageError } from '../command.js';
import { runPipelineCommand } from './pipeline.js';

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
        backend: { type: 'string', default: 'auto' },
        quiet: { type: 'boolean', default: false },
        json: { type: 'boolean', default: false },
      },
      allowPositionals: true,
      strict: true,
    });
    if (positionals.length > 0) throw new UsageError('demo takes no input: it runs on the bundled aorta CT');
    if (!['auto', 'cpu', 'webgpu'].includes(values.backend)) throw new UsageError('--backend must be one of auto, cpu, webgpu');
    return runPipelineCommand(
      {
        input: fileURLToPath(AORTA),
        outDir: resolve(io.cwd, values.out),
        seeds: [SEED],
        backend: values.backend as 'auto' | 'cpu' | 'webgpu',
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
