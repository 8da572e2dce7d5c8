import { PhysiotwinError } from '@physiotwin/core';

/**
 * Decodes one DICOM RLE Lossless frame (PS3.5 Annex G) into `out` as little-endian, sample-interleaved bytes.
 * Segment order is sample-major, most significant byte first, as the standard requires.
 * @param frame The encapsulated frame: a 64-byte header (segment count + 15 offsets) and the PackBits segments.
 * @param out Receives `pixels * samples * bytesPerSample` bytes.
 * @throws PhysiotwinError `DICOM_INVALID` for a malformed header or segment, `DICOM_TRUNCATED` when segments are short.
 */
export function decodeRle(
  frame: Uint8Array,
  out: Uint8Array,
  pixels: number,
  samples: number,
  bytesPerSample: number,
  source = '<bytes>',
): void {
  const loc = { location: { file: source, tag: '(7FE0,0010)' } };
  if (frame.length < 64) throw new PhysiotwinError('DICOM_TRUNCATED', `RLE frame of ${frame.length} bytes has no 64-byte header`, loc);
  const dv = new DataView(frame.buffer, frame.byteOffset, frame.byteLength);
  const nSeg = dv.getUint32(0, true);
  const expected = samples * bytesPerSample;
  if (nSeg !== expected) {
    throw new PhysiotwinError('DICOM_INVALID', `RLE header has ${nSeg} segments, the image needs ${expected}`, loc);
  }
  const stride = expected;
  if (out.length < pixels * stride) throw new PhysiotwinError('INVALID_ARGUMENT', 'RLE output buffer too small');
  for (let s = 0; s < nSeg; s++) {
    const start = dv.getUint32(4 + 4 * s, true);
    const end = s + 1 < nSeg ? dv.getUint32(8 + 4 * s, true) : frame.length;
    if (start < 64 || end > frame.length || end < start) {
      throw new PhysiotwinError('DICOM_INVALID', `RLE segment ${s} offsets ${start}..${end} outside the ${frame.length}-byte frame`, loc);
    }
    const sample = Math.floor(s / bytesPerSample);
    const byteInSample = bytesPerSample - 1 - (s % bytesPerSample); // MSB segment first -> highest LE byte
    let o = sample * bytesPerSample + byteInSample;
    let written = 0;
    let p = start;
    while (written < pixels && p < end) {
      const n = frame[p++]!;
      if (n < 128) {
        const count = n + 1;
        if (p + count > end || written + count > pixels) {
          throw new PhysiotwinError('DICOM_INVALID', `RLE segment ${s}: literal run of ${count} overruns the segment or image`, loc);
        }
        for (let i = 0; i < count; i++) {
          out[o] = frame[p++]!;
          o += stride;
        }
        written += count;
      } else if (n > 128) {
        const count = 257 - n;
        if (p >= end || written + count > pixels) {
          throw new PhysiotwinError('DICOM_INVALID', `RLE segment ${s}: replicate run of ${count} overruns the segment or image`, loc);
        }
        const v = frame[p++]!;
        for (let i = 0; i < count; i++) {
          out[o] = v;
          o += stride;
        }
        written += count;
      }
      // n === 128 is a no-op
    }
    if (written < pixels) {
      throw new PhysiotwinError('DICOM_TRUNCATED', `RLE segment ${s} decodes to ${written} of ${pixels} pixels`, loc);
    }
  }
}
