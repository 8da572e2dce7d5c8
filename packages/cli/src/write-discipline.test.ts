// Every writing command: outputs checked before any work, atomic writes, typed IO_* errors, a manifest, and what a
// kill or a concurrent run leaves behind.
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, watch, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { RunManifest } from '@physiotwin/core';
import { createVolume, sha256Hex, verifyManifest } from '@physiotwin/core';
import { writeVolumeFile } from '@physiotwin/io/node';
import { afterAll, describe, expect, it } from 'vitest';
import { capture, REPO_ROOT } from './capture-io.test-helper.js';
import { runCli } from './run.js';

const root = mkdtempSync(join(tmpdir(), 'physiotwin-writes-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));
let n = 0;
const freshDir = () => {
  const d = join(root, `d${n++}`);
  mkdirSync(d);
  return d;
};
const CASE = join(REPO_ROOT, 'fixtures/hemo/svzerod/cases/pulsatileFlow_R_RCR.json');
const AORTA = join(REPO_ROOT, 'fixtures/mesh/vmtk-aorta/aorta.mha');
const CT5N = join(REPO_ROOT, 'fixtures/dicom/pydicom/test_files/dicomdirtests/98892001/CT5N');
/** Left behind by a writer: temporary files (`.<name>.<random>.tmp`) or writability probes. */
const leftovers = (dir: string) => readdirSync(dir).filter((f) => f.endsWith('.tmp'));

/** Every writing command, writing into `out` (a file path, or a folder for dicom convert and hemo ensemble). */
function writers(out: string, samples: string): Record<string, string[]> {
  return {
    'dicom convert': ['dicom', 'convert', CT5N, '-o', out],
    segment: ['segment', AORTA, '-o', join(out, 'labels.nii'), '--lower', '1600', '--backend', 'cpu'],
    mesh: ['mesh', AORTA, '-o', join(out, 'aorta.stl'), '--iso', '1500', '--backend', 'cpu'],
    'hemo run': ['hemo', 'run', CASE, '-o', join(out, 'result.csv')],
    'hemo ensemble': ['hemo', 'ensemble', CASE, '--samples', samples, '-o', join(out, 'ensemble')],
    'hemo plot': ['hemo', 'plot', join(REPO_ROOT, 'fixtures/hemo/svzerod/results/result_pulsatileFlow_R_RCR.json'), '-o', join(out, 'plot.svg')],
  };
}

describe('write discipline of the writing commands', () => {
  const samples = join(root, 'samples.csv');
  writeFileSync(samples, 'OUT.Rd,OUT.C\n1000,0.0001\n500,0.0002\n');

  it('a parent that is a file: a typed IO_WRITE_FAILED on one line and nothing written, for every writer', async () => {
    const dir = freshDir();
    writeFileSync(join(dir, 'file'), 'x');
    for (const [name, args] of Object.entries(writers(join(dir, 'file', 'sub'), samples))) {
      const io = capture(dir);
      expect(await runCli(args, io), name).toBe(1);
      expect(io.err, name).toMatch(/^physiotwin [a-z ]+: IO_WRITE_FAILED: a parent of this path is a file, not a folder \(file .*\)\n$/);
    }
    expect(readdirSync(dir)).toEqual(['file']);
  });

  it('a missing folder is IO_NOT_FOUND for file outputs (no folder is created); dicom convert and hemo ensemble create their output folder', async () => {
    const dir = freshDir();
    for (const [name, args] of Object.entries(writers(join(dir, 'missing'), samples))) {
      if (name === 'dicom convert' || name === 'hemo ensemble') continue;
      const io = capture(dir);
      expect(await runCli(args, io), name).toBe(1);
      expect(io.err, name).toMatch(/IO_NOT_FOUND: the folder .*missing does not exist/);
    }
    expect(readdirSync(dir)).toEqual([]);
    expect(await runCli(writers(join(dir, 'made', 'here'), samples)['dicom convert']!, capture(dir))).toBe(0);
    expect(readdirSync(join(dir, 'made', 'here'))).toContain('manifest.json');
  });

  it('checks outputs before reading any input: the output error wins over a missing input', async () => {
    const dir = freshDir();
    writeFileSync(join(dir, 'file'), 'x');
    const io = capture(dir);
    expect(await runCli(['hemo', 'run', join(dir, 'no-such-config.json'), '-o', join(dir, 'file', 'r.csv')], io)).toBe(1);
    expect(io.err).toMatch(/IO_WRITE_FAILED/);
  });

  it('an input that is a folder or missing is a typed error too (hemo run, ensemble, plot)', async () => {
    const dir = freshDir();
    const cases: Array<[string[], RegExp]> = [
      [['hemo', 'run', dir, '-o', 'a.csv'], /IO_INVALID: expected a regular file, found a folder/],
      [['hemo', 'run', join(dir, 'none.json'), '-o', 'b.csv'], /IO_NOT_FOUND: no such file/],
      [['hemo', 'ensemble', CASE, '--samples', dir, '-o', 'c'], /IO_INVALID: expected a regular file, found a folder/],
      [['hemo', 'plot', dir, '-o', 'd.svg'], /IO_INVALID: expected a regular file, found a folder/],
      // a FIFO would block the read until a writer came, a device like /dev/zero never end: refused before reading
      [['hemo', 'run', '/dev/zero', '-o', 'e.csv'], /IO_INVALID: expected a regular file, found a device/],
    ];
    for (const [args, message] of cases) {
      const io = capture(dir);
      expect(await runCli(args, io), args.join(' ')).toBe(1);
      expect(io.err).toMatch(message);
    }
    expect(readdirSync(dir)).toEqual([]);
  });

  // Permission bits do not stop root, and these tests may run as root: sysfs refuses new files to every user.
  it.runIf(process.platform === 'linux' && existsSync('/sys/kernel'))('an unwritable folder is IO_PERMISSION for every writer', async () => {
    for (const [name, args] of Object.entries(writers('/sys/kernel/physiotwin-test', samples))) {
      const io = capture(root);
      expect(await runCli(name === 'dicom convert' ? args : args.map((a) => a.replace('/sys/kernel/physiotwin-test/', '/sys/kernel/')), io), name).toBe(1);
      expect(io.err, name).toMatch(/IO_PERMISSION: no permission to write here/);
    }
  });

  it('a refused run writes nothing: dicom convert with an existing manifest.json or volume refuses before converting', async () => {
    const dir = freshDir();
    expect(await runCli(['dicom', 'convert', CT5N, '-o', dir], capture(dir))).toBe(0);
    const written = readdirSync(dir).sort();
    const volume = written.find((f) => f.endsWith('.nii.gz'));
    const sidecar = volume!.replace(/\.nii\.gz$/, '.json');
    expect(written).toEqual([sidecar, 'manifest.json', 'provenance.fhir.json', 'ro-crate-metadata.json', volume].sort());
    // An existing manifest.json refuses the run: neither the volume nor its sidecar is written again.
    for (const f of written) if (f !== 'manifest.json') rmSync(join(dir, f));
    writeFileSync(join(dir, 'manifest.json'), 'precious');
    const io = capture(dir);
    expect(await runCli(['dicom', 'convert', CT5N, '-o', dir], io)).toBe(1);
    expect(io.err).toMatch(/IO_EXISTS.*manifest\.json/);
    expect(readdirSync(dir)).toEqual(['manifest.json']);
    expect(readFileSync(join(dir, 'manifest.json'), 'utf8')).toBe('precious');
    // So does an existing volume, before the manifest is written.
    rmSync(join(dir, 'manifest.json'));
    writeFileSync(join(dir, volume!), 'precious');
    expect(await runCli(['dicom', 'convert', CT5N, '-o', dir], capture(dir))).toBe(1);
    expect(readdirSync(dir)).toEqual([volume]);
    expect(readFileSync(join(dir, volume!), 'utf8')).toBe('precious');
    expect(await runCli(['dicom', 'convert', CT5N, '-o', dir, '--force'], capture(dir))).toBe(0);
    expect(readFileSync(join(dir, volume!)).subarray(0, 2)).toEqual(Buffer.from([0x1f, 0x8b]));
    expect(leftovers(dir)).toEqual([]);
  });

  it('hemo run, ensemble and plot write a manifest that hashes their inputs; an existing manifest refuses the run', async () => {
    const dir = freshDir();
    const w = writers(dir, samples);
    for (const [name, file, inputs] of [
      ['hemo run', 'result.csv', [CASE]],
      ['hemo ensemble', 'ensemble/summary.csv', [CASE, samples]],
      ['hemo plot', 'plot.svg', [join(REPO_ROOT, 'fixtures/hemo/svzerod/results/result_pulsatileFlow_R_RCR.json')]],
    ] as const) {
      const io = capture(dir);
      expect(await runCli(w[name]!, io), io.err).toBe(0);
      const manifest = JSON.parse(readFileSync(join(dir, name === 'hemo ensemble' ? 'ensemble/manifest.json' : `${file}.manifest.json`), 'utf8')) as RunManifest;
      expect(manifest.tool).toBe(`physiotwin ${name}`);
      expect(await verifyManifest(manifest)).toBe(true);
      expect(manifest.inputs.map((i) => i.name)).toEqual([...inputs]);
      for (const [i, input] of inputs.entries()) expect(manifest.inputs[i]!.sha256).toBe(await sha256Hex(new Uint8Array(readFileSync(input))));
    }
    rmSync(join(dir, 'result.csv'));
    const io = capture(dir);
    expect(await runCli(w['hemo run']!, io)).toBe(1);
    expect(io.err).toMatch(/IO_EXISTS.*result\.csv\.manifest\.json/);
    expect(existsSync(join(dir, 'result.csv'))).toBe(false);
  });

  it('eight concurrent hemo runs into one path without --force: exactly one wins, seven get IO_EXISTS, nothing partial', async () => {
    const dir = freshDir();
    const runs = Array.from({ length: 8 }, () => capture(dir));
    const codes = await Promise.all(runs.map((io) => runCli(['hemo', 'run', CASE, '-o', 'race.csv'], io)));
    expect(codes.filter((c) => c === 0)).toHaveLength(1);
    expect(codes.filter((c) => c === 1)).toHaveLength(7);
    for (const io of runs.filter((_, i) => codes[i] === 1)) expect(io.err).toMatch(/^physiotwin hemo run: IO_EXISTS/);
    expect(readdirSync(dir).sort()).toEqual(['race.csv', 'race.csv.manifest.json']);
    // The winner's file is whole: the same bytes as a run on its own.
    expect(await runCli(['hemo', 'run', CASE, '-o', 'alone.csv'], capture(dir))).toBe(0);
    expect(readFileSync(join(dir, 'race.csv'), 'utf8')).toBe(readFileSync(join(dir, 'alone.csv'), 'utf8'));
  });
});

/**
 * Runs `physiotwin segment` in a child process (on the TypeScript sources, through tsx) on a 16 MB volume whose
 * 16 MB labelmap takes tens of milliseconds to write and fsync; stops it (SIGSTOP) as soon as its temporary output
 * file appears, then sends `signal`. Returns the exit code or signal and what the folder held while it was stopped.
 */
async function interruptWhileWriting(dir: string, input: string, force: boolean, signal: 'SIGKILL' | 'SIGINT') {
  const args = ['--conditions=@physiotwin/source', '--import', 'tsx', join(REPO_ROOT, 'packages/cli/src/main.ts'), 'segment', input, '-o', join(dir, 'labels.nii'), '--lower', '1', '--backend', 'cpu', ...(force ? ['--force'] : [])];
  const child = spawn(process.execPath, args, { cwd: REPO_ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((done) => child.on('exit', (code, sig) => done({ code, signal: sig })));
  const whileStopped = await new Promise<string[]>((resolveStop, reject) => {
    const watcher = watch(dir, (_event, name) => {
      if (!name?.startsWith('.labels.nii.')) return;
      child.kill('SIGSTOP');
      watcher.close();
      resolveStop(readdirSync(dir));
    });
    void exited.then(() => {
      watcher.close();
      reject(new Error(`the child ended before writing: ${stderr}`));
    });
  });
  child.kill(signal);
  if (signal !== 'SIGKILL') child.kill('SIGCONT');
  return { whileStopped, ...(await exited), stderr };
}

describe('a kill while writing', () => {
  const dir = freshDir();
  const input = join(dir, 'ones.nii');
  const existing = 'a good labelmap from an earlier run';

  it('setup: a 256^3 uint8 volume of ones', async () => {
    await writeVolumeFile(input, createVolume({ data: new Uint8Array(256 ** 3).fill(1), dims: [256, 256, 256] }));
  });

  it('SIGKILL with --force: the old file survives whole, no partial file under its name', async () => {
    const out = freshDir();
    writeFileSync(join(out, 'labels.nii'), existing);
    const r = await interruptWhileWriting(out, input, true, 'SIGKILL');
    expect(r.signal).toBe('SIGKILL');
    expect(r.whileStopped).toContain('labels.nii');
    expect(readFileSync(join(out, 'labels.nii'), 'utf8')).toBe(existing);
    // SIGKILL cannot be handled: at most the temporary file stays, under its own name.
    expect(readdirSync(out).filter((f) => f !== 'labels.nii' && !f.startsWith('.labels.nii.'))).toEqual([]);
  });

  it('SIGINT without --force: exit 130, the temporary files removed, no output at all', async () => {
    const out = freshDir();
    const r = await interruptWhileWriting(out, input, false, 'SIGINT');
    // Stopped while writing: no final file yet (else the test could not tell a partial write from a finished one).
    expect(r.whileStopped.filter((f) => !f.startsWith('.'))).toEqual([]);
    expect(r.code, r.stderr).toBe(130);
    expect(readdirSync(out)).toEqual([]);
    expect(leftovers(out)).toEqual([]);
  });
});
