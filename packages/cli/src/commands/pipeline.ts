import { rmSync } from 'node:fs';
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import type { Vec3 } from '@physiotwin/core';
import { isPhysiotwinError, PhysiotwinError } from '@physiotwin/core';
import type { CohortRow } from '../cohort-table.js';
import type { CliIO, Command } from '../command.js';
import { backendFlag, EXIT, FLAGS, numberFlag, readInputFile, requiredOut, seedOption, seedsFlag, UsageError } from '../command.js';
import { runPipelineCommand, type FhirIn, type PipelineRun } from '../pipeline-run.js';

/**
 * Reads a FHIR R4 Bundle of Observations (`--fhir-in`): mean arterial pressure, cardiac output and heart rate
 * become the pipeline's targets (@physiotwin/fhir's targetsFromBundle).
 * @throws PhysiotwinError `FHIR_INVALID` (not JSON, not a Bundle, a wrong unit or a value out of range, naming the
 *   resource and the path), `IO_NOT_FOUND`, `IO_PERMISSION`.
 */
async function readFhirIn(path: string): Promise<FhirIn> {
  const { targetsFromBundle } = await import('@physiotwin/fhir');
  const data = new Uint8Array(readInputFile(path));
  let bundle: unknown;
  try {
    bundle = JSON.parse(new TextDecoder().decode(data));
  } catch (e) {
    throw new PhysiotwinError('FHIR_INVALID', `not valid JSON: ${(e as Error).message}`, { location: { file: path }, cause: e });
  }
  const t = targetsFromBundle(bundle as Parameters<typeof targetsFromBundle>[0]);
  return { file: { name: path, data }, targets: { mapPressureMmHg: t.meanPressure, cardiacOutputLPerMin: t.cardiacOutput, heartRateBpm: t.measurements.heartRate }, sources: t.sources as FhirIn['sources'] };  // targetsFromBundle's sources are references to Observations
}

/**
 * The targets of a run: the flags', and the bundle's where it gives one. A target given by both is a usage error
 * (no silent choice between two values for the same quantity).
 */
function mergeTargets(flags: PipelineRun['targets'], fhirIn: FhirIn | undefined): PipelineRun['targets'] {
  if (!fhirIn) return flags;
  const names: Record<keyof PipelineRun['targets'], string> = { mapPressureMmHg: '--map-pressure', cardiacOutputLPerMin: '--cardiac-output', wallMm: '--wall-mm', heartRateBpm: 'heart rate' };
  const out = { ...flags };
  for (const key of Object.keys(names) as (keyof PipelineRun['targets'])[]) {
    const v = fhirIn.targets[key];
    if (v === undefined) continue;
    if (flags[key] !== undefined) throw new UsageError(`${names[key]} and the --fhir-in bundle both give this target: give it once`);
    out[key] = v;
  }
  return out;
}


/** A number cell of a cohort row; undefined when empty. @throws PhysiotwinError `IO_INVALID` for anything else */
function rowNumber(row: CohortRow, column: string): number | undefined {
  const text = row.extra[column];
  if (text === undefined || text === '') return undefined;
  const v = Number(text);
  if (!Number.isFinite(v)) throw new PhysiotwinError('IO_INVALID', `row '${row.id}': ${column} '${text}' is not a number`);
  return v;
}

/** The `seeds` cell of a cohort row: voxels `i j k`, separated by `;`. @throws PhysiotwinError `IO_INVALID` */
function rowSeeds(row: CohortRow): Vec3[] {
  const text = row.extra.seeds ?? '';
  const seeds = text.split(';').map((t) => t.trim().split(/\s+/).map(Number));
  if (text.trim() === '' || seeds.some((s) => s.length !== 3 || !s.every(Number.isFinite))) throw new PhysiotwinError('IO_INVALID', `row '${row.id}': seeds must be voxels 'i j k' separated by ';', got '${text}'`);
  return seeds as Vec3[];
}

/**
 * Runs row `index` (a number or `auto`) of a cohort table: the pipeline on its input with its seeds and targets
 * into its output folder, plus results.json. A row already done (manifest.json) is skipped unless `force`/`resume`.
 * A failed row leaves error.json (its code) for `physiotwin cohort summary`, and the error is rethrown.
 */
async function runCohortRow(table: string, index: string, flags: Pick<PipelineRun, 'backend' | 'force' | 'resume' | 'quiet' | 'json'>, io: CliIO): Promise<number> {
  const { cohortRow, readCohort, rowState, writeCohortError, COHORT_ERROR_FILE } = await import('../cohort-table.js');
  const row = cohortRow(readCohort(table), index);
  if (!flags.force && !flags.resume && rowState(row.output).state === 'done') {
    if (!flags.quiet) io.stderr(`physiotwin pipeline: row '${row.id}' is done (${row.output}/manifest.json); skipped (--force runs it again)\n`);
    return EXIT.ok;
  }
  try {
    const targets = { mapPressureMmHg: rowNumber(row, 'map-pressure'), cardiacOutputLPerMin: rowNumber(row, 'cardiac-output'), wallMm: rowNumber(row, 'wall-mm') };
    const code = await runPipelineCommand({ ...flags, input: row.input, outDir: row.output, seeds: rowSeeds(row), targets, results: `${row.output}/results.json` }, io);
    if (code === EXIT.ok) rmSync(`${row.output}/${COHORT_ERROR_FILE}`, { force: true });
    return code;
  } catch (e) {
    if (isPhysiotwinError(e)) await writeCohortError(row, e);
    throw e;
  }
}

