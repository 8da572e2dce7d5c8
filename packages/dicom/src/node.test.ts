import { mkdirSync, mkdtempSync, rmSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { isPhysiotwinError } from '@physiotwin/core';
import { scanDicomPaths } from './node.js';
import { loadVolume } from './volume.js';
import { syntheticSlice } from './test-util.js';

const dir = mkdtempSync(join(tmpdir(), 'physiotwin-dicom-node-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const ROWS = 6;
const COLS = 5;
const SLICES = 23;

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
function writeSlice(folder: string, k: number, rows = ROWS, cols = COLS, slices = SLICES): string {
  const pixels = new Uint16Array(rows * cols);
  for (let i = 0; i < pixels.length; i++) pixels[i] = storedWord(k, i);
  const bytes = syntheticSlice({ seriesUid: '1.2.826.0.1.3680043.10.1099.31', instance: k + 1, rows, columns: cols, position: [0, 0, 3 * k], spacing: [0.5, 0.5], pixels, bitsStored: 12, slope: null });
  const path = join(folder, `IM${String((k * 7) % slices).padStart(3, '0')}_${k}.dcm`);
  writeFileSync(path, bytes);
  return path;
}

/** A fresh folder `name` holding the whole series; returns the file paths by slice index. */
function writeSeries(name: string, rows = ROWS, cols = COLS, slices = SLICES): string[] {
  const folder = join(dir, name);
  mkdirSync(folder);
  return Array.from({ length: slices }, (_, k) => writeSlice(folder, k, rows, cols, slices));
}

/** The volume the series must load as. */
function expectedVolume(rows = ROWS, cols = COLS, slices = SLICES): Int16Array {
  const want = new Int16Array(cols * rows * slices);
  for (let k = 0; k < slices; k++) for (let i = 0; i < rows * cols; i++) want[k * rows * cols + i] = expectedValue(k, i);
  return want;
}

/** Index of the first difference, -1 when equal (toEqual on millions of elements is slow). */
function firstDifference(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) return 0;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return i;
  return -1;
}

describe('files read straight into the volume (fileSource; large stacks with a worker thread)', () => {
  it('every slice lands at its sorted position with BitsStored masking and sign extension', async () => {
    writeSeries('ok');
    const scan = await scanDicomPaths([join(dir, 'ok')], { strict: true });
    expect(scan.groups).toHaveLength(1);
    const g = scan.groups[0]!;
    expect(g.frames.every((f) => f.directOffset !== undefined)).toBe(true);
    const { volume } = await loadVolume(g, scan.sources);
    expect(volume.dims).toEqual([COLS, ROWS, SLICES]);
    expect(volume.data.buffer).toBeInstanceOf(ArrayBuffer); // small: read on this thread only
    expect(firstDifference(volume.data, expectedVolume())).toBe(-1);
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

  // 32 slices of 512 x 512 int16 = 16 MiB: large enough for the worker thread (SHARED_READ_MIN_BYTES)
  const BIG: [number, number, number] = [512, 512, 32];

  it('a large stack is read by this thread and a worker into shared memory: the same voxels', async () => {
    writeSeries('big', ...BIG);
    const scan = await scanDicomPaths([join(dir, 'big')], { strict: true });
    const { volume } = await loadVolume(scan.groups[0]!, scan.sources);
    expect(volume.data.buffer).toBeInstanceOf(SharedArrayBuffer);
    expect(firstDifference(volume.data, expectedVolume(...BIG))).toBe(-1);
    // a second load uses the fresh worker started after the first
    const again = await loadVolume(scan.groups[0]!, scan.sources);
    expect(firstDifference(again.volume.data, volume.data)).toBe(-1);
  });

  it('the worker alone: it reads every slice the calling thread leaves, and reports those it cannot read', async () => {
    const paths = writeSeries('worker', ROWS, COLS, 3);
    const scan = await scanDicomPaths([join(dir, 'worker')], { strict: true });
    truncateSync(paths[1]!, 300);
    const frames = scan.groups[0]!.frames;
    const sliceBytes = ROWS * COLS * 2;
    const reader = scan.sources[0]!.sharedReader!;
    const buffer = reader.allocate(3 * sliceBytes)!;
    const job = reader.share(buffer, frames.map((f, k) => ({ source: scan.sources[f.sourceIndex]!, position: f.directOffset!, byteOffset: k * sliceBytes, length: sliceBytes })))!;
    expect(await job.settle()).toEqual([1]);
    // stored words as written (no masking here: loadVolume applies BitsStored after the reads)
    const words = new Uint16Array(buffer);
    for (const k of [0, 2]) {
      const want = Uint16Array.from({ length: ROWS * COLS }, (_, i) => storedWord(k, i));
      expect(firstDifference(words.subarray(k * ROWS * COLS, (k + 1) * ROWS * COLS), want)).toBe(-1);
    }
    // a source the reader did not make (bytes in memory) cannot be shared
    expect(reader.share(buffer, [{ source: { name: 'mem', bytes: new Uint8Array(8) }, position: 0, byteOffset: 0, length: 8 }])).toBeUndefined();
  });

  it('large stack: a file the worker cannot read is read again here and reported as DICOM_TRUNCATED', async () => {
    const paths = writeSeries('bigcut', ...BIG);
    const scan = await scanDicomPaths([join(dir, 'bigcut')], { strict: true });
    for (const k of [1, 30]) truncateSync(paths[k]!, 1000);
    const err = await loadVolume(scan.groups[0]!, scan.sources).catch((e: unknown) => e);
    expect(isPhysiotwinError(err, 'DICOM_TRUNCATED')).toBe(true);
  });

  it('large stack: an abort stops both threads with ABORTED', async () => {
    writeSeries('bigabort', ...BIG);
    const scan = await scanDicomPaths([join(dir, 'bigabort')], { strict: true });
    const ac = new AbortController();
    const p = loadVolume(scan.groups[0]!, scan.sources, {
      signal: ac.signal,
      onProgress: (e) => {
        if (e.done >= 2) ac.abort();
      },
    });
    await expect(p).rejects.toSatisfy((e) => isPhysiotwinError(e, 'ABORTED'));
  });
});
