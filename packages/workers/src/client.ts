// The caller's side: a PhysiotwinWorker wraps one worker (comlink over postMessage). Each call transfers its
// buffers, carries its AbortSignal across (a shared flag the worker polls, plus an abort message), forwards progress
// through a comlink proxy, and races the worker's death: a worker that dies rejects every pending call at once.
import * as Comlink from 'comlink';
import type { ProgressEvent, SurfaceMesh, Vec3, Volume } from '@physiotwin/core';
import { PhysiotwinError } from '@physiotwin/core';
import type { ErrorCode, ErrorLocation } from '@physiotwin/core';
import type { LoadedVolume, LoadVolumeOptions, ScanOptions } from '@physiotwin/dicom';
import type { FemProblem, FemResult } from '@physiotwin/fem';
import type { ReadVolumeOptions } from '@physiotwin/io';
import type { EnsembleOptions, EnsembleSamples, EnsembleSummary, SvZeroDConfig } from '@physiotwin/hemo';
import type { SurfacePipelineResult, SurfacePipelineSpec, TetMeshLabelsSpec, TetMeshResult, VesselWallResult, VesselWallSpec } from '@physiotwin/mesh';
import type { PipelineInput } from '@physiotwin/pipeline';
import type { VesselResult, VesselSpec } from '@physiotwin/segment';
import { DEFAULT_BACKEND, spawnDefault } from '#environment';
import type { BoundaryMesh, DicomFile, PipelineCallOptions, VolumeFile, WorkerApi } from './api.js';
import { nodeEndpoint } from './node-endpoint.js';
import type { SeriesHandle, WireError, WireOptions, WireResult, WorkerInfo, WorkerPipelineResult, WorkerScan } from './protocol.js';
import type { NodeWorkerLike, ResourceLimits, WorkerLike } from './spawn-types.js';
import { transferables } from './transfer.js';

/** Options of {@link createWorker}. */
export interface WorkerOptions {
  /**
   * The backend of calls that name none. @default 'cpu' in Node (Dawn is not known to be safe in worker threads),
   * 'auto' in browsers (Web Workers have navigator.gpu)
   */
  backend?: 'auto' | 'cpu' | 'webgpu' | undefined;
  /**
   * Starts the worker yourself: for a bundler that needs the worker's URL written in the app, or a worker script
   * of your own that imports this package's dist/worker.js.
   * @default a module Web Worker (browsers) or a worker_threads Worker (Node) running this package's worker.js
   */
  spawn?: (() => WorkerLike) | undefined;
  /** The worker's name (devtools, `top -H`). */
  name?: string | undefined;
  /** Node only: the worker's heap limits (a worker past them dies with `WORKER_CRASHED`, the caller lives on). */
  resourceLimits?: ResourceLimits | undefined;
}

/** Options every worker call takes. */
export interface CallOptions {
  /** @default the worker's `backend` */
  backend?: 'auto' | 'cpu' | 'webgpu' | undefined;
  /** Aborts the call: it rejects with `ABORTED` at once, and the worker stops the op at its next check. */
  signal?: AbortSignal | undefined;
  /** The op's progress events, as in-process (each crosses as a message). */
  onProgress?: ((event: ProgressEvent) => void) | undefined;
  /**
   * Move the inputs' buffers to the worker (they are detached here, as postMessage's transfer does) instead of
   * copying them. SharedArrayBuffers are shared either way. @default true
   */
  transfer?: boolean | undefined;
}

/** Where a worker stands: calls go to a 'ready' one; the others reject every call. */
export type WorkerState = 'ready' | 'crashed' | 'terminated';

