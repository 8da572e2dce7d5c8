import { PhysiotwinError, progressReporter, throwIfAborted } from '@physiotwin/core';
import type { Mat3, OperationOptions, Vec3 } from '@physiotwin/core';
import { parseDicom } from './parse.js';
import type { DicomFile } from './parse.js';
import { cross, describeFrames, seriesAttributes } from './frames.js';
import type { FrameDescriptor } from './frames.js';
import { checkPlausibleSize, directPixelOffset, frameLength } from './pixels.js';
import type { PixelInfo } from './pixels.js';

/** One input: a name for messages and either its bytes or a way to read them (re-read at assembly time). */
export interface DicomSource {
  name: string;
  bytes?: Uint8Array | undefined;
  read?: (() => Promise<Uint8Array>) | undefined;
  /** Reads a prefix that usually holds the whole header, and the file's size (a cheap scan). */
  readHeader?: (() => Promise<{ bytes: Uint8Array; size: number }>) | undefined;
  /** Reads `into.length` bytes at `position` straight into `into` (pixel data into the volume). */
  readInto?: ((position: number, into: Uint8Array) => Promise<void>) | undefined;
  /** The same read done synchronously on the calling thread (files in Node); `loadVolume` prefers it. */
  readIntoSync?: ((position: number, into: Uint8Array) => void) | undefined;
  /** Reads this source's pixel data on another thread, beside the calling thread (files in Node: a worker). */
  sharedReader?: SharedReader | undefined;
}

/** One byte range of a source, to read into a shared buffer at `byteOffset`. */
export interface SharedRead {
  source: DicomSource;
  position: number;
  byteOffset: number;
  length: number;
}

/**
 * Reads byte ranges on another thread straight into memory the calling thread shares, while the calling thread
 * reads too. `loadVolume` uses it for large native stacks when every slice's source has the same reader.
 */
export interface SharedReader {
  /** Zeroed memory of `byteLength` bytes that the reader's thread can write (a SharedArrayBuffer), or undefined. */
  allocate(byteLength: number): SharedArrayBuffer | undefined;
  /**
   * Starts reading `reads` into `buffer` on the other thread. Both sides take reads through `claim()` (an index,
   * `reads.length` or more when none is left); `settle()` resolves, once every read is claimed (the other thread
   * takes those the caller leaves) and finished, with the indices of those the other thread could not read (the
   * caller reads them again to report the error); `stop()` makes every later claim return `reads.length`.
   * Returns undefined when it cannot take these reads.
   */
  share(buffer: SharedArrayBuffer, reads: SharedRead[]): SharedReadJob | undefined;
}

/** A running {@link SharedReader.share}. */
export interface SharedReadJob {
  claim(): number;
  stop(): void;
  settle(): Promise<number[]>;
}

/** Geometry of a group of slices, as found in the files (nothing averaged). */
export interface GroupGeometry {
  /** [columns, rows, slices]. */
  dims: Vec3;
  /** [column spacing, row spacing, slice step along the k axis] in mm; the slice step is the median gap when uneven. */
  spacing: Vec3;
  /** LPS position (mm) of the first pixel of the first slice. */
  origin: Vec3;
  /** Columns: row direction, column direction, k axis (from the first to the last slice origin, or the normal). */
  direction: Mat3;
  /** Unit normal of the slices (row x column cosines), LPS. */
  sliceNormal: Vec3;
  sliceCount: number;
  /** Sorted slice positions along the normal (ImagePositionPatient . normal), mm. */
  slicePositions: number[];
  /** Sorted ImagePositionPatient of each slice, LPS mm. */
  imagePositions: Vec3[];
  /** Differences of consecutive slicePositions, mm. */
  gaps: number[];
  /** Some gap differs from the median gap by more than 1e-3 x median. */
  irregularSpacing: boolean;
  /** Some gap exceeds 1.5 x the median gap. */
  missingSlices: boolean;
  /** Two or more slices share a position. */
  duplicatePositions: boolean;
  /** Angle between the slice normal and the line through the first and last slice origins, degrees. */
  gantryTiltDeg: number;
  /** False when the files carry no ImagePositionPatient/ImageOrientationPatient (positions are then synthetic). */
  hasPositions: boolean;
  warnings: string[];
}

