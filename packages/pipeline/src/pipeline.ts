// The whole pipeline as one library call: the CLI, a worker and a web page run exactly this code. Stages run in
// the order of PIPELINE_STAGES; each reads what earlier stages left in the artefacts and adds its own.
import type { BackendRecord, JsonValue, SurfaceMesh, Vec3, Volume } from '@physiotwin/core';
import { canonicalJson, PhysiotwinError, isPhysiotwinError, sha256Hex, throwIfAborted } from '@physiotwin/core';
import type { GroupGeometry } from '@physiotwin/dicom';
import type { BackendReport, ComputeOptions } from '@physiotwin/gpu';
import type { ResultTable, ZeroDModel } from '@physiotwin/hemo';
import { resultTable, simulate, zeroDModelFromCenterlines } from '@physiotwin/hemo';
import type { Centerlines } from '@physiotwin/mesh';
import { extractCenterlines, surfaceFromVolume } from '@physiotwin/mesh';
import type { VesselResult } from '@physiotwin/segment';
import { segmentVessel } from '@physiotwin/segment';
import type { HemoSummary } from './summary.js';
import type { WallResult } from './wall.js';
import { meshWall, solveWall } from './wall.js';
import { summarizeHemo } from './summary.js';

/** What the pipeline starts from: a loaded image and seed voxels in its lumen. */
export interface PipelineInput {
  /** A contrast CT (or any image with a bright lumen), e.g. from `loadVolume` or `readVolumeFile`. */
  volume: Volume;
  /** Seed voxels (i, j, k; 0-based indices) inside the vessel lumen; the first is also the inlet search's hint. */
  seeds: readonly Vec3[];
  /** The DICOM series' geometry report (gaps, tilt, warnings), shown in the report. @default none (a volume file) */
  geometry?: GroupGeometry | undefined;
  /** What the volume was read from, for the report. @default 'volume' */
  name?: string | undefined;
}

/** Physiological targets of the model. */
export interface PipelineTargets {
  /** Mean arterial (inlet) pressure, mmHg. @default 93 */
  mapPressureMmHg?: number | undefined;
  /** Cardiac output, L/min. @default 5 */
  cardiacOutputLPerMin?: number | undefined;
  /** Vessel wall thickness, mm (0D compliance and the wall mesh). @default 2 */
  wallMm?: number | undefined;
  /** Heart rate, beats/min: the period of the 0D inflow is 60 / heartRateBpm s. @default 75 */
  heartRateBpm?: number | undefined;
}

/** Options of {@link runPipeline}: targets plus how it runs (backend, cancellation, progress). */
export interface PipelineOptions extends ComputeOptions {
  targets?: PipelineTargets | undefined;
  /**
   * Results of stages to take as they are instead of computing them (`--resume`): called before each stage with
   * its name and key ({@link stageKey}); a returned value is that stage's artefacts. @default none: every stage runs
   */
  reuse?: ((stage: StageName, key: string) => Promise<Partial<PipelineArtefacts> | undefined>) | undefined;
}

/** The stages, in order. */
export type StageName = 'segment' | 'surface' | 'centerlines' | 'zeroD' | 'simulate' | 'wall' | 'fe';

/** What one stage did. */
export interface StageRecord extends BackendRecord {
  stage: StageName;
  /** Wall time, ms (0 when reused). */
  ms: number;
  /** Hash of everything the stage's result depends on: the input volume, seeds and the parameters up to it. */
  key: string;
  /** True when the result came from `reuse` (a resumed run). */
  reused: boolean;
  /** The stage's own parameters (canonical JSON). */
  parameters: JsonValue;
}

/** Everything the stages make, in memory. */
export interface PipelineArtefacts {
  /** The lumen labelmap (uint8, 1 inside) on the input's geometry. */
  labelmap: Volume<Uint8Array>;
  /** Lumen voxels and their volume, mm^3. */
  lumenVoxels: number;
  lumenVolumeMm3: number;
  /** The lumen's surface, world LPS mm. */
  surface: SurfaceMesh;
  centerlines: Centerlines;
  /** The 0D model (svZeroDSolver config in `model.config`). */
  model: ZeroDModel;
  /** The simulated result table (last cycle, vessel-based, CGS). */
  results: ResultTable;
  /** The wall's tet mesh (region 1; faces tagged lumen 1, outer 2, cut ends 3...) and its ends. */
  wallMesh: Pick<WallResult, 'mesh' | 'ends'>;
  /** The wall under the peak systolic pressure: displacement, stresses, peak von Mises. */
  wall: WallResult;
}

/**
 * What {@link runPipeline} returns: the input, every artefact, per-stage records and warnings. `backend` is
 * 'webgpu' (with its adapter) when any stage ran there, else 'cpu'; `stages` says which backend each stage took.
 */
