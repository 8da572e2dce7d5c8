import type { NodePort } from './node-endpoint.js';

/** A worker_threads Worker, as far as this package uses it (no Node types in browser builds). */
export interface NodeWorkerLike extends NodePort {
  on(event: 'message', listener: (data: unknown) => void): unknown;
  on(event: 'error', listener: (error: Error) => void): unknown;
  on(event: 'exit', listener: (code: number) => void): unknown;
  terminate(): Promise<number>;
  ref(): void;
  unref(): void;
}

/** What `spawn` returns: a module Web Worker, or a worker_threads Worker, running this package's worker.js. */
export type WorkerLike = Worker | NodeWorkerLike;

/** worker_threads' memory limits of a worker (Node only). */
export interface ResourceLimits {
  maxOldGenerationSizeMb?: number;
  maxYoungGenerationSizeMb?: number;
  codeRangeSizeMb?: number;
  stackSizeMb?: number;
}
