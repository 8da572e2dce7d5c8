import { PhysiotwinError, allocateVolumeData, createVolume, progressReporter, viewAs } from '@physiotwin/core';
import type { Mat3, OperationOptions, Vec3, Volume, VolumeData } from '@physiotwin/core';
import { parseDicom } from './parse.js';
import type { DicomFile } from './parse.js';
import { bytesOf, decodeConcurrency, decodeFrameInto, decodedPhotometric, invertMonochrome1, maskAndExtend, encapsulatedFrames, frameLength, isSupportedTransferSyntax, readPixelInfo, ybrFullToRgb } from './pixels.js';
import type { FrameDecodeOptions, PixelInfo, StoredArray } from './pixels.js';
import { sourceBytes } from './series.js';
import type { DicomSource, GroupGeometry, SeriesGroup, SharedReader } from './series.js';
import { TS } from './parse.js';

/** What to do when slices are unevenly spaced or missing. */
export type SpacingPolicy = 'error' | 'report' | 'resample';

/** Options of {@link loadVolume}. */
export interface LoadVolumeOptions extends OperationOptions, FrameDecodeOptions {
  /**
   * Uneven spacing or missing slices: `'error'` throws `DICOM_GEOMETRY`; `'report'` stacks the slices as they are
   * (k spacing = median gap, exact positions in the returned geometry and a warning); `'resample'` interpolates
   * linearly onto an even grid with the median gap.
   * @default 'error'
   */
  spacing?: SpacingPolicy;
  /**
   * Resample a gantry-tilted stack onto an orthogonal grid (k axis = slice normal), shifting each slice in plane
   * with bilinear interpolation. Without it, a tilted volume keeps a sheared (non-orthogonal) direction matrix.
   * @default false
   */
  tiltCorrect?: boolean;
  /**
   * MONOCHROME1 data (low values bright): `'keep'` stores it as is (reported in `photometricInterpretation` and a
   * warning), `'invert'` flips the stored values over the BitsStored range so that it reads like MONOCHROME2
   * (a `rescale`, if any, then applies to the inverted values).
   * @default 'keep'
   */
  monochrome1?: 'keep' | 'invert';
  /**
   * Most bytes a gzipped file or a deflated data set may inflate to (see `parseDicom`'s option).
   * @default 1 GiB
   */
  maxInflatedBytes?: number;
  /**
   * Native stacks of at least this many bytes are read by this thread and the sources' `sharedReader` (a worker
   * thread for files in Node) together; smaller ones on this thread alone, where starting the other thread's job
   * costs more than it saves.
   * @default 16 MiB
   */
  sharedReadMinBytes?: number;
}

/** Result of {@link loadVolume}. */
export interface LoadedVolume {
  volume: Volume;
  /** The geometry found in the files (exact slice positions), plus what assembly did in `warnings`. */
  geometry: GroupGeometry;
  /** Colour space of the volume for 3-component data ('RGB'), else the header's (e.g. 'MONOCHROME1'). */
  photometricInterpretation: string;
}

