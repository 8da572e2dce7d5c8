import { describe, expect, it } from 'vitest';
import { writeDicom } from './dicom-writer.js';
import type { DicomElementInit } from './dicom-writer.js';
import { parseDicom } from './parse.js';
import { readPixelInfo } from './pixels.js';
import { uihGrid } from './uih.js';

/** A 16-bit image of `columns` x `rows` from `maker`, with `extra` elements (sorted by tag here). */
function file(maker: string, columns: number, rows: number, extra: DicomElementInit[]) {
  const elements: DicomElementInit[] = [
    { tag: 0x00080016, vr: 'UI', value: '1.2.840.10008.5.1.4.1.1.4' },
    { tag: 0x00080018, vr: 'UI', value: '1.2.826.0.1.3680043.10.1099.93.1' },
    { tag: 0x00080070, vr: 'LO', value: maker },
    { tag: 0x00180050, vr: 'DS', value: 3 },
    { tag: 0x00200032, vr: 'DS', value: [-10, -20, 5] },
    { tag: 0x00200037, vr: 'DS', value: [0, 1, 0, 0, 0, -1] },
    { tag: 0x00280002, vr: 'US', value: 1 },
    { tag: 0x00280004, vr: 'CS', value: 'MONOCHROME2' },
    { tag: 0x00280010, vr: 'US', value: rows },
    { tag: 0x00280011, vr: 'US', value: columns },
    { tag: 0x00280100, vr: 'US', value: 16 },
    { tag: 0x00280101, vr: 'US', value: 16 },
    { tag: 0x00280102, vr: 'US', value: 15 },
    { tag: 0x00280103, vr: 'US', value: 0 },
    ...extra,
    { tag: 0x7fe00010, vr: 'OW', value: new Uint16Array(columns * rows) },
  ].sort((a, b) => a.tag - b.tag);
  const f = parseDicom(writeDicom(elements));
  return { ds: f.dataset, pixel: readPixelInfo(f) };
}

const base = (ds: ReturnType<typeof file>['ds']) => ({
  orientation: ds.numbers('x00200037'),
  position: ds.numbers('x00200032') as [number, number, number],
  sliceThickness: ds.number('x00180050'),
});

describe('United Imaging GRID files', () => {
  it('are tiled ceil(sqrt(n)) per row and ceil(n / that) rows; without the VFrame Sequence the slices step from the file position along row x column', () => {
    // 5 slices: 3 per row, 2 rows, tiles of 4 x 4 pixels in a 12 x 8 image; no SpacingBetweenSlices: SliceThickness 3
    const { ds, pixel } = file('UIH', 12, 8, [{ tag: 0x00651050, vr: 'DS', value: 5 }]);
    const g = uihGrid(ds, pixel, base(ds))!;
    expect([g.columns, g.rows]).toEqual([4, 4]);
    expect(g.tiles.map((t) => [t.row0, t.col0])).toEqual([[0, 0], [0, 4], [0, 8], [4, 0], [4, 4]]);
    // row (0,1,0) x column (0,0,-1) = (-1,0,0): slice t at x = -10 - 3 t
    expect(g.tiles.map((t) => t.position)).toEqual([0, 1, 2, 3, 4].map((t) => [-10 - 3 * t, -20, 5]));
  });

  it('take each slice position from the VFrame Sequence (0065,1051) when it lists every slice', () => {
    const at = (t: number): [number, number, number] => [-10 - 2.5 * t, -20, 5];
    const { ds, pixel } = file('UIH', 8, 8, [
      { tag: 0x00651050, vr: 'DS', value: 4 },
      { tag: 0x00651051, vr: 'SQ', items: [0, 1, 2, 3].map((t) => [{ tag: 0x00200032, vr: 'DS', value: at(t) }]) },
    ]);
    expect(uihGrid(ds, pixel, base(ds))!.tiles.map((t) => t.position)).toEqual([0, 1, 2, 3].map(at));
  });

  it('are told by the maker and (0065,1050) > 1; an image that cannot hold the tiles is DICOM_INVALID', () => {
    const other = file('SIEMENS', 12, 8, [{ tag: 0x00651050, vr: 'DS', value: 5 }]);
    expect(uihGrid(other.ds, other.pixel, base(other.ds))).toBeUndefined();
    const one = file('UIH', 12, 8, [{ tag: 0x00651050, vr: 'DS', value: 1 }]);
    expect(uihGrid(one.ds, one.pixel, base(one.ds))).toBeUndefined();
    const bad = file('UIH', 10, 8, [{ tag: 0x00651050, vr: 'DS', value: 5 }]);
    expect(() => uihGrid(bad.ds, bad.pixel, base(bad.ds))).toThrow(expect.objectContaining({ code: 'DICOM_INVALID' }));
  });
});
