// The pipeline worker: DICOM scanning, volume reading and the whole pipeline run here, off the page's main thread.
// It keeps the loaded volume (the page gets a copy to show) and sends back what the page draws plus the output files.
import type { Vec3, Volume } from '@physiotwin/core';
import { conversionFactor, isPhysiotwinError, PhysiotwinError } from '@physiotwin/core';
import type { DicomSource, SeriesGroup } from '@physiotwin/dicom';
import type { ResultTable } from '@physiotwin/hemo';
import { loadVolume, scanDicom, volumeGroups } from '@physiotwin/dicom';
import { getSharedGpu } from '@physiotwin/gpu';
import { readVolume } from '@physiotwin/io';
import type { PipelineInput } from '@physiotwin/pipeline';
import { pipelineFiles, runPipeline, STAGE_NAMES } from '@physiotwin/pipeline';
import { tetBoundarySurface } from '@physiotwin/viewer';
import type { GpuInfo, LoadedInput, Reply, Request, RunOutput, SeriesInfo, WireError } from './protocol.js';

interface WorkerScope {
  postMessage(message: Reply, options?: { transfer?: Transferable[] }): void;
  addEventListener(type: 'message', listener: (e: MessageEvent<Request>) => void): void;
}
const scope = self as unknown as WorkerScope;

let scanned: { groups: SeriesGroup[]; sources: DicomSource[] } | undefined;
let current: LoadedInput | undefined;

function copyVolume<T extends Volume>(v: T): T {
  return { ...v, data: v.data.slice() };
}

function wireError(e: unknown): WireError {
  if (isPhysiotwinError(e)) return { code: e.code, message: e.message };
  return { code: 'INTERNAL', message: e instanceof Error ? e.message : String(e) };
}

async function gpuInfo(): Promise<GpuInfo> {
  const stages = [...STAGE_NAMES];
  try {
    const gpu = await getSharedGpu();
    const a = gpu.adapter;
    return { stages, available: true, adapter: [a.vendor, a.architecture, a.description].filter(Boolean).join(' ') + (a.isFallback ? ' (software)' : '') };
  } catch (e) {
    return { stages, available: false, reason: wireError(e).message };
  }
}

/** The inlet vessel's rows of the result table, pressure in mmHg (the 0D results are CGS: dyn/cm^2). */
function inletWaveform(table: ResultTable, vessel: string): RunOutput['inletWaveform'] {
  const toMmHg = conversionFactor('dyn/cm^2', 'mmHg');
  const p = table.values.pressure_in, q = table.values.flow_in;
  const out: RunOutput['inletWaveform'] = { time: [], pressureMmHg: [], flowMlPerS: [] };
  if (!p || !q) return out;
  table.name.forEach((n, i) => {
    if (n !== vessel || !Number.isFinite(table.time[i]!)) return;
    out.time.push(table.time[i]!);
    out.pressureMmHg.push(p[i]! * toMmHg);
    out.flowMlPerS.push(q[i]!);
  });
  return out;
}

