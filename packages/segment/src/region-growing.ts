import type { Vec3, Volume } from '@physiotwin/core';
import { PhysiotwinError, throwIfAborted } from '@physiotwin/core';
import type { ComponentOptions } from './components.js';
import { seedComponent } from './components.js';
import type { ComputeOptions } from '@physiotwin/gpu';
import type { MaskResult, ThresholdRange } from './threshold.js';
import { threshold } from './threshold.js';
import { checkScalarVolume, checkSeeds } from './volume-utils.js';

/**
 * Connected-threshold region growing: the voxels with lower <= value <= upper (physical values) connected to a
 * seed through such voxels. Composed of {@link threshold} and {@link seedComponent}, so it runs on the backend
 * `options` pick and both backends give identical masks.
 * @throws PhysiotwinError `INVALID_ARGUMENT` (bad seed, range or connectivity), `GPU_UNAVAILABLE`, `ABORTED`.
 * @example
 * ```ts
 * const { mask } = await connectedThreshold(ct, [[71, 213, 16]], { lower: 1600, upper: 1850 });
 * ```
 */
export async function connectedThreshold(volume: Volume, seeds: readonly Vec3[], spec: ThresholdRange & ComponentOptions, options: ComputeOptions = {}): Promise<MaskResult> {
  checkScalarVolume(volume, 'connectedThreshold');
  checkSeeds(volume, seeds, 'connectedThreshold');
  const inRange = await threshold(volume, spec, options);
  return seedComponent(inRange.mask, seeds, spec, options);
}

/** Options of {@link confidenceConnected}. */
export interface ConfidenceSpec extends ComponentOptions {
  /** Half-width in voxels of the cube around each seed whose values give the first statistics. @default 2 */
  radius?: number | undefined;
  /** The range is mean -/+ multiplier * standard deviation. @default 2.5 */
  multiplier?: number | undefined;
  /** Times the statistics are re-estimated from the grown region and the region regrown. @default 1 */
  iterations?: number | undefined;
}

/** A confidence-connected region with the statistics and range of its last growth. */
export interface ConfidenceResult extends MaskResult {
  mean: number;
  std: number;
  lower: number;
  upper: number;
}

/** Physical value of element i. */
export function physicalValue(volume: Volume, i: number): number {
  const v = volume.data[i]!;
  return volume.rescale ? v * volume.rescale.slope + volume.rescale.intercept : v;
}

/** Sums over the seed neighbourhoods (a voxel in two seeds' cubes counts twice) and the seeds' own range. */
export interface SeedNeighbourhood {
  sum: number;
  sum2: number;
  count: number;
  /** Smallest and largest physical value of the seed voxels themselves. */
  seedMin: number;
  seedMax: number;
}

/**
 * Physical-value sums over the cubes of half-width `radius` voxels around the seeds (clipped to the image), as
 * the starting statistics of seeded region growing.
 * @throws PhysiotwinError `INVALID_ARGUMENT` for a seed outside the image or a radius that is not a whole number >= 0
 */
export function seedNeighbourhood(volume: Volume, seeds: readonly Vec3[], radius: number): SeedNeighbourhood {
  checkSeeds(volume, seeds, 'seedNeighbourhood');
  if (!Number.isInteger(radius) || radius < 0) throw new PhysiotwinError('INVALID_ARGUMENT', `seedNeighbourhood: radius ${radius} is not a whole number >= 0`);
  const [nx, ny, nz] = volume.dims;
  const out: SeedNeighbourhood = { sum: 0, sum2: 0, count: 0, seedMin: Infinity, seedMax: -Infinity };
  for (const [si, sj, sk] of seeds) {
    const s = physicalValue(volume, si + nx * (sj + ny * sk));
    out.seedMin = Math.min(out.seedMin, s);
    out.seedMax = Math.max(out.seedMax, s);
    for (let k = Math.max(0, sk - radius); k <= Math.min(nz - 1, sk + radius); k++) {
      for (let j = Math.max(0, sj - radius); j <= Math.min(ny - 1, sj + radius); j++) {
        for (let i = Math.max(0, si - radius); i <= Math.min(nx - 1, si + radius); i++) {
          const v = physicalValue(volume, i + nx * (j + ny * k));
          out.sum += v;
          out.sum2 += v * v;
          out.count++;
        }
      }
    }
  }
  return out;
}

/** Mean and population standard deviation of {@link seedNeighbourhood} sums. */
export function meanStd({ sum, sum2, count }: Pick<SeedNeighbourhood, 'sum' | 'sum2' | 'count'>): { mean: number; std: number } {
  const mean = sum / count;
  return { mean, std: Math.sqrt(Math.max(0, sum2 / count - mean * mean)) };
}

/**
 * Confidence-connected region growing (ITK's ConfidenceConnectedImageFilter): the mean and standard
 * deviation of the voxels in a cube of `radius` around the seeds give the range mean -/+ multiplier * std
 * (widened to include the seeds' own values), the connected-threshold region is grown, and `iterations` times
 * the statistics are taken over the region and it is regrown. Values are physical (after rescale).
 * @throws PhysiotwinError `INVALID_ARGUMENT` (bad seed, radius, multiplier or iterations), as
 *   {@link connectedThreshold}.
 * @example
 * ```ts
 * const { mask, lower, upper } = await confidenceConnected(ct, [[71, 213, 16]], { multiplier: 2.5 });
 * ```
 */
export async function confidenceConnected(volume: Volume, seeds: readonly Vec3[], spec: ConfidenceSpec = {}, options: ComputeOptions = {}): Promise<ConfidenceResult> {
  checkScalarVolume(volume, 'confidenceConnected');
  checkSeeds(volume, seeds, 'confidenceConnected');
  const radius = spec.radius ?? 2;
  const multiplier = spec.multiplier ?? 2.5;
  const iterations = spec.iterations ?? 1;
  if (!(Number.isInteger(radius) && radius >= 0)) throw new PhysiotwinError('INVALID_ARGUMENT', `confidenceConnected: radius must be an integer >= 0 voxels, got ${radius}`);
  if (!(Number.isFinite(multiplier) && multiplier > 0)) throw new PhysiotwinError('INVALID_ARGUMENT', `confidenceConnected: multiplier must be > 0, got ${multiplier}`);
  if (!(Number.isInteger(iterations) && iterations >= 0)) throw new PhysiotwinError('INVALID_ARGUMENT', `confidenceConnected: iterations must be an integer >= 0, got ${iterations}`);
  const start = seedNeighbourhood(volume, seeds, radius);
  const { seedMin, seedMax } = start;
  let { sum, sum2, count } = start;
  let result: MaskResult | undefined;
  let mean = 0;
  let std = 0;
  let lower = 0;
  let upper = 0;
  for (let it = 0; it <= iterations; it++) {
    throwIfAborted(options.signal, 'confidence connected');
    ({ mean, std } = meanStd({ sum, sum2, count }));
    lower = Math.min(mean - multiplier * std, seedMin);
    upper = Math.max(mean + multiplier * std, seedMax);
    result = await connectedThreshold(volume, seeds, { lower, upper, connectivity: spec.connectivity }, options);
    if (it === iterations) break;
    sum = 0;
    sum2 = 0;
    count = 0;
    const m = result.mask.data;
    for (let i = 0; i < m.length; i++) {
      if (m[i] === 0) continue;
      const v = physicalValue(volume, i);
      sum += v;
      sum2 += v * v;
      count++;
    }
  }
  return { ...result!, mean, std, lower, upper };
}