/** Reuses the parsed file for consecutive frames of one source (multi-frame, mosaic). */
class FileCache {
  private index = -1;
  private file: DicomFile | undefined;
  private info: PixelInfo | undefined;
  private frames: Uint8Array[][] | undefined;
  private mosaicFrame: { frame: number; data: StoredArray } | undefined;
  constructor(private readonly sources: DicomSource[], private readonly maxInflatedBytes: number | undefined, private readonly decode: FrameDecodeOptions) {}
  async get(i: number): Promise<{ file: DicomFile; info: PixelInfo; frames: Uint8Array[][] | undefined }> {
    if (i !== this.index || !this.file || !this.info) {
      const s = this.sources[i];
      if (!s) throw new PhysiotwinError('INVALID_ARGUMENT', `source ${i} is not in the scan`);
      const limit = this.maxInflatedBytes;
      this.file = parseDicom(await sourceBytes(s, limit), { source: s.name, ...(limit !== undefined ? { maxInflatedBytes: limit } : {}) });
      this.info = readPixelInfo(this.file);
      const ts = this.file.transferSyntaxUid;
      const native = ts === TS.implicitLE || ts === TS.explicitLE || ts === TS.explicitBE || ts === TS.deflatedLE;
      this.frames = !native && isSupportedTransferSyntax(ts) ? encapsulatedFrames(this.file, this.info.numberOfFrames) : undefined;
      this.index = i;
      this.mosaicFrame = undefined;
    }
    return { file: this.file, info: this.info, frames: this.frames };
  }
  /** A whole decoded frame (for mosaics), kept while its tiles are copied out. */
  async wholeFrame(i: number, frame: number): Promise<StoredArray> {
    const { file, info, frames } = await this.get(i);
    if (this.mosaicFrame?.frame !== frame) {
      const data = allocateVolumeData(info.dtype, frameLength(info)) as StoredArray;
      await decodeFrameInto(file, info, frame, data, 0, frames, this.decode);
      this.mosaicFrame = { frame, data };
    }
    return this.mosaicFrame.data;
  }
}

/**
 * Assembles one group from {@link scanDicom} into a {@link Volume} (LPS, x fastest, k along the sorted slices),
 * decoding each frame straight into the output array. Stored values are kept with `rescale` when all slices
 * share RescaleSlope/Intercept; otherwise the volume is float32 in physical units. RGB and YBR become
 * 3-component RGB. Peak memory: the output plus one file (plus a second output-sized array when resampling).
 * Native little-endian slices are read from the sources straight into the output (`readIntoSync` when the source
 * has it, else `readInto`); stacks of 16 MiB or more (`sharedReadMinBytes`) whose sources share a `sharedReader` (files in Node: a worker
 * thread, about 10 MB more memory while it lives) are read by this thread and the reader's thread together into a
 * SharedArrayBuffer, so that `volume.data.buffer` is then a SharedArrayBuffer (unless resampled or tilt-corrected,
 * which build new arrays).
 * A 4D group (several `volumes`) is loaded one volume at a time: see `volumeGroups`.
 * @throws PhysiotwinError `DICOM_GEOMETRY` for duplicate positions, or uneven spacing under `spacing: 'error'`;
 * `INVALID_ARGUMENT` for a 4D group;
 * decode errors of the files; `ABORTED` when the signal fires.
 * @example
 * ```ts
 * const scan = await scanDicom(sources);
 * const { volume, geometry } = await loadVolume(scan.groups[0], scan.sources, { spacing: 'report' });
 * ```
 */
