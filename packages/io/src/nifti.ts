import { DTYPE_BYTES, PhysiotwinError, dtypeOf, validateVolume } from '@physiotwin/core';
import type { Mat3, Vec3, Volume, VolumeData, VolumeDtype } from '@physiotwin/core';
import { allocateChecked, asSource, checkDecodedSize, concatBytes, decodeElements, encodeElements, gzipBytes, inflateBounded, isGzip, optionalFile, readElements, readPrefix } from './binary.js';
import type { ByteSource } from './binary.js';
import { det3, nearestOrthogonal } from './geometry.js';
import { volumeFromFile } from './volume-init.js';

/** Size of a NIfTI-1 header; also the `sizeof_hdr` field's required value. */
export const NIFTI1_HEADER_SIZE = 348;
/** Header plus the 4-byte extension flag: where a single-file .nii written by us starts its voxels. */
const NIFTI1_VOX_OFFSET = 352;
/** NIFTI_INTENT_VECTOR: dim[5] holds the vector length (our `components`). */
const NIFTI_INTENT_VECTOR = 1007;
/** NIFTI_XFORM_SCANNER_ANAT: the code we write for sform and qform. */
const NIFTI_XFORM_SCANNER_ANAT = 1;
/** xyzt_units: NIFTI_UNITS_MM. */
const NIFTI_UNITS_MM = 2;

/** NIfTI datatype codes we read, with the dtype and components they become. */
const DATATYPES: ReadonlyMap<number, { dtype: VolumeDtype; components: number; name: string }> = new Map([
  [2, { dtype: 'uint8', components: 1, name: 'UINT8' }],
  [4, { dtype: 'int16', components: 1, name: 'INT16' }],
  [8, { dtype: 'int32', components: 1, name: 'INT32' }],
  [16, { dtype: 'float32', components: 1, name: 'FLOAT32' }],
  [64, { dtype: 'float64', components: 1, name: 'FLOAT64' }],
  [128, { dtype: 'uint8', components: 3, name: 'RGB24' }],
  [256, { dtype: 'int8', components: 1, name: 'INT8' }],
  [512, { dtype: 'uint16', components: 1, name: 'UINT16' }],
  [768, { dtype: 'uint32', components: 1, name: 'UINT32' }],
  [2304, { dtype: 'uint8', components: 4, name: 'RGBA32' }],
]);
/** Valid NIfTI codes we cannot represent in a Volume, named for the error message. */
const UNSUPPORTED_DATATYPES: ReadonlyMap<number, string> = new Map([
  [1, 'BINARY (1 bit)'],
  [32, 'COMPLEX64'],
  [1024, 'INT64'],
  [1280, 'UINT64'],
  [1536, 'FLOAT128'],
  [1792, 'COMPLEX128'],
  [2048, 'COMPLEX256'],
]);
const DTYPE_CODES: Readonly<Record<VolumeDtype, number>> = {
  uint8: 2,
  int16: 4,
  int32: 8,
  float32: 16,
  float64: 64,
  int8: 256,
  uint16: 512,
  uint32: 768,
};

/** The fields of a NIfTI-1 header that physiotwin reads, as stored (no unit or frame conversion). */
export interface NiftiHeader {
  littleEndian: boolean;
  /** 'n+1' (single file) or 'ni1' (header of a .hdr/.img pair). */
  magic: string;
  /** dim[0..7] as stored. */
  dim: number[];
  datatype: number;
  bitpix: number;
  /** pixdim[0..7] as stored; pixdim[0] is qfac. */
  pixdim: number[];
  voxOffset: number;
  sclSlope: number;
  sclInter: number;
  xyztUnits: number;
  intentCode: number;
  qformCode: number;
  sformCode: number;
  /** quatern_b, quatern_c, quatern_d. */
  quatern: Vec3;
  /** qoffset_x, qoffset_y, qoffset_z (RAS mm). */
  qoffset: Vec3;
  /** srow_x, srow_y, srow_z: the sform's 3x4 rows (voxel index to RAS mm). */
  srow: [number[], number[], number[]];
  descrip: string;
}

