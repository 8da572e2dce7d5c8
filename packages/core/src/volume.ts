import type { mat4 } from 'gl-matrix';
import type { NdArray } from 'ndarray';
// ndarray and gl-matrix's mat4 on first use under Node (start-up, issue #11); see volume-deps.node.ts.
import { loadMat4, loadNdarray } from '#volume-deps';
import { PhysiotwinError } from './errors.js';

/** Voxel storage types a {@link Volume} may hold. */
export type VolumeDtype = 'uint8' | 'int8' | 'uint16' | 'int16' | 'uint32' | 'int32' | 'float32' | 'float64';

/** The typed array that stores each {@link VolumeDtype}. */
export interface VolumeArrayTypes {
  uint8: Uint8Array;
  int8: Int8Array;
  uint16: Uint16Array;
  int16: Int16Array;
  uint32: Uint32Array;
  int32: Int32Array;
  float32: Float32Array;
  float64: Float64Array;
}
export type VolumeData = VolumeArrayTypes[VolumeDtype];

export type Vec3 = [number, number, number];
/** 3x3 matrix, column-major (gl-matrix order): elements 0..2 are the first column. */
export type Mat3 = [number, number, number, number, number, number, number, number, number];

/** Physical value = stored value * slope + intercept (DICOM Rescale, NIfTI scl_*). */
export interface Rescale {
  slope: number;
  intercept: number;
}

/**
 * A 3D image in the DICOM patient frame (LPS, millimetres).
 *
 * Voxel (i, j, k), component c, is `data[c + components * (i + nx * (j + ny * k))]`: x fastest.
 * World position of voxel (i, j, k): `origin + direction * diag(spacing) * [i, j, k]`.
 * A plain object (no class) so it survives structured clone to and from workers.
 */
export interface Volume<T extends VolumeData = VolumeData> {
  data: T;
  dims: Vec3;
  /** Voxel size along i, j, k in mm. */
  spacing: Vec3;
  /** World position (LPS, mm) of voxel (0, 0, 0)'s centre. */
  origin: Vec3;
  /** Columns are the unit i, j, k axes in LPS. Not necessarily orthogonal (e.g. gantry tilt). */
  direction: Mat3;
  /** Values per voxel (1 for scalar images, 3 for RGB). @default 1 */
  components: number;
  /** Stored-to-physical mapping; absent means identity. */
  rescale?: Rescale | undefined;
}

const ARRAY_CTORS = {
  uint8: Uint8Array,
  int8: Int8Array,
  uint16: Uint16Array,
  int16: Int16Array,
  uint32: Uint32Array,
  int32: Int32Array,
  float32: Float32Array,
  float64: Float64Array,
} as const;

/** Bytes per element of each dtype. */
export const DTYPE_BYTES: Readonly<Record<VolumeDtype, number>> = {
  uint8: 1,
  int8: 1,
  uint16: 2,
  int16: 2,
  uint32: 4,
  int32: 4,
  float32: 4,
  float64: 8,
};

/**
 * The dtype name of a volume's typed array. Throws `INVALID_ARGUMENT` for other arrays.
 * @throws PhysiotwinError `INVALID_ARGUMENT` for an array that is not one of the volume dtypes.
 */
export function dtypeOf(data: ArrayBufferView): VolumeDtype {
  for (const [name, Ctor] of Object.entries(ARRAY_CTORS)) {
    if (data instanceof Ctor) return name as VolumeDtype;
  }
  throw new PhysiotwinError('INVALID_ARGUMENT', `unsupported voxel array type ${data.constructor.name}`);
}

/**
 * Allocates a zeroed typed array of `length` elements of `dtype`.
 * @throws RangeError (from the typed-array constructor) when `length` cannot be allocated; readers of files call it through a wrapper that turns this into a PhysiotwinError.
 */
export function allocateVolumeData<D extends VolumeDtype>(dtype: D, length: number): VolumeArrayTypes[D] {
  return new ARRAY_CTORS[dtype](length) as VolumeArrayTypes[D];
}

/**
 * Views `bytes` (which must be aligned for the dtype) as the typed array of `dtype`, without copying.
 * @throws RangeError (from the typed-array constructor) when `byteOffset` is not a multiple of the element size or the view runs past the buffer: callers check both first.
 */
