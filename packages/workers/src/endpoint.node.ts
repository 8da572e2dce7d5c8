// The worker side in Node (package.json "imports" maps '#endpoint' here under "node"): the thread's parentPort.
import { parentPort } from 'node:worker_threads';
import type { Endpoint } from 'comlink';
import { nodeEndpoint } from './node-endpoint.js';

/** Inside a worker thread: its parentPort as a comlink endpoint. @throws Error outside a worker thread. */
export function workerEndpoint(): Endpoint {
  if (!parentPort) throw new Error('@physiotwin/workers: worker.js runs only inside a worker thread');
  return nodeEndpoint(parentPort);
}
