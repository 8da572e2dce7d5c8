// What crosses the boundary between a PhysiotwinWorker and its worker: the public result types, and the wire options
// each call carries (the caller's AbortSignal mirrored as a shared flag and a call id; progress goes separately, as
// a comlink proxy).
import type { ProgressEvent, SurfaceMesh, TetMesh, Volume } from '@physiotwin/core';
import type { GroupGeometry, PixelInfo, SeriesAcquisition, FourthAxis } from '@physiotwin/dicom';
import type { ResultTable, ZeroDModel } from '@physiotwin/hemo';
import type { Centerlines } from '@physiotwin/mesh';
import type { HemoSummary, PipelineManifest, PipelineTargets, StageRecord } from '@physiotwin/pipeline';
import type { AdapterDescription } from '@physiotwin/gpu';

/** A series of a scan held by a worker: pass it to `loadVolume`. */
export interface SeriesHandle {
  /** The scan's id in its worker. */
  scan: number;
  /** The series' index in the scan's `series`. */
  series: number;
}

/** One series (a group of `scanDicom`) as the worker reports it: everything but the per-slice frame lists. */
export interface SeriesSummary {
  handle: SeriesHandle;
  seriesInstanceUid: string;
  modality: string;
  seriesDescription: string;
  transferSyntaxes: string[];
  pixel: PixelInfo;
  /** Geometry of the (first) volume: dims, spacing, gaps, tilt, warnings. */
  geometry: GroupGeometry;
  /** Volumes of the group: 1, or the length of a 4D stack (load each with `loadVolume`'s `volume`). */
  volumeCount: number;
  fourthAxis: FourthAxis[];
  acquisition: SeriesAcquisition;
}

/** What `scanDicom` returns: the series found (their sources stay in the worker) and the files skipped. */
export interface WorkerScan {
  /** The scan's id in its worker (`releaseScan` frees its files). */
  scan: number;
  series: SeriesSummary[];
  skipped: { name: string; code: string; message: string }[];
}

/** What a worker says about itself (`info()`): what a page needs before its first run. */
export interface WorkerInfo {
  /** The pipeline's stage names, in order (`STAGE_NAMES` of @physiotwin/pipeline: the names of its progress events). */
  stages: string[];
  /**
   * The WebGPU adapter the worker's navigator.gpu offers (no device is created), or why there is none. Node's worker
   * threads have no navigator.gpu: their calls run on the CPU unless one asks for `backend: 'webgpu'`.
   */
  webgpu: { available: true; adapter: AdapterDescription } | { available: false; reason: string };
}

/** JSON-safe facts of a pipeline run (no typed arrays): what a page shows next to the meshes. */
export interface PipelineSummary {
  /** The input's name. */
  name: string;
  lumenVoxels: number;
  lumenVolumeMm3: number;
  surfaceTriangles: number;
  surfacePoints: number;
  wallTets: number;
  wallNodes: number;
  /** Means, extremes, cardiac output and junction conservation of the 0D simulation. */
  hemo: HemoSummary;
  /** The 0D model without its config (vessels, outlets, tuned mean inlet pressure, tuning runs). */
  model: Omit<ZeroDModel, 'config'>;
  wall: { pressureMmHg: number; pressureMpa: number; peakVonMisesMpa: number; p99VonMisesMpa: number; feIterations: number };
  targets: Required<PipelineTargets>;
  stages: StageRecord[];
  backend: 'cpu' | 'webgpu';
  adapter?: AdapterDescription | undefined;
  warnings: string[];
}

/** The vessel wall of a pipeline run: its tet mesh and the FE solution on it. */
export interface WorkerWall {
  mesh: TetMesh;
  /** Displacement, mm, 3 per node. */
  displacement: Float64Array;
  /** von Mises stress per tet (cell), MPa. */
  vonMises: Float64Array;
  /** von Mises stress per node (averaged), MPa. */
  nodalVonMises: Float64Array;
}

/** What a worker's `runPipeline` returns: the summary, the artefacts a viewer draws, and the output files. */
export interface WorkerPipelineResult {
  summary: PipelineSummary;
  /** The input volume, handed back (its buffer was transferred to the worker and is transferred back). */
  volume: Volume;
  /** The lumen labelmap (uint8, 1 inside) on the volume's geometry. */
  labelmap: Volume<Uint8Array>;
  /** The lumen surface, world LPS mm. */
  surface: SurfaceMesh;
  centerlines: Centerlines;
  wall: WorkerWall;
  /** The 0D simulation's result table (last cycle). */
  results: ResultTable;
  /** The output files (`pipelineFiles`): name -> bytes; undefined with `files: false`. */
  files?: Map<string, Uint8Array> | undefined;
  /** The content of manifest.json; undefined with `files: false`. */
  manifest?: PipelineManifest | undefined;
}

/** How an error crosses back (comlink would keep only name and message). */
export interface WireError {
  code?: string | undefined;
  name: string;
  message: string;
  stack?: string | undefined;
  location?: Record<string, unknown> | undefined;
  details?: Record<string, unknown> | undefined;
}

/** A call's result or its error. */
export type WireResult<T> = { ok: true; value: T } | { ok: false; error: WireError };

/** The options every call carries across. */
export interface WireOptions {
  /** The call's id (`abort(id)` cancels it). */
  id: number;
  backend?: 'auto' | 'cpu' | 'webgpu' | undefined;
  /** Set to 1 when the caller aborts (a SharedArrayBuffer; absent where there is none). */
  abortFlag?: Int32Array | undefined;
}

/** The progress callback as the worker sees it (a comlink proxy: calls are messages, never awaited). */
export type WireProgress = ((event: ProgressEvent) => unknown) | undefined;
