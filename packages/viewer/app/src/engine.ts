// The page's side of its workers: @physiotwin/workers (createWorker) scans DICOM, loads series and runs the
// pipeline; a small helper worker (input.worker.ts) reads volume files and says what the page needs before a run.
// Cancel terminates the pipeline worker (a busy worker without SharedArrayBuffer cannot read an abort message
// until its op yields) and starts a fresh one; a DICOM folder is scanned again there when it is needed.
import type { Vec3 } from '@physiotwin/core';
import { isPhysiotwinError } from '@physiotwin/core';
import type { PipelineTargets } from '@physiotwin/pipeline';
import type { PhysiotwinWorker, SeriesHandle, WorkerPipelineResult } from '@physiotwin/workers';
import { createWorker } from '@physiotwin/workers';
import type { HelperReply, HelperRequest, Info, LoadedInput, RunOutput, SeriesInfo } from './protocol.js';

/** A failed request: the error code and message. */
export class EngineError extends Error {
  constructor(readonly code: string, message: string) {
    super(message);
  }
}

type Progress = (stage: string, done: number, total: number) => void;

function asEngineError(e: unknown): EngineError {
  if (e instanceof EngineError) return e;
  if (isPhysiotwinError(e)) return new EngineError(e.code, e.message);
  const code = (e as { code?: unknown } | null)?.code;
  return new EngineError(typeof code === 'string' ? code : 'INTERNAL', e instanceof Error ? e.message : String(e));
}

/** The helper worker: one promise per request. */
class Helper {
  private readonly worker = new Worker(new URL('./input.worker.ts', import.meta.url), { type: 'module', name: 'physiotwin-input' });
  private next = 1;
  private readonly pending = new Map<number, { resolve: (v: unknown) => void; reject: (e: unknown) => void }>();

  constructor() {
    this.worker.addEventListener('message', (e: MessageEvent<HelperReply>) => {
      const r = e.data;
      const p = this.pending.get(r.id);
      if (!p) return;
      this.pending.delete(r.id);
      if (r.kind === 'ok') p.resolve(r.value);
      else p.reject(new EngineError(r.error.code, r.error.message));
    });
    this.worker.addEventListener('error', (e) => {
      for (const p of this.pending.values()) p.reject(new EngineError('WORKER_CRASHED', e.message || 'the helper worker failed to start'));
      this.pending.clear();
    });
  }

  call<T>(body: HelperRequest extends infer R ? (R extends HelperRequest ? Omit<R, 'id'> : never) : never, transfer: Transferable[] = []): Promise<T> {
    const id = this.next++;
    return new Promise<T>((resolve, reject) => {
      this.pending.set(id, { resolve: resolve as (v: unknown) => void, reject });
      this.worker.postMessage({ ...body, id }, transfer);
    });
  }
}

/** The page's engine. */
export class Engine {
  private readonly helper = new Helper();
  private worker: PhysiotwinWorker | undefined;
  /** The last DICOM files and the series handles of their scan in the current worker (undefined after a restart). */
  private dicom: { files: File[]; handles: SeriesHandle[] | undefined } | undefined;
  private readonly info: Promise<Info> = this.helper.call<Info>({ op: 'info' });

  constructor() {
    // Both workers start with the page (their scripts hold every op they can run), so nothing is fetched later.
    this.pipelineWorker();
  }

  private pipelineWorker(): PhysiotwinWorker {
    if (!this.worker || this.worker.state !== 'ready') this.worker = createWorker({ name: 'physiotwin-pipeline' });
    return this.worker;
  }

  /** Stage names, WebGPU adapter, unit factor. */
  gpuInfo(): Promise<Info> {
    return this.info;
  }

  private async scan(files: File[], onProgress?: Progress): Promise<SeriesInfo[]> {
    const payload = await Promise.all(files.map(async (f) => ({ name: f.webkitRelativePath || f.name, bytes: await f.arrayBuffer() })));
    const scan = await this.pipelineWorker().scanDicom(payload, { onProgress: onProgress && ((e) => onProgress(e.stage, e.done, e.total)) });
    this.dicom = { files, handles: scan.series.map((s) => s.handle) };
    return scan.series.map((s, index) => ({ index, modality: s.modality, description: s.seriesDescription, dims: [...s.geometry.dims], sliceCount: s.geometry.sliceCount, geometry: s.geometry }));
  }

  /** Scans DICOM files in the pipeline worker; the series stay there. */
  async scanDicom(files: File[], onProgress?: Progress): Promise<{ series: SeriesInfo[]; skipped: number }> {
    try {
      const series = await this.scan(files, onProgress);
      return { series, skipped: files.length - series.reduce((n, s) => n + s.sliceCount, 0) };
    } catch (e) {
      throw asEngineError(e);
    }
  }

