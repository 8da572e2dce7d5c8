// The demo page: load a DICOM folder, a volume file or the bundled aorta; pick a seed; run the pipeline in a
// worker; show the slices, the lumen, the wall's von Mises stress, the waveforms and the numbers; offer the files.
// Everything stays on this machine: the page makes no request after it has loaded (the aorta is same-origin).
import type { Vec3, Volume } from '@physiotwin/core';
import type { HemoSummary } from '@physiotwin/pipeline';
import type { OrthoView, Viewer, WindowLevel } from '@physiotwin/viewer';
import { autoWindow, createViewer, CT_PRESETS, ORTHO_VIEWS, scalarRange, sliceAxes } from '@physiotwin/viewer';
import { Engine, EngineError } from './engine.js';
import type { LoadedInput, RunOutput, SeriesInfo } from './engine.js';
import { drawWaveforms } from './waveforms.js';

/** What `window.physiotwinApp.lastRun` holds after a run. */
interface LastRun {
  status: 'done' | 'cancelled' | 'error';
  backend: string | undefined;
  adapter: string | undefined;
  lumenVoxels: number | undefined;
  lumenVolumeMm3: number | undefined;
  triangles: number | undefined;
  hemo: HemoSummary | undefined;
  peakVonMisesKPa: number | undefined;
  errorCode?: string | undefined;
  /** Wall-clock ms of the run (click to result). */
  ms: number;
}

/** The test hook on `window`. */
interface AppHook {
  voxelToClient(view: OrthoView, ijk: Vec3): { x: number; y: number };
  lastRun: LastRun | null;
  seriesCount: number;
  volume: { dims: Vec3; spacing: Vec3; origin: Vec3; direction: number[] } | null;
  seed: Vec3 | null;
  viewer: Viewer;
}

declare global {
  interface Window {
    physiotwinApp: AppHook;
  }
}

const $ = <T extends HTMLElement>(testId: string): T => {
  const el = document.querySelector<T>(`[data-testid="${testId}"]`);
  if (!el) throw new Error(`page is missing [data-testid=${testId}]`);
  return el;
};

type Status = 'idle' | 'loading' | 'ready' | 'running' | 'done' | 'cancelled' | `error: ${string}`;

const statusEl = $('status');
const setStatus = (s: Status, detail = '') => {
  statusEl.textContent = s;
  statusEl.className = s.startsWith('error') ? 'error' : s;
  $('status-detail').textContent = detail;
};

/** The pipeline's stages (STAGE_NAMES of @physiotwin/pipeline, from the worker: the page does not load the pipeline). */
let STAGE_NAMES: readonly string[] = [];
const engine = new Engine();
const views = { axial: $<HTMLDivElement>('viewport-axial'), sagittal: $<HTMLDivElement>('viewport-sagittal'), coronal: $<HTMLDivElement>('viewport-coronal'), '3d': $<HTMLDivElement>('viewport-3d') };
let seed: Vec3 | null = null;
let shown: Volume | null = null;
let shownInput: LoadedInput | null = null;
let series: SeriesInfo[] = [];
let running: AbortController | null = null;
const downloadUrls: string[] = [];

// Cornerstone loads in the background; the page works (and loads input) meanwhile, and shows it when ready.
let viewer: Viewer | undefined;
const viewerReady = createViewer(views, {
  onPick: (_view, ijk) => setSeed(ijk),
  onSlice: () => drawSeedMarkers(),
}).then((v) => (viewer = v));
const ready = (): Viewer => {
  if (!viewer) throw new Error('the viewer is still loading');
  return viewer;
};
new ResizeObserver(() => {
  if (!viewer) return;
  viewer.resize();
  drawSeedMarkers();
}).observe($('viewports'));

const hook: AppHook = {
  voxelToClient(view, ijk) {
    if (!shown) throw new Error('no volume is shown');
    // Show the voxel's slice first (magnified when a voxel is under 3 CSS pixels), so a click at the returned
    // point (even rounded to whole pixels) lands on that voxel.
    ready().showVoxel(view, ijk, 3);
    const [x, y] = ready().voxelToCanvas(view, ijk);
    const r = views[view].querySelector('canvas')!.getBoundingClientRect();
    return { x: r.left + x, y: r.top + y };
  },
  lastRun: null,
  seriesCount: 0,
  volume: null,
  seed: null,
  get viewer() {
    return ready();
  },
};
window.physiotwinApp = hook;

