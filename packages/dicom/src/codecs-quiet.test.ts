import { describe, expect, it, vi } from 'vitest';
import { parseDicom } from './parse.js';
import { decodePixels } from './pixels.js';
import { readFixture } from './test-util.js';

// Its own file: emscripten binds console.log when a codec module is created, so the spies must exist first.
describe('WASM codecs and the console', () => {
  it('print nothing (OpenJPEG logs "[INFO] ..." unless silenced), so a CLI printing JSON on stdout stays JSON', async () => {
    const log = vi.spyOn(console, 'log');
    const error = vi.spyOn(console, 'error');
    for (const f of ['pydicom/test_files/MR_small_jp2klossless.dcm', 'pydicom/derived_CT_small_htj2k_lossless_rpcl.dcm', 'pydicom/test_files/MR_small_jpeg_ls_lossless.dcm']) {
      const { data } = await decodePixels(parseDicom(readFixture(f)));
      expect(data.length).toBe(f.includes('CT_small') ? 128 * 128 : 64 * 64);
    }
    expect(log).not.toHaveBeenCalled();
    expect(error).not.toHaveBeenCalled();
  });
});
