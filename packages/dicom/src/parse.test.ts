import { describe, expect, it } from 'vitest';
import { isPhysiotwinError } from '@physiotwin/core';
import { TS, parseDicom } from './parse.js';
import { isDicomdir, readDicomdir } from './dicomdir.js';
import { writeDicom } from './write.js';
import { readFixture } from './test-util.js';

const parse = (rel: string) => parseDicom(readFixture(rel), { source: rel });

describe('parseDicom', () => {
  it('reads the transfer syntax of every encoding of MR_small, including explicit big endian and implicit', () => {
    expect(parse('pydicom/test_files/MR_small.dcm').transferSyntaxUid).toBe(TS.explicitLE);
    expect(parse('pydicom/test_files/MR_small_implicit.dcm').transferSyntaxUid).toBe(TS.implicitLE);
    expect(parse('pydicom/test_files/MR_small_bigendian.dcm').transferSyntaxUid).toBe(TS.explicitBE);
    const be = parse('pydicom/test_files/MR_small_bigendian.dcm').dataset;
    expect(be.number('x00280010', 'US')).toBe(64);
    expect(be.numbers('x00280030')).toEqual([0.3125, 0.3125]);
  });

  it('files without preamble or meta header: explicit LE and BE are detected from the first element', () => {
    for (const [name, ts] of [['ExplVR_LitEndNoMeta.dcm', TS.explicitLE], ['ExplVR_BigEndNoMeta.dcm', TS.explicitBE]] as const) {
      const f = parse(`pydicom/test_files/${name}`);
      expect(f.hasMetaHeader).toBe(false);
      expect(f.transferSyntaxUid).toBe(ts);
      expect(f.dataset.string('x00080060')).toBe('RTPLAN');
      expect(f.dataset.string('x00080016')).toBe('1.2.840.10008.5.1.4.1.1.481.8'); // reference_pixels.json SOPClassUID
      expect(f.warnings[0]).toMatch(/no Part 10 meta header/);
    }
  });

  it('a meta header without TransferSyntaxUID: the syntax is detected and a warning says so', () => {
    const f = parse('pydicom/test_files/meta_missing_tsyntax.dcm');
    expect(f.transferSyntaxUid).toBe(TS.implicitLE);
    expect(f.warnings[0]).toMatch(/no TransferSyntaxUID/);
  });

  it('a deflated data set is inflated (fflate, works in browsers too)', () => {
    const f = parse('pydicom/test_files/image_dfl.dcm');
    expect(f.transferSyntaxUid).toBe(TS.deflatedLE);
    expect(f.dataset.number('x00280010', 'US')).toBe(512);
    expect(f.dataset.element('x7fe00010')!.length).toBe(512 * 512);
  });

  it('undefined-length UN sequence, private sequences of defined length in implicit VR, nested private sequences', () => {
    const un = parse('pydicom/test_files/UN_sequence.dcm').dataset.items('x4453100c');
    expect(un).toHaveLength(1);
    expect(un[0]!.has('x0020000d')).toBe(true);
    const priv = parse('pydicom/test_files/priv_SQ.dcm').dataset;
    expect(priv.string('x3f030010')).toBeDefined();
    const items = priv.items('x3f031001');
    expect(items).toHaveLength(1);
    expect(items[0]!.has('x3f031004')).toBe(true);
    const nested = parse('pydicom/test_files/nested_priv_SQ.dcm').dataset.items('x00010001');
    expect(nested).toHaveLength(1);
    // three levels of (0001,0001) private sequences, the innermost item holding (0001,0001) again
    const inner = nested[0]!.items('x00010001');
    expect(inner).toHaveLength(1);
    expect(nested[0]!.has('x00010002')).toBe(true);
  });

  it('DICOMDIR records: explicit, implicit and big-endian variants list the same files, order-independent', () => {
    const ref = readDicomdir(parse('pydicom/test_files/dicomdirtests/DICOMDIR'));
    const images = (r: ReturnType<typeof readDicomdir>) => r.filter((x) => x.fileId).map((x) => x.fileId!.join('/')).sort();
    expect(images(ref)).toHaveLength(31);
    for (const v of ['DICOMDIR-implicit', 'DICOMDIR-bigEnd', 'DICOMDIR-reordered']) {
      const f = parse(`pydicom/test_files/dicomdirtests/${v}`);
      expect(isDicomdir(f)).toBe(true);
      expect(images(readDicomdir(f))).toEqual(images(ref));
    }
    const empty = parse('pydicom/test_files/dicomdirtests/DICOMDIR-empty.dcm');
    expect(empty.meta.string('x00020002')).toBe('1.2.840.10008.1.3.10'); // Media Storage Directory Storage
    expect(isDicomdir(empty)).toBe(true);
    expect(readDicomdir(empty)).toEqual([]);
  });

  it('truncated or malformed inputs give typed errors naming the file', () => {
    const err = (bytes: Uint8Array) => {
      try {
        parseDicom(bytes, { source: 'x.dcm' });
      } catch (e) {
        return e;
      }
      return undefined;
    };
    expect(isPhysiotwinError(err(readFixture('pydicom/test_files/MR_truncated.dcm')), 'DICOM_TRUNCATED')).toBe(true);
    expect(isPhysiotwinError(err(new Uint8Array(3)), 'DICOM_TRUNCATED')).toBe(true);
    // not DICOM at all (a README), and no_meta.dcm which starts one byte into an element (fixtures README)
    expect(isPhysiotwinError(err(new TextEncoder().encode('# A README, not a DICOM file\n')), 'DICOM_INVALID')).toBe(true);
    expect(isPhysiotwinError(err(readFixture('pydicom/test_files/no_meta.dcm')), 'DICOM_INVALID')).toBe(true);
    const e = err(readFixture('pydicom/test_files/dicomdirtests/DICOMDIR-nooffset'));
    expect(isPhysiotwinError(e, 'DICOM_TRUNCATED')).toBe(true);
    expect((e as Error).message).toMatch(/x\.dcm/);
  });

  it('writeDicom round-trips through parseDicom (explicit and implicit VR)', () => {
    for (const ts of [TS.explicitLE, TS.implicitLE] as const) {
      const bytes = writeDicom(
        [
          { tag: 0x00080016, vr: 'UI', value: '1.2.840.10008.5.1.4.1.1.2' },
          { tag: 0x00080018, vr: 'UI', value: '1.2.3' },
          { tag: 0x00200032, vr: 'DS', value: [1.5, -2, 3.25] },
          { tag: 0x00280010, vr: 'US', value: 2 },
          { tag: 0x7fe00010, vr: 'OW', value: new Int16Array([1, -2, 3, -4]) },
        ],
        { transferSyntaxUid: ts },
      );
      const f = parseDicom(bytes);
      expect(f.transferSyntaxUid).toBe(ts);
      expect(f.dataset.numbers('x00200032')).toEqual([1.5, -2, 3.25]);
      expect(f.dataset.number('x00280010', 'US')).toBe(2);
      expect(Array.from(new Int16Array(f.dataset.bytes('x7fe00010')!.slice().buffer))).toEqual([1, -2, 3, -4]);
    }
  });
});