/** The index axis a view steps through, for the shown volume (geometry.ts's choice from its direction cosines). */
function sliceAxisOf(view: OrthoView): 0 | 1 | 2 {
  if (!shown) throw new Error('no volume is shown');
  return sliceAxes(shown, view).sliceAxis;
}

function setSeed(ijk: Vec3 | null): void {
  seed = ijk;
  hook.seed = ijk;
  $('seed-ijk').textContent = ijk ? ijk.join(',') : '';
  if (ijk && viewer) for (const v of ORTHO_VIEWS) if (viewer.getSlice(v) !== ijk[sliceAxisOf(v)]) viewer.setSlice(v, ijk[sliceAxisOf(v)]);
  drawSeedMarkers();
  updateButtons();
}

function drawSeedMarkers(): void {
  if (!viewer) return;
  for (const v of ORTHO_VIEWS) {
    const marker = views[v].querySelector<HTMLElement>('.seed-marker');
    if (!marker) continue;
    if (!seed || !shown || viewer.getSlice(v) !== seed[sliceAxisOf(v)]) {
      marker.hidden = true;
      continue;
    }
    const [x, y] = viewer.voxelToCanvas(v, seed);
    marker.hidden = false;
    marker.style.left = `${x}px`;
    marker.style.top = `${y}px`;
  }
}

function updateButtons(): void {
  const busy = running !== null;
  $<HTMLButtonElement>('run').disabled = busy || !shown || !seed;
  $<HTMLButtonElement>('cancel').disabled = !busy;
  $<HTMLButtonElement>('load-bundled').disabled = busy;
  $<HTMLInputElement>('dicom-input').disabled = busy;
}

function errorStatus(e: unknown): Status {
  // A worker error (EngineError) or a PhysiotwinError on this page (e.g. GPU_UNAVAILABLE from the viewer) has a code.
  const c = (e as { code?: unknown } | null)?.code;
  const code = typeof c === 'string' ? c : 'INTERNAL';
  setStatus(`error: ${code}`, e instanceof Error ? e.message : String(e));
  return `error: ${code}`;
}

function resetProgress(): void {
  for (const s of STAGE_NAMES) {
    const p = $<HTMLProgressElement>(`progress-${s}`);
    p.value = 0;
  }
}

async function show(input: LoadedInput): Promise<void> {
  shown = input.volume;
  shownInput = input;
  const v = input.volume;
  hook.volume = { dims: [...v.dims], spacing: [...v.spacing], origin: [...v.origin], direction: [...v.direction] };
  const preset = $<HTMLSelectElement>('window-preset').value;
  const viewer = await viewerReady;
  await viewer.setVolume(v, windowOf(preset, v));
  for (const id of ['lumen', 'wall']) void viewer.setSurface(id, undefined);
  clearResults();
  setSeed(null);
  $('geometry-report').textContent = geometryReport(input);
  setStatus('ready');
}

function windowOf(preset: string, v: Volume): WindowLevel {
  return preset in CT_PRESETS ? CT_PRESETS[preset as keyof typeof CT_PRESETS] : autoWindow(v);
}

const fmt = (x: number, d = 2) => (Number.isFinite(x) ? x.toFixed(d) : String(x));
const vec = (a: readonly number[], d = 3) => `(${a.map((x) => fmt(x, d)).join(', ')})`;

function geometryReport(input: LoadedInput): string {
  const v = input.volume;
  const lines = [`${input.name}`, `dims ${v.dims.join(' x ')}, spacing ${vec(v.spacing)} mm`, `origin ${vec(v.origin)} mm (LPS)`, `direction i ${vec(v.direction.slice(0, 3), 4)} j ${vec(v.direction.slice(3, 6), 4)} k ${vec(v.direction.slice(6, 9), 4)}`];
  const g = input.geometry;
  if (g) {
    lines.push(`${g.sliceCount} slices, gaps ${fmt(Math.min(...g.gaps), 3)}..${fmt(Math.max(...g.gaps), 3)} mm, gantry tilt ${fmt(g.gantryTiltDeg, 2)} deg`);
    const flags = [g.irregularSpacing && 'irregular spacing', g.missingSlices && 'missing slices', g.duplicatePositions && 'duplicate positions'].filter(Boolean);
    lines.push(flags.length ? `warnings: ${flags.join(', ')}` : 'no gaps, duplicates or irregular spacing');
    for (const w of g.warnings ?? []) lines.push(`warning: ${w}`);
  } else {
    lines.push('read from a volume file (no DICOM slice geometry)');
  }
  return lines.join('\n');
}

