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
