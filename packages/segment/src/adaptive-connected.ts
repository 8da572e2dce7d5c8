import type { Vec3, Volume } from '@physiotwin/core';
import { PhysiotwinError, progressReporter } from '@physiotwin/core';
import type { VoxelBox, WindowSums } from './adaptive-connected.cpu.js';
import { allocateArray, BoxBuffer, boxSumCpu, forEachInBox, forEachThreshold, foregroundBox, grownBox, pasteBox, shiftBox, windowLengths } from './adaptive-connected.cpu.js';
import type { ComponentOptions } from './components.js';
import { seedComponent } from './components.js';
import { morphology } from './morphology.js';
import { physicalValue } from './region-growing.js';
import type { ComputeOptions } from '@physiotwin/gpu';
import type { MaskResult } from './threshold.js';
import { checkScalarVolume, checkSeeds, voxelIndex, withData } from './volume-utils.js';

/** Options of {@link adaptiveConnected}. */
export interface AdaptiveSpec extends ComponentOptions {
  /** Half-width in voxels of the cube around each seed taken as lumen from the start (always part of the core). @default 2 */
  radius?: number | undefined;
  /** Half-width in mm of the box window over which the local lumen and outside means are taken. @default 15 */
  windowMm?: number | undefined;
  /**
   * The core: region voxels farther than this (mm) from the region's outside (erosion by a ball), whose mean is
   * the local lumen value. Keeps the partial-volume rim out of that mean, and stops growth along structures
   * thinner than 2 coreMm once they are windowMm from any core voxel.
   * @default 2
   */
  coreMm?: number | undefined;
  /** Where between the outside mean (0) and the lumen mean (1) the local threshold lies. @default 0.5 (half maximum) */
  fraction?: number | undefined;
  /** Growth rounds at most (each reaches at most windowMm beyond the last core). @default 100 */
  maxIterations?: number | undefined;
}

/** An adaptive-connected region and how its growth went. */
export interface AdaptiveResult extends MaskResult {
  /** Growth rounds run. */
  iterations: number;
  /** True when the last round added nothing (false: maxIterations stopped it). */
  converged: boolean;
  /** Smallest and largest local threshold (physical units) over the region's voxels, in the last round. */
  thresholdMin: number;
  thresholdMax: number;
}

function checkPositive(value: number, name: string, integer = false): void {
  const ok = Number.isFinite(value) && value > 0 && (!integer || Number.isInteger(value));
  if (!ok) throw new PhysiotwinError('INVALID_ARGUMENT', `adaptiveConnected: ${name} must be ${integer ? 'an integer' : 'a finite number'} > 0, got ${value}`);
}

/**
 * Adaptive-connected region growing for a bright structure whose brightness drifts (a contrast-filled vessel
 * lumen that darkens along the vessel, a coil's intensity fall-off): a voxel joins when it is connected to the
 * seeds and its value is at least the local threshold B + fraction (L - B), with L the mean of the region's core
 * (voxels deeper than coreMm inside it, plus the seed cubes) and B the mean of the voxels outside the region,
 * both over a box window of half-width windowMm around the voxel; with fraction 0.5 the boundary is the local
 * half maximum between lumen and surroundings. The rounds repeat from the grown region until it stops changing.
 * Values are physical (after rescale). The window statistics are running sums on the CPU; erosion and the
 * seed-connected component run on the backend `options` pick, which give identical masks.
 *
 * Memory and time: 9 bytes per image voxel (the f64 window sums of all values, computed once in one O(voxels)
 * pass, and the result mask) besides the input; everything else scales with each round's box (the region's and
 * seed cubes' bounding box grown by the window and core depth): 27 bytes per box voxel here (Int32 core and
 * region counts, f64 core and region sums, region, seed cubes and candidates) plus the erosion's and the
 * component's own buffers (about 11 more on the CPU). Each round's passes cover its box only. The window sums of
 * all values stay image-wide: summed over the box instead they would round differently.
 * @throws PhysiotwinError `INVALID_ARGUMENT` (bad seed, radius, windowMm, coreMm, fraction, maxIterations or
 *   connectivity; a non-finite value; a window of 2^31 voxels or more), as {@link morphology} and
 *   {@link seedComponent}; `OUT_OF_MEMORY` when a buffer cannot be allocated (before the first round for the
 *   image-size ones).
 * @example
 * ```ts
 * const { mask, converged } = await adaptiveConnected(smoothCt, [[71, 213, 16]]);
 * ```
 */