  /** Loads series `index` of the last scan (scanning again in a fresh worker after a cancel). */
  async loadSeries(index: number, onProgress?: Progress): Promise<LoadedInput> {
    try {
      if (!this.dicom) throw new EngineError('INVALID_ARGUMENT', 'no DICOM folder is loaded');
      if (!this.dicom.handles || this.worker?.state !== 'ready') await this.scan(this.dicom.files);
      const handle = this.dicom.handles![index];
      if (!handle) throw new EngineError('INVALID_ARGUMENT', `no series ${index}`);
      const loaded = await this.pipelineWorker().loadVolume(handle, { onProgress: onProgress && ((e) => onProgress(e.stage, e.done, e.total)) });
      return { name: this.dicom.files[0]?.webkitRelativePath.split('/')[0] || `series ${index + 1}`, volume: loaded.volume, geometry: loaded.geometry };
    } catch (e) {
      throw asEngineError(e);
    }
  }

  /** Reads a .mha / .mhd / .nii / .nii.gz / .nrrd file in the helper worker. */
  readVolumeFile(name: string, bytes: ArrayBuffer): Promise<LoadedInput> {
    this.dicom = undefined;
    return this.helper.call<LoadedInput>({ op: 'readVolumeFile', name, bytes }, [bytes]);
  }

  /**
   * Runs the pipeline in the pipeline worker on a copy of `input` (the page keeps showing its volume); `signal`
   * rejects the run with ABORTED at once and terminates the worker.
   */
  async runPipeline(input: LoadedInput, seeds: Vec3[], options: { backend: 'auto' | 'cpu' | 'webgpu'; targets: PipelineTargets; signal: AbortSignal; onProgress: Progress }): Promise<RunOutput> {
    const worker = this.pipelineWorker();
    const onAbort = () => {
      if (this.dicom) this.dicom.handles = undefined;
      void worker.terminate();
      // Its successor starts now, not with the next run: its script (the browser's cached copy of the one the page
      // loaded) is read while the page shows 'cancelled', so no run ever waits on it.
      this.pipelineWorker();
    };
    options.signal.addEventListener('abort', onAbort, { once: true });
    try {
      const r = await worker.runPipeline(
        { volume: input.volume, seeds, geometry: input.geometry, name: input.name },
        { backend: options.backend, targets: options.targets, signal: options.signal, transfer: false, onProgress: (e) => options.onProgress(e.stage, e.done, e.total), files: { packages: { '@physiotwin/viewer (web app)': '0.1.0' } } },
      );
      const { mesh, nodalVonMises } = r.wall;
      const wall = await this.helper.call<RunOutput['wallSurface']>({ op: 'wallSurface', mesh: { positions: mesh.positions, boundaryFaces: mesh.boundaryFaces, boundaryLabels: mesh.boundaryLabels, boundaryLabelNames: mesh.boundaryLabelNames }, nodalVonMisesMpa: nodalVonMises }, [mesh.positions.buffer, nodalVonMises.buffer, ...(mesh.boundaryFaces ? [mesh.boundaryFaces.buffer] : []), ...(mesh.boundaryLabels ? [mesh.boundaryLabels.buffer] : [])]);
      return toRunOutput(r, wall, (await this.info).dynPerCm2ToMmHg);
    } catch (e) {
      throw asEngineError(options.signal.aborted ? new EngineError('ABORTED', 'cancelled') : e);
    } finally {
      options.signal.removeEventListener('abort', onAbort);
    }
  }
}

/** What the page draws and lists from a worker's pipeline result. */
function toRunOutput(r: WorkerPipelineResult, wall: RunOutput['wallSurface'], toMmHg: number): RunOutput {
  const s = r.summary;
  const t = r.results;
  const vessel = s.hemo.inlet.vessel;
  const p = t.values.pressure_in, q = t.values.flow_in;
  const inletWaveform: RunOutput['inletWaveform'] = { time: [], pressureMmHg: [], flowMlPerS: [] };
  if (p && q) {
    t.name.forEach((n, i) => {
      if (n !== vessel || !Number.isFinite(t.time[i]!)) return;
      inletWaveform.time.push(t.time[i]!);
      inletWaveform.pressureMmHg.push(p[i]! * toMmHg);
      inletWaveform.flowMlPerS.push(q[i]!);
    });
  }
  const adapter = s.adapter;
  return {
    backend: s.backend,
    adapter: adapter ? [adapter.vendor, adapter.architecture, adapter.description].filter(Boolean).join(' ') : undefined,
    lumenVoxels: s.lumenVoxels,
    lumenVolumeMm3: s.lumenVolumeMm3,
    surfaceTriangles: s.surfaceTriangles,
    wallTets: s.wallTets,
    hemo: s.hemo,
    peakVonMisesKPa: s.wall.peakVonMisesMpa * 1000,
    p99VonMisesKPa: s.wall.p99VonMisesMpa * 1000,
    wallPressureMmHg: s.wall.pressureMmHg,
    stages: s.stages,
    warnings: s.warnings,
    labelmap: r.labelmap,
    surface: { positions: r.surface.positions, triangles: r.surface.triangles },
    wallSurface: wall,
    inletWaveform,
    files: [...(r.files ?? new Map<string, Uint8Array>())].map(([name, bytes]) => ({ name, bytes })),
  };
}
