import { closeSync, fstatSync, openSync, readSync } from 'node:fs';
import { readFile, readdir, stat } from 'node:fs/promises';

import { dirname, join } from 'node:path';
import { Worker } from 'node:worker_threads';
import { PhysiotwinError } from '@physiotwin/core';
import { parseDicom } from './parse.js';
import { isDicomdir, readDicomdir } from './dicomdir.js';
import { scanDicom } from './series.js';
import type { DicomSource, ScanOptions, ScanResult, SharedReader, SharedReadJob } from './series.js';

/** Bytes read for a header scan; longer headers (large private blocks) fall back to reading the whole file. */
const HEADER_PREFIX = 16 * 1024;

/**
 * A source that reads the file from disk each time it is needed (nothing kept in memory between uses):
 * a 16 KiB prefix for the header scan, and native pixel data straight into the volume. The reads are
 * synchronous: from the page cache they take microseconds, while round trips through libuv's thread pool
 * dominated the scan of a series. To use the second core, `loadVolume` shares large stacks with a worker thread
 * (`sharedReader`): faulting in the fresh volume's pages is most of a load's cost, and on the 2-core benchmark
 * machine reads on a libuv pool thread did not run in parallel with the main thread's while a worker thread's did
 * (`node --expose-gc scripts/measure-parallel-faults.mjs`: 84 MB in 31-32 ms on the main thread, 30-33 ms with half on
 * the pool, 17-18 ms with half on a worker).
 */
export function fileSource(path: string): DicomSource {
  const source: DicomSource = {
    name: path,
    sharedReader: workerReader,
    read: async () => new Uint8Array(await readFile(path)),
    readHeader: async () => {
      const fd = openSync(path, 'r');
      try {
        const size = fstatSync(fd).size;
        const bytes = new Uint8Array(Math.min(size, HEADER_PREFIX));
        const n = readSync(fd, bytes, 0, bytes.length, 0);
        return { bytes: bytes.subarray(0, n), size };
      } finally {
        closeSync(fd);
      }
    },
    // from the page cache a read takes microseconds: done here, like the header read
    readInto: async (position, into) => source.readIntoSync!(position, into),
    readIntoSync: (position, into) => {
      const fd = openSync(path, 'r');
      try {
        for (let done = 0; done < into.length; ) done += bytesRead(readSync(fd, into, done, into.length - done, position + done), done, into.length, path);
      } finally {
        closeSync(fd);
      }
    },
  };
  filePaths.set(source, path);
  return source;
}

/** Paths of the sources made by {@link fileSource}: the worker opens the files itself. */
const filePaths = new WeakMap<DicomSource, string>();

// Shared control block of a job, in Int32 slots: the next read to claim, reads the worker has claimed and not
// finished (raised before it claims, so the main thread never misses one), the failures it recorded, their indices.
const NEXT = 0;
const IN_FLIGHT = 1;
const FAILED = 2;
const FAILED_LIST = 3;

/** The worker: claims reads until none is left, reading each file range straight into the shared buffer. */
const WORKER_SOURCE = `
const { parentPort } = require('node:worker_threads');
const { openSync, readSync, closeSync } = require('node:fs');
parentPort.on('message', ({ control, buffer, reads }) => {
  const c = new Int32Array(control);
  const bytes = new Uint8Array(buffer);
  for (;;) {
    Atomics.add(c, ${IN_FLIGHT}, 1);
    const i = Atomics.add(c, ${NEXT}, 1);
    if (i < reads.length) {
      const [path, position, offset, length] = reads[i];
      try {
        const fd = openSync(path, 'r');
        try {
          for (let done = 0; done < length; ) {
            const n = readSync(fd, bytes, offset + done, length - done, position + done);
            if (n === 0) throw new Error('end of file');
            done += n;
          }
        } finally {
          closeSync(fd);
        }
      } catch {
        c[${FAILED_LIST} + Atomics.add(c, ${FAILED}, 1)] = i;
      }
    }
    Atomics.sub(c, ${IN_FLIGHT}, 1);
    Atomics.notify(c, ${IN_FLIGHT});
    if (i >= reads.length) break;
  }
});
`;

/**
 * One worker thread that reads files beside the main thread (see {@link SharedReader}). A worker that has seen a
 * job's buffer keeps it alive until that worker's isolate is collected, which an idle worker never does: so each
 * worker serves one job, is terminated when it settles, and a fresh one is started for the next. Workers are
 * unref'd: they never keep a process alive.
 */
