// Browsers (package.json "imports" maps '#environment' here for every condition but "node"): module Web Workers
// that Vite bundles from the `new Worker(new URL(...), { type: 'module' })` pattern, and the page's core count.
import type { WorkerLike } from './spawn-types.js';

/** A new module Web Worker running worker.js beside this file. @throws DOMException when workers are unavailable. */
export function spawnDefault(name: string | undefined, _resourceLimits?: unknown): WorkerLike {
  return new Worker(new URL('./worker.js', import.meta.url), { name: name ?? 'physiotwin', type: 'module' });
}

/** Browsers' workers have navigator.gpu: ops keep their own backend choice ('auto'). */
export const DEFAULT_BACKEND: 'auto' | 'cpu' = 'auto';

/** navigator.hardwareConcurrency (4 where the browser does not say). @throws nothing. */
export function defaultPoolSize(): number {
  return Math.max(1, globalThis.navigator?.hardwareConcurrency ?? 4);
}