/** Options of {@link readNifti}. */
export interface ReadNiftiOptions {
  /** File name used in error messages. */
  name?: string | undefined;
  /**
   * Most bytes the voxel block (and, for .nii.gz, the decompressed stream up to its end) may take: a header that
   * declares more is refused before anything is allocated or decompressed.
   * @default 2 GiB (`DEFAULT_MAX_DECODED_BYTES`)
   */
  maxDecodedBytes?: number | undefined;
}

/**
 * Parses the NIfTI-1 header of a .nii file (or of its gzip-compressed form, detected by the 1f 8b magic).
 * Decompresses only as much as the header needs.
 * @throws PhysiotwinError `IO_TRUNCATED` (fewer than 348 bytes), `IO_INVALID` (wrong sizeof_hdr or magic, bad
 *   dim[0]), `IO_UNSUPPORTED` (NIfTI-2).
 */
export function readNiftiHeader(bytes: Uint8Array, options: ReadNiftiOptions = {}): NiftiHeader {
  if (!isGzip(bytes)) return parseNiftiHeader(bytes, options.name);
  let header: NiftiHeader | undefined;
  inflateBounded(bytes, {
    format: 'gzip',
    what: 'NIfTI gzip stream',
    file: options.name,
    verify: false,
    needed: (prefix) => {
      if (prefix.length < NIFTI1_HEADER_SIZE) return undefined;
      header = parseNiftiHeader(prefix, options.name);
      return NIFTI1_HEADER_SIZE;
    },
  });
  return header!;
}

function parseNiftiHeader(bytes: Uint8Array, file: string | undefined): NiftiHeader {
  const location = optionalFile(file);
  if (bytes.length < 4) throw new PhysiotwinError('IO_TRUNCATED', `NIfTI file has ${bytes.length} bytes, too short for sizeof_hdr`, { location });
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let littleEndian: boolean;
  if (view.getInt32(0, true) === NIFTI1_HEADER_SIZE) littleEndian = true;
  else if (view.getInt32(0, false) === NIFTI1_HEADER_SIZE) littleEndian = false;
  else if (view.getInt32(0, true) === 540 || view.getInt32(0, false) === 540) {
    throw new PhysiotwinError('IO_UNSUPPORTED', 'NIfTI-2 files (sizeof_hdr 540) are not supported; only NIfTI-1', { location });
  } else {
    throw new PhysiotwinError('IO_INVALID', `not a NIfTI-1 file: sizeof_hdr is ${view.getInt32(0, true)}, expected 348`, { location, details: { field: 'sizeof_hdr' } });
  }
  if (bytes.length < NIFTI1_HEADER_SIZE) {
    throw new PhysiotwinError('IO_TRUNCATED', `NIfTI header needs 348 bytes, the file has ${bytes.length}`, { location });
  }
  const magic = String.fromCharCode(bytes[344]!, bytes[345]!, bytes[346]!);
  if ((magic !== 'n+1' && magic !== 'ni1') || bytes[347] !== 0) {
    throw new PhysiotwinError('IO_INVALID', `not a NIfTI-1 file: magic at byte 344 is ${JSON.stringify(String.fromCharCode(...bytes.subarray(344, 348)))}, expected "n+1\\0"`, {
      location,
      details: { field: 'magic' },
    });
  }
  const i16 = (o: number) => view.getInt16(o, littleEndian);
  const f32 = (o: number) => view.getFloat32(o, littleEndian);
  const text = (o: number, n: number) => {
    const raw = bytes.subarray(o, o + n);
    const end = raw.indexOf(0);
    return String.fromCharCode(...raw.subarray(0, end < 0 ? n : end));
  };
  const dim = Array.from({ length: 8 }, (_, i) => i16(40 + 2 * i));
  if (!(dim[0]! >= 1 && dim[0]! <= 7)) {
    throw new PhysiotwinError('IO_INVALID', `NIfTI dim[0] must be 1..7, got ${dim[0]}`, { location, details: { field: 'dim[0]' } });
  }
  return {
    littleEndian,
    magic,
    dim,
    intentCode: i16(68),
    datatype: i16(70),
    bitpix: i16(72),
    pixdim: Array.from({ length: 8 }, (_, i) => f32(76 + 4 * i)),
    voxOffset: f32(108),
    sclSlope: f32(112),
    sclInter: f32(116),
    xyztUnits: bytes[123]!,
    descrip: text(148, 80),
    qformCode: i16(252),
    sformCode: i16(254),
    quatern: [f32(256), f32(260), f32(264)],
    qoffset: [f32(268), f32(272), f32(276)],
    srow: [0, 1, 2].map((r) => [0, 1, 2, 3].map((c) => f32(280 + 16 * r + 4 * c))) as NiftiHeader['srow'],
  };
}

