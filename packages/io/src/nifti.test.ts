import { DTYPE_BYTES, createVolume, dtypeOf } from '@physiotwin/core';
import type { Mat3, Volume } from '@physiotwin/core';
import { describe, expect, it } from 'vitest';
import { DTYPES, affine, bytesOf, qformDirectionTolerance, randomVolume, rotation } from '../test-support/volumes.js';
import { readNifti, readNiftiHeader, writeNifti } from './index.js';
import { det3 } from './geometry.js';

// Header floats are float32: a value v written and read back differs from v by at most half a float32 ulp,
// |fround(v) - v| <= 2^-24 |v|. Reading rebuilds spacing (column norm) and direction (column / norm) in
// double precision, which adds a few double ulps (< 1e-15 relative) when the affine is formed again.
const F32_HALF_ULP = 2 ** -24;
function expectFloat32Close(actual: number, expected: number, what: string) {
  expect(Math.abs(actual - expected), `${what}: ${actual} vs ${expected}`).toBeLessThanOrEqual((F32_HALF_ULP + 1e-15) * Math.abs(expected));
}
function expectGeometryFloat32(read: Volume, written: Volume) {
  const a = affine(read);
  const b = affine(written);
  for (let r = 0; r < 3; r++) for (let c = 0; c < 4; c++) expectFloat32Close(a[r]![c]!, b[r]![c]!, `affine[${r}][${c}]`);
}
/** Maps -0 to 0 so exact comparisons do not trip on the sign of zero. */
const plain = (xs: readonly number[]) => xs.map((x) => x + 0);

describe('NIfTI round trips', () => {
  for (const dtype of DTYPES) {
    for (const gzip of [false, true]) {
      it(`${dtype}${gzip ? ' gzipped' : ''}: voxels bit for bit, geometry to float32 precision`, () => {
        const v = randomVolume(dtype, 11 + DTYPES.indexOf(dtype));
        const bytes = writeNifti(v, { gzip });
        expect(bytes[0] === 0x1f && bytes[1] === 0x8b).toBe(gzip);
        const back = readNifti(bytes);
        expect(dtypeOf(back.data)).toBe(dtype);
        expect(back.dims).toEqual(v.dims);
        expect(back.components).toBe(1);
        expect(Buffer.from(bytesOf(back)).equals(Buffer.from(bytesOf(v)))).toBe(true);
        expectGeometryFloat32(back, v);
        expect(back.rescale).toBeUndefined();
      });
    }
  }

  it('geometry that float32 holds exactly (flips, a permutation, binary fractions) comes back exactly', () => {
    const direction: Mat3 = [0, -1, 0, 1, 0, 0, 0, 0, -1];
    const v = createVolume({ data: new Int16Array(24), dims: [2, 3, 4], spacing: [0.5, 0.75, 2.5], origin: [-100.25, 30.5, -7.125], direction });
    const back = readNifti(writeNifti(v));
    expect(back.spacing).toEqual(v.spacing);
    expect(plain(back.origin)).toEqual(plain(v.origin));
    expect(plain(back.direction)).toEqual(plain(direction));
  });

  it('rescale goes to scl_slope/scl_inter (float32) and back; no rescale is written as slope 0', () => {
    const v = randomVolume('int16', 3, { rescale: { slope: 0.1, intercept: -1024.3 } });
    const back = readNifti(writeNifti(v));
    expect(back.rescale).toEqual({ slope: Math.fround(0.1), intercept: Math.fround(-1024.3) });
    const exact = randomVolume('uint16', 4, { rescale: { slope: 2, intercept: -1024 } });
    expect(readNifti(writeNifti(exact)).rescale).toEqual({ slope: 2, intercept: -1024 });
    const none = writeNifti(randomVolume('uint8', 5));
    expect(readNiftiHeader(none).sclSlope).toBe(0);
  });

  it('writes sform and qform with code 1, mm units, the description, vox_offset 352', () => {
    const h = readNiftiHeader(writeNifti(randomVolume('float32', 6), { description: 'physiotwin test' }));
    expect(h).toMatchObject({ sformCode: 1, qformCode: 1, xyztUnits: 2, voxOffset: 352, descrip: 'physiotwin test', magic: 'n+1', littleEndian: true });
    expect(h.dim).toEqual([3, 7, 5, 3, 1, 1, 1, 1]);
  });

  it('vector components: dim[5] with intent 1007 (planar in the file), interleaved in the Volume', () => {
    const v = randomVolume('float32', 7, { components: 3 });
    const bytes = writeNifti(v);
    const h = readNiftiHeader(bytes);
    expect(h.dim).toEqual([5, 7, 5, 3, 1, 3, 1, 1]);
    expect(h.intentCode).toBe(1007);
    // The first plane in the file is component 0 of every voxel.
    const stored = new Float32Array(bytes.buffer.slice(352, 352 + 4 * 7 * 5 * 3));
    for (let i = 0; i < stored.length; i++) expect(Object.is(stored[i], v.data[3 * i]) || (isNaN(stored[i]!) && isNaN(v.data[3 * i]!))).toBe(true);
    const back = readNifti(bytes);
    expect(back.components).toBe(3);
    expect(Buffer.from(bytesOf(back)).equals(Buffer.from(bytesOf(v)))).toBe(true);
  });

  it('RGB24 becomes uint8 with 3 interleaved components', () => {
    // An RGB24 file stores r, g, b per voxel: the same bytes as a uint8 image 3x wider.
    const wide = randomVolume('uint8', 8, { components: 3 });
    const bytes = writeNifti(createVolume({ data: wide.data, dims: [21, 5, 3] }));
    const view = new DataView(bytes.buffer);
    view.setInt16(42, 7, true); // dim[1]
    view.setInt16(70, 128, true); // datatype RGB24
    view.setInt16(72, 24, true); // bitpix
    const back = readNifti(bytes);
    expect(back.dims).toEqual([7, 5, 3]);
    expect(back.components).toBe(3);
    expect(Array.from(back.data)).toEqual(Array.from(wide.data));
  });
});

