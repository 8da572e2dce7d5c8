import { existsSync, readFileSync, rmSync, statSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import type { ProgressEvent, Vec3 } from '@physiotwin/core';
import { isPhysiotwinError, PhysiotwinError } from '@physiotwin/core';
import type { PipelineInput, PipelineResult } from '@physiotwin/pipeline';
import type { ResultsBundleOptions } from '@physiotwin/fhir';
import type { SingleBar } from 'cli-progress';
import type { CohortRow } from '../cohort-table.js';
import type { CliIO, Command } from '../command.js';
import { EXIT, numberFlag, parseTriple, prepareOutputs, printJson, progressPrinter, readInputFile, UsageError } from '../command.js';
import { VERSION } from '../version.js';

const BACKENDS = ['auto', 'cpu', 'webgpu'] as const;
/** Exit code of an interrupted run: 128 + SIGINT, as a shell reports it and as the CLI's write guard exits. */
const INTERRUPTED = 130;

/** What {@link runPipelineCommand} needs besides the command line: the demo passes its own input. */
export interface PipelineRun {
  input: string;
  outDir: string;
  seeds: Vec3[];
  backend: (typeof BACKENDS)[number];
  targets: { mapPressureMmHg?: number | undefined; cardiacOutputLPerMin?: number | undefined; wallMm?: number | undefined; heartRateBpm?: number | undefined };
  /** The `--fhir-in` bundle: hashed into the manifest as an input; its Observations are the results' `derivedFrom`. */
  fhirIn?: FhirIn | undefined;
  force: boolean;
  resume: boolean;
  quiet: boolean;
  json: boolean;
  /** Also write the run's key numbers as JSON to this file (a cohort row's `results.json`), replacing it. */
  results?: string | undefined;
}

/** What `--fhir-in` gives: the bundle file, the targets read from it, and the Observations they came from. */
interface FhirIn {
  file: { name: string; data: Uint8Array };
  targets: PipelineRun['targets'];
  sources: NonNullable<ResultsBundleOptions['derivedFrom']>;
}

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

/** The pipeline's input from a DICOM folder (its largest series) or a volume file, with what to hash for the manifest. */
async function loadInput(path: string, seeds: Vec3[], progress: ((e: ProgressEvent) => void) | undefined): Promise<{ input: PipelineInput; files: { name: string; data: Uint8Array }[] }> {
  if (!existsSync(path)) throw new PhysiotwinError('IO_NOT_FOUND', 'no such file or folder', { location: { file: path } });
  if (statSync(path).isDirectory()) {
    const { loadVolume, volumeGroups } = await import('@physiotwin/dicom');
    const { scanDicomPaths } = await import('@physiotwin/dicom/node');
    const scan = await scanDicomPaths([path], { onProgress: progress });
    const largest = [...scan.groups].sort((a, b) => b.frames.length - a.frames.length)[0];
    if (!largest) throw new PhysiotwinError('INVALID_ARGUMENT', 'no DICOM image series in the folder', { location: { file: path } });
    const loaded = await loadVolume(volumeGroups(largest)[0]!, scan.sources, { spacing: 'resample', onProgress: progress });
    const used = [...new Set(largest.frames.map((f) => f.sourceIndex))].map((i) => scan.sources[i]!.name);
    const files = used.map((name) => ({ name, data: new Uint8Array(readFileSync(name)) }));
    return { input: { volume: loaded.volume, seeds, geometry: loaded.geometry, name: `${path} (series ${largest.seriesInstanceUid}, ${largest.frames.length} images)` }, files };
  }
  const { readVolumeFile } = await import('@physiotwin/io/node');
  const data = new Uint8Array(readInputFile(path));
  return { input: { volume: await readVolumeFile(path), seeds, name: path }, files: [{ name: path, data }] };
}

/** Progress per pipeline stage: a cli-progress bar each on a TTY, plain lines otherwise. */
async function stageProgress(io: CliIO): Promise<{ onProgress: (e: ProgressEvent) => void; stop(): void }> {
  const { STAGE_NAMES } = await import('@physiotwin/pipeline');
  if (!io.isTTY) {
    const inner = progressPrinter(io);
    return {
      onProgress: (e) => {
        if (e.stage === 'pipeline') {
          if (e.done < e.total) io.stderr(`stage ${e.done + 1}/${e.total}: ${STAGE_NAMES[e.done]}\n`);
        } else inner(e);
      },
      stop() {},
    };
  }
  const { MultiBar, Presets } = await import('cli-progress');
  // cli-progress writes escape codes to a stream; the CLI's stderr is a function, so give it a stream's face.
  const stream = { isTTY: true, columns: 100, write: (s: string) => (io.stderr(s), true) } as unknown as NodeJS.WriteStream;
  const bars = new MultiBar({ stream, format: '{stage} [{bar}] {percentage}% {step}', hideCursor: true, clearOnComplete: false, noTTYOutput: false }, Presets.shades_classic);
  let bar: SingleBar | undefined;
  return {
    onProgress: (e) => {
      if (e.stage === 'pipeline') {
        bar?.update(100, { step: 'done' });
        bar = e.done < e.total ? bars.create(100, 0, { stage: STAGE_NAMES[e.done]!.padEnd(11), step: '' }) : undefined;
      } else if (bar && e.total > 0) bar.update(Math.min(100, Math.floor((100 * e.done) / e.total)), { step: e.stage });
    },
    stop: () => bars.stop(),
  };
}

/**
 * Runs the pipeline as `physiotwin pipeline` does: checks the outputs, loads the input, runs, writes. As every
 * writing command (docs/contributing.md): while computing, SIGINT and SIGTERM keep their default effect, so Ctrl-C
 * stops at once even inside a long synchronous step, with nothing written yet; while the outputs are staged, they
 * abort the writing (an AbortSignal), the staged files are removed and the exit code is 130.
 */
export async function runPipelineCommand(run: PipelineRun, io: CliIO): Promise<number> {
  const { runPipeline } = await import('@physiotwin/pipeline');
  const { pipelineOutputPaths, resumeFrom, writePipelineOutputs } = await import('@physiotwin/pipeline/node');
  // --resume rewrites the outputs it checked: it implies replacing them.
  const force = run.force || run.resume;
  await prepareOutputs(pipelineOutputPaths(run.outDir), force, { folder: run.outDir });
  const progress = run.quiet || run.json ? undefined : await stageProgress(io);
  let result: PipelineResult;
  try {
    const { input, files } = await loadInput(run.input, run.seeds, progress?.onProgress);
    result = await runPipeline(input, {
      backend: run.backend,
      targets: run.targets,
      onProgress: progress?.onProgress,
      ...(run.resume ? { reuse: resumeFrom(run.outDir) } : {}),
    });
    progress?.stop();
    await mkdir(run.outDir, { recursive: true });
    const controller = new AbortController();
    const interrupt = (signal: NodeJS.Signals) => controller.abort(new PhysiotwinError('ABORTED', `interrupted by ${signal}`));
    process.on('SIGINT', interrupt);
    process.on('SIGTERM', interrupt);
    try {
      await writePipelineOutputs(run.outDir, result, { force, inputs: run.fhirIn ? [...files, run.fhirIn.file] : files, derivedFrom: run.fhirIn?.sources, packages: { '@physiotwin/cli': VERSION }, signal: controller.signal });
    } catch (e) {
      if (!controller.signal.aborted) throw e;
      io.stderr('physiotwin pipeline: interrupted; nothing written under an output name\n');
      return INTERRUPTED;
    } finally {
      process.off('SIGINT', interrupt);
      process.off('SIGTERM', interrupt);
    }
  } finally {
    progress?.stop();
  }
  if (run.results) await (await prepareOutputs([run.results], true)).write([[run.results, JSON.stringify(keyResults(result), null, 2) + '\n']]);
  const summary = {
    outDir: run.outDir,
    files: pipelineOutputPaths(run.outDir),
    stages: result.stages.map((s) => ({ stage: s.stage, ms: Math.round(s.ms), backend: s.backend, reused: s.reused })),
    hemo: result.hemo,
    lumenVolumeMm3: result.lumenVolumeMm3,
    branches: result.centerlines.branches.length,
    wall: { peakVonMisesMpa: result.wall.peakVonMisesMpa, p99VonMisesMpa: result.wall.p99VonMisesMpa, pressureMmHg: result.wall.pressureMmHg, tets: result.wall.mesh.tets.length / result.wall.mesh.nodesPerTet },
    warnings: result.warnings,
  };
  if (run.json) printJson(io, summary);
  else if (!run.quiet) {
    for (const w of result.warnings) io.stderr(`warning: ${w}\n`);
    const h = result.hemo;
    io.stdout(`${run.outDir}: mean inlet pressure ${h.inlet.meanPressureMmHg.toFixed(1)} mmHg, cardiac output ${h.cardiacOutputLPerMin.toFixed(2)} L/min, ${h.outlets.length} outlets, peak wall von Mises ${result.wall.peakVonMisesMpa.toFixed(3)} MPa; open ${resolve(run.outDir, 'report.html')}\n`);
  }
  return EXIT.ok;
}

/** The numbers `physiotwin cohort summary` lists for a row (units in the names). */
function keyResults(result: PipelineResult): Record<string, number> {
  return {
    meanPressure_mmHg: result.hemo.inlet.meanPressureMmHg,
    cardiacOutput_LPerMin: result.hemo.cardiacOutputLPerMin,
    outlets: result.hemo.outlets.length,
    branches: result.centerlines.branches.length,
    lumenVolume_mm3: result.lumenVolumeMm3,
    peakVonMises_MPa: result.wall.peakVonMisesMpa,
  };
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
        out: { type: 'string', short: 'o' },
        seed: { type: 'string', multiple: true, default: [] },
        backend: { type: 'string', default: 'auto' },
        'map-pressure': { type: 'string' },
        'cardiac-output': { type: 'string' },
        'wall-mm': { type: 'string' },
        'fhir-in': { type: 'string' },
        force: { type: 'boolean', default: false },
        resume: { type: 'boolean', default: false },
        quiet: { type: 'boolean', default: false },
        json: { type: 'boolean', default: false },
        cohort: { type: 'string' },
        index: { type: 'string' },
      },
      allowPositionals: true,
      strict: true,
    });
    if (!(BACKENDS as readonly string[]).includes(values.backend)) throw new UsageError(`--backend must be one of ${BACKENDS.join(', ')}`);
    if (values.cohort !== undefined || values.index !== undefined) {
      if (values.cohort === undefined || values.index === undefined) throw new UsageError('--cohort and --index go together');
      if (positionals.length || values.out || values.seed.length || values['map-pressure'] || values['cardiac-output'] || values['wall-mm'] || values['fhir-in']) throw new UsageError('with --cohort, the input, -o, seeds and targets come from the table row');
      const flags = { backend: values.backend as (typeof BACKENDS)[number], force: values.force, resume: values.resume, quiet: values.quiet, json: values.json };
      return runCohortRow(resolve(io.cwd, values.cohort), values.index, flags, io);
    }
    if (positionals.length !== 1) throw new UsageError('give exactly one input: a DICOM folder or a volume file');
    if (!values.out) throw new UsageError('-o <out-dir> is required');
    if (values.seed.length === 0) throw new UsageError('give at least one --seed i,j,k inside the lumen');
    const flags = { mapPressureMmHg: numberFlag(values['map-pressure'], '--map-pressure'), cardiacOutputLPerMin: numberFlag(values['cardiac-output'], '--cardiac-output'), wallMm: numberFlag(values['wall-mm'], '--wall-mm') };
    const fhirIn = values['fhir-in'] === undefined ? undefined : await readFhirIn(resolve(io.cwd, values['fhir-in']));
    return runPipelineCommand(
      {
        input: resolve(io.cwd, positionals[0]!),
        outDir: resolve(io.cwd, values.out),
        seeds: values.seed.map((s) => parseTriple(s, '--seed') as Vec3),
        backend: values.backend as (typeof BACKENDS)[number],
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
