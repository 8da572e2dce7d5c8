import { PhysiotwinError, dtypeOf, validateVolume } from '@physiotwin/core';
import type { Rescale, Volume } from '@physiotwin/core';
import type { DicomElementInit } from './dicom-writer.js';
import { writeDicom } from './dicom-writer.js';

/** SOP classes {@link writeVolumeSeries} writes. */
export const IMAGE_STORAGE = { CT: '1.2.840.10008.5.1.4.1.1.2', MR: '1.2.840.10008.5.1.4.1.1.4' } as const;

/** Options of {@link writeVolumeSeries}. */
export interface WriteVolumeSeriesOptions {
  /** CT Image Storage or MR Image Storage. */
  modality: 'CT' | 'MR';
  /** @default a new `2.25.` UID (random) */
  studyInstanceUid?: string;
  /** @default a new `2.25.` UID (random) */
  seriesInstanceUid?: string;
  /** Keep the source's frame of reference to overlay the result on it. @default a new `2.25.` UID (random) */
  frameOfReferenceUid?: string;
  /** SeriesDescription (0008,103E). @default 'physiotwin' */
  seriesDescription?: string;
  /** SeriesNumber (0020,0011). @default 1 */
  seriesNumber?: number;
  /** PatientName and PatientID (Type 2: empty by default). */
  patientName?: string;
  patientId?: string;
}

/** Result of {@link writeVolumeSeries}. */
export interface WrittenSeries {
  /** One Part 10 file per slice k, in k order. */
  files: Uint8Array[];
  /** SOP Instance UID of each file. */
  sopInstanceUids: string[];
  seriesInstanceUid: string;
  frameOfReferenceUid: string;
  /** Stored-to-physical mapping written as RescaleSlope/RescaleIntercept. */
  rescale: Rescale;
  /**
   * Largest |physical value written - physical value given| over all voxels: 0 for integer data;
   * for float data quantised to 16 bits, at most half a quantisation step (slope / 2).
   */
  maxError: number;
}

/**
 * A fresh `2.25.` UID from 128 random bits (PS3.5 B.2), from WebCrypto (Node 20+ and browsers).
 * @throws nothing.
 */
export function randomUid(): string {
  const b = crypto.getRandomValues(new Uint8Array(16));
  let n = 0n;
  for (const x of b) n = (n << 8n) | BigInt(x);
  return `2.25.${n}`;
}

/** Stored 16-bit words and the rescale that maps them to the volume's physical values. */
function storedWords(volume: Volume): { words: Int16Array | Uint16Array; signed: boolean; rescale: Rescale; maxError: number } {
  const dtype = dtypeOf(volume.data);
  const base = volume.rescale ?? { slope: 1, intercept: 0 };
  const n = volume.data.length;
  let min = Infinity;
  let max = -Infinity;
  let integral = true;
  for (let i = 0; i < n; i++) {
    const v = volume.data[i]!;
    if (!Number.isFinite(v)) throw new PhysiotwinError('INVALID_ARGUMENT', `voxel ${i} is ${v}: DICOM stores finite values only`);
    if (v < min) min = v;
    if (v > max) max = v;
    if (integral && !Number.isInteger(v)) integral = false;
  }
  if (n === 0) min = max = 0;
  if (integral && min >= -32768 && max <= 32767) return { words: Int16Array.from(volume.data as ArrayLike<number>), signed: true, rescale: base, maxError: 0 };
  if (integral && min >= 0 && max <= 65535) return { words: Uint16Array.from(volume.data as ArrayLike<number>), signed: false, rescale: base, maxError: 0 };
  if (dtype !== 'float32' && dtype !== 'float64') {
    throw new PhysiotwinError('INVALID_ARGUMENT', `${dtype} values span [${min}, ${max}]: more than 16 bits, which CT and MR images store; rescale the volume first`);
  }
  // Float data: quantise [min, max] onto 0..65535; stored q gives physical (q * step + min) * slope + intercept.
  const step = max > min ? (max - min) / 65535 : 1;
  const words = new Uint16Array(n);
  let maxError = 0;
  for (let i = 0; i < n; i++) {
    const v = volume.data[i]!;
    const q = Math.round((v - min) / step);
    words[i] = q;
    maxError = Math.max(maxError, Math.abs((q * step + min - v) * base.slope));
  }
  return { words, signed: false, rescale: { slope: step * base.slope, intercept: min * base.slope + base.intercept }, maxError };
}

/**
 * Writes a scalar volume as a new DICOM series, one CT Image Storage or MR Image Storage file per slice k, explicit
 * VR little endian, 16-bit words: ImagePositionPatient of slice k = origin + k * spacing[2] * (k axis),
 * ImageOrientationPatient = the i and j axes, PixelSpacing = [spacing j (row spacing), spacing i (column
 * spacing)], SliceThickness = spacing[2] (mm). Integer data within 16 bits is stored as it is (the volume's
 * rescale, if any, written as RescaleSlope/Intercept); float data is quantised to 16 bits with a rescale that maps
 * its range (see `maxError`). A gantry-tilted (sheared) volume keeps its positions, so readers see the tilt.
 * @throws PhysiotwinError `INVALID_ARGUMENT` for a multi-component volume, non-finite values, or integer data wider
 * than 16 bits; `GEOMETRY_INVALID` from validateVolume.
 * @example
 * ```ts
 * const { files } = writeVolumeSeries(segmentation, { modality: 'CT', frameOfReferenceUid: sourceFrameUid });
 * ```
 */
