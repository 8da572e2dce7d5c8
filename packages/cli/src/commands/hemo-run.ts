import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { extname, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { PhysiotwinError } from '@physiotwin/core';
import { resultTable, simulate, tableToCsv, tableToPandasJson, type SvZeroDConfig } from '@physiotwin/hemo';
import type { Command } from '../command.js';
import { EXIT, UsageError } from '../command.js';

/** Reads and parses a JSON file, mapping failures to typed errors. */
export function readJsonFile(path: string): unknown {
  if (!existsSync(path)) throw new PhysiotwinError('IO_NOT_FOUND', `no such file`, { location: { file: path } });
  try {
    return JSON.parse(readFileSync(path, 'utf8'));
  } catch (e) {
    throw new PhysiotwinError('IO_INVALID', `not valid JSON: ${(e as Error).message}`, { location: { file: path } });
  }
}

/** Refuses to overwrite an existing file unless forced. */
export function checkWritable(path: string, force: boolean | undefined): void {
  if (existsSync(path) && !force) throw new PhysiotwinError('IO_EXISTS', 'output file exists (use --force to overwrite)', { location: { file: path } });
}

export const hemoRun: Command = {
  name: 'hemo run',
  summary: 'Run a svZeroDSolver 0D hemodynamics config (CSV or pandas-style JSON output)',
  usage: `<config.json> -o <result.csv|result.json> [--variable-based | --vessel-based] [--force]

  Runs the svZeroDSolver JSON config (CGS units) and writes the result in the reference layout:
  vessel-based columns name,time,flow_in,flow_out,pressure_in,pressure_out (+ d_* with
  output_derivative) or variable-based name,time,y (+ ydot). The layout follows the config's
  output_variable_based unless a flag chooses it. A .json output is written as pandas
  DataFrame.to_json() does ({column: {row: value}}).`,
  async run(args, io) {
    const { values, positionals } = parseArgs({
      args,
      allowPositionals: true,
      options: {
        output: { type: 'string', short: 'o' },
        'variable-based': { type: 'boolean' },
        'vessel-based': { type: 'boolean' },
        force: { type: 'boolean' },
      },
    });
    if (positionals.length !== 1) throw new UsageError('expected one config file');
    if (!values.output) throw new UsageError('-o <result.csv|result.json> is required');
    if (values['variable-based'] && values['vessel-based']) throw new UsageError('choose one of --variable-based and --vessel-based');
    const out = resolve(io.cwd, values.output);
    const ext = extname(out).toLowerCase();
    if (ext !== '.csv' && ext !== '.json') throw new UsageError(`-o must end in .csv or .json, got '${values.output}'`);
    checkWritable(out, values.force);
    const config = readJsonFile(resolve(io.cwd, positionals[0]!)) as SvZeroDConfig;
    const t0 = performance.now();
    const result = simulate(config);
    const ms = performance.now() - t0;
    const variableBased = values['variable-based'] ? true : values['vessel-based'] ? false : result.settings.outputVariableBased;
    const table = resultTable(result, variableBased);
    writeFileSync(out, ext === '.csv' ? tableToCsv(table) : tableToPandasJson(table));
    io.stdout(`wrote ${out}: ${table.name.length} rows (${variableBased ? 'variable' : 'vessel'}-based), ${result.cycles} cycles, ${result.steps} steps in ${ms.toFixed(0)} ms\n`);
    return EXIT.ok;
  },
};
