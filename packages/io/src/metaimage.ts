import { DTYPE_BYTES, PhysiotwinError, dtypeOf, validateVolume } from '@physiotwin/core';
import type { Mat3, Vec3, Volume, VolumeDtype } from '@physiotwin/core';
import { asSource, checkDecodedSize, decodeElements, encodeElements, inflateBounded, optionalFile, readElements, readPrefix, sliceSource, zlibBytes } from './binary.js';
import type { ByteSource } from './binary.js';
import { volumeFromFile } from './volume-init.js';

/** MetaIO element types and the dtype each becomes (MET_LONG/ULONG are 4 bytes in MetaIO). */
const ELEMENT_TYPES: ReadonlyMap<string, VolumeDtype> = new Map([
  ['MET_UCHAR', 'uint8'],
  ['MET_CHAR', 'int8'],
  ['MET_USHORT', 'uint16'],
  ['MET_SHORT', 'int16'],
  ['MET_UINT', 'uint32'],
  ['MET_INT', 'int32'],
  ['MET_ULONG', 'uint32'],
  ['MET_LONG', 'int32'],
  ['MET_FLOAT', 'float32'],
  ['MET_DOUBLE', 'float64'],
]);
const WRITE_TYPES: Readonly<Record<VolumeDtype, string>> = {
  uint8: 'MET_UCHAR',
  int8: 'MET_CHAR',
  uint16: 'MET_USHORT',
  int16: 'MET_SHORT',
  uint32: 'MET_UINT',
  int32: 'MET_INT',
  float32: 'MET_FLOAT',
  float64: 'MET_DOUBLE',
};

/** A parsed MetaImage header: the keys as written (values trimmed), and where the header ends in the bytes. */
export interface MetaImageHeader {
  fields: Map<string, string>;
  /** Byte offset just after the ElementDataFile line (where LOCAL data starts). */
  dataOffset: number;
}

const UTF8 = new TextDecoder('utf-8');
const KEY = /^[A-Za-z][A-Za-z0-9_]*$/;

/** Longest header we scan for the ElementDataFile line; real headers are well under 4 KiB. */
const MAX_HEADER_BYTES = 1 << 16;

/** Options of {@link readMetaImage}. */
export interface ReadMetaImageOptions {
  /** File name used in error messages. */
  name?: string | undefined;
  /**
   * Returns the separate data file named by ElementDataFile (an .mhd header's .raw / .zraw), resolved by the
   * caller: its bytes, or a {@link ByteSource} from which only the declared bytes are read (so a huge data file
   * behind a small header costs nothing). The name is untrusted text from the header: the caller decides where it
   * may point (the Node entry, `readVolumeFile`, allows only regular files inside the header's folder). Required for
   * .mhd files.
   */
  readDataFile?: ((fileName: string) => Uint8Array | ByteSource) | undefined;
  /**
   * Most bytes the voxel data (and, for CompressedData, the decompressed stream) may take: a header that declares
   * more is refused before anything is allocated or decompressed.
   * @default 2 GiB (`DEFAULT_MAX_DECODED_BYTES`)
   */
  maxDecodedBytes?: number | undefined;
}

/**
 * Parses the text header of a MetaImage (.mha / .mhd): `Key = Value` lines up to and including ElementDataFile.
 * @throws PhysiotwinError `IO_INVALID` (not a MetaImage header, a line without '='), `IO_TRUNCATED` (no
 *   ElementDataFile line before the bytes end).
 */
