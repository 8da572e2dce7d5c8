import { PhysiotwinError, progressReporter, throwIfAborted } from '@physiotwin/core';
import type { Mat3, OperationOptions, Vec3 } from '@physiotwin/core';
import { TS, parseDicom } from './parse.js';
import type { DicomFile } from './parse.js';
import { cross, describeFrames, seriesAttributes } from './frames.js';
import type { FrameDescriptor } from './frames.js';
import { checkPlausibleSize, directPixelOffset, frameLength } from './pixels.js';
import type { PixelInfo } from './pixels.js';
import { diffusionVectorLps, manufacturerOf, readSeriesAcquisition } from './acquisition.js';
import type { FrameAcquisition, SeriesAcquisition } from './acquisition.js';
import { gunzipIfGzip } from './parse.js';

/** One input: a name for messages and either its bytes or a way to read them (re-read at assembly time). */
export interface DicomSource {
  name: string;
  bytes?: Uint8Array | undefined;
  read?: (() => Promise<Uint8Array>) | undefined;
  /**
   * Reads a prefix that usually holds the whole header, and the file's size (a cheap scan). Asked for `maxBytes`, it
   * reads a prefix of up to that many bytes (a header longer than the first prefix); a source may ignore it.
   */
  readHeader?: ((maxBytes?: number) => Promise<{ bytes: Uint8Array; size: number }>) | undefined;
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
  /**
   * Starts the other thread now, because a load that shares reads is likely to follow (its start-up then overlaps
   * the caller's scan instead of the load). Optional; calling it again is free.
   */
  prepare?(): void;
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
  /** A single gap exceeds 1.5 x the median gap (a change of spacing regime is reported in spacingRegimes instead). */
  missingSlices: boolean;
  /** Two or more slices share a position. */
  duplicatePositions: boolean;
  /**
   * The slice step changes from one constant value to another along the stack (e.g. a CT reconstructed at 4 mm,
   * then 7 mm): each run of equal gaps, in stack order. Undefined when the spacing is even or merely irregular.
   */
  spacingRegimes?: { gap: number; firstSlice: number; lastSlice: number }[] | undefined;
  /** Angle between the slice normal and the line through the first and last slice origins, degrees. */
  gantryTiltDeg: number;
  /** False when the files carry no ImagePositionPatient/ImageOrientationPatient (positions are then synthetic). */
  hasPositions: boolean;
  warnings: string[];
}

/** Header attributes that can separate the images of one series (see {@link ScanOptions.splitBy}). */
export type SplitAttribute = 'echo' | 'image-type' | 'diffusion' | 'time' | 'trigger' | 'acquisition';

/** Every {@link SplitAttribute}. */
export const SPLIT_ATTRIBUTES: readonly SplitAttribute[] = ['echo', 'image-type', 'diffusion', 'time', 'trigger', 'acquisition'];

/**
 * What changes along the 4th axis of a group: a split attribute, or `'repetition'` when the images at each position
 * repeat with nothing in the headers to tell them apart (volumes then follow instance number order).
 */
export type FourthAxis = SplitAttribute | 'repetition';

/** What one volume of a group was acquired with (the values its images share). */
export interface VolumeLabel {
  /** b-value, s/mm^2 (GE scaled vectors: the effective b-value, as dcm2niix writes it). */
  bValue?: number | undefined;
  /** Gradient direction in the patient frame (LPS), unit length (GE: as stored); undefined for b = 0 and images without one. */
  gradient?: Vec3 | undefined;
  echoNumber?: number | undefined;
  /** ms */
  echoTime?: number | undefined;
  imageType?: string | undefined;
  temporalPosition?: number | undefined;
  acquisitionNumber?: number | undefined;
  /** ms */
  triggerTime?: number | undefined;
}

/** One 3D volume of a group: its slices (sorted along the normal), their geometry and what it was acquired with. */
export interface SeriesVolume {
  frames: FrameDescriptor[];
  geometry: GroupGeometry;
  label: VolumeLabel;
}

