import type { SurfaceMesh, Vec3, Volume } from '@physiotwin/core';
import { dtypeOf, PhysiotwinError, progressReporter, validateVolume } from '@physiotwin/core';
import type { BackendReport, ComputeOptions } from '@physiotwin/gpu';
import { backendReport, chooseBackend } from '@physiotwin/gpu';
import type { MarchingCubesInput } from './marching-cubes.cpu.js';
import { marchingCubesCpu } from './marching-cubes.cpu.js';

/** Options of {@link marchingCubes}: give `iso` or `label`. */
export interface IsosurfaceSpec {
  /** Isovalue in physical units (after `volume.rescale`); values >= iso are inside (see `inside`). */
  iso?: number | undefined;
  /**
   * Which side of `iso` is inside: 'above' (values >= iso: a CT's bright lumen) or 'below' (values <= iso: a level
   * set or signed distance map, negative inside, as VMTK and ITK write them). Normals point outward either way.
   * Only with `iso`. @default 'above'
   */
  inside?: 'above' | 'below' | undefined;
  /** Mesh the boundary of the voxels equal to this label (a labelmap): the 0.5 isosurface of the indicator. */
  label?: number | undefined;
  /**
   * Close the surface where the object leaves the volume: the volume is padded with one layer of outside
   * samples, so the surface gets caps on the boundary planes (within 1e-3 voxel for `iso`, half a voxel out
   * for `label`). @default false
   */
  capBoundary?: boolean | undefined;
}

/** A surface and the backend that made it. */
export interface SurfaceResult extends BackendReport {
  mesh: SurfaceMesh;
}

/** Resolves the spec to the inputs of the kernels (stored-unit isovalue and inside sign). */
export function isosurfaceInput(volume: Volume, spec: IsosurfaceSpec, op: string): MarchingCubesInput {
  const input = unpaddedInput(volume, spec, op);
  return spec.capBoundary ? padded(input) : input;
}

/** Lowest finite f32: an outside sample whose edges put the vertex EDGE_CLAMP from the inside sample. */
const F32_LOWEST = -3.4028234663852886e38;

/** The input with one layer of outside samples around it (origin moved one voxel back along each axis). */
function padded(input: MarchingCubesInput): MarchingCubesInput {
  const [nx, ny, nz] = input.dims;
  const dims: Vec3 = [nx + 2, ny + 2, nz + 2];
  const total = dims[0] * dims[1] * dims[2];
  // A labelmap indicator pads with 0; other data with the lowest f32 (highest for an inverted rescale), in a
  // type that holds the stored values exactly.
  const indicator = input.data instanceof Uint8Array && input.iso === 0.5 && input.sign === 1;
  const data = indicator ? new Uint8Array(total) : input.data instanceof Float64Array ? new Float64Array(total) : new Float32Array(total);
  if (!indicator) data.fill(input.sign * F32_LOWEST);
  for (let k = 0; k < nz; k++) {
    for (let j = 0; j < ny; j++) {
      const src = nx * (j + ny * k);
      data.set(input.data.subarray(src, src + nx), 1 + dims[0] * (j + 1 + dims[1] * (k + 1)));
    }
  }
  const d = input.direction;
  const s = input.spacing;
  const origin = [0, 1, 2].map((r) => input.origin[r]! - d[r]! * s[0] - d[3 + r]! * s[1] - d[6 + r]! * s[2]) as Vec3;
  return { ...input, data, dims, origin };
}