/** What the header says about the voxel block: validated shape and storage. */
interface VoxelLayout {
  dims: Vec3;
  dtype: VolumeDtype;
  components: number;
  /** True when components are stored as whole volumes one after the other (dim[5] vectors), not per voxel (RGB). */
  planar: boolean;
  voxOffset: number;
  byteLength: number;
}

function voxelLayout(h: NiftiHeader, file: string | undefined): VoxelLayout {
  const location = optionalFile(file);
  if (h.magic === 'ni1') {
    throw new PhysiotwinError('IO_UNSUPPORTED', 'NIfTI .hdr/.img pairs (magic "ni1") are not supported; convert to a single .nii', { location });
  }
  const n = h.dim[0]!;
  const size = (i: number) => (i <= n ? h.dim[i]! : 1);
  for (let i = 1; i <= n; i++) {
    if (!(h.dim[i]! >= 1)) throw new PhysiotwinError('IO_INVALID', `NIfTI dim[${i}] must be >= 1, got ${h.dim[i]}`, { location, details: { field: `dim[${i}]` } });
  }
  if (size(4) > 1 || size(6) > 1 || size(7) > 1) {
    throw new PhysiotwinError(
      'IO_UNSUPPORTED',
      `NIfTI with time points or extra dimensions (dim[4..7] = ${[4, 5, 6, 7].map(size).join(', ')}) is not supported: only 3D volumes, with dim[5] as vector components`,
      { location },
    );
  }
  const type = DATATYPES.get(h.datatype);
  if (!type) {
    const known = UNSUPPORTED_DATATYPES.get(h.datatype);
    if (known) throw new PhysiotwinError('IO_UNSUPPORTED', `NIfTI datatype ${h.datatype} (${known}) is not supported`, { location, details: { field: 'datatype' } });
    throw new PhysiotwinError('IO_INVALID', `NIfTI datatype ${h.datatype} is not a NIfTI-1 datatype code`, { location, details: { field: 'datatype' } });
  }
  const bytesPerVoxel = DTYPE_BYTES[type.dtype] * type.components;
  if (h.bitpix !== 8 * bytesPerVoxel) {
    throw new PhysiotwinError('IO_INVALID', `NIfTI bitpix ${h.bitpix} does not match datatype ${h.datatype} (${type.name}, ${8 * bytesPerVoxel} bits)`, {
      location,
      details: { field: 'bitpix' },
    });
  }
  if (type.components > 1 && size(5) > 1) {
    throw new PhysiotwinError('IO_UNSUPPORTED', `NIfTI ${type.name} with dim[5] = ${size(5)} vectors is not supported`, { location });
  }
  if (!(Number.isInteger(h.voxOffset) && h.voxOffset >= NIFTI1_HEADER_SIZE)) {
    throw new PhysiotwinError('IO_INVALID', `NIfTI vox_offset must be an integer >= 348, got ${h.voxOffset}`, { location, details: { field: 'vox_offset' } });
  }
  const dims: Vec3 = [size(1), size(2), size(3)];
  const components = type.components * size(5);
  return {
    dims,
    dtype: type.dtype,
    components,
    planar: size(5) > 1,
    voxOffset: h.voxOffset,
    byteLength: dims[0] * dims[1] * dims[2] * components * DTYPE_BYTES[type.dtype],
  };
}

