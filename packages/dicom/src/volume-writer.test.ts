import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { createVolume } from '@physiotwin/core';
import type { Mat3, Volume } from '@physiotwin/core';
import { writeVolumeSeries } from './volume-writer.js';
import { scanDicomPaths } from './node.js';
import { loadVolume } from './volume.js';
import { HAS_PYDICOM, PEER_SKIP, pydicomJson } from './peer-tools.test-helper.js';

const tmp = mkdtempSync(join(tmpdir(), 'physiotwin-volwrite-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

// An oblique orthonormal frame (rotation by 30 degrees about z, then 20 about x) so no axis is trivial.
const c = Math.cos(Math.PI / 6), s = Math.sin(Math.PI / 6), c2 = Math.cos(Math.PI / 9), s2 = Math.sin(Math.PI / 9);
const direction: Mat3 = [c, s * c2, s * s2, -s, c * c2, c * s2, 0, -s2, c2];
const dims: [number, number, number] = [7, 5, 4];
const n = dims[0] * dims[1] * dims[2];

function write(name: string, volume: Volume, modality: 'CT' | 'MR') {
  const dir = join(tmp, name);
  mkdirSync(dir);
  const series = writeVolumeSeries(volume, { modality });
  series.files.forEach((f, k) => writeFileSync(join(dir, `${k}.dcm`), f));
  return { dir, series };
}

async function readBack(dir: string): Promise<Volume> {
  const scan = await scanDicomPaths([dir]);
  expect(scan.groups.length).toBe(1);
  return (await loadVolume(scan.groups[0]!, scan.sources)).volume;
}

/** Physical value of voxel i. */
const phys = (v: Volume, i: number): number => v.data[i]! * (v.rescale?.slope ?? 1) + (v.rescale?.intercept ?? 0);

// DS values carry at most 16 characters: about 15 significant digits, so positions agree to ~1e-12 mm here.
const GEOMETRY_TOL = 1e-9;

function expectSameGeometry(a: Volume, b: Volume): void {
  expect(b.dims).toEqual(a.dims);
  for (let i = 0; i < 3; i++) {
    expect(Math.abs(b.spacing[i]! - a.spacing[i]!)).toBeLessThan(GEOMETRY_TOL);
    expect(Math.abs(b.origin[i]! - a.origin[i]!)).toBeLessThan(GEOMETRY_TOL);
  }
  for (let i = 0; i < 9; i++) expect(Math.abs(b.direction[i]! - a.direction[i]!)).toBeLessThan(GEOMETRY_TOL);
}

describe('writeVolumeSeries', () => {
  const ct = createVolume({
    data: Int16Array.from({ length: n }, (_, i) => ((i * 7919) % 4001) - 2000),
    dims,
    spacing: [0.7, 0.9, 2.5],
    origin: [-120.25, 33.5, 410.125],
    direction,
    rescale: { slope: 1, intercept: -1024 },
  });
  const mr = createVolume({
    data: Float32Array.from({ length: n }, (_, i) => Math.sin(i) * 100.5),
    dims,
    spacing: [1.1, 1.1, 3],
    origin: [10, -20, 30],
    direction,
  });

  it('a CT volume (int16 with rescale) loads back through scanDicomPaths + loadVolume voxel for voxel', async () => {
    const { dir, series } = write('ct', ct, 'CT');
    expect(series.maxError).toBe(0);
    const back = await readBack(dir);
    expectSameGeometry(ct, back);
    for (let i = 0; i < n; i++) expect(phys(back, i)).toBe(phys(ct, i));
  });

  it('float MR data is quantised to 16 bits with a rescale; error at most half a step', async () => {
    const { dir, series } = write('mr', mr, 'MR');
    const back = await readBack(dir);
    expectSameGeometry(mr, back);
    const range = 201;
    expect(series.rescale.slope).toBeLessThan(range / 65535 + 1e-12);
    let worst = 0;
    for (let i = 0; i < n; i++) worst = Math.max(worst, Math.abs(phys(back, i) - mr.data[i]!));
    // Half a quantisation step, plus float32 rounding of the input and the 16-character DS of slope/intercept.
    expect(worst).toBeLessThanOrEqual(series.rescale.slope / 2 + 1e-9);
    expect(series.maxError).toBeLessThanOrEqual(series.rescale.slope / 2 + 1e-12);
  });

  it('refuses what CT/MR images cannot hold', () => {
    const wide = createVolume({ data: Int32Array.from([0, 100000]), dims: [2, 1, 1] });
    expect(() => writeVolumeSeries(wide, { modality: 'CT' })).toThrow(/16 bits/);
    const rgb = createVolume({ data: new Uint8Array(6), dims: [2, 1, 1], components: 3 });
    expect(() => writeVolumeSeries(rgb, { modality: 'CT' })).toThrow(/components/);
    const nan = createVolume({ data: Float32Array.from([0, Number.NaN]), dims: [2, 1, 1] });
    expect(() => writeVolumeSeries(nan, { modality: 'MR' })).toThrow(/finite/);
  });

  it.skipIf(!HAS_PYDICOM)(`pydicom reads the CT series to the same voxels and slice positions (${PEER_SKIP})`, () => {
    const { dir } = write('ct-py', ct, 'CT');
    const script = `
import sys, json, glob, pydicom
fs = sorted(glob.glob(sys.argv[1] + '/*.dcm'), key=lambda f: int(f.split('/')[-1][:-4]))
out = []
for f in fs:
    d = pydicom.dcmread(f)
    out.append({'ipp': [float(x) for x in d.ImagePositionPatient], 'iop': [float(x) for x in d.ImageOrientationPatient],
                'ps': [float(x) for x in d.PixelSpacing], 'hu': (d.pixel_array.astype(float) * float(d.RescaleSlope) + float(d.RescaleIntercept)).ravel().tolist(),
                'sop': d.SOPClassUID})
print(json.dumps(out))
`;
    const slices = pydicomJson<{ ipp: number[]; iop: number[]; ps: number[]; hu: number[]; sop: string }[]>(script, [dir]);
    expect(slices.length).toBe(dims[2]);
    const plane = dims[0] * dims[1];
    slices.forEach((sl, k) => {
      expect(sl.sop).toBe('1.2.840.10008.5.1.4.1.1.2');
      for (let r = 0; r < 3; r++) expect(Math.abs(sl.ipp[r]! - (ct.origin[r]! + k * ct.spacing[2] * direction[6 + r]!))).toBeLessThan(GEOMETRY_TOL);
      for (let r = 0; r < 6; r++) expect(Math.abs(sl.iop[r]! - direction[r]!)).toBeLessThan(GEOMETRY_TOL);
      expect(sl.ps).toEqual([0.9, 0.7]);
      expect(sl.hu).toEqual(Array.from({ length: plane }, (_, i) => phys(ct, k * plane + i)));
    });
  });
});
