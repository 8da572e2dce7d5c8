import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { parseResultTable, resultToSvg } from '@physiotwin/hemo';
import type { Command } from '../command.js';
import { EXIT, manifestJson, manifestPathFor, prepareOutputs, readInputFile, stopwatch, UsageError } from '../command.js';

export const hemoPlot: Command = {
  name: 'hemo plot',
  summary: 'Plot pressure and flow waveforms of a 0D result as SVG',
  usage: `<result.csv|result.json> -o <plot.svg> [--pressure-unit mmHg] [--pressure-unit-in dyn/cm^2] [--force]

  Draws pressure and flow per vessel (vessel-based results) or all pressures and all flows
  (variable-based results) against time. Pressures in the result are taken as --pressure-unit-in
  (default dyn/cm^2, the CGS units svZeroDSolver cases use; some upstream cases, e.g. the closed-loop
  heart, are written in mmHg) and drawn in --pressure-unit (default mmHg); flows in mL/s.
  <output>.manifest.json records the run. The folder of -o must exist; existing files are kept
  unless --force.`,
  async run(args, io) {
    const { values, positionals } = parseArgs({
      args,
      allowPositionals: true,
      options: { output: { type: 'string', short: 'o' }, 'pressure-unit': { type: 'string' }, 'pressure-unit-in': { type: 'string' }, force: { type: 'boolean', default: false } },
    });
    if (positionals.length !== 1) throw new UsageError('expected one result file');
    if (!values.output) throw new UsageError('-o <plot.svg> is required');
    const out = resolve(io.cwd, values.output);
    if (!out.toLowerCase().endsWith('.svg')) throw new UsageError(`-o must end in .svg, got '${values.output}'`);
    const outputs = await prepareOutputs([out, manifestPathFor(out)], values.force);
    const input = resolve(io.cwd, positionals[0]!);
    const clock = stopwatch();
    const table = parseResultTable(readInputFile(input).toString('utf8'), input);
    const units = {
      ...(values['pressure-unit'] ? { pressureUnit: values['pressure-unit'] } : {}),
      ...(values['pressure-unit-in'] ? { pressureUnitIn: values['pressure-unit-in'] } : {}),
    };
    const svg = resultToSvg(table, units);
    clock.lap('plot');
    const manifest = await manifestJson({ tool: 'physiotwin hemo plot', inputs: [input], parameters: units, backend: { backend: 'cpu' }, timings: clock.timings });
    await outputs.write([[out, svg], [manifestPathFor(out), manifest]]);
    io.stdout(`wrote ${out}\n`);
    return EXIT.ok;
  },
};