export function parseMetaImageHeader(bytes: Uint8Array, file?: string): MetaImageHeader {
  const location = optionalFile(file);
  const fields = new Map<string, string>();
  let start = 0;
  let lineNo = 0;
  const limit = Math.min(bytes.length, MAX_HEADER_BYTES);
  while (start < limit) {
    let end = bytes.indexOf(0x0a, start);
    const complete = end >= 0 && end < limit;
    if (!complete) end = limit;
    lineNo++;
    const line = UTF8.decode(bytes.subarray(start, end)).replace(/\r$/, '');
    const next = complete ? end + 1 : end;
    // A last line without its newline is a cut-off header, except an external file name (an .mhd may end there).
    const cutOff = !complete && end === bytes.length;
    if (line.trim() === '') {
      start = next;
      continue;
    }
    const eq = line.indexOf('=');
    const key = eq > 0 ? line.slice(0, eq).trim() : '';
    const value = eq > 0 ? line.slice(eq + 1).trim() : '';
    const isDataFile = key === 'ElementDataFile';
    const plausible = KEY.test(key) || (eq < 0 && KEY.test(line.trim()));
    if (cutOff && plausible && !(isDataFile && value !== '' && !'LOCAL'.startsWith(value.toUpperCase()))) {
      throw new PhysiotwinError('IO_TRUNCATED', `MetaImage header is cut off in line ${lineNo} (${JSON.stringify(line.slice(0, 60))})`, { location });
    }
    if (!KEY.test(key)) {
      const what = fields.size === 0 ? 'not a MetaImage header: first line' : `MetaImage header line ${lineNo}`;
      throw new PhysiotwinError('IO_INVALID', `${what} is not "Key = Value": ${JSON.stringify(line.slice(0, 60))}`, { location });
    }
    fields.set(key, value);
    if (isDataFile) return { fields, dataOffset: next };
    start = next;
  }
  if (bytes.length > MAX_HEADER_BYTES && fields.size > 0) {
    throw new PhysiotwinError('IO_INVALID', `MetaImage header has no ElementDataFile line in its first ${MAX_HEADER_BYTES} bytes`, { location });
  }
  throw new PhysiotwinError('IO_TRUNCATED', 'MetaImage header ends before its ElementDataFile line', { location });
}


/** Typed access to header values, with errors that name the key. */
class Fields {
  constructor(
    private readonly fields: Map<string, string>,
    private readonly file: string | undefined,
  ) {}

  invalid(key: string, message: string): PhysiotwinError {
    return new PhysiotwinError('IO_INVALID', `MetaImage ${key}: ${message}`, { location: optionalFile(this.file), details: { field: key } });
  }

  /** The first of `keys` present (MetaIO accepts synonyms, e.g. Offset / Origin / Position). */
  find(...keys: string[]): [string, string] | undefined {
    for (const k of keys) {
      const v = this.fields.get(k);
      if (v !== undefined) return [k, v];
    }
    return undefined;
  }

  required(key: string): string {
    const v = this.fields.get(key);
    if (v === undefined) throw this.invalid(key, 'required key is missing');
    return v;
  }

  /**
   * `count` finite numbers. A count or text that is wrong is `IO_INVALID`; numbers that are there but not finite
   * (nan, inf, 1e999) are `GEOMETRY_INVALID` for geometry keys.
   */
  numbers(key: string, value: string, count: number, geometry = false): number[] {
    const parts = value.split(/\s+/).filter((p) => p !== '');
    const nums = parts.map(Number);
    if (parts.length === count && nums.every(Number.isFinite)) return nums;
    const nonFinite = (p: string) => /^[+-]?(nan|inf(inity)?)$/i.test(p) || Math.abs(Number(p)) === Infinity;
    if (geometry && parts.length === count && parts.every((p, i) => Number.isFinite(nums[i]) || nonFinite(p))) {
      throw new PhysiotwinError('GEOMETRY_INVALID', `MetaImage ${key}: geometry must be finite, got ${JSON.stringify(value)}`, {
        location: optionalFile(this.file),
        details: { field: key },
      });
    }
    throw this.invalid(key, `expected ${count} numbers, got ${JSON.stringify(value)}`);
  }

  bool(key: string, fallback: boolean): boolean {
    const v = this.fields.get(key);
    if (v === undefined) return fallback;
    if (/^true$/i.test(v)) return true;
    if (/^false$/i.test(v)) return false;
    throw this.invalid(key, `expected True or False, got ${JSON.stringify(v)}`);
  }
}

/** Pads an n-D (n <= 3) vector to 3D with `fill`. */
function pad3(values: number[], fill: number): Vec3 {
  return [values[0] ?? fill, values[1] ?? fill, values[2] ?? fill];
}