function unpaddedInput(volume: Volume, spec: IsosurfaceSpec, op: string): MarchingCubesInput {
  validateVolume(volume);
  if (volume.components !== 1) throw new PhysiotwinError('INVALID_ARGUMENT', `${op} needs a scalar volume, this one has ${volume.components} components`);
  if (volume.dims.some((d) => d < 2)) throw new PhysiotwinError('INVALID_ARGUMENT', `${op} needs at least 2 voxels along each axis, got dims ${volume.dims.join(' x ')}`);
  const geometry = { dims: volume.dims, spacing: volume.spacing, origin: volume.origin, direction: volume.direction };
  if ((spec.iso === undefined) === (spec.label === undefined)) {
    throw new PhysiotwinError('INVALID_ARGUMENT', `${op}: give exactly one of iso and label`);
  }
  if (spec.inside !== undefined && spec.inside !== 'above' && spec.inside !== 'below') {
    throw new PhysiotwinError('INVALID_ARGUMENT', `${op}: inside must be 'above' or 'below', got ${JSON.stringify(spec.inside)}`);
  }
  if (spec.label !== undefined) {
    if (spec.inside !== undefined) throw new PhysiotwinError('INVALID_ARGUMENT', `${op}: inside applies to iso, not to label`);
    const label = spec.label;
    if (!Number.isFinite(label)) throw new PhysiotwinError('INVALID_ARGUMENT', `${op}: label must be a finite number, got ${label}`);
    const src = volume.data;
    const indicator = new Uint8Array(src.length);
    for (let i = 0; i < src.length; i++) indicator[i] = src[i] === label ? 1 : 0;
    return { data: indicator, ...geometry, iso: 0.5, sign: 1 };
  }
  const iso = spec.iso!;
  if (!Number.isFinite(iso)) throw new PhysiotwinError('INVALID_ARGUMENT', `${op}: iso must be a finite number, got ${iso}`);
  const r = volume.rescale;
  // In stored units the side flips once for an inverted rescale and once for inside 'below'.
  const flips = (r && r.slope < 0 ? 1 : 0) + (spec.inside === 'below' ? 1 : 0);
  return { data: volume.data, ...geometry, iso: r ? (iso - r.intercept) / r.slope : iso, sign: flips === 1 ? -1 : 1 };
}

/**
 * Marching cubes isosurface in world millimetres (LPS): origin, spacing and direction applied once, in f64.
 * Vertices are merged (one per crossed voxel edge); the surface is closed where it does not leave the volume,
 * manifold, consistently oriented with outward normals (towards lower values; a direction with negative
 * determinant is compensated), and free of degenerate triangles (a sample equal to the isovalue counts as
 * inside and vertices keep 1e-3 voxel from the corners). CPU and WebGPU give the same triangles and vertex
 * numbering; WebGPU positions are f32 computations (within 1e-5 relative of the CPU's).
 * @throws PhysiotwinError `INVALID_ARGUMENT` (not scalar, dims < 2, neither or both of iso / label, inside not
 *   'above' / 'below' or given with label, dtype not readable by WebGPU), `GPU_UNAVAILABLE`, `GPU_LIMIT_EXCEEDED`,
 *   `ABORTED`.
 * @example
 * ```ts
 * const { mesh } = await marchingCubes(ct, { iso: 300 });
 * ```
 */
export async function marchingCubes(volume: Volume, spec: IsosurfaceSpec, options: ComputeOptions = {}): Promise<SurfaceResult> {
  const input = isosurfaceInput(volume, spec, 'marchingCubes');
  const slabs = input.dims[2] - 1;
  const tick = progressReporter(options, 'marching cubes', slabs);
  tick(0);
  // The largest binding before the output is sized: one f32 (values) or u32 (offsets) per point.
  const chosen = await chooseBackend(options, { op: 'marching cubes', work: input.data.length, dtype: dtypeOf(input.data), bindingBytes: input.data.length * 4 });
  let mesh: SurfaceMesh;
  if (chosen.backend === 'webgpu') {
    const { marchingCubesWebgpu } = await import('./marching-cubes.webgpu.js');
    mesh = await marchingCubesWebgpu(chosen.gpu, input);
    tick(slabs);
  } else {
    mesh = marchingCubesCpu(input, tick);
  }
  return { mesh, ...backendReport(chosen) };
}