/** The NIfTI voxel-to-RAS affine the standard says to use: sform, else qform, else pixdim scaling. */
function rasAffine(h: NiftiHeader, file: string | undefined): { linear: Mat3; offset: Vec3 } {
  const pix = (i: number) => {
    const p = h.pixdim[i]!;
    if (!Number.isFinite(p)) {
      throw new PhysiotwinError('GEOMETRY_INVALID', `NIfTI pixdim[${i}] is ${p}: grid spacing must be finite`, { location: optionalFile(file), details: { field: `pixdim[${i}]` } });
    }
    // The standard (nifti1_io): a non-positive grid spacing is taken as 1.
    return p > 0 ? p : 1;
  };
  if (h.sformCode > 0) {
    const [x, y, z] = h.srow;
    const linear: Mat3 = [x[0]!, y[0]!, z[0]!, x[1]!, y[1]!, z[1]!, x[2]!, y[2]!, z[2]!];
    const offset: Vec3 = [x[3]!, y[3]!, z[3]!];
    if (![...linear, ...offset].every(Number.isFinite)) {
      throw new PhysiotwinError('GEOMETRY_INVALID', 'NIfTI sform (srow_x/y/z) has non-finite entries', { location: optionalFile(file), details: { field: 'srow' } });
    }
    return { linear, offset };
  }
  if (h.qformCode > 0) {
    let [b, c, d] = h.quatern;
    let a2 = 1 - (b * b + c * c + d * d);
    if (a2 < 1e-7) {
      // Not quite a unit quaternion: the standard normalises (b, c, d) and takes a = 0 (a 180 degree rotation).
      const norm = Math.hypot(b, c, d);
      [b, c, d] = [b / norm, c / norm, d / norm];
      a2 = 0;
    }
    const a = Math.sqrt(a2);
    const qfac = h.pixdim[0]! < 0 ? -1 : 1;
    const [dx, dy, dz] = [pix(1), pix(2), qfac * pix(3)];
    const linear: Mat3 = [
      (a * a + b * b - c * c - d * d) * dx,
      2 * (b * c + a * d) * dx,
      2 * (b * d - a * c) * dx,
      2 * (b * c - a * d) * dy,
      (a * a + c * c - b * b - d * d) * dy,
      2 * (c * d + a * b) * dy,
      2 * (b * d + a * c) * dz,
      2 * (c * d - a * b) * dz,
      (a * a + d * d - c * c - b * b) * dz,
    ];
    if (![...linear, ...h.qoffset].every(Number.isFinite)) {
      throw new PhysiotwinError('GEOMETRY_INVALID', 'NIfTI qform (quatern_*, qoffset_*) has non-finite entries', { location: optionalFile(file), details: { field: 'qform' } });
    }
    return { linear, offset: [...h.qoffset] };
  }
  return { linear: [pix(1), 0, 0, 0, pix(2), 0, 0, 0, pix(3)], offset: [0, 0, 0] };
}

