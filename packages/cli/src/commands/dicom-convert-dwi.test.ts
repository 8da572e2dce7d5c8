import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { afterAll, describe, expect, it } from 'vitest';
import { readNiftiHeader } from '@physiotwin/io';
import type { NiftiHeader } from '@physiotwin/io';
import { runCli } from '../run.js';
import { capture, REPO_ROOT } from '../capture-io.test-helper.js';

const tmp = mkdtempSync(join(tmpdir(), 'physiotwin-dicom-dwi-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

/** A NIfTI (plain or gzipped) of int16/uint16 voxels: header and voxels as stored (x fastest, then y, z, t). */
function readNifti4d(path: string): { h: NiftiHeader; data: Int16Array | Uint16Array } {
  let bytes = new Uint8Array(readFileSync(path));
  if (bytes[0] === 0x1f && bytes[1] === 0x8b) bytes = new Uint8Array(gunzipSync(bytes));
  const h = readNiftiHeader(bytes);
  const n = h.dim.slice(1, h.dim[0]! + 1).reduce((a, b) => a * b, 1);
  const buf = bytes.slice(h.voxOffset, h.voxOffset + 2 * n).buffer;
  return { h, data: h.datatype === 512 ? new Uint16Array(buf) : new Int16Array(buf) };
}

/** The sform's 3x3 columns (RAS) and offset. */
const affine = (h: NiftiHeader) => ({ m: h.srow.map((r) => r.slice(0, 3)), o: h.srow.map((r) => r[3]!) });

/**
 * A .bvec column (FSL convention) as a world (RAS) direction: components along the image's unit voxel axes, x
 * negated first when the sform's determinant is positive. Two .bvec files describe the same gradients exactly when
 * this gives the same vectors for both images, whatever their voxel order.
 */
function bvecToWorld(v: number[], h: NiftiHeader): number[] {
  const { m } = affine(h);
  const col = (c: number) => {
    const a = [m[0]![c]!, m[1]![c]!, m[2]![c]!];
    const l = Math.hypot(a[0]!, a[1]!, a[2]!);
    return a.map((x) => x / l);
  };
  const det = m[0]![0]! * (m[1]![1]! * m[2]![2]! - m[2]![1]! * m[1]![2]!) - m[0]![1]! * (m[1]![0]! * m[2]![2]! - m[2]![0]! * m[1]![2]!) + m[0]![2]! * (m[1]![0]! * m[2]![1]! - m[2]![0]! * m[1]![1]!);
  const b = [det > 0 ? -v[0]! : v[0]!, v[1]!, v[2]!];
  return [0, 1, 2].map((r) => b[0]! * col(0)[r]! + b[1]! * col(1)[r]! + b[2]! * col(2)[r]!);
}

const table = (text: string) => text.trim().split('\n').map((l) => l.trim().split(/\s+/).map(Number));

/** Solves the 3x3 system m x = y (Cramer). */
function solve3(m: number[][], y: number[]): number[] {
  const d = (a: number[][]) => a[0]![0]! * (a[1]![1]! * a[2]![2]! - a[2]![1]! * a[1]![2]!) - a[0]![1]! * (a[1]![0]! * a[2]![2]! - a[2]![0]! * a[1]![2]!) + a[0]![2]! * (a[1]![0]! * a[2]![1]! - a[2]![0]! * a[1]![1]!);
  const D = d(m);
  return [0, 1, 2].map((c) => d(m.map((row, r) => row.map((x, k) => (k === c ? y[r]! : x)))) / D);
}

/**
 * Every voxel of the NIfTI at `oursPath` lands on a voxel of `theirsPath` (to 1e-3 voxel: float32 sforms) with
 * the same stored value, in every volume; both have the same dims.
 */
function expectSameVoxels(oursPath: string, theirsPath: string): { ours: NiftiHeader; theirs: NiftiHeader } {
  const ours = readNifti4d(oursPath);
  const theirs = readNifti4d(theirsPath);
  expect(ours.h.dim.slice(0, 5)).toEqual(theirs.h.dim.slice(0, 5));
  const [nx, ny, nz] = ours.h.dim.slice(1, 4) as [number, number, number];
  const nt = ours.h.dim[0]! >= 4 ? ours.h.dim[4]! : 1;
  const A = affine(ours.h);
  const B = affine(theirs.h);
  let worst = 0;
  let differ = 0;
  for (let k = 0; k < nz; k++) for (let j = 0; j < ny; j++) for (let i = 0; i < nx; i++) {
    const w = [0, 1, 2].map((r) => A.m[r]![0]! * i + A.m[r]![1]! * j + A.m[r]![2]! * k + A.o[r]! - B.o[r]!);
    const idx = solve3(B.m, w);
    const r = idx.map(Math.round);
    worst = Math.max(worst, ...idx.map((x, a) => Math.abs(x - r[a]!)));
    for (let t = 0; t < nt; t++) {
      if (ours.data[i + nx * (j + ny * (k + nz * t))] !== theirs.data[r[0]! + nx * (r[1]! + ny * (r[2]! + nz * t))]) differ++;
    }
  }
  expect(worst).toBeLessThan(1e-3);
  expect(differ).toBe(0);
  return { ours: ours.h, theirs: theirs.h };
}

interface DwiCase {
  vendor: string;
  dir: string;
  name: string;
  ref: string;
  volumes: number;
  sidecar: boolean;
  /** Derived isotropic volumes split to `<name>_ADC`: how many, and dcm2niix's file holding exactly them (if any). */
  iso?: { volumes: number; ref?: string };
  /**
   * dcm2niix wrote zero vectors where the header has directions: ours are checked against the header's instead,
   * the (0018,9089) the generator wrote (patient frame, LPS), one per volume.
   */
  headerGradients?: number[][];
  /** Check the sidecar's PhaseEncodingDirection against dcm2niix's (United Imaging 0065,1058, GE 0043,102A). */
  phaseEncoding?: boolean;
  /**
   * dcm2niix's .bval contradicts the header: `theirs` is its text, ours must be the b-values the generator wrote
   * ((0043,1039) value 1).
   */
  headerBValues?: { theirs: string; header: string };
}

const synthetic = (o: string, volumes = 4, iso?: DwiCase['iso'], headerGradients?: number[][]): DwiCase => ({ vendor: `synthetic ${o}`, dir: `fixtures/dicom/dwi/ge_orient/${o}`, name: `3_dwi_${o}`, ref: 'ref', volumes, sidecar: false, iso, headerGradients });

const CASES: DwiCase[] = [
  { vendor: 'GE (classic, private 0043,1039 and 0019,10BB-BD)', dir: 'fixtures/dicom/dwi/ge', name: '1_Ax_DWI_TENSOR_R2', ref: '1_Ax_DWI_TENSOR_R2', volumes: 4, sidecar: true, phaseEncoding: true },
  { vendor: 'Philips (classic, .dcm.gz, DiffusionOrder 2005,1596)', dir: 'fixtures/dicom/dwi/philips', name: '701_DTI_Biobank_2mm_MB3S2_EPI', ref: '701_DTI_Biobank_2mm_MB3S2_EPI', volumes: 17, sidecar: true },
  // synthetic GE series in the orientations the QA data lacks (scripts/make-ge-orientation-fixtures.mjs)
  ...['axial_feet', 'coronal', 'sagittal', 'axial_row', 'canon_coronal', 'siemens_sagittal'].map((o) => synthetic(o)),
  // dcm2niix v1.0.20220720 writes its _ADC file with all five volumes; ours holds the isotropic one
  synthetic('philips_iso', 4, { volumes: 1 }),
  // United Imaging (0065,1009)/(0065,1037): an oblique series whose 5th, isotropic volume stays in the stack (b kept,
  // vector 0 0 0, as dcm2niix keeps it), and a sagittal one
  { ...synthetic('uih_oblique', 5), phaseEncoding: true },
  { ...synthetic('uih_sagittal'), phaseEncoding: true },
  // United Imaging GRID: one file per volume, 5 slices tiled 3 x 2 in each (0065,1050; positions from 0065,1051)
  synthetic('uih_grid'),
  // United Imaging with the standard (0018,9087)/(0018,9089) alone: dcm2niix v1.0.20220720 writes zero vectors
  // (it reads UIH directions from 0065,1037 only); ours are the standard's (scripts/make-ge-orientation-fixtures.mjs GRAD)
  synthetic('uih_standard', 4, undefined, [[0, 0, 0], [0.6, 0.8, 0], [0, 0.6, -0.8], [-0.48, 0.6, 0.64]]),
  // GE b > 0 without a direction: unmarked, a b = 0 image in the stack (dcm2niix's "0" too); marked trace (DERIVED,
  // 0043,1030 = 19), split off (dcm2niix writes it to its own file, refa); an isotropic series (0019,10E0 = 0) keeps b
  synthetic('ge_trace', 5),
  synthetic('ge_trace_derived', 4, { volumes: 1, ref: 'refa' }),
  synthetic('ge_isodwi', 2),
  // the same without (0019,10E0): no directional image in the series, so the b > 0 image is a trace image (b kept);
  // dcm2niix v1.0.20220720 writes b = 0 for it
  { ...synthetic('ge_isodwi_untagged', 2), headerBValues: { theirs: '0 0\n', header: '0 1000\n' } },
  // a Siemens TRACEW series: b 0, 500, 1000 without directions, one stack with vectors 0 0 0 (as dcm2niix)
  synthetic('siemens_tracew', 3),
];

describe('dicom convert: classic diffusion series against dcm2niix v1.0.20220720', () => {
  for (const c of CASES) {
    it(`${c.vendor}: one 4D NIfTI, voxel-exact at dcm2niix's world positions, the same .bval, the same gradients`, async () => {
      const out = join(tmp, c.name);
      const io = capture();
      const code = await runCli(['dicom', 'convert', `${c.dir}/In`, '-o', out, '--name', '%s_%d', '--format', 'nii.gz', '--json'], io);
      expect(code).toBe(0);
      const result = JSON.parse(io.out) as { written: { file: string; dims: number[]; fourthAxis: string[] }[] };
      expect(result.written.length).toBeGreaterThan(0);
      const main = result.written.find((w) => w.file === join(out, `${c.name}.nii.gz`))!;
      expect(main.fourthAxis).toEqual(['diffusion']);
      // derived isotropic volumes leave the stack for a file of their own
      expect(result.written.map((w) => w.file.slice(out.length + 1)).sort()).toEqual(c.iso ? [`${c.name}.nii.gz`, `${c.name}_ADC.nii.gz`] : [`${c.name}.nii.gz`]);
      const ref = (ext: string, base = c.ref) => join(REPO_ROOT, c.dir, 'Ref', `${base}.${ext}`);
      if (c.iso) {
        const adc = result.written.find((w) => w.file.endsWith('_ADC.nii.gz'))!;
        expect(adc.dims).toEqual(c.iso.volumes > 1 ? [8, 8, 2, c.iso.volumes] : [8, 8, 2]);
        if (c.iso.ref) expectSameVoxels(adc.file, ref('nii', c.iso.ref));
      }
      // .bval: dcm2niix's text exactly (or, where dcm2niix contradicts the header, the header's)
      if (c.headerBValues) {
        expect(readFileSync(ref('bval'), 'utf8')).toBe(c.headerBValues.theirs);
        expect(readFileSync(join(out, `${c.name}.bval`), 'utf8')).toBe(c.headerBValues.header);
      } else expect(readFileSync(join(out, `${c.name}.bval`), 'utf8')).toBe(readFileSync(ref('bval'), 'utf8'));
      const { ours, theirs } = expectSameVoxels(join(out, `${c.name}.nii.gz`), existsSync(ref('nii.gz')) ? ref('nii.gz') : ref('nii'));
      expect(ours.dim[4]).toBe(c.volumes);
      const nt = ours.dim[4]!;
      // .bvec: the same world directions (6 significant digits printed: 2e-5 covers rounding of both)
      const ob = table(readFileSync(join(out, `${c.name}.bvec`), 'utf8'));
      const tb = table(readFileSync(ref('bvec'), 'utf8'));
      const bvals = table(readFileSync(ref('bval'), 'utf8'))[0]!;
      for (let t = 0; t < nt; t++) {
        if (bvals[t]! === 0) continue; // dcm2niix writes b = 0 vectors untransformed (Philips 0.57735 x3); ours are 0 0 0
        const wo = bvecToWorld([ob[0]![t]!, ob[1]![t]!, ob[2]![t]!], ours);
        if (c.headerGradients) {
          expect([tb[0]![t], tb[1]![t], tb[2]![t]]).toEqual([0, 0, 0]);
          // LPS -> RAS; the header's vectors are unit length
          const g = c.headerGradients[t]!;
          [-g[0]!, -g[1]!, g[2]!].forEach((x, a) => expect(Math.abs(wo[a]! - x)).toBeLessThan(2e-5));
          continue;
        }
        const wt = bvecToWorld([tb[0]![t]!, tb[1]![t]!, tb[2]![t]!], theirs);
        for (let a = 0; a < 3; a++) expect(Math.abs(wo[a]! - wt[a]!)).toBeLessThan(2e-5);
      }
      const theirsSide = JSON.parse(readFileSync(ref('json'), 'utf8')) as Record<string, unknown>;
      const side = JSON.parse(readFileSync(join(out, `${c.name}.json`), 'utf8')) as Record<string, unknown>;
      // phase encoding polarity (United Imaging 0065,1058, GE 0043,102A): dcm2niix's rows run bottom-up, so a j direction has
      // the opposite sign in ours (an i direction the same)
      if (c.phaseEncoding) {
        const t = theirsSide.PhaseEncodingDirection as string;
        expect(t).toMatch(/^[ij]-?$/);
        expect(side.PhaseEncodingDirection).toBe(t.startsWith('j') ? (t === 'j' ? 'j-' : 'j') : t);
        expect(side.PhaseEncodingPolarityGE).toBe(theirsSide.PhaseEncodingPolarityGE);
      }
      if (!c.sidecar) return;
      // BIDS sidecar: dcm2niix's keys and values (seconds for times)
      for (const key of ['Modality', 'MagneticFieldStrength', 'Manufacturer', 'ManufacturersModelName', 'SeriesDescription', 'ProtocolName', 'ImageType', 'SeriesNumber', 'EchoTime', 'RepetitionTime', 'FlipAngle']) {
        expect([key, side[key]]).toEqual([key, theirsSide[key]]);
      }
      // dcm2niix prints the cosines with 6 significant digits; ours keep the header's
      const iop = side.ImageOrientationPatientDICOM as number[];
      (theirsSide.ImageOrientationPatientDICOM as number[]).forEach((v, i) => expect(Math.abs(iop[i]! - v)).toBeLessThan(1e-6));
      expect(side.SeriesInstanceUID).toMatch(/^[0-9.]+$/);
      expect((side.Physiotwin as { FourthAxis: string[] }).FourthAxis).toEqual(['diffusion']);
    });
  }

  it('--no-4d writes one file per volume; --split-by diffusion does the same; unknown attributes are usage errors', async () => {
    for (const flags of [['--no-4d'], ['--split-by', 'echo,image-type,diffusion']]) {
      const out = join(tmp, `ge-split-${flags[0]}`);
      expect(await runCli(['dicom', 'convert', 'fixtures/dicom/dwi/ge/In', '-o', out, '--format', 'nii', ...flags], capture())).toBe(0);
      const niis = readdirSync(out).filter((f) => f.endsWith('.nii')).sort();
      expect(niis).toEqual(['MR_Ax_DWI_TENSOR_R2.nii', 'MR_Ax_DWI_TENSOR_R2_2.nii', 'MR_Ax_DWI_TENSOR_R2_3.nii', 'MR_Ax_DWI_TENSOR_R2_4.nii']);
      // one volume per file: dcm2niix's rule writes .bval/.bvec for b > 50 alone, not for the b = 0 volume
      expect(readdirSync(out).filter((f) => f.endsWith('.bval'))).toEqual(['MR_Ax_DWI_TENSOR_R2_2.bval', 'MR_Ax_DWI_TENSOR_R2_3.bval', 'MR_Ax_DWI_TENSOR_R2_4.bval']);
      expect(readFileSync(join(out, 'MR_Ax_DWI_TENSOR_R2_3.bval'), 'utf8')).toBe('1000\n');
    }
    const io = capture();
    expect(await runCli(['dicom', 'convert', 'fixtures/dicom/dwi/ge/In', '-o', join(tmp, 'x'), '--split-by', 'colour'], io)).toBe(2);
    expect(io.err).toMatch(/unknown attribute "colour"/);
  });

  it('--json prints the result on stdout when the run fails too', async () => {
    const io = capture();
    expect(await runCli(['dicom', 'convert', 'fixtures/dicom/dwi/ge/In', '-o', join(tmp, 'bad'), '--name', '%s_%Z', '--json'], io)).toBe(1);
    const r = JSON.parse(io.out) as { error: { code: string; message: string }; written: unknown[] };
    expect(r.error.code).toBe('INVALID_ARGUMENT');
    expect(r.error.message).toMatch(/%Z/);
    expect(r.written).toEqual([]);
    const flags = capture();
    expect(await runCli(['dicom', 'convert', 'fixtures/dicom/dwi/ge/In', '-o', join(tmp, 'bad'), '--json', '--no-such-flag'], flags)).toBe(2);
    expect((JSON.parse(flags.out) as { error: { code: string } }).error.code).toBe('INVALID_ARGUMENT');
  });

  it('a Siemens mosaic sidecar: SliceTiming as dcm2niix writes it, PhaseEncodingDirection for our row order (dcm2niix flips rows: opposite sign)', async () => {
    const out = join(tmp, 'mosaic');
    expect(await runCli(['dicom', 'convert', 'fixtures/dicom/dcm_qa_ts/In/1.dcm', '-o', out, '--format', 'nii'], capture())).toBe(0);
    const side = JSON.parse(readFileSync(join(out, 'MR_ax_asc_35sl.json'), 'utf8')) as Record<string, unknown>;
    const ref = JSON.parse(readFileSync(join(REPO_ROOT, 'fixtures/dicom/dcm_qa_ts/Ref/1.json'), 'utf8')) as Record<string, unknown>;
    expect(side.SliceTiming).toEqual(ref.SliceTiming);
    expect(ref.PhaseEncodingDirection).toBe('j-');
    expect(side.PhaseEncodingDirection).toBe('j');
    for (const key of ['EchoTime', 'RepetitionTime', 'FlipAngle', 'MagneticFieldStrength', 'Manufacturer', 'ManufacturersModelName', 'SeriesNumber']) expect([key, side[key]]).toEqual([key, ref[key]]);
  });
});

describe('dicom info on multi-volume series', () => {
  it('shows volumes, the 4th axis, b-values and echo times per group, and a real slice step', async () => {
    const io = capture();
    expect(await runCli(['dicom', 'info', 'fixtures/dicom/dwi/philips/In', '--json'], io)).toBe(0);
    const groups = JSON.parse(io.out) as { dims: number[]; spacing: number[]; volumes: number; fourthAxis: string[]; bValues: number[]; echoTimes: number[]; files: number }[];
    expect(groups).toHaveLength(1);
    const g = groups[0]!;
    expect(g.dims).toEqual([112, 112, 2]);
    expect(g.spacing[2]).toBeCloseTo(2, 2);
    expect(g.volumes).toBe(17);
    expect(g.files).toBe(34);
    expect(g.fourthAxis).toEqual(['diffusion']);
    expect(g.bValues.join(' ')).toBe(readFileSync(join(REPO_ROOT, 'fixtures/dicom/dwi/philips/Ref/701_DTI_Biobank_2mm_MB3S2_EPI.bval'), 'utf8').trim());
    expect(g.echoTimes).toHaveLength(1);
    const text = capture();
    expect(await runCli(['dicom', 'info', 'fixtures/dicom/dwi/ge/In'], text)).toBe(0);
    expect(text.out).toMatch(/256 x 256 x 2 voxels x 4 volumes \(4th axis: diffusion\)/);
    expect(text.out).toMatch(/b-values 0 1000 1000 1000 s\/mm2/);
  });
});
