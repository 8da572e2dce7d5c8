import { describe, expect, it } from 'vitest';
import { isPhysiotwinError } from '@physiotwin/core';
import { parseDicom } from './parse.js';
import { decodePixels, ybrFullToRgb, invertMonochrome1 } from './pixels.js';
import { readFixture, readJson, sha256 } from './test-util.js';
import { writeDicom } from './write.js';

interface PixelRef {
  file: string;
  transfer_syntax: string | null;
  sha256_decoded_le?: string;
  sha256_corrected_le?: string;
  sha256_rescaled_int16_le?: string | null;
  decoded_dtype?: string;
  RescaleSlope?: number;
  RescaleIntercept?: number;
  pixel_data?: boolean;
  decode_error?: string;
}

async function decodeFile(rel: string) {
  return decodePixels(parseDicom(readFixture(rel), { source: rel }));
}

/** SHA-256 of round(SV * slope + intercept) as int16 LE: the cornerstone3D pixelDataHash definition. */
function rescaledHash(data: ArrayLike<number>, slope: number, intercept: number): string {
  const out = new Int16Array(data.length);
  for (let i = 0; i < data.length; i++) out[i] = Math.round(data[i]! * slope + intercept);
  return sha256(out);
}

// Files whose reference is not a faithful decode (fixtures/dicom/README.md "Known problems", and the
// notes added there by this package): checked separately below.
const SPECIAL = new Set([
  'dicomParser/encapsulated/multi-frame/CT0012.fragmented_no_bot_jpeg_ls.80.dcm', // GDCM reference wrong
  'cornerstone3D/CTImage.dcm_JPEGProcess14SV1TransferSyntax_1.2.840.10008.1.2.4.70.dcm', // cornerstone hash wrong
  'pydicom/test_files/SC_rgb_jpeg_dcmtk.dcm', // GDCM leaves YBR, libjpeg-turbo converts to RGB
  'pydicom/pydicom-data/JLSL_16_15_1_1F.dcm', // pydicom 2.3.1 does not sign-extend
  'pydicom/test_files/JPEG2000-embedded-sequence-delimiter.dcm', // corrupted SIZ marker
]);

const refs: PixelRef[] = [];
for (const [dir, key] of [
  ['cornerstone3D', 'files'],
  ['dcm_qa_12bit', 'pixel_refs'],
  ['dcm_qa_enh', 'pixel_refs'],
  ['dcm_qa_ts', 'pixel_refs'],
  ['dicomParser', 'gdcm_decodes'],
  ['pydicom', 'files'],
] as const) {
  const json = readJson<Record<string, PixelRef[]>>(`${dir}/reference_pixels.json`);
  for (const r of json[key]!) refs.push({ ...r, file: `${dir}/${r.file}` });
}

