import * as zlibNode from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { gzipWithTrailingZeros, zlibWithTrailingZeros } from '../test-support/hostile.js';
import { bytesOf, expectCode, randomVolume } from '../test-support/volumes.js';
import { readMetaImage, readNifti, readNiftiHeader, readVolume, writeMetaImage, writeNifti } from './index.js';

/** Cut points: every byte of the first 400 (header and the start of the data), then a spread up to the end. */
function cutPoints(length: number): number[] {
  const points = new Set<number>();
  for (let i = 0; i < Math.min(400, length); i++) points.add(i);
  for (let i = 400; i < length; i += 37) points.add(i);
  points.add(length - 1);
  return [...points].sort((a, b) => a - b);
}

function patched(bytes: Uint8Array, patch: (view: DataView, bytes: Uint8Array) => void): Uint8Array {
  const copy = bytes.slice();
  patch(new DataView(copy.buffer), copy);
  return copy;
}

describe('NIfTI: bad files give typed errors', () => {
  const volume = randomVolume('int16', 200);
  const nii = writeNifti(volume);
  const niiGz = writeNifti(volume, { gzip: true });

  it(`truncated .nii at every cut point (${cutPoints(nii.length).length} cuts) -> IO_TRUNCATED`, () => {
    for (const cut of cutPoints(nii.length)) expectCode(() => readNifti(nii.subarray(0, cut)), 'IO_TRUNCATED');
  });

  it(`truncated .nii.gz at every cut point (${cutPoints(niiGz.length).length} cuts) -> IO_TRUNCATED`, () => {
    for (const cut of cutPoints(niiGz.length)) expectCode(() => readNifti(niiGz.subarray(0, cut)), 'IO_TRUNCATED');
  });

  it('wrong sizeof_hdr or magic -> IO_INVALID naming the field; NIfTI-2 and .hdr/.img pairs -> IO_UNSUPPORTED', () => {
    expect(expectCode(() => readNifti(patched(nii, (v) => v.setInt32(0, 347, true))), 'IO_INVALID').message).toContain('sizeof_hdr');
    expect(expectCode(() => readNifti(patched(nii, (_, b) => b.set([0x6e, 0x2b, 0x32], 344))), 'IO_INVALID').message).toContain('magic');
    expect(expectCode(() => readNifti(patched(nii, (_, b) => (b[347] = 0x20))), 'IO_INVALID').message).toContain('magic');
    expectCode(() => readNifti(patched(nii, (v) => v.setInt32(0, 540, true))), 'IO_UNSUPPORTED');
    expectCode(() => readNifti(patched(nii, (_, b) => b.set([0x6e, 0x69, 0x31], 344))), 'IO_UNSUPPORTED');
    expectCode(() => readNifti(new TextEncoder().encode('ObjectType = Image\nNDims = 3\n'.repeat(20))), 'IO_INVALID');
  });

  it('absurd dims (the voxel block would exceed the file) -> IO_TRUNCATED before allocating, plain and gzipped', () => {
    const huge = (v: DataView) => [1, 2, 3].forEach((i) => v.setInt16(40 + 2 * i, 32767, true));
    const absurd = patched(nii, huge);
    expect(expectCode(() => readNifti(absurd), 'IO_TRUNCATED').message).toContain('32767x32767x32767');
    // The same file gzipped: deflate cannot expand more than 1032:1, so this is refused up front.
    expect(expectCode(() => readNifti(gzipOf(absurd)), 'IO_TRUNCATED').message).toContain('at most');
  });

  it('dims <= 0, bad dim[0], vox_offset -> IO_INVALID; sform columns of zero length or non-finite -> GEOMETRY_INVALID', () => {
    for (const value of [0, -5]) expect(expectCode(() => readNifti(patched(nii, (v) => v.setInt16(44, value, true))), 'IO_INVALID').message).toContain('dim[2]');
    for (const value of [0, 8, -1]) expect(expectCode(() => readNifti(patched(nii, (v) => v.setInt16(40, value, true))), 'IO_INVALID').message).toContain('dim[0]');
    expect(expectCode(() => readNifti(patched(nii, (v) => v.setFloat32(108, 0, true))), 'IO_INVALID').message).toContain('vox_offset');
    // srow column 1 (the j axis) all zero.
    const degenerate = patched(nii, (v) => [280, 296, 312].forEach((row) => v.setFloat32(row + 4, 0, true)));
    expectCode(() => readNifti(degenerate), 'GEOMETRY_INVALID');
    expect(expectCode(() => readNifti(patched(nii, (v) => v.setFloat32(280, Number.NaN, true))), 'GEOMETRY_INVALID').message).toContain('sform');
  });

  it('non-finite geometry -> GEOMETRY_INVALID: pixdim 3e38 with no qform/sform (voxels at Infinity), NaN/Inf pixdim, qform', () => {
    const noForms = (v: DataView) => (v.setInt16(252, 0, true), v.setInt16(254, 0, true));
    // Issue 11's file: 3e38 is a finite float32, but voxel 7 of dim[1] lies at 2.1e39 mm, Infinity in float32.
    const huge = patched(nii, (v) => (noForms(v), v.setFloat32(80, 3e38, true)));
    expect(expectCode(() => readNifti(huge), 'GEOMETRY_INVALID').message).toMatch(/reaches .* mm/);
    expectCode(() => readNifti(gzipOf(huge)), 'GEOMETRY_INVALID');
    for (const bad of [Number.NaN, Number.POSITIVE_INFINITY]) {
      expect(expectCode(() => readNifti(patched(nii, (v) => (noForms(v), v.setFloat32(84, bad, true)))), 'GEOMETRY_INVALID').message).toContain('pixdim[2]');
    }
    // qform only, with an infinite qoffset.
    const qform = patched(nii, (v) => (v.setInt16(254, 0, true), v.setFloat32(272, Number.NEGATIVE_INFINITY, true)));
    expect(expectCode(() => readNifti(qform), 'GEOMETRY_INVALID').message).toContain('qform');
    // Non-positive pixdim is the standard's "taken as 1", still read.
    expect(readNifti(patched(nii, (v) => (noForms(v), v.setFloat32(80, -2, true)))).spacing[0]).toBe(1);
  });

  it('a 4 MB .nii.gz with 4 GiB of trailing zeros is read at once: decompression stops after the voxel block', () => {
    const bomb = gzipWithTrailingZeros(nii, 4096);
    expect(bomb.length).toBeLessThan(5e6);
    const t0 = performance.now();
    const back = readNifti(bomb);
    const ms = performance.now() - t0;
    expect(Buffer.from(bytesOf(back)).equals(Buffer.from(bytesOf(volume)))).toBe(true);
    // Decompressing all 4 GiB takes tens of seconds; the voxel block and one slice past it take milliseconds.
    expect(ms).toBeLessThan(500);
    // With little trailing data the stream is followed to its end and the (zeroed) footer is checked.
    expectCode(() => readNifti(gzipWithTrailingZeros(nii, 0)), 'IO_TRUNCATED');
  });

  it('a declared size over maxDecodedBytes -> LIMIT_EXCEEDED naming the option, before allocating', () => {
    const big = patched(nii, (v) => [1, 2, 3].forEach((i) => v.setInt16(40 + 2 * i, 1024, true)));
    // 1024^3 int16 = 2 GiB of voxels (+ 352 header bytes): a 2.2 MB gzip of zeros can hold that (deflate's 1032:1),
    // the default limit (2 GiB) cannot.
    const bomb = gzipWithTrailingZeros(big.subarray(0, 352), 2200);
    const e = expectCode(() => readNifti(bomb), 'LIMIT_EXCEEDED');
    expect(e.message).toContain('maxDecodedBytes');
    expect(expectCode(() => readNifti(nii, { maxDecodedBytes: 100 }), 'LIMIT_EXCEEDED').message).toContain('maxDecodedBytes');
    expect(expectCode(() => readNifti(niiGz, { maxDecodedBytes: 100 }), 'LIMIT_EXCEEDED').message).toContain('maxDecodedBytes');
    expect(readNifti(nii, { maxDecodedBytes: bytesOf(volume).length }).dims).toEqual(volume.dims);
  });

  it('unknown datatype -> IO_INVALID; valid but unrepresentable datatypes and 4D -> IO_UNSUPPORTED; bitpix mismatch -> IO_INVALID', () => {
    expect(expectCode(() => readNifti(patched(nii, (v) => v.setInt16(70, 999, true))), 'IO_INVALID').message).toContain('datatype 999');
    expect(expectCode(() => readNifti(patched(nii, (v) => (v.setInt16(70, 1024, true), v.setInt16(72, 64, true)))), 'IO_UNSUPPORTED').message).toContain('INT64');
    expect(expectCode(() => readNifti(patched(nii, (v) => v.setInt16(72, 8, true))), 'IO_INVALID').message).toContain('bitpix');
    const fourD = patched(nii, (v) => (v.setInt16(40, 4, true), v.setInt16(48, 2, true)));
    expect(expectCode(() => readNifti(fourD), 'IO_UNSUPPORTED').message).toContain('dim[4..7]');
  });

  it('corrupt gzip stream -> IO_INVALID', () => {
    // Byte 10 starts the deflate data: 0xff sets BTYPE = 11, a reserved block type.
    expectCode(() => readNifti(patched(niiGz, (_, b) => (b[10] = 0xff))), 'IO_INVALID');
    expectCode(() => readNiftiHeader(patched(niiGz, (_, b) => (b[10] = 0xff))), 'IO_INVALID');
    // A wrong CRC-32 in the footer: the data decompressed is not the data compressed.
    expect(expectCode(() => readNifti(patched(niiGz, (_, b) => (b[b.length - 8]! ^= 1))), 'IO_INVALID').message).toContain('CRC-32');
    // A wrong ISIZE reads as a footer that does not belong to this stream: cut or damaged.
    expectCode(() => readNifti(patched(niiGz, (_, b) => (b[b.length - 1]! ^= 1))), 'IO_TRUNCATED');
  });

  it('a gzip stream that holds more than the voxel block: footers checked when its end is within 1 MiB; every member checked', () => {
    // 200 kB of incompressible bytes after the voxels, inside the stream: followed to the end (cheap), so a wrong
    // CRC-32 or a cut is an error, as for an ordinary .nii.gz
    let x = 5;
    const extra = new Uint8Array(200_000).map(() => ((x = (Math.imul(x, 1664525) + 1013904223) >>> 0), x >>> 24));
    const longer = gzipOf(new Uint8Array(Buffer.concat([nii, extra])));
    expect(Buffer.from(bytesOf(readNifti(longer))).equals(Buffer.from(bytesOf(volume)))).toBe(true);
    expect(expectCode(() => readNifti(patched(longer, (_, b) => (b[b.length - 8]! ^= 1))), 'IO_INVALID').message).toContain('CRC-32');
    expectCode(() => readNifti(longer.subarray(0, longer.length - 4)), 'IO_TRUNCATED');
    // the fuzz's bomb shape with 1 MiB of zeros and a zeroed footer: followed, refused
    expectCode(() => readNifti(gzipWithTrailingZeros(nii, 1)), 'IO_TRUNCATED');
    // two members (concatenated .gz): a wrong CRC-32 in the first is found as the second starts
    const first = gzipOf(nii.subarray(0, 1000));
    const twoMembers = new Uint8Array(Buffer.concat([first, gzipOf(nii.subarray(1000))]));
    expect(Buffer.from(bytesOf(readNifti(twoMembers))).equals(Buffer.from(bytesOf(volume)))).toBe(true);
    expect(expectCode(() => readNifti(patched(twoMembers, (_, b) => (b[first.length - 8]! ^= 1))), 'IO_INVALID').message).toContain('CRC-32');
  });
});