export function viewAs<D extends VolumeDtype>(dtype: D, buffer: ArrayBufferLike, byteOffset: number, length: number): VolumeArrayTypes[D] {
  return new ARRAY_CTORS[dtype](buffer as ArrayBuffer, byteOffset, length) as VolumeArrayTypes[D];
}

export const IDENTITY_DIRECTION: Readonly<Mat3> = [1, 0, 0, 0, 1, 0, 0, 0, 1];

/** Options of {@link createVolume}; everything but data and dims has a default. */
export interface VolumeInit<T extends VolumeData> {
  data: T;
  dims: Vec3;
  /** @default [1, 1, 1] */
  spacing?: Vec3;
  /** @default [0, 0, 0] */
  origin?: Vec3;
  /** @default identity */
  direction?: Mat3;
  /** @default 1 */
  components?: number;
  rescale?: Rescale;
}

/**
 * Creates a validated {@link Volume}. The data array is used as is, not copied.
 * @throws PhysiotwinError `INVALID_ARGUMENT` when sizes disagree or geometry is not finite / invertible.
 * @example
 * ```ts
 * const v = createVolume({ data: new Int16Array(8), dims: [2, 2, 2], spacing: [0.5, 0.5, 1] });
 * ```
 */
export function createVolume<T extends VolumeData>(init: VolumeInit<T>): Volume<T> {
  const volume: Volume<T> = {
    data: init.data,
    dims: [...init.dims],
    spacing: init.spacing ? [...init.spacing] : [1, 1, 1],
    origin: init.origin ? [...init.origin] : [0, 0, 0],
    direction: init.direction ? [...init.direction] : [...IDENTITY_DIRECTION],
    components: init.components ?? 1,
    rescale: init.rescale,
  };
  validateVolume(volume);
  return volume;
}

/**
 * Largest magnitude (mm) a world coordinate of a volume's grid may have, one voxel of margin included (where a
 * mesher puts its outermost vertices). Chosen so that a squared distance between any two such points
 * (at most 3 * (2e18)^2 = 1.2e37) is finite even in float32, in which meshes store positions and GPU kernels compute;
 * real images span metres, 1e3 mm, so only corrupt headers come near it.
 */
export const MAX_WORLD_COORDINATE_MM = 1e18;

/**
 * Checks a volume's invariants.
 * @throws PhysiotwinError `INVALID_ARGUMENT` for bad dims, components, data or rescale; `GEOMETRY_INVALID` for
 *   spacing, origin or direction that are not finite, spacing <= 0, a singular direction, or a grid reaching past
 *   {@link MAX_WORLD_COORDINATE_MM} (e.g. a NIfTI pixdim of 3e38, whose voxel positions overflow to Infinity).
 *   Both name the bad field.
 */
export function validateVolume(v: Volume): void {
  const bad = (msg: string) => new PhysiotwinError('INVALID_ARGUMENT', `invalid volume: ${msg}`);
  const badGeometry = (msg: string) => new PhysiotwinError('GEOMETRY_INVALID', `invalid volume geometry: ${msg}`);
  dtypeOf(v.data);
  if (v.dims.length !== 3 || !v.dims.every((d) => Number.isSafeInteger(d) && d > 0)) {
    throw bad(`dims must be 3 positive integers, got ${JSON.stringify(v.dims)}`);
  }
  if (!Number.isSafeInteger(v.components) || v.components < 1) throw bad(`components must be >= 1, got ${v.components}`);
  const expected = v.dims[0] * v.dims[1] * v.dims[2] * v.components;
  if (v.data.length !== expected) throw bad(`data has ${v.data.length} elements, dims x components need ${expected}`);
  if (v.spacing.length !== 3 || !v.spacing.every((s) => Number.isFinite(s) && s > 0)) {
    throw badGeometry(`spacing must be 3 positive finite numbers, got ${JSON.stringify(v.spacing)}`);
  }
  if (v.origin.length !== 3 || !v.origin.every(Number.isFinite)) throw badGeometry(`origin must be finite, got ${JSON.stringify(v.origin)}`);
  if (v.direction.length !== 9 || !v.direction.every(Number.isFinite)) throw badGeometry('direction must be 9 finite numbers');
  if (Math.abs(det3(v.direction)) < 1e-6) throw badGeometry('direction is singular');
  const reach = gridReach(v);
  if (!(reach <= MAX_WORLD_COORDINATE_MM)) {
    throw badGeometry(
      `the grid reaches ${reach} mm from the world origin (dims ${v.dims.join('x')}, spacing ${v.spacing.join(' ')}, origin ${v.origin.join(' ')}), past the ${MAX_WORLD_COORDINATE_MM} mm limit`,
    );
  }
  if (v.rescale && !(Number.isFinite(v.rescale.slope) && Number.isFinite(v.rescale.intercept) && v.rescale.slope !== 0)) {
    throw bad(`rescale must have a finite non-zero slope and finite intercept, got ${JSON.stringify(v.rescale)}`);
  }
}

