// Colours and windows for drawing: the colormap's ends and order, per-cell to per-point averaging, and the CT windows.
import { describe, expect, it } from 'vitest';
import { cellToPointScalars, colormapRgb, scalarRange, scalarsToRgb } from './colormap.js';
import { autoWindow, CT_PRESETS, windowRange } from './presets.js';

describe('colormap', () => {
  it('runs from blue (low) to red (high) through green, clamps outside [0, 1], greys NaN', () => {
    expect(colormapRgb(0)).toEqual([0, 0, 255]);
    expect(colormapRgb(0.5)).toEqual([0, 255, 0]);
    expect(colormapRgb(1)).toEqual([255, 0, 0]);
    expect(colormapRgb(-3)).toEqual(colormapRgb(0));
    expect(colormapRgb(7)).toEqual(colormapRgb(1));
    expect(colormapRgb(Number.NaN)).toEqual([128, 128, 128]);
    // Red rises and blue falls monotonically along the map.
    const reds = [0, 0.2, 0.4, 0.6, 0.8, 1].map((t) => colormapRgb(t)[0]);
    expect([...reds].sort((a, b) => a - b)).toEqual(reds);
  });

  it('maps values over their own range (or a given one) to 3 bytes each', () => {
    const v = Float32Array.of(10, 20, 30);
    expect(scalarRange(v)).toEqual([10, 30]);
    expect(Array.from(scalarsToRgb(v))).toEqual([...colormapRgb(0), ...colormapRgb(0.5), ...colormapRgb(1)]);
    expect(Array.from(scalarsToRgb(v, [0, 40]).subarray(0, 3))).toEqual(colormapRgb(0.25));
    expect(scalarRange([])).toEqual([0, 0]);
  });

  it('averages per-triangle values onto their points', () => {
    // Two triangles sharing the edge 1-2: points 1 and 2 get the mean, 0 and 3 their own triangle's value.
    const tris = Uint32Array.of(0, 1, 2, 2, 1, 3);
    expect(Array.from(cellToPointScalars(tris, [2, 6], 4))).toEqual([2, 4, 4, 6]);
    expect(() => cellToPointScalars(tris, [1], 4)).toThrow(expect.objectContaining({ code: 'INVALID_ARGUMENT' }) as Error);
    expect(() => cellToPointScalars(tris, [1, 2], 3)).toThrow(expect.objectContaining({ code: 'INVALID_ARGUMENT' }) as Error);
  });
});

describe('windows', () => {
  it('CT presets are width/centre in HU and give [centre - width/2, centre + width/2]', () => {
    expect(windowRange(CT_PRESETS.softTissue)).toEqual({ lower: -160, upper: 240 });
    expect(windowRange(CT_PRESETS.angio)).toEqual({ lower: 0, upper: 600 });
    expect(windowRange(CT_PRESETS.bone)).toEqual({ lower: -500, upper: 1500 });
    expect(windowRange(CT_PRESETS.lung)).toEqual({ lower: -1350, upper: 150 });
    expect(() => windowRange({ width: 0, center: 0 })).toThrow(expect.objectContaining({ code: 'INVALID_ARGUMENT' }) as Error);
  });

  it('the automatic window spans the 1st to 99.5th percentile, rescale applied', () => {
    // 0..999 once each: the percentiles are 9 and 994 (indices floor(0.01 * 999) and floor(0.995 * 999)).
    const data = Int16Array.from({ length: 1000 }, (_, i) => (i * 7919) % 1000);
    expect(autoWindow({ data })).toEqual({ width: 985, center: 501.5 });
    const w = autoWindow({ data, rescale: { slope: 2, intercept: -1024 } });
    expect(w).toEqual({ width: 1970, center: 2 * 501.5 - 1024 });
    expect(() => autoWindow({ data: new Int16Array(0) })).toThrow(expect.objectContaining({ code: 'INVALID_ARGUMENT' }) as Error);
  });
});