/**
 * Reads a MetaImage: .mha with inline (LOCAL) data, or an .mhd header whose ElementDataFile names a separate raw
 * file fetched through `options.readDataFile`. MetaImage geometry is already LPS (ITK's frame). The input is the
 * file's bytes, or a {@link ByteSource} from which only the header and the declared data are read.
 *
 * - DimSize, ElementSpacing (else ElementSize, else 1), Offset / Origin / Position, TransformMatrix / Rotation /
 *   Orientation. The TransformMatrix lists the direction of the i axis first, then j, then k (ITK's MetaImageIO
 *   sets axis i's direction from elements 3i..3i+2), which is the column-major order of `Volume.direction`.
 * - NDims 2 or 3 (a 2D image becomes nz = 1); ElementNumberOfChannels becomes `components` (interleaved in the file
 *   as in the Volume); MET_UCHAR/CHAR/USHORT/SHORT/UINT/INT/ULONG/LONG/FLOAT/DOUBLE.
 * - CompressedData = True: zlib; ElementByteOrderMSB / BinaryDataByteOrderMSB = True: big-endian.
 * - ElementToIntensityFunctionSlope / Offset become `rescale` (MetaIO's stored-to-intensity mapping).
 * - HeaderSize (bytes to skip in the data file; -1 = the data is at the end) for external data files.
 *
 * @example
 * ```ts
 * const v = readMetaImage(await fs.readFile('aorta.mha'), { name: 'aorta.mha' });
 * ```
 * - Only the bytes the header declares are read from a data file, and compressed data is decompressed only up to
 *   them, and on to the stream's end to check its Adler-32 when that end comes within 1 MiB decompressed past them
 *   (a longer stream is not followed, and its end goes unchecked); `maxDecodedBytes` bounds what a header may
 *   declare.
 *
 * @throws PhysiotwinError `IO_TRUNCATED` (header or data cut short, compressed data ends early, dims that need
 *   more bytes than the file holds), `IO_INVALID` (not a MetaImage header, bad or missing keys, dims <= 0, corrupt
 *   zlib), `GEOMETRY_INVALID` (non-finite spacing, origin or matrix; zero spacing, a singular matrix, a grid past
 *   core's `MAX_WORLD_COORDINATE_MM`), `IO_UNSUPPORTED` (ASCII data, NDims > 3, ElementDataFile LIST or file
 *   patterns, 64-bit and other types), `INVALID_ARGUMENT` (an external data file without `readDataFile`),
 *   `LIMIT_EXCEEDED` (data over `maxDecodedBytes`), `OUT_OF_MEMORY` (an allocation the platform refuses), and
 *   whatever `readDataFile` throws.
 */
