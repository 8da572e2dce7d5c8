// Issue #16: a shard of an ensemble must compute, bit for bit, the whole run's rows of its variants. The general
// kernel's static pivot order and its per-variant constant entries must therefore not depend on the shard.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { generalProblem } from './ensemble-general.js';
import { simulateEnsemble, type EnsembleSamples, type EnsembleSummary, type SvZeroDConfig } from './index.js';
import { prepareSimulation } from './solver.js';
import { shardRange } from './sample-plan.js';

const CASE = join(__dirname, '../../../fixtures/hemo/svzerod/cases/pulsatileFlow_R_RCR.json');

/** FLOW -> BloodVessel (R, C) -> RCR: the vessel's C makes it a general-kernel model; 2 short cycles keep it fast. */
function config(): SvZeroDConfig {
  const cfg = JSON.parse(readFileSync(CASE, 'utf8')) as SvZeroDConfig & { vessels: Array<{ zero_d_element_values: Record<string, number> }> };
  cfg.simulation_parameters = { ...(cfg.simulation_parameters as object), number_of_cardiac_cycles: 2, number_of_time_pts_per_cardiac_cycle: 51 };
  cfg.vessels[0]!.zero_d_element_values.C = 1e-6;
  return cfg;
}

/**
 * 12 variants. The vessel's C spans 1e-6 .. 10 (log): in the column of the inflow, the vessel's pressure equation
 * (R alpha_f gamma dt, about 0.4) dominates for small C and its mass balance (C R alpha_m) by up to 20x for large C,
 * so the last shard's own first and last variant pivot on the mass balance while the whole run's (C = 0 and 10)
 * keep the diagonal. The first three variants have C = 0: a shard of them zeroes the C entries of every variant.
 */
function plan(): EnsembleSamples {
  const names = ['branch0_seg0.C', 'branch0_seg0.R_poiseuille'];
  const n = 12;
  const values = new Float64Array(n * 2);
  for (let v = 0; v < n; v++) values.set([v < 3 ? 0 : 1e-6 * 10 ** ((7 * v) / (n - 1)), 100 * (1 + 0.1 * v)], 2 * v);
  return { names, values };
}

const rows = (s: EnsembleSamples, start: number, end: number): EnsembleSamples => ({ names: s.names, values: s.values.slice(start * s.names.length, end * s.names.length) });
const ends = (s: EnsembleSamples): EnsembleSamples => {
  const n = s.values.length / s.names.length;
  return n > 1 ? { names: s.names, values: Float64Array.of(...rows(s, 0, 1).values, ...rows(s, n - 1, n).values) } : s;
};
const bits = (x: Float64Array) => Array.from(new Uint32Array(x.buffer, x.byteOffset, 2 * x.length));

describe('ensemble shards and the general kernel (issue #16)', () => {
  it("a shard uses the whole run's pivot order and constant entries, not its own variants'", async () => {
    const s = plan();
    const problem = (part: EnsembleSamples, reference?: EnsembleSamples) => generalProblem(prepareSimulation(config()), part, [], [], 'f64', {}, reference ?? part);
    const whole = await problem(s);
    // Precondition (what makes this test able to fail): the last shard's own variants choose another order.
    const last = rows(s, 9, 12);
    expect((await problem(last)).perm).not.toEqual(whole.perm);
    // And the C = 0 shard alone has fewer constant entries per variant than the whole run had (its entries are 0).
    const zeros = rows(s, 0, 3);
    expect(zeros.values.filter((_, i) => i % 2 === 0).every((c) => c === 0)).toBe(true);
    for (const part of [last, zeros]) {
      const p = await problem(part, ends(s));
      expect(p.perm).toEqual(whole.perm);
      expect(p.nc).toBe(whole.nc);
      expect(p.code).toBe(whole.code);
    }
    // C = 0 in the first and last variant too (the reference rows): only the middle shard has the C entries.
    const z = plan();
    for (const v of [9, 10, 11]) z.values[2 * v] = 0;
    const zWhole = await problem(z);
    // Precondition: the first shard carries per-variant entries that are zero in its variants and the reference rows
    // (only the middle variants of the whole run need them; without the varied-parameter probe it would drop them).
    const zc = await problem(rows(z, 0, 3), ends(z));
    const zeroColumns = Array.from({ length: zc.nc }, (_, c) => c).filter((c) => Array.from({ length: 2 * zc.n }, (_, r) => zc.cst[r * zc.nc + c]).every((x) => x === 0));
    expect(zeroColumns.length).toBeGreaterThan(0);
    for (const [a, b] of [[0, 3], [9, 12]]) expect((await problem(rows(z, a!, b!), ends(z))).code).toBe(zWhole.code);
  });

  it('merging n shards gives the bytes of the single run (n = 1, 3, 4, 12)', async () => {
    const s = plan();
    const N = s.values.length / s.names.length;
    const single = await simulateEnsemble(config(), s, { backend: 'cpu' });
    expect(single.kernel).toBe('general');
    const pick = (x: EnsembleSummary, f: 'mean' | 'min' | 'max' | 'splits', a: number, b: number) => {
      const w = f === 'splits' ? x.splitNames.length : x.outputs.length;
      return x[f].subarray(a * w, b * w);
    };
    for (const count of [1, 3, 4, 12]) {
      for (let i = 0; i < count; i++) {
        const { start, end } = shardRange(N, i, count);
        const part = await simulateEnsemble(config(), rows(s, start, end), { backend: 'cpu', whole: { variants: N, ends: ends(s) } });
        for (const f of ['mean', 'min', 'max', 'splits'] as const) {
          // Bit patterns, not values: the issue is about the bytes the merge writes (-0 vs 0 included).
          expect(bits(pick(part, f, 0, end - start)), `${f} of shard ${i}/${count}`).toEqual(bits(pick(single, f, start, end)));
        }
        expect(part.cpuVariants).toEqual(single.cpuVariants.filter((v) => v >= start && v < end).map((v) => v - start));
      }
    }
  });

  it('a whole that does not fit the samples is INVALID_ARGUMENT', async () => {
    const s = plan();
    const part = rows(s, 0, 3);
    const bad = [
      { variants: 2, ends: ends(s) },
      { variants: 12.5, ends: ends(s) },
      { variants: 12, ends: rows(s, 0, 1) },
      { variants: 12, ends: { names: [...s.names].reverse(), values: ends(s).values } },
      { variants: 12, ends: { names: s.names, values: Float64Array.of(0, 1, NaN, 2) } },
    ];
    for (const whole of bad) await expect(simulateEnsemble(config(), part, { backend: 'cpu', whole })).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
  });
});
