import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'fflate';
import { afterAll, describe, expect, it } from 'vitest';
import { createVolume, isPhysiotwinError } from '@physiotwin/core';
import { scanDicom, volumeGroups } from './series.js';
import type { DicomSource, SeriesGroup } from './series.js';
import { harmonizeTimePoints, loadVolume } from './volume.js';
import { bidsSidecar, diffusionTables, formatG, outputName, uniqueName } from './sidecar.js';
import { gunzipIfGzip, parseDicom, TS } from './parse.js';
import { scanDicomPaths } from './node.js';
import { readFixture, syntheticSlice } from './test-util.js';
import type { DicomElementInit } from './write.js';

const tmp = mkdtempSync(join(tmpdir(), 'physiotwin-split-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

/** 3 slices x `volumes` of 8x8, one file each; `extra(v, k)` adds elements; pixels hold the volume index. */
function series(volumes: number, extra: (v: number, k: number) => DicomElementInit[], uid = '1.2.3.77', positions = [0, 3, 6]): DicomSource[] {
  const out: DicomSource[] = [];
  for (let v = 0; v < volumes; v++) {
    positions.forEach((z, k) => {
      out.push({
        name: `v${v}s${k}`,
        // instance numbers run volume by volume, listed here in reverse to show order does not come from input order
        bytes: syntheticSlice({ seriesUid: uid, instance: 1 + v * positions.length + k, rows: 8, columns: 8, position: [0, 0, z], pixels: new Int16Array(64).fill(v), extra: extra(v, k) }),
      });
    });
  }
  return out.reverse();
}

const imageType = (t: string): DicomElementInit => ({ tag: 0x00080008, vr: 'CS', value: ['ORIGINAL', 'PRIMARY', t] });

describe('classic multi-volume series', () => {
  it('magnitude and phase (ImageType value 3) become separate groups; the phase one is named _ph', async () => {
    const s = await scanDicom(series(2, (v) => [imageType(v === 0 ? 'M' : 'P')]));
    expect(s.groups).toHaveLength(2);
    expect(s.groups.map((g) => g.volumes[0]!.label.imageType).sort()).toEqual(['M', 'P']);
    for (const g of s.groups) expect(g.geometry.duplicatePositions).toBe(false);
    const names = s.groups.map((g) => outputName(g, '%q_%d')).sort();
    expect(names).toEqual(['CT_synthetic', 'CT_synthetic_ph']);
    // with image-type left out of splitBy, both stack as a 4D group labelled by image type
    const both = await scanDicom(series(2, (v) => [imageType(v === 0 ? 'M' : 'P')]), { splitBy: ['echo'] });
    expect(both.groups).toHaveLength(1);
    expect(both.groups[0]!.fourthAxis).toEqual(['image-type']);
  });

  it('temporal positions make a 4D group in acquisition order; fourD: false gives one group per volume', async () => {
    const src = series(3, (v) => [{ tag: 0x00200100, vr: 'IS', value: v + 1 }, { tag: 0x00180080, vr: 'DS', value: 2000 }]);
    const s = await scanDicom(src);
    expect(s.groups).toHaveLength(1);
    const g = s.groups[0]!;
    expect(g.fourthAxis).toEqual(['time']);
    expect(g.volumes.map((v) => v.label.temporalPosition)).toEqual([1, 2, 3]);
    expect(g.geometry.spacing).toEqual([1, 1, 3]);
    const loaded = await Promise.all(volumeGroups(g).map((v) => loadVolume(v, s.sources)));
    expect(loaded.map((l) => l.volume.data[0])).toEqual([0, 1, 2]);
    expect(loaded.every((l) => l.volume.dims.join() === '8,8,3')).toBe(true);
    await expect(loadVolume(g, s.sources)).rejects.toSatisfy((e) => isPhysiotwinError(e, 'INVALID_ARGUMENT'));
    const split = await scanDicom(src, { fourD: false });
    expect(split.groups.map((x) => x.volumes[0]!.label.temporalPosition)).toEqual([1, 2, 3]);
    // the sidecar: seconds, and the 4th axis
    const side = bidsSidecar(g);
    expect(side.RepetitionTime).toBe(2);
    expect((side.Physiotwin as { FourthAxis: string[] }).FourthAxis).toEqual(['time']);
  });

  it('repeated positions with nothing in the headers to tell them apart: volumes by instance number order, labelled repetition', async () => {
    const s = await scanDicom(series(2, () => []));
    expect(s.groups).toHaveLength(1);
    expect(s.groups[0]!.fourthAxis).toEqual(['repetition']);
    expect(s.groups[0]!.volumes.map((v) => v.frames.map((f) => f.instanceNumber))).toEqual([[1, 2, 3], [4, 5, 6]]);
  });

  it('mosaic files of one series (acquisition numbers 1..3) stack as a 4D group', async () => {
    const original = readFixture('dcm_qa_ts/In/1.dcm');
    const withAcq = (n: number) => {
      const b = original.slice();
      // AcquisitionNumber (0020,0012) IS, explicit VR: tag, 'IS', length, value
      for (let i = 0; i + 10 <= b.length; i++) {
        if (b[i] === 0x20 && b[i + 1] === 0 && b[i + 2] === 0x12 && b[i + 3] === 0 && b[i + 4] === 0x49 && b[i + 5] === 0x53) {
          const len = b[i + 6]! | (b[i + 7]! << 8);
          const text = String(n).padEnd(len, ' ');
          for (let k = 0; k < len; k++) b[i + 8 + k] = text.charCodeAt(k);
        }
      }
      return b;
    };
    const s = await scanDicom([3, 1, 2].map((n) => ({ name: `m${n}.dcm`, bytes: withAcq(n) })));
    expect(s.groups).toHaveLength(1);
    const g = s.groups[0]!;
    expect(g.fourthAxis).toEqual(['acquisition']);
    expect(g.volumes.map((v) => v.label.acquisitionNumber)).toEqual([3, 1, 2]); // equal instance numbers: input order
    expect(g.geometry.dims).toEqual([64, 64, 35]);
  });

  it('a group whose repeated positions nothing separates keeps a real slice step (never 0 mm) and is refused on load', async () => {
    const src = [0, 0, 3, 6].map((z, k) => ({ name: `d${k}`, bytes: syntheticSlice({ seriesUid: '1.2.3.83', instance: k + 1, rows: 4, columns: 4, position: [0, 0, z], pixels: new Int16Array(16) }) }));
    const g = (await scanDicom(src)).groups[0]!;
    expect(g.geometry.duplicatePositions).toBe(true);
    expect(g.geometry.spacing[2]).toBe(3);
    await expect(loadVolume(g, [] as DicomSource[])).rejects.toThrow(/no header attribute .* separates them into volumes/);
  });

  it('time points with different rescale become float32 physical values for one 4D image', () => {
    const a = createVolume({ data: new Int16Array([1, 2]), dims: [2, 1, 1], rescale: { slope: 2, intercept: 0 } });
    const b = createVolume({ data: new Int16Array([1, 2]), dims: [2, 1, 1], rescale: { slope: 3, intercept: 1 } });
    const same = harmonizeTimePoints([a, a]);
    expect(same.volumes[1]).toBe(a);
    const h = harmonizeTimePoints([a, b]);
    expect(h.volumes.map((v) => Array.from(v.data))).toEqual([[2, 4], [4, 7]]);
    expect(h.warning).toMatch(/float32/);
  });

  it('Siemens private diffusion tags (0019,xx0C/0E): b-values and unit gradients; .bval/.bvec in FSL convention', async () => {
    const creator: DicomElementInit = { tag: 0x00190010, vr: 'LO', value: 'SIEMENS MR HEADER' };
    const dirs: [number, number, number][] = [[0, 0, 0], [2, 0, 0], [0, 0, 1]];
    const s = await scanDicom(series(3, (v) => [
      { tag: 0x00080070, vr: 'LO', value: 'SIEMENS' },
      creator,
      { tag: 0x0019100c, vr: 'IS', value: v === 0 ? 0 : 1000 },
      { tag: 0x0019100e, vr: 'FD', value: dirs[v]! },
    ]));
    const g = s.groups[0]!;
    expect(g.fourthAxis).toEqual(['diffusion']);
    expect(g.volumes.map((v) => v.label.bValue)).toEqual([0, 1000, 1000]);
    expect(g.volumes.map((v) => v.label.gradient)).toEqual([undefined, [1, 0, 0], [0, 0, 1]]);
    // identity direction (det +1): FSL negates x
    const t = diffusionTables(g, [1, 0, 0, 0, 1, 0, 0, 0, 1])!;
    expect(t.bval).toBe('0 1000 1000\n');
    expect(t.bvec).toBe('0 -1 0\n0 0 0\n0 0 1\n');
    // rows flipped (j = -column), as dcm2niix stores: det -1, no x negation
    expect(diffusionTables(g, [1, 0, 0, 0, -1, 0, 0, 0, 1])!.bvec).toBe('0 1 0\n0 0 0\n0 0 1\n');
  });

  it('Philips private diffusion tags; the derived isotropic volume (b > 0, no direction) leaves the 4D stack as _ADC, as dcm2niix does', async () => {
    const dirs: [number, number, number][] = [[0, 0, 0], [1, 0, 0], [0, 1, 0], [0, 0, 0]];
    const b = [0, 1000, 1000, 1000];
    const s = await scanDicom(series(4, (v) => [
      { tag: 0x00080070, vr: 'LO', value: 'Philips Medical Systems' },
      { tag: 0x20010010, vr: 'LO', value: 'Philips Imaging DD 001' },
      { tag: 0x20011003, vr: 'FL', value: b[v]! },
      { tag: 0x20050010, vr: 'LO', value: 'Philips MR Imaging DD 001' },
      { tag: 0x200510b0, vr: 'FL', value: dirs[v]![0] },
      { tag: 0x200510b1, vr: 'FL', value: dirs[v]![1] },
      { tag: 0x200510b2, vr: 'FL', value: dirs[v]![2] },
    ]));
    expect(s.groups).toHaveLength(2);
    const [dwi, iso] = s.groups as [SeriesGroup, SeriesGroup];
    expect(dwi.volumes.map((v) => v.label.bValue)).toEqual([0, 1000, 1000]);
    expect(diffusionTables(dwi, [1, 0, 0, 0, -1, 0, 0, 0, 1])!.bval).toBe('0 1000 1000\n');
    expect(iso.isotropicDiffusion).toBe(true);
    expect(outputName(iso, '%d')).toBe('synthetic_ADC');
    expect((await loadVolume(iso, s.sources)).volume.data[0]).toBe(3);
  });

  it('a change of slice spacing (4 mm, then 7 mm) is reported as such, not as missing slices; a lone gap still is', async () => {
    const z = [0, 4, 8, 12, 19, 26, 33];
    const src = z.map((p, k) => ({ name: `s${k}`, bytes: syntheticSlice({ seriesUid: '1.2.3.78', instance: k + 1, rows: 4, columns: 4, position: [0, 0, p], pixels: new Int16Array(16) }) }));
    const g = (await scanDicom(src)).groups[0]!.geometry;
    expect(g.missingSlices).toBe(false);
    expect(g.spacingRegimes).toEqual([{ gap: 4, firstSlice: 0, lastSlice: 3 }, { gap: 7, firstSlice: 3, lastSlice: 6 }]);
    expect(g.warnings.join(' ')).toMatch(/slice spacing changes along the stack: 4 mm \(slices 1-4\), then 7 mm \(slices 4-7\)/);
    const lone = [0, 2, 4, 8, 10, 12].map((p, k) => ({ name: `l${k}`, bytes: syntheticSlice({ seriesUid: '1.2.3.79', instance: k + 1, rows: 4, columns: 4, position: [0, 0, p], pixels: new Int16Array(16) }) }));
    const l = (await scanDicom(lone)).groups[0]!.geometry;
    expect(l.missingSlices).toBe(true);
    expect(l.spacingRegimes).toBeUndefined();
  });

  it('Enhanced echoes in separate files (same series, same dimension indices, TE 10 and 12.46 ms) are split by echo time', async () => {
    const original = readFixture('dcm_qa_enh/In/Philips/IM_0027_fMAP.dcm');
    const withTe = (te: number) => {
      const b = original.slice();
      const dv = new DataView(b.buffer);
      // every EffectiveEchoTime (0018,9082) FD: tag, 'FD', length 8, value
      for (let i = 0; i + 16 <= b.length; i++) {
        if (b[i] === 0x18 && b[i + 1] === 0 && b[i + 2] === 0x82 && b[i + 3] === 0x90 && b[i + 4] === 0x46 && b[i + 5] === 0x44) dv.setFloat64(i + 8, te, true);
      }
      return b;
    };
    const s = await scanDicom([{ name: 'e1.dcm', bytes: withTe(10) }, { name: 'e2.dcm', bytes: withTe(12.46) }]);
    expect(s.groups.length).toBeGreaterThanOrEqual(2);
    for (const g of s.groups) {
      expect(g.geometry.duplicatePositions).toBe(false);
      expect(new Set(g.volumes.flatMap((v) => v.frames.map((f) => f.sourceIndex))).size).toBe(1);
    }
    expect([...new Set(s.groups.map((g) => g.volumes[0]!.label.echoTime))].sort()).toEqual([10, 12.46]);
  });
});

describe('names', () => {
  it('dcm2niix letters, %%, unknown letters refused, and unique names', async () => {
    const s = await scanDicom(series(1, () => [
      { tag: 0x00200011, vr: 'IS', value: 7 },
      { tag: 0x00181030, vr: 'LO', value: 'my protocol' },
      { tag: 0x00080070, vr: 'LO', value: 'Philips Medical Systems' },
      { tag: 0x00080020, vr: 'DA', value: '20240102' },
      { tag: 0x00080031, vr: 'TM', value: '101112.5' },
    ]));
    const g = s.groups[0]!;
    expect(outputName(g, '%s_%d_%p_%t_%m_%%')).toBe('7_synthetic_my_protocol_20240102101112_Ph');
    expect(() => outputName(g, '%s_%Z')).toThrow(/%Z/);
    const used = new Set<string>();
    expect([uniqueName('a', used), uniqueName('a', used), uniqueName('a', used)]).toEqual(['a', 'a_2', 'a_3']);
  });

  it('formatG prints as C %g does', () => {
    expect([0, 1000, 0.001, Math.fround(0.001), 1e-5, 1234567, -0.5, 0.758021234].map(formatG)).toEqual(['0', '1000', '0.001', '0.001', '1e-05', '1.23457e+06', '-0.5', '0.758021']);
  });
});

describe('compressed inputs', () => {
  const pixels = () => {
    const p = new Int16Array(128 * 128);
    let x = 12345;
    for (let i = 0; i < p.length; i++) p[i] = (x = (x * 1103515245 + 12345) & 0x7fff); // incompressible enough
    return p;
  };

  it('a deflated file over 16 KiB is scanned and loaded from disk (the header prefix does not inflate alone)', async () => {
    const px = pixels();
    const bytes = syntheticSlice({ seriesUid: '1.2.3.80', instance: 1, rows: 128, columns: 128, position: [0, 0, 0], pixels: px, transferSyntaxUid: TS.deflatedLE });
    expect(bytes.length).toBeGreaterThan(16 * 1024);
    const path = join(tmp, 'deflated.dcm');
    writeFileSync(path, bytes);
    const scan = await scanDicomPaths([path]);
    expect(scan.skipped).toEqual([]);
    const { volume } = await loadVolume(scan.groups[0]!, scan.sources);
    expect(Array.from(volume.data.subarray(0, 16))).toEqual(Array.from(px.subarray(0, 16)));
  });

  it('inflation stops at the bytes the header needs: trailing deflated zeros are never inflated; a header that needs more than the limit is LIMIT_EXCEEDED', () => {
    const small = syntheticSlice({ seriesUid: '1.2.3.81', instance: 1, rows: 4, columns: 4, position: [0, 0, 0], pixels: new Int16Array(16), extra: [{ tag: 0x00091010, vr: 'OB', value: new Uint8Array(8 * 2 ** 20) }], transferSyntaxUid: TS.deflatedLE });
    // 8 MiB of zeros in a private element before Pixel Data: needed, so inflated; with a 1 MiB limit refused
    expect(() => parseDicom(small, { maxInflatedBytes: 2 ** 20 })).toThrow(/maxInflatedBytes/);
    // a header read needs only the bytes up to the tag: under the same 1 MiB limit it succeeds
    const file = parseDicom(small, { untilTag: 'x00080060', maxInflatedBytes: 2 ** 20 });
    expect(file.dataset.string('x00080060')).toBe('CT');
    expect(file.dataset.has('x00091010')).toBe(false);
  });

  it('.dcm.gz files are read as they are; a gzip bomb stops at the limit', async () => {
    const bytes = syntheticSlice({ seriesUid: '1.2.3.82', instance: 1, rows: 8, columns: 8, position: [0, 0, 0], pixels: new Int16Array(64).fill(5) });
    const path = join(tmp, 'a.dcm.gz');
    writeFileSync(path, gzipSync(bytes));
    const scan = await scanDicomPaths([path]);
    const { volume } = await loadVolume(scan.groups[0]!, scan.sources);
    expect(volume.data[0]).toBe(5);
    expect(() => gunzipIfGzip(gzipSync(new Uint8Array(4 * 2 ** 20)), 'bomb', 2 ** 20)).toThrow(/maxInflatedBytes/);
  });
});

describe('hostile sizes', () => {
  it('an HTJ2K file of 21 KB that declares 8192x8192 (header and codestream) is refused before decoding', async () => {
    const b = readFixture('openjph_htj2k/CT_small_htj2k_lossless.dcm').slice();
    const dv = new DataView(b.buffer);
    let patched = 0;
    for (let i = 0; i + 10 <= b.length; i++) {
      // Rows (0028,0010) and Columns (0028,0011), explicit VR US
      if (b[i] === 0x28 && b[i + 1] === 0 && (b[i + 2] === 0x10 || b[i + 2] === 0x11) && b[i + 3] === 0 && b[i + 4] === 0x55 && b[i + 5] === 0x53) {
        dv.setUint16(i + 8, 8192, true);
        patched++;
      }
      // SIZ marker segment after SOC: Xsiz, Ysiz (big endian) at +8 and +12
      if (b[i] === 0xff && b[i + 1] === 0x4f && b[i + 2] === 0xff && b[i + 3] === 0x51) {
        dv.setUint32(i + 8, 8192, false);
        dv.setUint32(i + 12, 8192, false);
        patched++;
      }
    }
    expect(patched).toBe(3);
    const t0 = performance.now();
    const scan = await scanDicom([{ name: 'big.dcm', bytes: b }]);
    expect(scan.skipped.map((s) => s.code)).toEqual(['DICOM_INVALID']);
    expect(scan.skipped[0]!.message).toMatch(/67108864 samples cannot come from/);
    expect(performance.now() - t0).toBeLessThan(1000);
  });
});