export function readMetaImage(input: Uint8Array | ByteSource, options: ReadMetaImageOptions = {}): Volume {
  const file = options.name;
  const location = optionalFile(file);
  const whole = asSource(input);
  // One byte past the longest header, so that "no ElementDataFile line within it" is told from "the file ends".
  const header = parseMetaImageHeader(readPrefix(whole, MAX_HEADER_BYTES + 1), file);
  const f = new Fields(header.fields, file);
  const objectType = header.fields.get('ObjectType');
  if (objectType !== undefined && objectType !== 'Image') throw f.invalid('ObjectType', `expected Image, got ${JSON.stringify(objectType)}`);
  const ndims = Number(f.required('NDims'));
  if (!Number.isInteger(ndims) || ndims < 1) throw f.invalid('NDims', `expected a positive integer, got ${JSON.stringify(header.fields.get('NDims'))}`);
  if (ndims < 2 || ndims > 3) {
    throw new PhysiotwinError('IO_UNSUPPORTED', `MetaImage NDims = ${ndims}: only 2D and 3D images are supported`, { location });
  }
  const dimValues = f.numbers('DimSize', f.required('DimSize'), ndims);
  dimValues.forEach((d) => {
    if (!Number.isSafeInteger(d) || d < 1) throw f.invalid('DimSize', `sizes must be positive integers, got ${header.fields.get('DimSize')}`);
  });
  const dims = pad3(dimValues, 1);
  const spacingEntry = f.find('ElementSpacing', 'ElementSize');
  const spacing = spacingEntry ? pad3(f.numbers(spacingEntry[0], spacingEntry[1], ndims, true), 1) : ([1, 1, 1] as Vec3);
  const originEntry = f.find('Offset', 'Origin', 'Position');
  const origin = originEntry ? pad3(f.numbers(originEntry[0], originEntry[1], ndims, true), 0) : ([0, 0, 0] as Vec3);
  const matrixEntry = f.find('TransformMatrix', 'Rotation', 'Orientation');
  let direction: Mat3 = [1, 0, 0, 0, 1, 0, 0, 0, 1];
  if (matrixEntry) {
    const m = f.numbers(matrixEntry[0], matrixEntry[1], ndims * ndims, true);
    // Axis a's direction is m[a * ndims .. a * ndims + ndims - 1]; a 2D matrix is embedded with k = (0, 0, 1).
    for (let a = 0; a < ndims; a++) for (let r = 0; r < ndims; r++) direction[r + 3 * a] = m[a * ndims + r]!;
  }
  const typeName = f.required('ElementType');
  const dtype = ELEMENT_TYPES.get(typeName.replace(/_ARRAY$/, ''));
  if (!dtype) {
    throw new PhysiotwinError('IO_UNSUPPORTED', `MetaImage ElementType ${JSON.stringify(typeName)} is not supported (MET_UCHAR .. MET_DOUBLE)`, {
      location,
      details: { field: 'ElementType' },
    });
  }
  const channelText = header.fields.get('ElementNumberOfChannels') ?? '1';
  const components = Number(channelText);
  if (!Number.isSafeInteger(components) || components < 1) throw f.invalid('ElementNumberOfChannels', `expected a positive integer, got ${JSON.stringify(channelText)}`);
  if (!f.bool('BinaryData', true)) {
    throw new PhysiotwinError('IO_UNSUPPORTED', 'MetaImage BinaryData = False (ASCII voxel values) is not supported', { location });
  }
  const msbEntry = f.find('ElementByteOrderMSB', 'BinaryDataByteOrderMSB');
  const bigEndian = msbEntry ? f.bool(msbEntry[0], false) : false;
  const compressed = f.bool('CompressedData', false);
  const slopeText = header.fields.get('ElementToIntensityFunctionSlope');
  const interceptText = header.fields.get('ElementToIntensityFunctionOffset');
  let rescale: { slope: number; intercept: number } | undefined;
  if (slopeText !== undefined || interceptText !== undefined) {
    const slope = slopeText === undefined ? 1 : f.numbers('ElementToIntensityFunctionSlope', slopeText, 1)[0]!;
    const intercept = interceptText === undefined ? 0 : f.numbers('ElementToIntensityFunctionOffset', interceptText, 1)[0]!;
    rescale = { slope, intercept };
  }

  // Where the voxel bytes are.
  const dataFile = f.required('ElementDataFile');
  const local = dataFile.toUpperCase() === 'LOCAL';
  let source: ByteSource;
  let sourceName = file;
  if (local) {
    source = sliceSource(whole, header.dataOffset, whole.size - header.dataOffset);
  } else {
    if (dataFile.toUpperCase().startsWith('LIST') || dataFile.includes('%')) {
      throw new PhysiotwinError('IO_UNSUPPORTED', `MetaImage ElementDataFile ${JSON.stringify(dataFile)}: data split over several files is not supported`, { location });
    }
    if (dataFile.includes('\0')) throw f.invalid('ElementDataFile', `a file name cannot contain a NUL character: ${JSON.stringify(dataFile)}`);
    if (!options.readDataFile) {
      throw new PhysiotwinError('INVALID_ARGUMENT', `MetaImage header names the data file ${JSON.stringify(dataFile)}; pass readDataFile to read it`, { location });
    }
    const got = options.readDataFile(dataFile);
    source = asSource(got);
    sourceName = dataFile;
  }
  const elementCount = dims[0] * dims[1] * dims[2] * components;
  const byteLength = elementCount * DTYPE_BYTES[dtype];
  const sourceLocation = optionalFile(sourceName);
  const described = `MetaImage data (DimSize ${dims.join('x')}, ${components} x ${typeName})`;
  let data;
  if (compressed) {
    let compressedSource = source;
    const sizeText = header.fields.get('CompressedDataSize');
    if (sizeText !== undefined) {
      const size = Number(sizeText);
      if (!Number.isSafeInteger(size) || size < 1) throw f.invalid('CompressedDataSize', `expected a positive integer, got ${JSON.stringify(sizeText)}`);
      if (size > source.size) {
        throw new PhysiotwinError('IO_TRUNCATED', `MetaImage CompressedDataSize is ${size} bytes but only ${source.size} follow the header`, { location: sourceLocation });
      }
      compressedSource = sliceSource(source, 0, size);
    }
    const raw = inflateBounded(compressedSource, {
      format: 'zlib',
      what: `${described}, zlib-compressed,`,
      file: sourceName,
      verify: true,
      maxBytes: options.maxDecodedBytes,
      needed: () => byteLength,
    });
    data = decodeElements(raw, 0, dtype, elementCount, !bigEndian, sourceName, true);
  } else {
    let skip = 0;
    if (!local) {
      const headerSizeText = header.fields.get('HeaderSize') ?? '0';
      const headerSize = Number(headerSizeText);
      if (!Number.isSafeInteger(headerSize) || headerSize < -1) throw f.invalid('HeaderSize', `expected an integer >= -1, got ${JSON.stringify(headerSizeText)}`);
      skip = headerSize === -1 ? Math.max(0, source.size - byteLength) : headerSize;
    }
    if (skip + byteLength > source.size) {
      throw new PhysiotwinError(
        'IO_TRUNCATED',
        `MetaImage data needs ${byteLength} bytes (DimSize ${dims.join('x')}, ${components} x ${typeName})${skip ? ` after ${skip} header bytes` : ''}, only ${Math.max(0, source.size - skip)} are there`,
        { location: sourceLocation },
      );
    }
    checkDecodedSize(byteLength, options.maxDecodedBytes, described, sourceName);
    // Only the declared bytes are read: a data file larger than the header says costs nothing extra.
    data = readElements(source, skip, dtype, elementCount, !bigEndian, sourceName);
  }
  return volumeFromFile({ data, dims, spacing, origin, direction, components, ...(rescale ? { rescale } : {}) }, 'MetaImage', file);
}

