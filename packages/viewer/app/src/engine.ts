// The page's side of the pipeline worker: one request at a time per op, progress callbacks, and cancel by
// terminating the worker (a busy worker cannot read an abort message; a fresh one gets the volume back).
import type { Vec3 } from '@physiotwin/core';
import type { PipelineTargets } from '@physiotwin/pipeline';
import type { GpuInfo, LoadedInput, Reply, Request, RunOutput, SeriesInfo, WireError } from './protocol.js';

/** A failed request: the worker's error code and message. */
export class EngineError extends Error {
  constructor(readonly code: string, message: string) {
    super(message);
  }
}

type Pending = { resolve: (v: unknown) => void; reject: (e: unknown) => void; progress?: ((stage: string, done: number, total: number) => void) | undefined };
type RequestBody = Request extends infer R ? (R extends Request ? Omit<R, 'id'> : never) : never;

/** The pipeline worker, restartable. */
export class Engine {
  private worker: Worker | undefined;
  private next = 1;
  private pending = new Map<number, Pending>();
  private input: LoadedInput | undefined;

  private start(): Worker {
    if (this.worker) return this.worker;
    const w = new Worker(new URL('./pipeline.worker.ts', import.meta.url), { type: 'module', name: 'physiotwin-pipeline' });
    w.addEventListener('message', (e: MessageEvent<Reply>) => {
      const r = e.data;
      const p = this.pending.get(r.id);
      if (!p) return;
      if (r.kind === 'progress') p.progress?.(r.stage, r.done, r.total);
      else {
        this.pending.delete(r.id);
        if (r.kind === 'ok') p.resolve(r.value);
        else p.reject(new EngineError((r.error as WireError).code, r.error.message));
      }
    });
    w.addEventListener('error', (e) => {
      for (const p of this.pending.values()) p.reject(new EngineError('WORKER_FAILED', e.message || 'the pipeline worker failed to start'));
      this.pending.clear();
    });
    this.worker = w;
    return w;
  }

  private call<T>(body: RequestBody, transfer: Transferable[] = [], progress?: Pending['progress']): Promise<T> {
    const w = this.start();
    const id = this.next++;
    return new Promise<T>((resolve, reject) => {
      this.pending.set(id, { resolve: resolve as (v: unknown) => void, reject, progress });
      w.postMessage({ ...body, id } as Request, transfer);
    });
  }

  gpuInfo(): Promise<GpuInfo> {
    return this.call({ op: 'gpuInfo' });
  }

  scanDicom(files: Array<{ name: string; bytes: ArrayBuffer }>, progress?: Pending['progress']): Promise<{ series: SeriesInfo[]; skipped: number }> {
    this.input = undefined;
    return this.call({ op: 'scanDicom', files }, files.map((f) => f.bytes), progress);
  }

  async loadSeries(index: number, progress?: Pending['progress']): Promise<LoadedInput> {
    const r = await this.call<LoadedInput>({ op: 'loadSeries', index }, [], progress);
    this.input = r;
    return r;
  }

  async readVolumeFile(name: string, bytes: ArrayBuffer): Promise<LoadedInput> {
    const r = await this.call<LoadedInput>({ op: 'readVolumeFile', name, bytes }, [bytes]);
    this.input = r;
    return r;
  }

  /** Runs the pipeline; `signal` terminates the worker (the run rejects with code ABORTED) and starts a fresh one. */
  async runPipeline(seeds: Vec3[], options: { backend: 'auto' | 'cpu' | 'webgpu'; targets: PipelineTargets; signal: AbortSignal; onProgress: NonNullable<Pending['progress']> }): Promise<RunOutput> {
    const onAbort = () => this.restart();
    options.signal.addEventListener('abort', onAbort, { once: true });
    try {
      return await this.call<RunOutput>({ op: 'runPipeline', seeds, backend: options.backend, targets: options.targets }, [], options.onProgress);
    } finally {
      options.signal.removeEventListener('abort', onAbort);
    }
  }

  /** Terminates the worker, rejects what it was doing with ABORTED, and gives a new worker the loaded volume. */
  private restart(): void {
    this.worker?.terminate();
    this.worker = undefined;
    for (const p of this.pending.values()) p.reject(new EngineError('ABORTED', 'cancelled'));
    this.pending.clear();
    const input = this.input;
    if (input) void this.call({ op: 'setVolume', input: { ...input, volume: { ...input.volume, data: input.volume.data.slice() } } }).catch(() => undefined);
  }
}