function renderSeries(list: SeriesInfo[], selected: number): void {
  const el = $('series-list');
  el.replaceChildren(
    ...list.map((s) => {
      const row = document.createElement('li');
      row.dataset.testid = 'series-row';
      row.tabIndex = 0;
      row.className = s.index === selected ? 'selected' : '';
      row.textContent = `${s.modality || '?'} ${s.description || '(no description)'}: ${s.dims.join(' x ')} (${s.sliceCount} slices)`;
      row.addEventListener('click', () => void selectSeries(s.index));
      return row;
    }),
  );
}

async function selectSeries(index: number): Promise<void> {
  if (running) return;
  renderSeries(series, index);
  setStatus('loading', `series ${index + 1}`);
  try {
    await show(await engine.loadSeries(index));
  } catch (e) {
    errorStatus(e);
  }
}

const VOLUME_FILE = /\.(mha|mhd|nii|nii\.gz|nrrd)$/i;

async function loadFiles(files: File[]): Promise<void> {
  if (files.length === 0 || running) return;
  setStatus('loading', `${files.length} file(s)`);
  try {
    const volumeFile = files.length === 1 && VOLUME_FILE.test(files[0]!.name) ? files[0]! : undefined;
    if (volumeFile) {
      series = [];
      hook.seriesCount = 1;
      const input = await engine.readVolumeFile(volumeFile.name, await volumeFile.arrayBuffer());
      renderSeries([{ index: 0, modality: 'volume', description: volumeFile.name, dims: input.volume.dims, sliceCount: input.volume.dims[2], geometry: undefined }], 0);
      await show(input);
      return;
    }
    const scan = await engine.scanDicom(files);
    series = scan.series;
    hook.seriesCount = series.length;
    renderSeries(series, 0);
    if (series.length === 0) {
      setStatus('error: DICOM_INVALID', `no image series among ${files.length} file(s) (${scan.skipped} skipped)`);
      return;
    }
    await selectSeries(0);
  } catch (e) {
    errorStatus(e);
  }
}

async function loadBundled(): Promise<void> {
  if (running) return;
  setStatus('loading', 'the bundled VMTK aorta');
  try {
    const res = await fetch(new URL('./aorta.mha', document.baseURI));
    if (!res.ok) throw new EngineError('IO_NOT_FOUND', `aorta.mha: HTTP ${res.status}`);
    const input = await engine.readVolumeFile('aorta.mha', await res.arrayBuffer());
    series = [];
    hook.seriesCount = 1;
    renderSeries([{ index: 0, modality: 'CT', description: 'VMTK aorta (bundled, aorta.mha)', dims: input.volume.dims, sliceCount: input.volume.dims[2], geometry: undefined }], 0);
    await show(input);
    $<HTMLSelectElement>('window-preset').value = 'auto';
  } catch (e) {
    errorStatus(e);
  }
}

function clearResults(): void {
  for (const u of downloadUrls.splice(0)) URL.revokeObjectURL(u);
  $('downloads').replaceChildren();
  $('results').replaceChildren();
  $('waveforms').replaceChildren();
  resetProgress();
}

