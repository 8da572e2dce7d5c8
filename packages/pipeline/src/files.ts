// Browser-safe: a pipeline result as the bytes of its output files plus their manifest. node.ts writes these bytes
// to disk (atomically); a worker or a web page hands them to the user as downloads.
import type { JsonValue, ManifestInput, RunManifest } from '@physiotwin/core';
import { createManifest, sha256Hex, throwIfAborted } from '@physiotwin/core';
import type { ResultQuantity, ResultsBundleOptions } from '@physiotwin/fhir';
import { fhirBundleJson } from '@physiotwin/fhir';
import type { ZeroDModel } from '@physiotwin/hemo';
import { tableToCsv } from '@physiotwin/hemo';
import { writeNifti, writeStl, writeVtp, writeVtpPolylines, writeVtu } from '@physiotwin/io';
import type { Centerlines } from '@physiotwin/mesh';
import { centerlinesToPolylines } from '@physiotwin/mesh';
import type { PipelineResult, StageName } from './pipeline.js';
import { volumeHash } from './pipeline.js';
import { reportHtml } from './report.js';

/** The files of an output folder, by what they hold. */
export const OUTPUT_FILES = {
  volume: 'volume.nii.gz',
  labelmap: 'labelmap.nii.gz',
  lumenVtp: 'lumen.vtp',
  lumenStl: 'lumen.stl',
  centerlinesVtp: 'centerlines.vtp',
  centerlinesJson: 'centerlines.json',
  model: 'model.json',
  results: 'results.csv',
  wall: 'wall.vtu',
  report: 'report.html',
  fhirBundle: 'fhir-bundle.json',
  manifest: 'manifest.json',
} as const;

/** The files each stage writes (their hashes let `--resume` trust them). */
const STAGE_FILES: Record<StageName, readonly string[]> = {
  segment: [OUTPUT_FILES.labelmap],
  surface: [OUTPUT_FILES.lumenVtp, OUTPUT_FILES.lumenStl],
  centerlines: [OUTPUT_FILES.centerlinesVtp, OUTPUT_FILES.centerlinesJson],
  zeroD: [OUTPUT_FILES.model],
  simulate: [OUTPUT_FILES.results],
  // The wall mesh is written with its solution (wall.vtu): neither is read back, both run again on --resume.
  wall: [],
  fe: [OUTPUT_FILES.wall],
};

/** One stage in `manifest.json`. */
export interface StageManifest {
  stage: StageName;
  key: string;
  parameters: JsonValue;
  backend: string;
  ms: number;
  reused: boolean;
  /** file name -> SHA-256 */
  outputs: Record<string, string>;
  /** zeroD only: what the model file does not hold. */
  model?: Omit<ZeroDModel, 'config'>;
}

/** The pipeline's manifest: the run manifest plus one record per stage. */
export type PipelineManifest = RunManifest & { stages: StageManifest[] };

/** Options of {@link pipelineFiles}. */
export interface PipelineFilesOptions {
  /** Package name -> version, recorded in the manifest. @default {} */
  packages?: Record<string, string> | undefined;
  /** The input as read (a file, or the DICOM files), hashed into the manifest. @default the input volume's hash */
  inputs?: Array<ManifestInput | { name: string; data: Uint8Array }> | undefined;
  /** Stops the encoding between files. */
  signal?: AbortSignal | undefined;
  /** The report's HTML. @default {@link reportHtml} of the result */
  reportHtml?: string | undefined;
  /** FHIR references the results derive from besides the input files (e.g. the Observations of `--fhir-in`), for `fhir-bundle.json`. @default [] */
  derivedFrom?: ResultsBundleOptions['derivedFrom'] | undefined;
  /**
   * When the results were issued (ISO 8601 instant), for `fhir-bundle.json`'s times. @default none: the bundle
   * holds no time, so the same input and results give the same bytes (see `resultsBundle` of @physiotwin/fhir)
   */
  issued?: string | undefined;
}

/** What {@link pipelineFiles} returns. */
export interface PipelineFiles {
  /** File name (one of {@link OUTPUT_FILES}) -> its bytes, in the order of OUTPUT_FILES (manifest.json last). */
  files: Map<string, Uint8Array>;
  /** The content of `manifest.json`, parsed. */
  manifest: PipelineManifest;
}

/** `centerlines.json`: the centerlines as plain JSON arrays (node.ts's `resumeFrom` reads it back). */
function centerlinesJson(c: Centerlines): string {
  return JSON.stringify({ points: [...c.points], radius: [...c.radius], area: [...c.area], abscissa: [...c.abscissa], branchId: [...c.branchId], branches: c.branches, inletVoxel: c.inletVoxel, outletVoxels: c.outletVoxels });
}

const utf8 = (text: string): Uint8Array => new TextEncoder().encode(text);

/** The bytes of every stage output, by file name. */
function encodeOutputs(result: PipelineResult, signal: AbortSignal | undefined): Map<string, Uint8Array> {
  const files = new Map<string, Uint8Array>();
  const add = (name: string, make: () => Uint8Array | string) => {
    throwIfAborted(signal, 'encoding the pipeline outputs');
    const data = make();
    files.set(name, typeof data === 'string' ? utf8(data) : data);
  };
  add(OUTPUT_FILES.volume, () => writeNifti(result.input.volume, { gzip: true }));
  add(OUTPUT_FILES.labelmap, () => writeNifti(result.labelmap, { gzip: true }));
  add(OUTPUT_FILES.lumenVtp, () => writeVtp(result.surface));
  add(OUTPUT_FILES.lumenStl, () => writeStl(result.surface));
  add(OUTPUT_FILES.centerlinesVtp, () => writeVtpPolylines(centerlinesToPolylines(result.centerlines)));
  add(OUTPUT_FILES.centerlinesJson, () => centerlinesJson(result.centerlines));
  add(OUTPUT_FILES.model, () => JSON.stringify(result.model.config, null, 2) + '\n');
  add(OUTPUT_FILES.results, () => tableToCsv(result.results));
  const { mesh, fe } = result.wall;
  add(OUTPUT_FILES.wall, () =>
    writeVtu({
      ...mesh,
      pointData: { displacement: { values: fe.displacement, components: 3 }, vonMises: { values: fe.nodalVonMises, components: 1 }, stress: { values: fe.nodalStress, components: 6 } },
      cellData: { vonMises: { values: fe.vonMises, components: 1 }, stress: { values: fe.stress, components: 6 } },
    }),
  );
  return files;
}

