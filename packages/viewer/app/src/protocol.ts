// What the page and its helper worker say to each other, and the shapes the page works with.
import type { TetMesh, Vec3, Volume } from '@physiotwin/core';
import type { GroupGeometry } from '@physiotwin/dicom';
import type { HemoSummary, StageRecord } from '@physiotwin/pipeline';

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

/** Requests to the helper worker. */
export type HelperRequest =
  | { id: number; op: 'info' }
  | { id: number; op: 'readVolumeFile'; name: string; bytes: ArrayBuffer }
  | { id: number; op: 'wallSurface'; mesh: Pick<TetMesh, 'positions' | 'boundaryFaces' | 'boundaryLabels' | 'boundaryLabelNames'>; nodalVonMisesMpa: Float64Array | Float32Array };

/** A wire error: a PhysiotwinError's code and message. */
export interface WireError {
  code: string;
  message: string;
}

/** Replies of the helper worker. */
export type HelperReply = { id: number; kind: 'ok'; value: unknown } | { id: number; kind: 'error'; error: WireError };

/** The answer of `info`. */
export interface Info {
  /** The pipeline's stage names, in order (STAGE_NAMES: the page draws one progress bar each). */
  stages: string[];
  /** 1 dyn/cm^2 in mmHg (core's conversionFactor: the 0D results are CGS). */
  dynPerCm2ToMmHg: number;
  available: boolean;
  adapter?: string | undefined;
  reason?: string | undefined;
}
