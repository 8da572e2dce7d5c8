import { readFileSync, writeFileSync, existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { PhysiotwinError } from '@physiotwin/core';
import { parseResultTable, resultToSvg } from '@physiotwin/hemo';
import type { Command } from '../command.js';
import { EXIT, UsageError } from '../command.js';
import { checkWritable } from './hemo-run.js';

export const hemoPlot: Command = {
  name: 'hemo plot',
  summary: 'Plot pressure and flow waveforms of a 0D result as SVG',
  usage: `<result.csv|result.json> -o <plot.svg> [--pressure-unit mmHg] [--force]

  Draws pressure and flow per vessel (vessel-based results) or all pressures and all flows
  (variable-based results) against time. Pressures in the result are CGS (dyn/cm^2), as
  svZeroDSolver writes them, and are drawn in --pressure-unit (default mmHg); flows in mL/s.`,
  async run(args, io) {
    const { values, positionals } = parseArgs({
      args,
      allowPositionals: true,
      options: { output: { type: 'string', short: 'o' }, 'pressure-unit': { type: 'string' }, force: { type: 'boolean' } },
    });
    if (positionals.length !== 1) throw new UsageError('expected one result file');
    if (!values.output) throw new UsageError('-o <plot.svg> is required');
    const out = resolve(io.cwd, values.output);
    if (!out.toLowerCase().endsWith('.svg')) throw new UsageError(`-o must end in .svg, got '${values.output}'`);
    checkWritable(out, values.force);
    const input = resolve(io.cwd, positionals[0]!);
    if (!existsSync(input)) throw new PhysiotwinError('IO_NOT_FOUND', 'no such file', { location: { file: input } });
    const table = parseResultTable(readFileSync(input, 'utf8'), input);
    writeFileSync(out, resultToSvg(table, values['pressure-unit'] ? { pressureUnit: values['pressure-unit'] } : {}));
    io.stdout(`wrote ${out}\n`);
    return EXIT.ok;
  },
};
