// Segmentation pipelines as library calls: what `physiotwin segment` runs, a worker or a web page runs the same.
import type { Vec3, Volume } from '@physiotwin/core';
import { PhysiotwinError, throwIfAborted } from '@physiotwin/core';
import { adaptiveConnected } from './adaptive-connected.js';
import { largestComponent } from './components.js';
import { anisotropicDiffusion } from './diffusion.js';
import { fillHoles, morphology } from './morphology.js';
import { connectedThreshold } from './region-growing.js';
import type { BackendReport, ComputeOptions } from '@physiotwin/gpu';
import type { MaskResult, ThresholdRange } from './threshold.js';
import { threshold } from './threshold.js';
import type { AutoVesselParams } from './vessel-auto.js';
import { autoVesselParams } from './vessel-auto.js';
import type { Mask } from './volume-utils.js';
import { checkMask } from './volume-utils.js';

/** The clean-up steps of a segmentation, run in this order: closing, hole filling, largest component. */
export interface RefineSpec {
  /** Morphological closing with a ball of this radius in mm (spacing-aware); 0: none. @default 0 */
  closeMm?: number | undefined;
  /** Fill cavities that no background path links to the image border. @default false */
  fillHoles?: boolean | undefined;
  /** Keep only the largest 6-connected component. @default false */
  largest?: boolean | undefined;
}

/** One step of a segmentation pipeline: what ran, on which backend, for how long. */
export interface PipelineStep {
  /** 'smooth', 'grow', 'threshold', 'close', 'fill-holes', 'largest'. */
  step: string;
  backend: 'cpu' | 'webgpu';
  /** Wall time in milliseconds. */
  ms: number;
}

/**
 * The mask a pipeline made. `backend` is 'webgpu' (with its adapter) when any step ran there, else 'cpu';
 * `steps` says which backend each step took.
 */
export interface PipelineMaskResult extends MaskResult {
  steps: PipelineStep[];
  /** Voxels in the mask (value 1). */
  voxels: number;
}

/** Runs pipeline steps in order, timing each and checking the signal between them. */
class StepRecorder {
  readonly steps: PipelineStep[] = [];
  #gpu: BackendReport | undefined;

  constructor(private readonly signal: AbortSignal | undefined) {}

  /** Runs one step (after checking for cancellation) and records its backend and time. */
  async run<T extends BackendReport>(step: string, op: () => T | Promise<T>): Promise<T> {
    throwIfAborted(this.signal, step);
    const t0 = performance.now();
    const result = await op();
    this.steps.push({ step, backend: result.backend, ms: performance.now() - t0 });
    if (result.backend === 'webgpu') this.#gpu ??= { backend: 'webgpu', adapter: result.adapter };
    return result;
  }

