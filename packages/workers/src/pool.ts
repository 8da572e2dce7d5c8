// A pool of PhysiotwinWorkers for independent work (ensemble shards, a folder of studies): tasks wait for a free
// worker; a worker that crashed is replaced before its next task; a task's failure aborts the rest of its map.
import { PhysiotwinError } from '@physiotwin/core';
import type { EnsembleSamples, EnsembleSummary, SvZeroDConfig } from '@physiotwin/hemo';
import { shardRange } from '@physiotwin/hemo';
import { defaultPoolSize } from '#environment';
import type { PhysiotwinWorker, WorkerOptions } from './client.js';
import { createWorker } from './client.js';

/** Options of {@link createWorkerPool}: its size, and how each worker starts. */
export interface WorkerPoolOptions extends WorkerOptions {
  /** Workers at most (started on first use). @default navigator.hardwareConcurrency / os.availableParallelism() */
  size?: number | undefined;
}

/** A task of the pool: gets a worker to itself and a signal that fires when the task should stop. */
export type PoolTask<T> = (worker: PhysiotwinWorker, signal: AbortSignal) => Promise<T>;

/** A pool of workers. */
export interface WorkerPool {
  readonly size: number;
  /** Runs one task on the next free worker. */
  run<T>(task: PoolTask<T>, options?: { signal?: AbortSignal | undefined }): Promise<T>;
  /** Runs a task per item in parallel (up to `size` at once), results in item order; the first failure aborts the rest. */
  map<I, T>(items: readonly I[], task: (worker: PhysiotwinWorker, item: I, index: number, signal: AbortSignal) => Promise<T>, options?: { signal?: AbortSignal | undefined }): Promise<T[]>;
  /**
   * `simulateEnsemble` split into contiguous shards of variants (`shards`, default the pool's size, at most one per
   * variant), one per worker, concatenated in order: the same summaries as one call. Progress: one event per shard done.
   */
  simulateEnsemble(config: SvZeroDConfig, samples: EnsembleSamples, options?: Parameters<PhysiotwinWorker['simulateEnsemble']>[2] & { shards?: number | undefined }): Promise<EnsembleSummary>;
  /** Terminates every worker: running tasks reject with `ABORTED`, and so do later ones. */
  terminate(): Promise<void>;
}

/**
 * A pool of up to `size` workers (see `createWorker`), started as tasks need them, for independent work such as
 * the shards of an ensemble or the studies of a folder.
 * @example
 * ```ts
 * const pool = createWorkerPool();
 * const summary = await pool.simulateEnsemble(config, samples);
 * const runs = await pool.map(studies, (w, volume) => w.runPipeline({ volume, seeds }));
 * await pool.terminate();
 * ```
 * @throws PhysiotwinError `INVALID_ARGUMENT` for a size that is not a positive integer.
 */
