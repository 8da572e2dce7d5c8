// Hemodynamics fuzz targets: the solver JSON config (what simulate reads and validates before it runs:
// readSimulationSettings + buildModel), ensemble samples (samplesFromRecords), result tables (parseResultTable) and
// sample plans (`hemo plan` / `hemo ensemble --samples plan.json`: createSamplePlan + planSamples), seeded with
// svZeroDSolver's test cases, one of its results and a plan per method.
import { readFileSync } from 'node:fs';
import fc from 'fast-check';
import { buildModel, createSamplePlan, parseResultTable, planSamples, planVariantCount, readSimulationSettings, samplesFromRecords, tableToCsv, tableToPandasJson } from '@physiotwin/hemo';
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

/** Plan specs, one per method and distribution (what `physiotwin hemo plan` reads). */
const PLANS: Record<string, unknown> = {
  grid: { method: 'grid', parameters: [{ name: 'OUT.Rd', min: 900, max: 1100, levels: 3 }, { name: 'OUT.C', distribution: 'loguniform', min: 1e-5, max: 1e-4, levels: 2 }] },
  montecarlo: { method: 'montecarlo', n: 8, seed: 1, parameters: [{ name: 'OUT.Rd', distribution: 'normal', mean: 1000, sd: 50 }] },
  lhs: { method: 'lhs', n: 8, seed: 2, parameters: [{ name: 'OUT.Rd', min: 900, max: 1100 }, { name: 'OUT.C', distribution: 'loguniform', min: 1e-5, max: 1e-4 }] },
  sobol: { format: 'physiotwin-sample-plan', version: 1, method: 'sobol', n: 16, seed: 3, parameters: [{ name: 'OUT.Rd', min: 900, max: 1100 }, { name: 'OUT.C', min: 1e-5, max: 1e-4 }] },
  saltelli: { method: 'saltelli', n: 4, seed: 4, parameters: [{ name: 'OUT.Rd', min: 900, max: 1100 }, { name: 'OUT.C', distribution: 'normal', mean: 1e-4, sd: 1e-5 }] },
};
const PLAN_NAMES = Object.keys(PLANS);

/** Plan values that sit at a check's edge: ranges as wide as doubles go, huge counts and seeds. */
const HOSTILE_PLAN: readonly unknown[] = [...HOSTILE_JSON, -1e308, 1.7e308, 2 ** 32, 2 ** 32 - 1, 65536, 1e-320, 'grid', 'saltelli', 'normal', 'loguniform', 'a.b'];

export function planTarget(): FuzzTarget<{ seed: number; mutations: JsonMutation[] }> {
  return {
    name: 'hemo sample plan (createSamplePlan + planSamples)',
    arbitrary: fc.record({ seed: fc.nat({ max: PLAN_NAMES.length - 1 }), mutations: jsonMutations(HOSTILE_PLAN) }),
    recipes: { all: PLAN_NAMES, of: ({ seed }) => [PLAN_NAMES[seed]!] },
    run({ seed, mutations }) {
      const plan = createSamplePlan(mutateJson(PLANS[PLAN_NAMES[seed]!], mutations, HOSTILE_PLAN));
      // The first and last 16 variants (a plan may have 2^32): what a shard at either end would run.
      const total = planVariantCount(plan);
      for (const [start, end] of [[0, Math.min(total, 16)], [Math.max(0, total - 16), total]] as const) {
        const s = planSamples(plan, start, end);
        if (!s.values.every(Number.isFinite)) throw new Error(`plan variants ${start}..${end} hold non-finite values`);
        if (s.values.length !== s.names.length * (end - start)) throw new Error('plan samples have the wrong size');
      }
      return {};
    },
  };
}
