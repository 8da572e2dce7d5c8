import { dtypeOf } from '@physiotwin/core';
import { describe, expect, it } from 'vitest';
import { DTYPES, bytesOf, fixture, randomVolume } from '../test-support/volumes.js';
import { parseMetaImageHeader, readMetaImage, readNifti, readVolume, writeMetaImage, writeNifti } from './index.js';

const text = (s: string) => new TextEncoder().encode(s);
const join = (...parts: Uint8Array[]) => {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
};

describe('MetaImage round trips (exact: numbers are written in shortest round-trip form)', () => {
  const variants = [
    { name: '.mha', compress: false, separate: false },
    { name: '.mha compressed', compress: true, separate: false },
    { name: '.mhd + .raw', compress: false, separate: true },
    { name: '.mhd + .zraw', compress: true, separate: true },
  ];
  for (const dtype of DTYPES) {
    for (const variant of variants) {
      it(`${dtype} ${variant.name}`, () => {
        const v = randomVolume(dtype, 100 + DTYPES.indexOf(dtype), { rescale: { slope: 0.1, intercept: -1024.3 } });
        const dataFileName = variant.separate ? 'vol.raw' : undefined;
        const { header, data } = writeMetaImage(v, { compress: variant.compress, ...(dataFileName ? { dataFileName } : {}) });
        expect(data === undefined).toBe(!variant.separate);
        const requested: string[] = [];
        const back = readMetaImage(header, {
          readDataFile: (name) => {
            requested.push(name);
            return data!;
          },
        });
        expect(requested).toEqual(variant.separate ? ['vol.raw'] : []);
        expect(dtypeOf(back.data)).toBe(dtype);
        expect(Buffer.from(bytesOf(back)).equals(Buffer.from(bytesOf(v)))).toBe(true);
        expect(back.dims).toEqual(v.dims);
        expect(back.spacing).toEqual(v.spacing);
        expect(back.origin).toEqual(v.origin);
        expect(back.direction).toEqual(v.direction);
        expect(back.rescale).toEqual(v.rescale);
        expect(back.components).toBe(1);
      });
    }
  }

  it('channels: ElementNumberOfChannels <-> components, interleaved', () => {
    const v = randomVolume('uint8', 120, { components: 3 });
    const { header } = writeMetaImage(v, { compress: true });
    expect(parseMetaImageHeader(header).fields.get('ElementNumberOfChannels')).toBe('3');
    const back = readMetaImage(header);
    expect(back.components).toBe(3);
    expect(Buffer.from(bytesOf(back)).equals(Buffer.from(bytesOf(v)))).toBe(true);
  });

  it('the written .mhd data is a copy, not a view of the volume', () => {
    const v = randomVolume('int16', 121);
    const { data } = writeMetaImage(v, { dataFileName: 'x.raw' });
    expect(data!.buffer).not.toBe(v.data.buffer);
  });
});

