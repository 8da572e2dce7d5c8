import { describe, expect, it } from 'vitest';
import { isPhysiotwinError } from '@physiotwin/core';
import type { ProgressEvent } from '@physiotwin/core';
import { scanDicom } from './series.js';
import type { DicomSource } from './series.js';
import { loadVolume } from './volume.js';
import { syntheticSlice } from './test-util.js';

/** n slices of 8x8; slice k has value 1000 at (column 3, row 2) and k elsewhere; positions from `pos(k)`. */
function series(n: number, pos: (k: number) => [number, number, number], uid = '1.2.826.0.1.3680043.10.1099.7'): DicomSource[] {
  const out: DicomSource[] = [];
  for (let k = 0; k < n; k++) {
    const pixels = new Int16Array(64).fill(k);
    pixels[2 * 8 + 3] = 1000;
    // shuffled order on input: sorting must come from the positions
    const kk = n - 1 - k;
    out.push({ name: `s${kk}.dcm`, bytes: syntheticSlice({ seriesUid: uid, instance: kk + 1, rows: 8, columns: 8, position: pos(kk), pixels: fillFor(kk) }) });
  }
  return out;
  function fillFor(k: number) {
    const p = new Int16Array(64).fill(k);
    p[2 * 8 + 3] = 1000;
    return p;
  }
}

