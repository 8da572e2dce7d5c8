import { createHash } from 'node:crypto';
import { execFileSync } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, symlinkSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { Worker } from 'node:worker_threads';
import { afterAll, describe, expect, it } from 'vitest';
import { isPhysiotwinError } from '@physiotwin/core';
import { fileDigest, scanDicomPaths } from './node.js';
import { loadVolume } from './volume.js';
import type { LoadVolumeOptions } from './volume.js';
import type { ScanResult } from './series.js';
import { fixture, syntheticSlice } from './test-util.js';
import { createWorkerReader } from './worker-reader.js';

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

/**
 * Keeps this thread busy: for `pace` ms, or until `pace()` holds (at most 10 s). Blocking the calling thread leaves
 * slices to the worker; waiting on what the worker has done (it marks files in shared memory) makes that
 * deterministic on a loaded machine, where a fixed delay is not.
 */
function busy(pace: number | (() => boolean)): void {
  const end = performance.now() + (typeof pace === 'number' ? pace : 10_000);
  while (performance.now() < end && !(typeof pace === 'function' && pace()));
}

/** Resolves once `cond()` holds; rejects after `ms`. */
async function until(cond: () => boolean, ms = 5000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error('condition not reached');
    await new Promise((r) => setTimeout(r, 5));
  }
}

/**
 * Worker code run before the reader's own script: it marks in `workerData.seen` (one Int32 per file of
 * `workerData.paths`) each file the worker opens, and with `workerData.dieAtRead` exits (code 7) on that read call,
 * before reading: the read it claimed stays unfinished.
 */
const WATCH_PRELUDE = `
const { workerData } = require('node:worker_threads');
const fs = require('node:fs');
const seen = new Int32Array(workerData.seen);
const open = fs.openSync;
fs.openSync = (p, ...a) => { const i = workerData.paths.indexOf(p); if (i >= 0) Atomics.store(seen, i, 1); return open(p, ...a); };
const read = fs.readSync;
let readCalls = 0;
fs.readSync = (...a) => { if (++readCalls === workerData.dieAtRead) process.exit(7); return read(...a); };
`;

/**
 * A worker reader (node.ts's own, from worker-reader.ts) whose workers the test watches: those alive, those ref'd,
 * their exit codes, and the files each opened (`seen[n]` for the n-th worker started). `script(n)` may replace the
 * n-th worker's code; `dieAtRead(n)` makes it exit on that read.
 */
function watchedReader(paths: string[], o: { script?: (n: number) => string | undefined; dieAtRead?: (n: number) => number | undefined } = {}) {
  const live = new Set<Worker>();
  const refd = new Set<Worker>();
  const exitCodes: number[] = [];
  const seen: Int32Array[] = [];
  let maxLive = 0;
  const reader = createWorkerReader({
    startWorker: (source) => {
      const n = seen.length;
      seen.push(new Int32Array(new SharedArrayBuffer(paths.length * 4)));
      const w = new Worker(o.script?.(n) ?? WATCH_PRELUDE + source, { eval: true, workerData: { paths, seen: seen[n]!.buffer, dieAtRead: o.dieAtRead?.(n) ?? 0 } });
      live.add(w);
      refd.add(w); // a new Worker is ref'd
      maxLive = Math.max(maxLive, live.size);
      const ref = w.ref.bind(w);
      const unref = w.unref.bind(w);
      w.ref = () => (refd.add(w), ref());
      w.unref = () => (refd.delete(w), unref());
      w.once('exit', (code) => {
        live.delete(w);
        refd.delete(w);
        exitCodes.push(code);
      });
      return w;
    },
  });
  /** Files (indices into `paths`) worker n opened. */
  const opened = (n: number) => [...(seen[n] ?? [])].flatMap((v, i) => (v ? [i] : []));
  return { reader, live, refd, exitCodes, opened, started: () => seen.length, maxLive: () => maxLive };
}

/** Any stack is shared with the worker (the tests' stacks are smaller than the default threshold). */
const SHARE_ALL: LoadVolumeOptions = { sharedReadMinBytes: 1 };

/**
 * Loads the scan's only group with `reader` as every source's shared reader, the calling thread waiting `pace`
 * (see {@link busy}) after each slice it reads; `hereReads` is how many it read itself (progress counts those one by one, then jumps to
 * the total once the worker's are in).
 */
