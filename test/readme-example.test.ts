// The README's example, run as written (output path moved to a temp folder), so the README stays true.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, expect, it } from 'vitest';
import { loadVolume } from '@physiotwin/dicom';
import { scanDicomPaths } from '@physiotwin/dicom/node';
import { readVolumeFile, writeVolumeFile } from '@physiotwin/io/node';
import { histogram } from '@physiotwin/segment';

const dir = mkdtempSync(join(tmpdir(), 'physiotwin-readme-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

it('the README example runs and gives what its comments say', async () => {
  const ct = await readVolumeFile('fixtures/mesh/vmtk-aorta/aorta.mha');
  expect(ct.dims).toEqual([157, 393, 34]);
  expect(ct.direction).toEqual([-1, 0, 0, 0, -1, 0, 0, 0, 1]);
  const h = await histogram(ct, { bins: 256 }, { backend: 'auto' });
  expect(h.counts.reduce((a, c) => a + c, 0)).toBe(157 * 393 * 34);
  // fixtures/mesh/README.md: values 0..2570 (scanner units).
  expect(h.min).toBe(0);
  expect(Math.floor(h.max)).toBe(2570);

  const scan = await scanDicomPaths(['fixtures/dicom/dcm_qa_ts/In/1.dcm']);
  const group = scan.groups[0]!;
  const { volume } = await loadVolume(group, scan.sources, { spacing: 'error' });
  // The 384x384 Siemens mosaic holds 35 slices of 64x64: dcm2niix's reference (Ref/ALL_1-9.nii.gz,
  // nifti_reference_summary.json) is 64x64x35 with 3.25 x 3.25 x 3.6 mm voxels.
  expect(volume.dims).toEqual([64, 64, 35]);
  for (const [i, s] of [3.25, 3.25, 3.6].entries()) expect(Math.abs(volume.spacing[i]! - s)).toBeLessThan(1e-4);
  const out = join(dir, 'mosaic.nii.gz');
  await writeVolumeFile(out, volume);
  const back = await readVolumeFile(out);
  expect(back.dims).toEqual(volume.dims);
  expect(Array.from(back.data)).toEqual(Array.from(volume.data));
  await expect(writeVolumeFile(out, volume)).rejects.toMatchObject({ code: 'IO_EXISTS' });
});
