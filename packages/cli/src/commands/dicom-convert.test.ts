import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { readNiftiHeader, readNifti } from '@physiotwin/io';
import { loadVolume } from '@physiotwin/dicom';
import { scanDicomPaths } from '@physiotwin/dicom/node';
import { runCli } from '../run.js';
import { capture, REPO_ROOT } from '../capture-io.test-helper.js';

const tmp = mkdtempSync(join(tmpdir(), 'physiotwin-dicom-convert-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));


describe('physiotwin dicom convert', () => {
  it('CT5N to NIfTI: sform in RAS equal to dcm2niix (float32 precision), same voxels, refuses to overwrite', async () => {
    const out = join(tmp, 'ct5n');
    const io = capture();
    const code = await runCli(['dicom', 'convert', 'fixtures/dicom/pydicom/test_files/dicomdirtests/98892001/CT5N', '-o', out, '--format', 'nii', '--json'], io);
    expect(io.err).toBe('');
    expect(code).toBe(0);
    const { written } = JSON.parse(io.out) as { written: { file: string }[] };
    expect(written).toHaveLength(1);
    const ours = new Uint8Array(readFileSync(written[0]!.file));
    const ref = new Uint8Array(readFileSync(join(REPO_ROOT, 'fixtures/dicom/pydicom/Ref_dcm2niix_dicomdirtests/98892001_CT5N/5_20010101000000_98890234.nii.gz')));
    const h = readNiftiHeader(ours);
    const r = readNiftiHeader(ref);
    // dcm2niix flips rows (j runs bottom-up), we keep DICOM row order: compare the world position of voxel
    // (i, j, k) of ours with voxel (i, rows-1-j, k) of the reference. 1e-3 mm: float32 sform entries.
    const world = (s: number[][], i: number, j: number, k: number) => s.map((row) => row[0]! * i + row[1]! * j + row[2]! * k + row[3]!);
    for (const [i, j, k] of [[0, 0, 0], [15, 0, 0], [0, 15, 4], [7, 3, 2]] as const) {
      const a = world(h.srow, i, j, k);
      const b = world(r.srow, i, 15 - j, k);
      for (let c = 0; c < 3; c++) expect(a[c]).toBeCloseTo(b[c]!, 3);
    }
    expect(h.sclSlope).toBe(1);
    expect(h.sclInter).toBe(-1024);
    const vo = readNifti(ours);
    const vr = readNifti(ref);
    let diff = 0;
    for (let k = 0; k < 5; k++) for (let j = 0; j < 16; j++) for (let i = 0; i < 16; i++) {
      if (vo.data[i + 16 * (j + 16 * k)] !== vr.data[i + 16 * (15 - j + 16 * k)]) diff++;
    }
    expect(diff).toBe(0);
    expect(existsSync(join(out, 'manifest.json'))).toBe(true);
    const again = capture();
    expect(await runCli(['dicom', 'convert', 'fixtures/dicom/pydicom/test_files/dicomdirtests/98892001/CT5N', '-o', out, '--format', 'nii'], again)).toBe(1);
    expect(again.err).toMatch(/IO_EXISTS/);
    expect(await runCli(['dicom', 'convert', 'fixtures/dicom/pydicom/test_files/dicomdirtests/98892001/CT5N', '-o', out, '--format', 'nii', '--force'], capture())).toBe(0);
  });

  it('the DICOMDIR with --spacing error: the uneven CT2 group fails (exit 1), the others are written', async () => {
    const out = join(tmp, 'dicomdir');
    const io = capture();
    const code = await runCli(['dicom', 'convert', 'fixtures/dicom/pydicom/test_files/dicomdirtests/DICOMDIR', '-o', out, '--json'], io);
    expect(code).toBe(1);
    const res = JSON.parse(io.out) as { written: unknown[]; failed: { code: string; seriesDescription: string }[] };
    expect(res.failed).toEqual([expect.objectContaining({ code: 'DICOM_GEOMETRY', seriesDescription: 'Routine Brain' })]);
    expect(res.written).toHaveLength(23);
    expect(readdirSync(out).filter((f) => f.endsWith('.nii.gz'))).toHaveLength(23);
  });

  it('--series picks one series; --spacing resample evens the 202.5 mm gap; mha output', async () => {
    const out = join(tmp, 'ct2');
    const io = capture();
    const code = await runCli(
      ['dicom', 'convert', 'fixtures/dicom/pydicom/test_files/dicomdirtests', '-o', out, '--series', '1.3.6.1.4.1.5962.1.1.0.0.0.1196530851.28319.0.2', '--spacing', 'resample', '--format', 'mha', '--json'],
      io,
    );
    expect(code).toBe(0);
    const res = JSON.parse(io.out) as { written: { file: string; dims: number[] }[] };
    expect(res.written).toHaveLength(1);
    expect(res.written[0]!.dims).toEqual([16, 16, 165]);
    expect(res.written[0]!.file.endsWith('.mha')).toBe(true);
  });

  it('bad flags are usage errors (exit 2)', async () => {
    expect(await runCli(['dicom', 'convert', 'x', '-o', tmp, '--spacing', 'average'], capture())).toBe(2);
    expect(await runCli(['dicom', 'convert', 'x'], capture())).toBe(2);
  });

  it('a JPEG 2000 mosaic converts to 64x64x35', async () => {
    const out = join(tmp, 'j2k');
    const io = capture();
    const code = await runCli(['dicom', 'convert', 'fixtures/dicom/dcm_qa_ts/In/9.dcm', '-o', out, '--json'], io);
    expect(code).toBe(0);
    expect((JSON.parse(io.out) as { written: { dims: number[] }[] }).written[0]!.dims).toEqual([64, 64, 35]);
  });

  it('--tilt-correct on the 17 degree gantry-tilted CT: the grid of dcm2niix _Tilt_1 in world space, the voxels of loadVolume', async () => {
    const input = 'fixtures/dicom/physiotwin_tilt/dicom';
    const out = join(tmp, 'tilt');
    const io = capture();
    expect(await runCli(['dicom', 'convert', input, '-o', out, '--tilt-correct', '--format', 'nii', '--json'], io)).toBe(0);
    const { written } = JSON.parse(io.out) as { written: { file: string }[] };
    const ours = new Uint8Array(readFileSync(written[0]!.file));
    const h = readNiftiHeader(ours);
    const v = readNifti(ours);
    const r = readNiftiHeader(new Uint8Array(readFileSync(join(REPO_ROOT, 'fixtures/dicom/physiotwin_tilt/dcm2niix/tilt_ct_Tilt_1.nii'))));
    // the same tilt-corrected volume in memory (checked voxel by voxel against dcm2niix in packages/dicom)
    const scan = await scanDicomPaths([join(REPO_ROOT, input)]);
    const mem = (await loadVolume(scan.groups[0]!, scan.sources, { tiltCorrect: true })).volume;
    const [nx, ny, nz] = v.dims;
    expect(mem.dims).toEqual([nx, ny, nz]);
    // reference index of a RAS point: solve srow[0..2] * [i, j, k] = p - srow[.][3] (Cramer's rule)
    const m = r.srow;
    const det3 = (a: number[], b: number[], c: number[]) => a[0]! * (b[1]! * c[2]! - b[2]! * c[1]!) - a[1]! * (b[0]! * c[2]! - b[2]! * c[0]!) + a[2]! * (b[0]! * c[1]! - b[1]! * c[0]!);
    const cols = [0, 1, 2].map((c) => m.map((row) => row[c]!));
    const D = det3(cols[0]!, cols[1]!, cols[2]!);
    let offGrid = 0, unlike = 0;
    for (let k = 0; k < nz; k++) for (let j = 0; j < ny; j++) for (let i = 0; i < nx; i++) {
      const p = h.srow.map((row) => row[0]! * i + row[1]! * j + row[2]! * k + row[3]!);
      const q = p.map((x, a) => x - m[a]![3]!);
      const idx = [0, 1, 2].map((c) => det3(...(cols.map((col, cc) => (cc === c ? q : col)) as [number[], number[], number[]])) / D);
      // 1e-2 voxel: both sforms are float32
      if (idx.some((x) => Math.abs(x - Math.round(x)) > 1e-2)) offGrid++;
      // the in-memory volume's voxel at the same world point (LPS = RAS with x and y negated)
      const d = mem.direction;
      const s = mem.spacing;
      const lps = [-p[0]!, -p[1]!, p[2]!].map((x, a) => x - mem.origin[a]!);
      // mem's direction columns are orthonormal after tilt correction: index = column . offset / spacing
      const mi = Math.round((d[0] * lps[0]! + d[1] * lps[1]! + d[2] * lps[2]!) / s[0]);
      const mj = Math.round((d[3] * lps[0]! + d[4] * lps[1]! + d[5] * lps[2]!) / s[1]);
      const mk = Math.round((d[6] * lps[0]! + d[7] * lps[1]! + d[8] * lps[2]!) / s[2]);
      if (v.data[i + nx * (j + ny * k)] !== mem.data[mi + nx * (mj + ny * mk)]) unlike++;
    }
    expect({ offGrid, unlike }).toEqual({ offGrid: 0, unlike: 0 });
  });
});