function createWorkerReader(): SharedReader {
  interface Thread {
    worker: Worker;
    exited: boolean;
    /** Wakes a job waiting on this worker. */
    onExit?: () => void;
  }
  let idle: Thread | undefined;
  const spawn = (): Thread | undefined => {
    try {
      const t: Thread = { worker: new Worker(WORKER_SOURCE, { eval: true }), exited: false };
      t.worker.unref();
      t.worker.on('error', () => undefined); // a failed start or a crash is seen through 'exit'
      t.worker.once('exit', () => {
        t.exited = true;
        t.onExit?.();
      });
      return t;
    } catch {
      return undefined; // no worker threads here: loadVolume reads on the calling thread only
    }
  };
  return {
    allocate: (byteLength) => (typeof SharedArrayBuffer === 'function' ? new SharedArrayBuffer(byteLength) : undefined),
    share: (buffer, reads): SharedReadJob | undefined => {
      if (typeof waitAsync !== 'function') return undefined; // a runtime without Atomics.waitAsync reads on one thread
      const list: [string, number, number, number][] = [];
      for (const r of reads) {
        const path = filePaths.get(r.source);
        if (path === undefined) return undefined;
        list.push([path, r.position, r.byteOffset, r.length]);
      }
      const thread = idle && !idle.exited ? idle : spawn();
      idle = undefined;
      if (!thread) return undefined;
      const { worker } = thread;
      const c = new Int32Array(new SharedArrayBuffer((FAILED_LIST + reads.length) * 4));
      thread.onExit = () => Atomics.notify(c, IN_FLIGHT);
      // ref'd while its job runs: Atomics.waitAsync alone does not keep Node's event loop alive
      worker.ref();
      worker.postMessage({ control: c.buffer, buffer, reads: list });
      const n = reads.length;
      return {
        claim: () => Atomics.add(c, NEXT, 1),
        stop: () => Atomics.store(c, NEXT, n),
        settle: async () => {
          // Every read claimed (reads nobody claimed yet are left to the worker) and none in flight. NEXT is read
          // before IN_FLIGHT: the worker raises IN_FLIGHT before it claims, so once NEXT >= n every claim below n
          // is counted in the IN_FLIGHT read after it (the other order could miss the last claim).
          while (!thread.exited) {
            const next = Atomics.load(c, NEXT);
            const v = Atomics.load(c, IN_FLIGHT);
            if (next >= n && v === 0) break;
            // 100 ms: wake up now and then to see whether the worker exited (its notify may come before our wait)
            const w = waitAsync(c, IN_FLIGHT, v, 100);
            if (w.async) await w.value;
          }
          worker.unref();
          void worker.terminate();
          // one spare worker at most: overlapping loads must not each leave one behind
          if (!idle || idle.exited) idle = spawn();
          // a worker that died mid-job may have left any read unfinished: report every one as failed
          if (thread.exited) return Array.from({ length: n }, (_, i) => i);
          return Array.from(c.subarray(FAILED_LIST, FAILED_LIST + Atomics.load(c, FAILED)));
        },
      };
    },
  };
}

/** `Atomics.waitAsync` (Node 16+; not typed by the ES2022 lib), or undefined where the runtime lacks it. */
const waitAsync = (Atomics as unknown as { waitAsync?: (a: Int32Array, i: number, v: number, t: number) => { async: boolean; value: Promise<string> | string } }).waitAsync;

const workerReader = createWorkerReader();

/** `n`, the bytes one read returned, unless the file ended (it was cut after the scan). */
function bytesRead(n: number, done: number, want: number, path: string): number {
  if (n === 0) {
    throw new PhysiotwinError('DICOM_TRUNCATED', `pixel data ends after ${done} of ${want} bytes`, { location: { file: path, tag: '(7FE0,0010)' } });
  }
  return n;
}

async function walk(dir: string, out: string[]): Promise<void> {
  const entries = await readdir(dir, { withFileTypes: true });
  entries.sort((a, b) => a.name.localeCompare(b.name));
  for (const e of entries) {
    const p = join(dir, e.name);
    if (e.isDirectory()) await walk(p, out);
    else if (e.isFile()) out.push(p);
  }
}

/**
 * Expands paths into DICOM files: files as given, folders recursively, and a DICOMDIR into the files its
 * records reference (resolved against the DICOMDIR's folder; missing ones are an error).
 * @throws PhysiotwinError `IO_NOT_FOUND` for a missing path or referenced file; `DICOM_*` for a bad DICOMDIR.
 */
export async function expandDicomPaths(paths: string[]): Promise<string[]> {
  const out: string[] = [];
  for (const p of paths) {
    let st;
    try {
      st = await stat(p);
    } catch (e) {
      throw new PhysiotwinError('IO_NOT_FOUND', `no such file or folder: ${p}`, { location: { file: p }, cause: e });
    }
    if (st.isDirectory()) {
      await walk(p, out);
      continue;
    }
    let dicomdir = false;
    try {
      // the meta header (MediaStorageSOPClassUID) sits in the first bytes: no need to read image files whole here
      const { bytes } = await fileSource(p).readHeader!();
      dicomdir = isDicomdir(parseDicom(bytes, { source: p, untilTag: 'x00041220' }));
    } catch {
      dicomdir = false; // not parseable as DICOM: scanning reports it
    }
    if (!dicomdir) {
      out.push(p);
      continue;
    }
    const records = readDicomdir(parseDicom(new Uint8Array(await readFile(p)), { source: p }));
    for (const r of records) {
      if (!r.fileId) continue;
      const file = join(dirname(p), ...r.fileId);
      try {
        await stat(file);
      } catch (e) {
        throw new PhysiotwinError('IO_NOT_FOUND', `DICOMDIR ${p} references ${r.fileId.join('\\')}, which does not exist`, { location: { file: p }, cause: e });
      }
      out.push(file);
    }
  }
  return [...new Set(out)];
}

/**
 * Scans files, folders (recursive) and DICOMDIRs into series groups (see `scanDicom`). Files are read again
 * when a volume is loaded, so memory holds one file at a time.
 * @example
 * ```ts
 * const scan = await scanDicomPaths(['study/DICOMDIR']);
 * const { volume } = await loadVolume(scan.groups[0], scan.sources, { spacing: 'report' });
 * ```
 */
export async function scanDicomPaths(paths: string[], options: ScanOptions = {}): Promise<ScanResult> {
  const files = await expandDicomPaths(paths);
  return scanDicom(files.map(fileSource), options);
}
