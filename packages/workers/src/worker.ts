// The worker's entry: exposes the ops (api.ts) to the PhysiotwinWorker that started it. Browsers load it as a
// module Web Worker (Vite bundles it from `new Worker(new URL('./worker.js', import.meta.url))`), Node as a
// worker_threads Worker; '#environment' picks the endpoint.
import * as Comlink from 'comlink';
import { workerEndpoint } from '#endpoint';
import { createWorkerApi } from './api.js';

Comlink.expose(createWorkerApi(), workerEndpoint());
