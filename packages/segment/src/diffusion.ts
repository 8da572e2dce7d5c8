import type { Volume } from '@physiotwin/core';
import { PhysiotwinError, progressReporter } from '@physiotwin/core';
import { diffusionStepCpu } from './diffusion.cpu.js';
import type { BackendReport, ComputeOptions } from '@physiotwin/gpu';
import { backendReport, chooseBackend } from '@physiotwin/gpu';
import { checkScalarVolume, volumeProblem, withData } from './volume-utils.js';

/** Options of {@link anisotropicDiffusion}. */
export interface DiffusionSpec {
  /** Explicit time steps. 0 returns the physical values unchanged (as float32). */
  iterations: number;
  /**
   * K of the conductance g = exp(-(|grad u| / K)^2), in physical value units per mm: where neighbouring values
   * differ by much more than K per mm (an edge) almost nothing flows; much less (noise on a plateau) diffuses
   * as the heat equation.
   */
  conductance: number;
  /**
   * Time step in mm^2, at most the stability limit 1 / (2 * sum over axes of 1 / spacing^2), under which every
   * step is a convex combination of neighbouring values (no new extrema).
   * @default half the stability limit
   */
  timeStep?: number | undefined;
}

/** A filtered volume (physical values as float32, no rescale) and the backend that made it. */
export interface FilterResult extends BackendReport {
  volume: Volume<Float32Array>;
}

/**
 * The largest time step (mm^2) for which the explicit scheme has a maximum principle on this spacing.
 * @throws nothing (a zero spacing gives 0).
 */
export function diffusionStabilityLimit(spacing: readonly number[]): number {
  return 1 / (2 * spacing.reduce((s, h) => s + 1 / (h * h), 0));
}

/**
 * Edge-preserving smoothing: gradient anisotropic diffusion (Perona-Malik with the exponential conductance, as
 * ITK's GradientAnisotropicDiffusionImageFilter), spacing-aware, explicit steps with zero flux across the image
 * border. The sum of the values is conserved and no step creates new extrema (for timeStep within the limit).
 * Values are physical (after `volume.rescale`). CPU: f64; WebGPU: f32 (one submit for all steps), within a few
 * f32 roundings per step of the CPU result.
 * @throws PhysiotwinError `INVALID_ARGUMENT` (not scalar, a non-finite value, iterations not an integer >= 0,
 *   conductance not > 0, timeStep not in (0, limit]), `GPU_UNAVAILABLE`, `GPU_LIMIT_EXCEEDED`, `ABORTED`.
 * @example
 * ```ts
 * const { volume: smooth } = await anisotropicDiffusion(ct, { iterations: 5, conductance: 250 });
 * ```
 */
export async function anisotropicDiffusion(volume: Volume, spec: DiffusionSpec, options: ComputeOptions = {}): Promise<FilterResult> {
  checkScalarVolume(volume, 'anisotropicDiffusion');
  const { iterations, conductance } = spec;
  const limit = diffusionStabilityLimit(volume.spacing);
  const dt = spec.timeStep ?? limit / 2;
  if (!(Number.isInteger(iterations) && iterations >= 0)) throw new PhysiotwinError('INVALID_ARGUMENT', `anisotropicDiffusion: iterations must be an integer >= 0, got ${iterations}`);
  if (!(Number.isFinite(conductance) && conductance > 0)) throw new PhysiotwinError('INVALID_ARGUMENT', `anisotropicDiffusion: conductance must be a finite number > 0 (value units per mm), got ${conductance}`);
  if (!(Number.isFinite(dt) && dt > 0 && dt <= limit)) {
    throw new PhysiotwinError('INVALID_ARGUMENT', `anisotropicDiffusion: timeStep must be in (0, ${limit}] mm^2 (the stability limit for spacing ${volume.spacing.join(' x ')}), got ${dt}`);
  }
  const data = volume.data;
  for (let i = 0; i < data.length; i++) {
    if (!Number.isFinite(data[i]!)) throw new PhysiotwinError('INVALID_ARGUMENT', `anisotropicDiffusion: value ${data[i]} at element ${i}: diffusion needs finite values`);
  }
  const tick = progressReporter(options, 'anisotropic diffusion', iterations);
  tick(0);
  const chosen = await chooseBackend(options, volumeProblem(volume, 'anisotropicDiffusion'));
  const slope = volume.rescale?.slope ?? 1;
  const intercept = volume.rescale?.intercept ?? 0;
  if (chosen.backend === 'webgpu') {
    const { diffusionWebgpu } = await import('./diffusion.webgpu.js');
    // The scheme is equivariant under v -> slope v + intercept when K scales with |slope|: run on the stored
    // values with K / |slope| (passed as 1 / K = |slope| / K: no intermediate to underflow), then map the result to
    // physical values.
    const stored = await diffusionWebgpu(chosen.gpu, volume, iterations, dt, Math.abs(slope) / conductance);
    const out = new Float32Array(stored.length);
    for (let i = 0; i < out.length; i++) out[i] = stored[i]! * slope + intercept;
    tick(iterations);
    return { volume: withData(volume, out), ...backendReport(chosen) };
  }
  let u = new Float64Array(data.length);
  for (let i = 0; i < u.length; i++) u[i] = data[i]! * slope + intercept;
  let next = new Float64Array(data.length);
  // a subnormal K would make 1 / K Infinity, and 0 * inf NaN between equal neighbours
  const invK = Math.min(1 / conductance, Number.MAX_VALUE);
  for (let it = 0; it < iterations; it++) {
    diffusionStepCpu(u, volume.dims, volume.spacing, dt, invK, next);
    [u, next] = [next, u];
    tick(it + 1);
  }
  return { volume: withData(volume, Float32Array.from(u)), ...backendReport(chosen) };
}