export function writeVolumeSeries(volume: Volume, options: WriteVolumeSeriesOptions): WrittenSeries {
  validateVolume(volume);
  if (volume.components !== 1) throw new PhysiotwinError('INVALID_ARGUMENT', `CT and MR images are scalar: the volume has ${volume.components} components`);
  const [nx, ny, nz] = volume.dims;
  if (nx > 65535 || ny > 65535) throw new PhysiotwinError('INVALID_ARGUMENT', `a slice of ${nx} x ${ny} does not fit Rows/Columns (US)`);
  const { words, signed, rescale, maxError } = storedWords(volume);
  const study = options.studyInstanceUid ?? randomUid();
  const series = options.seriesInstanceUid ?? randomUid();
  const frame = options.frameOfReferenceUid ?? randomUid();
  const d = volume.direction;
  const [sx, sy, sz] = volume.spacing;
  const o = volume.origin;
  const files: Uint8Array[] = [];
  const uids: string[] = [];
  const sliceWords = nx * ny;
  for (let k = 0; k < nz; k++) {
    const uid = randomUid();
    const position = [0, 1, 2].map((r) => o[r]! + k * sz * d[6 + r]!);
    const slice = words.subarray(k * sliceWords, (k + 1) * sliceWords);
    const elements: DicomElementInit[] = [
      { tag: 0x00080008, vr: 'CS', value: ['DERIVED', 'SECONDARY'] },
      { tag: 0x00080016, vr: 'UI', value: IMAGE_STORAGE[options.modality] },
      { tag: 0x00080018, vr: 'UI', value: uid },
      { tag: 0x00080020, vr: 'DA', value: '' },
      { tag: 0x00080030, vr: 'TM', value: '' },
      { tag: 0x00080050, vr: 'SH', value: '' },
      { tag: 0x00080060, vr: 'CS', value: options.modality },
      { tag: 0x00080070, vr: 'LO', value: '' },
      { tag: 0x00080090, vr: 'PN', value: '' },
      { tag: 0x0008103e, vr: 'LO', value: options.seriesDescription ?? 'physiotwin' },
      { tag: 0x00100010, vr: 'PN', value: options.patientName ?? '' },
      { tag: 0x00100020, vr: 'LO', value: options.patientId ?? '' },
      { tag: 0x00100030, vr: 'DA', value: '' },
      { tag: 0x00100040, vr: 'CS', value: '' },
      { tag: 0x00180050, vr: 'DS', value: sz },
      { tag: 0x0020000d, vr: 'UI', value: study },
      { tag: 0x0020000e, vr: 'UI', value: series },
      { tag: 0x00200010, vr: 'SH', value: '' },
      { tag: 0x00200011, vr: 'IS', value: options.seriesNumber ?? 1 },
      { tag: 0x00200012, vr: 'IS', value: 1 },
      { tag: 0x00200013, vr: 'IS', value: k + 1 },
      { tag: 0x00200020, vr: 'CS', value: '' },
      { tag: 0x00200032, vr: 'DS', value: position },
      { tag: 0x00200037, vr: 'DS', value: [d[0], d[1], d[2], d[3], d[4], d[5]] },
      { tag: 0x00200052, vr: 'UI', value: frame },
      { tag: 0x00201040, vr: 'LO', value: '' },
      { tag: 0x00280002, vr: 'US', value: 1 },
      { tag: 0x00280004, vr: 'CS', value: 'MONOCHROME2' },
      { tag: 0x00280010, vr: 'US', value: ny },
      { tag: 0x00280011, vr: 'US', value: nx },
      { tag: 0x00280030, vr: 'DS', value: [sy, sx] },
      { tag: 0x00280100, vr: 'US', value: 16 },
      { tag: 0x00280101, vr: 'US', value: 16 },
      { tag: 0x00280102, vr: 'US', value: 15 },
      { tag: 0x00280103, vr: 'US', value: signed ? 1 : 0 },
      { tag: 0x00281052, vr: 'DS', value: rescale.intercept },
      { tag: 0x00281053, vr: 'DS', value: rescale.slope },
      { tag: 0x7fe00010, vr: 'OW', value: slice },
    ];
    if (options.modality === 'CT') {
      elements.push({ tag: 0x00180060, vr: 'DS', value: '' }); // KVP, Type 2
    } else {
      // MR Image module Type 1/2 attributes: RM = research mode (a derived image has no sequence of its own).
      elements.push(
        { tag: 0x00180020, vr: 'CS', value: 'RM' },
        { tag: 0x00180021, vr: 'CS', value: 'NONE' },
        { tag: 0x00180022, vr: 'CS', value: '' },
        { tag: 0x00180023, vr: 'CS', value: '' },
        { tag: 0x00180081, vr: 'DS', value: '' },
        { tag: 0x00180091, vr: 'IS', value: '' },
      );
    }
    files.push(writeDicom(elements));
    uids.push(uid);
  }
  return { files, sopInstanceUids: uids, seriesInstanceUid: series, frameOfReferenceUid: frame, rescale, maxError };
}