/** Slices that belong in one volume: same series, orientation, size and stack. */
export interface SeriesGroup {
  seriesInstanceUid: string;
  modality: string;
  seriesDescription: string;
  transferSyntaxes: string[];
  pixel: PixelInfo;
  /** Slices sorted along the normal. */
  frames: FrameDescriptor[];
  geometry: GroupGeometry;
}

/** Result of {@link scanDicom}. */
export interface ScanResult {
  groups: SeriesGroup[];
  sources: DicomSource[];
  /** Inputs that are not usable DICOM images (e.g. a README in a folder, a DICOMDIR, an RT plan), with why. */
  skipped: { name: string; code: string; message: string }[];
}

/** Options of {@link scanDicom}. */
export interface ScanOptions extends OperationOptions {
  /**
   * Throw on the first unreadable input instead of listing it in `skipped`.
   * @default false
   */
  strict?: boolean;
}

/** Reads a source's bytes. */
export async function sourceBytes(s: DicomSource): Promise<Uint8Array> {
  if (s.bytes) return s.bytes;
  if (s.read) return s.read();
  throw new PhysiotwinError('INVALID_ARGUMENT', `source ${s.name} has neither bytes nor read()`);
}

/** Parses a source's header: from its prefix when it offers one, from the whole file when the prefix is cut short. */
async function readHeaderOf(s: DicomSource, setSize: (n: number) => void): Promise<DicomFile> {
  if (s.readHeader) {
    const { bytes, size } = await s.readHeader();
    setSize(size);
    try {
      const file = parseDicom(bytes, { source: s.name, untilTag: 'x7fe00010' });
      // Complete only when the Pixel Data header was reached: dicom-parser ends undefined-length sequences at
      // the end of the bytes without an error, so a cut prefix could otherwise pass for a whole header.
      if (bytes.length === size || file.dataset.has('x7fe00010')) return file;
    } catch (e) {
      // a header longer than the prefix: read it all
      if (!(e instanceof PhysiotwinError && e.code === 'DICOM_TRUNCATED' && bytes.length < size)) throw e;
    }
  }
  const bytes = await sourceBytes(s);
  setSize(bytes.length);
  return parseDicom(bytes, { source: s.name, untilTag: 'x7fe00010' });
}

const ROUND = 1e-4;
const key4 = (v: number) => (Math.round(v / ROUND) * ROUND).toFixed(4);

/**
 * Reads the headers of all inputs and groups their images: by SeriesInstanceUID, ImageOrientationPatient
 * (rounded to 1e-4), rows x columns, pixel format and stack (Enhanced stacks, mosaic files). Each group is
 * sorted along its slice normal and its geometry measured (see {@link GroupGeometry}). Images with different
 * orientations under one series UID become separate groups.
 * @throws PhysiotwinError `ABORTED` when the signal fires; with `strict`, the first input's parse error.
 * @example
 * ```ts
 * const { groups } = await scanDicom(files.map((f) => ({ name: f, bytes: readFileSync(f) })));
 * ```
 */