/** One worker running physiotwin's ops; each method mirrors the library op of the same name. */
export interface PhysiotwinWorker {
  readonly state: WorkerState;
  /** The pipeline's stage names and the WebGPU adapter the worker sees (no device is created). */
  info(options?: Pick<CallOptions, 'signal'>): Promise<WorkerInfo>;
  /** core's `conversionFactor` (mathjs units), for a page that keeps mathjs out of its own bundle. */
  conversionFactor(from: string, to: string, options?: Pick<CallOptions, 'signal'>): Promise<number>;
  /** io's `readVolume`: a .mha, .nii or .nii.gz file's bytes (moved to the worker) to a volume. */
  readVolume(file: VolumeFile, options?: CallOptions & Pick<ReadVolumeOptions, 'maxDecodedBytes'>): Promise<Volume>;
  /**
   * mesh's `tetBoundarySurface`: the boundary faces of a tet mesh (only those labelled `labels`, when given) as a
   * surface with `nodal` values carried as point data. Pass only the fields it reads: every typed array moves.
   */
  tetBoundarySurface(mesh: BoundaryMesh, nodal?: { name: string; values: ArrayLike<number> }, labels?: readonly number[], options?: CallOptions): Promise<SurfaceMesh>;
  /** Scans DICOM files (their bytes move to the worker and stay there for `loadVolume`). */
  scanDicom(files: DicomFile[], options?: CallOptions & Pick<ScanOptions, 'strict' | 'splitBy' | 'fourD' | 'maxInflatedBytes'>): Promise<WorkerScan>;
  /** Frees the files a scan holds in the worker. */
  releaseScan(scan: number | WorkerScan): Promise<void>;
  /** Assembles a scanned series (a handle from `scanDicom`, or a series index of the latest scan); `volume` picks one of a 4D stack. */
  loadVolume(series: SeriesHandle | number, options?: CallOptions & Omit<LoadVolumeOptions, 'signal' | 'onProgress'> & { volume?: number | undefined }): Promise<LoadedVolume>;
  segmentVessel(volume: Volume, seeds: readonly Vec3[], spec?: VesselSpec, options?: CallOptions): Promise<VesselResult>;
  surfaceFromVolume(volume: Volume, spec: SurfacePipelineSpec, options?: CallOptions): Promise<SurfacePipelineResult>;
  /** `tetMeshLabels` without its `snapEdge` function (functions stay in the worker). */
  tetMeshLabels(labelmap: Volume, spec?: TetMeshLabelsSpec, options?: CallOptions): Promise<Omit<TetMeshResult, 'snapEdge'>>;
  /** `vesselWall` without its `snapEdge` function. */
  vesselWall(labelmap: Volume, spec: VesselWallSpec, options?: CallOptions): Promise<Omit<VesselWallResult, 'snapEdge'>>;
  /** fem's `solve`. */
  solveFem(problem: FemProblem, options?: CallOptions): Promise<FemResult>;
  simulateEnsemble(config: SvZeroDConfig, samples: EnsembleSamples, options?: CallOptions & Omit<EnsembleOptions, 'backend' | 'gpu' | 'signal' | 'onProgress'>): Promise<EnsembleSummary>;
  /** The whole pipeline; the input volume's buffer moves to the worker and comes back in the result's `volume`. */
  runPipeline(input: PipelineInput, options?: CallOptions & PipelineCallOptions): Promise<WorkerPipelineResult>;
  /** Stops the worker: pending calls reject with `ABORTED`, later ones too. */
  terminate(): Promise<void>;
}

/** The caller's view of the spawned worker, Node or browser alike. */
interface Handle {
  endpoint: Comlink.Endpoint;
  /** Calls `dead` once, when the worker dies by itself. */
  watch(dead: (why: string) => void): void;
  terminate(): Promise<void>;
  /** Node: keep the process alive while calls are pending, not after. */
  hold(on: boolean): void;
}

function isNodeWorker(w: WorkerLike): w is NodeWorkerLike {
  return typeof (w as NodeWorkerLike).on === 'function';
}

