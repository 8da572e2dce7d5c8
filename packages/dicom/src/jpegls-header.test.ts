import { describe, expect, it } from 'vitest';
import { isPhysiotwinError } from '@physiotwin/core';
import { checkJpegLsFrame } from './jpegls-header.js';
import { parseDicom } from './parse.js';
import { encapsulatedFrames, concatBytes } from './pixels.js';
import { readFixture } from './test-util.js';

/** Hand-made JPEG-LS codestream: SOI, SOF55 (2x2, one component), optional LSE preset, SOS, scan bytes, EOI. */
function codestream(o: { p?: number; maxval?: number; near?: number; ilv?: number; scan?: number[]; tail?: number[] } = {}): Uint8Array {
  const out: number[] = [0xff, 0xd8];
  const seg = (marker: number, body: number[]) => out.push(0xff, marker, (body.length + 2) >> 8, (body.length + 2) & 255, ...body);
  seg(0xf7, [o.p ?? 8, 0, 2, 0, 2, 1, 1, 0x11, 0]);
  if (o.maxval !== undefined) seg(0xf8, [1, o.maxval >> 8, o.maxval & 255, 0, 0, 0, 0, 0, 0, 0, 0]);
  seg(0xda, [1, 1, 0, o.near ?? 0, o.ilv ?? 0, 0]);
  out.push(...(o.scan ?? [0x12, 0x34]));
  out.push(...(o.tail ?? [0xff, 0xd9]));
  return Uint8Array.from(out);
}

const refused = (frame: Uint8Array, pattern: RegExp, bitsAllocated = 16, lossless = false) => {
  let err: unknown;
  try {
    checkJpegLsFrame(frame, bitsAllocated, lossless, 'x.dcm');
  } catch (e) {
    err = e;
  }
  expect(isPhysiotwinError(err, 'DICOM_INVALID'), String(err)).toBe(true);
  expect((err as Error).message).toMatch(pattern);
};

describe('checkJpegLsFrame', () => {
  it('accepts a well-formed header, with or without zero padding after EOI, and the real frames of a fixture', () => {
    expect(() => checkJpegLsFrame(codestream(), 8, true, 'x.dcm')).not.toThrow();
    expect(() => checkJpegLsFrame(codestream({ tail: [0xff, 0xd9, 0] }), 8, true, 'x.dcm')).not.toThrow();
    expect(() => checkJpegLsFrame(codestream({ maxval: 255, near: 127 }), 8, false, 'x.dcm')).not.toThrow();
    const file = parseDicom(readFixture('pydicom/test_files/JPEGLSNearLossless_16.dcm'));
    for (const parts of encapsulatedFrames(file, 1)) expect(() => checkJpegLsFrame(concatBytes(parts), 16, false, 'x.dcm')).not.toThrow();
  });

  it('refuses a scan that runs to the end of the buffer without EOI (CharLS spins on some of those for seconds)', () => {
    refused(codestream({ tail: [] }), /does not end with EOI/);
    refused(codestream({ tail: [0, 0] }), /does not end with EOI/);
    refused(codestream().subarray(0, 20), /does not end with EOI/);
  });

  it('refuses bad SOF55 / LSE / SOS fields with the field named', () => {
    refused(codestream({ p: 17 }), /precision P = 17 is outside 2\.\.16/);
    refused(codestream({ p: 1 }), /precision P = 1 is outside/);
    refused(codestream({ p: 12 }), /P = 12 exceeds BitsAllocated 8/, 8);
    refused(codestream({ near: 1 }), /NEAR = 1 in the lossless transfer syntax/, 16, true);
    // MAXVAL 3 allows NEAR <= 1 (T.87 C.2.3); 2^P - 1 = 255 allows 127.
    refused(codestream({ maxval: 3, near: 2 }), /NEAR = 2 exceeds min\(255, MAXVAL \/ 2\) for MAXVAL 3/);
    refused(codestream({ near: 128 }), /NEAR = 128 exceeds .* MAXVAL 255/);
    refused(codestream({ maxval: 256 }), /MAXVAL 256 does not fit precision P = 8/);
    refused(codestream({ ilv: 3 }), /ILV = 3/);
  });

  it('refuses broken marker structure', () => {
    refused(Uint8Array.from([0, 1, 2, 3, 0xff, 0xd9]), /does not start with SOI/);
    const long = codestream();
    long[5] = 200; // SOF55 length past the end
    refused(long, /has length 200, past the end/);
    refused(Uint8Array.from([0xff, 0xd8, 0xff, 0xda, 0, 8, 1, 1, 0, 0, 0, 0, 0xff, 0xd9]), /SOS before SOF55/);
    refused(Uint8Array.from([0xff, 0xd8, 0x12, 0x34, 0xff, 0xd9]), /byte 2 is 0x12, not a marker/);
  });
});
