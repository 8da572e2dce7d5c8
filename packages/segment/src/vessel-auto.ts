import type { Vec3, Volume } from '@physiotwin/core';
import type { AdaptiveSpec } from './adaptive-connected.js';
import type { DiffusionSpec } from './diffusion.js';
import { meanStd, seedNeighbourhood } from './region-growing.js';

/** The parameters {@link autoVesselParams} picks for a contrast-filled vessel. */
export interface AutoVesselParams {
  /** Sd of the physical values in the 5x5x5 voxel cubes around the seeds (the noise scale). */
  noiseStd: number;
  /** Perona-Malik smoothing before growing; undefined when the seed neighbourhood has no noise to remove. */
  diffusion: DiffusionSpec | undefined;
  /** {@link adaptiveConnected}'s parameters. */
  growing: Required<Pick<AdaptiveSpec, 'windowMm' | 'coreMm' | 'fraction'>>;
}

/** Perona-Malik steps of the smoothing: enough to quiet the noise of a CT lumen, few enough to keep its edge. */
const DIFFUSION_STEPS = 5;

/**
 * The parameters of the `physiotwin segment --auto` pipeline ({@link segmentVessel}: smooth with
 * {@link anisotropicDiffusion}, grow with {@link adaptiveConnected}, fill holes), chosen from the seed neighbourhood: the conductance is 2 noise sd per mm
 * of the finest spacing, so differences of a few sd between neighbours diffuse while the lumen's edge (many sd)
 * does not. How it was judged on the VMTK aorta: fixtures/mesh/README.md.
 * @throws PhysiotwinError `INVALID_ARGUMENT` for a seed outside the image
 * @example
 * ```ts
 * const p = autoVesselParams(ct, [[71, 213, 16]]);
 * const smooth = p.diffusion ? (await anisotropicDiffusion(ct, p.diffusion)).volume : ct;
 * const { mask } = await adaptiveConnected(smooth, [[71, 213, 16]], p.growing);
 * ```
 */
export function autoVesselParams(volume: Volume, seeds: readonly Vec3[]): AutoVesselParams {
  const { std } = meanStd(seedNeighbourhood(volume, seeds, 2));
  return {
    noiseStd: std,
    diffusion: std > 0 ? { iterations: DIFFUSION_STEPS, conductance: (2 * std) / Math.min(...volume.spacing) } : undefined,
    growing: { windowMm: 15, coreMm: 2, fraction: 0.5 },
  };
}