describe('series geometry on synthetic series (written with writeDicom)', () => {
  it('sorts shuffled slices along the normal; even spacing gives an exact regular volume', async () => {
    const s = await scanDicom(series(7, (k) => [-10, 20, 5 + 2.5 * k]));
    expect(s.groups).toHaveLength(1);
    const g = s.groups[0]!.geometry;
    expect(g.slicePositions).toEqual([5, 7.5, 10, 12.5, 15, 17.5, 20]);
    expect(g.irregularSpacing).toBe(false);
    const { volume } = await loadVolume(s.groups[0]!, s.sources);
    expect(volume.spacing).toEqual([1, 1, 2.5]);
    expect(volume.origin).toEqual([-10, 20, 5]);
    for (let k = 0; k < 7; k++) expect(volume.data[k * 64]).toBe(k);
  });

  it('gantry tilt: 26.565 degrees measured; a sheared k axis without correction, an orthogonal grid with it', async () => {
    // each slice 2 mm further along z and 1 mm along y: tilt = atan(1/2)
    const s = await scanDicom(series(6, (k) => [0, k, 2 * k]));
    const grp = s.groups[0]!;
    expect(grp.geometry.gantryTiltDeg).toBeCloseTo((Math.atan(0.5) * 180) / Math.PI, 6);
    const raw = await loadVolume(grp, s.sources);
    expect(raw.volume.direction.slice(6)).toEqual([0, 1 / Math.sqrt(5), 2 / Math.sqrt(5)]);
    expect(raw.volume.spacing[2]).toBeCloseTo(Math.sqrt(5), 12);
    const fixed = await loadVolume(grp, s.sources, { tiltCorrect: true });
    expect(fixed.volume.direction).toEqual([1, 0, 0, 0, 1, 0, 0, 0, 1]);
    expect(fixed.volume.spacing[2]).toBeCloseTo(2, 12);
    // the marked pixel sits at world y = k + 2: row 2 + k of the corrected slice k (whole-pixel shifts are exact)
    for (let k = 0; k < 6 && 2 + k < 8; k++) {
      expect(fixed.volume.data[k * 64 + (2 + k) * 8 + 3]).toBe(1000);
      // row 2 of slice k comes from row 2 - k of the source slice; rows above the slice take the volume minimum (0)
      expect(fixed.volume.data[k * 64 + 2 * 8 + 3]).toBe(k === 0 ? 1000 : 2 - k >= 0 ? k : 0);
    }
    expect(fixed.geometry.warnings.join(' ')).toMatch(/tilt of 26\.565 degrees corrected/);
  });

  it('duplicate positions are a DICOM_GEOMETRY error, never a silent volume', async () => {
    const s = await scanDicom(series(4, (k) => [0, 0, k < 2 ? 0 : k]));
    expect(s.groups[0]!.geometry.duplicatePositions).toBe(true);
    await expect(loadVolume(s.groups[0]!, s.sources, { spacing: 'report' })).rejects.toSatisfy((e) => isPhysiotwinError(e, 'DICOM_GEOMETRY'));
  });

  it('mixed orientations under one series UID become separate groups', async () => {
    const a = series(3, (k) => [0, 0, k]);
    const b = series(2, (k) => [k, 0, 0]).map((src, i) => ({
      name: `sag${i}.dcm`,
      bytes: syntheticSlice({ seriesUid: '1.2.826.0.1.3680043.10.1099.7', instance: 10 + i, rows: 8, columns: 8, position: [i, 0, 0], orientation: [0, 1, 0, 0, 0, -1], pixels: new Int16Array(64) }),
    }));
    const s = await scanDicom([...a, ...b]);
    expect(s.groups.map((g) => g.frames.length).sort()).toEqual([2, 3]);
  });

  it('reports progress and stops with ABORTED when the signal fires', async () => {
    const src = series(20, (k) => [0, 0, k]);
    const events: ProgressEvent[] = [];
    const s = await scanDicom(src, { onProgress: (e) => events.push(e) });
    expect(events.at(-1)).toEqual({ stage: 'scan', done: 20, total: 20 });
    const decodeEvents: ProgressEvent[] = [];
    await loadVolume(s.groups[0]!, s.sources, { onProgress: (e) => decodeEvents.push(e) });
    expect(decodeEvents.at(-1)).toEqual({ stage: 'decode', done: 20, total: 20 });
    const ac = new AbortController();
    const p = loadVolume(s.groups[0]!, s.sources, {
      signal: ac.signal,
      onProgress: (e) => {
        if (e.done >= 5) ac.abort();
      },
    });
    await expect(p).rejects.toSatisfy((e) => isPhysiotwinError(e, 'ABORTED'));
  });

  it('different rescale per slice: float32 physical values, and a warning', async () => {
    const src = [0, 1, 2].map((k) => ({
      name: `r${k}`,
      bytes: syntheticSlice({ seriesUid: '1.2.3.9', instance: k + 1, rows: 8, columns: 8, position: [0, 0, k], pixels: new Int16Array(64).fill(10), slope: k + 1, intercept: -5 }),
    }));
    const s = await scanDicom(src);
    const { volume, geometry } = await loadVolume(s.groups[0]!, s.sources);
    expect(volume.data).toBeInstanceOf(Float32Array);
    expect([volume.data[0], volume.data[64], volume.data[128]]).toEqual([5, 15, 25]);
    expect(volume.rescale).toBeUndefined();
    expect(geometry.warnings.join(' ')).toMatch(/float32/);
  });

  it("MONOCHROME1 is reported and kept by default; monochrome1: 'invert' flips it over the stored range", async () => {
    const src = [0, 1].map((k) => ({
      name: `m${k}`,
      bytes: syntheticSlice({ seriesUid: '1.2.3.10', instance: k + 1, rows: 8, columns: 8, position: [0, 0, k], pixels: new Int16Array(64).fill(100), photometric: 'MONOCHROME1' }),
    }));
    const s = await scanDicom(src);
    const kept = await loadVolume(s.groups[0]!, s.sources);
    expect(kept.photometricInterpretation).toBe('MONOCHROME1');
    expect(kept.volume.data[0]).toBe(100);
    const inv = await loadVolume(s.groups[0]!, s.sources, { monochrome1: 'invert' });
    expect(inv.photometricInterpretation).toBe('MONOCHROME2');
    // signed 16-bit stored range -32768..32767: v -> -32768 + 32767 - v = -1 - v
    expect(inv.volume.data[0]).toBe(-101);
  });

  it('a multi-echo series (EchoNumbers) becomes one group per echo instead of duplicate positions', async () => {
    const src = [1, 2].flatMap((echo) =>
      [0, 1, 2].map((k) => ({
        name: `e${echo}s${k}`,
        bytes: syntheticSlice({ seriesUid: '1.2.3.11', instance: echo * 10 + k, rows: 8, columns: 8, position: [0, 0, 3 * k], pixels: new Int16Array(64).fill(echo), echo }),
      })),
    );
    const s = await scanDicom(src);
    expect(s.groups).toHaveLength(2);
    for (const g of s.groups) {
      expect(g.geometry.duplicatePositions).toBe(false);
      const { volume } = await loadVolume(g, s.sources);
      expect(new Set(volume.data).size).toBe(1);
    }
  });
});
