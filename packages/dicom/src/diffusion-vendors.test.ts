import { describe, expect, it } from 'vitest';
import { writeDicom } from './dicom-writer.js';
import type { DicomElementInit } from './dicom-writer.js';
import { parseDicom } from './parse.js';
import { diffusionVectorLps, manufacturerOf, readFrameAcquisition, readSeriesAcquisition } from './acquisition.js';

/** A classic MR header from `maker` with `extra` elements (no pixels: only attributes are read here). */
function header(maker: string, extra: DicomElementInit[]) {
  const elements: DicomElementInit[] = [
    { tag: 0x00080016, vr: 'UI', value: '1.2.840.10008.5.1.4.1.1.4' },
    { tag: 0x00080018, vr: 'UI', value: '1.2.826.0.1.3680043.10.1099.94.1' },
    { tag: 0x00080070, vr: 'LO', value: maker },
    ...extra,
  ].sort((a, b) => a.tag - b.tag);
  return parseDicom(writeDicom(elements)).dataset;
}

const geB1000NoDirection = (extra: DicomElementInit[]) =>
  header('GE MEDICAL SYSTEMS', [
    { tag: 0x00190010, vr: 'LO', value: 'GEMS_ACQU_01' },
    { tag: 0x001910bb, vr: 'DS', value: 0 },
    { tag: 0x001910bc, vr: 'DS', value: 0 },
    { tag: 0x001910bd, vr: 'DS', value: 0 },
    { tag: 0x00430010, vr: 'LO', value: 'GEMS_PARM_01' },
    { tag: 0x00431039, vr: 'IS', value: [1000, 8, 0, 0] },
    ...extra,
  ]);

describe('GE images weighted (b > 0) without a direction', () => {
  it('are trace images when (0019,10E0) is 0, (0043,1030) is 19 or ImageType is DERIVED, each alone', () => {
    const marks: DicomElementInit[][] = [
      [{ tag: 0x001910e0, vr: 'DS', value: 0 }],
      [{ tag: 0x00431030, vr: 'SS', value: 19 }],
      [{ tag: 0x00080008, vr: 'CS', value: ['DERIVED', 'SECONDARY'] }],
    ];
    for (const m of marks) {
      const d = readFrameAcquisition(geB1000NoDirection(m)).diffusion!;
      expect([d.bValue, d.b0IfDirectional]).toEqual([1000, undefined]);
    }
  });

  it('are marked b = 0 if their series has directions otherwise (T2 flag 14, tensor flag 16, no flag, 10E0 > 0)', () => {
    for (const m of [[{ tag: 0x00431030, vr: 'SS', value: 14 }], [{ tag: 0x00431030, vr: 'SS', value: 16 }], [], [{ tag: 0x001910e0, vr: 'DS', value: 30 }]] as DicomElementInit[][]) {
      const d = readFrameAcquisition(geB1000NoDirection(m)).diffusion!;
      expect([d.bValue, d.b0IfDirectional]).toEqual([1000, true]);
    }
  });
});

