import { describe, expect, it } from 'vitest';
import { runCli } from '../run.js';
import { capture } from '../capture-io.test-helper.js';



const KEYS = [
  'seriesInstanceUid', 'modality', 'seriesDescription', 'dims', 'spacing', 'origin', 'direction', 'transferSyntaxes',
  'sliceCount', 'slicePositions', 'gaps', 'irregularSpacing', 'missingSlices', 'gantryTiltDeg', 'warnings',
];

describe('physiotwin dicom info', () => {
  it('--json on the DICOMDIR: the contract keys, 2 Scout groups, 7 radial MR groups, missing slices in CT2', async () => {
    const io = capture();
    const code = await runCli(['dicom', 'info', 'fixtures/dicom/pydicom/test_files/dicomdirtests/DICOMDIR', '--json'], io);
    expect(code).toBe(0);
    const groups = JSON.parse(io.out) as Record<string, unknown>[];
    for (const g of groups) for (const k of KEYS) expect(g, k).toHaveProperty(k);
    expect(groups.filter((g) => g.seriesDescription === 'Scout')).toHaveLength(2);
    expect(groups.filter((g) => g.seriesDescription === 'ANGIO Projected from   C')).toHaveLength(7);
    const ct2 = groups.find((g) => g.seriesDescription === 'Routine Brain')!;
    // series_geometry.json (fixtures/dicom/pydicom/Ref_dcm2niix_dicomdirtests): gaps 202.5, 1.25, 1.25.
    expect(ct2).toMatchObject({ sliceCount: 4, gaps: [202.5, 1.25, 1.25], irregularSpacing: true, missingSlices: true, gantryTiltDeg: 0 });
  });

  it('a folder is searched recursively; a missing path is a typed failure (exit 1)', async () => {
    const io = capture();
    expect(await runCli(['dicom', 'info', 'fixtures/dicom/dcm_qa_enh/In'], io)).toBe(0);
    expect(io.out).toMatch(/64 x 64 x 32 voxels/);
    const bad = capture();
    expect(await runCli(['dicom', 'info', 'fixtures/dicom/nope'], bad)).toBe(1);
    expect(bad.err).toMatch(/IO_NOT_FOUND/);
  });

  it('no path is a usage error (exit 2)', async () => {
    expect(await runCli(['dicom', 'info'], capture())).toBe(2);
  });
});
