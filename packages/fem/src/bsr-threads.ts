// The symmetric (upper-triangle) BSR matvec of CG on several threads: the calling thread and worker_threads
// Workers run the same WebAssembly module (bsr-wasm.ts's 'range' export) on one shared WebAssembly.Memory, each
// on a contiguous range of block rows holding about the same number of stored blocks.
//
// Races: row i of the upper triangle adds A_ij x_j into y_i and scatters A_ij^T x_i into y_j for j > i, so a
// thread's scatters can land in a later thread's rows. A thread's rows whose columns all stay inside its range (the
// "interior", most rows of a banded ordering) add straight into y, which only that thread writes during the
// product; its remaining rows (from the first row with a column beyond its range) add into an accumulator of its
// own covering those rows up to their largest column. After a barrier each thread finishes its own rows of y:
// y_i += accumulator_0[i] + accumulator_1[i] + ... in thread order. The order of every sum is fixed by the matrix
// and the thread count, so a product gives the same bits on every run with that many threads; it differs from the
// one-thread product by the reordering of a few sums (within 1e-13 (|A| |x|)_i, bsr-threads.test.ts).
//
// Synchronisation: Atomics on Int32 control words at the start of the memory. The calling thread bumps a
// generation word and notifies, runs its own share, meets the workers at the barrier, reduces its rows and waits
// for the workers' done count: each wait spins a little (a worker is usually woken within microseconds of the
// product before it), then sleeps in Atomics.wait. The calling thread blocks in Atomics.wait, which Node's main
// thread and Web Workers allow and a browser page's main thread does not: there '#threads' has no workers and the
// kernel runs on one thread (bsr-wasm.ts).
import { PhysiotwinError } from '@physiotwin/core';
import { cpuCount, spawnThread } from '#threads';
import type { BsrMatrix } from './bsr.js';
import type { ThreadHandle } from './threads-types.js';

// Control words: Int32 indices, 64 bytes (one cache line) apart.
const GEN = 0, CMD = 16, ARRIVE = 32, DONE = 48, READY = 64, ERROR = 80, ABORT = 96, FAULT = 112, MESSAGE_LENGTH = 128;
const MESSAGE_AT = 1024;
const MESSAGE_BYTES = 1024;
const CONTROL_BYTES = 2048;
/** Words per thread in the partition table: first row, end row, first accumulated row, end of the accumulator, its byte address. */
const TABLE = 5;
/** Most threads a kernel starts. */
const MAX_THREADS = 64;
/** Largest wasm memory the kernel asks for (as bsr-wasm.ts). */
const MAX_WASM_BYTES = 2 ** 31;

/**
 * 'auto' gives a kernel one thread per this many bytes of streamed matrix (capped at os.availableParallelism()):
 * below about 2 MB (about 1e4 DOF of the T4 cube) the product takes tens of microseconds and waking a worker
 * costs as much as it saves. Measured with `FEM_BENCH=matvec npm run bench -- fem` (see packages/fem/README.md).
 */
export const MIN_BYTES_PER_THREAD = 2_000_000;
/** Spin iterations (Atomics.load) before a wait sleeps in Atomics.wait. */
const SPIN = 20_000;
/** Default of `stallMs`. */
const STALL_MS = 30_000;

/** What each thread's share needs: plain numbers and views, so that the same function runs in every thread. */
interface PartContext {
  /** The module's 'range' export: rows from .. n-1 added into y at y + 24 i (not cleared). */
  run: (n: number, rp: number, cl: number, vl: number, xp: number, yp: number, from: number) => void;
  /** The whole memory as f64. */
  f: Float64Array;
  /** Control words. */
  c: Int32Array;
  /** Partition table, TABLE words per thread. */
  p: Int32Array;
  threads: number;
  rp: number;
  cl: number;
  vl: number;
  x0: number;
  y0: number;
  pairStride: number;
  spin: number;
  /** How long a barrier waits before it gives up (0: no limit; the calling thread's stall check). */
  stallMs: number;
}

