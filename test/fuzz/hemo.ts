// Hemodynamics fuzz targets: the solver JSON config (what simulate reads and validates before it runs:
// readSimulationSettings + buildModel), ensemble samples (samplesFromRecords) and result tables (parseResultTable),
// seeded with svZeroDSolver's test cases and one of its results.
import { readFileSync } from 'node:fs';
import fc from 'fast-check';
import { buildModel, parseResultTable, readSimulationSettings, samplesFromRecords, tableToCsv, tableToPandasJson } from '@physiotwin/hemo';
import type { SvZeroDConfig } from '@physiotwin/hemo';
import type { FuzzTarget } from './harness.js';
import { HOSTILE_JSON, byteMutations, jsonMutations, mutateBytes, mutateJson } from './mutate.js';
import type { ByteMutation, JsonMutation } from './mutate.js';

/** Small svZeroDSolver cases covering vessels, RCR, coronary, time-dependent BCs, chambers and valves. */
const CASES = [
  'steadyFlow_R_R',
  'steadyFlow_RLC_R',
  'steadyFlow_R_RCR',
  'steadyFlow_R_coronary',
  'steadyFlow_bifurcationR_R1_blockNames',
  'timeDep_Flow',
  'pulsatileFlow_R_RCR_mean_variable',
  'chamber_elastance_inductor',
  'piecewise_Chamber_and_Valve',
];

function readCase(repoRoot: string, name: string): SvZeroDConfig {
  return JSON.parse(readFileSync(`${repoRoot}fixtures/hemo/svzerod/cases/${name}.json`, 'utf8')) as SvZeroDConfig;
}

export function configTarget(repoRoot: string): FuzzTarget<{ seed: number; mutations: JsonMutation[] }> {
  const seeds = CASES.map((c) => readCase(repoRoot, c));
  return {
    name: 'hemo solver config (readSimulationSettings + buildModel)',
    arbitrary: fc.record({ seed: fc.nat({ max: seeds.length - 1 }), mutations: jsonMutations() }),
    recipes: { all: CASES, of: ({ seed }) => [CASES[seed]!] },
    run({ seed, mutations }) {
      const config = mutateJson(seeds[seed], mutations) as SvZeroDConfig;
      const settings = readSimulationSettings(config);
      buildModel(config, settings);
      return {};
    },
  };
}

/** Sample rows: records of parameter names to hostile values, and non-records (issue 11: `[null]`). */
const sampleRows = fc.array(
  fc.oneof(
    { weight: 4, arbitrary: fc.dictionary(fc.constantFrom('OUT.Rd', 'OUT.C', 'branch0_seg0.R_poiseuille', '', '__proto__', 'x'.repeat(1000)), fc.oneof(fc.double(), fc.constantFrom(...HOSTILE_JSON)), { maxKeys: 4 }) },
    { weight: 1, arbitrary: fc.constantFrom(...HOSTILE_JSON) },
  ),
  { maxLength: 6 },
);

export function samplesTarget(): FuzzTarget<unknown[]> {
  return {
    name: 'hemo ensemble samples (samplesFromRecords)',
    arbitrary: sampleRows,
    run(rows) {
      const s = samplesFromRecords(rows as never);
      if (!s.values.every(Number.isFinite)) throw new Error('samples hold non-finite values');
      if (s.values.length !== s.names.length * rows.length) throw new Error('samples have the wrong size');
      return {};
    },
  };
}

export function resultsTarget(repoRoot: string): FuzzTarget<{ seed: number; mutations: ByteMutation[] }> {
  // svZeroDSolver's own result for the case (pandas JSON), cut to its first rows so each input is small, in both
  // formats parseResultTable reads.
  const full = parseResultTable(readFileSync(`${repoRoot}/fixtures/hemo/svzerod/results/result_steadyFlow_R_RCR.json`, 'utf8'));
  const rows = 12;
  const table = { ...full, name: full.name.slice(0, rows), time: full.time.slice(0, rows), values: Object.fromEntries(Object.entries(full.values).map(([k, v]) => [k, v.slice(0, rows)])) };
  const seeds = [tableToCsv(table), tableToPandasJson(table)].map((t) => new TextEncoder().encode(t));
  return {
    name: 'hemo result tables (parseResultTable: CSV and pandas JSON)',
    arbitrary: fc.nat({ max: seeds.length - 1 }).chain((seed) => byteMutations(seeds[seed]!.length).map((mutations) => ({ seed, mutations }))),
    recipes: { all: ['CSV', 'pandas JSON'], of: ({ seed }) => [['CSV', 'pandas JSON'][seed]!] },
    run({ seed, mutations }) {
      const text = new TextDecoder().decode(mutateBytes(seeds[seed]!, mutations));
      const t = parseResultTable(text, 'fuzz.csv');
      if (t.name.length !== t.time.length) throw new Error('name and time columns differ in length');
      return {};
    },
  };
}
