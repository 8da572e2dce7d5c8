// Node-only: the pipeline's outputs on disk (atomic, with a manifest) and `--resume` from them.
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { JsonValue, ManifestInput, RunManifest } from '@physiotwin/core';
import { createManifest, PhysiotwinError, sha256Hex, throwIfAborted } from '@physiotwin/core';
import type { ResultQuantity, ResultsBundleOptions } from '@physiotwin/fhir';
import { fhirBundleJson } from '@physiotwin/fhir';
import type { ZeroDModel } from '@physiotwin/hemo';
import { parseResultTable, tableToCsv } from '@physiotwin/hemo';
import { readVolume, readVtp, writeStl, writeVtp, writeVtpPolylines, writeVtu } from '@physiotwin/io';
import { AtomicOutputs, checkOutputs, encodeVolumeFile } from '@physiotwin/io/node';
import type { Centerlines } from '@physiotwin/mesh';
import { centerlinesToPolylines } from '@physiotwin/mesh';
import type { PipelineArtefacts, PipelineResult, StageName } from './pipeline.js';
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
interface StageManifest {
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
type PipelineManifest = RunManifest & { stages: StageManifest[] };

/** Every path {@link writePipelineOutputs} writes into `outDir`. @throws nothing. */
export function pipelineOutputPaths(outDir: string): string[] {
  return Object.values(OUTPUT_FILES).map((f) => join(outDir, f));
}

function centerlinesJson(c: Centerlines): string {
  return JSON.stringify({ points: [...c.points], radius: [...c.radius], area: [...c.area], abscissa: [...c.abscissa], branchId: [...c.branchId], branches: c.branches, inletVoxel: c.inletVoxel, outletVoxels: c.outletVoxels });
}

function parseCenterlines(text: string): Centerlines {
  const j = JSON.parse(text) as Record<string, unknown>;
  return {
    points: Float64Array.from(j.points as number[]),
    radius: Float64Array.from(j.radius as number[]),
    area: Float64Array.from(j.area as number[]),
    abscissa: Float64Array.from(j.abscissa as number[]),
    branchId: Int32Array.from(j.branchId as number[]),
    branches: j.branches as Centerlines['branches'],
    inletVoxel: j.inletVoxel as Centerlines['inletVoxel'],
    outletVoxels: j.outletVoxels as Centerlines['outletVoxels'],
  };
}

/** The bytes of every output, by file name. */
function encodeOutputs(result: PipelineResult): Map<string, Uint8Array | string> {
  const files = new Map<string, Uint8Array | string>();
  files.set(OUTPUT_FILES.volume, encodeVolumeFile(OUTPUT_FILES.volume, result.input.volume)[0]![1]);
  files.set(OUTPUT_FILES.labelmap, encodeVolumeFile(OUTPUT_FILES.labelmap, result.labelmap)[0]![1]);
  files.set(OUTPUT_FILES.lumenVtp, writeVtp(result.surface));
  files.set(OUTPUT_FILES.lumenStl, writeStl(result.surface));
  files.set(OUTPUT_FILES.centerlinesVtp, writeVtpPolylines(centerlinesToPolylines(result.centerlines)));
  files.set(OUTPUT_FILES.centerlinesJson, centerlinesJson(result.centerlines));
  files.set(OUTPUT_FILES.model, JSON.stringify(result.model.config, null, 2) + '\n');
  files.set(OUTPUT_FILES.results, tableToCsv(result.results));
  const { mesh, fe } = result.wall;
  files.set(
    OUTPUT_FILES.wall,
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

/** Options of {@link writePipelineOutputs}. */
export interface WriteOutputsOptions {
  /** Replace existing files (each only by a complete new one). @default false: an existing file is `IO_EXISTS` */
  force?: boolean | undefined;
  /** Package name -> version, recorded in the manifest. @default {} */
  packages?: Record<string, string> | undefined;
  /** The input as read (a file, or the DICOM files), hashed into the manifest. @default the input volume's hash */
  inputs?: Array<ManifestInput | { name: string; data: Uint8Array }> | undefined;
  /** Stops the writing between files; the staged files are removed. */
  signal?: AbortSignal | undefined;
  /** The report's HTML. @default {@link reportHtml} of the result */
  reportHtml?: string | undefined;
  /** FHIR references the results derive from besides the input files (e.g. the Observations of `--fhir-in`), for `fhir-bundle.json`. @default [] */
  derivedFrom?: ResultsBundleOptions['derivedFrom'] | undefined;
}

/**
 * Writes a pipeline result into `outDir` (which must exist): the volume and labelmap (`.nii.gz`), the lumen
 * (`lumen.vtp`, `lumen.stl`), the centerlines (`centerlines.vtp`, and `centerlines.json` for `--resume`), the 0D
 * config (`model.json`, svZeroDSolver input) and its results (`results.csv`), the wall mesh with point arrays
 * `displacement` (mm), `vonMises` and `stress` (MPa) and the same per tet (`wall.vtu`), `report.html`,
 * `fhir-bundle.json` (FHIR R4 collection: one Observation per result quantity, a DiagnosticReport, the run's
 * Provenance; `derivedFrom` the inputs by SHA-256 and `options.derivedFrom`) and `manifest.json` (inputs with
 * SHA-256, parameters, per-stage key, backend, time and output hashes, package versions). All files
 * are staged under temporary names and renamed together at the end (io's AtomicOutputs): an interrupted or failed
 * run leaves no partial file under a final name.
 * @throws PhysiotwinError `IO_EXISTS` (a file exists and not `force`), `IO_NOT_FOUND` (no such folder),
 *   `IO_PERMISSION`, `IO_WRITE_FAILED`, `ABORTED` (nothing is left under a final name).
 */
export async function writePipelineOutputs(outDir: string, result: PipelineResult, options: WriteOutputsOptions = {}): Promise<PipelineManifest> {
  const paths = pipelineOutputPaths(outDir);
  await checkOutputs(paths, { overwrite: options.force ?? false });
  const files = encodeOutputs(result);
  const hashes: Record<string, string> = {};
  const written: ManifestInput[] = [];
  for (const [name, data] of files) {
    hashes[name] = await sha256Hex(data);
    written.push({ name, sha256: hashes[name], bytes: typeof data === 'string' ? Buffer.byteLength(data) : data.byteLength });
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
  const out = new AtomicOutputs({ overwrite: options.force ?? false });
  try {
    for (const [name, data] of files) {
      throwIfAborted(options.signal, 'writing the pipeline outputs');
      await out.stage(join(outDir, name), data);
    }
    await out.stage(join(outDir, OUTPUT_FILES.report), options.reportHtml ?? reportHtml(result));
    await out.stage(join(outDir, OUTPUT_FILES.fhirBundle), await fhirBundleJson({ manifest, results: resultQuantities(result), outputs: written, derivedFrom: options.derivedFrom ?? [] }));
    await out.stage(join(outDir, OUTPUT_FILES.manifest), JSON.stringify(manifest, null, 2) + '\n');
    throwIfAborted(options.signal, 'writing the pipeline outputs');
    await out.commit();
  } catch (e) {
    out.discard();
    throw e;
  }
  return manifest;
}

/**
 * For `runPipeline`'s `reuse` (`--resume`): the artefacts of a stage from the outputs in `outDir` (every stage
 * but the wall mesh and its solution, which run again), when its
 * `manifest.json` records the same stage key (same input, seeds and parameters up to the stage) and every file the
 * stage wrote still has the recorded SHA-256; else undefined (the stage runs again). No manifest: nothing reused.
 * @throws PhysiotwinError `IO_INVALID` for a manifest that is not JSON.
 */
export function resumeFrom(outDir: string): (stage: StageName, key: string) => Promise<Partial<PipelineArtefacts> | undefined> {
  const path = join(outDir, OUTPUT_FILES.manifest);
  let manifest: PipelineManifest | undefined;
  if (existsSync(path)) {
    try {
      manifest = JSON.parse(readFileSync(path, 'utf8')) as PipelineManifest;
    } catch (e) {
      throw new PhysiotwinError('IO_INVALID', `not valid JSON: ${(e as Error).message}`, { location: { file: path } });
    }
  }
  return async (stage, key) => {
    const record = manifest?.stages?.find((s) => s.stage === stage);
    if (!record || record.key !== key) return undefined;
    const bytes = new Map<string, Uint8Array>();
    for (const [name, hash] of Object.entries(record.outputs)) {
      const file = join(outDir, name);
      if (!existsSync(file)) return undefined;
      const data = new Uint8Array(readFileSync(file));
      if ((await sha256Hex(data)) !== hash) return undefined;
      bytes.set(name, data);
    }
    const text = (name: string) => new TextDecoder().decode(bytes.get(name));
    switch (stage) {
      case 'segment': {
        const labelmap = readVolume(bytes.get(OUTPUT_FILES.labelmap)!, { name: OUTPUT_FILES.labelmap }) as PipelineArtefacts['labelmap'];
        let voxels = 0;
        for (const v of labelmap.data) voxels += v === 0 ? 0 : 1;
        return { labelmap, lumenVoxels: voxels, lumenVolumeMm3: voxels * labelmap.spacing[0] * labelmap.spacing[1] * labelmap.spacing[2] };
      }
      case 'surface':
        return { surface: readVtp(bytes.get(OUTPUT_FILES.lumenVtp)!) };
      case 'centerlines':
        return { centerlines: parseCenterlines(text(OUTPUT_FILES.centerlinesJson)) };
      case 'zeroD':
        if (!record.model) return undefined;
        return { model: { ...record.model, config: JSON.parse(text(OUTPUT_FILES.model)) as ZeroDModel['config'] } };
      case 'simulate':
        return { results: parseResultTable(text(OUTPUT_FILES.results), OUTPUT_FILES.results) };
      case 'wall':
      case 'fe':
        return undefined;
    }
  };
}
