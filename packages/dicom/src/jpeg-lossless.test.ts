import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { isPhysiotwinError } from '@physiotwin/core';
import { decodeJpegLossless } from './jpeg-lossless.js';
import { parseDicom } from './parse.js';
import { decodePixels } from './pixels.js';
import { readFixture, readJson, sha256 } from './test-util.js';

/**
 * A minimal lossless JPEG (T.81 process 14, SOF3) encoder for round-trip tests of every predictor: one Huffman
 * table giving all 17 difference categories 5-bit codes, optional restart interval and point transform.
 * Predictors follow T.81 Table H.1; the first line / column rules follow H.1.1.
 */
function encodeLossless(img: Uint16Array, w: number, h: number, nc: number, precision: number, predictor: number, pt: number, restart: number): Uint8Array {
  const out: number[] = [0xff, 0xd8];
  const seg = (marker: number, body: number[]) => out.push(0xff, marker, (body.length + 2) >> 8, (body.length + 2) & 255, ...body);
  const counts = new Array(16).fill(0);
  counts[4] = 17; // 17 codes of length 5: category s has code s
  seg(0xc4, [0x00, ...counts, ...Array.from({ length: 17 }, (_, s) => s)]);
  seg(0xc3, [precision, h >> 8, h & 255, w >> 8, w & 255, nc, ...Array.from({ length: nc }, (_, c) => [c + 1, 0x11, 0]).flat()]);
  if (restart) seg(0xdd, [restart >> 8, restart & 255]);
  seg(0xda, [nc, ...Array.from({ length: nc }, (_, c) => [c + 1, 0x00]).flat(), predictor, 0, pt]);
  let acc = 0;
  let nbits = 0;
  const flushByte = (b: number) => {
    out.push(b);
    if (b === 0xff) out.push(0);
  };
  const put = (value: number, bits: number) => {
    for (let i = bits - 1; i >= 0; i--) {
      acc = (acc << 1) | ((value >> i) & 1);
      if (++nbits === 8) {
        flushByte(acc);
        acc = 0;
        nbits = 0;
      }
    }
  };
  const align = () => {
    if (nbits > 0) put(0xff, 8 - nbits); // pad with 1-bits (T.81 F.1.2.3)
  };
  const s = (x: number, y: number, c: number) => img[(y * w + x) * nc + c]! >> pt;
  let mcu = 0;
  let resetRow = 0;
  let rst = 0;
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      let reset = y === 0 && x === 0;
      if (restart && mcu > 0 && mcu % restart === 0) {
        align();
        out.push(0xff, 0xd0 + (rst++ % 8));
        reset = true;
      }
      if (reset) resetRow = y;
      for (let c = 0; c < nc; c++) {
        let pred: number;
        if (reset) pred = 1 << (precision - pt - 1);
        else if (y === resetRow) pred = s(x - 1, y, c);
        else if (x === 0) pred = s(x, y - 1, c);
        else {
          const ra = s(x - 1, y, c), rb = s(x, y - 1, c), rc = s(x - 1, y - 1, c);
          pred = [0, ra, rb, rc, ra + rb - rc, ra + ((rb - rc) >> 1), rb + ((ra - rc) >> 1), (ra + rb) >> 1][predictor]!;
        }
        let diff = (s(x, y, c) - pred) & 0xffff; // modulo 2^16 (T.81 H.1.2.1)
        if (diff >= 0x8000) diff -= 0x10000;
        if (diff === -32768) {
          put(16, 5);
          continue;
        }
        const cat = diff === 0 ? 0 : 32 - Math.clz32(Math.abs(diff));
        put(cat, 5);
        if (cat > 0) put(diff > 0 ? diff : diff + (1 << cat) - 1, cat);
      }
      mcu++;
    }
  }
  align();
  out.push(0xff, 0xd9);
  return new Uint8Array(out);
}

