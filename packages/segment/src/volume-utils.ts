import type { Vec3, Volume } from '@physiotwin/core';
import { dtypeOf, PhysiotwinError, validateVolume } from '@physiotwin/core';
import type { GpuProblem } from '@physiotwin/gpu';

/** A binary mask: 1 inside, 0 outside, on the geometry of the volume it was made from. */
export type Mask = Volume<Uint8Array>;

/** A labelmap: 0 background, 1..count the labels. */
export type Labelmap = Volume<Uint32Array>;

/** Voxel neighbourhoods: 6 (faces), 18 (faces + edges) or 26 (faces + edges + corners). */
export type Connectivity = 6 | 18 | 26;

/** Checks a connectivity option. @throws PhysiotwinError `INVALID_ARGUMENT`. */
export function checkConnectivity(c: number, op: string): Connectivity {
  if (c !== 6 && c !== 18 && c !== 26) throw new PhysiotwinError('INVALID_ARGUMENT', `${op}: connectivity must be 6, 18 or 26, got ${c}`);
  return c;
}

/**
 * The neighbour offsets (di, dj, dk) of a connectivity, flattened: 3 numbers per neighbour. With `half`, only the
 * neighbours that come earlier in raster order (x fastest), as a one-pass union-find needs.
 */
export function neighbourOffsets(connectivity: Connectivity, half = false): Int32Array {
  const out: number[] = [];
  for (let dk = -1; dk <= 1; dk++) {
    for (let dj = -1; dj <= 1; dj++) {
      for (let di = -1; di <= 1; di++) {
        const order = Math.abs(di) + Math.abs(dj) + Math.abs(dk);
        if (order === 0) continue;
        if (connectivity === 6 && order > 1) continue;
        if (connectivity === 18 && order > 2) continue;
        if (half && (dk > 0 || (dk === 0 && (dj > 0 || (dj === 0 && di > 0))))) continue;
        out.push(di, dj, dk);
      }
    }
  }
  return Int32Array.from(out);
}

/** Checks a scalar (one-component) volume. @throws PhysiotwinError `INVALID_ARGUMENT` naming `op`. */
export function checkScalarVolume(volume: Volume, op: string): void {
  validateVolume(volume);
  if (volume.components !== 1) {
    throw new PhysiotwinError('INVALID_ARGUMENT', `${op} needs a scalar volume, this one has ${volume.components} components per voxel`);
  }
}

/**
 * Checks seed voxels (integer i, j, k inside the volume). @throws PhysiotwinError `INVALID_ARGUMENT` naming the seed.
 */
export function checkSeeds(volume: Pick<Volume, 'dims'>, seeds: readonly Vec3[], op: string): void {
  if (seeds.length === 0) throw new PhysiotwinError('INVALID_ARGUMENT', `${op} needs at least one seed voxel`);
  const [nx, ny, nz] = volume.dims;
  seeds.forEach((s, n) => {
    const ok = s.length === 3 && s.every(Number.isInteger) && s[0] >= 0 && s[1] >= 0 && s[2] >= 0 && s[0] < nx && s[1] < ny && s[2] < nz;
    if (!ok) {
      throw new PhysiotwinError('INVALID_ARGUMENT', `${op}: seed ${n} (${s.join(', ')}) is not an integer voxel index inside dims ${nx} x ${ny} x ${nz}`);
    }
  });
}

/** Flat index of voxel (i, j, k). */
export function voxelIndex(volume: Pick<Volume, 'dims'>, [i, j, k]: Vec3): number {
  return i + volume.dims[0] * (j + volume.dims[1] * k);
}

/** A new volume on `like`'s geometry holding `data` (no rescale). */
export function withData<T extends Volume['data']>(like: Volume, data: T): Volume<T> {
  return { data, dims: [...like.dims], spacing: [...like.spacing], origin: [...like.origin], direction: [...like.direction], components: 1 };
}

/**
 * Maps a physical range [lower, upper] (values after `volume.rescale`) to the stored-value range it selects.
 * A negative slope swaps the ends.
 */
export function storedRange(volume: Volume, lower: number, upper: number): [number, number] {
  const r = volume.rescale;
  if (!r) return [lower, upper];
  const a = (lower - r.intercept) / r.slope;
  const b = (upper - r.intercept) / r.slope;
  return r.slope > 0 ? [a, b] : [b, a];
}

/** True for a binary-or-label volume usable as a mask (non-zero = foreground). */
export function checkMask(mask: Volume, op: string): void {
  checkScalarVolume(mask, op);
}

/**
 * What `chooseBackend` (@physiotwin/gpu) needs to know about a segmentation op on `volume`: its voxels are the work, its dtype
 * must be one the kernels read exactly, one f32 or u32 per voxel is the largest binding.
 */
export function volumeProblem(volume: Volume, op: string): GpuProblem {
  return { op, work: volume.data.length, dtype: dtypeOf(volume.data), bindingBytes: volume.data.length * 4 };
}
