import { existsSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createSamplePlan, planSamples, planVariantCount, simulate, simulateEnsemble, sobolIndicesSaltelli } from '@physiotwin/hemo';
import { describe, expect, it } from 'vitest';
import { runCli } from '../run.js';
import { capture, REPO_ROOT } from '../capture-io.test-helper.js';

const CASE = join(REPO_ROOT, 'fixtures/hemo/svzerod/cases/pulsatileFlow_R_RCR.json');

describe('physiotwin hemo ensemble', () => {
  const dir = mkdtempSync(join(tmpdir(), 'hemo-ens-'));
  writeFileSync(join(dir, 's.csv'), 'OUT.Rd,OUT.C\n1000,0.0001\n500,0.0002\n');

  for (const backend of ['cpu', 'webgpu']) {
    it(`writes one summary row per variant (${backend}), matching single runs`, async () => {
      const io = capture(dir);
      const code = await runCli(['hemo', 'ensemble', CASE, '--samples', 's.csv', '-o', `sum-${backend}`, '--backend', backend, '--outputs', 'pressure:branch0_seg0:OUT'], io);
      expect(io.err).toBe('');
      expect(code).toBe(0);
      expect(readdirSync(join(dir, `sum-${backend}`)).sort()).toEqual(['manifest.json', 'summary.csv']);
      const lines = readFileSync(join(dir, `sum-${backend}/summary.csv`), 'utf8').trim().split('\n');
      expect(lines[0]).toBe('variant,OUT.Rd,OUT.C,pressure:branch0_seg0:OUT:mean,pressure:branch0_seg0:OUT:min,pressure:branch0_seg0:OUT:max,split:flow:branch0_seg0:OUT');
      expect(lines.length).toBe(3);
      // Variant 1 against a single f64 run with the same overrides (f32 on WebGPU: 1e-3 relative).
      const cfg = JSON.parse(readFileSync(CASE, 'utf8'));
      cfg.simulation_parameters.output_all_cycles = false;
      const r = await simulate(cfg, { overrides: { 'OUT.Rd': 500, 'OUT.C': 0.0002 } });
      const d = r.model.dofNames.indexOf('pressure:branch0_seg0:OUT');
      const mean = r.y.reduce((a, y) => a + y[d]!, 0) / r.y.length;
      const got = Number(lines[2]!.split(',')[3]);
      expect(Math.abs(got - mean) / mean).toBeLessThan(backend === 'cpu' ? 1e-9 : 1e-3);
      expect(Number(lines[2]!.split(',')[6])).toBe(1);
      const m = JSON.parse(readFileSync(join(dir, `sum-${backend}/manifest.json`), 'utf8'));
      expect(m.parameters.shard).toEqual({ index: 0, count: 1, start: 0, end: 2 });
      expect(m.parameters.backend).toBe(backend);
      expect(m.parameters.precision).toBe(backend === 'cpu' ? 'f64' : 'f32');
    });
  }

  // f32: the CLI path through the general WebGPU kernel. The double-float kernel of this model takes about a minute
  // to compile on SwiftShader; hemo's ensemble.test.ts checks it once.
  it('runs a closed-loop model with --backend webgpu --precision f32 (general kernel)', async () => {
    const closed = join(REPO_ROOT, 'fixtures/hemo/svzerod/cases/closedLoopHeart_singleVessel.json');
    const cfg = JSON.parse(readFileSync(closed, 'utf8'));
    cfg.simulation_parameters.number_of_cardiac_cycles = 1;
    writeFileSync(join(dir, 'closed.json'), JSON.stringify(cfg));
    writeFileSync(join(dir, 'closed-s.csv'), 'RCR_aorta.Rd\n1.2\n1.5\n');
    const io = capture(dir);
    const code = await runCli(['hemo', 'ensemble', 'closed.json', '--samples', 'closed-s.csv', '-o', 'closed-sum', '--backend', 'webgpu', '--precision', 'f32', '--outputs', 'pressure:J_heart_outlet:branch0_seg0'], io);
    expect(io.err).toBe('');
    expect(code).toBe(0);
    expect(io.out).toMatch(/2 variants \(general kernel, webgpu f32\)/);
    expect(readFileSync(join(dir, 'closed-sum/summary.csv'), 'utf8').trim().split('\n').length).toBe(3);
  });

  it('--backend auto runs a small ensemble on the CPU (below 1e5 model-steps)', async () => {
    const io = capture(dir);
    expect(await runCli(['hemo', 'ensemble', CASE, '--samples', 's.csv', '-o', 'sum-auto', '--backend', 'auto'], io)).toBe(0);
    expect(io.out).toMatch(/2 variants \(rcr kernel, cpu f64\)/);
  });

  it('rejects unknown parameters with CONFIG_INVALID', async () => {
    writeFileSync(join(dir, 'bad.csv'), 'OUT.Rx\n1\n');
    const io = capture(dir);
    expect(await runCli(['hemo', 'ensemble', CASE, '--samples', 'bad.csv', '-o', 'bad-out'], io)).toBe(1);
    expect(io.err).toMatch(/CONFIG_INVALID: no parameter 'OUT.Rx'/);
    expect(existsSync(join(dir, 'bad-out'))).toBe(false);
  });
});

