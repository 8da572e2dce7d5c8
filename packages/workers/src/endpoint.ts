// The worker side in browsers (package.json "imports" maps '#endpoint' here but under "node"): the worker's scope.
import type { Endpoint } from 'comlink';

/** Inside a Web Worker: the worker's global scope is the endpoint. @throws nothing. */
export function workerEndpoint(): Endpoint {
  return globalThis as unknown as Endpoint;
}
