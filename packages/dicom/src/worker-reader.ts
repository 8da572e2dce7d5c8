/**
 * The worker thread behind `fileSource`'s `sharedReader` (Node only). Internal: this module is not in the package's
 * exports map; node.ts uses it, and its tests start readers whose workers they watch or break (`startWorker`).
 */
import { Worker } from 'node:worker_threads';
import type { DicomSource, SharedReader, SharedReadJob } from './series.js';

/** Options of {@link createWorkerReader}: only tests set them. */
export interface WorkerReaderOptions {
  /** Starts a worker from the reader's worker script (default: `new Worker(source, { eval: true })`). */
  startWorker?: ((source: string) => Worker) | undefined;
}

const startWorker = (source: string): Worker => new Worker(source, { eval: true });

/** Paths of the sources made by {@link fileSource}: the worker opens the files itself. */
export const filePaths = new WeakMap<DicomSource, string>();

/** SHA-256 (hex) and size of a file's bytes, as a run manifest records its inputs. */
export interface FileDigest {
  sha256: string;
  bytes: number;
}

/** Digests of file sources taken while a read had the file's bytes in hand (node.ts `fileDigest` returns them). */
export const digests = new WeakMap<DicomSource, FileDigest>();

/**
 * Whole files that node.ts keeps from a header read, by source (its pixel reads copy from them). The worker never
 * reads those sources (it would read the file as it is now, which may no longer be the bytes the scan read and
 * hashed), so a stack with one is read on the calling thread.
 */
export const keptFiles = new WeakMap<DicomSource, Uint8Array>();

/** File sources whose digest is wanted: a pixel read that ends the file hashes it (see node.ts `readIntoSync`). */
export const wantDigest = new WeakSet<DicomSource>();

/**
 * A pixel read at `position` that ends its file hashes the whole file when the bytes before it are at most this
 * many (read again, small): header + pixels, without reading the pixels twice.
 */
export const DIGEST_PREFIX_MAX = 256 * 1024;

// Shared control block of a job, in Int32 slots: the next read to claim, reads the worker has claimed and not
// finished (raised before it claims, so the main thread never misses one), the failures it recorded, their indices.
const NEXT = 0;
const IN_FLIGHT = 1;
const FAILED = 2;
const FAILED_LIST = 3;

