// The page's side of its worker: @physiotwin/workers (createWorker) reads volume files, scans DICOM, loads series,
// runs the pipeline, cuts the wall's outer surface and says what the page needs before a run (stage names, adapter),
// so none of the libraries' passes run on the main thread. Cancel terminates the worker (a busy worker without
// SharedArrayBuffer cannot read an abort message until its op yields) and starts a fresh one; a DICOM folder is
// scanned again there when it is needed.
import type { TetMesh, Vec3, Volume } from '@physiotwin/core';
import { isPhysiotwinError } from '@physiotwin/core';
import type { GroupGeometry } from '@physiotwin/dicom';
import type { HemoSummary, PipelineTargets, StageRecord } from '@physiotwin/pipeline';
import type { PhysiotwinWorker, SeriesHandle, WorkerPipelineResult } from '@physiotwin/workers';
import { createWorker } from '@physiotwin/workers';

/** One series of a scanned folder, as the series list shows it. */
export interface SeriesInfo {
  index: number;
  modality: string;
  description: string;
  dims: Vec3;
  sliceCount: number;
  geometry?: GroupGeometry | undefined;
}

/** A volume ready to show. */
export interface LoadedInput {
  name: string;
  volume: Volume;
  geometry?: GroupGeometry | undefined;
}

/** What the page keeps of a pipeline run: the numbers, what to draw, and the output files. */
export interface RunOutput {
  backend: string;
  adapter?: string | undefined;
  lumenVoxels: number;
  lumenVolumeMm3: number;
  surfaceTriangles: number;
  wallTets: number;
  hemo: HemoSummary;
  peakVonMisesKPa: number;
  p99VonMisesKPa: number;
  wallPressureMmHg: number;
  stages: StageRecord[];
  warnings: string[];
  labelmap: Volume<Uint8Array>;
  surface: { positions: Float32Array; triangles: Uint32Array };
  /** The wall's outer surface with the nodal von Mises stress (kPa) per point. */
  wallSurface: { positions: Float32Array; triangles: Uint32Array; vonMisesKPa: Float32Array };
  /** The inlet's last cycle: time (s), pressure (mmHg), flow (mL/s). */
  inletWaveform: { time: number[]; pressureMmHg: number[]; flowMlPerS: number[] };
  /** File name -> bytes. */
  files: Array<{ name: string; bytes: Uint8Array }>;
}

/** What the page needs before a run: the stage names, the worker's WebGPU adapter, the 0D results' unit factor. */
export interface Info {
  /** The pipeline's stage names, in order (STAGE_NAMES: the page draws one progress bar each). */
  stages: string[];
  /** 1 dyn/cm^2 in mmHg (core's conversionFactor: the 0D results are CGS). */
  dynPerCm2ToMmHg: number;
  available: boolean;
  adapter?: string | undefined;
  reason?: string | undefined;
}

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

/** The page's engine. */
export class Engine {
  private worker: PhysiotwinWorker | undefined;
  /** The last DICOM files and the series handles of their scan in the current worker (undefined after a restart). */
  private dicom: { files: File[]; handles: SeriesHandle[] | undefined } | undefined;
  private readonly info: Promise<Info>;

  constructor() {
    // The worker starts with the page (its script holds every op it can run), so nothing is fetched later.
    const worker = this.pipelineWorker();
    this.info = Promise.all([worker.info(), worker.conversionFactor('dyn/cm^2', 'mmHg')]).then(([i, dynPerCm2ToMmHg]) => {
      const base = { stages: i.stages, dynPerCm2ToMmHg };
      if (!i.webgpu.available) return { ...base, available: false, reason: i.webgpu.reason };
      const a = i.webgpu.adapter;
      return { ...base, available: true, adapter: [a.vendor, a.architecture, a.description].filter(Boolean).join(' ') + (a.isFallback ? ' (software)' : '') };
    });
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

  /** Reads a .mha / .nii / .nii.gz file in the worker (its bytes move there). */
  async readVolumeFile(name: string, bytes: ArrayBuffer): Promise<LoadedInput> {
    this.dicom = undefined;
    try {
      return { name, volume: await this.pipelineWorker().readVolume({ name, bytes }) };
    } catch (e) {
      throw asEngineError(e);
    }
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
      const wall = await wallSurface(worker, r.wall.mesh, r.wall.nodalVonMises, options.signal);
      return toRunOutput(r, wall, (await this.info).dynPerCm2ToMmHg);
    } catch (e) {
      throw asEngineError(options.signal.aborted ? new EngineError('ABORTED', 'cancelled') : e);
    } finally {
      options.signal.removeEventListener('abort', onAbort);
    }
  }
}

/**
 * The wall's outer surface (the face label its mesh names 'outer', else its whole boundary) with the nodal von Mises
 * stress in kPa, cut in the worker; the mesh's positions, faces and labels move there (the page keeps no tet mesh).
 */
async function wallSurface(worker: PhysiotwinWorker, mesh: TetMesh, nodalVonMisesMpa: Float64Array, signal: AbortSignal): Promise<RunOutput['wallSurface']> {
  const outer = Object.entries(mesh.boundaryLabelNames ?? {}).filter(([, n]) => n === 'outer').map(([k]) => Number(k));
  const wall = await worker.tetBoundarySurface({ positions: mesh.positions, boundaryFaces: mesh.boundaryFaces, boundaryLabels: mesh.boundaryLabels }, { name: 'vonMisesMpa', values: nodalVonMisesMpa }, outer.length ? outer : undefined, { signal });
  const vonMisesKPa = wall.pointData!.vonMisesMpa!.values as Float32Array;
  for (let i = 0; i < vonMisesKPa.length; i++) vonMisesKPa[i] = vonMisesKPa[i]! * 1000;
  return { positions: wall.positions, triangles: wall.triangles, vonMisesKPa };
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