/** Options of {@link writeMetaImage}. */
export interface WriteMetaImageOptions {
  /** zlib-compress the voxel data (CompressedData = True). @default false */
  compress?: boolean;
  /**
   * Write an .mhd header whose ElementDataFile is this name, and return the voxel bytes separately as `data`
   * (the caller stores them under that name, next to the header). Absent: one .mha with inline (LOCAL) data.
   */
  dataFileName?: string;
}

/**
 * Shortest decimal that reads back as the same double (JS number to string), so MetaImage geometry survives a
 * round trip exactly (-0 is written as 0).
 */
function formatNumbers(values: readonly number[]): string {
  return values.map(String).join(' ');
}

/**
 * Writes a volume as a MetaImage: an .mha (header + inline data) or, with `dataFileName`, an .mhd header and the
 * voxel bytes to store under that name. Little-endian; geometry numbers in shortest round-trip form, so spacing,
 * origin, direction and rescale read back exactly; the dtype and components are kept; `rescale` is written as
 * ElementToIntensityFunctionSlope / Offset.
 * @returns `{ header }` (the whole .mha) or `{ header, data }` (.mhd and raw / zlib data).
 * @throws PhysiotwinError `INVALID_ARGUMENT` for an invalid volume or a data file name with a line break.
 */
export function writeMetaImage(volume: Volume, options: WriteMetaImageOptions = {}): { header: Uint8Array; data?: Uint8Array } {
  validateVolume(volume);
  const dataFileName = options.dataFileName;
  if (dataFileName !== undefined && (dataFileName.trim() === '' || /[\r\n]/.test(dataFileName) || dataFileName.trim() !== dataFileName)) {
    throw new PhysiotwinError('INVALID_ARGUMENT', `MetaImage data file name must be non-empty, one line, without surrounding spaces: ${JSON.stringify(dataFileName)}`);
  }
  const raw = encodeElements(volume.data, true);
  const payload = options.compress ? zlibBytes(raw) : raw;
  const lines = [
    'ObjectType = Image',
    'NDims = 3',
    'BinaryData = True',
    'BinaryDataByteOrderMSB = False',
    `CompressedData = ${options.compress ? 'True' : 'False'}`,
    ...(options.compress ? [`CompressedDataSize = ${payload.length}`] : []),
    `TransformMatrix = ${formatNumbers(volume.direction)}`,
    `Offset = ${formatNumbers(volume.origin)}`,
    'CenterOfRotation = 0 0 0',
    `ElementSpacing = ${formatNumbers(volume.spacing)}`,
    `DimSize = ${volume.dims.join(' ')}`,
    ...(volume.components > 1 ? [`ElementNumberOfChannels = ${volume.components}`] : []),
    ...(volume.rescale
      ? [`ElementToIntensityFunctionSlope = ${formatNumbers([volume.rescale.slope])}`, `ElementToIntensityFunctionOffset = ${formatNumbers([volume.rescale.intercept])}`]
      : []),
    `ElementType = ${WRITE_TYPES[dtypeOf(volume.data)]}`,
    `ElementDataFile = ${dataFileName ?? 'LOCAL'}`,
  ];
  const text = new TextEncoder().encode(lines.join('\n') + '\n');
  // Uncompressed little-endian data may be a view of the volume's own buffer: hand back a copy, never an alias.
  if (dataFileName !== undefined) return { header: text, data: payload === raw && raw.buffer === volume.data.buffer ? raw.slice() : payload };
  const header = new Uint8Array(text.length + payload.length);
  header.set(text);
  header.set(payload, text.length);
  return { header };
}