/** Byte-swaps every header field of a little-endian NIfTI-1 file and its voxels: the same image, big-endian. */
function toBigEndian(le: Uint8Array, elementSize: number): Uint8Array {
  const be = le.slice();
  const swap = (offset: number, size: number) => be.subarray(offset, offset + size).reverse();
  const fields: Array<[number, number, number]> = [
    // [offset, size, count]
    [0, 4, 1], [32, 4, 1], [36, 2, 1], [40, 2, 8], [56, 4, 3], [68, 2, 4], [76, 4, 8], [108, 4, 3], [120, 2, 1],
    [124, 4, 4], [140, 4, 2], [252, 2, 2], [256, 4, 18],
  ];
  for (const [offset, size, count] of fields) for (let i = 0; i < count; i++) swap(offset + i * size, size);
  for (let o = 352; o < be.length; o += elementSize) swap(o, elementSize);
  return be;
}

describe('NIfTI byte order', () => {
  for (const dtype of ['int16', 'float64', 'uint32'] as const) {
    it(`reads big-endian ${dtype} files to the same volume`, () => {
      const v = randomVolume(dtype, 21, { rescale: { slope: 0.5, intercept: 3 } });
      const le = writeNifti(v);
      const be = toBigEndian(le, DTYPE_BYTES[dtype]);
      expect(readNiftiHeader(be).littleEndian).toBe(false);
      const a = readNifti(le);
      const b = readNifti(be);
      expect(Buffer.from(bytesOf(b)).equals(Buffer.from(bytesOf(v)))).toBe(true);
      expect(b.spacing).toEqual(a.spacing);
      expect(b.origin).toEqual(a.origin);
      expect(b.direction).toEqual(a.direction);
      expect(b.rescale).toEqual({ slope: 0.5, intercept: 3 });
    });
  }
});

/** Sets sform_code (and optionally qform_code) of a little-endian NIfTI-1 file. */
function withCodes(bytes: Uint8Array, sformCode: number, qformCode?: number): Uint8Array {
  const copy = bytes.slice();
  const view = new DataView(copy.buffer);
  view.setInt16(254, sformCode, true);
  if (qformCode !== undefined) view.setInt16(252, qformCode, true);
  return copy;
}

describe('NIfTI qform', () => {
  // Direction entries from a float32 quaternion: see qformDirectionTolerance (1e-6 away from 180 degrees).
  const QUATERNION_TOL = 1e-6;
  const cases: Array<[string, Mat3]> = [
    ['an oblique rotation', rotation([1, 2, 3], 0.6)],
    ['a reflection (qfac -1)', rotation([3, -1, 2], 2.5).map((x, i) => (i >= 6 ? -x : x)) as Mat3],
    ['a rotation by nearly 180 degrees', rotation([0.2, 1, -0.4], 3.1)],
    ['the aorta direction diag(-1, -1, 1)', [-1, 0, 0, 0, -1, 0, 0, 0, 1]],
  ];
  for (const [name, direction] of cases) {
    it(`with sform_code 0, ${name} comes back from the qform`, () => {
      const v = randomVolume('int16', 31, { direction });
      const bytes = writeNifti(v);
      const tol = qformDirectionTolerance(readNiftiHeader(bytes).quatern);
      const back = readNifti(withCodes(bytes, 0));
      back.direction.forEach((x, i) => expect(Math.abs(x - direction[i]!), `direction[${i}]`).toBeLessThanOrEqual(tol));
      back.spacing.forEach((s, i) => expectFloat32Close(s, v.spacing[i]!, `spacing[${i}]`));
      back.origin.forEach((o, i) => expectFloat32Close(o, v.origin[i]!, `origin[${i}]`));
    });
  }

  it('a sheared direction stays exact (to float32) in the sform; the qform holds its nearest rotation', () => {
    const sheared: Mat3 = [1, 0, 0, 0.2, 1, 0, 0, 0.1, 1];
    const v = randomVolume('float32', 32, { direction: sheared });
    const bytes = writeNifti(v);
    expectGeometryFloat32(readNifti(bytes), v);
    const q = readNifti(withCodes(bytes, 0)).direction;
    // Orthonormal columns, positive determinant, and closer to the sheared matrix than the identity is.
    for (let a = 0; a < 3; a++) {
      for (let b = 0; b < 3; b++) {
        const dot = q[3 * a]! * q[3 * b]! + q[3 * a + 1]! * q[3 * b + 1]! + q[3 * a + 2]! * q[3 * b + 2]!;
        expect(Math.abs(dot - (a === b ? 1 : 0))).toBeLessThan(QUATERNION_TOL);
      }
    }
    expect(det3(q)).toBeGreaterThan(0);
    const dist = (m: readonly number[]) => Math.hypot(...m.map((x, i) => x - sheared[i]!));
    expect(dist(q)).toBeLessThan(dist([1, 0, 0, 0, 1, 0, 0, 0, 1]));
  });

  it('with both codes 0, pixdim scales RAS axes: direction diag(-1, -1, 1), origin 0', () => {
    const v = randomVolume('uint8', 33);
    const back = readNifti(withCodes(writeNifti(v), 0, 0));
    expect(plain(back.direction)).toEqual([-1, 0, 0, 0, -1, 0, 0, 0, 1]);
    back.spacing.forEach((s, i) => expectFloat32Close(s, v.spacing[i]!, `spacing[${i}]`));
    expect(plain(back.origin)).toEqual([0, 0, 0]);
  });
});
