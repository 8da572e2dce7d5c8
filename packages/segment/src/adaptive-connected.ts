import type { Vec3, Volume } from '@physiotwin/core';
import { PhysiotwinError, progressReporter } from '@physiotwin/core';
import type { VoxelBox, WindowSums } from './adaptive-connected.cpu.js';
import { boxSumCpu, copyBox, forEachInBox, forEachThreshold, grownBoundingBox, windowLengths } from './adaptive-connected.cpu.js';
import type { ComponentOptions } from './components.js';
import { seedComponent } from './components.js';
import { morphology } from './morphology.js';
import { physicalValue } from './region-growing.js';
import type { MaskResult, SegmentOptions } from './threshold.js';
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
 * @throws PhysiotwinError `INVALID_ARGUMENT` (bad seed, radius, windowMm, coreMm, fraction, maxIterations or
 *   connectivity; a non-finite value), as {@link morphology} and {@link seedComponent}.
 * @example
 * ```ts
 * const { mask, converged } = await adaptiveConnected(smoothCt, [[71, 213, 16]]);
 * ```
 */
export async function adaptiveConnected(volume: Volume, seeds: readonly Vec3[], spec: AdaptiveSpec = {}, options: SegmentOptions = {}): Promise<AdaptiveResult> {
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
  const [nx, ny, nz] = dims;
  const n = volume.data.length;
  const r = spacing.map((h) => Math.floor(windowMm / h)) as Vec3;
  // Each round works in the bounding box of the region and seed cubes grown by the window (no voxel outside it
  // has a core voxel in its window) and by the core depth (so eroding the box's contents equals eroding the image).
  const margin = spacing.map((h, d) => Math.max(r[d]!, Math.ceil(coreMm / h)) + 1) as Vec3;
  const values = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    values[i] = physicalValue(volume, i);
    // A NaN would poison every running sum downstream of it on its lines.
    if (!Number.isFinite(values[i]!)) throw new PhysiotwinError('INVALID_ARGUMENT', `adaptiveConnected: value ${values[i]} at element ${i}: the window statistics need finite values`);
  }
  const cube = new Uint8Array(n);
  for (const [si, sj, sk] of seeds) {
    for (let k = Math.max(0, sk - radius); k <= Math.min(nz - 1, sk + radius); k++) {
      for (let j = Math.max(0, sj - radius); j <= Math.min(ny - 1, sj + radius); j++) {
        for (let i = Math.max(0, si - radius); i <= Math.min(nx - 1, si + radius); i++) cube[i + nx * (j + ny * k)] = 1;
      }
    }
  }
  const scratch = new Float64Array(n);
  const allSum = boxSumCpu(values.slice(), dims, r, scratch);
  const lengths = dims.map((d, a) => windowLengths(d, r[a]!));
  let region: Uint8Array = new Uint8Array(n);
  for (const s of seeds) region[voxelIndex(volume, s)] = 1;
  let report: MaskResult = { mask: withData(volume, region), backend: 'cpu' };
  const tick = progressReporter(options, 'adaptive connected', maxIterations);
  const candidate = new Uint8Array(n);
  let iterations = 0;
  let converged = false;
  // Buffers of image size, of which each round uses its box's first voxels.
  const pools = { region: new Uint8Array(n), cube: new Uint8Array(n), sums: Array.from({ length: 4 }, () => new Float64Array(n)) };
  let box!: VoxelBox;
  let sums!: WindowSums;
  while (iterations < maxIterations && !converged) {
    box = grownBoundingBox([region, cube], dims, margin)!;
    const m = box.dims[0] * box.dims[1] * box.dims[2];
    const regionBox = copyBox(region, dims, box, pools.region.subarray(0, m), true);
    const cubeBox = copyBox(cube, dims, box, pools.cube.subarray(0, m), true);
    const core = coreMm > 0 ? (await morphology(withData({ ...volume, dims: box.dims }, regionBox), { operation: 'erode', radiusMm: coreMm }, options)).mask.data : regionBox;
    const [coreCount, coreSum, regionCount, regionSum] = pools.sums.map((a) => a.subarray(0, m)) as [Float64Array, Float64Array, Float64Array, Float64Array];
    sums = { coreCount, coreSum, regionCount, regionSum };
    forEachInBox(dims, box, (c, f) => {
      const inCore = core[c]! | cubeBox[c]!;
      coreCount[c] = inCore;
      coreSum[c] = inCore ? values[f]! : 0;
      regionCount[c] = regionBox[c]!;
      regionSum[c] = regionBox[c] ? values[f]! : 0;
    });
    const boxScratch = scratch.subarray(0, m);
    for (const a of [coreCount, coreSum, regionCount, regionSum]) boxSumCpu(a, box.dims, r, boxScratch);
    candidate.fill(0);
    forEachThreshold(sums, allSum, lengths, dims, box, fraction, (t, c, f) => {
      candidate[f] = regionBox[c] || values[f]! >= t ? 1 : 0;
    });
    report = await seedComponent(withData(volume, candidate), seeds, { connectivity: spec.connectivity }, options);
    const next = report.mask.data;
    converged = true;
    for (let i = 0; i < n && converged; i++) if (next[i] !== region[i]) converged = false;
    region = next;
    iterations++;
    tick(iterations);
  }
  // The local thresholds of the last round, at the region's voxels (all inside that round's box).
  let thresholdMin = Infinity;
  let thresholdMax = -Infinity;
  forEachThreshold(sums, allSum, lengths, dims, box, fraction, (t, _, f) => {
    if (!region[f]) return;
    if (t < thresholdMin) thresholdMin = t;
    if (t > thresholdMax) thresholdMax = t;
  });
  return { mask: withData(volume, region), backend: report.backend, adapter: report.adapter, iterations, converged, thresholdMin, thresholdMax };
}