/** The result quantities of `fhir-bundle.json`: peak wall stress, and mean pressure and flow at the inlet and each outlet. */
function resultQuantities(result: PipelineResult): ResultQuantity[] {
  const q: ResultQuantity[] = [{ code: 'peak-wall-stress', display: 'Peak wall von Mises stress at peak systole', value: result.wall.peakVonMisesMpa, ucum: 'MPa' }];
  const ends = [{ id: 'inlet', name: 'inlet', w: result.hemo.inlet }, ...result.hemo.outlets.map((w, k) => ({ id: `outlet-${k + 1}`, name: `outlet ${k + 1} (${w.boundary})`, w }))];
  for (const { id, name, w } of ends) {
    q.push({ code: `mean-pressure-${id}`, display: `Mean pressure at the ${name}`, value: w.meanPressureMmHg, ucum: 'mm[Hg]' });
    q.push({ code: `mean-flow-${id}`, display: `Mean flow at the ${name}`, value: w.meanFlowMlPerS, ucum: 'mL/s' });
  }
  return q;
}

/**
 * A pipeline result as the bytes of its output files, in memory (browser-safe; `writePipelineOutputs` of
 * `@physiotwin/pipeline/node` writes exactly these bytes): the volume and labelmap (`.nii.gz`), the lumen
 * (`lumen.vtp`, `lumen.stl`), the centerlines (`centerlines.vtp`, and `centerlines.json` for `--resume`), the 0D
 * config (`model.json`, svZeroDSolver input) and its results (`results.csv`), the wall mesh with point arrays
 * `displacement` (mm), `vonMises` and `stress` (MPa) and the same per tet (`wall.vtu`), `report.html`,
 * `fhir-bundle.json` (FHIR R4 collection: one Observation per result quantity, a DiagnosticReport, the run's
 * Provenance; `derivedFrom` the inputs by SHA-256 and `options.derivedFrom`; no time unless `options.issued`, so
 * two runs on the same input give the same bytes) and `manifest.json` (inputs with
 * SHA-256, parameters, per-stage key, backend, time and output hashes, package versions).
 * @example
 * ```ts
 * const { files } = await pipelineFiles(await runPipeline({ volume, seeds }));
 * const blob = new Blob([files.get('report.html')!], { type: 'text/html' });
 * ```
 * @throws PhysiotwinError `ABORTED` (between files), `INVALID_ARGUMENT` (a volume NIfTI-1 cannot hold: dims above
 *   32767).
 */
export async function pipelineFiles(result: PipelineResult, options: PipelineFilesOptions = {}): Promise<PipelineFiles> {
  const files = encodeOutputs(result, options.signal);
  const hashes: Record<string, string> = {};
  const written: ManifestInput[] = [];
  for (const [name, data] of files) {
    hashes[name] = await sha256Hex(data);
    written.push({ name, sha256: hashes[name], bytes: data.byteLength });
  }
  const stages: StageManifest[] = result.stages.map((s) => ({
    stage: s.stage,
    key: s.key,
    parameters: s.parameters,
    backend: s.backend,
    ms: Math.round(s.ms),
    reused: s.reused,
    outputs: Object.fromEntries(STAGE_FILES[s.stage].map((f) => [f, hashes[f]!])),
    ...(s.stage === 'zeroD' ? { model: { vessels: result.model.vessels, outlets: result.model.outlets, meanInletPressureMmHg: result.model.meanInletPressureMmHg, iterations: result.model.iterations } } : {}),
  }));
  const inputs: Array<ManifestInput | { name: string; data: Uint8Array }> = options.inputs ?? [{ name: result.input.name ?? 'volume', sha256: await volumeHash(result.input.volume), bytes: result.input.volume.data.byteLength }];
  const gpu = result.stages.find((s) => s.backend === 'webgpu');
  const run = await createManifest({
    tool: 'physiotwin pipeline',
    inputs,
    parameters: { seeds: result.input.seeds.map((s) => [...s]), targets: { ...result.targets } },
    packages: options.packages ?? {},
    backend: gpu ? { backend: 'webgpu', adapter: gpu.adapter } : { backend: 'cpu' },
    timings: Object.fromEntries(result.stages.map((s) => [s.stage, Math.round(s.ms)])),
  });
  const manifest: PipelineManifest = { ...run, stages };
  throwIfAborted(options.signal, 'encoding the pipeline outputs');
  files.set(OUTPUT_FILES.report, utf8(options.reportHtml ?? reportHtml(result)));
  files.set(OUTPUT_FILES.fhirBundle, utf8(await fhirBundleJson({ manifest, results: resultQuantities(result), outputs: written, derivedFrom: options.derivedFrom ?? [], issued: options.issued })));
  files.set(OUTPUT_FILES.manifest, utf8(JSON.stringify(manifest, null, 2) + '\n'));
  return { files, manifest };
}