/** Slices that belong in one volume (or one 4D stack of volumes): same series, orientation, size and stack. */
export interface SeriesGroup {
  seriesInstanceUid: string;
  modality: string;
  seriesDescription: string;
  transferSyntaxes: string[];
  pixel: PixelInfo;
  /** Slices of the first volume, sorted along the normal (what {@link loadVolume} assembles). */
  frames: FrameDescriptor[];
  /** Geometry of the first volume (every volume of a 4D group has the same slice positions). */
  geometry: GroupGeometry;
  /**
   * The volumes of the group in acquisition order (a 4D stack when more than one; each volume's slices sorted
   * along the normal). Load them with {@link volumeGroups}.
   */
  volumes: SeriesVolume[];
  /** What varies along the 4th axis ([] for a single volume), e.g. ['diffusion'] or ['time']. */
  fourthAxis: FourthAxis[];
  /** Series-level acquisition facts of the group's first file (for sidecars). */
  acquisition: SeriesAcquisition;
  /**
   * The derived isotropic (trace) volumes of a Philips or GE diffusion series (b > 0, no direction; GE: those its
   * header marks as trace, see {@link readFrameAcquisition}), split from the directional volumes (file name suffix
   * _ADC, as dcm2niix names Philips').
   */
  isotropicDiffusion?: boolean | undefined;
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
  /**
   * Attributes whose values put images into separate groups (separate output files): with the default, echoes
   * and magnitude/phase/real/imaginary images become separate groups, as dcm2niix writes them, while b-value and
   * gradient direction, temporal position, trigger time and acquisition number (when they separate volumes that
   * share slice positions) make a 4D group.
   * @default ['echo', 'image-type']
   */
  splitBy?: readonly SplitAttribute[];
  /**
   * Stack the volumes of a group that share slice positions as one 4D group; false makes every volume its own group.
   * @default true
   */
  fourD?: boolean;
  /**
   * Most bytes a gzipped file or a deflated data set may inflate to (see `parseDicom`'s option).
   * @default 1 GiB
   */
  maxInflatedBytes?: number;
}

/** Reads a source's bytes (a gzipped file decompressed, to at most `maxInflatedBytes`, default 1 GiB). */
export async function sourceBytes(s: DicomSource, maxInflatedBytes?: number): Promise<Uint8Array> {
  if (s.bytes) return gunzipIfGzip(s.bytes, s.name, maxInflatedBytes);
  if (s.read) return gunzipIfGzip(await s.read(), s.name, maxInflatedBytes);
  throw new PhysiotwinError('INVALID_ARGUMENT', `source ${s.name} has neither bytes nor read()`);
}

/**
 * Most bytes of a file that may come before its Pixel Data (a header this long or longer is refused as not DICOM
 * instead of being read whole: files over 2 GiB cannot be, and a file of garbage that parses as endless empty
 * elements took seconds and gigabytes).
 */
const MAX_HEADER_BYTES = 1024 * 1024 * 1024;

/**
 * Parses a source's header: from its prefix when it offers one, from longer prefixes (16x each time, up to
 * {@link MAX_HEADER_BYTES}) when the header runs past it, from the whole file when the source reads no longer
 * prefixes or the file is gzip-compressed (`packed` is then true: file offsets do not address the data set).
 */
async function readHeaderOf(s: DicomSource, setSize: (n: number) => void, maxInflatedBytes: number | undefined): Promise<{ file: DicomFile; packed: boolean }> {
  const limit = maxInflatedBytes !== undefined ? { maxInflatedBytes } : {};
  if (s.readHeader) {
    let { bytes, size } = await s.readHeader();
    for (;;) {
      setSize(size);
      const gz = bytes.length >= 2 && bytes[0] === 0x1f && bytes[1] === 0x8b;
      if (gz) break;
      try {
        const file = parseDicom(bytes, { source: s.name, untilTag: 'x7fe00010', ...limit });
        // Complete only when the Pixel Data header was reached: dicom-parser ends undefined-length sequences at
        // the end of the bytes without an error, so a cut prefix could otherwise pass for a whole header.
        if (bytes.length === size || file.dataset.has('x7fe00010')) return { file, packed: file.transferSyntaxUid === TS.deflatedLE };
      } catch (e) {
        // a header longer than the prefix: read more of it
        if (!(e instanceof PhysiotwinError && e.code === 'DICOM_TRUNCATED' && bytes.length < size)) throw e;
      }
      if (bytes.length >= MAX_HEADER_BYTES) {
        throw new PhysiotwinError('DICOM_INVALID', `no end of the header in the first ${MAX_HEADER_BYTES} bytes of a ${size}-byte file: not a DICOM image`, { location: { file: s.name } });
      }
      const longer = await s.readHeader(Math.min(size, MAX_HEADER_BYTES, Math.max(bytes.length * 16, 256 * 1024)));
      if (longer.bytes.length <= bytes.length) break; // the source reads one prefix only: the whole file below
      ({ bytes, size } = longer);
    }
  }
  const raw = s.bytes ?? (s.read ? await s.read() : undefined);
  if (!raw) throw new PhysiotwinError('INVALID_ARGUMENT', `source ${s.name} has neither bytes nor read()`);
  const bytes = gunzipIfGzip(raw, s.name, maxInflatedBytes);
  setSize(bytes.length);
  const file = parseDicom(bytes, { source: s.name, untilTag: 'x7fe00010', ...limit });
  return { file, packed: bytes !== raw || file.transferSyntaxUid === TS.deflatedLE };
}

