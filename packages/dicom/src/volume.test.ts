import { describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { PhysiotwinError, isPhysiotwinError } from '@physiotwin/core';
import type { Volume } from '@physiotwin/core';
import { readNifti, readNiftiHeader } from '@physiotwin/io';
import { scanDicomPaths } from './node.js';
import { loadVolume } from './volume.js';
import { scanDicom } from './series.js';
import type { DicomSource, SeriesGroup, ScanResult, SharedRead, SharedReader } from './series.js';
import { fixture, readJson, syntheticSlice } from './test-util.js';
import * as TILT from '../../../scripts/make-tilt-ct.js';

/** A reference NIfTI and the map from LPS (mm) to its fractional voxel index (README "How to compare", method 1). */
function niftiReference(refPath: string): { ref: Volume; toIndex: (x: number, y: number, z: number) => [number, number, number] } {
  const bytes = new Uint8Array(readFileSync(fixture(refPath)));
  const h = readNiftiHeader(bytes);
  const ref = readNifti(bytes);
  const S = h.srow;
  // inverse of the 3x3 part of the sform
  const a = S[0]!, b = S[1]!, c = S[2]!;
  const m = [a[0]!, a[1]!, a[2]!, b[0]!, b[1]!, b[2]!, c[0]!, c[1]!, c[2]!];
  const det = m[0]! * (m[4]! * m[8]! - m[5]! * m[7]!) - m[1]! * (m[3]! * m[8]! - m[5]! * m[6]!) + m[2]! * (m[3]! * m[7]! - m[4]! * m[6]!);
  const inv = [
    (m[4]! * m[8]! - m[5]! * m[7]!) / det, (m[2]! * m[7]! - m[1]! * m[8]!) / det, (m[1]! * m[5]! - m[2]! * m[4]!) / det,
    (m[5]! * m[6]! - m[3]! * m[8]!) / det, (m[0]! * m[8]! - m[2]! * m[6]!) / det, (m[2]! * m[3]! - m[0]! * m[5]!) / det,
    (m[3]! * m[7]! - m[4]! * m[6]!) / det, (m[1]! * m[6]! - m[0]! * m[7]!) / det, (m[0]! * m[4]! - m[1]! * m[3]!) / det,
  ];
  const toIndex = (x: number, y: number, z: number): [number, number, number] => {
    // LPS to RAS: negate x and y
    const R = [-x - a[3]!, -y - b[3]!, z - c[3]!];
    return [
      inv[0]! * R[0]! + inv[1]! * R[1]! + inv[2]! * R[2]!,
      inv[3]! * R[0]! + inv[4]! * R[1]! + inv[5]! * R[2]!,
      inv[6]! * R[0]! + inv[7]! * R[1]! + inv[8]! * R[2]!,
    ];
  };
  return { ref, toIndex };
}

/** LPS position (mm) of voxel (i, j, k) of a volume. */
function worldOf(v: Volume, i: number, j: number, k: number): [number, number, number] {
  const d = v.direction;
  const s = v.spacing;
  return [
    v.origin[0] + d[0] * s[0] * i + d[3] * s[1] * j + d[6] * s[2] * k,
    v.origin[1] + d[1] * s[0] * i + d[4] * s[1] * j + d[7] * s[2] * k,
    v.origin[2] + d[2] * s[0] * i + d[5] * s[1] * j + d[8] * s[2] * k,
  ];
}

/**
 * README "How to compare", method 1: map every voxel of our volume to LPS, then to RAS, then through the inverse
 * of the reference sform; the index must be an integer (to 1e-2 voxel) inside the reference, and the stored values
 * equal. Returns the number of voxels compared (all of ours) and mismatches.
 */
function compareWorld(ours: Volume, refPath: string): { compared: number; offGrid: number; outside: number; different: number } {
  const { ref, toIndex } = niftiReference(refPath);
  const [nx, ny, nz] = ours.dims;
  const [rx, ry, rz] = ref.dims;
  let offGrid = 0, outside = 0, different = 0, compared = 0;
  for (let k = 0; k < nz; k++) for (let j = 0; j < ny; j++) for (let i = 0; i < nx; i++) {
    const [fi, fj, fk] = toIndex(...worldOf(ours, i, j, k));
    const ri = Math.round(fi), rj = Math.round(fj), rk = Math.round(fk);
    compared++;
    // 1e-2 voxel: the sform is stored as float32 (7 digits) and IPP as decimal strings.
    if (Math.abs(fi - ri) > 1e-2 || Math.abs(fj - rj) > 1e-2 || Math.abs(fk - rk) > 1e-2) { offGrid++; continue; }
    if (ri < 0 || rj < 0 || rk < 0 || ri >= rx || rj >= ry || rk >= rz) { outside++; continue; }
    if (ours.data[i + nx * (j + ny * k)] !== ref.data[ri + rx * (rj + ry * rk)]) different++;
  }
  expect(nx * ny * nz).toBe(rx * ry * rz);
  return { compared, offGrid, outside, different };
}

async function scan(...rel: string[]): Promise<ScanResult> {
  return scanDicomPaths(rel.map((r) => fixture(r)));
}

const exact = { offGrid: 0, outside: 0, different: 0 };

describe('volumes match the dcm2niix reference NIfTIs in world space, voxel by voxel', () => {
  it.each([1, 2, 3, 4, 5, 6, 7, 8, 9])('dcm_qa_ts/In/%i.dcm (Siemens mosaic, 35 slices) vs ALL_1-9.nii.gz', async (n) => {
    const s = await scan(`dcm_qa_ts/In/${n}.dcm`);
    expect(s.groups).toHaveLength(1);
    const { volume } = await loadVolume(s.groups[0]!, s.sources);
    expect(volume.dims).toEqual([64, 64, 35]);
    expect(compareWorld(volume, 'dcm_qa_ts/Ref/ALL_1-9.nii.gz')).toMatchObject({ compared: 64 * 64 * 35, ...exact });
  });

  it.each([
    ['dcm_qa_12bit/In/12bitUnsigned_0x0F0F.dcm', 'dcm_qa_12bit/Ref/3.nii.gz'],
    ['dcm_qa_12bit/In/12bitSigned_0x0F0F.dcm', 'dcm_qa_12bit/Ref/4.nii.gz'],
  ])('%s (12-bit mosaic with junk high bits) vs %s', async (input, ref) => {
    const s = await scan(input);
    const { volume } = await loadVolume(s.groups[0]!, s.sources);
    expect(compareWorld(volume, ref)).toMatchObject({ compared: 64 * 64 * 35, ...exact });
  });

  it('Philips Enhanced MR: 64 frames split into 2 stacks of 32 with their own per-frame rescale (e1, e2)', async () => {
    const s = await scan('dcm_qa_enh/In/Philips/IM_0027_fMAP.dcm');
    expect(s.groups).toHaveLength(2);
    const bySlope = new Map(s.groups.map((g) => [g.frames[0]!.rescaleSlope.toFixed(4), g]));
    const e1 = await loadVolume(bySlope.get('1.2799')!, s.sources);
    const e2 = await loadVolume(bySlope.get('0.2442')!, s.sources);
    expect(e1.volume.dims).toEqual([64, 64, 32]);
    expect(compareWorld(e1.volume, 'dcm_qa_enh/Ref/Philips_WIP_B0_NS_801_e1.nii.gz')).toMatchObject({ compared: 64 * 64 * 32, ...exact });
    expect(compareWorld(e2.volume, 'dcm_qa_enh/Ref/Philips_WIP_B0_NS_801_e2_fieldmaphz.nii.gz')).toMatchObject({ compared: 64 * 64 * 32, ...exact });
    // Per-frame Pixel Value Transformation, as listed in reference_pixels.json (frames 0-31 have no intercept).
    const perFrame = readJson<{ per_frame_geometry_IM_0027_fMAP: { RescaleSlope: number; RescaleIntercept: number | null }[] }>(
      'dcm_qa_enh/reference_pixels.json',
    ).per_frame_geometry_IM_0027_fMAP;
    expect(e1.volume.rescale).toEqual({ slope: perFrame[0]!.RescaleSlope, intercept: 0 });
    expect(e2.volume.rescale).toEqual({ slope: perFrame[32]!.RescaleSlope, intercept: perFrame[32]!.RescaleIntercept });
  });

  it('98892001/CT5N (5 axial CT slices) vs dcm2niix', async () => {
    const s = await scan('pydicom/test_files/dicomdirtests/98892001/CT5N');
    expect(s.groups).toHaveLength(1);
    const { volume } = await loadVolume(s.groups[0]!, s.sources);
    expect(volume.rescale).toEqual({ slope: 1, intercept: -1024 });
    expect(compareWorld(volume, 'pydicom/Ref_dcm2niix_dicomdirtests/98892001_CT5N/5_20010101000000_98890234.nii.gz')).toMatchObject({ compared: 16 * 16 * 5, ...exact });
  });

  it('98892003/MR700: 7 radial slices become 7 groups, each equal to its dcm2niix file', async () => {
    const s = await scan('pydicom/test_files/dicomdirtests/98892003/MR700');
    expect(s.groups).toHaveLength(7);
    const sorted = [...s.groups].sort((a, b) => (a.frames[0]!.instanceNumber ?? 0) - (b.frames[0]!.instanceNumber ?? 0));
    for (let i = 0; i < 7; i++) {
      const { volume } = await loadVolume(sorted[i]!, s.sources);
      const ref = `pydicom/Ref_dcm2niix_dicomdirtests/98892003_MR700/700_20030505045357_98890234_i0000${i + 1}.nii.gz`;
      expect(compareWorld(volume, ref)).toMatchObject({ compared: 256, ...exact });
    }
  });
});

interface SeriesGeometryRef {
  n_images: number;
  gaps_mm: number[];
  position_along_normal_mm: number[];
  irregular_spacing?: boolean;
  suspected_missing_slices?: boolean;
  tilt_deg_from_geometry?: number;
  image_orientation_patient: number[];
}

describe('DICOMDIR test tree (pydicom dicomdirtests) and series_geometry.json', () => {
  const geometryRef = readJson<Record<string, SeriesGeometryRef[]>>('pydicom/Ref_dcm2niix_dicomdirtests/series_geometry.json');
  const find = (groups: SeriesGroup[], desc: string) => groups.filter((g) => g.seriesDescription === desc);

  it('the DICOMDIR is followed to its files and every series is grouped as the reference script does', async () => {
    const s = await scan('pydicom/test_files/dicomdirtests/DICOMDIR');
    expect(s.skipped).toEqual([]);
    expect(s.sources.length).toBe(31);
    // the two localizers with different orientations under one series UID come out as 2 groups
    const scouts = find(s.groups, 'Scout');
    expect(scouts).toHaveLength(2);
    expect(new Set(scouts.map((g) => g.seriesInstanceUid)).size).toBe(1);
    // the 7 radial MR slices come out as 7 groups
    expect(find(s.groups, 'ANGIO Projected from   C')).toHaveLength(7);
    // the series with a 202.5 mm gap reports missing slices
    const ct2 = find(s.groups, 'Routine Brain');
    expect(ct2).toHaveLength(1);
    const g = ct2[0]!.geometry;
    const ref = geometryRef['77654033/CT2']![0]!;
    expect(g.missingSlices).toBe(true);
    expect(g.irregularSpacing).toBe(true);
    expect(g.gaps).toEqual(ref.gaps_mm);
    expect(g.slicePositions.map((v) => +v.toFixed(4))).toEqual(ref.position_along_normal_mm);
    expect(g.gantryTiltDeg).toBeCloseTo(ref.tilt_deg_from_geometry!, 6);
    expect(g.warnings.join(' ')).toMatch(/missing slices/);
    // every group of series_geometry.json exists with the same slice count and gaps
    for (const [key, groups] of Object.entries(geometryRef)) {
      for (const r of groups) {
        const match = s.groups.find(
          (x) => x.frames.length === r.n_images && x.frames[0]!.orientation?.every((v, i) => Math.abs(v - r.image_orientation_patient[i]!) < 1e-4)
            && JSON.stringify(x.geometry.gaps) === JSON.stringify(r.gaps_mm),
        );
        expect(match, key).toBeDefined();
      }
    }
  });

  it.each(['DICOMDIR-implicit', 'DICOMDIR-bigEnd', 'DICOMDIR-reordered', 'DICOMDIR-nopatient'])('%s references the same 31 files', async (name) => {
    const s = await scan(`pydicom/test_files/dicomdirtests/${name}`);
    expect(s.sources.length).toBe(31);
  });

  it('the 202.5 mm gap: spacing "error" throws DICOM_GEOMETRY, "report" keeps the slices, "resample" evens them', async () => {
    const s = await scan('pydicom/test_files/dicomdirtests/77654033/CT2');
    const g = s.groups[0]!;
    await expect(loadVolume(g, s.sources)).rejects.toSatisfy((e) => isPhysiotwinError(e, 'DICOM_GEOMETRY'));
    const rep = await loadVolume(g, s.sources, { spacing: 'report' });
    expect(rep.volume.dims).toEqual([16, 16, 4]);
    expect(rep.geometry.slicePositions.map((v) => +v.toFixed(4))).toEqual([-99.48, 103.02, 104.27, 105.52]);
    expect(rep.geometry.warnings.join(' ')).toMatch(/median gap/);
    // README method 2 (index mapping) for the raw stack: NIfTI v[i, j, k] == slice_k[rows-1-j, i].
    const ref = readNifti(new Uint8Array(readFileSync(fixture('pydicom/Ref_dcm2niix_dicomdirtests/77654033_CT2/2_19950903173032_77654033.nii.gz'))));
    let diff = 0;
    for (let k = 0; k < 4; k++) for (let j = 0; j < 16; j++) for (let i = 0; i < 16; i++) {
      if (ref.data[i + 16 * (j + 16 * k)] !== rep.volume.data[i + 16 * (15 - j + 16 * k)]) diff++;
    }
    expect(diff).toBe(0);
    const res = await loadVolume(g, s.sources, { spacing: 'resample' });
    // (105.52 - -99.48) / 1.25 + 1 = 165 slices; first and last are the original slices.
    expect(res.volume.dims).toEqual([16, 16, 165]);
    expect(res.volume.spacing[2]).toBeCloseTo(1.25, 9);
    expect(Array.from(res.volume.data.subarray(0, 256))).toEqual(Array.from(rep.volume.data.subarray(0, 256)));
    expect(Array.from(res.volume.data.subarray(164 * 256))).toEqual(Array.from(rep.volume.data.subarray(3 * 256)));
  });
});

describe('multi-frame geometry against the references', () => {
  it('CT0012 Enhanced CT (2 frames, JPEG-LS, no BOT): per-frame positions sorted along the normal, 10 mm apart', async () => {
    const s = await scan('dicomParser/encapsulated/multi-frame/CT0012.fragmented_no_bot_jpeg_ls.80.dcm');
    expect(s.groups).toHaveLength(1);
    const ref = readJson<{ truth_from_uncompressed_originals: Record<string, { per_frame_geometry: { ImagePositionPatient: number[]; RescaleIntercept: number }[] }> }>(
      'dicomParser/reference_pixels.json',
    );
    const frames = Object.entries(ref.truth_from_uncompressed_originals).find(([k]) => k.startsWith('CT0012'))![1].per_frame_geometry;
    const g = s.groups[0]!.geometry;
    // IOP (-1,0,0 / 0,1,0): normal (0,0,-1), so the sorted order is by descending z
    const expected = frames.map((f) => f.ImagePositionPatient).sort((a, b) => b[2]! - a[2]!);
    expect(g.imagePositions).toEqual(expected);
    expect(g.gaps).toEqual([10]);
    const { volume } = await loadVolume(s.groups[0]!, s.sources);
    expect(volume.rescale).toEqual({ slope: 1, intercept: frames[0]!.RescaleIntercept });
    expect(volume.origin).toEqual(expected[0]);
  });

  it('RT Dose: frame positions from GridFrameOffsetVector, 5 mm apart (reference_multiframe_geometry.json)', async () => {
    const s = await scan('pydicom/test_files/rtdose.dcm');
    const ref = readJson<Record<string, { ImagePositionPatient: number[]; GridFrameOffsetVector: number[]; PixelSpacing: number[] }>>('pydicom/reference_multiframe_geometry.json')['test_files/rtdose.dcm']!;
    const g = s.groups[0]!.geometry;
    expect(g.sliceCount).toBe(15);
    expect(g.imagePositions.map((p) => p[2])).toEqual(ref.GridFrameOffsetVector.map((o) => ref.ImagePositionPatient[2]! + o));
    expect(g.spacing).toEqual([ref.PixelSpacing[1], ref.PixelSpacing[0], 5]);
  });

  it('emri_small (Enhanced MR without functional groups): 10 frames stacked in order, voxels equal dcm2niix', async () => {
    const s = await scan('pydicom/pydicom-data/emri_small.dcm');
    const { volume, geometry } = await loadVolume(s.groups[0]!, s.sources);
    expect(geometry.hasPositions).toBe(false);
    expect(geometry.warnings.join(' ')).toMatch(/positions synthetic/);
    const ref = readNifti(new Uint8Array(readFileSync(fixture('pydicom/Ref_dcm2niix_emri_small/emri_small.nii.gz'))));
    expect(ref.dims).toEqual([64, 64, 10]);
    // Without geometry dcm2niix writes the frames as stored (no row flip; its sform is a default), so the
    // voxel blocks must be identical.
    expect(Array.from(volume.data)).toEqual(Array.from(ref.data));
  });
});

describe('gantry-tilted CT (physiotwin_tilt: writeDicom series, dcm2niix v1.0.20220720 reference)', () => {
  const dir = 'physiotwin_tilt/dicom';
  const t = (TILT.TILT_DEG * Math.PI) / 180;
  // Error bound of a tilt-corrected voxel against the phantom itself. The correction shifts each slice along its
  // column axis (0, cos t, -sin t) and interpolates linearly between two rows of rounded samples: at most
  // h^2/8 * max|f''| along that axis (h = the 2 mm row spacing), plus 0.5 for the rounded source samples (a convex
  // combination keeps their error) and 0.5 for rounding the result. For the phantom, f_yz = 0, |f_yy| <= 300/11^2,
  // |f_zz| <= 200/13^2.
  const fpp = (300 / 121) * Math.cos(t) ** 2 + (200 / 169) * Math.sin(t) ** 2;
  const phantomBound = (TILT.PIXEL_MM ** 2 / 8) * fpp + 1;

  it('gantryTiltDeg is the 17 degrees the series was written with (and dcm2niix estimated)', async () => {
    const s = await scan(dir);
    expect(s.groups).toHaveLength(1);
    // IOP and IPP are written with 10 significant digits: the angle is exact to far below 1e-5 degrees
    expect(s.groups[0]!.geometry.gantryTiltDeg).toBeCloseTo(17, 5);
    expect(readFileSync(fixture('physiotwin_tilt/dcm2niix/dcm2niix.log'), 'utf8')).toMatch(/estimated from slice vector 17\b/);
  });

  it('uncorrected: every voxel sits where the generator put its pixel, with its value; stacked as dcm2niix stacks it', async () => {
    const s = await scan(dir);
    const { volume } = await loadVolume(s.groups[0]!, s.sources);
    const { ROWS, COLS, SLICES } = TILT;
    expect(volume.dims).toEqual([COLS, ROWS, SLICES]);
    const { ref } = niftiReference('physiotwin_tilt/dcm2niix/tilt_ct.nii');
    let maxMm = 0, wrongValue = 0, unlikeDcm2niix = 0;
    for (let k = 0; k < SLICES; k++) for (let r = 0; r < ROWS; r++) for (let c = 0; c < COLS; c++) {
      const p = worldOf(volume, c, r, k);
      const q = TILT.pixelPosition(k, r, c);
      maxMm = Math.max(maxMm, Math.hypot(p[0] - q[0], p[1] - q[1], p[2] - q[2]));
      const v = volume.data[c + COLS * (r + ROWS * k)]!;
      if (v !== Math.round(TILT.phantom(...q))) wrongValue++;
      // README "How to compare", method 2: dcm2niix writes rows bottom-up
      if (v !== ref.data[c + COLS * (ROWS - 1 - r + ROWS * k)]) unlikeDcm2niix++;
    }
    // sheared direction matrix from the sorted slice origins: positions exact to the 10 digits of IPP/IOP
    expect(maxMm).toBeLessThan(1e-6);
    expect({ wrongValue, unlikeDcm2niix }).toEqual({ wrongValue: 0, unlikeDcm2niix: 0 });
  });

  it('tiltCorrect equals dcm2niix _Tilt_1 in world space, and the phantom within its bound', async () => {
    const s = await scan(dir);
    const { volume, geometry } = await loadVolume(s.groups[0]!, s.sources, { tiltCorrect: true });
    const { ROWS, COLS } = TILT;
    const row = [1, 0, 0];
    const n = geometry.sliceNormal;
    const col = TILT.orientation().slice(3);
    const { ref, toIndex } = niftiReference('physiotwin_tilt/dcm2niix/tilt_ct_Tilt_1.nii');
    const [nx, ny, nz] = volume.dims;
    let interior = 0, offGrid = 0, outside = 0, offPlane = 0, unlikeDcm2niix = 0, maxPhantomErr = 0;
    for (let k = 0; k < nz; k++) for (let j = 0; j < ny; j++) for (let i = 0; i < nx; i++) {
      const p = worldOf(volume, i, j, k);
      // where voxel (i, j, k) lies in source slice k: it must lie in that slice's plane (the point of the correction)
      const o = TILT.pixelPosition(k, 0, 0);
      const rel = [p[0] - o[0], p[1] - o[1], p[2] - o[2]];
      const dotv = (u: number[]) => rel[0]! * u[0]! + rel[1]! * u[1]! + rel[2]! * u[2]!;
      if (Math.abs(dotv(n)) > 1e-6) offPlane++;
      const srcRow = dotv(col) / TILT.PIXEL_MM;
      const srcCol = dotv(row) / TILT.PIXEL_MM;
      // compare only voxels interpolated from samples inside the slice (edges take each tool's own fill value)
      if (srcRow < 0 || srcRow > ROWS - 1 || srcCol < 0 || srcCol > COLS - 1) continue;
      interior++;
      const v = volume.data[i + nx * (j + ny * k)]!;
      maxPhantomErr = Math.max(maxPhantomErr, Math.abs(v - TILT.phantom(...p)));
      const [fi, fj, fk] = toIndex(...p);
      const ri = Math.round(fi), rj = Math.round(fj), rk = Math.round(fk);
      // 1e-2 voxel: the sform is float32
      if (Math.abs(fi - ri) > 1e-2 || Math.abs(fj - rj) > 1e-2 || Math.abs(fk - rk) > 1e-2) { offGrid++; continue; }
      if (ri < 0 || rj < 0 || rk < 0 || ri >= ref.dims[0] || rj >= ref.dims[1] || rk >= ref.dims[2]) { outside++; continue; }
      // both tools interpolate linearly between the same two rows and round: equal on every voxel of this
      // fixture (a result within float error of .5 could in principle round either way; none does here)
      if (v !== ref.data[ri + ref.dims[0] * (rj + ref.dims[1] * rk)]!) unlikeDcm2niix++;
    }
    expect(geometry.warnings.join(' ')).toMatch(/gantry tilt of 17\.000 degrees corrected/);
    // k along the slice normal (0, sin t, cos t), one slice distance apart; IOP has 10 significant digits
    [0, Math.sin(t), Math.cos(t)].forEach((x, a) => expect(volume.direction[6 + a]).toBeCloseTo(x, 9));
    expect(volume.spacing[2]).toBeCloseTo(TILT.TABLE_STEP_MM * Math.cos(t), 9);
    // the shift is at most 11 * 2.5 * sin(17 deg) = 8.0 mm = 4 rows: most voxels are interior
    expect(interior).toBeGreaterThan(0.85 * nx * ny * nz);
    expect({ offPlane, offGrid, outside, unlikeDcm2niix }).toEqual({ offPlane: 0, offGrid: 0, outside: 0, unlikeDcm2niix: 0 });
    expect(maxPhantomErr).toBeLessThanOrEqual(phantomBound);
  });
});

describe('large stacks with a shared reader: what loadVolume does with the other thread (a stub reader)', () => {
  // 32 slices of 512 x 512 int16 = 16 MiB: at the shared-read threshold
  const [NX, NY, NZ] = [512, 512, 32];
  const SLICE = NX * NY;
  /** Pixel i of slice k (16 bits stored: the volume holds it as is). */
  const value = (k: number, i: number) => ((k * 1009 + i * 7) % 60000) - 30000;

  /**
   * A reader whose "other thread" takes the reads in `otherTakes` (claim() skips them) and does them in settle(),
   * except `failing`, which it reports; `died` reports every read, as a reader whose thread died mid-job must.
   * Records claims made here, stop() and settle() calls, and when settle() finished.
   */
  function stubReader(o: { otherTakes: Set<number>; failing?: number[]; died?: boolean }) {
    const log = { claimedHere: [] as number[], calls: [] as string[] };
    const reader: SharedReader = {
      allocate: (n) => new SharedArrayBuffer(n),
      share: (buffer: SharedArrayBuffer, reads: SharedRead[]) => {
        let next = 0;
        const failing = new Set(o.failing ?? []);
        return {
          claim: () => {
            while (next < reads.length && o.otherTakes.has(next)) next++;
            if (next < reads.length) log.claimedHere.push(next);
            return next++;
          },
          stop: () => {
            log.calls.push('stop');
            next = reads.length;
          },
          settle: async () => {
            log.calls.push('settle');
            await new Promise((r) => setTimeout(r, 20));
            for (const i of o.otherTakes) {
              const r = reads[i]!;
              if (!o.died && !failing.has(i)) r.source.readIntoSync!(r.position, new Uint8Array(buffer, r.byteOffset, r.length));
            }
            log.calls.push('settled');
            return o.died ? reads.map((_, i) => i) : [...failing];
          },
        };
      },
    };
    return { reader, log };
  }

  /** In-memory slices with synchronous reads; `broken` slices' reads throw DICOM_TRUNCATED as a cut file's do. */
  async function stack(reader: SharedReader, broken: number[] = []): Promise<ScanResult> {
    const sources: DicomSource[] = Array.from({ length: NZ }, (_, k) => {
      const pixels = Int16Array.from({ length: SLICE }, (_, i) => value(k, i));
      const bytes = syntheticSlice({ seriesUid: '1.2.826.0.1.3680043.10.1099.77', instance: k + 1, rows: NY, columns: NX, position: [0, 0, 2 * k], pixels, slope: null });
      const readIntoSync = (position: number, into: Uint8Array) => {
        if (broken.includes(k)) throw new PhysiotwinError('DICOM_TRUNCATED', 'cut', { location: { file: `mem${k}` } });
        into.set(bytes.subarray(position, position + into.length));
      };
      return { name: `mem${k}`, bytes, readIntoSync, readInto: async (p, into) => readIntoSync(p, into), sharedReader: reader };
    });
    return scanDicom(sources, { strict: true });
  }

  /** Index of the first voxel that differs from `value`, -1 when none does. */
  function firstWrong(data: ArrayLike<number>): number {
    for (let k = 0; k < NZ; k++) for (let i = 0; i < SLICE; i++) if (data[k * SLICE + i] !== value(k, i)) return k * SLICE + i;
    return -1;
  }

  const odd = new Set(Array.from({ length: NZ / 2 }, (_, j) => 2 * j + 1));

  it('reads the other thread takes land in the volume; those it reports failed are read here', async () => {
    const { reader, log } = stubReader({ otherTakes: odd, failing: [3, 31] });
    const scan = await stack(reader);
    const { volume } = await loadVolume(scan.groups[0]!, scan.sources);
    expect(volume.data.buffer).toBeInstanceOf(SharedArrayBuffer);
    expect(log.claimedHere).toEqual(Array.from({ length: NZ / 2 }, (_, j) => 2 * j));
    expect(log.calls).toEqual(['settle', 'settled']);
    expect(firstWrong(volume.data)).toBe(-1);
  });

  it('a reader whose thread died reports every read: all are read here, no slice left zero', async () => {
    const { reader } = stubReader({ otherTakes: odd, died: true });
    const scan = await stack(reader);
    const { volume } = await loadVolume(scan.groups[0]!, scan.sources);
    expect(firstWrong(volume.data)).toBe(-1);
  });

  it('a failed read the other thread reports is read again here: its error is the one thrown', async () => {
    const { reader } = stubReader({ otherTakes: odd, failing: [5] });
    const scan = await stack(reader, [5]);
    const err = await loadVolume(scan.groups[0]!, scan.sources).catch((e: unknown) => e);
    expect(isPhysiotwinError(err, 'DICOM_TRUNCATED')).toBe(true);
    expect(JSON.stringify((err as { location?: unknown }).location)).toContain('mem5');
  });

  it('an error here stops the other thread and waits for it to settle before rejecting', async () => {
    const { reader, log } = stubReader({ otherTakes: odd });
    const scan = await stack(reader, [4]);
    const err = await loadVolume(scan.groups[0]!, scan.sources).catch((e: unknown) => {
      log.calls.push('rejected');
      return e;
    });
    expect(isPhysiotwinError(err, 'DICOM_TRUNCATED')).toBe(true);
    expect(log.claimedHere).toEqual([0, 2, 4]);
    expect(log.calls).toEqual(['stop', 'settle', 'settled', 'rejected']);
  });

  it('an abort stops the other thread and waits for it to settle before rejecting with ABORTED', async () => {
    const { reader, log } = stubReader({ otherTakes: odd });
    const scan = await stack(reader);
    const ac = new AbortController();
    const err = await loadVolume(scan.groups[0]!, scan.sources, {
      signal: ac.signal,
      onProgress: (e) => {
        if (e.done === 2) ac.abort();
      },
    }).catch((e: unknown) => {
      log.calls.push('rejected');
      return e;
    });
    expect(isPhysiotwinError(err, 'ABORTED')).toBe(true);
    expect(log.claimedHere).toEqual([0, 2, 4]);
    expect(log.calls).toEqual(['stop', 'settle', 'settled', 'rejected']);
  });
});
