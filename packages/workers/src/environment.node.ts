// Node (package.json "imports" maps '#environment' here under the "node" condition; a browser bundle never sees
// node:worker_threads): worker_threads workers and os.availableParallelism().
import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';
import type { ResourceLimits, WorkerLike } from './spawn-types.js';

/**
 * A worker_threads Worker running worker.js beside this file. Run from the TypeScript sources (tests, tsx), it runs
 * worker.ts through tsx's loader with the '@physiotwin/source' condition, as the caller does.
 * @throws Error when the worker cannot be created (from worker_threads).
 */
export function spawnDefault(name: string | undefined, resourceLimits?: ResourceLimits): WorkerLike {
  const here = import.meta.url;
  const options = { ...(name ? { name } : {}), ...(resourceLimits ? { resourceLimits } : {}) };
  if (!here.endsWith('.ts')) return new Worker(new URL('./worker.js', here), options);
  const boot = `import { register } from ${JSON.stringify(import.meta.resolve('tsx/esm/api'))}; register(); await import(${JSON.stringify(new URL('./worker.ts', here).href)});`;
  return new Worker(new URL(`data:text/javascript,${encodeURIComponent(boot)}`), { ...options, execArgv: ['--conditions=@physiotwin/source'] });
}


/**
 * Dawn (the `webgpu` addon) is not known to be safe in worker threads (the test runner keeps it to child processes):
 * a Node worker runs ops on the CPU unless a call asks for a backend.
 */
export const DEFAULT_BACKEND: 'auto' | 'cpu' = 'cpu';

/** os.availableParallelism(). @throws nothing. */
export function defaultPoolSize(): number {
  return Math.max(1, availableParallelism());
}
