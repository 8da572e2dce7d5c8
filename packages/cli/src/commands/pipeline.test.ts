import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { createVolume } from '@physiotwin/core';
import { readVolumeFile, writeVolumeFile } from '@physiotwin/io/node';
import { runCli } from '../run.js';
import { capture, REPO_ROOT } from '../capture-io.test-helper.js';

const AORTA = 'fixtures/mesh/vmtk-aorta/aorta.mha';
const OUTPUTS = ['volume.nii.gz', 'labelmap.nii.gz', 'lumen.vtp', 'lumen.stl', 'centerlines.vtp', 'centerlines.json', 'model.json', 'results.csv', 'wall.vtu', 'report.html', 'fhir-bundle.json', 'manifest.json'];
// VMTK's seeds (fixtures/mesh/README.md): the aorta (the demo's seed) and the two common iliacs, to check the centerlines.
const AORTA_SEED = [71, 213, 16];
const ILIAC_SEEDS = [[58, 78, 22], [96, 78, 21]];

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

describe('physiotwin pipeline --fhir-in', () => {
  const obs = (id: string, code: string, value: number, unit: string) => ({ resourceType: 'Observation', id, status: 'final', code: { coding: [{ system: 'http://loinc.org', code }] }, valueQuantity: { value, unit, system: 'http://unitsofmeasure.org', code: unit } });
  /** A FHIR R4 Bundle of a mean arterial pressure (LOINC 8478-0) and a heart rate (8867-4), written into a fresh folder. */
  function bundleFile(mapValue: number, mapUnit: string): string {
    const file = join(freshDir(), 'bundle.json');
    writeFileSync(file, JSON.stringify({ resourceType: 'Bundle', type: 'collection', entry: [{ resource: obs('map', '8478-0', mapValue, mapUnit) }, { resource: obs('hr', '8867-4', 72, '/min') }] }));
    return file;
  }

  it('a wrong unit: exit 1, FHIR_INVALID naming the resource and the path; a target also given by a flag: exit 2', async () => {
    const out = join(freshDir(), 'out');
    const io = capture();
    expect(await runCli(['pipeline', AORTA, '-o', out, '--seed', '71,213,16', '--fhir-in', bundleFile(93, 'mL/s')], io)).toBe(1);
    expect(io.err).toMatch(/FHIR_INVALID/);
    expect(io.err).toMatch(/Observation\/map/);
    const both = capture();
    expect(await runCli(['pipeline', AORTA, '-o', out, '--seed', '71,213,16', '--map-pressure', '90', '--fhir-in', bundleFile(100, 'mm[Hg]')], both)).toBe(2);
    expect(both.err).toMatch(/--map-pressure and the --fhir-in bundle both give this target/);
    expect(existsSync(out)).toBe(false);
  });

  it("the bundle's values become the targets; the bundle is a manifest input and what the results derive from", async () => {
    // the pipeline test's 40 mm tube of radius 5 mm (a few seconds on the CPU; the aorta runs once, in the demo test)
    const dir = freshDir();
    const n = 40;
    await writeVolumeFile(join(dir, 'tube.nii.gz'), createVolume({ dims: [n, n, n], spacing: [1, 1, 1], data: new Float32Array(n ** 3).map((_, v) => (Math.hypot((v % n) - 20, (Math.floor(v / n) % n) - 20) < 5 ? 1000 : 100)) }));
    const bundle = bundleFile(13.3, 'kPa');
    const io = capture(dir);
    expect(await runCli(['pipeline', 'tube.nii.gz', '-o', 'out', '--seed', '20,20,20', '--fhir-in', bundle, '--backend', 'cpu', '--json'], io), io.err).toBe(0);
    const manifest = JSON.parse(readFileSync(join(dir, 'out/manifest.json'), 'utf8')) as { parameters: { targets: Record<string, number> }; inputs: { name: string; sha256: string }[] };
    // 13.3 kPa = 13.3e3 / 133.322 mmHg (UCUM mm[Hg] = 133.322 Pa): about 99.76 mmHg
    expect(manifest.parameters.targets.mapPressureMmHg).toBeCloseTo(13.3e3 / 133.322387415, 3);
    expect(manifest.parameters.targets.heartRateBpm).toBe(72);
    expect(manifest.parameters.targets.cardiacOutputLPerMin).toBe(5);
    expect(manifest.inputs.at(-1)).toMatchObject({ name: bundle, sha256: createHash('sha256').update(readFileSync(bundle)).digest('hex') });
    const summary = JSON.parse(io.out) as { hemo: { inlet: { meanPressureMmHg: number } } };
    // the 0D model is tuned to the target within 5% (the pipeline's own acceptance tolerance)
    expect(Math.abs(summary.hemo.inlet.meanPressureMmHg / manifest.parameters.targets.mapPressureMmHg! - 1)).toBeLessThan(0.05);
    const results = JSON.parse(readFileSync(join(dir, 'out/fhir-bundle.json'), 'utf8')) as { entry: { resource: { resourceType: string; derivedFrom?: { reference?: string }[] } }[] };
    expect(results.entry[0]!.resource.derivedFrom!.slice(0, 2)).toEqual([{ reference: 'Observation/map' }, { reference: 'Observation/hr' }]);
  }, 60_000);
});