async function run(): Promise<void> {
  if (!shownInput || !seed || running) return;
  clearResults();
  void viewer?.setLabelmap(undefined);
  const controller = new AbortController();
  running = controller;
  updateButtons();
  setStatus('running');
  hook.lastRun = null;
  const t0 = performance.now();
  let current = 0;
  const backend = $<HTMLSelectElement>('backend').value as 'auto' | 'cpu' | 'webgpu';
  let pendingProgress: { done: number; total: number } | undefined;
  let progressFrame = 0;
  const flushProgress = () => {
    progressFrame = 0;
    const p = pendingProgress;
    if (!p || current >= STAGE_NAMES.length || !(p.total > 0) || controller.signal.aborted) return;
    $<HTMLProgressElement>(`progress-${STAGE_NAMES[current]!}`).value = Math.min(0.99, p.done / p.total);
  };
  const num = (id: string) => Number($<HTMLInputElement>(id).value);
  try {
    const out = await engine.runPipeline(shownInput, [seed], {
      backend,
      targets: { mapPressureMmHg: num('target-map'), cardiacOutputLPerMin: num('target-co'), heartRateBpm: num('target-hr'), wallMm: num('target-wall') },
      signal: controller.signal,
      onProgress: (stage, done, total) => {
        // Many events can arrive at once: the DOM is touched at most once a frame for the inner progress.
        if (stage !== 'pipeline') {
          pendingProgress = { done, total };
          if (!progressFrame) progressFrame = requestAnimationFrame(flushProgress);
          return;
        }
        for (const [i, s] of STAGE_NAMES.entries()) if (i < done) $<HTMLProgressElement>(`progress-${s}`).value = 1;
        current = done;
        pendingProgress = undefined;
        $('status-detail').textContent = STAGE_NAMES[done] ?? 'writing files';
      },
    });
    const ms = performance.now() - t0;
    hook.lastRun = { status: 'done', backend: out.backend, adapter: out.adapter, lumenVoxels: out.lumenVoxels, lumenVolumeMm3: out.lumenVolumeMm3, triangles: out.surfaceTriangles, hemo: out.hemo, peakVonMisesKPa: out.peakVonMisesKPa, ms };
    for (const s of STAGE_NAMES) $<HTMLProgressElement>(`progress-${s}`).value = 1;
    running = null;
    updateButtons();
    setStatus('done', `${(ms / 1000).toFixed(1)} s on ${out.backend}${out.adapter ? ` (${out.adapter})` : ''}`);
    // Drawing comes after the run, one piece per task, so no single task holds the main thread for long.
    await nextTask();
    renderResults(out, ms);
    await nextTask();
    const viewer = await viewerReady;
    await viewer.setLabelmap(out.labelmap);
    await nextTask();
    // Each mesh goes to the 3D view in pieces, one per frame (viewer.setSurface).
    await viewer.setSurface('lumen', { positions: out.surface.positions, triangles: out.surface.triangles }, { color: [0.95, 0.35, 0.3], opacity: 0.35 });
    await viewer.setSurface('wall', { positions: out.wallSurface.positions, triangles: out.wallSurface.triangles }, { scalars: out.wallSurface.vonMisesKPa, opacity: 1 });
  } catch (e) {
    running = null;
    updateButtons();
    const ms = performance.now() - t0;
    if (e instanceof EngineError && e.code === 'ABORTED') {
      hook.lastRun = { status: 'cancelled', backend: undefined, adapter: undefined, lumenVoxels: undefined, lumenVolumeMm3: undefined, triangles: undefined, hemo: undefined, peakVonMisesKPa: undefined, errorCode: 'ABORTED', ms };
      setStatus('cancelled');
    } else {
      const code = e instanceof EngineError ? e.code : 'INTERNAL';
      hook.lastRun = { status: 'error', backend: undefined, adapter: undefined, lumenVoxels: undefined, lumenVolumeMm3: undefined, triangles: undefined, hemo: undefined, peakVonMisesKPa: undefined, errorCode: code, ms };
      errorStatus(e);
    }
  }
}

const nextTask = () => new Promise<void>((r) => setTimeout(r, 0));

function renderResults(out: RunOutput, ms: number): void {
  const h = out.hemo;
  const rows: Array<[string, string]> = [
    ['backend', `${out.backend}${out.adapter ? ` (${out.adapter})` : ''}`],
    ['run time', `${(ms / 1000).toFixed(1)} s`],
    ['lumen', `${out.lumenVoxels} voxels, ${fmt(out.lumenVolumeMm3 / 1000, 2)} mL`],
    ['lumen surface', `${out.surfaceTriangles} triangles`],
    ['mean arterial pressure (inlet)', `${fmt(h.inlet.meanPressureMmHg, 1)} mmHg (${fmt(h.inlet.systolicMmHg, 1)}/${fmt(h.inlet.diastolicMmHg, 1)})`],
    ['cardiac output', `${fmt(h.cardiacOutputLPerMin, 2)} L/min`],
    ...h.outlets.map((o, k): [string, string] => [`outlet ${k + 1} (${o.boundary})`, `${fmt(o.meanPressureMmHg, 1)} mmHg, ${fmt(o.meanFlowMlPerS, 2)} mL/s`]),
    ['junction imbalance', `${fmt(100 * h.junctionImbalance, 3)} %`],
    ['wall', `${out.wallTets} tets under ${fmt(out.wallPressureMmHg, 1)} mmHg`],
    ['peak von Mises', `${fmt(out.peakVonMisesKPa, 1)} kPa (99th percentile ${fmt(out.p99VonMisesKPa, 1)} kPa)`],
    ...out.stages.map((s): [string, string] => [`stage ${s.stage}`, `${fmt(s.ms / 1000, 2)} s, ${s.backend}`]),
    ...out.warnings.map((w, k): [string, string] => [`warning ${k + 1}`, w]),
  ];
  const table = document.createElement('table');
  for (const [k, v] of rows) {
    const tr = table.insertRow();
    tr.insertCell().textContent = k;
    tr.insertCell().textContent = v;
  }
  $('results').replaceChildren(table);
  const [lo, hi] = scalarRange(out.wallSurface.vonMisesKPa);
  $('stress-legend').textContent = `wall von Mises ${fmt(lo, 1)} (blue) .. ${fmt(hi, 1)} kPa (red)`;
  drawWaveforms($('waveforms'), out.inletWaveform);
  const links = out.files.map((f) => {
    const a = document.createElement('a');
    const url = URL.createObjectURL(new Blob([f.bytes as BlobPart]));
    downloadUrls.push(url);
    a.href = url;
    a.download = f.name;
    a.dataset.testid = `download-${f.name}`;
    a.textContent = `${f.name} (${(f.bytes.byteLength / 1024).toFixed(0)} KB)`;
    return a;
  });
  $('downloads').replaceChildren(...links);
}