export async function loadVolume(group: SeriesGroup, sources: DicomSource[], options: LoadVolumeOptions = {}): Promise<LoadedVolume> {
  if (group.volumes.length > 1) {
    throw new PhysiotwinError('INVALID_ARGUMENT', `series ${group.seriesInstanceUid} is a 4D group of ${group.volumes.length} volumes: load each of volumeGroups(group)`);
  }
  const policy = options.spacing ?? 'error';
  const g = group.geometry;
  const warnings = [...g.warnings];
  const loc = { location: { file: sources[group.frames[0]!.sourceIndex]?.name ?? '' } };
  if (g.duplicatePositions) {
    throw new PhysiotwinError('DICOM_GEOMETRY', `series ${group.seriesInstanceUid}: several slices share a position and no header attribute (b-value, gradient, echo, image type, temporal position, trigger time, acquisition number) separates them into volumes`, loc);
  }
  if ((g.irregularSpacing || g.missingSlices) && policy === 'error') {
    const what = g.spacingRegimes
      ? `slice spacing changes along the stack (${g.spacingRegimes.map((r) => `${r.gap} mm for slices ${r.firstSlice + 1}-${r.lastSlice + 1}`).join(', then ')})`
      : `uneven slice spacing (gaps ${g.gaps.join(', ')} mm)`;
    throw new PhysiotwinError('DICOM_GEOMETRY', `series ${group.seriesInstanceUid}: ${what}; choose spacing 'report' or 'resample'`, {
      ...loc,
      details: { gaps: g.gaps, slicePositions: g.slicePositions },
    });
  }
  const pixel = group.pixel;
  const [nx, ny, nz] = g.dims;
  const spp = pixel.samplesPerPixel;
  const sliceLen = nx * ny * spp;
  const slopes = new Set(group.frames.map((f) => f.rescaleSlope));
  const intercepts = new Set(group.frames.map((f) => f.rescaleIntercept));
  const uniformRescale = slopes.size === 1 && intercepts.size === 1;
  const toFloat = !uniformRescale;
  if (toFloat) warnings.push('RescaleSlope/Intercept differ between slices: the volume holds physical values as float32');
  const report = progressReporter(options, 'decode', nz);
  const cache = new FileCache(sources, options.maxInflatedBytes, options);
  // Native little-endian slices go from the files straight into the volume, then get BitsStored applied.
  // Everything else is decoded one slice at a time.
  const direct: number[] = [];
  const decoded: number[] = [];
  for (let k = 0; k < nz; k++) {
    const f = group.frames[k]!;
    (!toFloat && f.directOffset !== undefined && sources[f.sourceIndex]?.readInto ? direct : decoded).push(k);
  }
  const length = nx * ny * nz * spp;
  // direct slices have 8, 16 or 32 bits allocated (never 1): bytes per stored value
  const elemBytes = pixel.bitsAllocated / 8;
  const shared = sharedReaderOf(direct.map((k) => sources[group.frames[k]!.sourceIndex]!), length * elemBytes, options.sharedReadMinBytes ?? SHARED_READ_MIN_BYTES);
  const sharedBuffer = shared?.allocate(length * elemBytes);
  let data: VolumeData = toFloat ? new Float32Array(length) : sharedBuffer ? viewAs(pixel.dtype, sharedBuffer, 0, length) : allocateVolumeData(pixel.dtype, length);
  let scratch: StoredArray | undefined;
  let photometric = pixel.photometricInterpretation;
  let done = 0;
  const job = shared && sharedBuffer
    ? shared.share(sharedBuffer, direct.map((k) => {
      const f = group.frames[k]!;
      return { source: sources[f.sourceIndex]!, position: f.directOffset!, byteOffset: k * sliceLen * elemBytes, length: sliceLen * elemBytes };
    }))
    : undefined;
  // After the other thread's job is posted: a progress callback that takes its time (or blocks) no longer delays it.
  report(0);
  if (job) {
    // Both threads claim slices; this one reads its own synchronously, then waits for the other's. Reads the
    // worker could not do are done again here, so that their error is the one readIntoSync reports.
    const readHere = (i: number) => {
      const f = group.frames[direct[i]!]!;
      sources[f.sourceIndex]!.readIntoSync!(f.directOffset!, bytesOf(data as StoredArray, direct[i]! * sliceLen, sliceLen));
    };
    try {
      for (let i = job.claim(); i < direct.length; i = job.claim()) {
        readHere(i);
        report(++done);
      }
    } catch (e) {
      job.stop();
      await job.settle();
      throw e;
    }
    for (const i of await job.settle()) readHere(i);
    for (const k of direct) maskAndExtend(data as StoredArray, k * sliceLen, sliceLen, pixel);
    done = direct.length;
    report(done);
  } else {
    for (const k of direct) {
      const f = group.frames[k]!;
      const s = sources[f.sourceIndex]!;
      const into = bytesOf(data as StoredArray, k * sliceLen, sliceLen);
      if (s.readIntoSync) s.readIntoSync(f.directOffset!, into);
      else await s.readInto!(f.directOffset!, into);
      maskAndExtend(data as StoredArray, k * sliceLen, sliceLen, pixel);
      report(++done);
    }
  }
  // Frames that go straight into the volume are decoded several at once where codec workers decode them (WASM
  // codecs in Node), across files: this thread parses the next file meanwhile. The others one at a time, in order.
  const pending: Promise<void>[] = [];
  const settle = async (keep: number) => {
    while (pending.length > keep) {
      await pending.shift();
      report(++done);
    }
  };
  for (const k of decoded) {
    const f = group.frames[k]!;
    const { file, info, frames } = await cache.get(f.sourceIndex);
    photometric = decodedPhotometric(info, file.transferSyntaxUid);
    if (!toFloat && !f.tile) {
      const p = decodeFrameInto(file, info, f.frameIndex, data as StoredArray, k * sliceLen, frames, options);
      p.catch(() => undefined); // a failure is thrown by settle, in order; later ones are not reported twice
      pending.push(p);
      // One frame more than there are workers: when a worker finishes, its next frame is already waiting for it
      // (posted in the same turn), not after this thread has parsed the next file. Decoders on this thread: none
      // left pending (a frame's error comes before the next file's).
      const width = decodeConcurrency(file.transferSyntaxUid, options);
      await settle(width > 1 ? width : 0);
      continue;
    }
    await settle(0);
    let src: StoredArray;
    let srcCols = nx;
    let off = 0;
    if (f.tile) {
      src = await cache.wholeFrame(f.sourceIndex, f.frameIndex);
      srcCols = info.columns;
      off = (f.tile.row0 * info.columns + f.tile.col0) * spp;
    } else {
      scratch ??= allocateVolumeData(pixel.dtype, sliceLen) as StoredArray;
      await decodeFrameInto(file, info, f.frameIndex, scratch, 0, frames, options);
      src = scratch;
    }
    const slope = toFloat ? f.rescaleSlope : 1;
    const icpt = toFloat ? f.rescaleIntercept : 0;
    const rowLen = nx * spp;
    for (let j = 0; j < ny; j++) {
      const s = off + j * srcCols * spp;
      const d = k * sliceLen + j * rowLen;
      if (slope === 1 && icpt === 0) (data as StoredArray).set(src.subarray(s, s + rowLen), d);
      else for (let i = 0; i < rowLen; i++) data[d + i] = src[s + i]! * slope + icpt;
    }
    report(++done);
  }
  await settle(0);
  if (spp === 3 && photometric === 'YBR_FULL' && data instanceof Uint8Array) {
    ybrFullToRgb(data);
    photometric = 'RGB';
  } else if (spp === 3 && photometric !== 'RGB') {
    warnings.push(`colour space ${photometric} is kept as decoded (conversion to RGB is implemented for 8-bit YBR_FULL)`);
  }
  if (photometric === 'MONOCHROME1' && options.monochrome1 === 'invert' && !toFloat) {
    invertMonochrome1(data as StoredArray, pixel);
    photometric = 'MONOCHROME2';
    warnings.push('MONOCHROME1 inverted to MONOCHROME2 over the BitsStored range');
  } else if (photometric === 'MONOCHROME1') {
    warnings.push("MONOCHROME1: low values display bright (option monochrome1: 'invert' converts)");
  }

  let spacing: Vec3 = [...g.spacing];
  let direction: Mat3 = [...g.direction];
  let dims: Vec3 = [nx, ny, nz];
  if ((g.irregularSpacing || g.missingSlices) && policy === 'resample') {
    const r = resampleSlices(data, nx * ny * spp, g);
    data = r.data;
    dims = [nx, ny, r.count];
    spacing = [spacing[0], spacing[1], r.step];
    warnings.push(`resampled to ${r.count} evenly spaced slices of ${r.step} mm by linear interpolation between the nearest slices`);
  } else if (g.irregularSpacing || g.missingSlices) {
    warnings.push(`volume k spacing is the median gap (${spacing[2]} mm); the true slice positions are in slicePositions`);
  }
  if (options.tiltCorrect && g.gantryTiltDeg > 0.01) {
    const r = correctTilt(data, [dims[0], dims[1], dims[2]], spp, spacing, g);
    data = r.data;
    spacing = r.spacing;
    direction = r.direction;
    warnings.push(`gantry tilt of ${g.gantryTiltDeg.toFixed(3)} degrees corrected: slices shifted in plane (bilinear) onto an orthogonal grid`);
  }
  const rescale = !toFloat && (group.frames[0]!.rescaleSlope !== 1 || group.frames[0]!.rescaleIntercept !== 0)
    ? { slope: group.frames[0]!.rescaleSlope, intercept: group.frames[0]!.rescaleIntercept }
    : undefined;
  const volume = createVolume({ data, dims, spacing, origin: [...g.origin], direction, components: spp, ...(rescale ? { rescale } : {}) });
  return { volume, geometry: { ...g, warnings }, photometricInterpretation: photometric };
}

