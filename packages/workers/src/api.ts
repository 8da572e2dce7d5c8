// The worker's side: the ops a PhysiotwinWorker calls, run on this thread with a local AbortController (aborted by
// the caller's shared flag or an `abort(id)` message), progress forwarded, errors sent back with their code, and
// every result's buffers transferred back. Each op's package loads on its first call (a worker that only runs
// ensembles never loads the pipeline; bundlers split them into chunks).
import * as Comlink from 'comlink';
import type { ProgressEvent, SurfaceMesh, TetMesh, Vec3, Volume } from '@physiotwin/core';
import { PhysiotwinError, conversionFactor, isPhysiotwinError, throwIfAborted } from '@physiotwin/core';
import { describeAdapter } from '@physiotwin/gpu';
import type { DicomSource, LoadedVolume, LoadVolumeOptions, ScanOptions, SeriesGroup } from '@physiotwin/dicom';
import type { FemProblem, FemResult } from '@physiotwin/fem';
import type { ReadVolumeOptions } from '@physiotwin/io';
import type { EnsembleOptions, EnsembleSamples, EnsembleSummary, SvZeroDConfig } from '@physiotwin/hemo';
import type { SurfacePipelineResult, SurfacePipelineSpec, TetMeshLabelsSpec, TetMeshResult, VesselWallResult, VesselWallSpec } from '@physiotwin/mesh';
import type { PipelineFilesOptions, PipelineInput, PipelineResult, PipelineTargets } from '@physiotwin/pipeline';
import type { VesselResult, VesselSpec } from '@physiotwin/segment';
import type { PipelineSummary, SeriesHandle, WireError, WireOptions, WireProgress, WireResult, WorkerInfo, WorkerPipelineResult, WorkerScan } from './protocol.js';
import { transferables } from './transfer.js';

/** Options of the worker's `runPipeline` beyond backend, signal and progress. */
export interface PipelineCallOptions {
  targets?: PipelineTargets | undefined;
  /**
   * Encode the output files (`pipelineFiles`: NIfTI, VTP, STL, VTU, CSV, report, FHIR bundle, manifest) in the
   * worker and send them back; an object passes its options (package versions, inputs, derivedFrom). @default true
   */
  files?: boolean | Omit<PipelineFilesOptions, 'signal'> | undefined;
}

/** The files of one DICOM study, as the worker receives them. */
export interface DicomFile {
  name: string;
  bytes: ArrayBuffer | Uint8Array;
}

/** A volume file as the worker receives it: .mha, .nii or .nii.gz (an .mhd's separate data file cannot follow it). */
export interface VolumeFile {
  name: string;
  bytes: ArrayBuffer | Uint8Array;
}

/** The tet mesh fields `tetBoundarySurface` reads (send only these: every typed array of a call's arguments moves). */
export type BoundaryMesh = Pick<TetMesh, 'positions' | 'boundaryFaces' | 'boundaryLabels'>;

interface Running {
  controller: AbortController;
  flag: Int32Array | undefined;
}

/** The options an op runs with: the wire's backend, a local signal, and progress that also polls the shared flag. */
interface Local {
  backend: 'auto' | 'cpu' | 'webgpu' | undefined;
  signal: AbortSignal;
  onProgress: (e: ProgressEvent) => void;
}

function wireError(e: unknown): WireError {
  if (isPhysiotwinError(e)) {
    return { code: e.code, name: e.name, message: e.message, stack: e.stack, location: e.location ? { ...e.location } : undefined, details: e.details ? { ...e.details } : undefined };
  }
  if (e instanceof Error) return { name: e.name, message: e.message, stack: e.stack };
  return { name: 'Error', message: String(e) };
}

