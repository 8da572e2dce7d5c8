// The surface pipeline as one library call: what `physiotwin mesh` runs, a worker or a web page runs the same.
import type { Volume } from '@physiotwin/core';
import { PhysiotwinError, throwIfAborted } from '@physiotwin/core';
import { decimate } from './decimate.js';
import type { ComputeOptions } from '@physiotwin/gpu';
import type { IsosurfaceSpec, SurfaceResult } from './marching-cubes.js';
import { marchingCubes } from './marching-cubes.js';
import { smoothTaubin } from './smooth.js';

/** Options of {@link surfaceFromVolume}: the isosurface, then its post-processing. */
export interface SurfacePipelineSpec extends IsosurfaceSpec {
  /** Taubin smoothing iterations (volume-preserving low-pass, default lambda and pass band); 0: none. @default 0 */
  smooth?: number | undefined;
  /** Fraction of the triangles to keep, in (0, 1] (quadric edge collapse; stays closed, manifold, same genus); 1: none. @default 1 */
  decimate?: number | undefined;
}

/** The surface, the backend of its isosurface, and how long each step took. */
export interface SurfacePipelineResult extends SurfaceResult {
  /** Milliseconds per step that ran: 'marchingCubes', 'smooth', 'decimate'. */
  timings: Record<string, number>;
}

/**
 * The surface of a volume (isosurface at `iso`, with `inside` above or below it) or of one label of a labelmap,
 * in world millimetres, then `smooth` iterations of Taubin smoothing and decimation to a `decimate` fraction of
 * the triangles: the `physiotwin mesh` pipeline (which sets `capBoundary`). Marching cubes runs on the backend
 * `options` pick (the result says which); smoothing and decimation on the CPU. `signal` is checked between steps
 * and inside them; `onProgress` receives each step's stages.
 * @throws PhysiotwinError `INVALID_ARGUMENT` (as {@link marchingCubes}; smooth not an integer >= 0, decimate not in
 *   (0, 1]), `ABORTED`, and what marching cubes throws on its backend.
 * @example
 * ```ts
 * const { mesh, backend } = await surfaceFromVolume(levelSet, { iso: 0, inside: 'below', capBoundary: true, smooth: 10 });
 * ```
 */
export async function surfaceFromVolume(volume: Volume, spec: SurfacePipelineSpec, options: ComputeOptions = {}): Promise<SurfacePipelineResult> {
  const smooth = spec.smooth ?? 0;
  const ratio = spec.decimate ?? 1;
  if (!(Number.isInteger(smooth) && smooth >= 0)) throw new PhysiotwinError('INVALID_ARGUMENT', `surfaceFromVolume: smooth must be an integer >= 0, got ${smooth}`);
  if (!(ratio > 0 && ratio <= 1)) throw new PhysiotwinError('INVALID_ARGUMENT', `surfaceFromVolume: decimate must be a ratio in (0, 1], got ${ratio}`);
  const timings: Record<string, number> = {};
  const timed = async <T>(step: string, run: () => T | Promise<T>): Promise<T> => {
    throwIfAborted(options.signal, step);
    const t0 = performance.now();
    const result = await run();
    timings[step] = performance.now() - t0;
    return result;
  };
  const { iso, label, inside, capBoundary } = spec;
  const surface = await timed('marchingCubes', () => marchingCubes(volume, { iso, label, inside, capBoundary }, options));
  let mesh = surface.mesh;
  if (smooth > 0) mesh = await timed('smooth', () => smoothTaubin(mesh, { iterations: smooth }, options));
  if (ratio < 1) mesh = await timed('decimate', () => decimate(mesh, { ratio }, options));
  return { mesh, backend: surface.backend, adapter: surface.adapter, timings };
}