/** The worker: claims reads until none is left, reading each file range straight into the shared buffer. */
const WORKER_SOURCE = `
const { parentPort } = require('node:worker_threads');
const { openSync, readSync, closeSync, fstatSync } = require('node:fs');
const { createHash } = require('node:crypto');
parentPort.on('message', ({ control, buffer, reads, hashes, sizes }) => {
  const c = new Int32Array(control);
  const bytes = new Uint8Array(buffer);
  const digestBytes = new Uint8Array(hashes);
  const digestSizes = new Float64Array(sizes);
  for (;;) {
    Atomics.add(c, ${IN_FLIGHT}, 1);
    const i = Atomics.add(c, ${NEXT}, 1);
    if (i < reads.length) {
      const [path, position, offset, length, digest] = reads[i];
      try {
        const fd = openSync(path, 'r');
        try {
          for (let done = 0; done < length; ) {
            const n = readSync(fd, bytes, offset + done, length - done, position + done);
            if (n === 0) throw new Error('end of file');
            done += n;
          }
          // the whole file is header + these pixels: hash it now (the caller's manifest needs it)
          if (digest) {
            const size = fstatSync(fd).size;
            if (position + length === size && position <= ${DIGEST_PREFIX_MAX}) {
              const prefix = Buffer.alloc(position);
              for (let done = 0; done < position; ) {
                const n = readSync(fd, prefix, done, position - done, done);
                if (n === 0) throw new Error('end of file');
                done += n;
              }
              digestBytes.set(createHash('sha256').update(prefix).update(bytes.subarray(offset, offset + length)).digest(), 32 * i);
              digestSizes[i] = size;
            }
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

/** Worker threads alive at once per reader: one reading (or terminating), one spare. */
const MAX_THREADS = 2;

/**
 * One worker thread that reads files beside the main thread (see {@link SharedReader}). A worker that has seen a
 * job's buffer keeps it alive until that worker's isolate is collected, which an idle worker never does: so each
 * worker serves one job, is terminated when it settles, and a fresh one is started for the next. Workers are
 * unref'd: they never keep a process alive. At most {@link MAX_THREADS} are alive at once, those still
 * terminating included (termination can lag far behind back-to-back loads on a busy machine: overlapping loads
 * once left 15 alive after 10 rounds); a load that finds none to take reads on its own thread.
 */
export function createWorkerReader(options: WorkerReaderOptions = {}): SharedReader {
  interface Thread {
    worker: Worker;
    exited: boolean;
    /** Wakes a job waiting on this worker. */
    onExit?: () => void;
  }
  let idle: Thread | undefined;
  /** Workers started and not yet exited. */
  let alive = 0;
  /** A new worker when fewer than MAX_THREADS are alive (and worker threads exist here). */
  const spawn = (): Thread | undefined => {
    if (alive >= MAX_THREADS) return undefined;
    try {
      const t: Thread = { worker: (options.startWorker ?? startWorker)(WORKER_SOURCE), exited: false };
      t.worker.unref();
      t.worker.on('error', () => undefined); // a failed start or a crash is seen through 'exit'
      alive++;
      t.worker.once('exit', () => {
        t.exited = true;
        alive--;
        // a job's worker gone: the spare that the cap kept from starting when that job settled
        if (t.onExit) spareUp();
        t.onExit?.();
      });
      return t;
    } catch {
      return undefined; // no worker threads here: loadVolume reads on the calling thread only
    }
  };
  /** One spare worker at most: overlapping loads must not each leave one behind. */
  const spareUp = () => {
    if (!idle || idle.exited) idle = spawn();
  };
  return {
    prepare: spareUp,
    allocate: (byteLength) => (typeof SharedArrayBuffer === 'function' ? new SharedArrayBuffer(byteLength) : undefined),
    share: (buffer, reads): SharedReadJob | undefined => {
      if (typeof waitAsync !== 'function') return undefined; // a runtime without Atomics.waitAsync reads on one thread
      const list: [string, number, number, number, boolean][] = [];
      for (const r of reads) {
        const path = filePaths.get(r.source);
        if (path === undefined || keptFiles.has(r.source)) return undefined;
        list.push([path, r.position, r.byteOffset, r.length, wantDigest.has(r.source) && !digests.has(r.source)]);
      }
      const thread = idle && !idle.exited ? idle : spawn();
      idle = undefined;
      if (!thread) return undefined;
      const { worker } = thread;
      const c = new Int32Array(new SharedArrayBuffer((FAILED_LIST + reads.length) * 4));
      thread.onExit = () => Atomics.notify(c, IN_FLIGHT);
      // ref'd while its job runs: Atomics.waitAsync alone does not keep Node's event loop alive
      worker.ref();
      const hashes = new Uint8Array(new SharedArrayBuffer(32 * reads.length));
      const sizes = new Float64Array(new SharedArrayBuffer(8 * reads.length));
      worker.postMessage({ control: c.buffer, buffer, reads: list, hashes: hashes.buffer, sizes: sizes.buffer });
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
          spareUp();
          // a worker that died mid-job may have left any read unfinished: report every one as failed
          if (thread.exited) return Array.from({ length: n }, (_, i) => i);
          for (let i = 0; i < n; i++) {
            if (sizes[i]! > 0) digests.set(reads[i]!.source, { sha256: Buffer.from(hashes.subarray(32 * i, 32 * i + 32)).toString('hex'), bytes: sizes[i]! });
          }
          return Array.from(c.subarray(FAILED_LIST, FAILED_LIST + Atomics.load(c, FAILED)));
        },
      };
    },
  };
}

/** `Atomics.waitAsync` (Node 16+; not typed by the ES2022 lib), or undefined where the runtime lacks it. */
const waitAsync = (Atomics as unknown as { waitAsync?: (a: Int32Array, i: number, v: number, t: number) => { async: boolean; value: Promise<string> | string } }).waitAsync;