/**
 * One thread's share of y = A x on vector pair `pair`: clear its rows of y and its accumulator, add its interior
 * rows into y and its other rows into the accumulator, wait for every thread at the barrier, then add the
 * accumulators that reach its rows into them in thread order. Returns 0, 1 when another thread failed (the abort
 * word is set), 2 when the barrier waited longer than `stallMs`.
 * Self-contained (no variable from outside, no inner function): the workers run its source text.
 */
function threadPart(ctx: PartContext, t: number, pair: number): number {
  const c = ctx.c, p = ctx.p, f = ctx.f;
  const xp = ctx.x0 + pair * ctx.pairStride;
  const yp = ctx.y0 + pair * ctx.pairStride;
  const q = 5 * t;
  const from = p[q]!, to = p[q + 1]!, split = p[q + 2]!, accTo = p[q + 3]!, accAt = p[q + 4]!;
  const y = yp / 8;
  f.fill(0, y + 3 * from, y + 3 * to);
  f.fill(0, accAt / 8, accAt / 8 + 3 * (accTo - split));
  if (split > from) ctx.run(split, ctx.rp, ctx.cl, ctx.vl, xp, yp, from);
  // The accumulator's row split is at accAt: its base is 24 split bytes lower (wasm's i32 arithmetic wraps).
  if (to > split) ctx.run(to, ctx.rp, ctx.cl, ctx.vl, xp, accAt - 24 * split, split);
  // Barrier: the 32nd control word counts arrivals (the calling thread cleared it before the product).
  if (Atomics.add(c, 32, 1) + 1 === ctx.threads) Atomics.notify(c, 32);
  let v = Atomics.load(c, 32);
  let spins = 0;
  let since = -1;
  while (v < ctx.threads) {
    if (Atomics.load(c, 96) !== 0) return 1;
    if (spins < ctx.spin) spins++;
    else {
      if (since < 0) since = performance.now();
      else if (ctx.stallMs > 0 && performance.now() - since > ctx.stallMs) return 2;
      Atomics.wait(c, 32, v, 50);
    }
    v = Atomics.load(c, 32);
  }
  for (let u = 0; u <= t; u++) {
    const o = 5 * u;
    const lo = Math.max(from, p[o + 2]!), hi = Math.min(to, p[o + 3]!);
    const base = p[o + 4]! / 8 - 3 * p[o + 2]!;
    for (let i = 3 * lo; i < 3 * hi; i++) f[y + i] = f[y + i]! + f[base + i]!;
  }
  return 0;
}

/** The workers' script: instantiate the module on the shared memory, say ready, then run a share per generation. */
const workerSource = (): string => `'use strict';
const { workerData: d } = require('node:worker_threads');
const threadPart = ${threadPart.toString()};
const c = new Int32Array(d.memory.buffer, 0, ${CONTROL_BYTES / 4});
try {
  const run = new WebAssembly.Instance(d.module, { m: { memory: d.memory } }).exports.range;
  const ctx = { ...d.ctx, run, f: new Float64Array(d.memory.buffer), c, p: new Int32Array(d.memory.buffer, d.tableAt, ${TABLE} * d.ctx.threads) };
  if (Atomics.add(c, ${READY}, 1) + 1 === ctx.threads - 1) Atomics.notify(c, ${READY});
  let seen = 0;
  for (;;) {
    let g = Atomics.load(c, ${GEN});
    for (let s = 0; g === seen && s < ctx.spin; s++) g = Atomics.load(c, ${GEN});
    while (g === seen) {
      Atomics.wait(c, ${GEN}, seen);
      g = Atomics.load(c, ${GEN});
    }
    seen = g;
    const cmd = Atomics.load(c, ${CMD});
    if (cmd < 0 || Atomics.load(c, ${ABORT}) !== 0) break;
    const fault = Atomics.load(c, ${FAULT});
    if (fault === 1 && d.t === ctx.threads - 1) throw new Error('fault injected by a test');
    if (fault === 2 && d.t === ctx.threads - 1) Atomics.wait(c, ${FAULT}, 2);
    if (threadPart(ctx, d.t, cmd) !== 0) break;
    if (Atomics.add(c, ${DONE}, 1) + 1 === ctx.threads - 1) Atomics.notify(c, ${DONE});
  }
} catch (e) {
  if (Atomics.compareExchange(c, ${ERROR}, 0, d.t + 1) === 0) {
    const text = String((e && e.stack) || e).slice(0, ${MESSAGE_BYTES});
    const m = new Uint8Array(d.memory.buffer, ${MESSAGE_AT}, ${MESSAGE_BYTES});
    for (let i = 0; i < text.length; i++) m[i] = text.charCodeAt(i) & 0x7f;
    Atomics.store(c, ${MESSAGE_LENGTH}, text.length);
  }
  Atomics.store(c, ${ABORT}, 1);
  for (const w of [${ARRIVE}, ${DONE}, ${READY}]) Atomics.notify(c, w);
}
`;