  /** The pipeline's result for its final mask. */
  finish(mask: Mask): PipelineMaskResult {
    let voxels = 0;
    for (let i = 0; i < mask.data.length; i++) voxels += mask.data[i] === 0 ? 0 : 1;
    return { mask, ...(this.#gpu ?? { backend: 'cpu' }), steps: this.steps, voxels };
  }
}

/**
 * Cleans up a segmentation: closing with a ball of `closeMm`, hole filling, largest component, each only when
 * asked for, in that order (the order `physiotwin segment` documents).
 * @throws PhysiotwinError `INVALID_ARGUMENT` (not a scalar mask, closeMm negative or not finite), `ABORTED`, and
 *   what {@link morphology} and {@link largestComponent} throw on their backend.
 * @example
 * ```ts
 * const { mask, voxels } = await refineMask(region.mask, { closeMm: 1, fillHoles: true, largest: true });
 * ```
 */
export async function refineMask(mask: Mask, spec: RefineSpec = {}, options: ComputeOptions = {}): Promise<PipelineMaskResult> {
  const recorder = new StepRecorder(options.signal);
  return recorder.finish(await refineSteps(mask, spec, options, recorder));
}

/** {@link refineMask}'s steps, recorded in `recorder` (so pipelines that end with them report one list). */
async function refineSteps(mask: Mask, spec: RefineSpec, options: ComputeOptions, recorder: StepRecorder): Promise<Mask> {
  checkMask(mask, 'refineMask');
  const closeMm = spec.closeMm ?? 0;
  if (!(Number.isFinite(closeMm) && closeMm >= 0)) throw new PhysiotwinError('INVALID_ARGUMENT', `refineMask: closeMm must be a finite number >= 0, got ${closeMm}`);
  let current = mask;
  if (closeMm > 0) current = (await recorder.run('close', () => morphology(current, { operation: 'close', radiusMm: closeMm }, options))).mask;
  if (spec.fillHoles) current = (await recorder.run('fill-holes', () => fillHoles(current, options))).mask;
  if (spec.largest) current = (await recorder.run('largest', () => largestComponent(current, {}, options))).mask;
  return current;
}

/** Options of {@link segmentVessel}: the clean-up after growing (hole filling always runs). */
export interface VesselSpec {
  /** Morphological closing with a ball of this radius in mm after growing; 0: none. @default 0 */
  closeMm?: number | undefined;
  /** Keep only the largest 6-connected component. @default false */
  largest?: boolean | undefined;
}

/** A vessel lumen from {@link segmentVessel}, with the parameters it chose and how the growth went. */
export interface VesselResult extends PipelineMaskResult {
  /** What {@link autoVesselParams} chose from the seed neighbourhood. */
  params: AutoVesselParams;
  /** Adaptive growth rounds run. */
  rounds: number;
  /** False when growth stopped at its round limit while still changing. */
  converged: boolean;
  /** Smallest and largest local threshold (physical units) over the lumen, in the last round. */
  thresholdMin: number;
  thresholdMax: number;
}

/**
 * A contrast-filled vessel lumen from seed voxels, its brightness allowed to drift along the vessel (the
 * `physiotwin segment --auto` pipeline): parameters from the seed neighbourhood ({@link autoVesselParams}),
 * edge-preserving smoothing ({@link anisotropicDiffusion}, skipped when the neighbourhood has no noise), adaptive
 * region growing ({@link adaptiveConnected}: local half maximum between the region's core and its surroundings),
 * then closing (`closeMm`), hole filling (always: a lumen has no voids, and the local threshold can leave a
 * speckle of noise or an inflow artefact as a cavity) and the largest component (`largest`). Each step runs on the
 * backend `options` pick; `signal` is checked between steps and inside them, and `onProgress` receives each step's
 * own stages.
 * @throws PhysiotwinError `INVALID_ARGUMENT` (a seed outside the image, bad closeMm, a non-finite value),
 *   `ABORTED`, and what the steps throw on their backend (`GPU_UNAVAILABLE`, `GPU_LIMIT_EXCEEDED`, `OUT_OF_MEMORY`).
 * @example
 * ```ts
 * const lumen = await segmentVessel(ct, [[71, 213, 16]], { largest: true }, { signal, onProgress });
 * console.log(lumen.voxels, lumen.converged, lumen.steps);
 * ```
 */
export async function segmentVessel(volume: Volume, seeds: readonly Vec3[], spec: VesselSpec = {}, options: ComputeOptions = {}): Promise<VesselResult> {
  const params = autoVesselParams(volume, seeds);
  const recorder = new StepRecorder(options.signal);
  const diffusion = params.diffusion;
  const smooth = diffusion ? (await recorder.run('smooth', () => anisotropicDiffusion(volume, diffusion, options))).volume : volume;
  const grown = await recorder.run('grow', () => adaptiveConnected(smooth, seeds, params.growing, options));
  const mask = await refineSteps(grown.mask, { closeMm: spec.closeMm, fillHoles: true, largest: spec.largest }, options, recorder);
  return {
    ...recorder.finish(mask),
    params,
    rounds: grown.iterations,
    converged: grown.converged,
    thresholdMin: grown.thresholdMin,
    thresholdMax: grown.thresholdMax,
  };
}

/** Options of {@link segmentRange}: the intensity range, then the clean-up. */
export interface RangeSpec extends ThresholdRange, RefineSpec {}

/**
 * The voxels whose physical value is in [lower, upper] (inclusive) and 6-connected to a seed (with no seeds: all
 * of them), then {@link refineMask}'s clean-up: the `physiotwin segment --lower/--upper` pipeline.
 * @throws PhysiotwinError `INVALID_ARGUMENT` (lower > upper, a seed outside the image, bad closeMm), `ABORTED`, and
 *   what the steps throw on their backend.
 * @example
 * ```ts
 * const { mask, voxels } = await segmentRange(ct, [[71, 213, 16]], { lower: 200, upper: 600, fillHoles: true });
 * ```
 */
export async function segmentRange(volume: Volume, seeds: readonly Vec3[], spec: RangeSpec, options: ComputeOptions = {}): Promise<PipelineMaskResult> {
  const recorder = new StepRecorder(options.signal);
  const range = { lower: spec.lower, upper: spec.upper };
  const region = await recorder.run('threshold', () => (seeds.length ? connectedThreshold(volume, seeds, range, options) : threshold(volume, range, options)));
  return recorder.finish(await refineSteps(region.mask, spec, options, recorder));
}