/**
 * Reads a NIfTI-1 single-file image (.nii) or its gzip-compressed form (.nii.gz, detected by the 1f 8b magic),
 * little- or big-endian, into a {@link Volume} in LPS. The input is the file's bytes, or a {@link ByteSource} from
 * which only the header and the voxel block are read (the compressed stream only as far as they need).
 *
 * - Geometry: the sform when sform_code > 0, else the qform (quaternion, qfac, pixdim) when qform_code > 0, else
 *   pixdim scaling with no rotation (the standard's method 1). NIfTI's RAS+ world becomes LPS by negating x and y
 *   (LPS = diag(-1, -1, 1) * RAS); spacing is the length of each affine column, direction the unit columns
 *   (a sheared sform stays sheared). Header floats are float32, so geometry has float32 precision.
 * - Voxels keep their stored values and dtype; scl_slope/scl_inter become `volume.rescale` unless the slope is 0
 *   or not finite (the standard's "no scaling").
 * - dim[5] > 1 (vector intent) becomes `components` (stored planar in the file, interleaved in the Volume); RGB24
 *   and RGBA32 become uint8 with 3 and 4 components. Time series (dim[4] > 1) and dim[6..7] > 1 are refused.
 *
 * @example
 * ```ts
 * const volume = readNifti(await fs.readFile('t1.nii.gz'), { name: 't1.nii.gz' });
 * ```
 * - .nii.gz is decompressed up to the end of the voxel block, and on to the end of the gzip stream to check its
 *   footers (CRC-32, ISIZE of every member) when that end comes within 1 MiB decompressed past the voxels; a stream
 *   that runs on further (data the header does not describe, a deflate bomb) is not followed and its end goes
 *   unchecked, so it costs no more than that; `maxDecodedBytes` bounds what a header may declare.
 *
 * @throws PhysiotwinError `IO_TRUNCATED` (header or voxel block cut short, gzip stream ends early, dims that need
 *   more bytes than the file can hold), `IO_INVALID` (wrong sizeof_hdr or magic, dims <= 0, unknown datatype, bitpix
 *   mismatch, corrupt gzip), `GEOMETRY_INVALID` (non-finite pixdim, sform or qform; zero-length or singular axes; a
 *   grid that reaches past core's `MAX_WORLD_COORDINATE_MM`, e.g. pixdim 3e38), `IO_UNSUPPORTED` (NIfTI-2,
 *   .hdr/.img pairs, 4D, 64-bit or complex datatypes), `LIMIT_EXCEEDED` (a voxel block over `maxDecodedBytes`),
 *   `OUT_OF_MEMORY` (an allocation the platform refuses).
 */
export function readNifti(input: Uint8Array | ByteSource, options: ReadNiftiOptions = {}): Volume {
  const file = options.name;
  const source = asSource(input);
  let header: NiftiHeader | undefined;
  let layout: VoxelLayout | undefined;
  const needed = (prefix: Uint8Array) => {
    header = parseNiftiHeader(prefix, file);
    layout = voxelLayout(header, file);
    return layout.voxOffset + layout.byteLength;
  };
  const count = () => layout!.dims[0] * layout!.dims[1] * layout!.dims[2] * layout!.components;
  let data: VolumeData;
  const start = readPrefix(source, NIFTI1_HEADER_SIZE);
  if (isGzip(start)) {
    const plain = inflateBounded(source, {
      format: 'gzip',
      what: 'NIfTI gzip stream',
      file,
      verify: true,
      maxBytes: options.maxDecodedBytes,
      needed: (prefix) => (prefix.length < NIFTI1_HEADER_SIZE ? undefined : needed(prefix)),
    });
    // The decompressed buffer is ours: its voxels are used in place when aligned.
    data = decodeElements(plain, layout!.voxOffset, layout!.dtype, count(), header!.littleEndian, file, true);
  } else {
    const total = needed(start);
    if (total > source.size) {
      throw new PhysiotwinError(
        'IO_TRUNCATED',
        `NIfTI voxel block of ${layout!.byteLength} bytes (dims ${layout!.dims.join('x')}, ${layout!.components} x ${layout!.dtype}) at vox_offset ${layout!.voxOffset} needs ${total} bytes, the file has ${source.size}`,
        { location: optionalFile(file) },
      );
    }
    checkDecodedSize(layout!.byteLength, options.maxDecodedBytes, `NIfTI voxel block (dims ${layout!.dims.join('x')}, ${layout!.components} x ${layout!.dtype})`, file);
    // Only the voxel block is read: bytes after it cost nothing.
    data = readElements(source, layout!.voxOffset, layout!.dtype, count(), header!.littleEndian, file);
  }
  const h = header!;
  const l = layout!;
  if (l.planar) data = reorderComponents(data, l.components, true);
  const { linear, offset } = rasAffine(h, file);
  // RAS -> LPS: negate the x and y rows of the affine.
  const lps = linear.map((v, i) => (i % 3 < 2 ? -v : v));
  const spacing = [0, 1, 2].map((c) => Math.hypot(lps[3 * c]!, lps[3 * c + 1]!, lps[3 * c + 2]!)) as Vec3;
  const direction = lps.map((v, i) => v / spacing[Math.floor(i / 3)]!) as Mat3;
  const slope = h.sclSlope;
  const rescale = slope !== 0 && Number.isFinite(slope) && Number.isFinite(h.sclInter) ? { slope, intercept: h.sclInter } : undefined;
  return volumeFromFile(
    { data, dims: l.dims, spacing, origin: [-offset[0], -offset[1], offset[2]], direction, components: l.components, ...(rescale ? { rescale } : {}) },
    'NIfTI',
    file,
  );
}

