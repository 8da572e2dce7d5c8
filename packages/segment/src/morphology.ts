import type { Volume } from '@physiotwin/core';
import { PhysiotwinError, progressReporter, throwIfAborted } from '@physiotwin/core';
import { dilateErodeCpu, fillHolesCpu } from './morphology.cpu.js';
import type { ComputeOptions } from '@physiotwin/gpu';
import { backendReport, chooseBackend } from '@physiotwin/gpu';
import type { MaskResult } from './threshold.js';
import { checkMask, volumeProblem, withData } from './volume-utils.js';

/** The binary morphology operations. */
export type MorphologyOperation = 'dilate' | 'erode' | 'open' | 'close';

/** Options of {@link morphology}. */
export interface MorphologySpec {
  operation: MorphologyOperation;
  /**
   * Radius of the ball structuring element in mm: voxel offsets (di, dj, dk) with
   * (di sx)^2 + (dj sy)^2 + (dk sz)^2 <= r^2, so anisotropic spacing gives an ellipsoid in voxels.
   * 0 leaves the mask unchanged.
   */
  radiusMm: number;
}

const STEPS: Record<MorphologyOperation, boolean[]> = {
  dilate: [true],
  erode: [false],
  open: [false, true],
  close: [true, false],
};

/**
 * Binary morphology of a mask (non-zero = foreground) with a ball of radius in mm. Outside the image is neither
 * foreground nor background: dilation does not grow from it, erosion does not eat from it. CPU: exact
 * Euclidean distance transform (time independent of the radius); WebGPU: ball stencil. Identical masks.
 * @throws PhysiotwinError `INVALID_ARGUMENT` (not scalar, unknown operation, radius negative or not finite),
 *   `GPU_UNAVAILABLE`, `GPU_LIMIT_EXCEEDED`, `ABORTED`.
 * @example
 * ```ts
 * const { mask: closed } = await morphology(mask, { operation: 'close', radiusMm: 2 });
 * ```
 */
export async function morphology(mask: Volume, spec: MorphologySpec, options: ComputeOptions = {}): Promise<MaskResult> {
  checkMask(mask, 'morphology');
  const steps = STEPS[spec.operation];
  if (!steps) throw new PhysiotwinError('INVALID_ARGUMENT', `morphology: operation must be dilate, erode, open or close, got ${JSON.stringify(spec.operation)}`);
  if (!(Number.isFinite(spec.radiusMm) && spec.radiusMm >= 0)) {
    throw new PhysiotwinError('INVALID_ARGUMENT', `morphology: radiusMm must be a finite number >= 0, got ${spec.radiusMm}`);
  }
  const tick = progressReporter(options, spec.operation, 3 * steps.length);
  tick(0);
  const chosen = await chooseBackend(options, volumeProblem(mask, 'morphology'));
  if (chosen.backend === 'webgpu') {
    const { morphologyWebgpu } = await import('./morphology.webgpu.js');
    const out = await morphologyWebgpu(chosen.gpu, mask, spec.radiusMm, steps);
    tick(3 * steps.length);
    return { mask: withData(mask, out), ...backendReport(chosen) };
  }
  let current: Volume['data'] = mask.data;
  steps.forEach((grow, s) => {
    current = dilateErodeCpu(current, mask.dims, mask.spacing, spec.radiusMm, grow, new Uint8Array(mask.data.length), (axis) => tick(3 * s + axis));
  });
  tick(3 * steps.length);
  return { mask: withData(mask, current as Uint8Array), ...backendReport(chosen) };
}

/**
 * Dilation by a ball of `radiusMm`: see {@link morphology}.
 * @throws as {@link morphology}.
 */
export const dilate = (mask: Volume, radiusMm: number, options?: ComputeOptions) => morphology(mask, { operation: 'dilate', radiusMm }, options);
/**
 * Erosion by a ball of `radiusMm`: see {@link morphology}.
 * @throws as {@link morphology}.
 */
export const erode = (mask: Volume, radiusMm: number, options?: ComputeOptions) => morphology(mask, { operation: 'erode', radiusMm }, options);
/**
 * Opening (erode, then dilate) by a ball of `radiusMm`: see {@link morphology}.
 * @throws as {@link morphology}.
 */
export const opening = (mask: Volume, radiusMm: number, options?: ComputeOptions) => morphology(mask, { operation: 'open', radiusMm }, options);
/**
 * Closing (dilate, then erode) by a ball of `radiusMm`: see {@link morphology}.
 * @throws as {@link morphology}.
 */
export const closing = (mask: Volume, radiusMm: number, options?: ComputeOptions) => morphology(mask, { operation: 'close', radiusMm }, options);

/**
 * Fills the holes of a mask: background voxels that no 6-connected background path links to the image border
 * become foreground. CPU only: it is a flood fill, not a data-parallel op.
 * @throws PhysiotwinError `INVALID_ARGUMENT` (not scalar), `ABORTED`.
 */
export function fillHoles(mask: Volume, options: Pick<ComputeOptions, 'signal'> = {}): MaskResult {
  checkMask(mask, 'fillHoles');
  throwIfAborted(options.signal, 'fill holes');
  return { mask: withData(mask, fillHolesCpu(mask.data, mask.dims, new Uint8Array(mask.data.length))), backend: 'cpu' };
}
