import type { Vec3, Volume } from '@physiotwin/core';
import { progressReporter } from '@physiotwin/core';
import { connectedComponentsCpu, labelSizes, seedFillCpu } from './components.cpu.js';
import type { BackendReport, ComputeOptions } from '@physiotwin/gpu';
import { backendReport, chooseBackend } from '@physiotwin/gpu';
import type { MaskResult } from './threshold.js';
import type { Connectivity, Labelmap } from './volume-utils.js';
import { checkConnectivity, checkMask, checkSeeds, volumeProblem, voxelIndex, withData } from './volume-utils.js';

/** Options of the connected-component operations. */
export interface ComponentOptions {
  /**
   * Voxel neighbourhood: 6 (faces), 18 or 26. 6 matches the marching-cubes surfaces of @physiotwin/mesh,
   * whose pieces touching only along an edge or a corner are separate surfaces.
   * @default 6
   */
  connectivity?: Connectivity | undefined;
}

/** Labels of the connected components of a mask. */
export interface ComponentsResult extends BackendReport {
  /** 0 background, 1..count components numbered in raster order (x fastest) of their first voxel. */
  labels: Labelmap;
  count: number;
  /** Voxels per label (index = label; entry 0 counts the background). */
  sizes: Float64Array;
}

/**
 * Connected components of the non-zero voxels of a mask. CPU: one-pass union-find. WebGPU: label
 * propagation with pointer jumping. Both number components in raster order of their first voxel, so their
 * labelmaps are identical.
 * @throws PhysiotwinError `INVALID_ARGUMENT` (not scalar, bad connectivity), `GPU_UNAVAILABLE`,
 *   `GPU_LIMIT_EXCEEDED`, `ABORTED`.
 * @example
 * ```ts
 * const { labels, count, sizes } = await connectedComponents(mask, { connectivity: 26 });
 * ```
 */
export async function connectedComponents(mask: Volume, spec: ComponentOptions = {}, options: ComputeOptions = {}): Promise<ComponentsResult> {
  checkMask(mask, 'connectedComponents');
  const connectivity = checkConnectivity(spec.connectivity ?? 6, 'connectedComponents');
  const tick = progressReporter(options, 'connected components', mask.dims[2]);
  tick(0);
  const chosen = await chooseBackend(options, volumeProblem(mask, 'connectedComponents'));
  let r: { labels: Uint32Array; count: number };
  if (chosen.backend === 'webgpu') {
    const { connectedComponentsWebgpu } = await import('./components.webgpu.js');
    r = await connectedComponentsWebgpu(chosen.gpu, mask, connectivity, options.signal);
    tick(mask.dims[2]);
  } else {
    r = connectedComponentsCpu(mask.data, mask.dims, connectivity, tick);
  }
  return { labels: withData(mask, r.labels), count: r.count, sizes: labelSizes(r.labels, r.count), ...backendReport(chosen) };
}

/**
 * The largest connected component of a mask (ties: the one first in raster order); an empty mask gives an
 * empty mask.
 * @throws as {@link connectedComponents}.
 */
export async function largestComponent(mask: Volume, spec: ComponentOptions = {}, options: ComputeOptions = {}): Promise<MaskResult> {
  const cc = await connectedComponents(mask, spec, options);
  let best = 0;
  for (let l = 1; l <= cc.count; l++) if (cc.sizes[l]! > (best ? cc.sizes[best]! : 0)) best = l;
  const out = new Uint8Array(mask.data.length);
  const labels = cc.labels.data;
  if (best) for (let i = 0; i < out.length; i++) out[i] = labels[i] === best ? 1 : 0;
  return { mask: withData(mask, out), backend: cc.backend, adapter: cc.adapter };
}

/**
 * The voxels of a mask connected to any of the seed voxels (i, j, k). Seeds on background select nothing.
 * CPU: flood fill from the seeds. WebGPU: connected components, then the seeds' labels; identical masks.
 * @throws PhysiotwinError `INVALID_ARGUMENT` (seed outside the volume or not integer), as {@link connectedComponents}.
 */
export async function seedComponent(mask: Volume, seeds: readonly Vec3[], spec: ComponentOptions = {}, options: ComputeOptions = {}): Promise<MaskResult> {
  checkMask(mask, 'seedComponent');
  checkSeeds(mask, seeds, 'seedComponent');
  const connectivity = checkConnectivity(spec.connectivity ?? 6, 'seedComponent');
  const seedIdx = seeds.map((s) => voxelIndex(mask, s));
  const tick = progressReporter(options, 'seed component', 1);
  tick(0);
  const chosen = await chooseBackend(options, volumeProblem(mask, 'seedComponent'));
  if (chosen.backend === 'cpu') {
    const out = seedFillCpu(mask.data, mask.dims, seedIdx, connectivity, new Uint8Array(mask.data.length));
    tick(1);
    return { mask: withData(mask, out), ...backendReport(chosen) };
  }
  const cc = await connectedComponents(mask, { connectivity }, { ...options, backend: 'webgpu', gpu: chosen.gpu });
  const keep = new Uint8Array(cc.count + 1);
  for (const s of seedIdx) keep[cc.labels.data[s]!] = 1;
  keep[0] = 0;
  const out = new Uint8Array(mask.data.length);
  const labels = cc.labels.data;
  for (let i = 0; i < out.length; i++) out[i] = keep[labels[i]!]!;
  tick(1);
  return { mask: withData(mask, out), ...backendReport(chosen) };
}