describe('physiotwin demo', () => {
  // The acceptance checks of the whole pipeline on real data, one run (about 40 s on 2 busy cores).
  it('runs the pipeline on the bundled aorta: every output; on target, conserved, wall stress in the aortic range, centerlines into both iliacs', async () => {
    const out = join(freshDir(), 'demo');
    const io = capture();
    expect(await runCli(['demo', '-o', out, '--json', '--backend', 'cpu'], io), io.err).toBe(0);
    expect(readdirSync(out).sort()).toEqual([...OUTPUTS].sort());
    const summary = JSON.parse(io.out) as { hemo: { inlet: { meanPressureMmHg: number }; cardiacOutputLPerMin: number; junctionImbalance: number }; wall: { peakVonMisesMpa: number; p99VonMisesMpa: number }; stages: { stage: string; ms: number }[] };
    const h = summary.hemo;
    console.info(`demo: ${summary.stages.map((s) => `${s.stage} ${(s.ms / 1000).toFixed(1)} s`).join(', ')}; MAP ${h.inlet.meanPressureMmHg.toFixed(2)} mmHg, CO ${h.cardiacOutputLPerMin.toFixed(3)} L/min, junction imbalance ${h.junctionImbalance.toExponential(1)}, wall von Mises peak ${summary.wall.peakVonMisesMpa.toFixed(3)} MPa, 99th percentile ${summary.wall.p99VonMisesMpa.toFixed(3)} MPa`);
    expect(Math.abs(h.inlet.meanPressureMmHg / 93 - 1)).toBeLessThan(0.05);
    expect(Math.abs(h.cardiacOutputLPerMin / 5 - 1)).toBeLessThan(0.05);
    // 1e-6 relative: the junction equations hold to the Newton tolerance of the f64 solver
    expect(h.junctionImbalance).toBeLessThan(1e-6);
    // aortic wall stress at systole is reported at about 0.1-0.5 MPa for physiological thickness
    expect(summary.wall.peakVonMisesMpa).toBeGreaterThan(0.1);
    expect(summary.wall.peakVonMisesMpa).toBeLessThan(0.5);
    const manifest = JSON.parse(readFileSync(join(out, 'manifest.json'), 'utf8')) as { tool: string; inputs: { name: string; sha256: string }[]; stages: { stage: string; key: string }[] };
    expect(manifest.tool).toBe('physiotwin pipeline');
    expect(manifest.inputs[0]!.name).toMatch(/aorta\.mha$/);
    expect(manifest.inputs[0]!.sha256).toMatch(/^[0-9a-f]{64}$/);
    expect(manifest.stages.map((s) => s.stage)).toEqual(summary.stages.map((s) => s.stage));
    // the centerlines: the aorta's branch ends at a bifurcation whose two children lead to the two iliac seeds
    const c = JSON.parse(readFileSync(join(out, 'centerlines.json'), 'utf8')) as { points: number[]; radius: number[]; branchId: number[]; branches: { parent: number; children: number[]; endsAtOutlet: boolean }[] };
    const ct = await readVolumeFile(join(REPO_ROOT, AORTA));
    const nearest = (s: number[]) => {
      const w = [0, 1, 2].map((a) => ct.origin[a]! + [0, 1, 2].reduce((sum, b) => sum + ct.direction[3 * b + a]! * s[b]! * ct.spacing[b]!, 0));
      let best = 0, bestD = Infinity;
      for (let p = 0; p < c.radius.length; p++) {
        const d = Math.hypot(c.points[3 * p]! - w[0]!, c.points[3 * p + 1]! - w[1]!, c.points[3 * p + 2]! - w[2]!);
        if (d < bestD) (best = p), (bestD = d);
      }
      expect(bestD).toBeLessThan(c.radius[best]! + 1);
      return c.branchId[best]!;
    };
    const ancestors = (b: number): number[] => (b < 0 ? [] : [b, ...ancestors(c.branches[b]!.parent)]);
    const aorta = c.branches[nearest(AORTA_SEED)]!;
    const [left, right] = ILIAC_SEEDS.map((s) => aorta.children.find((k) => ancestors(nearest(s)).includes(k)));
    expect(aorta.endsAtOutlet).toBe(false);
    expect(left).toBeDefined();
    expect(right).toBeDefined();
    expect(left).not.toBe(right);
    // the generated 0D config runs in `physiotwin hemo run`
    const hemo = capture(out);
    expect(await runCli(['hemo', 'run', 'model.json', '-o', 'rerun.csv'], hemo), hemo.err).toBe(0);
  }, 180_000);

  it('Ctrl-C stops it within a second and leaves no file under an output name', async () => {
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
    const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((done) => child.on('exit', (code, sig) => done({ code, signal: sig })));
    await started;
    const t0 = performance.now();
    child.kill('SIGINT');
    const { code, signal } = await exited;
    const ms = performance.now() - t0;
    // while computing, SIGINT keeps its default effect: the process ends by the signal (a shell reports 130)
    expect({ code, signal }, stderr).toEqual({ code: null, signal: 'SIGINT' });
    expect(ms).toBeLessThan(1000);
    expect(existsSync(out) ? readdirSync(out) : []).toEqual([]);
  }, 60_000);
});
