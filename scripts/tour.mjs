// The main job on bundled data: a DICOMDIR's series and geometry, DICOM -> volume, CT -> segmentation -> surface mesh, and a 0D closed-loop
// hemodynamics run, each through the `physiotwin` CLI as a user would run it. Outputs and manifests go to
// demo-output/tour/ (regenerated on every run: the tour passes --force for its own outputs only).
// Usage: npm run tour   (builds first). The main job, the whole pipeline with its report, is `npm run demo`.
import { mkdirSync } from 'node:fs';
import { runCli } from '@physiotwin/cli';

const out = 'demo-output/tour';
mkdirSync(out, { recursive: true });
const io = {
  stdout: (t) => process.stdout.write(t),
  stderr: (t) => process.stderr.write(t),
  isTTY: Boolean(process.stderr.isTTY),
  cwd: process.cwd(),
};

const steps = [
  ['Environment', ['doctor']],
  ['DICOM: a DICOMDIR study -> series groups with their geometry report (the 202.5 mm gap, the two differently oriented localizers, the radial MR)', ['dicom', 'info', 'fixtures/dicom/pydicom/test_files/dicomdirtests/DICOMDIR']],
  ['DICOM -> NIfTI: a Siemens EPI mosaic split into its 35 slices (sform in RAS as dcm2niix writes it)', ['dicom', 'convert', 'fixtures/dicom/dcm_qa_ts/In/1.dcm', '-o', `${out}/dicom`, '--force']],
  ['The VMTK aorta CT', ['info', 'fixtures/mesh/vmtk-aorta/aorta.mha']],
  ['Segment the aorta and both iliacs from one seed (--auto: edge-preserving smoothing, then growing at the local half maximum)', ['segment', 'fixtures/mesh/vmtk-aorta/aorta.mha', '-o', `${out}/aorta-labels.nii.gz`, '--seed', '71,213,16', '--auto', '--force']],
  ['Surface mesh of the segmentation, smoothed, with its quality report', ['mesh', `${out}/aorta-labels.nii.gz`, '-o', `${out}/aorta.vtp`, '--label', '1', '--smooth', '20', '--report', '--force']],
  ['0D closed-loop heart (svZeroDSolver case)', ['hemo', 'run', 'fixtures/hemo/svzerod/cases/closedLoopHeart_singleVessel.json', '-o', `${out}/closed-loop.csv`, '--force']],
  // This upstream case is written in mmHg, mL and s (not CGS), so its pressures are read as mmHg.
  ['Pressure and flow waveforms', ['hemo', 'plot', `${out}/closed-loop.csv`, '-o', `${out}/closed-loop.svg`, '--pressure-unit-in', 'mmHg', '--force']],
];

for (const [title, argv] of steps) {
  console.log(`\n== ${title}\n$ physiotwin ${argv.join(' ')}`);
  const code = await runCli(argv, io);
  if (code !== 0) {
    console.error(`tour step failed with exit code ${code}`);
    process.exit(code);
  }
}
console.log(`\nDone. Outputs and manifests are in ${out}/`);