function handleOf(w: WorkerLike): Handle {
  if (isNodeWorker(w)) {
    w.unref();
    return {
      endpoint: nodeEndpoint(w),
      watch(dead) {
        let error: string | undefined;
        w.on('error', (e: Error) => {
          error = `${e.name}: ${e.message}`;
          dead(error);
        });
        w.on('exit', (code: number) => dead(error ?? `the worker exited with code ${code}`));
      },
      async terminate() {
        await w.terminate();
      },
      hold: (on) => (on ? w.ref() : w.unref()),
    };
  }
  return {
    endpoint: w,
    watch(dead) {
      // An uncaught error or a failed script load: the worker's state is unknown, so it is stopped.
      w.addEventListener('error', (e: ErrorEvent) => {
        e.preventDefault?.();
        w.terminate();
        dead(e.message ? `uncaught in the worker: ${e.message}` : 'the worker failed (its script did not load, or it ran out of memory)');
      });
      w.addEventListener('messageerror', () => {
        w.terminate();
        dead('a message from the worker could not be deserialized');
      });
    },
    async terminate() {
      w.terminate();
    },
    hold: () => {},
  };
}

/** A PhysiotwinError rebuilt from the worker's (same code, message, location, details). */
function fromWire(e: WireError): Error {
  if (e.code) {
    const err = new PhysiotwinError(e.code as ErrorCode, '', { ...(e.location ? { location: e.location as ErrorLocation } : {}), ...(e.details ? { details: e.details } : {}) });
    err.message = e.message;
    if (e.stack) err.stack = `${e.stack}\n    (in the worker)`;
    return err;
  }
  const err = new Error(e.message);
  err.name = e.name;
  if (e.stack) err.stack = e.stack;
  return err;
}

/** A message postMessage refused (a function, a class instance with private state, a detached buffer). */
function postError(e: unknown): Error {
  if (e instanceof Error && (e.name === 'DataCloneError' || /could not be cloned|detached/i.test(e.message))) {
    return new PhysiotwinError('INVALID_ARGUMENT', `the call's arguments cannot be sent to a worker: ${e.message}`, { cause: e });
  }
  return e instanceof Error ? e : new Error(String(e));
}