/**
 * Reorders elements between planar [component][voxel] and interleaved [voxel][component] layouts. Copies bytes,
 * not numbers, so float NaN payloads survive (a value copy through a JS number may quiet a signalling NaN).
 */
function reorderComponents(data: VolumeData, components: number, toInterleaved: boolean): VolumeData {
  const size = data.BYTES_PER_ELEMENT;
  const voxels = data.length / components;
  const out = allocateChecked(dtypeOf(data), data.length, undefined);
  const src = new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
  const dst = new Uint8Array(out.buffer, out.byteOffset, out.byteLength);
  for (let c = 0; c < components; c++) {
    for (let v = 0; v < voxels; v++) {
      const planar = (c * voxels + v) * size;
      const interleaved = (v * components + c) * size;
      const [from, to] = toInterleaved ? [planar, interleaved] : [interleaved, planar];
      for (let b = 0; b < size; b++) dst[to + b] = src[from + b]!;
    }
  }
  return out;
}

/** Options of {@link writeNifti}. */
export interface WriteNiftiOptions {
  /** gzip the whole file (.nii.gz). @default false */
  gzip?: boolean;
  /** Stored in the 80-byte `descrip` field (ASCII, cut to 79 characters). @default '' */
  description?: string;
  /**
   * Further volumes of a 4D image, written after `volume` as time points (dim[4] = 1 + their count). Each must
   * have `volume`'s dims, dtype, components (1), rescale and geometry.
   * @default []
   */
  timePoints?: readonly Volume[];
  /** pixdim[4]: the step between time points, seconds (xyzt_units then says mm and s). @default 1 */
  timeStep?: number;
}

/**
 * The unit quaternion (b, c, d; a >= 0) of a proper rotation matrix (column-major), after the NIfTI reference
 * implementation (nifti_mat44_to_quatern), which picks the numerically safest formula.
 */
