// Browsers and other non-Node engines (package.json "imports" maps '#threads' here for every condition but
// "node"): no threaded matvec. A page's main thread may not block in Atomics.wait, and the Web Worker form of the
// kernel (for a worker of a cross-origin-isolated page) was not built: the kernel runs on the calling thread.
import type { ThreadHandle } from './threads-types.js';

/** Whether worker threads can be started here: no. @throws nothing. */
export function threadsAvailable(): boolean {
  return false;
}

/** No worker threads here: null (the kernel falls back to one thread). @throws nothing. */
export function spawnThread(_source: string, _workerData: unknown): ThreadHandle | null {
  return null;
}

/** navigator.hardwareConcurrency (1 where the engine does not say). @throws nothing. */
export function cpuCount(): number {
  return Math.max(1, globalThis.navigator?.hardwareConcurrency ?? 1);
}
