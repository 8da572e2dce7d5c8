// Running the pipeline as `physiotwin pipeline` does, for the commands that run it (pipeline, its cohort rows, and
// demo): outputs checked first, the input loaded (a DICOM folder or a volume file), progress, the run, the outputs
// written under a SIGINT/SIGTERM guard, and the printed summary. Not a command module: commands import it.
import { existsSync, readFileSync, statSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { resolve } from 'node:path';
import type { ProgressEvent, Vec3 } from '@physiotwin/core';
import { PhysiotwinError } from '@physiotwin/core';
import type { PipelineInput, PipelineResult } from '@physiotwin/pipeline';
import type { ResultsBundleOptions } from '@physiotwin/fhir';
import type { SingleBar } from 'cli-progress';
import type { BackendFlag, CliIO } from './command.js';
import { EXIT, prepareOutputs, printJson, progressPrinter, readInputFile } from './command.js';
import { VERSION } from './version.js';

/** Exit code of an interrupted run: 128 + SIGINT, as a shell reports it and as the CLI's write guard exits. */
const INTERRUPTED = 130;

/** What {@link runPipelineCommand} needs besides the command line: the demo passes its own input. */
export interface PipelineRun {
  input: string;
  outDir: string;
  seeds: Vec3[];
  backend: BackendFlag;
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
export interface FhirIn {
  file: { name: string; data: Uint8Array };
  targets: PipelineRun['targets'];
  sources: NonNullable<ResultsBundleOptions['derivedFrom']>;
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
