import { mkdirSync, mkdtempSync, rmSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { isPhysiotwinError } from '@physiotwin/core';
import { scanDicomPaths } from './node.js';
import { loadVolume } from './volume.js';
import { writeDicom } from './write.js';

const dir = mkdtempSync(join(tmpdir(), 'physiotwin-dicom-node-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const ROWS = 6;
const COLS = 5;
const SLICES = 23; // more than the reads kept in flight, and not a multiple of them

/** Stored 16-bit word of pixel i of slice k: a 12-bit signed value in bits 0..11, junk in bits 12..15. */
function storedWord(k: number, i: number): number {
  const v12 = (k * 97 + i * 31) % 4096; // 0..4095, two's complement 12-bit
  const junk = (k + i) % 16;
  return (junk << 12) | v12;
}

/** The value DICOM defines for that word: bits 0..11 sign-extended (BitsStored 12, HighBit 11, signed). */
function expectedValue(k: number, i: number): number {
  const v12 = storedWord(k, i) & 0xfff;
  return v12 >= 2048 ? v12 - 4096 : v12;
}

/** Writes slice k of a 12-bit signed series, in a file whose name does not follow slice order. */
function writeSlice(folder: string, k: number): string {
  const pixels = new Uint16Array(ROWS * COLS);
  for (let i = 0; i < pixels.length; i++) pixels[i] = storedWord(k, i);
  const uid = '1.2.826.0.1.3680043.10.1099.31';
  const bytes = writeDicom([
    { tag: 0x00080016, vr: 'UI', value: '1.2.840.10008.5.1.4.1.1.2' },
    { tag: 0x00080018, vr: 'UI', value: `${uid}.${k + 1}` },
    { tag: 0x00080060, vr: 'CS', value: 'CT' },
    { tag: 0x0020000e, vr: 'UI', value: uid },
    { tag: 0x00200013, vr: 'IS', value: k + 1 },
    { tag: 0x00200032, vr: 'DS', value: [0, 0, 3 * k] },
    { tag: 0x00200037, vr: 'DS', value: [1, 0, 0, 0, 1, 0] },
    { tag: 0x00280002, vr: 'US', value: 1 },
    { tag: 0x00280004, vr: 'CS', value: 'MONOCHROME2' },
    { tag: 0x00280010, vr: 'US', value: ROWS },
    { tag: 0x00280011, vr: 'US', value: COLS },
    { tag: 0x00280030, vr: 'DS', value: [0.5, 0.5] },
    { tag: 0x00280100, vr: 'US', value: 16 },
    { tag: 0x00280101, vr: 'US', value: 12 },
    { tag: 0x00280102, vr: 'US', value: 11 },
    { tag: 0x00280103, vr: 'US', value: 1 },
    { tag: 0x7fe00010, vr: 'OW', value: pixels },
  ]);
  const path = join(folder, `IM${String((k * 7) % SLICES).padStart(3, '0')}.dcm`);
  writeFileSync(path, bytes);
  return path;
}

/** A fresh folder `name` holding the whole series; returns the file paths by slice index. */
function writeSeries(name: string): string[] {
  const folder = join(dir, name);
  mkdirSync(folder);
  return Array.from({ length: SLICES }, (_, k) => writeSlice(folder, k));
}

describe('files read straight into the volume (fileSource, several reads in flight)', () => {
  it('every slice lands at its sorted position with BitsStored masking and sign extension', async () => {
    writeSeries('ok');
    const scan = await scanDicomPaths([join(dir, 'ok')], { strict: true });
    expect(scan.groups).toHaveLength(1);
    const g = scan.groups[0]!;
    expect(g.frames.every((f) => f.directOffset !== undefined)).toBe(true);
    const { volume } = await loadVolume(g, scan.sources);
    expect(volume.dims).toEqual([COLS, ROWS, SLICES]);
    const want = new Int16Array(COLS * ROWS * SLICES);
    for (let k = 0; k < SLICES; k++) for (let i = 0; i < ROWS * COLS; i++) want[k * ROWS * COLS + i] = expectedValue(k, i);
    expect(Array.from(volume.data)).toEqual(Array.from(want));
  });

  it('a file cut short after the scan is DICOM_TRUNCATED naming it', async () => {
    const paths = writeSeries('cut');
    const scan = await scanDicomPaths([join(dir, 'cut')], { strict: true });
    truncateSync(paths[11]!, 400);
    const err = await loadVolume(scan.groups[0]!, scan.sources).catch((e: unknown) => e);
    expect(isPhysiotwinError(err, 'DICOM_TRUNCATED')).toBe(true);
    expect((err as Error).message).toMatch(/pixel data ends after 0 of 60 bytes/);
    expect(JSON.stringify((err as { location?: unknown }).location)).toContain(paths[11]);
  });

  it('an abort during the reads stops the load with ABORTED', async () => {
    writeSeries('abort');
    const scan = await scanDicomPaths([join(dir, 'abort')], { strict: true });
    const ac = new AbortController();
    const done: number[] = [];
    const p = loadVolume(scan.groups[0]!, scan.sources, {
      signal: ac.signal,
      onProgress: (e) => {
        done.push(e.done);
        if (e.done >= 3) ac.abort();
      },
    });
    await expect(p).rejects.toSatisfy((e) => isPhysiotwinError(e, 'ABORTED'));
    // the lanes stop at their next step: nowhere near all slices were reported
    expect(Math.max(...done)).toBeLessThan(SLICES);
  });
});