describe('MetaImage reading', () => {
  it('aorta.mha (fixtures/mesh/README.md): dims, spacing, Offset, direction diag(-1, -1, 1), values', () => {
    const v = readMetaImage(fixture('fixtures/mesh/vmtk-aorta/aorta.mha'), { name: 'aorta.mha' });
    expect(v.dims).toEqual([157, 393, 34]);
    expect(v.spacing).toEqual([0.878906, 0.878906, 1.50009]);
    expect(v.origin).toEqual([-156.445, -24.6094, 0]);
    expect(v.direction).toEqual([-1, 0, 0, 0, -1, 0, 0, 0, 1]);
    expect(dtypeOf(v.data)).toBe('float32');
    expect(v.rescale).toBeUndefined();
    let min = Infinity;
    let max = -Infinity;
    for (const x of v.data) {
      min = Math.min(min, x);
      max = Math.max(max, x);
    }
    // README: values 0..2570 (rounded to integers); the lumen about 1680..1760 around VMTK's aorta seed [71, 213, 16].
    expect(min).toBe(0);
    expect(Math.round(max)).toBe(2570);
    const at = (i: number, j: number, k: number) => v.data[i + 157 * (j + 393 * k)]!;
    expect(at(71, 213, 16)).toBeGreaterThan(1600);
    expect(at(71, 213, 16)).toBeLessThan(1800);
  });

  it('TransformMatrix lists the i axis first (ITK MetaImageIO: axis a = elements 3a..3a+2), i.e. column-major', () => {
    // A 90 degree rotation about z: the i axis points along +y (LPS), the j axis along -x.
    const header = 'ObjectType = Image\nNDims = 3\nDimSize = 2 1 1\nTransformMatrix = 0 1 0 -1 0 0 0 0 1\nOffset = 10 20 30\nElementSpacing = 2 3 4\nElementType = MET_UCHAR\nElementDataFile = LOCAL\n';
    const v = readMetaImage(join(text(header), new Uint8Array([5, 6])));
    expect(v.direction).toEqual([0, 1, 0, -1, 0, 0, 0, 0, 1]);
    // Voxel (1, 0, 0) sits at origin + 2 mm along +y.
    const world = [0, 1, 2].map((r) => v.origin[r]! + v.direction[r]! * v.spacing[0]);
    expect(world).toEqual([10, 22, 30]);
    expect(Array.from(v.data)).toEqual([5, 6]);
  });

  it('big-endian data (ElementByteOrderMSB = True and the BinaryDataByteOrderMSB synonym)', () => {
    for (const key of ['ElementByteOrderMSB', 'BinaryDataByteOrderMSB']) {
      const header = `NDims = 3\nDimSize = 2 1 1\nElementType = MET_SHORT\n${key} = True\nElementDataFile = LOCAL\n`;
      const v = readMetaImage(join(text(header), new Uint8Array([0x01, 0x02, 0xff, 0xfe])));
      expect(Array.from(v.data)).toEqual([0x0102, -2]);
    }
    const double = 'NDims = 3\nDimSize = 1 1 1\nElementType = MET_DOUBLE\nElementByteOrderMSB = True\nElementDataFile = LOCAL\n';
    const bytes = new Uint8Array(8);
    new DataView(bytes.buffer).setFloat64(0, -1234.5625, false);
    expect(Array.from(readMetaImage(join(text(double), bytes)).data)).toEqual([-1234.5625]);
  });

  it('2D images become nz = 1, with the 2x2 direction embedded', () => {
    const header = 'ObjectType = Image\r\nNDims = 2\r\nDimSize = 2 2\r\nElementSpacing = 0.5 0.25\r\nOffset = 1 2\r\nTransformMatrix = 0 1 1 0\r\nElementType = MET_USHORT\r\nElementDataFile = LOCAL\r\n';
    const v = readMetaImage(join(text(header), new Uint8Array(new Uint16Array([1, 2, 3, 65535]).buffer)));
    expect(v.dims).toEqual([2, 2, 1]);
    expect(v.spacing).toEqual([0.5, 0.25, 1]);
    expect(v.origin).toEqual([1, 2, 0]);
    expect(v.direction).toEqual([0, 1, 0, 1, 0, 0, 0, 0, 1]);
    expect(Array.from(v.data)).toEqual([1, 2, 3, 65535]);
  });

  it('accepts the Origin / Position and ElementSize synonyms; defaults spacing 1, origin 0, identity', () => {
    const base = 'NDims = 3\nDimSize = 1 1 1\nElementType = MET_CHAR\n';
    const a = readMetaImage(join(text(`${base}Position = 1 2 3\nElementSize = 4 5 6\nElementDataFile = LOCAL\n`), new Uint8Array([0xff])));
    expect([a.origin, a.spacing, Array.from(a.data)]).toEqual([[1, 2, 3], [4, 5, 6], [-1]]);
    const b = readMetaImage(join(text(`${base}ElementDataFile = LOCAL\n`), new Uint8Array([7])));
    expect([b.origin, b.spacing, b.direction]).toEqual([[0, 0, 0], [1, 1, 1], [1, 0, 0, 0, 1, 0, 0, 0, 1]]);
  });

  it('.mhd HeaderSize skips bytes of the data file; -1 takes the data from its end', () => {
    const data = new Uint8Array([9, 9, 9, 1, 2]);
    for (const [size, expected] of [['3', [1, 2]], ['-1', [1, 2]], ['1', [9, 9]]] as const) {
      const header = text(`NDims = 3\nDimSize = 2 1 1\nElementType = MET_UCHAR\nHeaderSize = ${size}\nElementDataFile = vol.raw\n`);
      expect(Array.from(readMetaImage(header, { readDataFile: () => data }).data)).toEqual(expected);
    }
  });

  it('parses the header up to ElementDataFile and says where the data starts', () => {
    const h = parseMetaImageHeader(join(text('NDims = 3\n  DimSize =  4 5 6  \nElementDataFile = LOCAL\n'), new Uint8Array([0, 1])));
    expect(h.fields.get('DimSize')).toBe('4 5 6');
    expect(h.dataOffset).toBe(10 + 21 + 24); // the three lines with their newlines
  });

  it('readVolume picks the format from the name, else from the bytes', () => {
    const v = randomVolume('int16', 130);
    const { header } = writeMetaImage(v);
    expect(readVolume(header, { name: 'x.mha' }).dims).toEqual(v.dims);
    expect(readVolume(header, { name: 'no-extension' }).dims).toEqual(v.dims);
  });
});

describe('between formats', () => {
  it('aorta.mha -> NIfTI -> back: voxels bit for bit, geometry rounded to float32', () => {
    const aorta = readMetaImage(fixture('fixtures/mesh/vmtk-aorta/aorta.mha'));
    const back = readNifti(writeNifti(aorta, { gzip: true }));
    expect(Buffer.from(bytesOf(back)).equals(Buffer.from(bytesOf(aorta)))).toBe(true);
    // 0.878906, 1.50009, -156.445, -24.6094 are not float32 numbers: they come back as their float32 roundings.
    expect(back.spacing).toEqual(aorta.spacing.map(Math.fround));
    expect(back.origin).toEqual(aorta.origin.map(Math.fround));
    expect(back.direction.map((x) => x + 0)).toEqual([-1, 0, 0, 0, -1, 0, 0, 0, 1]);
  });

  it('a reference NIfTI -> MetaImage -> back: exact, rescale included', () => {
    const nifti = readNifti(fixture('fixtures/dicom/dcm_qa_enh/Ref/Philips_WIP_B0_NS_801_e2_fieldmaphz.nii.gz'));
    const back = readMetaImage(writeMetaImage(nifti, { compress: true }).header);
    expect(Buffer.from(bytesOf(back)).equals(Buffer.from(bytesOf(nifti)))).toBe(true);
    const plain = (xs: readonly number[]) => xs.map((x) => x + 0); // -0 is written as 0
    expect([back.spacing, back.origin, plain(back.direction), back.rescale]).toEqual([nifti.spacing, nifti.origin, plain(nifti.direction), nifti.rescale]);
  });
});