/**
 * The volumes of a 4D group made writable as one image: returned as they are when they share dtype and rescale,
 * else all as float32 physical values (stored value x slope + intercept), as dcm2niix does when, e.g., a Philips
 * diffusion series scales its volumes differently. A warning says so.
 * @example
 * ```ts
 * const { volumes } = harmonizeTimePoints(loaded.map((l) => l.volume));
 * ```
 * @throws nothing
 */
export function harmonizeTimePoints(volumes: Volume[]): { volumes: Volume[]; warning?: string } {
  const first = volumes[0];
  if (!first) return { volumes };
  const sameType = volumes.every((v) => v.data.constructor === first.data.constructor);
  const sameScale = volumes.every((v) => v.rescale?.slope === first.rescale?.slope && v.rescale?.intercept === first.rescale?.intercept);
  if (sameType && sameScale) return { volumes };
  const out = volumes.map((v) => {
    const data = new Float32Array(v.data.length);
    const slope = v.rescale?.slope ?? 1;
    const icpt = v.rescale?.intercept ?? 0;
    for (let i = 0; i < data.length; i++) data[i] = v.data[i]! * slope + icpt;
    return createVolume({ data, dims: v.dims, spacing: v.spacing, origin: v.origin, direction: v.direction, components: v.components });
  });
  return { volumes: out, warning: 'the volumes have different data types or rescale slopes/intercepts: the 4D image holds physical values as float32' };
}