const ROUND = 1e-4;
const key4 = (v: number) => (Math.round(v / ROUND) * ROUND).toFixed(4);

/** The value of one split attribute of a frame, as a key ('' when the file does not say). */
function attributeKey(a: FrameAcquisition, attr: SplitAttribute): string {
  switch (attr) {
    case 'echo': return `${a.echoNumber ?? ''}/${a.echoTime ?? ''}`;
    case 'image-type': return a.imageType ?? '';
    case 'diffusion': return a.diffusion ? `${a.diffusion.bValue}|${a.diffusion.vector?.join(',') ?? ''}` : '';
    case 'time': return `${a.temporalPosition ?? ''}`;
    case 'trigger': return `${a.triggerTime ?? ''}`;
    case 'acquisition': return `${a.acquisitionNumber ?? ''}`;
  }
}

/** Attributes that separate volumes sharing slice positions, tried in this order. */
const VOLUME_ATTRIBUTES: readonly SplitAttribute[] = ['diffusion', 'time', 'trigger', 'acquisition', 'echo', 'image-type'];

/**
 * Reads the headers of all inputs and groups their images: by SeriesInstanceUID, ImageOrientationPatient
 * (rounded to 1e-4), rows x columns, pixel format, stack (Enhanced StackID) and the `splitBy` attributes (echo
 * and image type by default). Images of a group that share slice positions are separated into volumes by what
 * the producer says (Enhanced dimension indices, mosaic files) or by the header attributes that vary between
 * them (b-value and gradient, temporal position, trigger time, acquisition number), else by the order in which
 * each position repeats (instance number order, as dcm2niix does). Volumes with the same slice positions form a
 * 4D group (unless `fourD` is false) when a header attribute labels the 4th axis; others become groups of their own. Each volume is sorted along its slice
 * normal and the geometry measured (see {@link GroupGeometry}).
 * @throws PhysiotwinError `ABORTED` when the signal fires; with `strict`, the first input's parse error.
 * @example
 * ```ts
 * const { groups } = await scanDicom(files.map((f) => ({ name: f, bytes: readFileSync(f) })));
 * ```
 */
