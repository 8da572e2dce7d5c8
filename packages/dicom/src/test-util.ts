// Helpers for this package's tests only (excluded from the build in tsconfig.json).
import { readFileSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { writeDicom } from './write.js';
import type { DicomElementInit, WriteDicomOptions } from './write.js';

/** Absolute path of fixtures/dicom/<rel>. */
export function fixture(rel: string): string {
  return fileURLToPath(new URL(`../../../fixtures/dicom/${rel}`, import.meta.url));
}

export function readFixture(rel: string): Uint8Array {
  return new Uint8Array(readFileSync(fixture(rel)));
}

export function sha256(a: ArrayBufferView): string {
  return createHash('sha256').update(new Uint8Array(a.buffer, a.byteOffset, a.byteLength)).digest('hex');
}

export function readJson<T = unknown>(rel: string): T {
  return JSON.parse(readFileSync(fixture(rel), 'utf8')) as T;
}

/** Options of {@link syntheticSlice}. */
export interface SliceInit {
  seriesUid: string;
  instance: number;
  rows: number;
  columns: number;
  position: [number, number, number];
  orientation?: number[];
  spacing?: [number, number];
  /** Stored words; with `bitsStored` < 16 the bits above HighBit are whatever the words hold. */
  pixels: Int16Array | Uint16Array;
  /** BitsStored (HighBit = bitsStored - 1, signed). @default 16 */
  bitsStored?: number;
  /** RescaleIntercept and RescaleSlope; `null` leaves both out. @default -1024 and 1 */
  slope?: number | null;
  intercept?: number;
  /** @default 'MONOCHROME2' */
  photometric?: string;
  /** EchoNumbers, when set. */
  echo?: number;
  /** Further elements (ImageType, private tags...). */
  extra?: DicomElementInit[];
  /** @default explicit VR little endian */
  transferSyntaxUid?: WriteDicomOptions['transferSyntaxUid'];
}

/** A CT slice (16-bit signed words, explicit VR LE) written with writeDicom. */
export function syntheticSlice(s: SliceInit): Uint8Array {
  return writeDicom([
    { tag: 0x00080016, vr: 'UI', value: '1.2.840.10008.5.1.4.1.1.2' },
    { tag: 0x00080018, vr: 'UI', value: `${s.seriesUid}.${s.instance}` },
    { tag: 0x00080060, vr: 'CS', value: 'CT' },
    { tag: 0x0008103e, vr: 'LO', value: 'synthetic' },
    { tag: 0x0020000e, vr: 'UI', value: s.seriesUid },
    { tag: 0x00200013, vr: 'IS', value: s.instance },
    { tag: 0x00200032, vr: 'DS', value: s.position },
    { tag: 0x00200037, vr: 'DS', value: s.orientation ?? [1, 0, 0, 0, 1, 0] },
    { tag: 0x00280002, vr: 'US', value: 1 },
    { tag: 0x00280004, vr: 'CS', value: s.photometric ?? 'MONOCHROME2' },
    { tag: 0x00280010, vr: 'US', value: s.rows },
    { tag: 0x00280011, vr: 'US', value: s.columns },
    { tag: 0x00280030, vr: 'DS', value: s.spacing ?? [1, 1] },
    { tag: 0x00280100, vr: 'US', value: 16 },
    { tag: 0x00280101, vr: 'US', value: s.bitsStored ?? 16 },
    { tag: 0x00280102, vr: 'US', value: (s.bitsStored ?? 16) - 1 },
    { tag: 0x00280103, vr: 'US', value: 1 },
    ...(s.slope === null
      ? []
      : [
          { tag: 0x00281052, vr: 'DS', value: s.intercept ?? -1024 },
          { tag: 0x00281053, vr: 'DS', value: s.slope ?? 1 },
        ]),
    ...(s.echo === undefined ? [] : [{ tag: 0x00180086, vr: 'IS', value: s.echo }]),
    ...(s.extra ?? []),
    { tag: 0x7fe00010, vr: 'OW', value: s.pixels },
  ], s.transferSyntaxUid ? { transferSyntaxUid: s.transferSyntaxUid } : {});
}
