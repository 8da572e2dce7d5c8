// Whole-folder DICOM -> NIfTI conversion with the CLI, physiotwin vs dcm2niix (Debian package) on the same folders,
// wall time of the whole process (start-up included), as a user runs them:
//   - start-up: `physiotwin --version` vs `dcm2niix -v`, `physiotwin info` on a small .nii.gz, and
//     `physiotwin dicom info` on the MR folder;
//   - a small-file MR series: 64 x 64 slices, 36 slices x 40 time points = 1440 files (fMRI-like, classic);
//   - a 512 x 512 x 160 int16 CT series (the dicom-load benchmark's generator).
// Both write uncompressed .nii plus a JSON sidecar (dcm2niix -z n -b y -w 1; physiotwin --format nii --force).
// Each run starts from an empty output folder (its removal is inside the timed run: a few ms).
import { execFileSync } from 'node:child_process';
import { mkdirSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { measure, newReport, ratio, writeReport } from './harness.js';
import type { BenchResult } from './harness.js';
import { writeSeries } from './dicom-load.bench.js';

const REPO = fileURLToPath(new URL('..', import.meta.url));
const CLI = join(REPO, 'packages/cli/bin/physiotwin.js');
const MR = { rows: 64, slices: 36, volumes: 40 };

type WriteDicom = (els: unknown[]) => Uint8Array;

/** A classic fMRI-like series: one file per slice and time point (TemporalPositionIdentifier, AcquisitionNumber). */
export function writeMrSeries(dir: string, writeDicom: WriteDicom): void {
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  const uid = '1.2.826.0.1.3680043.10.1099.43';
  const px = new Int16Array(MR.rows * MR.rows);
  for (let t = 0; t < MR.volumes; t++) {
    for (let k = 0; k < MR.slices; k++) {
      for (let i = 0; i < px.length; i++) px[i] = (i * 3 + k * 5 + t) % 1000;
      const n = t * MR.slices + k + 1;
      const bytes = writeDicom([
        { tag: 0x00080016, vr: 'UI', value: '1.2.840.10008.5.1.4.1.1.4' },
        { tag: 0x00080018, vr: 'UI', value: `${uid}.${n}` },
        { tag: 0x00080060, vr: 'CS', value: 'MR' },
        { tag: 0x00080070, vr: 'LO', value: 'SIEMENS' },
        { tag: 0x0008103e, vr: 'LO', value: 'bold' },
        { tag: 0x00180080, vr: 'DS', value: 2000 },
        { tag: 0x00180081, vr: 'DS', value: 30 },
        { tag: 0x0020000e, vr: 'UI', value: uid },
        { tag: 0x00200011, vr: 'IS', value: 5 },
        { tag: 0x00200012, vr: 'IS', value: t + 1 },
        { tag: 0x00200013, vr: 'IS', value: n },
        { tag: 0x00200032, vr: 'DS', value: [-96, -96, -50 + 3 * k] },
        { tag: 0x00200037, vr: 'DS', value: [1, 0, 0, 0, 1, 0] },
        { tag: 0x00200100, vr: 'IS', value: t + 1 },
        { tag: 0x00280002, vr: 'US', value: 1 },
        { tag: 0x00280004, vr: 'CS', value: 'MONOCHROME2' },
        { tag: 0x00280010, vr: 'US', value: MR.rows },
        { tag: 0x00280011, vr: 'US', value: MR.rows },
        { tag: 0x00280030, vr: 'DS', value: [3, 3] },
        { tag: 0x00280100, vr: 'US', value: 16 },
        { tag: 0x00280101, vr: 'US', value: 16 },
        { tag: 0x00280102, vr: 'US', value: 15 },
        { tag: 0x00280103, vr: 'US', value: 1 },
        { tag: 0x7fe00010, vr: 'OW', value: px },
      ]);
      writeFileSync(join(dir, `MR${String(n).padStart(5, '0')}.dcm`), bytes);
    }
  }
}

/**
 * The environment the children run in, without NODE_EXTRA_CA_CERTS: where it is set (this project's machines set it
 * for their registry proxy), every Node process parses the CA bundle at start-up, about 40 ms here, before any of
 * physiotwin's code runs, for TLS that a conversion never uses. A user's machine normally has no such variable; the
 * bench times one `--version` with it as well, so that its cost is on record.
 */
const { NODE_EXTRA_CA_CERTS: extraCaCerts, ...childEnv } = process.env;
const run = (cmd: string, args: string[], env: NodeJS.ProcessEnv = childEnv) => execFileSync(cmd, args, { stdio: ['ignore', 'ignore', 'pipe'], env });

function dcm2niixVersion(): string | undefined {
  try {
    return /v\d+\.\d+\.\d+/.exec(execFileSync('dcm2niix', ['-v'], { encoding: 'utf8' }))?.[0];
  } catch (e) {
    // dcm2niix -v exits with status 3 after printing its version
    const out = (e as { stdout?: string }).stdout;
    return out ? /v\d+\.\d+\.\d+/.exec(out)?.[0] : undefined;
  }
}

export default async function bench(): Promise<void> {
  const { writeDicom } = (await import('@physiotwin/dicom')) as unknown as { writeDicom: WriteDicom };
  const work = join(tmpdir(), 'physiotwin-dicom-convert-bench');
  const mr = join(work, 'mr');
  const ct = join(work, 'ct');
  writeMrSeries(mr, writeDicom);
  writeSeries(ct, writeDicom);
  const version = dcm2niixVersion();
  const report = newReport('dicom-convert');
  const results: Record<string, BenchResult> = {};
  const add = async (key: string, name: string, impl: string, size: Record<string, number | string>, fn: () => void, items?: number) => {
    const r = await measure({ name, impl, backend: 'other', size, run: fn, repeats: 5, ...(items ? { items, itemUnit: 'files' } : {}) });
    results[key] = r;
    report.results.push(r);
  };
  const out = (name: string) => {
    const d = join(work, name);
    rmSync(d, { recursive: true, force: true });
    mkdirSync(d, { recursive: true });
    return d;
  };
  const mrSize = { rows: MR.rows, columns: MR.rows, slices: MR.slices, volumes: MR.volumes, files: MR.slices * MR.volumes };
  const ctSize = { rows: 512, columns: 512, slices: readdirSync(ct).length, files: readdirSync(ct).length };
  try {
    await add('ptVersion', 'start-up: --version', 'physiotwin (node)', {}, () => run(process.execPath, [CLI, '--version']));
    if (extraCaCerts !== undefined) {
      await add('ptVersionCa', 'start-up: --version, NODE_EXTRA_CA_CERTS set (as on this machine)', 'physiotwin (node)', {}, () => run(process.execPath, [CLI, '--version'], process.env));
    }
    // issue 11's start-up target covers `info` too: a small .nii.gz (2 MB of voxels, 11 kB gzipped)
    const nii = join(REPO, 'fixtures/mesh/vmtk-aorta/aorta-lumen.nii.gz');
    await add('ptInfoNii', 'start-up: info on a .nii.gz (157x393x34 uint8)', 'physiotwin (node)', {}, () => run(process.execPath, [CLI, 'info', nii]));
    await add('ptInfo', `dicom info, MR ${mrSize.files} files`, 'physiotwin (node)', mrSize, () => run(process.execPath, [CLI, 'dicom', 'info', mr]), mrSize.files);
    await add('ptMr', `convert MR ${mrSize.files} files to one 4D .nii`, 'physiotwin (node)', mrSize, () => run(process.execPath, [CLI, 'dicom', 'convert', mr, '-o', out('pt-mr'), '--format', 'nii', '--force']), mrSize.files);
    await add('ptCt', `convert CT ${ctSize.files} files 512x512`, 'physiotwin (node)', ctSize, () => run(process.execPath, [CLI, 'dicom', 'convert', ct, '-o', out('pt-ct'), '--format', 'nii', '--force']), ctSize.files);
    if (version) {
      await add('dxVersion', 'start-up: --version', `dcm2niix ${version}`, {}, () => {
        try {
          run('dcm2niix', ['-v']);
        } catch {
          // exits with status 3 after printing the version
        }
      });
      await add('dxMr', `convert MR ${mrSize.files} files to one 4D .nii`, `dcm2niix ${version}`, mrSize, () => run('dcm2niix', ['-z', 'n', '-b', 'y', '-w', '1', '-o', out('dx-mr'), mr]), mrSize.files);
      await add('dxCt', `convert CT ${ctSize.files} files 512x512`, `dcm2niix ${version}`, ctSize, () => run('dcm2niix', ['-z', 'n', '-b', 'y', '-w', '1', '-o', out('dx-ct'), ct]), ctSize.files);
      report.ratios.push({ label: 'MR conversion: physiotwin / dcm2niix wall time (target <= 1.2)', value: ratio(results.ptMr!, results.dxMr!) });
      report.ratios.push({ label: 'CT conversion: physiotwin / dcm2niix wall time (target <= 1.2)', value: ratio(results.ptCt!, results.dxCt!) });
      report.ratios.push({ label: 'start-up: physiotwin --version / dcm2niix -v', value: ratio(results.ptVersion!, results.dxVersion!) });
    } else {
      report.notes.push('dcm2niix is not installed: only physiotwin was timed (apt-get install dcm2niix).');
    }
    if (extraCaCerts !== undefined) {
      report.notes.push('NODE_EXTRA_CA_CERTS is set on this machine: the children ran without it (a user\'s machine normally has none), except the row that says so, which shows what it adds to every Node start.');
    }
    report.notes.push(
      'Wall time of a child process per run (node start-up, module loading, scan, assembly, NIfTI and sidecar writing, and for physiotwin the manifest with SHA-256 of every input file and the provenance with SHA-256 of every output, each hashed where its bytes are read or written), files in the page cache.',
      'Uncompressed .nii on both sides: dcm2niix defaults to -z n; physiotwin defaults to .nii.gz (fflate level 6), so --format nii is the like-for-like setting.',
      `Machine load at the end of the run: ${(await import('node:os')).loadavg().map((x) => x.toFixed(1)).join(', ')} (1, 5, 15 min) on ${(await import('node:os')).cpus().length} cores; figures from a loaded machine are upper bounds.`,
    );
    writeReport(report);
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}