describe('decodePixels against reference_pixels.json', () => {
  const withPixels = refs.filter((r) => (r.sha256_corrected_le ?? r.sha256_decoded_le) && !SPECIAL.has(r.file));
  it.each(withPixels.map((r) => [r.file, r] as const))('%s decodes to its sha256', async (_name, ref) => {
    const { data } = await decodeFile(ref.file);
    // dcm_qa_12bit: the *_corrected fields apply PS3.5 8.1.1 (mask, sign-extend); pydicom 2.3.1's raw hash does not.
    expect(sha256(data)).toBe(ref.sha256_corrected_le ?? ref.sha256_decoded_le);
    if (ref.sha256_rescaled_int16_le && ref.RescaleSlope !== undefined) {
      expect(rescaledHash(data, ref.RescaleSlope, ref.RescaleIntercept ?? 0)).toBe(ref.sha256_rescaled_int16_le);
    }
  });

  it('checks every native and RLE file that has a reference hash (none is special-cased)', () => {
    const native = refs.filter(
      (r) => (r.sha256_corrected_le ?? r.sha256_decoded_le) && /^1\.2\.840\.10008\.1\.2(\.1|\.2|\.5|\.1\.99)?$/.test(r.transfer_syntax ?? ''),
    );
    expect(native.filter((r) => SPECIAL.has(r.file))).toEqual([]);
    expect(native).toHaveLength(29);
  });

  it('CT0012 JPEG-LS, fragmented without BOT, matches the uncompressed truth (GDCM reference is wrong)', async () => {
    const truth = readJson<{ truth_from_uncompressed_originals: Record<string, { sha256_decoded_le: string }> }>('dicomParser/reference_pixels.json');
    const ct12 = Object.entries(truth.truth_from_uncompressed_originals).find(([k]) => k.startsWith('CT0012'))![1];
    const { data } = await decodeFile('dicomParser/encapsulated/multi-frame/CT0012.fragmented_no_bot_jpeg_ls.80.dcm');
    expect(sha256(data)).toBe(ct12.sha256_decoded_le);
  });

  it('CTImage JPEG lossless SV1 gives the lossless truth d36b58a8, not cornerstone3D\'s 4343dec9', async () => {
    const j = readJson<{ lossless_truth_sha256_rescaled_int16_le: string; lossless_truth_sha256_decoded_le: string }>('cornerstone3D/reference_pixels.json');
    const { data } = await decodeFile('cornerstone3D/CTImage.dcm_JPEGProcess14SV1TransferSyntax_1.2.840.10008.1.2.4.70.dcm');
    expect(sha256(data)).toBe(j.lossless_truth_sha256_decoded_le);
    expect(rescaledHash(data, 1, -1024)).toBe('d36b58a8274fd5882a3863693bb84d2fb5719fff73c0ee21c98bfcb9abbb05c4');
    expect(data[512 * 512 - 1]).toBe(-2000); // the pixel jpeg-lossless-decoder-js gets wrong
  });

  it('JLSL_16_15_1_1F (BitsStored 15, signed) is sign-extended; its low 15 bits equal the unsigned reference', async () => {
    const ref = refs.find((r) => r.file.endsWith('JLSL_16_15_1_1F.dcm'))!;
    const { data } = await decodeFile(ref.file);
    expect(data).toBeInstanceOf(Int16Array);
    let negatives = 0;
    const low = new Uint16Array(data.length);
    for (let i = 0; i < data.length; i++) {
      if (data[i]! < 0) negatives++;
      low[i] = data[i]! & 0x7fff;
    }
    expect(sha256(low)).toBe(ref.sha256_decoded_le);
    expect(negatives).toBeGreaterThan(0);
  });

  it('YBR_FULL baseline JPEG comes out as RGB equal to the RGB of the uncompressed YBR_FULL_422 twin', async () => {
    const jpeg = await decodeFile('pydicom/test_files/SC_rgb_jpeg_dcmtk.dcm');
    const ybr = await decodeFile('pydicom/test_files/SC_ybr_full_422_uncompressed.dcm');
    expect(jpeg.photometricInterpretation).toBe('RGB');
    expect(ybr.photometricInterpretation).toBe('YBR_FULL');
    const rgb = Uint8Array.from(ybr.data);
    ybrFullToRgb(rgb);
    // The reference decode (GDCM) of the JPEG equals the uncompressed YBR exactly, so after the standard
    // BT.601 conversion with rounding both must agree to the bit.
    expect(sha256(jpeg.data)).toBe(sha256(rgb));
  });

  it('JPEG extended 12-bit (.51): own DCT decoder, bit-exact with the IJG-based reference', async () => {
    const { data } = await decodeFile('pydicom/test_files/JPGExtended.dcm');
    expect(data).toBeInstanceOf(Uint16Array);
    expect(sha256(data)).toBe(refs.find((r) => r.file.endsWith('JPGExtended.dcm'))!.sha256_decoded_le);
  });

  it('JPEG2000-embedded-sequence-delimiter parses, and its corrupted SIZ marker is a DICOM_INVALID', async () => {
    const f = parseDicom(readFixture('pydicom/test_files/JPEG2000-embedded-sequence-delimiter.dcm'));
    expect(f.dataset.element('x7fe00010')!.fragments).toHaveLength(1);
    await expect(decodePixels(f)).rejects.toSatisfy((e) => isPhysiotwinError(e, 'DICOM_INVALID'));
  });

  it('every reference file without pixel data, or that the reference decoder refused, gives a typed error', async () => {
    const noPixels = refs.filter((r) => r.pixel_data === false || r.decode_error !== undefined);
    expect(noPixels.length).toBe(11); // 7 with pixel_data false, 4 with decode_error in reference_pixels.json
    for (const r of noPixels) {
      const err = await decodeFile(r.file).catch((e: unknown) => e);
      expect(isPhysiotwinError(err), r.file).toBe(true);
    }
  });

  it('MR_truncated is DICOM_TRUNCATED; files without pixel data are DICOM_INVALID', async () => {
    await expect(decodeFile('pydicom/test_files/MR_truncated.dcm')).rejects.toSatisfy((e) => isPhysiotwinError(e, 'DICOM_TRUNCATED'));
    await expect(decodeFile('pydicom/test_files/priv_SQ.dcm')).rejects.toSatisfy((e) => isPhysiotwinError(e, 'DICOM_INVALID'));
  });

  it('inverts MONOCHROME1 over the stored range', () => {
    const d = new Int16Array([-2048, 0, 2047]);
    invertMonochrome1(d, { bitsStored: 12, pixelRepresentation: 1 });
    expect(Array.from(d)).toEqual([2047, -1, -2048]);
    const u = new Uint16Array([0, 4095, 100]);
    invertMonochrome1(u, { bitsStored: 12, pixelRepresentation: 0 });
    expect(Array.from(u)).toEqual([4095, 0, 3995]);
  });

  it('HighBit above BitsStored - 1 (data in the high bits of the word): shifted down, masked, sign-extended', async () => {
    for (const [pr, raw, expected] of [
      [0, [0xfff0, 0x0010, 0x800f], [0xfff, 1, 0x800]],
      [1, [0xfff0, 0x0010, 0x800f], [-1, 1, -2048]],
    ] as const) {
      const bytes = writeDicom([
        { tag: 0x00080016, vr: 'UI', value: '1.2.840.10008.5.1.4.1.1.7' },
        { tag: 0x00080018, vr: 'UI', value: '1.2.3.4' },
        { tag: 0x00280002, vr: 'US', value: 1 },
        { tag: 0x00280004, vr: 'CS', value: 'MONOCHROME2' },
        { tag: 0x00280010, vr: 'US', value: 1 },
        { tag: 0x00280011, vr: 'US', value: 3 },
        { tag: 0x00280100, vr: 'US', value: 16 },
        { tag: 0x00280101, vr: 'US', value: 12 },
        { tag: 0x00280102, vr: 'US', value: 15 },
        { tag: 0x00280103, vr: 'US', value: pr },
        { tag: 0x7fe00010, vr: 'OW', value: new Uint16Array(raw) },
      ]);
      const { data } = await decodePixels(parseDicom(bytes));
      expect(Array.from(data)).toEqual(expected);
    }
  });
});