export async function scanDicom(sources: DicomSource[], options: ScanOptions = {}): Promise<ScanResult> {
  const report = progressReporter(options, 'scan', sources.length);
  const splitBy = options.splitBy ?? ['echo', 'image-type'];
  for (const a of splitBy) {
    if (!SPLIT_ATTRIBUTES.includes(a)) throw new PhysiotwinError('INVALID_ARGUMENT', `unknown split attribute ${JSON.stringify(a)}: expected ${SPLIT_ATTRIBUTES.join(', ')}`);
  }
  const skipped: ScanResult['skipped'] = [];
  type Pending = { attrs: ReturnType<typeof seriesAttributes>; file: DicomFile; frames: FrameDescriptor[]; ts: Set<string> };
  const byKey = new Map<string, Pending>();
  for (let i = 0; i < sources.length; i++) {
    report(i);
    const s = sources[i]!;
    let file: DicomFile;
    let attrs: ReturnType<typeof seriesAttributes>;
    let frames: FrameDescriptor[];
    try {
      let size: number | undefined;
      const header = await readHeaderOf(s, (n) => (size = n), options.maxInflatedBytes);
      file = header.file;
      if (!file.dataset.has('x7fe00010')) {
        throw new PhysiotwinError('DICOM_INVALID', 'no Pixel Data (7FE0,0010): not an image', { location: { file: s.name } });
      }
      attrs = seriesAttributes(file);
      checkPlausibleSize(file, attrs.pixel, header.packed ? undefined : size);
      frames = describeFrames(file, i, attrs.pixel);
      const direct = s.readInto && !header.packed ? directPixelOffset(file, attrs.pixel) : undefined;
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
        ...splitBy.map((a) => attributeKey(f.acquisition, a)),
      ].join('|');
      let g = byKey.get(key);
      if (!g) byKey.set(key, (g = { attrs, file, frames: [], ts: new Set() }));
      g.frames.push(f);
      g.ts.add(attrs.transferSyntaxUid);
    }
  }
  report(sources.length);
  throwIfAborted(options.signal, 'scan');
  const groups: SeriesGroup[] = [];
  for (const g of byKey.values()) {
    const acquisition = readSeriesAcquisition(g.file.dataset);
    // GE images weighted without a direction and not marked trace are b = 0 images in a series with directions
    const directional = g.frames.some((f) => f.acquisition.diffusion?.vector?.some((x) => Math.abs(x) > 1.1920929e-7) === true);
    const make = (vols: FrameDescriptor[][], fourthAxis: FourthAxis[]): SeriesGroup => {
      const geometries = vols.map((frames) => measureGeometry(frames)); // also sorts each volume's slices
      const geometry = geometries[0]!;
      const n = geometry.sliceNormal;
      const d = geometry.direction;
      const volumes = vols.map((frames, i) => ({
        frames,
        geometry: geometries[i]!,
        label: volumeLabel(frames[0]!.acquisition, [d[0], d[1], d[2]], [d[3], d[4], d[5]], n, acquisition.inPlanePhaseEncodingDirection, directional),
      }));
      return {
        seriesInstanceUid: g.attrs.seriesInstanceUid,
        modality: g.attrs.modality,
        seriesDescription: g.attrs.seriesDescription,
        transferSyntaxes: [...g.ts].sort(),
        pixel: { ...g.attrs.pixel, rows: g.frames[0]!.rows, columns: g.frames[0]!.columns },
        frames: vols[0]!,
        geometry,
        volumes,
        fourthAxis,
        acquisition,
      };
    };
    const { volumes, varying } = partitionVolumes(g.frames, splitBy);
    if (volumes.length === 1) {
      groups.push(make(volumes, []));
    } else if (options.fourD !== false && varying.length > 0 && samePositions(volumes)) {
      const four = make(volumes, varying);
      const maker = manufacturerOf(g.file.dataset);
      const iso = maker === 'PHILIPS' || maker === 'GE' ? isotropicVolumes(four) : [];
      if (iso.length > 0 && four.volumes.length - iso.length >= 2) {
        // Philips and GE add derived isotropic (trace) images, b > 0 without a direction, to diffusion series: they
        // leave the 4D stack (whose .bval/.bvec they would spoil) for a group of their own, as dcm2niix does for
        // Philips' (GE's, only when the header marks them as trace: see readFrameAcquisition). Canon, Siemens and
        // United Imaging images of that kind stay in the stack (b kept, vector 0 0 0), as dcm2niix keeps them.
        const keep = four.volumes.filter((v) => !iso.includes(v)).map((v) => v.frames);
        groups.push(make(keep, varying));
        const derived = make(iso.map((v) => v.frames), iso.length > 1 ? varying : []);
        derived.isotropicDiffusion = true;
        groups.push(derived);
      } else {
        groups.push(four);
      }
    } else {
      for (const v of volumes) groups.push(make([v], []));
    }
  }
  return { groups, sources, skipped };
}

/**
 * The volumes of a group as 3D groups, each loadable with {@link loadVolume} (a 3D group gives itself).
 * @example
 * ```ts
 * const loaded = await Promise.all(volumeGroups(group).map((v) => loadVolume(v, scan.sources)));
 * ```
 * @throws nothing
 */
export function volumeGroups(group: SeriesGroup): SeriesGroup[] {
  if (group.volumes.length <= 1) return [group];
  return group.volumes.map((v) => ({
    ...group,
    frames: v.frames,
    geometry: v.geometry,
    volumes: [v],
    fourthAxis: [],
  }));
}

