// The symmetric (upper-triangle) BSR matvec of CG on several threads: the calling thread and worker_threads
// Workers run the same WebAssembly module (bsr-wasm.ts's 'range' export) on one shared WebAssembly.Memory.
//
// Work: the block rows are cut into chunks (a few per thread) of contiguous rows holding about the same number of
// stored blocks; each thread claims the next chunk with an atomic counter until none is left, so a worker that
// the OS has not scheduled yet (2 shared cores) leaves its chunks to the calling thread instead of stalling it.
//
// Races: row i of the upper triangle adds A_ij x_j into y_i and scatters A_ij^T x_i into y_j for j > i, so a
// chunk's scatters can land in a later chunk's rows. A chunk's rows whose columns all stay inside it (the
// "interior", most rows of a banded ordering) add straight into its rows of y, which nothing else writes during
// the product; its other rows (from the first row with a column beyond the chunk) add into the chunk's own
// accumulator, which covers those rows up to their largest column. Once every chunk is done, the calling thread
// adds the accumulators into y in chunk order. Every sum's order is fixed by the matrix and the chunks (not by
// which thread ran what), so a product gives the same bits on every run with the same thread count; it differs
// from the one-thread product by the reordering of a few sums (within 1e-13 (|A| |x|)_i, bsr-threads.test.ts).
//
// Synchronisation: Atomics on Int32 control words at the start of the memory. The calling thread sets the vector
// pair, opens the chunk counter, bumps a generation word and notifies, claims chunks like the workers, then waits
// until the done count reaches the chunk count: each wait spins a little (a worker spinning after the product
// before starts within microseconds), then sleeps in Atomics.wait. Where waking the workers does not pay (they are
// not scheduled beside the calling thread), the kernel stops waking them and runs the chunks alone; it times both
// ways as it goes (see `adapt`), which changes nothing in the result. The calling thread blocks in Atomics.wait,
// which Node's main thread and Web Workers allow and a browser page's main thread does not: there '#threads' has
// no workers and the kernel runs on one thread (bsr-wasm.ts).
import { PhysiotwinError } from '@physiotwin/core';
import { cpuCount, spawnThread, threadsAvailable } from '#threads';
import type { BsrMatrix } from './bsr.js';
import type { ThreadHandle } from './threads-types.js';

// Control words: Int32 indices, 64 bytes (one cache line) apart. chunkWork below uses NEXT, DONE, CMD and FAULT
// by value (it must not refer to anything outside itself). CMD holds the product's vector pair.
const GEN = 0, CMD = 16, NEXT = 32, DONE = 48, ERROR = 80, ABORT = 96, FAULT = 112, MESSAGE_LENGTH = 128;
const MESSAGE_AT = 1024;
const MESSAGE_BYTES = 1024;
const CONTROL_BYTES = 2048;
/** Words per chunk in the chunk table: first row, end row, first accumulated row, end of the accumulator, its byte address. */
const TABLE = 5;
/** Most threads a kernel starts. */
const MAX_THREADS = 64;
/** Largest wasm memory the kernel asks for (as bsr-wasm.ts). */
const MAX_WASM_BYTES = 2 ** 31;

/**
 * 'auto' gives a kernel one thread per this many bytes of streamed (upper-triangle) matrix, capped at
 * os.availableParallelism(): 2 threads from 128 MB, about 6e5 DOF of T4 cube stiffness. Measured on 2 cores shared
 * with other users (`FEM_BENCH=matvec npm run bench -- fem`, packages/fem/README.md), a second thread did not pay
 * at any size (medians 0.60x, 0.52x and 0.92x of one thread at 1e4, 1e5 and 1e6 DOF); from 128 MB a product lasts
 * tens of milliseconds and the kernel's timing (`adapt`) stops waking workers that do not help. A quiet-machine
 * run should set this.
 */
const MIN_BYTES_PER_THREAD = 64_000_000;
/** Spin iterations (Atomics.load) before a wait sleeps in Atomics.wait. */
const SPIN = 20_000;
/** One product in this many runs the other way (with or without waking the workers) to time it. */
const PROBE = 32;
/** Default of `stallMs`. */
const STALL_MS = 30_000;

/** The module's exports: (n, rowPtr, cols, values, x, y, from), byte addresses. */
type WasmRun = (n: number, rp: number, cl: number, vl: number, xp: number, yp: number, from: number) => void;