export async function scanDicom(sources: DicomSource[], options: ScanOptions = {}): Promise<ScanResult> {
  const report = progressReporter(options, 'scan', sources.length);
  const skipped: ScanResult['skipped'] = [];
  const byKey = new Map<string, { attrs: ReturnType<typeof seriesAttributes>; frames: FrameDescriptor[]; ts: Set<string> }>();
  for (let i = 0; i < sources.length; i++) {
    report(i);
    const s = sources[i]!;
    let file: DicomFile;
    let attrs: ReturnType<typeof seriesAttributes>;
    let frames: FrameDescriptor[];
    try {
      let size: number | undefined;
      file = await readHeaderOf(s, (n) => (size = n));
      if (!file.dataset.has('x7fe00010')) {
        throw new PhysiotwinError('DICOM_INVALID', 'no Pixel Data (7FE0,0010): not an image', { location: { file: s.name } });
      }
      attrs = seriesAttributes(file);
      checkPlausibleSize(file, attrs.pixel, size);
      frames = describeFrames(file, i, attrs.pixel);
      const direct = s.readInto ? directPixelOffset(file, attrs.pixel) : undefined;
      if (direct !== undefined) {
        const frameBytes = frameLength(attrs.pixel) * (attrs.pixel.bitsAllocated / 8);
        for (const f of frames) if (!f.tile) f.directOffset = direct + f.frameIndex * frameBytes;
      }
    } catch (e) {
      if (options.strict || !(e instanceof PhysiotwinError)) throw e;
      skipped.push({ name: s.name, code: e.code, message: e.message });
      continue;
    }
    for (const f of frames) {
      const o = f.orientation;
      const p = attrs.pixel;
      const key = [
        attrs.seriesInstanceUid,
        o ? o.map(key4).join(',') : 'no-orientation',
        `${f.rows}x${f.columns}`,
        `${p.samplesPerPixel}/${p.bitsAllocated}/${p.pixelRepresentation}`,
        f.stackKey,
      ].join('|');
      let g = byKey.get(key);
      if (!g) byKey.set(key, (g = { attrs, frames: [], ts: new Set() }));
      g.frames.push(f);
      g.ts.add(attrs.transferSyntaxUid);
    }
  }
  report(sources.length);
  throwIfAborted(options.signal, 'scan');
  const groups: SeriesGroup[] = [];
  for (const g of byKey.values()) {
    const geometry = measureGeometry(g.frames);
    groups.push({
      seriesInstanceUid: g.attrs.seriesInstanceUid,
      modality: g.attrs.modality,
      seriesDescription: g.attrs.seriesDescription,
      transferSyntaxes: [...g.ts].sort(),
      pixel: { ...g.attrs.pixel, rows: g.frames[0]!.rows, columns: g.frames[0]!.columns },
      frames: g.frames,
      geometry,
    });
  }
  return { groups, sources, skipped };
}

const dot = (a: Vec3, b: Vec3) => a[0] * b[0] + a[1] * b[1] + a[2] * b[2];
const norm = (a: Vec3) => Math.hypot(a[0], a[1], a[2]);
const sub = (a: Vec3, b: Vec3): Vec3 => [a[0] - b[0], a[1] - b[1], a[2] - b[2]];
const round6 = (v: number) => Math.round(v * 1e6) / 1e6;