/**
 * Default of `sharedReadMinBytes`: native stacks of at least this many bytes are read with the sources' shared
 * reader (another thread) when they all have the same one and can read synchronously too; below it, starting the
 * other thread's job costs more than it saves.
 */
const SHARED_READ_MIN_BYTES = 16 * 2 ** 20;

function sharedReaderOf(list: DicomSource[], bytes: number, minBytes: number): SharedReader | undefined {
  const r = list[0]?.sharedReader;
  if (!r || bytes < minBytes || list.some((s) => s.sharedReader !== r || !s.readIntoSync)) return undefined;
  return r;
}

/** Linear interpolation of an uneven stack onto even positions (step = median gap along the k axis). */
function resampleSlices(data: VolumeData, sliceLen: number, g: GroupGeometry): { data: VolumeData; count: number; step: number } {
  const pos = g.slicePositions;
  const med = [...g.gaps].sort((a, b) => a - b)[g.gaps.length >> 1]!;
  const first = pos[0]!;
  const count = Math.round((pos[pos.length - 1]! - first) / med) + 1;
  const out = new (data.constructor as new (n: number) => VolumeData)(sliceLen * count);
  const isInt = !(data instanceof Float32Array || data instanceof Float64Array);
  let seg = 0;
  for (let k = 0; k < count; k++) {
    const t = first + k * med;
    while (seg < pos.length - 2 && pos[seg + 1]! < t) seg++;
    const a = pos[seg]!;
    const b = pos[seg + 1]!;
    const w = Math.min(1, Math.max(0, (t - a) / (b - a)));
    const s0 = seg * sliceLen;
    const s1 = (seg + 1) * sliceLen;
    const d = k * sliceLen;
    for (let i = 0; i < sliceLen; i++) {
      const v = data[s0 + i]! * (1 - w) + data[s1 + i]! * w;
      out[d + i] = isInt ? Math.round(v) : v;
    }
  }
  const cosT = Math.cos((g.gantryTiltDeg * Math.PI) / 180);
  return { data: out, count, step: med / cosT };
}