/** What a thread's work needs: plain numbers and views, so that the same function runs in every thread. */
interface ChunkContext {
  /** The module's 'range' export: rows from .. n-1 added into y at y + 24 i (not cleared). */
  run: WasmRun;
  /** The module's 'zero' export: y rows from .. n-1 = 0. */
  zero: WasmRun;
  /** Control words. */
  c: Int32Array;
  /** Chunk table, TABLE words per chunk. */
  p: Int32Array;
  chunks: number;
  rp: number;
  cl: number;
  vl: number;
  x0: number;
  y0: number;
  pairStride: number;
  spin: number;
  /** A worker obeys the fault word (tests). */
  faults: boolean;
}

/**
 * Claims chunks until none is left; for each: clear its rows of y and its accumulator, add its interior rows into
 * y and its other rows into the accumulator, count it done (and notify when it was the last).
 * Self-contained (no variable from outside, no inner function): the workers run its source text.
 */
function chunkWork(ctx: ChunkContext, tag: number): void {
  const c = ctx.c, p = ctx.p;
  for (;;) {
    // The chunk counter holds the product's tag (high 16 bits) and the next chunk: a worker that wakes late for
    // an earlier product claims nothing of a later one.
    const v = Atomics.load(c, 32);
    const k = v & 0xffff;
    if (v >>> 16 !== tag || k >= ctx.chunks) return;
    if (Atomics.compareExchange(c, 32, v, v + 1) !== v) continue;
    // The pair is read after the claim: a claim that succeeds belongs to the product the calling thread opened.
    const pair = Atomics.load(c, 16);
    if (ctx.faults) {
      const fault = Atomics.load(c, 112);
      if (fault === 1) throw new Error('fault injected by a test');
      if (fault === 2) Atomics.wait(c, 112, 2);
    }
    const xp = ctx.x0 + pair * ctx.pairStride;
    const yp = ctx.y0 + pair * ctx.pairStride;
    const q = 5 * k;
    const from = p[q]!, to = p[q + 1]!, split = p[q + 2]!, accTo = p[q + 3]!, accAt = p[q + 4]!;
    // The accumulator's row `split` is at accAt: its base is 24 split bytes lower (wasm's i32 arithmetic wraps).
    const accBase = accAt - 24 * split;
    ctx.zero(to, 0, 0, 0, 0, yp, from);
    ctx.zero(accTo, 0, 0, 0, 0, accBase, split);
    if (split > from) ctx.run(split, ctx.rp, ctx.cl, ctx.vl, xp, yp, from);
    if (to > split) ctx.run(to, ctx.rp, ctx.cl, ctx.vl, xp, accBase, split);
    if (Atomics.add(c, 48, 1) + 1 === ctx.chunks) Atomics.notify(c, 48);
  }
}

/** The workers' script: instantiate the module on the shared memory, then work on the chunks of each generation. */
const workerSource = (): string => `'use strict';
const { workerData: d } = require('node:worker_threads');
const chunkWork = ${chunkWork.toString()};
const c = new Int32Array(d.memory.buffer, 0, ${CONTROL_BYTES / 4});
try {
  const wasm = new WebAssembly.Instance(d.module, { m: { memory: d.memory } }).exports;
  const ctx = { ...d.ctx, run: wasm.range, zero: wasm.zero, c, p: new Int32Array(d.memory.buffer, d.tableAt, ${TABLE} * d.ctx.chunks), faults: d.t === d.threads - 1 };
  // The generation word: 2 tag + 1 for a product that invites the workers, 2 tag for one the calling thread runs
  // alone (not notified: a sleeping worker sleeps on), -1 to exit.
  // (-2 is no generation: a worker that starts while an inviting product is open joins it.)
  let seen = -2;
  let spins = 0;
  for (;;) {
    const g = Atomics.load(c, ${GEN});
    if (g !== seen) {
      seen = g;
      if (g < 0 || Atomics.load(c, ${ABORT}) !== 0) break;
      if ((g & 1) === 0) continue;
      chunkWork(ctx, g >>> 1);
      spins = 0;
    } else if (spins < ctx.spin) spins++;
    else Atomics.wait(c, ${GEN}, seen);
  }
} catch (e) {
  if (Atomics.compareExchange(c, ${ERROR}, 0, d.t + 1) === 0) {
    const text = String((e && e.stack) || e).slice(0, ${MESSAGE_BYTES});
    const m = new Uint8Array(d.memory.buffer, ${MESSAGE_AT}, ${MESSAGE_BYTES});
    for (let i = 0; i < text.length; i++) m[i] = text.charCodeAt(i) & 0x7f;
    Atomics.store(c, ${MESSAGE_LENGTH}, text.length);
  }
  Atomics.store(c, ${ABORT}, 1);
  Atomics.notify(c, ${DONE});
}
`;