export interface PipelineResult extends PipelineArtefacts, BackendReport {
  input: PipelineInput;
  /** The targets used, defaults filled in. */
  targets: Required<PipelineTargets>;
  /** Means, extremes, cardiac output and junction conservation of the simulation. */
  hemo: HemoSummary;
  stages: StageRecord[];
  warnings: string[];
}

/** Defaults of {@link PipelineTargets}. */
export const DEFAULT_TARGETS: Required<PipelineTargets> = { mapPressureMmHg: 93, cardiacOutputLPerMin: 5, wallMm: 2, heartRateBpm: 75 };

/** A lumen above this fraction of the image, or above {@link LEAK_MAX_MM3}, is a leak, not a vessel. */
export const LEAK_MAX_FRACTION = 0.1;
/** 2 L: more than the blood volume of all large arteries together. */
export const LEAK_MAX_MM3 = 2e6;

/** Surface smoothing (Taubin iterations) of the lumen: removes the voxel staircase, keeps the volume. */
const SURFACE_SMOOTH = 10;

interface StageContext {
  input: PipelineInput;
  targets: Required<PipelineTargets>;
  options: ComputeOptions;
  artefacts: Partial<PipelineArtefacts>;
  warnings: string[];
}

interface StageDef {
  name: StageName;
  /** Parameters that, with earlier stages' keys, decide its result. */
  parameters(ctx: StageContext): JsonValue;
  /** What to tell the user when the stage fails on bad input. */
  advice: string;
  run(ctx: StageContext): Promise<BackendReport>;
}

const cpu: BackendReport = { backend: 'cpu' };

function need<K extends keyof PipelineArtefacts>(ctx: StageContext, key: K): PipelineArtefacts[K] {
  const v = ctx.artefacts[key];
  if (v === undefined) throw new PhysiotwinError('INVALID_ARGUMENT', `pipeline: ${key} is missing (a reused stage left it out)`);
  return v as PipelineArtefacts[K];
}

/** The stages in order; each names the artefacts it adds. */
const PIPELINE_STAGES: readonly StageDef[] = [
  {
    name: 'segment',
    parameters: (ctx) => ({ method: 'segmentVessel', seeds: ctx.input.seeds.map((s) => [...s]), largest: true }),
    advice: 'put every --seed inside the contrast-filled lumen (a voxel as bright as the vessel around it)',
    async run(ctx) {
      const { volume, seeds } = ctx.input;
      checkSeedsInImage(volume, seeds);
      const r: VesselResult = await segmentVessel(volume, seeds, { largest: true }, ctx.options);
      if (!r.converged) ctx.warnings.push(`segment: adaptive growth stopped after ${r.rounds} rounds without converging`);
      const mask = r.mask as Volume<Uint8Array>;
      const [nx, ny] = volume.dims;
      for (const s of seeds) {
        if (mask.data[s[0] + nx * (s[1] + ny * s[2])] === 0) {
          throw new PhysiotwinError('INVALID_ARGUMENT', `seed ${s.join(',')} is not in the segmented lumen (its value ${volume.data[s[0] + nx * (s[1] + ny * s[2])]} is below the local threshold ${r.thresholdMin.toFixed(1)})`);
        }
      }
      const voxelMm3 = volume.spacing[0] * volume.spacing[1] * volume.spacing[2];
      const mm3 = r.voxels * voxelMm3;
      if (r.voxels > LEAK_MAX_FRACTION * volume.data.length || mm3 > LEAK_MAX_MM3) {
        throw new PhysiotwinError('GEOMETRY_INVALID', `the segmentation leaked: ${r.voxels} voxels (${(mm3 / 1000).toFixed(0)} mL, ${((100 * r.voxels) / volume.data.length).toFixed(1)}% of the image), above ${LEAK_MAX_FRACTION * 100}% of the image or ${LEAK_MAX_MM3 / 1e6} L`);
      }
      Object.assign(ctx.artefacts, { labelmap: mask, lumenVoxels: r.voxels, lumenVolumeMm3: mm3 });
      return r;
    },
  },
  {
    name: 'surface',
    parameters: () => ({ label: 1, capBoundary: true, smooth: SURFACE_SMOOTH }),
    advice: 'check the labelmap: the lumen must be a solid region',
    async run(ctx) {
      const r = await surfaceFromVolume(need(ctx, 'labelmap'), { label: 1, capBoundary: true, smooth: SURFACE_SMOOTH }, ctx.options);
      ctx.artefacts.surface = r.mesh;
      return r;
    },
  },
  {
    name: 'centerlines',
    parameters: () => ({ label: 1 }),
    advice: 'the lumen must be a tube with at least one branch longer than 2.5 radii: add a --seed in each vessel the segmentation should follow, or check that it did not stop short',
    async run(ctx) {
      ctx.artefacts.centerlines = extractCenterlines(need(ctx, 'labelmap'), { label: 1, signal: ctx.options.signal, onProgress: ctx.options.onProgress });
      return cpu;
    },
  },
  {
    name: 'zeroD',
    parameters: (ctx) => ({ meanPressureMmHg: ctx.targets.mapPressureMmHg, cardiacOutputLPerMin: ctx.targets.cardiacOutputLPerMin, wallThicknessMm: ctx.targets.wallMm, heartRate: ctx.targets.heartRateBpm }),
    advice: 'check --map-pressure, --cardiac-output and --wall-mm, and the centerlines (a branch too narrow drops the whole pressure)',
    async run(ctx) {
      const { mapPressureMmHg, cardiacOutputLPerMin, wallMm, heartRateBpm } = ctx.targets;
      ctx.artefacts.model = await zeroDModelFromCenterlines(need(ctx, 'centerlines'), { meanPressureMmHg: mapPressureMmHg, cardiacOutputLPerMin, wallThicknessMm: wallMm, heartRate: heartRateBpm, signal: ctx.options.signal, onProgress: ctx.options.onProgress });
      return cpu;
    },
  },
  {
    name: 'simulate',
    parameters: () => ({ solver: 'simulate' }),
    advice: 'the 0D model did not simulate: check its targets',
    async run(ctx) {
      const r = await simulate(need(ctx, 'model').config, { signal: ctx.options.signal, onProgress: ctx.options.onProgress, backend: ctx.options.backend === 'webgpu' ? 'cpu' : ctx.options.backend });
      ctx.artefacts.results = resultTable(r, false);
      return r;
    },
  },
  {
    name: 'wall',
    parameters: (ctx) => ({ method: 'vesselWall', thicknessMm: ctx.targets.wallMm }),
    advice: 'check --wall-mm and the labelmap',
    async run(ctx) {
      ctx.artefacts.wallMesh = meshWall(need(ctx, 'labelmap'), ctx.targets.wallMm, ctx.options);
      return cpu;
    },
  },
  {
    name: 'fe',
    parameters: () => ({ solver: 'solve', element: 'T4', load: 'peak systolic inlet pressure', ends: 'fixed' }),
    advice: 'the wall did not solve: check --wall-mm',
    async run(ctx) {
      const peak = summarizeHemo(need(ctx, 'model').config, need(ctx, 'results')).peakSystolicMmHg;
      ctx.artefacts.wall = await solveWall(need(ctx, 'wallMesh'), peak, ctx.options);
      return ctx.artefacts.wall.fe;
    },
  },
];