async function run(req: Request & { op: 'runPipeline' }, progress: (stage: string, done: number, total: number) => void): Promise<{ value: RunOutput; transfer: Transferable[] }> {
  if (!current) throw new PhysiotwinError('INVALID_ARGUMENT', 'no volume is loaded');
  const input: PipelineInput = { volume: current.volume, seeds: req.seeds as Vec3[], geometry: current.geometry, name: current.name };
  const result = await runPipeline(input, { backend: req.backend, targets: req.targets, onProgress: (e) => progress(e.stage, e.done, e.total) });
  progress('files', 0, 1);
  const { files } = await pipelineFiles(result, { packages: { '@physiotwin/viewer (web app)': '0.1.0' } });
  progress('files', 1, 1);
  const { mesh, fe } = result.wall;
  const kPa = new Float32Array(fe.nodalVonMises.length);
  for (let i = 0; i < kPa.length; i++) kPa[i] = fe.nodalVonMises[i]! * 1000;
  // The outer wall (face label 2) when the mesh labels it, else the whole boundary.
  const labels = mesh.boundaryLabelNames ? Object.entries(mesh.boundaryLabelNames).filter(([, n]) => n === 'outer').map(([k]) => Number(k)) : [];
  const wall = tetBoundarySurface(mesh, { name: 'vonMisesKPa', values: kPa }, labels.length ? labels : undefined);
  const labelmap = copyVolume(result.labelmap);
  const value: RunOutput = {
    backend: result.backend,
    adapter: result.adapter ? [result.adapter.vendor, result.adapter.architecture, result.adapter.description].filter(Boolean).join(' ') : undefined,
    lumenVoxels: result.lumenVoxels,
    lumenVolumeMm3: result.lumenVolumeMm3,
    surfaceTriangles: result.surface.triangles.length / 3,
    wallTets: mesh.tets.length / mesh.nodesPerTet,
    hemo: result.hemo,
    peakVonMisesKPa: result.wall.peakVonMisesMpa * 1000,
    p99VonMisesKPa: result.wall.p99VonMisesMpa * 1000,
    wallPressureMmHg: result.wall.pressureMmHg,
    stages: result.stages,
    warnings: result.warnings,
    labelmap,
    surface: { positions: result.surface.positions.slice(), triangles: result.surface.triangles.slice() },
    wallSurface: { positions: wall.positions, triangles: wall.triangles, vonMisesKPa: wall.pointData!.vonMisesKPa!.values as Float32Array },
    inletWaveform: inletWaveform(result.results, result.hemo.inlet.vessel),
    files: [...files].map(([name, bytes]) => ({ name, bytes })),
  };
  const transfer: Transferable[] = [labelmap.data.buffer, value.surface.positions.buffer, value.surface.triangles.buffer, wall.positions.buffer, wall.triangles.buffer, value.wallSurface.vonMisesKPa.buffer, ...value.files.map((f) => f.bytes.buffer)];
  return { value, transfer: [...new Set(transfer)] as Transferable[] };
}

async function handle(req: Request): Promise<{ value: unknown; transfer: Transferable[] }> {
  let last = 0;
  const progress = (stage: string, done: number, total: number) => {
    // At most every 50 ms, but always the pipeline's own between-stage events: the page's main thread stays free.
    const now = performance.now();
    if (stage !== 'pipeline' && done !== total && now - last < 50) return;
    last = now;
    scope.postMessage({ id: req.id, kind: 'progress', stage, done, total });
  };
  switch (req.op) {
    case 'gpuInfo':
      return { value: await gpuInfo(), transfer: [] };
    case 'scanDicom': {
      const sources: DicomSource[] = req.files.map((f) => ({ name: f.name, bytes: new Uint8Array(f.bytes) }));
      const scan = await scanDicom(sources, { onProgress: (e) => progress(e.stage, e.done, e.total) });
      scanned = { groups: scan.groups, sources: scan.sources };
      const series: SeriesInfo[] = scan.groups.map((g, index) => ({ index, modality: g.modality, description: g.seriesDescription, dims: [...g.geometry.dims], sliceCount: g.geometry.sliceCount, geometry: g.geometry }));
      return { value: { series, skipped: scan.skipped.length }, transfer: [] };
    }
    case 'loadSeries': {
      if (!scanned) throw new PhysiotwinError('INVALID_ARGUMENT', 'no DICOM folder is scanned');
      const group = scanned.groups[req.index];
      if (!group) throw new PhysiotwinError('INVALID_ARGUMENT', `no series ${req.index}`);
      const loaded = await loadVolume(volumeGroups(group)[0]!, scanned.sources, { onProgress: (e) => progress(e.stage, e.done, e.total) });
      current = { name: group.seriesDescription || group.seriesInstanceUid, volume: loaded.volume, geometry: loaded.geometry };
      const copy = { ...current, volume: copyVolume(loaded.volume) };
      return { value: copy, transfer: [copy.volume.data.buffer] };
    }
    case 'readVolumeFile': {
      const volume = readVolume(new Uint8Array(req.bytes), { name: req.name });
      current = { name: req.name, volume };
      const copy = { ...current, volume: copyVolume(volume) };
      return { value: copy, transfer: [copy.volume.data.buffer] };
    }
    case 'setVolume':
      current = req.input;
      return { value: true, transfer: [] };
    case 'runPipeline':
      return run(req, progress);
  }
}

scope.addEventListener('message', (e) => {
  const req = e.data;
  handle(req).then(
    ({ value, transfer }) => scope.postMessage({ id: req.id, kind: 'ok', value }, { transfer }),
    (err: unknown) => scope.postMessage({ id: req.id, kind: 'error', error: wireError(err) }),
  );
});