/**
 * Moves each slice of a tilted stack onto an orthogonal grid: slice k keeps its distance along the normal,
 * its in-plane offset from the first slice is undone by a bilinear shift. Samples from outside the slice take
 * the smallest value of the volume.
 */
function correctTilt(
  data: VolumeData,
  dims: Vec3,
  spp: number,
  spacing: Vec3,
  g: GroupGeometry,
): { data: VolumeData; spacing: Vec3; direction: Mat3 } {
  const [nx, ny, nz] = dims;
  const d = g.direction;
  const row: Vec3 = [d[0], d[1], d[2]];
  const col: Vec3 = [d[3], d[4], d[5]];
  const kd: Vec3 = [d[6], d[7], d[8]];
  const n = g.sliceNormal;
  const cosT = Math.abs(kd[0] * n[0] + kd[1] * n[1] + kd[2] * n[2]);
  const stepN = spacing[2] * cosT;
  // per slice in-plane offset of slice k = k*step*kd - k*stepN*n
  const out = new (data.constructor as new (n: number) => VolumeData)(data.length);
  const isInt = !(data instanceof Float32Array || data instanceof Float64Array);
  let min = Infinity;
  for (let i = 0; i < data.length; i++) if (data[i]! < min) min = data[i]!;
  const sliceLen = nx * ny * spp;
  for (let k = 0; k < nz; k++) {
    const off: Vec3 = [
      k * (spacing[2] * kd[0] - stepN * n[0]),
      k * (spacing[2] * kd[1] - stepN * n[1]),
      k * (spacing[2] * kd[2] - stepN * n[2]),
    ];
    const u = (off[0] * row[0] + off[1] * row[1] + off[2] * row[2]) / spacing[0];
    const w = (off[0] * col[0] + off[1] * col[1] + off[2] * col[2]) / spacing[1];
    const base = k * sliceLen;
    for (let j = 0; j < ny; j++) {
      const sy = j - w;
      const y0 = Math.floor(sy);
      const fy = sy - y0;
      for (let i = 0; i < nx; i++) {
        const sx = i - u;
        const x0 = Math.floor(sx);
        const fx = sx - x0;
        for (let c = 0; c < spp; c++) {
          const b = base + c;
          const v =
            (pixelOr(data, b, nx, ny, spp, x0, y0, min) * (1 - fx) + pixelOr(data, b, nx, ny, spp, x0 + 1, y0, min) * fx) * (1 - fy) +
            (pixelOr(data, b, nx, ny, spp, x0, y0 + 1, min) * (1 - fx) + pixelOr(data, b, nx, ny, spp, x0 + 1, y0 + 1, min) * fx) * fy;
          out[base + (j * nx + i) * spp + c] = isInt ? Math.round(v) : v;
        }
      }
    }
  }
  return { data: out, spacing: [spacing[0], spacing[1], stepN], direction: [row[0], row[1], row[2], col[0], col[1], col[2], n[0], n[1], n[2]] };
}

/** Sample (x, y) of a slice starting at `base` (component already added), or `fill` outside the slice. */
function pixelOr(data: VolumeData, base: number, nx: number, ny: number, spp: number, x: number, y: number, fill: number): number {
  return x < 0 || y < 0 || x >= nx || y >= ny ? fill : data[base + (y * nx + x) * spp]!;
}
