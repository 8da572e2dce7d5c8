import { readFileSync } from 'node:fs';
import { gunzipSync } from 'node:zlib';
import { dtypeOf } from '@physiotwin/core';
import { describe, expect, it } from 'vitest';
import { REPO_ROOT, affine, bytesOf, fixture, qformDirectionTolerance, sha256 } from '../test-support/volumes.js';
import { nearestOrthogonal } from './geometry.js';
import { readNifti, readNiftiHeader } from './index.js';

interface Reference {
  file: string;
  dim: number[];
  datatype: string;
  pixdim: number[];
  scl_slope: number;
  scl_inter: number;
  sform_code: number;
  qform_code: number;
  sform_RAS_mm: number[][];
  sha256_voxel_block_x_fastest_le: string;
  min: number;
  max: number;
  mean: number;
}

// Written by nibabel from dcm2niix's outputs (see fixtures/dicom/README.md), independently of this code.
const summary = JSON.parse(readFileSync(`${REPO_ROOT}fixtures/dicom/nifti_reference_summary.json`, 'utf8')) as { files: Reference[] };

// The summary prints float32 header values rounded to 6 decimals: agreement within 5e-7 (half the last printed
// digit) plus one float32 ulp of the largest entries (|x| < 256: ulp 1.5e-5) is what rounding allows.
const PRINTED_TOL = 5e-7 + 1.6e-5;
const RAS = [-1, -1, 1];

describe('reference NIfTIs in fixtures/dicom', () => {
  it('lists every file', () => expect(summary.files.length).toBe(16));
  for (const ref of summary.files) {
    it(ref.file, () => {
      const bytes = fixture(`fixtures/dicom/${ref.file}`);
      const v = readNifti(bytes, { name: ref.file });
      expect(v.dims).toEqual(ref.dim);
      expect(dtypeOf(v.data)).toBe(ref.datatype);
      expect(v.components).toBe(1);
      expect(v.rescale).toEqual({ slope: ref.scl_slope, intercept: ref.scl_inter });
      expect(sha256(bytesOf(v))).toBe(ref.sha256_voxel_block_x_fastest_le);
      let min = Infinity;
      let max = -Infinity;
      let sum = 0;
      for (const x of v.data) {
        min = Math.min(min, x);
        max = Math.max(max, x);
        sum += x;
      }
      expect([min, max]).toEqual([ref.min, ref.max]);
      expect(Math.abs(sum / v.data.length - ref.mean)).toBeLessThan(1e-6); // mean printed to 6 decimals

      const header = readNiftiHeader(bytes);
      expect([header.sformCode, header.qformCode]).toEqual([ref.sform_code, ref.qform_code]);
      header.srow.forEach((row, r) => row.forEach((x, c) => expect(Math.abs(x - ref.sform_RAS_mm[r]![c]!), `srow[${r}][${c}]`).toBeLessThanOrEqual(PRINTED_TOL)));
      header.pixdim.slice(1, 4).forEach((p, i) => expect(Math.abs(p - ref.pixdim[i]!)).toBeLessThanOrEqual(PRINTED_TOL));

      // The volume's LPS geometry, taken back to RAS, is the sform when sform_code > 0.
      const lps = affine(v);
      if (ref.sform_code > 0) {
        lps.forEach((row, r) => row.forEach((x, c) => expect(Math.abs(RAS[r]! * x - ref.sform_RAS_mm[r]![c]!), `affine[${r}][${c}]`).toBeLessThanOrEqual(PRINTED_TOL)));
      } else {
        // Neither sform nor qform: the standard's method 1, pixdim scaling of RAS axes from the origin.
        expect(v.direction.map((x) => x + 0)).toEqual([-1, 0, 0, 0, -1, 0, 0, 0, 1]);
        v.spacing.forEach((s, i) => expect(Math.abs(s - ref.pixdim[i]!)).toBeLessThanOrEqual(PRINTED_TOL));
        expect(v.origin.map((x) => x + 0)).toEqual([0, 0, 0]);
      }
    });
  }
});

describe('qform agrees with the sform dcm2niix wrote beside it', () => {
  // dcm2niix derives both forms from one matrix; its qform holds the nearest rotation of the sform's direction
  // (DICOM cosines printed to ~6 digits are not quite orthogonal). Comparing our qform decoding with the
  // polar factor of the independent sform checks the quaternion convention and qfac.
  // Tolerance: direction from qformDirectionTolerance (float32 quaternion, worse near 180 degrees), spacing from pixdim vs srow column norms
  // (float32, ~4e-7 relative of ~3 mm), origins ~100 mm in float32 (ulp 7.6e-6 mm).
  for (const ref of summary.files.filter((f) => f.qform_code > 0 && f.sform_code > 0)) {
    it(ref.file, () => {
      const bytes = fixture(`fixtures/dicom/${ref.file}`);
      const fromSform = readNifti(bytes);
      const header = readNiftiHeader(bytes);
      const raw = new Uint8Array(gunzipSync(bytes)); // node:zlib here, independent of the reader's fflate
      new DataView(raw.buffer, raw.byteOffset).setInt16(254, 0, header.littleEndian);
      const fromQform = readNifti(raw);
      const rotation = nearestOrthogonal(fromSform.direction)!;
      const tol = qformDirectionTolerance(header.quatern);
      fromQform.direction.forEach((x, i) => expect(Math.abs(x - rotation[i]!), `direction[${i}]`).toBeLessThanOrEqual(tol));
      fromQform.spacing.forEach((x, i) => expect(Math.abs(x - fromSform.spacing[i]!), `spacing[${i}]`).toBeLessThan(1e-5));
      fromQform.origin.forEach((x, i) => expect(Math.abs(x - fromSform.origin[i]!), `origin[${i}]`).toBeLessThan(1e-4));
    });
  }
});
