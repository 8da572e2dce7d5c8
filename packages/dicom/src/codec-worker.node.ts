// Node's side of '#codec-worker' (package.json "imports", "node" condition; browsers get codec-worker.ts, which
// decodes on the calling thread). WASM codecs run in worker threads, where a decode that runs past its time limit
// (a synchronous WASM call cannot be aborted from its own thread) is stopped by terminating the thread.
import { createRequire } from 'node:module';
import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';
import { PhysiotwinError } from '@physiotwin/core';
import { codecSpec } from './codecs.js';
import type { CodecFrame, CodecJob, CodecPool } from './codecs.js';

const require = createRequire(import.meta.url);

/**
 * The worker: loads a codec's emscripten build on first use (silenced, as codecs.ts does), and for a job that asks
 * (`announce`: the main thread does not know the codec is loaded here) says `started` just before the synchronous
 * decode, where the main thread's clock for the time limit then starts, so that the one-time WASM compile never
 * counts against a frame; sends the decoded samples back (transferred). A codec that threw is instantiated afresh
 * next time (an emscripten abort leaves the module unusable).
 */
const WORKER_SOURCE = `
const { parentPort } = require('node:worker_threads');
const codecs = new Map();
function codec(path, ctor) {
  let p = codecs.get(path);
  if (!p) {
    p = (async () => {
      const m = require(path);
      const factory = m.default ?? m;
      const module = await factory({ print: () => undefined, printErr: () => undefined });
      if (typeof module[ctor] !== 'function') throw new Error('no ' + ctor);
      return module[ctor];
    })();
    codecs.set(path, p);
  }
  return p;
}
parentPort.on('message', async ({ id, path, ctor, frame, announce }) => {
  let Ctor;
  try {
    Ctor = await codec(path, ctor);
  } catch (e) {
    codecs.delete(path);
    parentPort.postMessage({ id, kind: 'missing', message: e && e.message ? e.message : String(e) });
    return;
  }
  const decoder = new Ctor();
  try {
    decoder.getEncodedBuffer(frame.length).set(frame);
    if (announce) parentPort.postMessage({ id, kind: 'started' });
    decoder.decode();
    const info = decoder.getFrameInfo();
    const bytes = decoder.getDecodedBuffer().slice();
    parentPort.postMessage({ id, kind: 'done', width: info.width, height: info.height, bitsPerSample: info.bitsPerSample,
      components: info.componentCount, signed: info.isSigned ?? false, bytes }, [bytes.buffer]);
  } catch (e) {
    codecs.delete(path);
    const message = typeof e === 'number' ? 'codec exception ' + e : e && e.message ? e.message : String(e);
    parentPort.postMessage({ id, kind: 'failed', message });
  } finally {
    try { decoder.delete(); } catch {}
  }
});
`;

type Reply =
  | { id: number; kind: 'started' }
  | { id: number; kind: 'missing' | 'failed'; message: string }
  | ({ id: number; kind: 'done' } & CodecFrame);

/** How long an idle worker is kept (its WASM heaps hold the largest frame it decoded) before it is terminated. */
const IDLE_MS = 5000;

// Without the process's execArgv: a loader (`--import tsx`) or `--input-type=module` would make the CommonJS worker
// source fail to start, and the worker needs neither (it loads the codec by its resolved path).
const startWorker = (source: string): Worker => new Worker(source, { eval: true, execArgv: [] });

/** Options of {@link createCodecPool}: only tests set them. */
export interface CodecPoolOptions {
  /** Most worker threads (default: 2, or 1 on a one-core machine). */
  size?: number | undefined;
  /** Starts a worker from the pool's worker script (default: `new Worker(source, { eval: true })`). */
  startWorker?: ((source: string) => Worker) | undefined;
  /** Resolves a codec's WASM entry to the file the worker loads (default: `require.resolve`). */
  resolve?: ((entry: string) => string) | undefined;
}

