// What the page and its pipeline worker say to each other (structured clone; big buffers are transferred).
import type { Vec3, Volume } from '@physiotwin/core';
import type { GroupGeometry } from '@physiotwin/dicom';
import type { HemoSummary, PipelineTargets, StageRecord } from '@physiotwin/pipeline';

/** One series of a scanned folder, as the series list shows it. */
export interface SeriesInfo {
  index: number;
  modality: string;
  description: string;
  dims: Vec3;
  sliceCount: number;
  geometry: GroupGeometry;
}

/** A volume ready to show (a copy: the worker keeps its own for the pipeline). */
export interface LoadedInput {
  name: string;
  volume: Volume;
  geometry?: GroupGeometry | undefined;
}

/** What a pipeline run sends back: the numbers, what to draw, and the output files. */
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

/** Requests to the worker. */
export type Request =
  | { id: number; op: 'gpuInfo' }
  | { id: number; op: 'scanDicom'; files: Array<{ name: string; bytes: ArrayBuffer }> }
  | { id: number; op: 'loadSeries'; index: number }
  | { id: number; op: 'readVolumeFile'; name: string; bytes: ArrayBuffer }
  | { id: number; op: 'setVolume'; input: LoadedInput }
  | { id: number; op: 'runPipeline'; seeds: Vec3[]; backend: 'auto' | 'cpu' | 'webgpu'; targets: PipelineTargets };

/** A wire error: a PhysiotwinError's code and message. */
export interface WireError {
  code: string;
  message: string;
}

/** Replies: a result, an error, or progress of a running request. */
export type Reply =
  | { id: number; kind: 'ok'; value: unknown }
  | { id: number; kind: 'error'; error: WireError }
  | { id: number; kind: 'progress'; stage: string; done: number; total: number };

/** The answer of `gpuInfo`. */
export interface GpuInfo {
  /** The pipeline's stage names, in order (STAGE_NAMES: the page draws one progress bar each). */
  stages: string[];
  available: boolean;
  adapter?: string | undefined;
  reason?: string | undefined;
}