/** Whether this engine can run the threaded kernel: SharedArrayBuffer, Atomics and worker threads. */
function threadsSupported(): boolean {
  return typeof SharedArrayBuffer === 'function' && typeof Atomics === 'object' && typeof Atomics.wait === 'function';
}

/**
 * How many threads a symmetric kernel of `matrixBytes` streamed bytes and `rows` block rows runs on: 'auto' one
 * per {@link MIN_BYTES_PER_THREAD} bytes, at most os.availableParallelism(); a number exactly that many (it may
 * exceed the cores: tests force threads on small matrices), at most one per block row and 64; 1 without
 * SharedArrayBuffer and Atomics.
 * @throws nothing
 */
export function matvecThreads(request: number | 'auto', matrixBytes: number, rows: number): number {
  if (!threadsSupported()) return 1;
  const wanted = request === 'auto' ? Math.min(cpuCount(), Math.floor(matrixBytes / MIN_BYTES_PER_THREAD)) : Math.floor(request);
  return Math.max(1, Math.min(wanted, rows, MAX_THREADS));
}

/** Contiguous block rows per thread, balanced by stored blocks plus one per row (its x/y traffic and loop). */
function partition(m: BsrMatrix, threads: number): Int32Array {
  const { n, rowPtr, cols } = m;
  const total = rowPtr[n]! + n;
  const starts = [0];
  let i = 0;
  for (let t = 1; t < threads; t++) {
    const target = (total * t) / threads;
    while (i < n && rowPtr[i]! + i < target) i++;
    starts.push(i);
  }
  starts.push(n);
  const table = new Int32Array(TABLE * threads);
  for (let t = 0; t < threads; t++) {
    const from = starts[t]!, to = starts[t + 1]!;
    // The first row with a column beyond the range; its rows and the ones after it go to the accumulator.
    let split = from;
    while (split < to && cols[rowPtr[split + 1]! - 1]! < to) split++;
    let accTo = split === to ? split : to;
    for (let r = split; r < to; r++) accTo = Math.max(accTo, cols[rowPtr[r + 1]! - 1]! + 1);
    table.set([from, to, split, accTo, 0], TABLE * t);
  }
  return table;
}

/** A threaded symmetric kernel: what bsr-wasm.ts's `bsrKernel` wraps. */
export interface ThreadedKernel {
  x: Float64Array;
  y: Float64Array;
  readonly threads: number;
  multiply(): void;
  pair(i: number): { x: Float64Array; y: Float64Array; multiply(): void };
  dispose(): void;
}

interface Internals {
  handles: ThreadHandle[];
  control: Int32Array;
}
const internals = new WeakMap<object, Internals>();
/** Threaded kernels whose workers run (not disposed, not failed). */
let live = 0;

/** How many threaded kernels hold running workers now (for tests: a solve that ends, fails or is aborted leaves none). @throws nothing */
export function liveThreadedKernels(): number {
  return live;
}

/** Stops the workers of a kernel that was not disposed when it is collected (they would idle in Atomics.wait). */
const collected = typeof FinalizationRegistry === 'function' ? new FinalizationRegistry<Internals>((s) => stop(s)) : undefined;

function stop(s: Internals): void {
  Atomics.store(s.control, CMD, -1);
  Atomics.add(s.control, GEN, 1);
  Atomics.notify(s.control, GEN);
  for (const h of s.handles) void h.terminate().catch(() => undefined);
}

