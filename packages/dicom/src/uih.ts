import { PhysiotwinError } from '@physiotwin/core';
import type { Vec3 } from '@physiotwin/core';
import type { DicomDataset } from './parse.js';
import type { PixelInfo } from './pixels.js';
import { manufacturerOf } from './acquisition.js';

/**
 * The slices of a United Imaging "GRID" file (one volume of a DWI or fMRI series saved as one image, the slices
 * tiled like a Siemens mosaic), or undefined when `ds` is not one. United Imaging's private-tag table (published
 * in dcm2niix's UIH notes) defines them: (0065,1050) MR Number Of Slice In Volume n (DS) > 1; tiles of
 * cols = ceil(sqrt(n)) per row and rows = ceil(n / cols) rows, filled row by row; the MR VFrame Sequence
 * (0065,1051) holds one item per slice with its ImagePositionPatient. Tile positions come from that sequence;
 * without it (or with a different item count), from the file's ImagePositionPatient as the first tile's, stepped
 * along the slice normal (row x column) by SpacingBetweenSlices or SliceThickness, as dcm2niix v1.0.20220720 places
 * them (it also does when the sequence is there). Each GRID file is one volume of its series. Returns the tile size
 * and, per slice, its tile's first pixel in the stored image and its position.
 * @throws PhysiotwinError `DICOM_INVALID` when the image cannot hold the grid's equal tiles.
 */
export function uihGrid(
  ds: DicomDataset,
  pixel: PixelInfo,
  base: { orientation?: readonly number[] | undefined; position?: Vec3 | undefined; sliceThickness?: number | undefined },
): { rows: number; columns: number; tiles: { row0: number; col0: number; position?: Vec3 | undefined }[] } | undefined {
  if (pixel.numberOfFrames !== 1 || manufacturerOf(ds) !== 'UIH') return undefined;
  const n = ds.number('x00651050');
  if (n === undefined || !Number.isSafeInteger(n) || n <= 1) return undefined;
  const perRow = Math.ceil(Math.sqrt(n));
  const gridRows = Math.ceil(n / perRow);
  if (pixel.columns % perRow !== 0 || pixel.rows % gridRows !== 0) {
    throw new PhysiotwinError('DICOM_INVALID', `United Imaging grid of ${pixel.columns}x${pixel.rows} cannot hold ${perRow}x${gridRows} equal tiles of its ${n} slices`, {
      location: { file: ds.source, tag: '(0065,1050)' },
    });
  }
  const rows = pixel.rows / gridRows;
  const cols = pixel.columns / perRow;
  const items = ds.items('x00651051');
  const listed = items.length === n ? items.map((it) => it.numbers('x00200032')) : [];
  const fromSequence = listed.length === n && listed.every((p) => p.length >= 3 && p.slice(0, 3).every(Number.isFinite));
  const o = base.orientation;
  const p = base.position;
  const step = ds.number('x00180088') ?? base.sliceThickness;
  const normal: Vec3 | undefined = o && o.length >= 6 ? [o[1]! * o[5]! - o[2]! * o[4]!, o[2]! * o[3]! - o[0]! * o[5]!, o[0]! * o[4]! - o[1]! * o[3]!] : undefined;
  const tiles: { row0: number; col0: number; position?: Vec3 | undefined }[] = [];
  for (let t = 0; t < n; t++) {
    let position: Vec3 | undefined;
    if (fromSequence) position = [listed[t]![0]!, listed[t]![1]!, listed[t]![2]!];
    else if (p && normal && step !== undefined) position = [p[0] + t * step * normal[0], p[1] + t * step * normal[1], p[2] + t * step * normal[2]];
    tiles.push({ row0: Math.floor(t / perRow) * rows, col0: (t % perRow) * cols, position });
  }
  return { rows, columns: cols, tiles };
}