/** The WebGPU adapter this thread's navigator.gpu offers (what 'auto' and 'webgpu' calls use), without a device. */
async function probeAdapter(): Promise<WorkerInfo['webgpu']> {
  const gpu = (globalThis.navigator as (Navigator & { gpu?: GPU }) | undefined)?.gpu;
  // Node's worker threads have no navigator.gpu: they run on the CPU unless a call asks for 'webgpu' (Dawn then).
  if (!gpu) return { available: false, reason: 'this worker has no navigator.gpu' };
  try {
    const adapter = await gpu.requestAdapter();
    return adapter ? { available: true, adapter: describeAdapter(adapter) } : { available: false, reason: 'navigator.gpu returned no adapter' };
  } catch (e) {
    return { available: false, reason: e instanceof Error ? e.message : String(e) };
  }
}

/** The result, marked so that comlink transfers its buffers instead of copying them. */
function moved<T>(value: T): WireResult<T> {
  const r: WireResult<T> = { ok: true, value };
  return Comlink.transfer(r, transferables(value));
}

/** What the worker exposes (internal: PhysiotwinWorker is the public face). */
export function createWorkerApi() {
  const running = new Map<number, Running>();
  const scans = new Map<number, { groups: SeriesGroup[]; sources: DicomSource[] }>();
  let nextScan = 1;

  async function run<T>(wire: WireOptions, progress: WireProgress, op: (o: Local) => Promise<T>): Promise<WireResult<T>> {
    const controller = new AbortController();
    const flag = wire.abortFlag;
    running.set(wire.id, { controller, flag });
    const poll = () => {
      if (flag && !controller.signal.aborted && Atomics.load(flag, 0) !== 0) controller.abort();
    };
    let delivered: unknown;
    const local: Local = {
      backend: wire.backend,
      signal: controller.signal,
      onProgress: (e) => {
        // Ops report progress between units of work, right where they check the signal: the caller's abort
        // reaches a busy op here even when this thread's event loop is blocked.
        poll();
        delivered = progress?.({ stage: e.stage, done: e.done, total: e.total });
      },
    };
    try {
      poll();
      return moved(await op(local));
    } catch (e) {
      return { ok: false, error: wireError(e) };
    } finally {
      running.delete(wire.id);
      if (progress) {
        // The last event's answer: every event reached the caller before the result does (one port, in order).
        await Promise.resolve(delivered).catch(() => {});
        (progress as unknown as { [Comlink.releaseProxy](): void })[Comlink.releaseProxy]();
      }
    }
  }

  const seriesGroup = async (handle: SeriesHandle | number, volume: number | undefined): Promise<{ group: SeriesGroup; sources: DicomSource[] }> => {
    const { volumeGroups } = await import('@physiotwin/dicom');
    const h = typeof handle === 'number' ? { scan: nextScan - 1, series: handle } : handle;
    const scan = scans.get(h.scan);
    if (!scan) throw new PhysiotwinError('INVALID_ARGUMENT', `no scan ${h.scan} in this worker (released, or made by another worker)`);
    const group = scan.groups[h.series];
    if (!group) throw new PhysiotwinError('INVALID_ARGUMENT', `scan ${h.scan} has no series ${h.series} (it has ${scan.groups.length})`);
    const groups = volumeGroups(group);
    const v = volume ?? 0;
    if (!Number.isInteger(v) || v < 0 || v >= groups.length) throw new PhysiotwinError('INVALID_ARGUMENT', `series ${h.series} has ${groups.length} volume(s): volume ${v} is not one of them`);
    return { group: groups[v]!, sources: scan.sources };
  };

  return {
    /** Aborts a running call (the message path, for callers without SharedArrayBuffer). */
    abort(id: number): void {
      running.get(id)?.controller.abort();
    },

    scanDicom(files: DicomFile[], options: Pick<ScanOptions, 'strict' | 'splitBy' | 'fourD' | 'maxInflatedBytes'>, wire: WireOptions, progress: WireProgress): Promise<WireResult<WorkerScan>> {
      return run(wire, progress, async (o) => {
        if (!Array.isArray(files)) throw new PhysiotwinError('INVALID_ARGUMENT', 'scanDicom: give an array of { name, bytes } files');
        const sources: DicomSource[] = files.map((f, i) => {
          const b = f?.bytes;
          if (!(b instanceof ArrayBuffer || b instanceof Uint8Array)) throw new PhysiotwinError('INVALID_ARGUMENT', `scanDicom: file ${i} (${String(f?.name)}) has no bytes (an ArrayBuffer or Uint8Array)`);
          return { name: String(f.name), bytes: b instanceof Uint8Array ? b : new Uint8Array(b) };
        });
        const { scanDicom } = await import('@physiotwin/dicom');
        const scan = await scanDicom(sources, { ...options, signal: o.signal, onProgress: o.onProgress });
        const id = nextScan++;
        scans.set(id, { groups: scan.groups, sources: scan.sources });
        return {
          scan: id,
          series: scan.groups.map((g, series) => ({
            handle: { scan: id, series },
            seriesInstanceUid: g.seriesInstanceUid,
            modality: g.modality,
            seriesDescription: g.seriesDescription,
            transferSyntaxes: g.transferSyntaxes,
            pixel: g.pixel,
            geometry: g.geometry,
            volumeCount: g.volumes.length,
            fourthAxis: g.fourthAxis,
            acquisition: g.acquisition,
          })),
          skipped: scan.skipped,
        };
      });
    },

    info(wire: WireOptions, progress: WireProgress): Promise<WireResult<WorkerInfo>> {
      return run(wire, progress, async () => {
        const { STAGE_NAMES } = await import('@physiotwin/pipeline');
        return { stages: [...STAGE_NAMES], webgpu: await probeAdapter() };
      });
    },

    conversionFactor(from: string, to: string, wire: WireOptions, progress: WireProgress): Promise<WireResult<number>> {
      return run(wire, progress, async () => conversionFactor(String(from), String(to)));
    },

    readVolume(file: VolumeFile, options: Pick<ReadVolumeOptions, 'maxDecodedBytes'>, wire: WireOptions, progress: WireProgress): Promise<WireResult<Volume>> {
      return run(wire, progress, async (o) => {
        const b = file?.bytes;
        if (!(b instanceof ArrayBuffer || b instanceof Uint8Array)) throw new PhysiotwinError('INVALID_ARGUMENT', `readVolume: ${String(file?.name)} has no bytes (an ArrayBuffer or Uint8Array)`);
        const { readVolume } = await import('@physiotwin/io');
        throwIfAborted(o.signal);
        return readVolume(b instanceof Uint8Array ? b : new Uint8Array(b), { name: String(file.name), maxDecodedBytes: options.maxDecodedBytes });
      });
    },

    tetBoundarySurface(mesh: BoundaryMesh, nodal: { name: string; values: ArrayLike<number> } | undefined, labels: readonly number[] | undefined, wire: WireOptions, progress: WireProgress): Promise<WireResult<SurfaceMesh>> {
      return run(wire, progress, async () => (await import('@physiotwin/mesh')).tetBoundarySurface(mesh, nodal, labels));
    },

    releaseScan(scan: number): WireResult<undefined> {
      scans.delete(scan);
      return { ok: true, value: undefined };
    },

    loadVolume(series: SeriesHandle | number, options: Omit<LoadVolumeOptions, 'signal' | 'onProgress'> & { volume?: number | undefined }, wire: WireOptions, progress: WireProgress): Promise<WireResult<LoadedVolume>> {
      return run(wire, progress, async (o) => {
        const { volume, ...rest } = options;
        const { group, sources } = await seriesGroup(series, volume);
        const { loadVolume } = await import('@physiotwin/dicom');
        return loadVolume(group, sources, { ...rest, signal: o.signal, onProgress: o.onProgress });
      });
    },

    segmentVessel(volume: Volume, seeds: readonly Vec3[], spec: VesselSpec, wire: WireOptions, progress: WireProgress): Promise<WireResult<VesselResult>> {
      return run(wire, progress, async (o) => (await import('@physiotwin/segment')).segmentVessel(volume, seeds, spec, o));
    },

    surfaceFromVolume(volume: Volume, spec: SurfacePipelineSpec, wire: WireOptions, progress: WireProgress): Promise<WireResult<SurfacePipelineResult>> {
      return run(wire, progress, async (o) => (await import('@physiotwin/mesh')).surfaceFromVolume(volume, spec, o));
    },

    tetMeshLabels(labelmap: Volume, spec: TetMeshLabelsSpec, wire: WireOptions, progress: WireProgress): Promise<WireResult<Omit<TetMeshResult, 'snapEdge'>>> {
      return run(wire, progress, async (o) => {
        const { tetMeshLabels } = await import('@physiotwin/mesh');
        const { mesh, quality } = tetMeshLabels(labelmap, spec, { signal: o.signal, onProgress: o.onProgress });
        return { mesh, quality };
      });
    },

    vesselWall(labelmap: Volume, spec: VesselWallSpec, wire: WireOptions, progress: WireProgress): Promise<WireResult<Omit<VesselWallResult, 'snapEdge'>>> {
      return run(wire, progress, async (o) => {
        const { vesselWall } = await import('@physiotwin/mesh');
        const { mesh, quality, ends } = vesselWall(labelmap, spec, { signal: o.signal, onProgress: o.onProgress });
        return { mesh, quality, ends };
      });
    },

    solveFem(problem: FemProblem, wire: WireOptions, progress: WireProgress): Promise<WireResult<FemResult>> {
      return run(wire, progress, async (o) => (await import('@physiotwin/fem')).solve(problem, o));
    },

    simulateEnsemble(config: SvZeroDConfig, samples: EnsembleSamples, options: Omit<EnsembleOptions, 'backend' | 'gpu' | 'signal' | 'onProgress'>, wire: WireOptions, progress: WireProgress): Promise<WireResult<EnsembleSummary>> {
      return run(wire, progress, async (o) => (await import('@physiotwin/hemo')).simulateEnsemble(config, samples, { ...options, ...o }));
    },

    runPipeline(input: PipelineInput, options: PipelineCallOptions, wire: WireOptions, progress: WireProgress): Promise<WireResult<WorkerPipelineResult>> {
      return run(wire, progress, async (o) => {
        const { pipelineFiles, runPipeline } = await import('@physiotwin/pipeline');
        const result = await runPipeline(input, { ...o, targets: options.targets });
        const files = options.files === false ? undefined : await pipelineFiles(result, { ...(typeof options.files === 'object' ? options.files : {}), signal: o.signal });
        return { ...pipelineParts(result), files: files?.files, manifest: files?.manifest };
      });
    },
  };
}

