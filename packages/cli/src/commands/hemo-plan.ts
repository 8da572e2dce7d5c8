import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { createSamplePlan, planVariantCount, samplePlanHash } from '@physiotwin/hemo';
import type { Command } from '../command.js';
import { EXIT, prepareOutputs, readJsonFile, UsageError } from '../command.js';

export const hemoPlan: Command = {
  name: 'hemo plan',
  summary: 'Write a sample plan (grid, Monte Carlo, Latin hypercube, Sobol\', Saltelli) for hemo ensemble',
  usage: `<spec.json> -o <plan.json> [--force]

  spec.json: { "method": "grid" | "montecarlo" | "lhs" | "sobol" | "saltelli", "n": N, "seed": S,
  "parameters": [{ "name": "OUT.Rd", "min": 500, "max": 1500, "distribution": "uniform" }, ...] }.
  Distributions: uniform and loguniform on [min, max], normal (mean, sd). A grid takes "levels" per
  parameter and no n or seed. sobol: n digitally shifted Sobol' points (Joe-Kuo direction numbers,
  up to 16 parameters); saltelli: n base rows, n (k + 2) variants, first and total Sobol' indices
  at the end of the run (up to 8 parameters). The plan is the spec checked, with defaults filled in;
  hemo ensemble computes every variant from it (any shard from the plan alone) and records its hash.
  For sobol and saltelli, use a power of two for n (a note on stderr says so otherwise).`,
  async run(args, io) {
    const { values, positionals } = parseArgs({ args, allowPositionals: true, options: { output: { type: 'string', short: 'o' }, force: { type: 'boolean', default: false } } });
    if (positionals.length !== 1) throw new UsageError('expected one spec file');
    if (!values.output) throw new UsageError('-o <plan.json> is required');
    const out = resolve(io.cwd, values.output);
    const outputs = await prepareOutputs([out], values.force);
    const plan = createSamplePlan(readJsonFile(resolve(io.cwd, positionals[0]!)));
    await outputs.write([[out, JSON.stringify(plan, null, 2) + '\n']]);
    io.stdout(`wrote ${out}: ${plan.method}, ${planVariantCount(plan)} variants of ${plan.parameters.length} parameters, plan ${(await samplePlanHash(plan)).slice(0, 12)}\n`);
    // Sobol' points are balanced in blocks of 2^m: with another n the sequence ends in a partial block, whose
    // variants differ in mix from the rest (and cost: contiguous shards then take unequal times), and Saltelli's
    // estimators converge more slowly. As SALib does, say so; the plan is still valid.
    const n = plan.n;
    if ((plan.method === 'sobol' || plan.method === 'saltelli') && n !== undefined && (n & (n - 1)) !== 0) {
      const lower = 2 ** Math.floor(Math.log2(n));
      io.stderr(`note: n = ${n} is not a power of two: Sobol' points are balanced in blocks of 2^m (e.g. n = ${lower} or ${2 * lower})\n`);
    }
    return EXIT.ok;
  },
};