describe('GE phase-encoding polarity (user-defined data, 0043,102A)', () => {
  /**
   * A (0043,102A) block whose own header starts at `start`, with `version`, the EPI bit, the polarity bit and the
   * view order at the places dcm2niix reads them (0x4C later and the view order 0x8C earlier from version 25.002).
   */
  function block(o: { version: number; epi?: boolean; flippedBit?: boolean; viewOrder?: number; start?: number; length?: number }) {
    const start = o.start ?? 64;
    const bytes = new Uint8Array(o.length ?? start + 0x394 + 0x4c + 16);
    const v = new DataView(bytes.buffer);
    v.setUint16(24, start, true);
    v.setFloat32(start, o.version, true);
    const base = o.version >= 25.002 ? start + 0x4c : start;
    const viewOrder = o.version >= 25.002 ? 0x394 - 0x8c : 0x394;
    if (base + viewOrder + 2 <= bytes.length) {
      v.setUint16(base + 0x3a, o.epi === false ? 0x0400 : 0x0c00, true);
      v.setUint16(base + 0x30, o.flippedBit ? 0x0005 : 0x0001, true);
      v.setUint16(base + viewOrder, o.viewOrder ?? 0, true);
    }
    return readSeriesAcquisition(header('GE MEDICAL SYSTEMS', [
      { tag: 0x00430010, vr: 'LO', value: 'GEMS_PARM_01' },
      { tag: 0x0043102a, vr: 'OB', value: bytes },
    ])).phaseEncodingPositive;
  }

  it('bit 4 at 0x30 is "flipped" (phase encoding against the axis), for old and new (>= 25.002) layouts', () => {
    for (const version of [11, 24.5, 25.002, 30]) {
      expect([version, block({ version, flippedBit: true })]).toEqual([version, false]);
      expect([version, block({ version, flippedBit: false })]).toEqual([version, true]);
    }
  });

  it('a bottom-up view order (2) inverts it; other view orders do not', () => {
    expect(block({ version: 28, flippedBit: true, viewOrder: 2 })).toBe(true);
    expect(block({ version: 11, flippedBit: false, viewOrder: 2 })).toBe(false);
    expect(block({ version: 28, flippedBit: true, viewOrder: 1 })).toBe(false);
  });

  it('says nothing for non-EPI blocks, versions outside 5-40 and blocks too short for the fields', () => {
    expect(block({ version: 28, epi: false, flippedBit: true })).toBeUndefined();
    expect(block({ version: 4, flippedBit: true })).toBeUndefined();
    expect(block({ version: 41, flippedBit: true })).toBeUndefined();
    expect(block({ version: 28, flippedBit: true, length: 64 + 0x394 })).toBeUndefined();
    expect(block({ version: 11, flippedBit: true, start: 1000, length: 1200 })).toBeUndefined();
  });
});

describe('United Imaging diffusion and sidecar elements', () => {
  const uih = (extra: DicomElementInit[]) => header('UIH', extra);

  it('read (0065,1009) before (0065,100A), the direction (0065,1037) along row, column and normal, before the standard ones', () => {
    const ds = uih([
      { tag: 0x00189087, vr: 'FD', value: 500 },
      { tag: 0x00189089, vr: 'FD', value: [1, 0, 0] },
      { tag: 0x00651009, vr: 'FD', value: 998 },
      { tag: 0x0065100a, vr: 'FD', value: 1000 },
      { tag: 0x00651037, vr: 'FD', value: [0, 0.6, 0.8] },
    ]);
    expect(manufacturerOf(ds)).toBe('UIH');
    const d = readFrameAcquisition(ds).diffusion!;
    expect(d).toEqual({ bValue: 998, vector: [0, 0.6, 0.8], space: 'image' });
    // sagittal: row (0,1,0), column (0,0,-1), normal (-1,0,0): 0.6 column + 0.8 normal
    const w = diffusionVectorLps(d, [0, 1, 0], [0, 0, -1], [-1, 0, 0], 'COL').vector!;
    [-0.8, 0, -0.6].forEach((x, a) => expect(w[a]).toBeCloseTo(x, 12));
    expect(readFrameAcquisition(uih([{ tag: 0x0065100a, vr: 'FD', value: 1000 }])).diffusion?.bValue).toBe(1000);
  });

  it('phase encoding polarity (0065,1058): 1 (P->A) is against the column direction, 0 along it, other values unknown', () => {
    expect(readSeriesAcquisition(uih([{ tag: 0x00651058, vr: 'IS', value: 1 }])).phaseEncodingPositive).toBe(false);
    expect(readSeriesAcquisition(uih([{ tag: 0x00651058, vr: 'IS', value: 0 }])).phaseEncodingPositive).toBe(true);
    expect(readSeriesAcquisition(uih([{ tag: 0x00651058, vr: 'IS', value: 2 }])).phaseEncodingPositive).toBeUndefined();
  });
});