/** gzip with Node's zlib, independent of the reader's fflate, so the header is the only fault. */
function gzipOf(bytes: Uint8Array): Uint8Array {
  return new Uint8Array(zlibNode.gzipSync(bytes));
}

describe('MetaImage: bad files give typed errors', () => {
  const volume = randomVolume('float32', 201);
  const mha = writeMetaImage(volume).header;
  const mhaZ = writeMetaImage(volume, { compress: true }).header;
  const text = (s: string) => new TextEncoder().encode(s);
  const header = (lines: string) => text(`ObjectType = Image\nNDims = 3\n${lines}\n`);

  it(`truncated .mha at every cut point (${cutPoints(mha.length).length} cuts) -> IO_TRUNCATED`, () => {
    for (const cut of cutPoints(mha.length)) {
      if (cut === 0) continue; // an empty file is not a MetaImage at all (checked below)
      expectCode(() => readMetaImage(mha.subarray(0, cut)), 'IO_TRUNCATED');
    }
  });

  it(`truncated compressed .mha at every cut point (${cutPoints(mhaZ.length).length} cuts) -> IO_TRUNCATED`, () => {
    for (const cut of cutPoints(mhaZ.length)) {
      if (cut === 0) continue;
      expectCode(() => readMetaImage(mhaZ.subarray(0, cut)), 'IO_TRUNCATED');
    }
    // Without CompressedDataSize the zlib stream itself runs out.
    const noSize = new TextDecoder('latin1').decode(mhaZ).replace(/CompressedDataSize = \d+\n/, '');
    const bytes = Uint8Array.from(noSize, (c) => c.charCodeAt(0));
    expectCode(() => readMetaImage(bytes.subarray(0, bytes.length - 50)), 'IO_TRUNCATED');
  });

  it('not a MetaImage (binary, empty, lines without "=") -> IO_INVALID or IO_TRUNCATED for empty', () => {
    expectCode(() => readMetaImage(writeNifti(volume)), 'IO_INVALID');
    expectCode(() => readMetaImage(new Uint8Array([0, 1, 2, 0x0a, 3])), 'IO_INVALID');
    expectCode(() => readMetaImage(new Uint8Array(0)), 'IO_TRUNCATED');
    expect(expectCode(() => readMetaImage(header('DimSize 2 2 2\nElementDataFile = LOCAL')), 'IO_INVALID').message).toContain('line 3');
    expectCode(() => readMetaImage(text('ObjectType = Mesh\nNDims = 3\nElementDataFile = LOCAL\n')), 'IO_INVALID');
  });

  it('absurd DimSize -> IO_TRUNCATED before allocating (plain and compressed)', () => {
    const dims = 'DimSize = 100000 100000 100000\nElementType = MET_DOUBLE';
    expectCode(() => readMetaImage(header(`${dims}\nElementDataFile = LOCAL`)), 'IO_TRUNCATED');
    const z = zlibNode.deflateSync(new Uint8Array(1000));
    const compressed = new Uint8Array([...header(`${dims}\nCompressedData = True\nElementDataFile = LOCAL`), ...z]);
    expect(expectCode(() => readMetaImage(compressed), 'IO_TRUNCATED').message).toContain('at most');
  });

  it('bad values name their key -> IO_INVALID', () => {
    const cases: Array<[string, string]> = [
      ['DimSize = 2 0 2\nElementType = MET_UCHAR', 'DimSize'],
      ['DimSize = 2 -1 2\nElementType = MET_UCHAR', 'DimSize'],
      ['DimSize = 2 1.5 2\nElementType = MET_UCHAR', 'DimSize'],
      ['DimSize = 2 2\nElementType = MET_UCHAR', 'DimSize'],
      ['DimSize = 1 1 1\nElementSpacing = a b c\nElementType = MET_UCHAR', 'ElementSpacing'],
      ['DimSize = 1 1 1\nElementType = MET_UCHAR\nCompressedData = maybe', 'CompressedData'],
      ['DimSize = 1 1 1\nTransformMatrix = 1 0 0 0 1 0\nElementType = MET_UCHAR', 'TransformMatrix'],
      ['DimSize = 1 1 1\nElementType = MET_UCHAR\nElementNumberOfChannels = 0', 'ElementNumberOfChannels'],
      ['DimSize = 1 1 1', 'ElementType'],
    ];
    for (const [lines, key] of cases) {
      expect(expectCode(() => readMetaImage(new Uint8Array([...header(`${lines}\nElementDataFile = LOCAL`), 0, 0, 0, 0, 0, 0, 0, 0])), 'IO_INVALID').message).toContain(key);
    }
  });

  it('bad geometry -> GEOMETRY_INVALID naming the key: zero, non-finite or overflowing spacing, origin, matrix', () => {
    const one = (lines: string) => new Uint8Array([...header(`DimSize = 8 8 1\n${lines}\nElementType = MET_UCHAR\nElementDataFile = LOCAL`), ...new Uint8Array(64)]);
    const cases: Array<[string, RegExp]> = [
      ['ElementSpacing = 0 1 1', /spacing/],
      ['TransformMatrix = 1 0 0 1 0 0 0 0 1', /singular/],
      ['ElementSpacing = nan 1 1', /ElementSpacing/],
      ['ElementSpacing = 1 Infinity 1', /ElementSpacing/],
      ['ElementSpacing = 1 1 1e999', /ElementSpacing/],
      ['Offset = 0 -inf 0', /Offset/],
      ['TransformMatrix = 1 0 0 0 NaN 0 0 0 1', /TransformMatrix/],
      ['ElementSpacing = 3e38 1 1', /reaches/],
    ];
    for (const [line, message] of cases) expect(expectCode(() => readMetaImage(one(line)), 'GEOMETRY_INVALID').message).toMatch(message);
    // Text that is not a number stays IO_INVALID.
    expectCode(() => readMetaImage(one('ElementSpacing = 1 x 1')), 'IO_INVALID');
  });

  it('compressed data with 4 GiB of trailing zeros is read at once; declared sizes over maxDecodedBytes are refused', () => {
    const raw = bytesOf(volume);
    const lines = `DimSize = ${volume.dims.join(' ')}\nElementSpacing = 1 1 1\nElementType = MET_FLOAT\nCompressedData = True\nElementDataFile = LOCAL`;
    const bomb = new Uint8Array([...header(lines), ...zlibWithTrailingZeros(raw, 4096)]);
    const t0 = performance.now();
    const back = readMetaImage(bomb);
    expect(performance.now() - t0).toBeLessThan(500);
    expect(Buffer.from(bytesOf(back)).equals(Buffer.from(raw))).toBe(true);
    // 2048^2 x 512 float32 = 8 GiB declared behind 2 MiB of zeros (which could hold 2 GiB): refused before inflating.
    const huge = new Uint8Array([...header('DimSize = 2048 2048 512\nElementType = MET_FLOAT\nCompressedData = True\nElementDataFile = LOCAL'), ...zlibWithTrailingZeros(new Uint8Array(0), 2)]);
    expectCode(() => readMetaImage(huge), 'IO_TRUNCATED');
    // 1024^2 x 513 float32 = 2 GiB + 4 MiB: 2.2 MB of zeros could hold it, the default limit refuses it.
    const fits = new Uint8Array([...header('DimSize = 1024 1024 513\nElementType = MET_FLOAT\nCompressedData = True\nElementDataFile = LOCAL'), ...zlibWithTrailingZeros(new Uint8Array(0), 2200)]);
    expect(expectCode(() => readMetaImage(fits), 'LIMIT_EXCEEDED').message).toContain('maxDecodedBytes');
    expect(expectCode(() => readMetaImage(mha, { maxDecodedBytes: 10 }), 'LIMIT_EXCEEDED').message).toContain('maxDecodedBytes');
  });

  it('an external data file is read only where the header says: a source larger than declared is not read whole', () => {
    const { header: mhd, data } = writeMetaImage(volume, { dataFileName: 'v.raw' });
    const reads: Array<[number, number]> = [];
    const size = 1.9e9; // a 1.9 GB data file behind the header: only the declared bytes are asked for
    const source = {
      size,
      readInto(position: number, target: Uint8Array) {
        reads.push([position, target.length]);
        target.set(data!.subarray(0, target.length));
        return target.length;
      },
    };
    const back = readMetaImage(mhd, { readDataFile: () => source });
    expect(Buffer.from(bytesOf(back)).equals(Buffer.from(data!))).toBe(true);
    expect(reads).toEqual([[0, data!.length]]);
    // HeaderSize = -1: the data are the last bytes of the file.
    reads.length = 0;
    const tail = new TextDecoder().decode(mhd).replace('ElementDataFile', 'HeaderSize = -1\nElementDataFile');
    readMetaImage(text(tail), { readDataFile: () => source });
    expect(reads).toEqual([[size - data!.length, data!.length]]);
    // A name with a NUL is refused before the caller sees it.
    const nul = new TextDecoder().decode(mhd).replace('v.raw', 'v.raw\0x');
    expectCode(() => readMetaImage(text(nul), { readDataFile: () => source }), 'IO_INVALID');
  });

  it('unsupported types and layouts -> IO_UNSUPPORTED; external data without readDataFile -> INVALID_ARGUMENT', () => {
    const one = (lines: string) => new Uint8Array([...header(lines), 0, 0, 0, 0, 0, 0, 0, 0]);
    expect(expectCode(() => readMetaImage(one('DimSize = 1 1 1\nElementType = MET_FOO\nElementDataFile = LOCAL')), 'IO_UNSUPPORTED').message).toContain('MET_FOO');
    expectCode(() => readMetaImage(one('DimSize = 1 1 1\nElementType = MET_LONG_LONG\nElementDataFile = LOCAL')), 'IO_UNSUPPORTED');
    expectCode(() => readMetaImage(one('DimSize = 1 1 1\nElementType = MET_UCHAR\nBinaryData = False\nElementDataFile = LOCAL')), 'IO_UNSUPPORTED');
    expectCode(() => readMetaImage(text('NDims = 4\nDimSize = 1 1 1 1\nElementType = MET_UCHAR\nElementDataFile = LOCAL\n\0')), 'IO_UNSUPPORTED');
    expectCode(() => readMetaImage(one('DimSize = 1 1 1\nElementType = MET_UCHAR\nElementDataFile = LIST'), { readDataFile: () => new Uint8Array(1) }), 'IO_UNSUPPORTED');
    expectCode(() => readMetaImage(one('DimSize = 1 1 1\nElementType = MET_UCHAR\nElementDataFile = slice%03d.raw 1 3 1'), { readDataFile: () => new Uint8Array(1) }), 'IO_UNSUPPORTED');
    expectCode(() => readMetaImage(one('DimSize = 1 1 1\nElementType = MET_UCHAR\nElementDataFile = vol.raw')), 'INVALID_ARGUMENT');
    expectCode(() => readMetaImage(one('DimSize = 4 1 1\nElementType = MET_UCHAR\nElementDataFile = vol.raw'), { readDataFile: () => new Uint8Array(3) }), 'IO_TRUNCATED');
  });

  it('corrupt zlib data -> IO_INVALID', () => {
    const start = new TextDecoder('latin1').decode(mhaZ).indexOf('ElementDataFile = LOCAL\n') + 'ElementDataFile = LOCAL\n'.length;
    expectCode(() => readMetaImage(patched(mhaZ, (_, b) => (b[start] = 0x00))), 'IO_INVALID'); // bad zlib header
    expectCode(() => readMetaImage(patched(mhaZ, (_, b) => (b[start + 2] = 0xff))), 'IO_INVALID'); // reserved block type
    expect(expectCode(() => readMetaImage(patched(mhaZ, (_, b) => (b[b.length - 1]! ^= 1))), 'IO_INVALID').message).toContain('Adler-32');
  });

  it('readVolume: unrecognised bytes and names -> IO_UNSUPPORTED', () => {
    expectCode(() => readVolume(new Uint8Array([1, 2, 3, 4, 5]), { name: 'x.bin' }), 'IO_UNSUPPORTED');
  });
});