function drawStageBars(): void {
  $('stages').replaceChildren(
  ...STAGE_NAMES.map((s) => {
    const tr = document.createElement('tr');
    const label = document.createElement('td');
    label.textContent = s;
    const bar = document.createElement('progress');
    bar.max = 1;
    bar.value = 0;
    bar.dataset.testid = `progress-${s}`;
    const cell = document.createElement('td');
    cell.appendChild(bar);
    tr.append(label, cell);
    return tr;
  }),
  );
}

// Wiring.
$<HTMLButtonElement>('run').addEventListener('click', () => void run());
$<HTMLButtonElement>('cancel').addEventListener('click', () => running?.abort());
$<HTMLButtonElement>('load-bundled').addEventListener('click', () => void loadBundled());
for (const id of ['dicom-input', 'dicom-folder']) {
  const input = $<HTMLInputElement>(id);
  input.addEventListener('change', () => {
    void loadFiles(Array.from(input.files ?? []));
    input.value = '';
  });
}
$<HTMLSelectElement>('window-preset').addEventListener('change', (e) => {
  if (shown && viewer) viewer.setWindow(windowOf((e.target as HTMLSelectElement).value, shown));
});
document.addEventListener('dragover', (e) => e.preventDefault());
document.addEventListener('drop', (e) => {
  e.preventDefault();
  void droppedFiles(e.dataTransfer).then(loadFiles);
});

/** Files of a drop, folders walked (webkitGetAsEntry). */
async function droppedFiles(dt: DataTransfer | null): Promise<File[]> {
  if (!dt) return [];
  const entries = Array.from(dt.items).map((i) => i.webkitGetAsEntry?.()).filter((x): x is FileSystemEntry => !!x);
  if (entries.length === 0) return Array.from(dt.files);
  const out: File[] = [];
  const walk = async (entry: FileSystemEntry): Promise<void> => {
    if (entry.isFile) out.push(await new Promise<File>((res, rej) => (entry as FileSystemFileEntry).file(res, rej)));
    else if (entry.isDirectory) {
      const reader = (entry as FileSystemDirectoryEntry).createReader();
      for (;;) {
        const batch = await new Promise<FileSystemEntry[]>((res, rej) => reader.readEntries(res, rej));
        if (batch.length === 0) break;
        for (const e of batch) await walk(e);
      }
    }
  };
  for (const e of entries) await walk(e);
  return out;
}

updateButtons();
setStatus('idle');
engine.gpuInfo().then(
  (g) => {
    STAGE_NAMES = g.stages;
    drawStageBars();
    // 'auto' leaves a software adapter (SwiftShader) to the CPU: gpu's chooseBackend; 'webgpu' forces it.
    const software = g.adapter?.endsWith('(software)') ? ': backend auto uses the CPU on a software adapter, webgpu forces it' : '';
    $('gpu-status').textContent = g.available ? `WebGPU: ${g.adapter}${software}` : `WebGPU is unavailable here: the CPU is used (${g.reason ?? 'no adapter'})`;
  },
  (e: unknown) => ($('gpu-status').textContent = `WebGPU is unavailable here: the CPU is used (${e instanceof Error ? e.message : String(e)})`),
);
