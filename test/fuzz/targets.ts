// Every fuzz target, for the CI suite (fuzz.test.ts) and long runs (scripts/fuzz.ts).
import { fileURLToPath } from 'node:url';
import { dicomTarget } from './dicom.js';
import { femTarget } from './fem.js';
import { fhirTarget } from './fhir.js';
import type { FuzzTarget } from './harness.js';
import { configTarget, planTarget, resultsTarget, samplesTarget } from './hemo.js';
import { mshTarget, surfaceTargets, vtuTarget } from './meshes.js';
import { mhaTarget, mhdTarget, niftiGzTarget, niftiTarget } from './volumes.js';

/** Repository root (with a trailing slash), for fixtures/ paths. */
export const REPO_ROOT = fileURLToPath(new URL('../../', import.meta.url));

/** A target with its CI run count. */
export interface TargetEntry {
  target: FuzzTarget<never>;
  ciRuns: number;
}

/**
 * Inputs per target in CI, sized from the wall time one input takes on the quiet 2-core machine (a fresh clone's
 * `.ci/run` prints each target's count, outcomes, wall and CPU time). Issue 11's floor is 1e4 inputs per format:
 * DICOM (0.7 ms), NIfTI .nii, MetaImage .mha (0.5 ms), the hemo configs, samples, results and sample plans (0.05-0.1
 * ms), MSH (0.25 ms), STL, OBJ, PLY and FHIR (0.1-0.15 ms) run it; each count is enough for every recipe of its
 * target to get inputs (fuzz.test.ts checks it). Long runs: `npm run fuzz -- --minutes N`.
 */
const CI_RUNS_FLOOR = 10_000;
/**
 * Under the floor, by cost (long runs cover them): .nii.gz 4 ms wall per input (a deflate per input, bombs), .mhd
 * 0.6 ms plus a header and data file written per input.
 */
const CI_RUNS_NII_GZ = 2_000;
const CI_RUNS_MHD = 1_000;
/**
 * VTU and VTP inputs cost 0.3 and 0.5 ms CPU each (XML parse, base64, zlib): 5,000 and 4,000 keep the mesh, surface,
 * FE and FHIR targets at 13 s of CPU in all (measured with two long fuzz runs beside them); under the 1e4 floor,
 * which long runs cover.
 */
const CI_RUNS_VTK_XML = 5_000;
const CI_RUNS_VTP = 4_000;
/**
 * An FE case input costs 1.6 ms CPU (a sixth of them solve: assembly, CG, stresses on the 6-tet cube): 2,000 (3 s);
 * under the 1e4 floor, which long runs cover.
 */
const CI_RUNS_FEM = 2_000;

/**
 * Builds the targets. `long`: the whole DICOM corpus (CI keeps to its small files, so an input costs about 1 ms) and
 * every fixture .msh (CI: the two smallest, 14 and 44 kB).
 * Returns them with a cleanup for the temp folder of the .mhd target.
 */
export function fuzzTargets(long = false): { entries: TargetEntry[]; cleanup: () => void } {
  const mhd = mhdTarget();
  const entries: TargetEntry[] = [
    { target: dicomTarget(REPO_ROOT, long), ciRuns: CI_RUNS_FLOOR },
    { target: niftiTarget(REPO_ROOT), ciRuns: CI_RUNS_FLOOR },
    { target: niftiGzTarget(REPO_ROOT), ciRuns: CI_RUNS_NII_GZ },
    { target: mhaTarget(REPO_ROOT), ciRuns: CI_RUNS_FLOOR },
    { target: mhd.target, ciRuns: CI_RUNS_MHD },
    { target: configTarget(REPO_ROOT), ciRuns: CI_RUNS_FLOOR },
    { target: samplesTarget(), ciRuns: CI_RUNS_FLOOR },
    { target: resultsTarget(REPO_ROOT), ciRuns: CI_RUNS_FLOOR },
    { target: mshTarget(REPO_ROOT, long), ciRuns: CI_RUNS_FLOOR },
    { target: vtuTarget(REPO_ROOT), ciRuns: CI_RUNS_VTK_XML },
    ...surfaceTargets(REPO_ROOT).map((target) => ({ target, ciRuns: target.name.includes('.vtp') ? CI_RUNS_VTP : CI_RUNS_FLOOR })),
    { target: planTarget(), ciRuns: CI_RUNS_FLOOR },
    { target: femTarget(), ciRuns: CI_RUNS_FEM },
    { target: fhirTarget(), ciRuns: CI_RUNS_FLOOR },
  ].map((e) => e as unknown as TargetEntry);
  return { entries, cleanup: mhd.cleanup };
}