/** The volumes of a diffusion group weighted (b > 0) without a gradient direction: derived isotropic images. */
function isotropicVolumes(g: SeriesGroup): SeriesVolume[] {
  if (!g.fourthAxis.includes('diffusion')) return [];
  return g.volumes.filter((v) => (v.label.bValue ?? 0) > 1.1920929e-7 && v.label.gradient === undefined);
}

/**
 * The label of a volume from the acquisition attributes of its first image (`directional`: its series has images
 * with a gradient direction).
 */
function volumeLabel(a: FrameAcquisition, row: Vec3, col: Vec3, n: Vec3, phaseEncoding: string | undefined, directional: boolean): VolumeLabel {
  const label: VolumeLabel = {
    echoNumber: a.echoNumber,
    echoTime: a.echoTime,
    imageType: a.imageType,
    temporalPosition: a.temporalPosition,
    acquisitionNumber: a.acquisitionNumber,
    triggerTime: a.triggerTime,
  };
  if (a.diffusion) {
    const r = diffusionVectorLps(a.diffusion, row, col, n, phaseEncoding);
    label.bValue = a.diffusion.b0IfDirectional && directional ? 0 : r.bValue;
    label.gradient = r.vector;
  }
  return label;
}

const positionKey = (f: FrameDescriptor) => (f.position ? f.position.map(key4).join(',') : `#${f.sourceIndex}/${f.frameIndex}/${f.tile?.row0 ?? ''}/${f.tile?.col0 ?? ''}`);

function hasDuplicates(frames: FrameDescriptor[]): boolean {
  const seen = new Set<string>();
  for (const f of frames) {
    const k = positionKey(f);
    if (seen.has(k)) return true;
    seen.add(k);
  }
  return false;
}

/** Every volume holds the same set of slice positions. */
function samePositions(volumes: FrameDescriptor[][]): boolean {
  const ref = new Set(volumes[0]!.map(positionKey));
  return volumes.every((v) => v.length === ref.size && v.every((f) => ref.has(positionKey(f))));
}

/** Lexicographic comparison of two number lists (missing entries first). */
function compareLists(a: readonly number[], b: readonly number[]): number {
  for (let i = 0; i < Math.min(a.length, b.length); i++) if (a[i] !== b[i]) return a[i]! - b[i]!;
  return a.length - b.length;
}

/** The acquisition order key of a volume: the producer's order when every image has one, else the smallest instance number. */
function volumeOrderKey(frames: FrameDescriptor[]): number[] {
  let best: number[] | undefined;
  for (const f of frames) {
    const k = f.volumeOrder ?? [f.instanceNumber ?? Number.MAX_SAFE_INTEGER, f.sourceIndex, f.frameIndex];
    if (!best || compareLists(k, best) < 0) best = k;
  }
  return best ?? [];
}

/**
 * Separates the images of a group into volumes (see {@link scanDicom}); returns them in acquisition order with
 * the attributes that vary between them.
 */