export async function adaptiveConnected(volume: Volume, seeds: readonly Vec3[], spec: AdaptiveSpec = {}, options: ComputeOptions = {}): Promise<AdaptiveResult> {
  checkScalarVolume(volume, 'adaptiveConnected');
  checkSeeds(volume, seeds, 'adaptiveConnected');
  const radius = spec.radius ?? 2;
  const windowMm = spec.windowMm ?? 15;
  const coreMm = spec.coreMm ?? 2;
  const fraction = spec.fraction ?? 0.5;
  const maxIterations = spec.maxIterations ?? 100;
  if (!(Number.isInteger(radius) && radius >= 0)) throw new PhysiotwinError('INVALID_ARGUMENT', `adaptiveConnected: radius must be an integer >= 0 voxels, got ${radius}`);
  checkPositive(windowMm, 'windowMm');
  if (!(Number.isFinite(coreMm) && coreMm >= 0)) throw new PhysiotwinError('INVALID_ARGUMENT', `adaptiveConnected: coreMm must be a finite number >= 0, got ${coreMm}`);
  if (!(fraction > 0 && fraction < 1)) throw new PhysiotwinError('INVALID_ARGUMENT', `adaptiveConnected: fraction must be in (0, 1), got ${fraction}`);
  checkPositive(maxIterations, 'maxIterations', true);
  const { dims, spacing } = volume;
  const n = volume.data.length;
  const r = spacing.map((h) => Math.floor(windowMm / h)) as Vec3;
  // Window counts are Int32 sums: the largest window must hold fewer than 2^31 voxels.
  const windowVoxels = dims.reduce((p, d, a) => p * Math.min(d, 2 * r[a]! + 1), 1);
  if (windowVoxels > 2 ** 31 - 1) throw new PhysiotwinError('INVALID_ARGUMENT', `adaptiveConnected: a window of windowMm ${windowMm} holds ${windowVoxels} voxels, more than 2^31 - 1`);
  // Each round works in the bounding box of the region and seed cubes grown by the window (no voxel outside it
  // has a core voxel in its window) and by the core depth (so eroding the box's contents equals eroding the image).
  const margin = spacing.map((h, d) => Math.max(r[d]!, Math.ceil(coreMm / h)) + 1) as Vec3;
  // The only image-size buffers: the window sums of all values (9 bytes per voxel with the result mask).
  const allSum = allocateArray(Float64Array, n, 'adaptiveConnected: window sums of the image');
  const mask = allocateArray(Uint8Array, n, 'adaptiveConnected: result mask');
  for (let i = 0; i < n; i++) {
    allSum[i] = physicalValue(volume, i);
    // A NaN would poison every running sum downstream of it on its lines.
    if (!Number.isFinite(allSum[i]!)) throw new PhysiotwinError('INVALID_ARGUMENT', `adaptiveConnected: value ${allSum[i]} at element ${i}: the window statistics need finite values`);
  }
  boxSumCpu(allSum, dims, r);
  const lengths = dims.map((d, a) => windowLengths(d, r[a]!));
  // The seed cubes, clipped to the image.
  const cubes = seeds.map((s): VoxelBox => grownBox([{ lo: s, dims: [1, 1, 1] }], [radius, radius, radius], dims));
  // The region lives in the box of the round that grew it (`regionAt`); it starts as the seed voxels.
  let regionAt = grownBox(cubes, margin, dims);
  let region: Uint8Array = new Uint8Array(regionAt.dims[0] * regionAt.dims[1] * regionAt.dims[2]);
  const seedsIn = (b: VoxelBox) => seeds.map((s) => shiftBox({ lo: s, dims: [1, 1, 1] }, b.lo, -1).lo);
  for (const s of seedsIn(regionAt)) region[voxelIndex(regionAt, s)] = 1;
  let regionVoxels = region.reduce((a, v) => a + v, 0);
  let report!: MaskResult;
  const tick = progressReporter(options, 'adaptive connected', maxIterations);
  let iterations = 0;
  let converged = false;
  // Box-size buffers, grown with the box.
  const what = 'adaptiveConnected: box buffers';
  const pools = {
    region: new BoxBuffer(Uint8Array, what), cube: new BoxBuffer(Uint8Array, what), candidate: new BoxBuffer(Uint8Array, what),
    coreCount: new BoxBuffer(Int32Array, what), regionCount: new BoxBuffer(Int32Array, what), coreSum: new BoxBuffer(Float64Array, what), regionSum: new BoxBuffer(Float64Array, what),
  };
  let box!: VoxelBox;
  let sums!: WindowSums;
  while (iterations < maxIterations && !converged) {
    box = grownBox([shiftBox(foregroundBox(region, regionAt.dims)!, regionAt.lo, 1), ...cubes], margin, dims);
    const m = box.dims[0] * box.dims[1] * box.dims[2];
    const regionBox = pasteBox(pools.region.take(m).fill(0), box.dims, shiftBox(regionAt, box.lo, -1), region);
    const cubeBox = pools.cube.take(m).fill(0);
    for (const cube of cubes) pasteBox(cubeBox, box.dims, shiftBox(cube, box.lo, -1), new Uint8Array(cube.dims[0] * cube.dims[1] * cube.dims[2]).fill(1));
    const boxVolume = { ...volume, dims: box.dims };
    const core = coreMm > 0 ? (await morphology(withData(boxVolume, regionBox), { operation: 'erode', radiusMm: coreMm }, options)).mask.data : regionBox;
    sums = { coreCount: pools.coreCount.take(m), coreSum: pools.coreSum.take(m), regionCount: pools.regionCount.take(m), regionSum: pools.regionSum.take(m) };
    const { coreCount, coreSum, regionCount, regionSum } = sums;
    forEachInBox(dims, box, (c, f) => {
      const value = physicalValue(volume, f);
      const inCore = core[c]! | cubeBox[c]!;
      coreCount[c] = inCore;
      coreSum[c] = inCore ? value : 0;
      regionCount[c] = regionBox[c]!;
      regionSum[c] = regionBox[c] ? value : 0;
    });
    for (const a of [coreCount, coreSum, regionCount, regionSum]) boxSumCpu(a, box.dims, r);
    const candidate = pools.candidate.take(m);
    forEachThreshold(sums, allSum, lengths, dims, box, fraction, (t, c, f) => {
      candidate[c] = regionBox[c] || physicalValue(volume, f) >= t ? 1 : 0;
    });
    // Outside the box no voxel can pass (its window holds no core voxel), so the component is the box's.
    const component = await seedComponent(withData(boxVolume, candidate), seedsIn(box), { connectivity: spec.connectivity }, options);
    report = component;
    region = component.mask.data;
    regionAt = box;
    // The component holds the last region (connected to the seeds, all candidates): equal counts, equal regions.
    const voxels = region.reduce((a, v) => a + v, 0);
    converged = voxels === regionVoxels;
    regionVoxels = voxels;
    iterations++;
    tick(iterations);
  }
  // The local thresholds of the last round, at the region's voxels (all inside that round's box).
  let thresholdMin = Infinity;
  let thresholdMax = -Infinity;
  forEachThreshold(sums, allSum, lengths, dims, box, fraction, (t, c) => {
    if (!region[c]) return;
    if (t < thresholdMin) thresholdMin = t;
    if (t > thresholdMax) thresholdMax = t;
  });
  pasteBox(mask, dims, box, region);
  return { mask: withData(volume, mask), backend: report.backend, adapter: report.adapter, iterations, converged, thresholdMin, thresholdMax };
}