export function createWorkerPool(options: WorkerPoolOptions = {}): WorkerPool {
  const { size: requested, ...workerOptions } = options;
  const size = requested ?? defaultPoolSize();
  if (!Number.isInteger(size) || size < 1) throw new PhysiotwinError('INVALID_ARGUMENT', `pool size must be a positive integer, got ${size}`);
  const slots: { worker: PhysiotwinWorker | undefined; busy: boolean }[] = Array.from({ length: size }, () => ({ worker: undefined, busy: false }));
  const waiting: Array<() => void> = [];
  let terminated = false;
  const stopped = () => new PhysiotwinError('ABORTED', 'the worker pool was terminated');

  const acquire = async (signal: AbortSignal | undefined): Promise<number> => {
    for (;;) {
      if (terminated) throw stopped();
      if (signal?.aborted) throw new PhysiotwinError('ABORTED', 'the pool task was cancelled', { cause: signal.reason });
      const free = slots.findIndex((s) => !s.busy);
      if (free >= 0) {
        const slot = slots[free]!;
        slot.busy = true;
        // A crashed worker is replaced; the others are reused.
        if (slot.worker?.state !== 'ready') slot.worker = createWorker(workerOptions);
        return free;
      }
      await new Promise<void>((wake) => {
        const onAbort = () => {
          const i = waiting.indexOf(wake);
          if (i >= 0) waiting.splice(i, 1);
          wake();
        };
        signal?.addEventListener('abort', onAbort, { once: true });
        waiting.push(() => {
          signal?.removeEventListener('abort', onAbort);
          wake();
        });
      });
    }
  };
  const release = (i: number) => {
    slots[i]!.busy = false;
    waiting.shift()?.();
  };

  const run = async <T>(task: PoolTask<T>, o: { signal?: AbortSignal | undefined } = {}): Promise<T> => {
    const i = await acquire(o.signal);
    try {
      return await task(slots[i]!.worker!, o.signal ?? new AbortController().signal);
    } finally {
      release(i);
    }
  };

  const map: WorkerPool['map'] = async (items, task, o = {}) => {
    const controller = new AbortController();
    const onAbort = () => controller.abort(o.signal?.reason);
    if (o.signal?.aborted) onAbort();
    o.signal?.addEventListener('abort', onAbort, { once: true });
    try {
      return await Promise.all(
        items.map((item, index) =>
          run((w, signal) => task(w, item, index, signal), { signal: controller.signal }).catch((e: unknown) => {
            controller.abort(e);
            throw e;
          }),
        ),
      );
    } finally {
      o.signal?.removeEventListener('abort', onAbort);
    }
  };

  return {
    size,
    run,
    map,
    async simulateEnsemble(config, samples, o = {}) {
      const { shards: requestedShards, onProgress, signal, ...rest } = o;
      const P = samples?.names?.length ?? 0;
      const total = P > 0 && samples.values instanceof Float64Array ? samples.values.length / P : 0;
      if (!Number.isInteger(total) || total < 1) throw new PhysiotwinError('INVALID_ARGUMENT', 'samples must be { names: string[], values: Float64Array } with at least one row of values per name');
      const count = Math.min(requestedShards ?? size, total);
      const ranges = Array.from({ length: count }, (_, i) => shardRange(total, i, count));
      let done = 0;
      onProgress?.({ stage: 'ensemble shards', done, total: count });
      const parts = await map(
        ranges,
        async (w, r, _i, taskSignal) => {
          // Each shard gets its own copy of its rows: one buffer cannot move to two workers.
          const part = await w.simulateEnsemble(config, { names: samples.names, values: samples.values.slice(r.start * P, r.end * P) }, { ...rest, signal: taskSignal });
          onProgress?.({ stage: 'ensemble shards', done: ++done, total: count });
          return part;
        },
        { signal },
      );
      return concatSummaries(parts, ranges.map((r) => r.start));
    },
    async terminate() {
      terminated = true;
      for (const wake of waiting.splice(0)) wake();
      await Promise.all(slots.map((s) => s.worker?.terminate() ?? Promise.resolve()));
    },
  };
}

/** The shards' summaries as one: rows concatenated in variant order, re-run variants offset to their global index. */
function concatSummaries(parts: EnsembleSummary[], starts: number[]): EnsembleSummary {
  const cat = (pick: (p: EnsembleSummary) => Float64Array) => {
    const out = new Float64Array(parts.reduce((n, p) => n + pick(p).length, 0));
    let o = 0;
    for (const p of parts) {
      out.set(pick(p), o);
      o += pick(p).length;
    }
    return out;
  };
  const first = parts[0]!;
  const gpu = parts.find((p) => p.backend === 'webgpu');
  return {
    n: parts.reduce((n, p) => n + p.n, 0),
    outputs: first.outputs,
    mean: cat((p) => p.mean),
    min: cat((p) => p.min),
    max: cat((p) => p.max),
    splitNames: first.splitNames,
    splits: cat((p) => p.splits),
    backend: gpu ? 'webgpu' : 'cpu',
    ...(gpu?.adapter ? { adapter: gpu.adapter } : {}),
    kernel: first.kernel,
    precision: first.precision,
    cpuVariants: parts.flatMap((p, k) => p.cpuVariants.map((v) => v + starts[k]!)),
  };
}