/** The worker's API type (what comlink wraps on the caller's side). */
export type WorkerApi = ReturnType<typeof createWorkerApi>;

/** The parts of a pipeline result a caller needs, without the FE's Gauss-point and reaction arrays. */
function pipelineParts(r: PipelineResult): Omit<WorkerPipelineResult, 'files' | 'manifest'> {
  const { mesh, fe } = r.wall;
  const summary: PipelineSummary = {
    name: r.input.name ?? 'volume',
    lumenVoxels: r.lumenVoxels,
    lumenVolumeMm3: r.lumenVolumeMm3,
    surfaceTriangles: r.surface.triangles.length / 3,
    surfacePoints: r.surface.positions.length / 3,
    wallTets: mesh.tets.length / mesh.nodesPerTet,
    wallNodes: mesh.positions.length / 3,
    hemo: r.hemo,
    model: { vessels: r.model.vessels, outlets: r.model.outlets, meanInletPressureMmHg: r.model.meanInletPressureMmHg, iterations: r.model.iterations },
    wall: { pressureMmHg: r.wall.pressureMmHg, pressureMpa: r.wall.pressureMpa, peakVonMisesMpa: r.wall.peakVonMisesMpa, p99VonMisesMpa: r.wall.p99VonMisesMpa, feIterations: fe.convergence.iterations },
    targets: r.targets,
    stages: r.stages,
    backend: r.backend,
    ...(r.adapter ? { adapter: r.adapter } : {}),
    warnings: r.warnings,
  };
  return {
    summary,
    volume: r.input.volume,
    labelmap: r.labelmap,
    surface: r.surface,
    centerlines: r.centerlines,
    wall: { mesh, displacement: fe.displacement, vonMises: fe.vonMises, nodalVonMises: fe.nodalVonMises },
    results: r.results,
  };
}