/** The names of the pipeline's stages, in the order they run. */
export const STAGE_NAMES: readonly StageName[] = PIPELINE_STAGES.map((s) => s.name);

/**
 * @throws PhysiotwinError `INVALID_ARGUMENT` for a seed that is not three integers inside the image.
 */
function checkSeedsInImage(volume: Volume, seeds: readonly Vec3[]): void {
  if (seeds.length === 0) throw new PhysiotwinError('INVALID_ARGUMENT', 'give at least one seed voxel inside the lumen');
  for (const s of seeds) {
    if (s.length !== 3 || !s.every((x, a) => Number.isInteger(x) && x >= 0 && x < volume.dims[a]!)) {
      throw new PhysiotwinError('INVALID_ARGUMENT', `seed ${s.join(',')} is outside the image (voxel indices 0..${volume.dims.map((d) => d - 1).join(', 0..')})`);
    }
  }
}

function checkTargets(t: PipelineTargets | undefined): Required<PipelineTargets> {
  const out = { ...DEFAULT_TARGETS };
  for (const key of Object.keys(DEFAULT_TARGETS) as (keyof PipelineTargets)[]) {
    const v = t?.[key];
    if (v === undefined) continue;
    if (!(Number.isFinite(v) && v > 0)) throw new PhysiotwinError('INVALID_ARGUMENT', `pipeline: targets.${key} must be a positive number, got ${v}`);
    out[key] = v;
  }
  return out;
}

/**
 * The key of a stage: SHA-256 over the input volume's hash, the seeds and every stage's parameters up to it.
 * Equal keys mean equal inputs; `--resume` reuses a stage's written outputs when its key is unchanged.
 * @throws nothing (parameters are plain JSON).
 */
export async function stageKey(volumeHash: string, parameters: readonly JsonValue[]): Promise<string> {
  return sha256Hex(canonicalJson({ volume: volumeHash, stages: [...parameters] }));
}

/**
 * SHA-256 of a volume's geometry and values (what the stage keys start from).
 * @throws nothing.
 */
export async function volumeHash(volume: Volume): Promise<string> {
  const data = new Uint8Array(volume.data.buffer, volume.data.byteOffset, volume.data.byteLength);
  const head = canonicalJson({ dims: [...volume.dims], spacing: [...volume.spacing], origin: [...volume.origin], direction: [...volume.direction], dtype: volume.data.constructor.name, components: volume.components });
  return sha256Hex(head + (await sha256Hex(data)));
}