describe('JPEG lossless decoder (process 14: DICOM .57 and .70)', () => {
  it('round-trips every predictor 1..7, point transform, restart intervals, 1 and 3 components, 2..16 bits', () => {
    fc.assert(
      fc.property(
        fc.record({
          w: fc.integer({ min: 1, max: 9 }),
          h: fc.integer({ min: 1, max: 7 }),
          nc: fc.constantFrom(1, 3),
          precision: fc.constantFrom(2, 8, 12, 16),
          predictor: fc.integer({ min: 1, max: 7 }),
          pt: fc.integer({ min: 0, max: 1 }),
          restart: fc.constantFrom(0, 0, 3, 9),
          seed: fc.integer(),
        }),
        ({ w, h, nc, precision, predictor, pt, restart, seed }) => {
          if (pt >= precision - 1) return;
          const img = new Uint16Array(w * h * nc);
          let r = seed >>> 0;
          for (let i = 0; i < img.length; i++) {
            r = (Math.imul(r, 1664525) + 1013904223) >>> 0;
            // values representable after the point transform: low pt bits zero
            img[i] = ((r >>> 8) & ((1 << precision) - 1)) & ~((1 << pt) - 1);
          }
          const decoded = decodeJpegLossless(encodeLossless(img, w, h, nc, precision, predictor, pt, restart));
          expect(decoded).toMatchObject({ width: w, height: h, components: nc, precision });
          expect(Array.from(decoded.data)).toEqual(Array.from(img));
        },
      ),
      { numRuns: 300, seed: 7 },
    );
  });

  it('a stream cut inside the scan is DICOM_TRUNCATED, a non-lossless frame DICOM_INVALID', () => {
    const img = new Uint16Array(64).map((_, i) => i * 3);
    const full = encodeLossless(img, 8, 8, 1, 8, 1, 0, 0);
    expect(() => decodeJpegLossless(full.subarray(0, full.length - 20))).toThrow(expect.objectContaining({ code: 'DICOM_TRUNCATED' }));
    const sof0 = full.slice();
    sof0[sof0.indexOf(0xc3, 2)] = 0xc0;
    let err: unknown;
    try {
      decodeJpegLossless(sof0);
    } catch (e) {
      err = e;
    }
    expect(isPhysiotwinError(err, 'DICOM_INVALID')).toBe(true);
  });
});

describe('JPEG lossless .57 written by DCMTK dcmcjpeg 3.6.7 (fixtures/dicom/dcmtk_jpeg_lossless)', () => {
  const decode = async (rel: string) => {
    const file = parseDicom(readFixture(rel), { source: rel });
    return { ts: file.transferSyntaxUid, data: (await decodePixels(file)).data as Int16Array };
  };
  const ctSmallSha = readJson<{ files: { file: string; sha256_decoded_le: string }[] }>('pydicom/reference_pixels.json').files.find(
    (f) => f.file === 'test_files/CT_small.dcm',
  )!.sha256_decoded_le;

  it.each([1, 2, 3, 4, 5, 6, 7])('CT_small, predictor %i: exactly the uncompressed CT_small', async (sv) => {
    const { ts, data } = await decode(`dcmtk_jpeg_lossless/CT_small_sv${sv}.dcm`);
    expect(ts).toBe('1.2.840.10008.1.2.4.57');
    expect(sha256(data)).toBe(ctSmallSha);
  });

  it('point transform 2: the uncompressed values with their low 2 bits cleared (as DCMTK dcmdjpeg decodes it)', async () => {
    const { data } = await decode('dcmtk_jpeg_lossless/CT_small_sv1_pt2.dcm');
    const { data: source } = await decode('pydicom/test_files/CT_small.dcm');
    expect(Array.from(data)).toEqual(Array.from(source, (v) => (v >> 2) << 2));
    // sha256 of dcmdjpeg's decode, from the fixture README
    expect(sha256(data)).toBe('68a62743d1972e9203de86abc07c9323d1feeb8393a7900208627c7f12d18212');
  });

  it('12-bit signed mosaic, predictor 7: the corrected (sign-extended) values, whose 12-bit patterns are what dcmdjpeg decodes', async () => {
    const { data } = await decode('dcmtk_jpeg_lossless/12bitSigned_sv7.dcm');
    const ref = readJson<{ pixel_refs: { file: string; sha256_corrected_le?: string }[] }>('dcm_qa_12bit/reference_pixels.json').pixel_refs.find((r) =>
      r.file.endsWith('12bitSigned_0x0F0F.dcm'),
    )!;
    expect(sha256(data)).toBe(ref.sha256_corrected_le);
    // dcmdjpeg's words masked to the 12 stored bits (fixture README)
    expect(sha256(Uint16Array.from(data, (v) => v & 0x0fff))).toBe('69b1c6a4fdc57707ef12c490a114dc2a14eeaa881eb2df222a2c4f9dd6d747ab');
  });
});