function quaternionOf(r: Mat3): Vec3 {
  const m = (row: number, col: number) => r[row + 3 * col]!;
  const trace = m(0, 0) + m(1, 1) + m(2, 2) + 1;
  let a: number;
  let b: number;
  let c: number;
  let d: number;
  if (trace > 0.5) {
    a = 0.5 * Math.sqrt(trace);
    b = (0.25 * (m(2, 1) - m(1, 2))) / a;
    c = (0.25 * (m(0, 2) - m(2, 0))) / a;
    d = (0.25 * (m(1, 0) - m(0, 1))) / a;
  } else {
    const xd = 1 + m(0, 0) - (m(1, 1) + m(2, 2));
    const yd = 1 + m(1, 1) - (m(0, 0) + m(2, 2));
    const zd = 1 + m(2, 2) - (m(0, 0) + m(1, 1));
    if (xd > 1) {
      b = 0.5 * Math.sqrt(xd);
      c = (0.25 * (m(0, 1) + m(1, 0))) / b;
      d = (0.25 * (m(0, 2) + m(2, 0))) / b;
      a = (0.25 * (m(2, 1) - m(1, 2))) / b;
    } else if (yd > 1) {
      c = 0.5 * Math.sqrt(yd);
      b = (0.25 * (m(0, 1) + m(1, 0))) / c;
      d = (0.25 * (m(1, 2) + m(2, 1))) / c;
      a = (0.25 * (m(0, 2) - m(2, 0))) / c;
    } else {
      d = 0.5 * Math.sqrt(zd);
      b = (0.25 * (m(0, 2) + m(2, 0))) / d;
      c = (0.25 * (m(1, 2) + m(2, 1))) / d;
      a = (0.25 * (m(1, 0) - m(0, 1))) / d;
    }
    if (a < 0) [b, c, d] = [-b, -c, -d];
  }
  return [b, c, d];
}

/**
 * Writes a volume as a single-file NIfTI-1 image (.nii), or gzipped (.nii.gz) with `gzip: true`.
 *
 * - sform (code 1, scanner) = the exact index-to-RAS affine (LPS x and y negated), stored as float32.
 * - qform (code 1) = the same origin and spacing with the direction replaced by its nearest orthogonal matrix
 *   (polar decomposition; a reflection goes into qfac = pixdim[0] = -1). A sheared direction survives only in
 *   the sform, which readers prefer.
 * - The volume's dtype is kept; `rescale` goes to scl_slope/scl_inter (float32), else slope 0 ("no scaling").
 * - components > 1 are written as a vector image (intent 1007, dim = [5, nx, ny, nz, 1, components]).
 * - `timePoints` make a 4D image (dim = [4, nx, ny, nz, t], pixdim[4] = `timeStep` s).
 * - xyzt_units = mm. Little-endian, vox_offset 352, no extensions.
 *
 * Precision: header floats are float32, so spacing, origin, direction and rescale come back rounded to float32
 * (exact when their products are float32 numbers); voxel data comes back bit for bit.
 * @throws PhysiotwinError `INVALID_ARGUMENT` for an invalid volume or dims above NIfTI-1's 32767 limit.
 */
export function writeNifti(volume: Volume, options: WriteNiftiOptions = {}): Uint8Array {
  const parts = niftiParts(volume, options);
  const file = parts.length === 1 ? parts[0]! : concatBytes(parts);
  return options.gzip ? gzipBytes(file) : file;
}

/**
 * The bytes of an uncompressed .nii as {@link writeNifti} writes it (its `gzip` option aside), in parts that are
 * written one after the other: the header, then each volume's voxels (on a little-endian host, views of the
 * volumes' own data: no copy). Internal, for io/node's writers; the parts must not be changed while in use.
 * @throws as {@link writeNifti}.
 */