function median(values: number[]): number {
  const s = [...values].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

/**
 * Sorts `frames` in place along the slice normal and measures the group's geometry (gaps, tilt, irregularity).
 * Definitions match fixtures/dicom's series_geometry.json: irregular when |gap - median| > 1e-3 x median,
 * missing slices when a gap > 1.5 x median, tilt = angle between the normal and (last - first) origin.
 */
export function measureGeometry(frames: FrameDescriptor[]): GroupGeometry {
  const first = frames[0]!;
  const warnings: string[] = [];
  const o = first.orientation;
  const hasPositions = frames.every((f) => f.position !== undefined) && o !== undefined;
  const row: Vec3 = o ? unit([o[0], o[1], o[2]]) : [1, 0, 0];
  const col: Vec3 = o ? unit([o[3], o[4], o[5]]) : [0, 1, 0];
  const n = unit(cross(row, col));
  if (o && Math.abs(dot(row, col)) > 1e-3) warnings.push(`ImageOrientationPatient row and column cosines are not orthogonal (dot ${dot(row, col).toFixed(4)})`);
  const ps = first.pixelSpacing;
  if (!ps) warnings.push('no PixelSpacing: in-plane spacing set to 1 mm');
  if (hasPositions) {
    frames.sort((a, b) => dot(a.position!, n) - dot(b.position!, n) || a.frameIndex - b.frameIndex);
  } else {
    frames.sort((a, b) => (a.instanceNumber ?? 0) - (b.instanceNumber ?? 0) || a.sourceIndex - b.sourceIndex || a.frameIndex - b.frameIndex);
    warnings.push('no ImagePositionPatient/ImageOrientationPatient: slices ordered by InstanceNumber and frame, positions synthetic');
  }
  const N = frames.length;
  const thickness = first.sliceThickness;
  const fallbackStep = thickness !== undefined && thickness > 0 ? thickness : 1;
  const imagePositions: Vec3[] = frames.map((f, k) => f.position ?? [n[0] * k * fallbackStep, n[1] * k * fallbackStep, n[2] * k * fallbackStep]);
  const slicePositions = imagePositions.map((p) => round6(dot(p, n)));
  const gaps: number[] = [];
  for (let k = 1; k < N; k++) gaps.push(round6(slicePositions[k]! - slicePositions[k - 1]!));
  const med = gaps.length ? median(gaps) : 0;
  const duplicatePositions = gaps.some((g) => Math.abs(g) < 1e-4);
  const irregularSpacing = gaps.some((g) => Math.abs(g - med) > 1e-3 * Math.abs(med));
  const missingSlices = med > 0 && gaps.some((g) => g > 1.5 * med);
  let gantryTiltDeg = 0;
  let kDir: Vec3 = n;
  let step = fallbackStep;
  if (N >= 2) {
    const v = sub(imagePositions[N - 1]!, imagePositions[0]!);
    const len = norm(v);
    if (len > 1e-6) {
      kDir = [v[0] / len, v[1] / len, v[2] / len];
      gantryTiltDeg = round6((Math.acos(Math.min(1, Math.abs(dot(kDir, n)))) * 180) / Math.PI);
      // Slice step along the k axis: exact for even spacing; the median gap (scaled for tilt) otherwise.
      const cosT = Math.abs(dot(kDir, n));
      step = irregularSpacing ? med / cosT : len / (N - 1);
    }
  }
  if (duplicatePositions) warnings.push(`${gaps.filter((g) => Math.abs(g) < 1e-4).length + 1} or more slices share a position: this group cannot form one volume`);
  if (irregularSpacing) warnings.push(`uneven slice spacing: gaps ${summarizeGaps(gaps)} mm (median ${med} mm)`);
  if (missingSlices) warnings.push(`missing slices suspected: largest gap ${Math.max(...gaps)} mm is more than 1.5 x the median ${med} mm`);
  if (gantryTiltDeg > 0.01) warnings.push(`gantry tilt ${gantryTiltDeg.toFixed(3)} degrees: the k axis is not perpendicular to the slices (use tilt correction for an orthogonal grid)`);
  const spacing: Vec3 = [ps ? ps[1] : 1, ps ? ps[0] : 1, step > 0 ? step : fallbackStep];
  return {
    dims: [first.columns, first.rows, N],
    spacing,
    origin: imagePositions[0]!,
    direction: [row[0], row[1], row[2], col[0], col[1], col[2], kDir[0], kDir[1], kDir[2]],
    sliceNormal: n,
    sliceCount: N,
    slicePositions,
    imagePositions,
    gaps,
    irregularSpacing,
    missingSlices,
    duplicatePositions,
    gantryTiltDeg,
    hasPositions,
    warnings,
  };
}

function summarizeGaps(gaps: number[]): string {
  const uniq = [...new Set(gaps)];
  return uniq.length <= 6 ? uniq.join(', ') : `${Math.min(...gaps)} .. ${Math.max(...gaps)}`;
}

function unit(v: Vec3): Vec3 {
  const l = norm(v);
  return l > 0 ? [v[0] / l, v[1] / l, v[2] / l] : v;
}