async function loadWith(scan: ScanResult, reader: ReturnType<typeof createWorkerReader>, pace: number | (() => boolean), options: LoadVolumeOptions = SHARE_ALL) {
  for (const s of scan.sources) s.sharedReader = reader;
  const done: number[] = [];
  const loaded = await loadVolume(scan.groups[0]!, scan.sources, {
    ...options,
    onProgress: (e) => {
      done.push(e.done);
      options.onProgress?.(e);
      busy(pace);
    },
  });
  return { ...loaded, hereReads: done[done.length - 2]! };
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

  it('a file cut short after the scan is DICOM_TRUNCATED naming it (a file larger than the 16 KiB header read)', async () => {
    // 100 x 100 16-bit pixels: 20,000 bytes of pixel data, past the header read, so the load reads the file again
    const paths = writeSeries('cut', 100, 100, 4);
    const scan = await scanDicomPaths([join(dir, 'cut')], { strict: true });
    truncateSync(paths[2]!, 400);
    const err = await loadVolume(scan.groups[0]!, scan.sources).catch((e: unknown) => e);
    expect(isPhysiotwinError(err, 'DICOM_TRUNCATED')).toBe(true);
    expect((err as Error).message).toMatch(/pixel data ends after 0 of 20000 bytes/);
    expect(JSON.stringify((err as { location?: unknown }).location)).toContain(paths[2]);
  });

  it('small files (whole in the header read) are not read again: the load converts the bytes the scan read and hashed', async () => {
    const paths = writeSeries('kept');
    const original = paths.map((p) => createHash('sha256').update(readFileSync(p)).digest('hex'));
    const bytes12 = new Uint8Array(readFileSync(paths[12]!));
    const scan = await scanDicomPaths([join(dir, 'kept')], { strict: true, digest: true });
    // rewritten after the scan (a slice cut short, another with other pixels): the load keeps to what was scanned
    truncateSync(paths[11]!, 400);
    writeFileSync(paths[12]!, Buffer.alloc(readFileSync(paths[12]!).length + 400, 7));
    const { volume } = await loadVolume(scan.groups[0]!, scan.sources);
    expect(firstDifference(volume.data, expectedVolume())).toBe(-1);
    // and the manifest's digests are those of the bytes converted
    expect(paths.map((p) => fileDigest(scan.sources.find((s) => s.name === p)!).sha256)).toEqual(original);
    // the whole-file read (compressed frames are decoded from it) gives the scanned bytes too, as a copy
    const source12 = scan.sources.find((s) => s.name === paths[12])!;
    const read = await source12.read!();
    expect(read).toEqual(bytes12);
    read[0] = 99;
    expect((await source12.read!())[0]).toBe(bytes12[0]);
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

  // 32 slices of 512 x 512 int16 = 16 MiB: large enough for the worker thread at the default sharedReadMinBytes
  // (the first test); the others share smaller stacks with it (sharedReadMinBytes: 1), which exercise the same
  // paths at a fraction of the cost (a test file must stay within seconds).
  const DEFAULT_BIG: [number, number, number] = [512, 512, 32];
  // 96 x 96 16-bit slices (18 kB files): past the 16 KiB header read, so the files are read at load (smaller ones
  // are kept from the scan and read on this thread only)
  const BIG: [number, number, number] = [96, 96, 32];

  it('a large stack is read by this thread and a worker into shared memory: the same voxels', async () => {
    const BIG = DEFAULT_BIG;
    const paths = writeSeries('big', ...BIG);
    const scan = await scanDicomPaths([join(dir, 'big')], { strict: true });
    const w = watchedReader(paths);
    // the calling thread waits after each slice until the worker has read one: the worker must take part
    const { volume, hereReads } = await loadWith(scan, w.reader, () => w.opened(0).length > 0, {});
    expect(volume.data.buffer).toBeInstanceOf(SharedArrayBuffer);
    expect(firstDifference(volume.data, expectedVolume(...BIG))).toBe(-1);
    const workerRead = w.opened(0);
    expect(workerRead.length).toBeGreaterThan(0);
    expect(hereReads).toBeLessThan(BIG[2]);
    // a second load uses the fresh worker started after the first (and it reads too)
    const again = await loadWith(scan, w.reader, () => w.opened(1).length > 0, {});
    expect(firstDifference(again.volume.data, volume.data)).toBe(-1);
    expect(w.opened(1).length).toBeGreaterThan(0);
  });

  it('prepare starts the spare worker before any load (once, however often called), and the load uses it', async () => {
    const paths = writeSeries('bigprep', ...BIG);
    const scan = await scanDicomPaths([join(dir, 'bigprep')], { strict: true });
    const w = watchedReader(paths);
    expect(w.started()).toBe(0);
    w.reader.prepare!();
    w.reader.prepare!();
    expect(w.started()).toBe(1);
    const { volume } = await loadWith(scan, w.reader, () => w.opened(0).length > 0);
    expect(w.opened(0).length).toBeGreaterThan(0); // worker 0, the prepared one, did reads of this load
    expect(firstDifference(volume.data, expectedVolume(...BIG))).toBe(-1);
  });

  it('large stack: a worker that dies mid-job leaves no slice unread (this thread reads them all again)', async () => {
    const paths = writeSeries('bigdie', ...BIG);
    const scan = await scanDicomPaths([join(dir, 'bigdie')], { strict: true });
    // the job's worker exits on its third read call: two slices read, the third claimed and never written
    const w = watchedReader(paths, { dieAtRead: (n) => (n === 0 ? 3 : undefined) });
    const { volume } = await loadWith(scan, w.reader, () => w.opened(0).length >= 3);
    expect(w.exitCodes).toContain(7);
    expect(w.opened(0)).toHaveLength(3);
    expect(firstDifference(volume.data, expectedVolume(...BIG))).toBe(-1);
  });

  it('large stack: a spare worker that died before its job is replaced by a fresh one, which reads', async () => {
    const paths = writeSeries('bigspare', ...BIG);
    const scan = await scanDicomPaths([join(dir, 'bigspare')], { strict: true });
    const w = watchedReader(paths, { script: (n) => (n === 1 ? 'process.exit(9)' : undefined) });
    await loadWith(scan, w.reader, 0);
    await until(() => w.exitCodes.includes(9)); // the spare (worker 1) is gone
    const { volume, hereReads } = await loadWith(scan, w.reader, () => w.opened(2).length > 0);
    expect(firstDifference(volume.data, expectedVolume(...BIG))).toBe(-1);
    expect(w.opened(2).length).toBeGreaterThan(0);
    expect(hereReads).toBeLessThan(BIG[2]);
  });

  it('large stack: a spare worker that dies at its first read leaves no slice unread', async () => {
    const paths = writeSeries('bigspare2', ...BIG);
    const scan = await scanDicomPaths([join(dir, 'bigspare2')], { strict: true });
    // worker 1, the spare started when the first load settled, claims a slice of the second load and exits
    const w = watchedReader(paths, { dieAtRead: (n) => (n === 1 ? 1 : undefined) });
    await loadWith(scan, w.reader, 0);
    const { volume } = await loadWith(scan, w.reader, () => w.opened(1).length >= 1);
    expect(w.exitCodes).toContain(7);
    expect(w.opened(1)).toHaveLength(1);
    expect(firstDifference(volume.data, expectedVolume(...BIG))).toBe(-1);
  });

  it('large stack: overlapping loads (two at once, 10 times) keep the worker threads bounded', async () => {
    const paths = writeSeries('bigoverlap', ...BIG);
    const scan = await scanDicomPaths([join(dir, 'bigoverlap')], { strict: true });
    const w = watchedReader(paths);
    const want = expectedVolume(...BIG);
    for (let round = 0; round < 10; round++) {
      const both = await Promise.all([loadWith(scan, w.reader, 0), loadWith(scan, w.reader, 0)]);
      for (const { volume } of both) expect(firstDifference(volume.data, want)).toBe(-1);
    }
    // MAX_THREADS: one reading (or terminating) and one spare; the other load of a pair reads alone
    expect(w.maxLive()).toBeLessThanOrEqual(2);
    // once the terminated ones have exited: the spare alone, unref'd
    await until(() => w.live.size <= 1);
    expect(w.refd.size).toBe(0);
  });

  it('the worker alone: it reads every slice the calling thread leaves, and reports those it cannot read', async () => {
    // files past the 16 KiB header read (smaller ones are kept from the scan and never shared: checked below)
    const [rows, cols] = [96, 96];
    const paths = writeSeries('worker', rows, cols, 3);
    const scan = await scanDicomPaths([join(dir, 'worker')], { strict: true });
    truncateSync(paths[1]!, 300);
    const frames = scan.groups[0]!.frames;
    const sliceBytes = rows * cols * 2;
    const reader = scan.sources[0]!.sharedReader!;
    const buffer = reader.allocate(3 * sliceBytes)!;
    const job = reader.share(buffer, frames.map((f, k) => ({ source: scan.sources[f.sourceIndex]!, position: f.directOffset!, byteOffset: k * sliceBytes, length: sliceBytes })))!;
    expect(await job.settle()).toEqual([1]);
    // stored words as written (no masking here: loadVolume applies BitsStored after the reads)
    const words = new Uint16Array(buffer);
    for (const k of [0, 2]) {
      const want = Uint16Array.from({ length: rows * cols }, (_, i) => storedWord(k, i));
      expect(firstDifference(words.subarray(k * rows * cols, (k + 1) * rows * cols), want)).toBe(-1);
    }
    // a source the reader did not make (bytes in memory) cannot be shared, nor a file kept from its header read
    expect(reader.share(buffer, [{ source: { name: 'mem', bytes: new Uint8Array(8) }, position: 0, byteOffset: 0, length: 8 }])).toBeUndefined();
    writeSeries('workersmall', ROWS, COLS, 2);
    const small = await scanDicomPaths([join(dir, 'workersmall')], { strict: true });
    const f0 = small.groups[0]!.frames[0]!;
    expect(reader.share(buffer, [{ source: small.sources[f0.sourceIndex]!, position: f0.directOffset!, byteOffset: 0, length: ROWS * COLS * 2 }])).toBeUndefined();
  });

  it('large stack: a file cut short that the worker meets is read again here and reported as DICOM_TRUNCATED', async () => {
    const paths = writeSeries('bigcut', ...BIG);
    const scan = await scanDicomPaths([join(dir, 'bigcut')], { strict: true });
    const last = BIG[2] - 1;
    truncateSync(paths[last]!, 1000);
    const w = watchedReader(paths);
    // the calling thread holds after its first slice until the worker has met the cut file
    const err = await loadWith(scan, w.reader, () => w.opened(0).includes(last)).catch((e: unknown) => e);
    expect(w.opened(0)).toContain(last);
    expect(isPhysiotwinError(err, 'DICOM_TRUNCATED')).toBe(true);
    expect(JSON.stringify((err as { location?: unknown }).location)).toContain(paths[last]);
  });

  it('large stack: an abort stops both threads with ABORTED and leaves no ref\'d worker, only the spare', async () => {
    const paths = writeSeries('bigabort', ...BIG);
    const scan = await scanDicomPaths([join(dir, 'bigabort')], { strict: true });
    const w = watchedReader(paths);
    const ac = new AbortController();
    const p = loadWith(scan, w.reader, 3, {
      ...SHARE_ALL,
      signal: ac.signal,
      onProgress: (e) => {
        if (e.done >= 2) ac.abort();
      },
    });
    await expect(p).rejects.toSatisfy((e) => isPhysiotwinError(e, 'ABORTED'));
    expect(w.started()).toBe(2); // the job's worker and the spare started when it settled
    await until(() => w.live.size <= 1);
    expect(w.refd.size).toBe(0);
  });
});

describe('paths and files that are not DICOM images (hostile or faulty input)', () => {
  const codeOf = (e: unknown) => (isPhysiotwinError(e) ? e.code : `untyped: ${String(e)}`);

  it('a FIFO or a device given as a path is IO_INVALID at once (a read would block, or never end)', async () => {
    const fifo = join(dir, 'paths-fifo');
    execFileSync('mkfifo', [fifo]);
    for (const p of [fifo, '/dev/zero']) {
      const err = await scanDicomPaths([p]).catch((e: unknown) => e);
      expect([p, codeOf(err)]).toEqual([p, 'IO_INVALID']);
      expect((err as Error).message).toMatch(/expected a file or a folder, found a (FIFO|device)/);
    }
  });

  it('a DICOMDIR that references a FIFO: IO_INVALID naming it, before any read', async () => {
    const study = join(dir, 'paths-dicomdir');
    cpSync(fixture('pydicom/test_files/dicomdirtests/TINY_ALPHA'), study, { recursive: true });
    const image = join(study, 'PT000000', 'ST000000', 'SE000000', 'IM000000');
    rmSync(image);
    execFileSync('mkfifo', [image]);
    const err = await scanDicomPaths([join(study, 'DICOMDIR')]).catch((e: unknown) => e);
    expect(codeOf(err)).toBe('IO_INVALID');
    expect((err as Error).message).toMatch(/references PT000000\\ST000000\\SE000000\\IM000000, which is not a regular file/);
  });

  it('in a folder: a link to a file counts, a FIFO and a link to a folder are passed over', async () => {
    const folder = join(dir, 'paths-links');
    const elsewhere = join(dir, 'paths-elsewhere');
    mkdirSync(folder);
    mkdirSync(elsewhere);
    writeSlice(elsewhere, 0);
    writeSlice(folder, 1);
    symlinkSync(join(elsewhere, readdirSync(elsewhere)[0]!), join(folder, 'linked.dcm'));
    symlinkSync(folder, join(folder, 'loop')); // a link to its own folder: followed, the walk would never end
    execFileSync('mkfifo', [join(folder, 'pipe.dcm')]);
    const scan = await scanDicomPaths([folder], { strict: true });
    expect(scan.sources.map((s) => basename(s.name)).sort()).toEqual([readdirSync(folder).find((f) => f.startsWith('IM'))!, 'linked.dcm'].sort());
    expect(scan.groups[0]!.frames).toHaveLength(2);
  });

  it('a file of zeros (no DICM, group 0) is refused from its first bytes, whatever its size', async () => {
    const zeros = join(dir, 'zeros.dcm');
    writeFileSync(zeros, '');
    truncateSync(zeros, 64 * 1024 * 1024); // sparse: 64 MiB of zeros
    const t0 = performance.now();
    const scan = await scanDicomPaths([zeros]);
    expect(scan.skipped.map((s) => s.code)).toEqual(['DICOM_INVALID']);
    expect(scan.skipped[0]!.message).toMatch(/group 0x0000 does not start a data set/);
    // one 16 KiB read, not 64 MiB parsed as empty elements (that took seconds and gigabytes at 300 MB)
    expect(performance.now() - t0).toBeLessThan(2000);
  });

  it('a header longer than the 16 KiB prefix is read in longer prefixes, not whole: the image scans and loads', async () => {
    const folder = join(dir, 'paths-longheader');
    mkdirSync(folder);
    // a 300 kB private element before the pixels (the header ends past 256 KiB: 16 KiB, 256 KiB, then the file)
    const pixels = Uint16Array.from({ length: ROWS * COLS }, (_, i) => storedWord(0, i));
    const bytes = syntheticSlice({ seriesUid: '1.2.826.0.1.3680043.10.1099.32', instance: 1, rows: ROWS, columns: COLS, position: [0, 0, 0], pixels, bitsStored: 12, slope: null, extra: [{ tag: 0x00290010, vr: 'LO', value: 'PHYSIOTWIN TEST' }, { tag: 0x00291010, vr: 'OB', value: new Uint8Array(300_000).fill(5) }] });
    writeFileSync(join(folder, 'long.dcm'), bytes);
    const scan = await scanDicomPaths([folder], { strict: true, digest: true });
    const { volume } = await loadVolume(scan.groups[0]!, scan.sources);
    expect(firstDifference(volume.data, expectedVolume(ROWS, COLS, 1))).toBe(-1);
    expect(fileDigest(scan.sources[0]!).sha256).toBe(createHash('sha256').update(bytes).digest('hex'));
  });

  it('a file removed after the scan: the load fails with IO_NOT_FOUND naming it, not a raw ENOENT', async () => {
    const paths = writeSeries('paths-removed', 100, 100, 3); // past the header read: read again at load
    const scan = await scanDicomPaths([join(dir, 'paths-removed')], { strict: true });
    rmSync(paths[1]!);
    const err = await loadVolume(scan.groups[0]!, scan.sources).catch((e: unknown) => e);
    expect(codeOf(err)).toBe('IO_NOT_FOUND');
    expect(JSON.stringify((err as { location?: unknown }).location)).toContain(paths[1]);
  });
});
