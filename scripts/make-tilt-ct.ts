// Writes the gantry-tilted CT fixture series of fixtures/dicom/physiotwin_tilt (see its README):
// `npx tsx scripts/make-tilt-ct.ts [out-dir=fixtures/dicom/physiotwin_tilt/dicom]`.
// 12 axial-ish slices of 48 x 40 int16 pixels, explicit VR little endian, written with @physiotwin/dicom's writeDicom.
// The gantry is tilted by TILT_DEG about the patient's left-right axis, as on a scanner: every slice plane has
// the tilted orientation, and the slice origins move along z only (the table moves, the gantry does not).
// Each pixel holds the analytic phantom `phantom(x, y, z)` (exported for the tests) at the pixel's LPS position,
// rounded to an integer, so that any resampled volume can also be checked against the function itself.
import { mkdirSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { writeDicom } from '../packages/dicom/src/write.js';

export const TILT_DEG = 17;
export const ROWS = 40;
export const COLS = 48;
export const SLICES = 12;
/** PixelSpacing (row spacing, column spacing), mm. */
export const PIXEL_MM = 2;
/** Table increment between slices along z, mm. */
export const TABLE_STEP_MM = 2.5;
/** ImagePositionPatient of the first slice, LPS mm. */
export const ORIGIN: [number, number, number] = [-47, -39, -10];

/** The phantom, stored value (HU + 1024) at LPS (x, y, z) mm: smooth, so that linear interpolation is accurate. */
export function phantom(x: number, y: number, z: number): number {
  return 1024 + 300 * Math.sin(x / 9) * Math.cos(y / 11) + 200 * Math.cos(z / 13) + 2 * (x + y);
}

/** Row cosines, column cosines: the column axis is tilted from +y towards -z by TILT_DEG. */
export function orientation(): [number, number, number, number, number, number] {
  const t = (TILT_DEG * Math.PI) / 180;
  return [1, 0, 0, 0, Math.cos(t), -Math.sin(t)];
}

/** LPS position of pixel (row r, column c) of slice k. */
export function pixelPosition(k: number, r: number, c: number): [number, number, number] {
  const o = orientation();
  return [
    ORIGIN[0] + c * PIXEL_MM * o[0] + r * PIXEL_MM * o[3],
    ORIGIN[1] + c * PIXEL_MM * o[1] + r * PIXEL_MM * o[4],
    ORIGIN[2] + k * TABLE_STEP_MM + c * PIXEL_MM * o[2] + r * PIXEL_MM * o[5],
  ];
}

function sliceFile(k: number): Uint8Array {
  const pixels = new Int16Array(ROWS * COLS);
  for (let r = 0; r < ROWS; r++) {
    for (let c = 0; c < COLS; c++) pixels[r * COLS + c] = Math.round(phantom(...pixelPosition(k, r, c)));
  }
  const uid = '1.2.826.0.1.3680043.10.1099.1017';
  // DS values as written by scanners: at most 16 characters
  const ds = (v: number) => Number(v.toPrecision(10));
  return writeDicom([
    { tag: 0x00080008, vr: 'CS', value: ['ORIGINAL', 'PRIMARY', 'AXIAL'] },
    { tag: 0x00080016, vr: 'UI', value: '1.2.840.10008.5.1.4.1.1.2' },
    { tag: 0x00080018, vr: 'UI', value: `${uid}.1.${k + 1}` },
    { tag: 0x00080060, vr: 'CS', value: 'CT' },
    { tag: 0x00080070, vr: 'LO', value: 'Synthetic (physiotwin writeDicom)' },
    { tag: 0x0008103e, vr: 'LO', value: `gantry tilt ${TILT_DEG} deg` },
    { tag: 0x00100010, vr: 'PN', value: 'Phantom^Tilt' },
    { tag: 0x00100020, vr: 'LO', value: 'TILT17' },
    { tag: 0x00180050, vr: 'DS', value: ds(TABLE_STEP_MM * Math.cos((TILT_DEG * Math.PI) / 180)) },
    { tag: 0x00181120, vr: 'DS', value: TILT_DEG },
    { tag: 0x00185100, vr: 'CS', value: 'HFS' },
    { tag: 0x0020000d, vr: 'UI', value: `${uid}.0` },
    { tag: 0x0020000e, vr: 'UI', value: `${uid}.1` },
    { tag: 0x00200011, vr: 'IS', value: 1 },
    { tag: 0x00200013, vr: 'IS', value: k + 1 },
    { tag: 0x00200032, vr: 'DS', value: pixelPosition(k, 0, 0).map(ds) },
    { tag: 0x00200037, vr: 'DS', value: orientation().map(ds) },
    { tag: 0x00280002, vr: 'US', value: 1 },
    { tag: 0x00280004, vr: 'CS', value: 'MONOCHROME2' },
    { tag: 0x00280010, vr: 'US', value: ROWS },
    { tag: 0x00280011, vr: 'US', value: COLS },
    { tag: 0x00280030, vr: 'DS', value: [PIXEL_MM, PIXEL_MM] },
    { tag: 0x00280100, vr: 'US', value: 16 },
    { tag: 0x00280101, vr: 'US', value: 16 },
    { tag: 0x00280102, vr: 'US', value: 15 },
    { tag: 0x00280103, vr: 'US', value: 1 },
    { tag: 0x00281052, vr: 'DS', value: -1024 },
    { tag: 0x00281053, vr: 'DS', value: 1 },
    { tag: 0x7fe00010, vr: 'OW', value: pixels },
  ]);
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const out = process.argv[2] ?? fileURLToPath(new URL('../fixtures/dicom/physiotwin_tilt/dicom', import.meta.url));
  mkdirSync(out, { recursive: true });
  // replace only the slices this script writes: never delete anything else in a folder the user named
  for (const f of readdirSync(out)) if (/^IM\d{4}\.dcm$/.test(f)) rmSync(join(out, f));
  for (let k = 0; k < SLICES; k++) writeFileSync(join(out, `IM${String(k + 1).padStart(4, '0')}.dcm`), sliceFile(k));
  console.log(`wrote ${SLICES} slices to ${out}`);
}
