// Node (package.json "imports" maps '#threads' here under the "node" condition; a browser bundle never sees
// node:worker_threads): the threaded matvec's worker threads and os.availableParallelism().
import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';
import type { ThreadHandle } from './threads-types.js';

/**
 * A worker thread running `source` (a CommonJS script, no file: the same in the sources and in dist), with
 * `workerData`. No exec arguments: the test runner's or tsx's loaders are not loaded into it (the script needs none).
 * @throws Error from worker_threads when the thread cannot be created (the caller falls back to one thread).
 */
export function spawnThread(source: string, workerData: unknown): ThreadHandle | null {
  return new Worker(source, { eval: true, workerData, execArgv: [], name: 'physiotwin-fem-matvec' });
}

/** Whether worker threads can be started here: yes in Node. @throws nothing. */
export function threadsAvailable(): boolean {
  return true;
}

/** os.availableParallelism(). @throws nothing. */
export function cpuCount(): number {
  return Math.max(1, availableParallelism());
}