export const pipeline: Command = {
  name: 'pipeline',
  summary: 'CT to model in one run: segment, surface, centerlines, 0D model, simulate, wall mesh, FE, report.html',
  usage: [
    '<dicom-dir|volume> -o <out-dir> --seed i,j,k [--seed i,j,k ...] [--backend auto|cpu|webgpu]',
    '        [--map-pressure mmHg] [--cardiac-output L/min] [--wall-mm t] [--fhir-in bundle.json]',
    '        [--force] [--resume] [--quiet] [--json]',
    '  <dicom-dir|volume>  a folder of DICOM files (its largest series is used) or a .nii/.nii.gz/.mha/.mhd file',
    '  -o <out-dir>        created if missing; gets volume.nii.gz, labelmap.nii.gz, lumen.vtp/.stl, centerlines.vtp,',
    '                      centerlines.json, model.json (svZeroDSolver input), results.csv, wall.vtu (displacement,',
    '                      von Mises and stress at peak systole), report.html, fhir-bundle.json (FHIR R4',
    '                      results, DiagnosticReport, Provenance), manifest.json',
    '  --seed i,j,k        voxel (0-based) inside the contrast-filled lumen; repeat for more vessels',
    '  --map-pressure      target mean arterial pressure, mmHg (default 93)',
    '  --cardiac-output    target cardiac output, L/min (default 5)',
    '  --wall-mm           vessel wall thickness, mm (default 2)',
    '  --fhir-in           FHIR R4 Bundle of Observations (LOINC, UCUM): mean arterial pressure (or systolic and',
    '                      diastolic), cardiac output and heart rate become the targets; a target also given by a',
    '                      flag is refused; the bundle is an input of the manifest',
    '  --backend           where stages with a GPU kernel run (default auto)',
    '  --force             replace existing outputs',
    '  --resume            reuse the stages whose inputs, parameters and output files match manifest.json',
    '                      (the wall mesh and its FE solution always run again)',
    '  --quiet             print nothing but errors;  --json  print a JSON summary on stdout',
    '  Ctrl-C stops the run at once; no partly written file is left under an output name.',
    '   or: physiotwin pipeline --cohort <cohort.csv> --index <i|auto> [--backend ...] [--force] [--resume] [--quiet] [--json]',
    '  runs row i of a cohort table (docs/cluster.md; auto: SLURM_ARRAY_TASK_ID or JOB_COMPLETION_INDEX) into its',
    '  output folder, with results.json (key numbers); columns: input, seeds (voxels \'i j k\' separated by \';\'),',
    '  optionally id, output, map-pressure, cardiac-output, wall-mm. A done row is skipped (unless --force); a',
    '  failed row leaves error.json (its error code) for physiotwin cohort summary, and the exit code is 1.',
  ].join('\n'),
  async run(args, io) {
    const { values, positionals } = parseArgs({
      args,
      options: {
        out: FLAGS.out,
        seed: seedOption(),
        backend: FLAGS.backend,
        'map-pressure': { type: 'string' },
        'cardiac-output': { type: 'string' },
        'wall-mm': { type: 'string' },
        'fhir-in': { type: 'string' },
        force: FLAGS.force,
        resume: { type: 'boolean', default: false },
        quiet: FLAGS.quiet,
        json: FLAGS.json,
        cohort: { type: 'string' },
        index: { type: 'string' },
      },
      allowPositionals: true,
      strict: true,
    });
    const backend = backendFlag(values.backend);
    if (values.cohort !== undefined || values.index !== undefined) {
      if (values.cohort === undefined || values.index === undefined) throw new UsageError('--cohort and --index go together');
      if (positionals.length || values.out || values.seed.length || values['map-pressure'] || values['cardiac-output'] || values['wall-mm'] || values['fhir-in']) throw new UsageError('with --cohort, the input, -o, seeds and targets come from the table row');
      const flags = { backend, force: values.force, resume: values.resume, quiet: values.quiet, json: values.json };
      return runCohortRow(resolve(io.cwd, values.cohort), values.index, flags, io);
    }
    if (positionals.length !== 1) throw new UsageError('give exactly one input: a DICOM folder or a volume file');
    const out = requiredOut(values.out, '<out-dir>');
    if (values.seed.length === 0) throw new UsageError('give at least one --seed i,j,k inside the lumen');
    const flags = { mapPressureMmHg: numberFlag(values['map-pressure'], '--map-pressure'), cardiacOutputLPerMin: numberFlag(values['cardiac-output'], '--cardiac-output'), wallMm: numberFlag(values['wall-mm'], '--wall-mm') };
    const fhirIn = values['fhir-in'] === undefined ? undefined : await readFhirIn(resolve(io.cwd, values['fhir-in']));
    return runPipelineCommand(
      {
        input: resolve(io.cwd, positionals[0]!),
        outDir: resolve(io.cwd, out),
        seeds: seedsFlag(values.seed),
        backend,
        targets: mergeTargets(flags, fhirIn),
        fhirIn,
        force: values.force,
        resume: values.resume,
        quiet: values.quiet,
        json: values.json,
      },
      io,
    );
  },
};
