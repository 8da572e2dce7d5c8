import { createHash } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { fileDigest, scanDicomPaths } from './node.js';
import { loadVolume } from './volume.js';
import { syntheticSlice } from './test-util.js';

const dir = mkdtempSync(join(tmpdir(), 'physiotwin-dicom-digest-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

// 100 x 100 int16 slices: 20 kB files, past the 16 KiB header read (which hashes smaller files whole), so their
// digests can only come from the pixel reads.
const N = 100;
const SLICES = 12;

function writeSeries(name: string): string[] {
  const folder = join(dir, name);
  mkdirSync(folder);
  return Array.from({ length: SLICES }, (_, k) => {
    const pixels = new Int16Array(N * N).map((_, i) => (i * 13 + k * 7) % 3000);
    const path = join(folder, `IM${k}.dcm`);
    writeFileSync(path, syntheticSlice({ seriesUid: '1.2.826.0.1.3680043.10.1099.77', instance: k + 1, rows: N, columns: N, position: [0, 0, 2 * k], spacing: [1, 1], pixels }));
    return path;
  });
}

const sha256 = (bytes: Uint8Array) => createHash('sha256').update(bytes).digest('hex');

describe('fileSource digest: inputs hashed where their pixels are read (a run manifest need not read them again)', () => {
  for (const [label, sharedReadMinBytes] of [['this thread only', Infinity], ['this thread and the worker', 1]] as const) {
    it(`${label}: the digest is the whole file's, taken during the load`, async () => {
      const paths = writeSeries(`s-${sharedReadMinBytes}`);
      const originals = new Map(paths.map((p) => [p, readFileSync(p)]));
      expect(originals.get(paths[0]!)!.length).toBeGreaterThan(16 * 1024);
      const scan = await scanDicomPaths([join(dir, `s-${sharedReadMinBytes}`)], { digest: true });
      await loadVolume(scan.groups[0]!, scan.sources, { sharedReadMinBytes });
      // Change every file after the load: a digest read now would differ, so equality shows it was taken before.
      for (const p of paths) writeFileSync(p, 'changed');
      for (const s of scan.sources) {
        const bytes = originals.get(s.name)!;
        expect(fileDigest(s), s.name).toEqual({ sha256: sha256(bytes), bytes: bytes.length });
      }
    });
  }

  it('without the option nothing is hashed during the load: fileDigest reads the file when asked', async () => {
    const paths = writeSeries('plain');
    const scan = await scanDicomPaths([join(dir, 'plain')]);
    await loadVolume(scan.groups[0]!, scan.sources);
    writeFileSync(paths[0]!, 'changed');
    const s = scan.sources.find((x) => x.name === paths[0])!;
    expect(fileDigest(s)).toEqual({ sha256: sha256(new TextEncoder().encode('changed')), bytes: 7 });
  });
});

describe('fileSource: a file the header read holds whole is not read again for its pixels', () => {
  it('the load takes the bytes the scan read and hashed (files changed in between do not show)', async () => {
    // 40 x 40 int16 slices: 3.2 kB of pixels, files well under the 16 KiB header read
    const n = 40;
    const folder = join(dir, 'small');
    mkdirSync(folder);
    const slices = Array.from({ length: 4 }, (_, k) => new Int16Array(n * n).map((_, i) => (i * 5 + k * 11) % 2000));
    const paths = slices.map((pixels, k) => {
      const path = join(folder, `IM${k}.dcm`);
      writeFileSync(path, syntheticSlice({ seriesUid: '1.2.826.0.1.3680043.10.1099.78', instance: k + 1, rows: n, columns: n, position: [0, 0, 2 * k], spacing: [1, 1], pixels }));
      return path;
    });
    const originals = new Map(paths.map((p) => [p, readFileSync(p)]));
    const scan = await scanDicomPaths([folder], { digest: true });
    // Same size, other pixels: a second read would load these.
    for (const [k, p] of paths.entries()) {
      writeFileSync(p, syntheticSlice({ seriesUid: '1.2.826.0.1.3680043.10.1099.78', instance: k + 1, rows: n, columns: n, position: [0, 0, 2 * k], spacing: [1, 1], pixels: new Int16Array(n * n).fill(7) }));
    }
    const { volume } = await loadVolume(scan.groups[0]!, scan.sources);
    const data = volume.data as Int16Array;
    for (const [k, pixels] of slices.entries()) {
      // the slice's values as a multiset (rows are flipped on the way into the volume)
      const slice = data.subarray(k * n * n, (k + 1) * n * n);
      expect([...slice].sort((a, b) => a - b)).toEqual([...pixels].sort((a, b) => a - b));
    }
    for (const s of scan.sources) {
      const bytes = originals.get(s.name)!;
      expect(fileDigest(s)).toEqual({ sha256: sha256(bytes), bytes: bytes.length });
    }
  });
});