/** A shared abort flag where SharedArrayBuffer exists (Node; cross-origin isolated pages). */
function sharedFlag(): Int32Array | undefined {
  try {
    return typeof SharedArrayBuffer === 'function' ? new Int32Array(new SharedArrayBuffer(4)) : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Starts a worker that runs physiotwin's ops off the calling thread: a module Web Worker in browsers, a
 * worker_threads Worker in Node (the same API). Inputs' buffers are transferred to the worker and results'
 * buffers back (never copied; SharedArrayBuffers are shared); `onProgress` crosses as a comlink proxy; an aborted
 * `signal` rejects the call with `ABORTED` at once and stops the op in the worker at its next check. A worker that
 * dies (an uncaught error, `process.exit`, out of memory) rejects every pending and later call with
 * `WORKER_CRASHED`; `terminate()` rejects them with `ABORTED`. In Node, an idle worker does not keep the process alive.
 * @example
 * ```ts
 * const worker = createWorker();
 * const scan = await worker.scanDicom(files.map((f) => ({ name: f.name, bytes: f.bytes })));
 * const { volume } = await worker.loadVolume(scan.series[0].handle, { spacing: 'report' });
 * const run = await worker.runPipeline({ volume, seeds: [[71, 213, 16]] }, { onProgress: console.log, signal });
 * await worker.terminate();
 * ```
 * @throws Error from the platform when no worker can be started (no Worker in this environment); the worker's own
 *   start-up failures reject the first calls with `WORKER_CRASHED`.
 */
export function createWorker(options: WorkerOptions = {}): PhysiotwinWorker {
  const spawned = options.spawn ? options.spawn() : spawnDefault(options.name, options.resourceLimits);
  const handle = handleOf(spawned);
  const remote = Comlink.wrap<WorkerApi>(handle.endpoint);
  const defaultBackend = options.backend ?? DEFAULT_BACKEND;
  const pending = new Map<number, (e: Error) => void>();
  let state: WorkerState = 'ready';
  let ended: Error | undefined;
  let nextId = 1;

  const end = (s: WorkerState, error: Error) => {
    if (state !== 'ready') return;
    state = s;
    ended = error;
    for (const reject of [...pending.values()]) reject(error);
    pending.clear();
    handle.hold(false);
  };
  handle.watch((why) => end('crashed', new PhysiotwinError('WORKER_CRASHED', `the worker died: ${why}; its pending calls are lost (start a new worker)`)));

  function call<T>(method: string, args: unknown[], options: CallOptions = {}): Promise<T> {
    if (ended) return Promise.reject(ended);
    const { signal, onProgress } = options;
    if (signal?.aborted) return Promise.reject(new PhysiotwinError('ABORTED', `${method} was cancelled`, { cause: signal.reason }));
    const id = nextId++;
    const abortFlag = sharedFlag();
    const wire: WireOptions = { id, backend: options.backend ?? defaultBackend, ...(abortFlag ? { abortFlag } : {}) };
    // The transfer list rides on the wire options (comlink collects it from any argument it marks).
    Comlink.transfer(wire, options.transfer === false ? [] : transferables(args));
    const progress = onProgress ? Comlink.proxy((e: ProgressEvent) => onProgress(e)) : undefined;
    return new Promise<T>((resolve, reject) => {
      const onAbort = () => {
        if (abortFlag) Atomics.store(abortFlag, 0, 1);
        remote.abort(id).catch(() => {});
        finish();
        reject(new PhysiotwinError('ABORTED', `${method} was cancelled`, { cause: signal?.reason }));
      };
      const finish = () => {
        signal?.removeEventListener('abort', onAbort);
        pending.delete(id);
        if (pending.size === 0) handle.hold(false);
      };
      pending.set(id, (e) => {
        finish();
        reject(e);
      });
      handle.hold(true);
      signal?.addEventListener('abort', onAbort, { once: true });
      const fn = (remote as unknown as Record<string, (...a: unknown[]) => Promise<WireResult<T>>>)[method]!;
      fn(...args, wire, progress).then(
        (r) => {
          if (!pending.has(id)) return;
          finish();
          if (r.ok) resolve(r.value);
          else reject(fromWire(r.error));
        },
        (e: unknown) => {
          if (!pending.has(id)) return;
          finish();
          reject(postError(e));
        },
      );
    });
  }

  const split = <O extends CallOptions>(o: O | undefined): [Omit<O, keyof CallOptions>, CallOptions] => {
    const { backend, signal, onProgress, transfer, ...rest } = o ?? ({} as O);
    return [rest, { backend, signal, onProgress, transfer }];
  };

  return {
    get state() {
      return state;
    },
    scanDicom(files, options) {
      const [rest, call_] = split(options);
      return call('scanDicom', [files, rest], call_);
    },
    info(options) {
      return call('info', [], options);
    },
    conversionFactor(from, to, options) {
      return call('conversionFactor', [from, to], options);
    },
    readVolume(file, options) {
      const [rest, call_] = split(options);
      return call('readVolume', [file, rest], call_);
    },
    tetBoundarySurface(mesh, nodal, labels, options) {
      return call('tetBoundarySurface', [mesh, nodal, labels], options);
    },
    releaseScan(scan) {
      return call('releaseScan', [typeof scan === 'number' ? scan : scan.scan]);
    },
    loadVolume(series, options) {
      const [rest, call_] = split(options);
      return call('loadVolume', [series, rest], call_);
    },
    segmentVessel(volume, seeds, spec = {}, options) {
      return call('segmentVessel', [volume, seeds, spec], options);
    },
    surfaceFromVolume(volume, spec, options) {
      return call('surfaceFromVolume', [volume, spec], options);
    },
    tetMeshLabels(labelmap, spec = {}, options) {
      return call('tetMeshLabels', [labelmap, spec], options);
    },
    vesselWall(labelmap, spec, options) {
      return call('vesselWall', [labelmap, spec], options);
    },
    solveFem(problem, options) {
      return call('solveFem', [problem], options);
    },
    simulateEnsemble(config, samples, options) {
      const [rest, call_] = split(options);
      return call('simulateEnsemble', [config, samples, rest], call_);
    },
    runPipeline(input, options) {
      const [rest, call_] = split(options);
      return call('runPipeline', [input, rest], call_);
    },
    async terminate() {
      if (state !== 'ready') return;
      end('terminated', new PhysiotwinError('ABORTED', 'the worker was terminated'));
      await handle.terminate();
    },
  };
}
