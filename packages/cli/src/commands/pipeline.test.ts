import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { runCli } from '../run.js';
import { capture, REPO_ROOT } from '../capture-io.test-helper.js';

const AORTA = 'fixtures/mesh/vmtk-aorta/aorta.mha';
const OUTPUTS = ['volume.nii.gz', 'labelmap.nii.gz', 'lumen.vtp', 'lumen.stl', 'centerlines.vtp', 'centerlines.json', 'model.json', 'results.csv', 'report.html', 'manifest.json'];

const dirs: string[] = [];
function freshDir(): string {
  const d = mkdtempSync(join(tmpdir(), 'physiotwin-cli-pipeline-'));
  dirs.push(d);
  return d;
}
afterAll(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));

describe('physiotwin pipeline: command line', () => {
  it.each([
    [['pipeline', AORTA, '--seed', '71,213,16'], /-o <out-dir> is required/],
    [['pipeline', AORTA, '-o', 'x'], /at least one --seed/],
    [['pipeline', AORTA, '-o', 'x', '--seed', '1,2'], /--seed takes three/],
    [['pipeline', AORTA, '-o', 'x', '--seed', '1,2,3', '--backend', 'gpu'], /--backend must be one of/],
    [['pipeline', AORTA, '-o', 'x', '--seed', '1,2,3', '--map-pressure', 'high'], /--map-pressure takes a number/],
    [['demo', 'extra'], /demo takes no input/],
  ])('%j is a usage error', async (argv, message) => {
    const io = capture();
    expect(await runCli(argv, io)).toBe(2);
    expect(io.err).toMatch(message);
  });

  it('a seed outside the image: exit 1, the stage named, nothing written', async () => {
    const out = join(freshDir(), 'out');
    const io = capture();
    expect(await runCli(['pipeline', AORTA, '-o', out, '--seed', '71,213,99'], io)).toBe(1);
    expect(io.err).toMatch(/pipeline stage 'segment': seed 71,213,99 is outside the image/);
    expect(existsSync(join(out, 'manifest.json'))).toBe(false);
  });
});

describe('physiotwin demo', () => {
  it('runs the pipeline on the bundled aorta: every output, a JSON summary on target', async () => {
    const out = join(freshDir(), 'demo');
    const io = capture();
    expect(await runCli(['demo', '-o', out, '--json', '--backend', 'cpu'], io), io.err).toBe(0);
    expect(readdirSync(out).sort()).toEqual([...OUTPUTS].sort());
    const summary = JSON.parse(io.out) as { hemo: { inlet: { meanPressureMmHg: number }; cardiacOutputLPerMin: number }; stages: { stage: string }[] };
    expect(Math.abs(summary.hemo.inlet.meanPressureMmHg / 93 - 1)).toBeLessThan(0.05);
    expect(Math.abs(summary.hemo.cardiacOutputLPerMin / 5 - 1)).toBeLessThan(0.05);
    const manifest = JSON.parse(readFileSync(join(out, 'manifest.json'), 'utf8')) as { tool: string; inputs: { name: string; sha256: string }[]; stages: { stage: string; key: string }[] };
    expect(manifest.tool).toBe('physiotwin pipeline');
    expect(manifest.inputs[0]!.name).toMatch(/aorta\.mha$/);
    expect(manifest.inputs[0]!.sha256).toMatch(/^[0-9a-f]{64}$/);
    expect(manifest.stages.map((s) => s.stage)).toEqual(summary.stages.map((s) => s.stage));
    // the generated 0D config runs in `physiotwin hemo run`
    const hemo = capture(out);
    expect(await runCli(['hemo', 'run', 'model.json', '-o', 'rerun.csv'], hemo), hemo.err).toBe(0);
  }, 120_000);

  it('Ctrl-C stops it within a second, exit 130, and leaves no file under an output name', async () => {
    const out = join(freshDir(), 'interrupted');
    const args = ['--conditions=@physiotwin/source', '--import', 'tsx', join(REPO_ROOT, 'packages/cli/src/main.ts'), 'demo', '-o', out, '--backend', 'cpu'];
    const child = spawn(process.execPath, args, { cwd: REPO_ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
    let stderr = '';
    const started = new Promise<void>((ok) => {
      child.stderr.on('data', (d: Buffer) => {
        stderr += d.toString();
        // interrupt in the middle of the segmentation
        if (/smoothing: 50%/.test(stderr)) ok();
      });
    });
    const exited = new Promise<number | null>((done) => child.on('exit', (code) => done(code)));
    await started;
    const t0 = performance.now();
    child.kill('SIGINT');
    const code = await exited;
    const ms = performance.now() - t0;
    expect(code, stderr).toBe(130);
    expect(ms).toBeLessThan(1000);
    expect(stderr).toMatch(/interrupted/);
    expect(existsSync(out) ? readdirSync(out) : []).toEqual([]);
  }, 60_000);
});