/** Determinant of a column-major 3x3 matrix (cofactor expansion along the first column). */
function det3(m: Mat3): number {
  return m[0] * (m[4] * m[8] - m[7] * m[5]) - m[1] * (m[3] * m[8] - m[6] * m[5]) + m[2] * (m[3] * m[7] - m[6] * m[4]);
}

/** Largest |world coordinate| of the grid's corners, voxel indices -1 .. dims (one voxel of margin); may be Infinity. */
function gridReach(v: Pick<Volume, 'dims' | 'spacing' | 'origin' | 'direction'>): number {
  let reach = 0;
  for (let corner = 0; corner < 8; corner++) {
    const index = [0, 1, 2].map((a) => ((corner >> a) & 1 ? v.dims[a]! : -1));
    for (let r = 0; r < 3; r++) {
      let x = v.origin[r]!;
      for (let a = 0; a < 3; a++) x += v.direction[r + 3 * a]! * v.spacing[a]! * index[a]!;
      reach = Math.max(reach, Number.isNaN(x) ? Infinity : Math.abs(x));
    }
  }
  return reach;
}

/**
 * The 4x4 matrix taking continuous index (i, j, k, 1) to world LPS mm, written into `out`.
 * `mat4.create()` is a Float32Array (about 1e-5 mm at 100 mm); pass a `Float64Array(16)` as `out` for full precision.
 * @throws nothing.
 * @example `vec3.transformMat4(p, [i, j, k], indexToWorld(mat4.create(), volume))`
 */
export function indexToWorld(out: mat4, v: Pick<Volume, 'spacing' | 'origin' | 'direction'>): mat4 {
  const d = v.direction;
  const [sx, sy, sz] = v.spacing;
  // Column-major, as gl-matrix's mat4.set writes it (written here so that this needs no gl-matrix module).
  const values = [
    d[0] * sx, d[1] * sx, d[2] * sx, 0,
    d[3] * sy, d[4] * sy, d[5] * sy, 0,
    d[6] * sz, d[7] * sz, d[8] * sz, 0,
    v.origin[0], v.origin[1], v.origin[2], 1,
  ];
  for (let i = 0; i < 16; i++) out[i] = values[i]!;
  return out;
}

/**
 * The inverse of {@link indexToWorld}: world LPS mm to continuous index, written into `out`.
 * @throws PhysiotwinError `INVALID_ARGUMENT` when the geometry is not invertible (a zero spacing or a singular direction).
 */
export function worldToIndex(out: mat4, v: Pick<Volume, 'spacing' | 'origin' | 'direction'>): mat4 {
  indexToWorld(out, v);
  if (!loadMat4().invert(out, out)) throw new PhysiotwinError('INVALID_ARGUMENT', 'volume geometry is not invertible');
  return out;
}

/**
 * A zero-copy ndarray view with shape [nx, ny, nz] (or [nx, ny, nz, c]) over the volume's data.
 * `view.get(i, j, k)` reads voxel (i, j, k).
 * @throws nothing.
 */
export function volumeNdarray<T extends VolumeData>(v: Volume<T>): NdArray<T> {
  const [nx, ny, nz] = v.dims;
  const c = v.components;
  const ndarray = loadNdarray();
  if (c === 1) return ndarray(v.data, [nx, ny, nz], [1, nx, nx * ny]);
  return ndarray(v.data, [nx, ny, nz, c], [c, c * nx, c * nx * ny, 1]);
}

/**
 * Number of voxels (not elements: components are not counted).
 * @throws nothing.
 */
export function voxelCount(v: Pick<Volume, 'dims'>): number {
  return v.dims[0] * v.dims[1] * v.dims[2];
}