/**
 * Runs the whole pipeline on a loaded image: seeded lumen segmentation ({@link segmentVessel}), its smoothed surface
 * ({@link surfaceFromVolume}), centerlines ({@link extractCenterlines}), the 0D model tuned to the targets
 * ({@link zeroDModelFromCenterlines}) and its simulation ({@link simulate}), a tet mesh of the wall (`vesselWall`,
 * thickness `wallMm`) and its linear-elastic solution under the simulated peak systolic inlet pressure with the
 * ends where the vessel leaves the image fixed (`solve` from @physiotwin/fem; E 0.865 MPa, nu 0.45, T4). Everything stays in memory; write it with
 * `writePipelineOutputs` from `@physiotwin/pipeline/node`. `backend` goes to every stage that has a GPU kernel
 * (the others run on the CPU and say so in `stages`); `signal` is checked inside and between stages; `onProgress`
 * receives each stage's own progress events plus `{ stage: 'pipeline', done, total }` between stages.
 *
 * A stage that fails on bad input throws a PhysiotwinError whose message starts with `pipeline stage '<name>'` and
 * ends with what to change.
 * @throws PhysiotwinError `INVALID_ARGUMENT` (no seed, a seed outside the image or outside the lumen, a target
 *   not positive), `GEOMETRY_INVALID` (a segmentation that leaks: above 10% of the image or 2 L; centerlines that
 *   find no outlet), `SOLVER_DIVERGED`, `SOLVER_NOT_CONVERGED`, `MESH_INVALID`, `LIMIT_EXCEEDED`, `GPU_UNAVAILABLE`
 *   (backend 'webgpu' without a device), `ABORTED`.
 * @example
 * ```ts
 * const volume = await readVolumeFile('fixtures/mesh/vmtk-aorta/aorta.mha');
 * const result = await runPipeline({ volume, seeds: [[71, 213, 16]] }, { targets: { mapPressureMmHg: 93 } });
 * console.log(result.hemo.inlet.meanPressureMmHg, result.stages);
 * ```
 */
export async function runPipeline(input: PipelineInput, options: PipelineOptions = {}): Promise<PipelineResult> {
  const targets = checkTargets(options.targets);
  const { reuse } = options;
  const compute: ComputeOptions = { backend: options.backend, gpu: options.gpu, signal: options.signal, onProgress: options.onProgress };
  const ctx: StageContext = { input, targets, options: compute, artefacts: {}, warnings: [...(input.geometry?.warnings ?? [])] };
  const stages: StageRecord[] = [];
  const hash = await volumeHash(input.volume);
  const parameters: JsonValue[] = [];
  for (const [i, stage] of PIPELINE_STAGES.entries()) {
    throwIfAborted(options.signal, `pipeline stage '${stage.name}'`);
    options.onProgress?.({ stage: 'pipeline', done: i, total: PIPELINE_STAGES.length });
    const params = stage.parameters(ctx);
    parameters.push(params);
    const key = await stageKey(hash, parameters);
    const reused = reuse ? await reuse(stage.name, key) : undefined;
    if (reused) {
      Object.assign(ctx.artefacts, reused);
      stages.push({ stage: stage.name, backend: 'cpu', ms: 0, key, reused: true, parameters: params });
      continue;
    }
    const t0 = performance.now();
    let report: BackendReport;
    try {
      report = await stage.run(ctx);
    } catch (e) {
      throw stageError(stage, e);
    }
    stages.push({ stage: stage.name, backend: report.backend, ...(report.adapter ? { adapter: report.adapter } : {}), ms: performance.now() - t0, key, reused: false, parameters: params });
  }
  options.onProgress?.({ stage: 'pipeline', done: PIPELINE_STAGES.length, total: PIPELINE_STAGES.length });
  const a = ctx.artefacts as PipelineArtefacts;
  const gpu = stages.find((s) => s.backend === 'webgpu');
  const backend: BackendReport = gpu ? { backend: 'webgpu', adapter: gpu.adapter } : { backend: 'cpu' };
  return { ...a, ...backend, input, targets, hemo: summarizeHemo(a.model.config, a.results), stages, warnings: ctx.warnings };
}

/** A stage's bad-input error with the stage's name and advice; cancellation and GPU failures pass unchanged. */
function stageError(stage: StageDef, e: unknown): unknown {
  if (!isPhysiotwinError(e) || e.code === 'ABORTED' || e.code.startsWith('GPU_')) return e;
  const message = e.message.replace(/^[A-Z_]+: /, '');
  return new PhysiotwinError(e.code, `pipeline stage '${stage.name}': ${message}; ${stage.advice}`, { cause: e, details: { stage: stage.name } });
}
