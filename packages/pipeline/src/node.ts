// Node-only: the pipeline's outputs on disk (atomic, with a manifest) and `--resume` from them. The bytes come from
// files.ts (browser-safe), so a web page or a worker gets exactly the files the CLI writes.
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { PhysiotwinError, sha256Hex, throwIfAborted } from '@physiotwin/core';
import type { ZeroDModel } from '@physiotwin/hemo';
import { parseResultTable } from '@physiotwin/hemo';
import { readVolume, readVtp } from '@physiotwin/io';
import { AtomicOutputs, checkOutputs, isInsideFolder, readRegularFile } from '@physiotwin/io/node';
import type { Centerlines } from '@physiotwin/mesh';
import type { PipelineFilesOptions, PipelineManifest } from './files.js';
import { OUTPUT_FILES, pipelineFiles } from './files.js';
import type { PipelineArtefacts, PipelineResult, StageName } from './pipeline.js';

export { OUTPUT_FILES };

/** Every path {@link writePipelineOutputs} writes into `outDir`. @throws nothing. */
export function pipelineOutputPaths(outDir: string): string[] {
  return Object.values(OUTPUT_FILES).map((f) => join(outDir, f));
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

/** Options of {@link writePipelineOutputs}: those of `pipelineFiles` (its `signal` also stops the writing; the staged files are removed) plus `force`. */
export interface WriteOutputsOptions extends PipelineFilesOptions {
  /** Replace existing files (each only by a complete new one). @default false: an existing file is `IO_EXISTS` */
  force?: boolean | undefined;
}

/**
 * Writes a pipeline result into `outDir` (which must exist): the files of `pipelineFiles` (from the main entry),
 * byte for byte: the volume and labelmap (`.nii.gz`), the lumen
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
  const { files, manifest } = await pipelineFiles(result, options);
  const out = new AtomicOutputs({ overwrite: options.force ?? false });
  try {
    for (const [name, data] of files) {
      throwIfAborted(options.signal, 'writing the pipeline outputs');
      await out.stage(join(outDir, name), data);
    }
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
 * @throws PhysiotwinError `IO_INVALID` for a manifest that is not JSON or not a regular file.
 */
export function resumeFrom(outDir: string): (stage: StageName, key: string) => Promise<Partial<PipelineArtefacts> | undefined> {
  const path = join(outDir, OUTPUT_FILES.manifest);
  let manifest: PipelineManifest | undefined;
  if (existsSync(path)) {
    // regular files only (a FIFO would block, a device never end), here and for the outputs it names below
    const text = readRegularFile(path).toString('utf8');
    try {
      manifest = JSON.parse(text) as PipelineManifest;
    } catch (e) {
      throw new PhysiotwinError('IO_INVALID', `not valid JSON: ${(e as Error).message}`, { location: { file: path } });
    }
  }
  return async (stage, key) => {
    const record = manifest?.stages?.find((s) => s.stage === stage);
    if (!record || record.key !== key) return undefined;
    const bytes = new Map<string, Uint8Array>();
    for (const [name, hash] of Object.entries(record.outputs)) {
      // the manifest names outputs inside the folder only: a name that leads out (../, an absolute path) is not reused
      const file = join(outDir, name);
      if (!isInsideFolder(outDir, file) || !existsSync(file)) return undefined;
      let data: Uint8Array;
      try {
        data = new Uint8Array(readRegularFile(file));
      } catch {
        return undefined; // not a regular file, or unreadable: the stage runs again
      }
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