function partitionVolumes(
  frames: FrameDescriptor[],
  splitBy: readonly SplitAttribute[],
): { volumes: FrameDescriptor[][]; varying: FourthAxis[] } {
  if (!hasDuplicates(frames)) return { volumes: [frames], varying: [] };
  const uniquePositions = new Set(frames.map(positionKey)).size;
  const byKey = (key: (f: FrameDescriptor) => string): FrameDescriptor[][] => {
    const m = new Map<string, FrameDescriptor[]>();
    for (const f of frames) {
      const k = key(f);
      let list = m.get(k);
      if (!list) m.set(k, (list = []));
      list.push(f);
    }
    return [...m.values()];
  };
  const complete = (vols: FrameDescriptor[][]) => vols.length > 1 && vols.every((v) => v.length === uniquePositions && !hasDuplicates(v));
  const candidates = VOLUME_ATTRIBUTES.filter((a) => !splitBy.includes(a) && new Set(frames.map((f) => attributeKey(f.acquisition, a))).size > 1);
  let volumes: FrameDescriptor[][] | undefined;
  let varying: FourthAxis[] = [];
  if (frames.every((f) => f.volumeKey !== undefined)) {
    const vols = byKey((f) => f.volumeKey!);
    if (vols.every((v) => !hasDuplicates(v))) {
      volumes = vols;
      // Only what the headers say varies labels a 4th axis; volumes that differ in nothing known stay apart.
      varying = candidates.filter((a) => vols.some((v) => attributeKey(v[0]!.acquisition, a) !== attributeKey(vols[0]![0]!.acquisition, a)));
    }
  }
  // The attributes that vary, together, then one at a time.
  const tries: SplitAttribute[][] = candidates.length > 1 ? [candidates, ...candidates.map((a) => [a])] : candidates.map((a) => [a]);
  for (const attrs of volumes ? [] : tries) {
    const vols = byKey((f) => attrs.map((a) => attributeKey(f.acquisition, a)).join('#'));
    if (complete(vols)) {
      volumes = vols;
      varying = attrs;
      break;
    }
  }
  if (!volumes) {
    // Nothing in the headers tells the volumes apart: the n-th image at each position (in instance number order)
    // belongs to volume n.
    const sorted = [...frames].sort((a, b) => compareLists(volumeOrderKey([a]), volumeOrderKey([b])));
    const seen = new Map<string, number>();
    const vols: FrameDescriptor[][] = [];
    for (const f of sorted) {
      const k = positionKey(f);
      const n = seen.get(k) ?? 0;
      seen.set(k, n + 1);
      (vols[n] ??= []).push(f);
    }
    // Uneven repetitions are no set of volumes: the group stays whole, and its duplicate positions are an error.
    if (!complete(vols)) return { volumes: [frames], varying: [] };
    volumes = vols;
    varying = candidates.length > 0 ? candidates : ['repetition'];
  }
  const order = volumes.map((v) => ({ v, k: volumeOrderKey(v) }));
  order.sort((a, b) => compareLists(a.k, b.k));
  return { volumes: order.map((o) => o.v), varying };
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
  const duplicatePositions = gaps.some((g) => Math.abs(g) < 1e-4);
  // Spacing is measured between distinct positions: a group whose slices repeat is never shown with a 0 mm step.
  const distinct = duplicatePositions ? gaps.filter((g) => Math.abs(g) >= 1e-4) : gaps;
  const med = distinct.length ? median(distinct) : 0;
  const irregularSpacing = distinct.some((g) => Math.abs(g - med) > 1e-3 * Math.abs(med));
  const runs = irregularSpacing ? gapRuns(gaps, med) : [];
  // A change of regime: every run of equal gaps is at least 2 gaps long (one long gap alone is a missing slice).
  const regimes = runs.length >= 2 && runs.every((r) => r.lastSlice - r.firstSlice >= 2) ? runs : undefined;
  const missingSlices = !regimes && med > 0 && distinct.some((g) => g > 1.5 * med);
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
      step = irregularSpacing || duplicatePositions ? med / cosT : len / (N - 1);
    }
  }
  if (duplicatePositions) warnings.push(`${gaps.filter((g) => Math.abs(g) < 1e-4).length + 1} or more slices share a position and no header attribute separates them into volumes: this group cannot form one volume`);
  if (regimes) {
    warnings.push(`slice spacing changes along the stack: ${regimes.map((r) => `${r.gap} mm (slices ${r.firstSlice + 1}-${r.lastSlice + 1})`).join(', then ')}`);
  } else if (irregularSpacing) warnings.push(`uneven slice spacing: gaps ${summarizeGaps(gaps)} mm (median ${med} mm)`);
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
    ...(regimes ? { spacingRegimes: regimes } : {}),
    gantryTiltDeg,
    hasPositions,
    warnings,
  };
}

/** Maximal runs of equal gaps (within 1e-3 x median), as slice index ranges. */
function gapRuns(gaps: number[], med: number): { gap: number; firstSlice: number; lastSlice: number }[] {
  const runs: { gap: number; firstSlice: number; lastSlice: number }[] = [];
  for (let k = 0; k < gaps.length; k++) {
    const last = runs[runs.length - 1];
    if (last && Math.abs(gaps[k]! - last.gap) <= 1e-3 * Math.abs(med)) last.lastSlice = k + 1;
    else runs.push({ gap: gaps[k]!, firstSlice: k, lastSlice: k + 1 });
  }
  return runs;
}

function summarizeGaps(gaps: number[]): string {
  const uniq = [...new Set(gaps)];
  return uniq.length <= 6 ? uniq.join(', ') : `${Math.min(...gaps)} .. ${Math.max(...gaps)}`;
}

function unit(v: Vec3): Vec3 {
  const l = norm(v);
  return l > 0 ? [v[0] / l, v[1] / l, v[2] / l] : v;
}
