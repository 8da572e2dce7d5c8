import { extname, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { resultTable, simulate, tableToCsv, tableToPandasJson, type SvZeroDConfig } from '@physiotwin/hemo';
import type { Command } from '../command.js';
import { EXIT, manifestJson, manifestPathFor, prepareOutputs, readJsonFile, stopwatch, UsageError } from '../command.js';

export const hemoRun: Command = {
  name: 'hemo run',
  summary: 'Run a svZeroDSolver 0D hemodynamics config (CSV or pandas-style JSON output)',
  usage: `<config.json> -o <result.csv|result.json> [--variable-based | --vessel-based] [--force]

  Runs the svZeroDSolver JSON config (CGS units) and writes the result in the reference layout:
  vessel-based columns name,time,flow_in,flow_out,pressure_in,pressure_out (+ d_* with
  output_derivative) or variable-based name,time,y (+ ydot). The layout follows the config's
  output_variable_based unless a flag chooses it. A .json output is written as pandas
  DataFrame.to_json() does ({column: {row: value}}). <output>.manifest.json records the run.
  The folder of -o must exist; existing files are kept unless --force.`,
  async run(args, io) {
    const { values, positionals } = parseArgs({
      args,
      allowPositionals: true,
      options: {
        output: { type: 'string', short: 'o' },
        'variable-based': { type: 'boolean' },
        'vessel-based': { type: 'boolean' },
        force: { type: 'boolean', default: false },
      },
    });
    if (positionals.length !== 1) throw new UsageError('expected one config file');
    if (!values.output) throw new UsageError('-o <result.csv|result.json> is required');
    if (values['variable-based'] && values['vessel-based']) throw new UsageError('choose one of --variable-based and --vessel-based');
    const out = resolve(io.cwd, values.output);
    const ext = extname(out).toLowerCase();
    if (ext !== '.csv' && ext !== '.json') throw new UsageError(`-o must end in .csv or .json, got '${values.output}'`);
    const outputs = await prepareOutputs([out, manifestPathFor(out)], values.force);
    const input = resolve(io.cwd, positionals[0]!);
    const config = readJsonFile(input) as SvZeroDConfig;
    const clock = stopwatch();
    const result = await simulate(config);
    clock.lap('simulate');
    const variableBased = values['variable-based'] ? true : values['vessel-based'] ? false : result.settings.outputVariableBased;
    const table = resultTable(result, variableBased);
    const text = ext === '.csv' ? tableToCsv(table) : tableToPandasJson(table);
    clock.lap('format');
    const manifest = await manifestJson({
      tool: 'physiotwin hemo run',
      inputs: [input],
      parameters: { variableBased, format: ext.slice(1) },
      backend: { backend: 'cpu' },
      timings: clock.timings,
    });
    await outputs.write([[out, text], [manifestPathFor(out), manifest]]);
    io.stdout(`wrote ${out}: ${table.name.length} rows (${variableBased ? 'variable' : 'vessel'}-based), ${result.cycles} cycles, ${result.steps} steps in ${clock.timings.simulate!.toFixed(0)} ms\n`);
    return EXIT.ok;
  },
};