/** A worker thread and whether it is decoding. */
interface Slot {
  worker: Worker;
  busy: boolean;
  idleTimer?: ReturnType<typeof setTimeout> | undefined;
  /** Codec entries this worker has loaded and decoded with (the last decode did not throw). */
  loaded: Set<string>;
  /** The job in flight's handler of the worker's exit. */
  onExit?: ((code: number) => void) | undefined;
}

/**
 * A pool of codec worker threads (at most `size`, started on demand, each decoding one frame at a time). Workers
 * are unref'd while idle (they never keep a process alive) and terminated after {@link IDLE_MS} idle; a worker
 * that ran past a frame's time limit, was aborted or crashed is terminated and replaced by the next job.
 * @throws nothing; its `decode` throws as {@link CodecPool.decode} says.
 */
export function createCodecPool(options: CodecPoolOptions = {}): CodecPool {
  const size = Math.max(1, Math.floor(options.size ?? defaultSize()));
  const start = options.startWorker ?? startWorker;
  const slots: Slot[] = [];
  const waiting: (() => void)[] = [];
  let seq = 0;

  const retire = (slot: Slot) => {
    const i = slots.indexOf(slot);
    if (i >= 0) slots.splice(i, 1);
    clearTimeout(slot.idleTimer);
    slot.worker.unref();
    void slot.worker.terminate();
    // a place freed: the next waiting job may start a worker
    waiting.shift()?.();
  };
  const spawn = (): Slot => {
    const slot: Slot = { worker: start(WORKER_SOURCE), busy: false, loaded: new Set() };
    slot.worker.unref();
    slot.worker.on('error', () => undefined); // seen through 'exit'
    slot.worker.once('exit', (code) => {
      const i = slots.indexOf(slot);
      if (i >= 0) {
        slots.splice(i, 1);
        waiting.shift()?.();
      }
      clearTimeout(slot.idleTimer);
      slot.onExit?.(code);
    });
    slots.push(slot);
    return slot;
  };
  const acquire = async (signal: AbortSignal | undefined): Promise<Slot> => {
    for (;;) {
      throwIfAborted(signal);
      let slot = slots.find((s) => !s.busy);
      if (!slot && slots.length < size) {
        try {
          slot = spawn();
        } catch (e) {
          throw new PhysiotwinError('WORKER_CRASHED', `a codec worker thread could not start: ${e instanceof Error ? e.message : String(e)}`, { cause: e });
        }
      }
      if (slot) {
        slot.busy = true;
        clearTimeout(slot.idleTimer);
        return slot;
      }
      await new Promise<void>((resolve) => {
        const wake = () => {
          signal?.removeEventListener('abort', wake);
          const i = waiting.indexOf(wake);
          if (i >= 0) waiting.splice(i, 1);
          resolve();
        };
        waiting.push(wake);
        signal?.addEventListener('abort', wake, { once: true });
      });
    }
  };
  const release = (slot: Slot) => {
    slot.busy = false;
    slot.onExit = undefined;
    slot.worker.unref();
    if (slots.includes(slot)) {
      slot.idleTimer = setTimeout(() => {
        if (!slot.busy) retire(slot);
      }, IDLE_MS);
      slot.idleTimer.unref?.();
    }
    waiting.shift()?.();
  };

  const run = (slot: Slot, job: CodecJob, path: string): Promise<CodecFrame> =>
    new Promise<CodecFrame>((resolve, reject) => {
      const id = ++seq;
      const spec = codecSpec(job.codec);
      const { worker } = slot;
      const loc = { location: { file: job.source, tag: '(7FE0,0010)' } };
      let timer: ReturnType<typeof setTimeout> | undefined;
      let settled = false;
      const settle = (fn: () => void) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        worker.off('message', onMessage);
        job.signal?.removeEventListener('abort', onAbort);
        slot.onExit = undefined;
        fn();
      };
      const kill = (err: PhysiotwinError) => settle(() => {
        retire(slot);
        reject(err);
      });
      const onAbort = () => kill(new PhysiotwinError('ABORTED', `decoding ${job.frameLabel} was cancelled`, { cause: job.signal?.reason }));
      const startClock = () => {
        if (timer !== undefined) return;
        const started = performance.now();
        timer = setTimeout(() => kill(new PhysiotwinError('LIMIT_EXCEEDED',
          `decoding ${job.frameLabel} with ${spec.pkg} took longer than its ${Math.round(job.limitMs)} ms time limit (${job.limitText}; stopped after ${Math.round(performance.now() - started)} ms): the frame is corrupt or hostile, or the machine is very slow; raise the decodeTimeLimit option to allow more`,
          { ...loc, details: { frame: job.frameIndex, limitMs: job.limitMs, codec: spec.pkg } })), job.limitMs);
      };
      const onMessage = (m: Reply) => {
        if (m.id !== id) return;
        if (m.kind === 'started') {
          startClock();
          return;
        }
        if (m.kind === 'done') {
          slot.loaded.add(path);
          const { width, height, bitsPerSample, components, signed, bytes } = m;
          settle(() => resolve({ width, height, bitsPerSample, components, signed, bytes }));
        } else if (m.kind === 'missing') {
          slot.loaded.delete(path);
          settle(() => reject(new PhysiotwinError('DICOM_CODEC_MISSING', `decoding this transfer syntax needs the optional package ${spec.pkg} (it failed to load: ${m.message}): npm install ${spec.pkg}`, { details: { package: spec.pkg } })));
        } else {
          slot.loaded.delete(path); // the worker instantiates the codec afresh: its next decode announces itself
          settle(() => reject(new PhysiotwinError('DICOM_INVALID', `${spec.pkg} cannot decode ${job.frameLabel}: ${m.message}`, loc)));
        }
      };
      slot.onExit = (code) => settle(() => reject(new PhysiotwinError('WORKER_CRASHED', `the codec worker decoding ${job.frameLabel} with ${spec.pkg} exited (code ${code}) before it finished`, loc)));
      worker.on('message', onMessage);
      job.signal?.addEventListener('abort', onAbort, { once: true });
      // ref'd while it decodes: a pending decode keeps the process alive, as an in-thread one would
      worker.ref();
      const { frame } = job;
      const whole = frame.byteOffset === 0 && frame.byteLength === frame.buffer.byteLength && !(frame.buffer instanceof SharedArrayBuffer);
      // A worker known to have the codec loaded decodes at once: the clock starts now (the time in the message
      // queue counts, which only makes the limit stricter by microseconds); else when the worker says it started.
      const announce = !slot.loaded.has(path);
      worker.postMessage({ id, path, ctor: spec.ctor, frame, announce }, whole ? [frame.buffer as ArrayBuffer] : []);
      if (!announce) startClock();
    });

  return {
    size,
    async decode(job) {
      const spec = codecSpec(job.codec);
      let path: string;
      try {
        path = (options.resolve ?? require.resolve)(spec.entry);
      } catch (e) {
        throw new PhysiotwinError('DICOM_CODEC_MISSING', `decoding this transfer syntax needs the optional package ${spec.pkg}: npm install ${spec.pkg}`, {
          cause: e,
          details: { package: spec.pkg },
        });
      }
      const slot = await acquire(job.signal);
      try {
        throwIfAborted(job.signal);
        return await run(slot, job, path);
      } finally {
        release(slot);
      }
    },
    close() {
      for (const s of [...slots]) retire(s);
    },
  };

  function throwIfAborted(signal: AbortSignal | undefined) {
    if (signal?.aborted) throw new PhysiotwinError('ABORTED', 'decoding was cancelled', { cause: signal.reason });
  }
}

function defaultSize(): number {
  return Math.min(2, Math.max(1, availableParallelism()));
}

let shared: CodecPool | undefined | null;

/**
 * The process's codec pool (created on first use), or undefined where worker threads cannot start.
 * @throws nothing.
 */
export function codecPool(): CodecPool | undefined {
  if (shared === undefined) {
    try {
      shared = createCodecPool();
    } catch {
      shared = null;
    }
  }
  return shared ?? undefined;
}
