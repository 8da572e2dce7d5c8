import { describe, expect, it, vi } from 'vitest';
import { isPhysiotwinError } from '@physiotwin/core';
import { parseDicom } from './parse.js';
import { decodePixels } from './pixels.js';
import { readFixture } from './test-util.js';

// Simulate an installation without the optional JPEG-LS codec: its module fails to resolve.
vi.mock('@cornerstonejs/codec-charls/decodewasmjs', () => {
  throw new Error("Cannot find package '@cornerstonejs/codec-charls'");
});

describe('optional codecs', () => {
  it('a missing codec package throws DICOM_CODEC_MISSING naming the npm package', async () => {
    const file = parseDicom(readFixture('pydicom/test_files/MR_small_jpeg_ls_lossless.dcm'));
    // on this thread, where the mock applies (codec workers load the codec themselves: codec-worker.test.ts)
    const err = await decodePixels(file, { codecWorkers: false }).catch((e: unknown) => e);
    expect(isPhysiotwinError(err, 'DICOM_CODEC_MISSING')).toBe(true);
    expect((err as Error).message).toMatch(/npm install @cornerstonejs\/codec-charls/);
  });

  it('other transfer syntaxes still decode without it', async () => {
    const { data } = await decodePixels(parseDicom(readFixture('pydicom/test_files/MR_small_RLE.dcm')));
    expect(data.length).toBe(64 * 64);
  });
});
