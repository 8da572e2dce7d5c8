import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { simulate } from '@physiotwin/hemo';
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
      const code = await runCli(['hemo', 'ensemble', CASE, '--samples', 's.csv', '-o', `sum-${backend}.csv`, '--backend', backend, '--outputs', 'pressure:branch0_seg0:OUT'], io);
      expect(io.err).toBe('');
      expect(code).toBe(0);
      const lines = readFileSync(join(dir, `sum-${backend}.csv`), 'utf8').trim().split('\n');
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
    const code = await runCli(['hemo', 'ensemble', 'closed.json', '--samples', 'closed-s.csv', '-o', 'closed-sum.csv', '--backend', 'webgpu', '--precision', 'f32', '--outputs', 'pressure:J_heart_outlet:branch0_seg0'], io);
    expect(io.err).toBe('');
    expect(code).toBe(0);
    expect(io.out).toMatch(/2 variants \(general kernel, webgpu f32\)/);
    expect(readFileSync(join(dir, 'closed-sum.csv'), 'utf8').trim().split('\n').length).toBe(3);
  });

  it('--backend auto runs a small ensemble on the CPU (below 1e5 model-steps)', async () => {
    const io = capture(dir);
    expect(await runCli(['hemo', 'ensemble', CASE, '--samples', 's.csv', '-o', 'sum-auto.csv', '--backend', 'auto'], io)).toBe(0);
    expect(io.out).toMatch(/2 variants \(rcr kernel, cpu f64\)/);
  });

  it('rejects unknown parameters with CONFIG_INVALID', async () => {
    writeFileSync(join(dir, 'bad.csv'), 'OUT.Rx\n1\n');
    const io = capture(dir);
    expect(await runCli(['hemo', 'ensemble', CASE, '--samples', 'bad.csv', '-o', 'bad-out.csv'], io)).toBe(1);
    expect(io.err).toMatch(/CONFIG_INVALID: no parameter 'OUT.Rx'/);
  });
});