describe('sharded ensembles: hemo plan, --shard, hemo merge', () => {
  const dir = mkdtempSync(join(tmpdir(), 'hemo-shard-'));
  const run = async (args: string[], env: Record<string, string> = {}) => {
    const io = capture(dir);
    const saved = { ...process.env };
    Object.assign(process.env, env);
    try {
      return { code: await runCli(args, io), out: io.out, err: io.err };
    } finally {
      for (const k of Object.keys(env)) if (saved[k] === undefined) delete process.env[k];
    }
  };
  writeFileSync(join(dir, 'spec.json'), JSON.stringify({ method: 'sobol', n: 1000, seed: 11, parameters: [{ name: 'OUT.Rd', min: 500, max: 1500 }, { name: 'OUT.C', distribution: 'loguniform', min: 5e-5, max: 2e-4 }, { name: 'branch0_seg0.R_poiseuille', min: 50, max: 150 }] }));

  it('merging n = 1, 3, 8 shards gives the bytes of the single run (CPU)', async () => {
    const planned = await run(['hemo', 'plan', 'spec.json', '-o', 'plan.json']);
    expect(planned.out).toMatch(/sobol, 1000 variants of 3 parameters, plan [0-9a-f]{12}/);
    expect(planned.err).toMatch(/n = 1000 is not a power of two.*n = 512 or 1024/);
    writeFileSync(join(dir, 'spec-1024.json'), JSON.stringify({ ...JSON.parse(readFileSync(join(dir, 'spec.json'), 'utf8')), n: 1024 }));
    expect((await run(['hemo', 'plan', 'spec-1024.json', '-o', 'plan-1024.json'])).err).toBe('');
    const whole = await run(['hemo', 'ensemble', CASE, '--samples', 'plan.json', '-o', 'whole']);
    expect(whole.err).toBe('');
    const expected = readFileSync(join(dir, 'whole/summary.csv'), 'utf8');
    expect(expected.trim().split('\n').length).toBe(1001);
    for (const n of [1, 3, 8]) {
      for (let i = 0; i < n; i++) expect((await run(['hemo', 'ensemble', CASE, '--samples', 'plan.json', '--shard', `${i}/${n}`, '-o', `s${n}/shard-${i}`])).code).toBe(0);
      const merged = await run(['hemo', 'merge', ...Array.from({ length: n }, (_, i) => `s${n}/shard-${i}`).reverse(), '-o', `merged-${n}`]);
      expect(merged.err).toBe('');
      expect(merged.out).toMatch(new RegExp(`1000 variants from ${n} shards`));
      expect(readFileSync(join(dir, `merged-${n}/summary.csv`), 'utf8') === expected, `n = ${n}`).toBe(true);
    }
    const m = JSON.parse(readFileSync(join(dir, 's8/shard-3/manifest.json'), 'utf8'));
    expect(m.parameters.shard).toEqual({ index: 3, count: 8, start: 375, end: 500 });
    expect(m.parameters.plan.seed).toBe(11);
    expect(m.parameters.plan.hash).toMatch(/^[0-9a-f]{64}$/);
  });

  it('WebGPU shards merge into the WebGPU single run, within 1e-3 relative of the CPU (the f32 kernel\'s tolerance)', async () => {
    writeFileSync(join(dir, 'small.json'), JSON.stringify({ format: 'physiotwin-sample-plan', version: 1, method: 'lhs', n: 24, seed: 4, parameters: [{ name: 'OUT.Rd', min: 500, max: 1500 }] }));
    const common = ['hemo', 'ensemble', CASE, '--samples', 'small.json', '--outputs', 'pressure:branch0_seg0:OUT'];
    expect((await run([...common, '-o', 'gpu-whole', '--backend', 'webgpu'])).err).toBe('');
    expect((await run([...common, '-o', 'cpu-whole'])).err).toBe('');
    for (let i = 0; i < 3; i++) expect((await run([...common, '--shard', `${i}/3`, '-o', `gpu-s${i}`, '--backend', 'webgpu'])).err).toBe('');
    expect((await run(['hemo', 'merge', 'gpu-s0', 'gpu-s1', 'gpu-s2', '-o', 'gpu-merged'])).err).toBe('');
    const gpu = readFileSync(join(dir, 'gpu-merged/summary.csv'), 'utf8');
    expect(gpu).toBe(readFileSync(join(dir, 'gpu-whole/summary.csv'), 'utf8'));
    const rows = (t: string) => t.trim().split('\n').slice(1).map((l) => l.split(',').map(Number));
    const cpu = rows(readFileSync(join(dir, 'cpu-whole/summary.csv'), 'utf8'));
    rows(gpu).forEach((r, v) => r.forEach((x, j) => expect(Math.abs(x - cpu[v]![j]!)).toBeLessThanOrEqual(1e-3 * Math.abs(cpu[v]![j]!))));
    expect(JSON.parse(readFileSync(join(dir, 'gpu-merged/manifest.json'), 'utf8')).parameters).toMatchObject({ backend: 'webgpu', precision: 'f32', merged: 3 });
  });

  it('a missing or repeated shard, or a shard of another plan, is a typed error naming it', async () => {
    const missing = await run(['hemo', 'merge', 's8/shard-0', 's8/shard-1', 's8/shard-2', 's8/shard-4', 's8/shard-5', 's8/shard-6', 's8/shard-7', '-o', 'm-missing']);
    expect(missing.code).toBe(1);
    expect(missing.err).toMatch(/IO_NOT_FOUND: shard 3\/8 \(variants 375\.\.499\) is missing/);
    const twice = await run(['hemo', 'merge', 's3/shard-0', 's3/shard-1', 's3/shard-1', 's3/shard-2', '-o', 'm-twice']);
    expect(twice.err).toMatch(/INVALID_ARGUMENT: shard 1\/3 is given twice: .*s3\/shard-1 and .*s3\/shard-1/);
    const mixed = await run(['hemo', 'merge', 's3/shard-0', 's8/shard-1', '-o', 'm-mixed']);
    expect(mixed.err).toMatch(/INVALID_ARGUMENT: .*s8\/shard-1 is not a shard of the same run/);
    expect(['m-missing', 'm-twice', 'm-mixed'].some((f) => existsSync(join(dir, f)))).toBe(false);
  });

  it('--shard auto reads the array index; a finished shard is skipped on resubmission, another folder refused', async () => {
    const env = { SLURM_ARRAY_TASK_ID: '2', PHYSIOTWIN_SHARD_COUNT: '3' };
    const first = await run(['hemo', 'ensemble', CASE, '--samples', 'plan.json', '--shard', 'auto', '-o', 'auto-2'], env);
    expect(first.out).toMatch(/shard 2\/3, variants 666\.\.999/);
    expect(readFileSync(join(dir, 'auto-2/summary.csv'), 'utf8')).toBe(readFileSync(join(dir, 's3/shard-2/summary.csv'), 'utf8'));
    const again = await run(['hemo', 'ensemble', CASE, '--samples', 'plan.json', '--shard', 'auto', '-o', 'auto-2'], env);
    expect(again.out).toMatch(/shard 2\/3 \(variants 666\.\.999\) is already done/);
    const k8s = await run(['hemo', 'ensemble', CASE, '--samples', 'plan.json', '--shard', 'auto', '-o', 'auto-2'], { JOB_COMPLETION_INDEX: '1', PHYSIOTWIN_SHARD_COUNT: '3' });
    expect(k8s.err).toMatch(/IO_EXISTS: the output folder exists/);
    expect((await run(['hemo', 'ensemble', CASE, '--samples', 'plan.json', '--shard', 'auto', '-o', 'x'])).err).toMatch(/INVALID_ARGUMENT: --shard auto needs/);
    expect((await run(['hemo', 'ensemble', CASE, '--samples', 'plan.json', '--shard', '3/3', '-o', 'x'])).err).toMatch(/INVALID_ARGUMENT: --shard takes i\/n/);
    expect(readdirSync(dir).filter((f) => f.includes('.partial-'))).toEqual([]);
  });

  it("Saltelli plan of a 3-parameter RCR model: the mean pressure's Sobol' indices from merged shards are within 0.02 of a 10x reference", async () => {
    const parameters = [{ name: 'OUT.Rd', min: 500, max: 1500 }, { name: 'OUT.Rp', min: 500, max: 1500 }, { name: 'branch0_seg0.R_poiseuille', min: 50, max: 850 }];
    writeFileSync(join(dir, 'saltelli.json'), JSON.stringify({ method: 'saltelli', n: 1024, seed: 5, parameters }));
    expect((await run(['hemo', 'plan', 'saltelli.json', '-o', 'saltelli-plan.json'])).code).toBe(0);
    const out = 'pressure:INFLOW:branch0_seg0';
    for (let i = 0; i < 4; i++) expect((await run(['hemo', 'ensemble', CASE, '--samples', 'saltelli-plan.json', '--outputs', out, '--shard', `${i}/4`, '-o', `sal/${i}`])).code).toBe(0);
    expect((await run(['hemo', 'merge', 'sal/0', 'sal/1', 'sal/2', 'sal/3', '-o', 'sal-merged'])).err).toBe('');
    expect((await run(['hemo', 'ensemble', CASE, '--samples', 'saltelli-plan.json', '--outputs', out, '-o', 'sal-whole'])).code).toBe(0);
    const sobol = readFileSync(join(dir, 'sal-merged/sobol.csv'), 'utf8');
    expect(readFileSync(join(dir, 'sal-whole/sobol.csv'), 'utf8')).toBe(sobol);
    const got = Object.fromEntries(sobol.trim().split('\n').slice(1).filter((l) => l.startsWith(`${out}:mean,`)).map((l) => { const c = l.split(','); return [c[1]!, { S1: Number(c[2]), ST: Number(c[4]) }]; }));
    // Reference: 10x the base rows (10240 x 5 runs) through the library.
    const ref = createSamplePlan({ method: 'saltelli', n: 10240, seed: 6, parameters });
    const cfg = JSON.parse(readFileSync(CASE, 'utf8'));
    const s = await simulateEnsemble(cfg, planSamples(ref), { backend: 'cpu', outputs: [out] });
    expect(s.n).toBe(planVariantCount(ref));
    const r = sobolIndicesSaltelli(s.mean, 3)!;
    parameters.forEach((p, i) => {
      expect(Math.abs(got[p.name]!.S1 - r.first[i]!), `S1 ${p.name}: ${got[p.name]!.S1} vs ${r.first[i]}`).toBeLessThan(0.02);
      expect(Math.abs(got[p.name]!.ST - r.total[i]!), `ST ${p.name}: ${got[p.name]!.ST} vs ${r.total[i]}`).toBeLessThan(0.02);
    });
    // In the periodic state the mean inlet pressure is mean(Q) (R + Rp + Rd), linear in the three resistances: the
    // first indices are their variance shares, (max - min)^2 over the sum (1000^2, 1000^2, 800^2).
    const w = parameters.map((p) => (p.max - p.min) ** 2);
    w.forEach((wi, i) => expect(Math.abs(r.first[i]! - wi / (w[0]! + w[1]! + w[2]!))).toBeLessThan(0.02));
  });
});