/**
 * The threaded form of the symmetric kernel on `m` (an upper triangle with each row's diagonal block first), or
 * null where it cannot run (no worker threads or shared memory in this engine, no room for the memory): the
 * caller then uses the one-thread kernel. `module` is bsr-wasm.ts's module compiled with a shared memory import.
 * The workers start here; the first product waits until they are ready. `dispose()` stops them (the kernel then
 * runs on the calling thread alone); they are unref'd, so a kernel never disposed does not keep Node running.
 * @param options.stallMs how long the calling thread waits for a worker before it declares it dead (default 30 s)
 * @throws nothing here; `multiply()` throws PhysiotwinError `WORKER_CRASHED` when a worker failed, exited or
 *   stopped answering (the kernel's workers are then stopped and later products throw it again).
 */
export function threadedSymmetricKernel(m: BsrMatrix, module: WebAssembly.Module, options: { pairs: number; threads: number; stallMs?: number }): ThreadedKernel | null {
  const { n } = m;
  const threads = options.threads;
  const pairs = options.pairs;
  const nnzb = m.rowPtr[n]!;
  const table = partition(m, threads);
  const valuesAt = CONTROL_BYTES;
  const x0 = valuesAt + 72 * nnzb;
  const y0 = x0 + 24 * n;
  const pairStride = 48 * n;
  const colsAt = x0 + pairStride * pairs;
  const rowPtrAt = colsAt + 4 * nnzb;
  const tableAt = rowPtrAt + 4 * (n + 1);
  let at = Math.ceil((tableAt + 4 * table.length) / 8) * 8;
  for (let t = 0; t < threads; t++) {
    table[TABLE * t + 4] = at;
    at += 24 * (table[TABLE * t + 3]! - table[TABLE * t + 2]!);
  }
  if (at > MAX_WASM_BYTES) return null;
  let memory: WebAssembly.Memory;
  try {
    const pages = Math.ceil(at / 65536);
    memory = new WebAssembly.Memory({ initial: pages, maximum: pages, shared: true });
  } catch {
    return null; // no shared memory (no cross-origin isolation) or no room for it
  }
  const buf = memory.buffer;
  new Float64Array(buf, valuesAt, 9 * nnzb).set(m.values);
  const cols = new Int32Array(buf, colsAt, nnzb);
  for (let k = 0; k < nnzb; k++) cols[k] = 24 * m.cols[k]!;
  new Int32Array(buf, rowPtrAt, n + 1).set(m.rowPtr);
  new Int32Array(buf, tableAt, table.length).set(table);
  const exports = new WebAssembly.Instance(module, { m: { memory } }).exports as Record<'symmetric' | 'range', PartContext['run']>;
  const c = new Int32Array(buf, 0, CONTROL_BYTES / 4);
  const shared = { threads, rp: rowPtrAt, cl: colsAt, vl: valuesAt, x0, y0, pairStride, spin: SPIN };
  const stallMs = options.stallMs ?? STALL_MS;
  const ctx: PartContext = { ...shared, stallMs, run: exports.range, f: new Float64Array(buf), c, p: new Int32Array(buf, tableAt, table.length) };

  const handles: ThreadHandle[] = [];
  const state: { ready: boolean; disposed: boolean; dead?: string } = { ready: false, disposed: false };
  const s: Internals = { handles, control: c };
  /** Stops the workers after a failure; later products throw `WORKER_CRASHED` with the first reason. */
  const kill = (reason: string): void => {
    if (state.dead) return;
    state.dead = reason;
    if (!state.disposed) live--;
    Atomics.store(c, ABORT, 1);
    stop(s);
  };
  const fail = (reason: string): never => {
    kill(reason);
    throw new PhysiotwinError('WORKER_CRASHED', `the threaded matvec stopped: ${state.dead}`);
  };
  const workerMessage = (): string => {
    const length = Atomics.load(c, MESSAGE_LENGTH);
    const who = Atomics.load(c, ERROR);
    const text = length > 0 ? String.fromCharCode(...new Uint8Array(buf, MESSAGE_AT, length)) : 'no message';
    return who > 0 ? `worker ${who - 1} of ${threads} failed: ${text}` : `a worker of ${threads} failed: ${text}`;
  };
  try {
    const source = workerSource();
    for (let t = 1; t < threads; t++) {
      const h = spawnThread(source, { module, memory, t, tableAt, ctx: { ...shared, stallMs: 0 } });
      if (!h) throw new Error('no worker threads');
      handles.push(h);
      h.unref();
      h.on('error', (e) => {
        if (!state.disposed) kill(`worker ${t} of ${threads} failed: ${e.message}`);
      });
      h.on('exit', (code) => {
        if (!state.disposed) kill(`worker ${t} of ${threads} exited (code ${code})`);
      });
    }
  } catch {
    state.disposed = true;
    stop(s);
    return null; // the engine would not start a thread: one thread
  }

  /** Waits until control word `word` reaches `target`; fails on a worker's error or after stallMs. */
  const waitFor = (word: number, target: number, what: string): void => {
    let v = Atomics.load(c, word);
    let spins = 0;
    let since = -1;
    while (v < target) {
      if (Atomics.load(c, ABORT) !== 0) fail(state.dead ?? workerMessage());
      if (spins < SPIN) spins++;
      else {
        if (since < 0) since = performance.now();
        else if (performance.now() - since > stallMs) fail(`no answer from the workers ${what} in ${stallMs} ms`);
        Atomics.wait(c, word, v, 50);
      }
      v = Atomics.load(c, word);
    }
  };
  const product = (pair: number): void => {
    if (state.dead) fail(state.dead);
    if (state.disposed) {
      // One thread: the module's whole symmetric product on the same memory.
      exports.symmetric(n, rowPtrAt, colsAt, valuesAt, x0 + pair * pairStride, y0 + pair * pairStride, 0);
      return;
    }
    if (!state.ready) {
      waitFor(READY, threads - 1, 'starting');
      state.ready = true;
    }
    Atomics.store(c, ARRIVE, 0);
    Atomics.store(c, DONE, 0);
    Atomics.store(c, CMD, pair);
    Atomics.add(c, GEN, 1);
    Atomics.notify(c, GEN);
    const status = threadPart(ctx, 0, pair);
    if (status === 1) fail(state.dead ?? workerMessage());
    if (status === 2) fail(`no answer from the workers at the barrier in ${stallMs} ms`);
    waitFor(DONE, threads - 1, 'finishing a product');
  };
  const views = Array.from({ length: pairs }, (_, i) => ({
    x: new Float64Array(buf, x0 + i * pairStride, 3 * n),
    y: new Float64Array(buf, y0 + i * pairStride, 3 * n),
    multiply: () => product(i),
  }));
  const kernel: ThreadedKernel = {
    x: views[0]!.x,
    y: views[0]!.y,
    get threads() {
      return state.disposed || state.dead ? 1 : threads;
    },
    multiply: views[0]!.multiply,
    pair: (i) => views[i]!,
    dispose() {
      if (state.disposed) return;
      if (!state.dead) live--;
      state.disposed = true;
      collected?.unregister(kernel);
      stop(s);
    },
  };
  live++;
  collected?.register(kernel, s, kernel);
  internals.set(kernel, s);
  return kernel;
}

/**
 * For tests: makes the last worker of a threaded kernel throw ('throw'), stop answering ('hang') at the next
 * product, or terminates it now ('exit', resolved once it has exited).
 * @throws PhysiotwinError `INVALID_ARGUMENT` for a kernel that runs on one thread
 */
export async function injectWorkerFault(kernel: object, fault: 'throw' | 'hang' | 'exit'): Promise<void> {
  const s = internals.get(kernel);
  if (!s || s.handles.length === 0) throw new PhysiotwinError('INVALID_ARGUMENT', 'not a threaded kernel');
  if (fault === 'exit') await s.handles[s.handles.length - 1]!.terminate();
  else Atomics.store(s.control, FAULT, fault === 'throw' ? 1 : 2);
}