export function niftiParts(volume: Volume, options: WriteNiftiOptions = {}): Uint8Array[] {
  validateVolume(volume);
  const dtype = dtypeOf(volume.data);
  const [nx, ny, nz] = volume.dims;
  const c = volume.components;
  for (const [name, value] of [['dims', Math.max(nx, ny, nz)], ['components', c]] as const) {
    if (value > 32767) throw new PhysiotwinError('INVALID_ARGUMENT', `NIfTI-1 stores sizes as int16: ${name} ${value} exceeds 32767`);
  }
  const header = new Uint8Array(NIFTI1_VOX_OFFSET);
  const view = new DataView(header.buffer);
  const i16 = (o: number, v: number) => view.setInt16(o, v, true);
  const f32 = (o: number, v: number) => view.setFloat32(o, v, true);
  view.setInt32(0, NIFTI1_HEADER_SIZE, true);
  header[38] = 'r'.charCodeAt(0); // "regular": ANALYZE legacy, set by every writer
  const more = options.timePoints ?? [];
  for (const t of more) {
    validateVolume(t);
    const same = t.dims.every((x, i) => x === volume.dims[i]) && dtypeOf(t.data) === dtype && t.components === 1 && c === 1
      && t.rescale?.slope === volume.rescale?.slope && t.rescale?.intercept === volume.rescale?.intercept;
    if (!same) throw new PhysiotwinError('INVALID_ARGUMENT', 'every time point of a 4D NIfTI must have the first volume\'s dims, dtype, rescale and a single component');
  }
  if (more.length + 1 > 32767) throw new PhysiotwinError('INVALID_ARGUMENT', `NIfTI-1 stores sizes as int16: ${more.length + 1} time points exceed 32767`);
  const dim = c > 1 ? [5, nx, ny, nz, 1, c, 1, 1] : more.length > 0 ? [4, nx, ny, nz, more.length + 1, 1, 1, 1] : [3, nx, ny, nz, 1, 1, 1, 1];
  dim.forEach((v, i) => i16(40 + 2 * i, v));
  if (c > 1) i16(68, NIFTI_INTENT_VECTOR);
  i16(70, DTYPE_CODES[dtype]);
  i16(72, 8 * DTYPE_BYTES[dtype]);

  // Affine in RAS: columns direction * spacing with x and y negated; origin likewise.
  const d = volume.direction;
  const s = volume.spacing;
  const ras = (row: number, col: number) => (row < 2 ? -1 : 1) * d[row + 3 * col]! * s[col]!;
  const originRas: Vec3 = [-volume.origin[0], -volume.origin[1], volume.origin[2]];
  for (let row = 0; row < 3; row++) {
    for (let col = 0; col < 3; col++) f32(280 + 16 * row + 4 * col, ras(row, col));
    f32(280 + 16 * row + 12, originRas[row]!);
  }
  // qform: nearest rotation of the RAS direction; a reflection is carried by qfac on the k axis.
  const dirRas = d.map((v, i) => (i % 3 < 2 ? -v : v)) as Mat3;
  const rotation = nearestOrthogonal(dirRas)!; // validateVolume has checked the direction is non-singular
  let qfac = 1;
  if (det3(rotation) < 0) {
    qfac = -1;
    for (let row = 0; row < 3; row++) rotation[row + 6] = -rotation[row + 6]!;
  }
  const [qb, qc, qd] = quaternionOf(rotation);
  f32(256, qb);
  f32(260, qc);
  f32(264, qd);
  originRas.forEach((v, i) => f32(268 + 4 * i, v));
  [qfac, s[0], s[1], s[2], more.length > 0 ? (options.timeStep ?? 1) : 1, 1, 1, 1].forEach((v, i) => f32(76 + 4 * i, v));
  f32(108, NIFTI1_VOX_OFFSET);
  f32(112, volume.rescale ? volume.rescale.slope : 0);
  f32(116, volume.rescale ? volume.rescale.intercept : 0);
  header[123] = more.length > 0 ? NIFTI_UNITS_MM | 8 /* NIFTI_UNITS_SEC */ : NIFTI_UNITS_MM;
  const descrip = (options.description ?? '').slice(0, 79);
  for (let i = 0; i < descrip.length; i++) {
    const code = descrip.charCodeAt(i);
    header[148 + i] = code >= 0x20 && code < 0x7f ? code : 0x3f; // non-ASCII becomes '?'
  }
  i16(252, NIFTI_XFORM_SCANNER_ANAT);
  i16(254, NIFTI_XFORM_SCANNER_ANAT);
  header.set([0x6e, 0x2b, 0x31, 0x00], 344); // "n+1\0"
  // Bytes 348..351: extension flag 0 (no extensions).
  const stored = c > 1 ? reorderComponents(volume.data, c, false) : volume.data;
  return [header, encodeElements(stored, true), ...more.map((t) => encodeElements(t.data, true))];
}
