import { describe, expect, it } from 'vitest';
import { runCli } from '../run.js';
import { capture } from '../capture-io.test-helper.js';



describe('physiotwin info', () => {
  it('--json on the aorta fixture: dims, spacing, origin, direction diag(-1, -1, 1), dtype, value range', async () => {
    const io = capture();
    const code = await runCli(['info', 'fixtures/mesh/vmtk-aorta/aorta.mha', '--json'], io);
    expect(io.err).toBe('');
    expect(code).toBe(0);
    const report = JSON.parse(io.out) as Record<string, unknown>;
    // Values from fixtures/mesh/README.md (the MetaImage header), exactly as written there.
    expect(report).toMatchObject({
      dims: [157, 393, 34],
      spacing: [0.878906, 0.878906, 1.50009],
      origin: [-156.445, -24.6094, 0],
      direction: [-1, 0, 0, 0, -1, 0, 0, 0, 1],
      dtype: 'float32',
      components: 1,
      rescale: null,
      format: 'metaimage',
    });
    // README: values 0..2570 (rounded to integers).
    expect(report.min).toBe(0);
    expect(Math.round(report.max as number)).toBe(2570);
  });

  it('prints a short summary without --json', async () => {
    const io = capture();
    expect(await runCli(['info', 'fixtures/mesh/vmtk-aorta/aorta.mha'], io)).toBe(0);
    expect(io.out).toContain('157 x 393 x 34 voxels, float32');
    expect(io.out).toContain('spacing  0.878906 x 0.878906 x 1.50009 mm');
    expect(io.out).toContain('direction [-1 0 0; 0 -1 0; 0 0 1]');
  });

  it('reports rescaled (physical) min and max of a NIfTI with scl_slope/scl_inter', async () => {
    const io = capture();
    const file = 'fixtures/dicom/pydicom/Ref_dcm2niix_dicomdirtests/98892001_CT5N/5_20010101000000_98890234.nii.gz';
    expect(await runCli(['info', file, '--json'], io)).toBe(0);
    const report = JSON.parse(io.out) as { min: number; max: number; rescale: unknown };
    // nifti_reference_summary.json: stored 136..1109, scl_slope 1, scl_inter -1024.
    expect(report.rescale).toEqual({ slope: 1, intercept: -1024 });
    expect([report.min, report.max]).toEqual([136 - 1024, 1109 - 1024]);
  });

  it('a missing file exits 1 with IO_NOT_FOUND; a bad command line exits 2', async () => {
    const missing = capture();
    expect(await runCli(['info', 'no/such/file.nii'], missing)).toBe(1);
    expect(missing.err).toContain('IO_NOT_FOUND');
    const usage = capture();
    expect(await runCli(['info'], usage)).toBe(2);
    expect(usage.err).toContain('usage: physiotwin info');
  });
});