/** Whether this engine can run the threaded kernel: worker threads, SharedArrayBuffer and Atomics. */
function threadsSupported(): boolean {
  return threadsAvailable() && typeof SharedArrayBuffer === 'function' && typeof Atomics === 'object' && typeof Atomics.wait === 'function';
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

/** `count` chunks of contiguous block rows, balanced by stored blocks plus one per row (its x/y traffic and loop). */
function partition(m: BsrMatrix, count: number): Int32Array {
  const { n, rowPtr, cols } = m;
  const total = rowPtr[n]! + n;
  const starts = [0];
  let i = 0;
  for (let t = 1; t < count; t++) {
    const target = (total * t) / count;
    while (i < n && rowPtr[i]! + i < target) i++;
    starts.push(i);
  }
  starts.push(n);
  const table = new Int32Array(TABLE * count);
  for (let t = 0; t < count; t++) {
    const from = starts[t]!, to = starts[t + 1]!;
    // The first row with a column beyond the chunk; its rows and the ones after it go to the accumulator.
    let split = from;
    while (split < to && cols[rowPtr[split + 1]! - 1]! < to) split++;
    let accTo = split === to ? split : to;
    for (let r = split; r < to; r++) accTo = Math.max(accTo, cols[rowPtr[r + 1]! - 1]! + 1);
    table.set([from, to, split, accTo, 0], TABLE * t);
  }
  return table;
}

/** Accumulated rows of a chunk table. */
const accumulatedRows = (table: Int32Array): number => {
  let rows = 0;
  for (let k = 0; k < table.length; k += TABLE) rows += table[k + 3]! - table[k + 2]!;
  return rows;
};

/**
 * Chunks for `threads` threads: 4 per thread, fewer (down to one per thread) while the accumulators would add more
 * than a tenth of the matrix's bytes (72 B per accumulated row: cleared, read, added into y): a banded ordering
 * keeps them small, an unordered matrix (a T10 mesh's mid-edge nodes numbered after its corners) does not.
 */
function chunkTable(m: BsrMatrix, threads: number, matrixBytes: number): Int32Array {
  let table = partition(m, threads);
  for (const perThread of [4, 2]) {
    const candidate = partition(m, Math.min(m.n, perThread * threads));
    if (72 * accumulatedRows(candidate) <= 0.1 * matrixBytes) {
      table = candidate;
      break;
    }
  }
  return table;
}

/** A threaded symmetric kernel: what bsr-wasm.ts's `bsrKernel` wraps. */
export interface ThreadedKernel {
  x: Float64Array;
  y: Float64Array;
  readonly threads: number;
  /** Chunks of block rows a product is cut into. */
  readonly chunks: number;
  /** Whether products wake the workers now (the faster way lately), or the calling thread runs every chunk. */
  readonly wakesWorkers: boolean;
  multiply(): void;
  pair(i: number): { x: Float64Array; y: Float64Array; multiply(): void };
  dispose(): void;
}

interface Internals {
  handles: ThreadHandle[];
  control: Int32Array;
  /** Counted in `live`: not disposed, failed or collected. */
  running: boolean;
}
const internals = new WeakMap<object, Internals>();
/** Threaded kernels whose workers run (not disposed, failed or collected). */
let live = 0;

/** How many threaded kernels hold running workers now (for tests: a solve that ends, fails or is aborted leaves none). @throws nothing */
export function liveThreadedKernels(): number {
  return live;
}

/** Stops the workers of a kernel that was not disposed when it is collected (they would idle in Atomics.wait). */
const collected = typeof FinalizationRegistry === 'function' ? new FinalizationRegistry<Internals>((s) => stop(s)) : undefined;

/** Tells the workers to exit and terminates them (also one blocked in a chunk). */
function stop(s: Internals): void {
  if (s.running) {
    s.running = false;
    live--;
  }
  Atomics.store(s.control, GEN, -1);
  Atomics.notify(s.control, GEN);
  for (const h of s.handles) void h.terminate().catch(() => undefined);
}

/**
 * The threaded form of the symmetric kernel on `m` (an upper triangle with each row's diagonal block first), or
 * null where it cannot run (no worker threads or shared memory in this engine, no room for the memory): the
 * caller then uses the one-thread kernel. `module` is bsr-wasm.ts's module compiled with a shared memory import.
 * The workers start here and join the products once they are up (the calling thread does the chunks nobody has
 * claimed). `dispose()` stops them (the kernel then runs on the calling thread alone); they are unref'd, so a
 * kernel never disposed does not keep Node running.
 * @param options.stallMs how long the calling thread waits for a worker before it declares it dead (default 30 s)
 * @throws nothing here; `multiply()` throws PhysiotwinError `WORKER_CRASHED` when a worker failed, exited or
 *   stopped answering (the kernel's workers are then stopped and later products throw it again).
 */
export function threadedSymmetricKernel(m: BsrMatrix, module: WebAssembly.Module, options: { pairs: number; threads: number; stallMs?: number }): ThreadedKernel | null {
  const { n } = m;
  const threads = options.threads;
  const pairs = options.pairs;
  const nnzb = m.rowPtr[n]!;
  const table = chunkTable(m, threads, 76 * nnzb);
  const chunks = table.length / TABLE;
  const valuesAt = CONTROL_BYTES;
  const x0 = valuesAt + 72 * nnzb;
  const y0 = x0 + 24 * n;
  const pairStride = 48 * n;
  const colsAt = x0 + pairStride * pairs;
  const rowPtrAt = colsAt + 4 * nnzb;
  const tableAt = rowPtrAt + 4 * (n + 1);
  let at = Math.ceil((tableAt + 4 * table.length) / 8) * 8;
  for (let k = 0; k < chunks; k++) {
    table[TABLE * k + 4] = at;
    at += 24 * (table[TABLE * k + 3]! - table[TABLE * k + 2]!);
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
  const exports = new WebAssembly.Instance(module, { m: { memory } }).exports as Record<'symmetric' | 'range' | 'zero' | 'accumulate', WasmRun>;
  const c = new Int32Array(buf, 0, CONTROL_BYTES / 4);
  // No chunk is open until the first product (its tag is 1).
  Atomics.store(c, NEXT, chunks);
  const shared = { chunks, rp: rowPtrAt, cl: colsAt, vl: valuesAt, x0, y0, pairStride, spin: SPIN };
  const stallMs = options.stallMs ?? STALL_MS;
  const ctx: ChunkContext = { ...shared, faults: false, run: exports.range, zero: exports.zero, c, p: new Int32Array(buf, tableAt, table.length) };

  const handles: ThreadHandle[] = [];
  const token = {};
  const state: { disposed: boolean; dead?: string } = { disposed: false };
  const s: Internals = { handles, control: c, running: false };
  /** Stops the workers after a failure; later products throw `WORKER_CRASHED` with the first reason. */
  const kill = (reason: string): void => {
    if (state.dead) return;
    state.dead = reason;
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
    return who > 0 ? `worker ${who} of ${threads - 1} failed: ${text}` : `a worker failed: ${text}`;
  };
  try {
    const source = workerSource();
    for (let t = 1; t < threads; t++) {
      const h = spawnThread(source, { module, memory, t, threads, tableAt, ctx: shared });
      if (!h) throw new Error('no worker threads');
      handles.push(h);
      h.unref();
      h.on('error', (e) => {
        if (!state.disposed) kill(`worker ${t} of ${threads - 1} failed: ${e.message}`);
      });
      h.on('exit', (code) => {
        if (!state.disposed) kill(`worker ${t} of ${threads - 1} exited (code ${code})`);
      });
    }
  } catch {
    state.disposed = true;
    stop(s);
    return null; // the engine would not start a thread: one thread
  }

  // Waking the workers pays only when the OS runs them beside the calling thread (on 2 cores shared with other
  // users it often does not: the product then waits for the chunks a descheduled worker holds). Which thread ran
  // a chunk does not change the result, so the kernel times both ways (moving averages of the product's wall
  // time) and wakes the workers while that is the faster way, trying the other way every PROBE-th product.
  const adapt = { workers: true, products: 0, withWorkers: Number.NaN, alone: Number.NaN };
  const product = (pair: number): void => {
    if (state.dead) fail(state.dead);
    if (Atomics.load(c, ABORT) !== 0) fail(workerMessage());
    if (state.disposed) {
      // One thread: the module's whole symmetric product on the same memory.
      exports.symmetric(n, rowPtrAt, colsAt, valuesAt, x0 + pair * pairStride, y0 + pair * pairStride, 0);
      return;
    }
    // (setTestMode: a test can leave every chunk to the workers.)
    const testMode = Atomics.load(c, FAULT) !== 0;
    // Whether to wake the workers: the faster way lately, the other one every PROBE-th product.
    const wake = testMode || adapt.workers !== (++adapt.products % PROBE === 0);
    const started = performance.now();
    // The pair first, the chunk counter last: a claim that succeeds sees this product's pair.
    const tag = adapt.products & 0x7fff;
    Atomics.store(c, CMD, pair);
    Atomics.store(c, DONE, 0);
    Atomics.store(c, NEXT, tag << 16);
    Atomics.store(c, GEN, 2 * tag + (wake ? 1 : 0));
    if (wake) Atomics.notify(c, GEN);
    if (!testMode) chunkWork(ctx, tag);
    // Wait for the chunks workers still hold; fail on a worker's error or after stallMs.
    let v = Atomics.load(c, DONE);
    let spins = 0;
    let since = -1;
    while (v < chunks) {
      if (Atomics.load(c, ABORT) !== 0) fail(state.dead ?? workerMessage());
      if (spins < SPIN) spins++;
      else {
        if (since < 0) since = performance.now();
        else if (performance.now() - since > stallMs) fail(`no answer from a worker in ${stallMs} ms`);
        Atomics.wait(c, DONE, v, 50);
      }
      v = Atomics.load(c, DONE);
    }
    // The accumulators, in chunk order.
    const yp = y0 + pair * pairStride;
    for (let k = 0; k < chunks; k++) {
      const o = TABLE * k;
      const split = table[o + 2]!, accTo = table[o + 3]!;
      if (accTo > split) exports.accumulate(accTo, 0, 0, 0, table[o + 4]! - 24 * split, yp, split);
    }
    const ms = performance.now() - started;
    if (wake) adapt.withWorkers = Number.isNaN(adapt.withWorkers) ? ms : adapt.withWorkers + 0.2 * (ms - adapt.withWorkers);
    else adapt.alone = Number.isNaN(adapt.alone) ? ms : adapt.alone + 0.2 * (ms - adapt.alone);
    // Waking the workers must save a tenth: under load its times scatter more than running alone.
    if (!Number.isNaN(adapt.alone)) adapt.workers = adapt.withWorkers < 0.9 * adapt.alone;
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
    get wakesWorkers() {
      return adapt.workers;
    },
    chunks,
    multiply: views[0]!.multiply,
    pair: (i) => views[i]!,
    dispose() {
      if (state.disposed) return;
      state.disposed = true;
      collected?.unregister(token);
      stop(s);
    },
  };
  s.running = true;
  live++;
  // The unregister token is not the kernel: no closure here may hold the kernel, or the workers' listeners
  // (which share this function's context) would keep it from being collected.
  collected?.register(kernel, s, token);
  internals.set(kernel, s);
  return kernel;
}

/**
 * For tests: 'workers' leaves every chunk to the workers (the calling thread only waits and reduces); 'throw' and
 * 'hang' also make the last worker throw or stop answering in the next chunk it claims; 'exit' terminates that
 * worker now (resolved once it has exited); 'normal' undoes 'workers'.
 * @throws PhysiotwinError `INVALID_ARGUMENT` for a kernel that runs on one thread
 */
export async function setTestMode(kernel: object, mode: 'normal' | 'workers' | 'throw' | 'hang' | 'exit'): Promise<void> {
  const s = internals.get(kernel);
  if (!s || s.handles.length === 0) throw new PhysiotwinError('INVALID_ARGUMENT', 'not a threaded kernel');
  if (mode === 'exit') await s.handles[s.handles.length - 1]!.terminate();
  else Atomics.store(s.control, FAULT, ['normal', 'throw', 'hang', 'workers'].indexOf(mode));
}
