// DICOM series -> volume: physiotwin vs dcmjs vs dicom-parser + a plain loop, on a 512 x 512 x N int16 CT series
// written to disk with @physiotwin/dicom's writeDicom (explicit VR little endian, native pixels).
// Timed: reading every file from disk, parsing, sorting by position and filling one Int16Array volume.
// Peak memory: each loader runs once in a fresh Node process; maxRSS minus that process's RSS before loading.
import { execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { measure, newReport, ratio, writeReport } from './harness.js';
import type { DicomElementInit } from '@physiotwin/dicom';

const ROWS = 512;
const COLS = 512;
const SLICES = Number(process.env.DICOM_BENCH_SLICES ?? 160);
const SLICE_BYTES = ROWS * COLS * 2;
const REPO = fileURLToPath(new URL('..', import.meta.url));

/** The three loaders, as module source so that the memory probe can run each in its own process. */
const LOADERS = `
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';

// Each loader imports its own libraries, so that a memory probe process holds only what its loader needs.
export async function physiotwin(dir) {
  const { scanDicomPaths } = await import('@physiotwin/dicom/node');
  const { loadVolume } = await import('@physiotwin/dicom');
  const scan = await scanDicomPaths([dir], { strict: true });
  const { volume } = await loadVolume(scan.groups[0], scan.sources);
  return volume.data;
}

export async function dcmjsLoad(dir) {
  const { default: dcmjs } = await import('dcmjs');
  const slices = [];
  for (const name of readdirSync(dir)) {
    const buf = readFileSync(join(dir, name));
    const msg = dcmjs.data.DicomMessage.readFile(buf.buffer.slice(buf.byteOffset, buf.byteOffset + buf.byteLength));
    const ds = dcmjs.data.DicomMetaDictionary.naturalizeDataset(msg.dict);
    slices.push({ z: Number(ds.ImagePositionPatient[2]), pixels: new Int16Array(ds.PixelData[0]) });
  }
  slices.sort((a, b) => a.z - b.z);
  const out = new Int16Array(slices.length * ${ROWS * COLS});
  slices.forEach((s, k) => out.set(s.pixels, k * ${ROWS * COLS}));
  return out;
}

// The I/O floor: no parsing, no sorting; each file's last ${SLICE_BYTES} bytes (its Pixel Data) read into a fresh volume.
export async function rawReadFloor(dir) {
  const { openSync, readSync, closeSync, fstatSync } = await import('node:fs');
  const names = readdirSync(dir);
  const out = new Int16Array(names.length * ${ROWS * COLS});
  const bytes = new Uint8Array(out.buffer);
  names.forEach((name, k) => {
    const fd = openSync(join(dir, name), 'r');
    readSync(fd, bytes, k * ${SLICE_BYTES}, ${SLICE_BYTES}, fstatSync(fd).size - ${SLICE_BYTES});
    closeSync(fd);
  });
  return out;
}

// The page-fault floor: a fresh volume with one byte written per 4 KiB page, no I/O at all.
export async function firstTouchFloor(dir) {
  const out = new Int16Array(readdirSync(dir).length * ${ROWS * COLS});
  const bytes = new Uint8Array(out.buffer);
  for (let i = 0; i < bytes.length; i += 4096) bytes[i] = 0;
  return out;
}

export async function dicomParserLoop(dir) {
  const { default: dicomParser } = await import('dicom-parser');
  const slices = [];
  for (const name of readdirSync(dir)) {
    const buf = readFileSync(join(dir, name));
    const ds = dicomParser.parseDicom(buf);
    const el = ds.elements.x7fe00010;
    slices.push({ z: ds.floatString('x00200032', 2), buf, offset: el.dataOffset, length: el.length });
  }
  slices.sort((a, b) => a.z - b.z);
  const out = new Int16Array(slices.length * ${ROWS * COLS});
  const bytes = new Uint8Array(out.buffer);
  slices.forEach((s, k) => bytes.set(s.buf.subarray(s.offset, s.offset + s.length), k * ${SLICE_BYTES}));
  return out;
}
`;

/** The header of slice k (0-based) of a 512 x 512 int16 axial CT series `uid`, 1.25 mm apart (no pixel data). */
export function ctSliceElements(uid: string, k: number): DicomElementInit[] {
  return [
    { tag: 0x00080016, vr: 'UI', value: '1.2.840.10008.5.1.4.1.1.2' },
    { tag: 0x00080018, vr: 'UI', value: `${uid}.${k + 1}` },
    { tag: 0x00080060, vr: 'CS', value: 'CT' },
    { tag: 0x0020000e, vr: 'UI', value: uid },
    { tag: 0x00200013, vr: 'IS', value: k + 1 },
    { tag: 0x00200032, vr: 'DS', value: [-125, -125, -200 + 1.25 * k] },
    { tag: 0x00200037, vr: 'DS', value: [1, 0, 0, 0, 1, 0] },
    { tag: 0x00280002, vr: 'US', value: 1 },
    { tag: 0x00280004, vr: 'CS', value: 'MONOCHROME2' },
    { tag: 0x00280010, vr: 'US', value: ROWS },
    { tag: 0x00280011, vr: 'US', value: COLS },
    { tag: 0x00280030, vr: 'DS', value: [0.488281, 0.488281] },
    { tag: 0x00280100, vr: 'US', value: 16 },
    { tag: 0x00280101, vr: 'US', value: 16 },
    { tag: 0x00280102, vr: 'US', value: 15 },
    { tag: 0x00280103, vr: 'US', value: 1 },
  ];
}

/** Writes the benchmark CT series (512 x 512 x DICOM_BENCH_SLICES int16, shuffled file names) into `dir`. */
export function writeSeries(dir: string, writeDicom: (els: unknown[]) => Uint8Array): void {
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  const pixels = new Int16Array(ROWS * COLS);
  for (let k = 0; k < SLICES; k++) {
    for (let i = 0; i < pixels.length; i++) pixels[i] = ((i * 7 + k * 13) % 4096) - 1024;
    const uid = '1.2.826.0.1.3680043.10.1099.42';
    const bytes = writeDicom([
      ...ctSliceElements(uid, k),
      { tag: 0x00281052, vr: 'DS', value: -1024 },
      { tag: 0x00281053, vr: 'DS', value: 1 },
      { tag: 0x7fe00010, vr: 'OW', value: pixels },
    ]);
    // file names in shuffled order: the loaders must sort by position
    writeFileSync(join(dir, `IM${String((k * 37) % SLICES).padStart(5, '0')}_${k}.dcm`), bytes);
  }
}

/** Modules each loader imports, loaded by the memory probe before it measures. */
const LOADER_MODULES: Record<string, string[]> = {
  physiotwin: ['@physiotwin/dicom', '@physiotwin/dicom/node'],
  dcmjsLoad: ['dcmjs'],
  dicomParserLoop: ['dicom-parser'],
  rawReadFloor: [],
  firstTouchFloor: [],
};

/**
 * Peak memory (MB) one load adds: peak RSS (Linux VmHWM) of a fresh process that imports the loader's modules and
 * loads the series, minus that of a fresh process that only imports them.
 */
function peakMemoryMB(loaderFile: string, fn: string, dir: string): number {
  const maxRss = (load: boolean) => {
    const probe = `
      const m = await import(${JSON.stringify(loaderFile)});
      for (const name of ${JSON.stringify(LOADER_MODULES[fn])}) await import(name);
      if (${load}) {
        const data = await m.${fn}(${JSON.stringify(dir)});
        if (data.length !== ${SLICES * ROWS * COLS}) throw new Error('wrong size');
      }
      // VmHWM (peak RSS of this process image); getrusage's maxRSS would include the parent's, inherited across exec.
      const { readFileSync } = await import('node:fs');
      console.log(Number(/VmHWM:\\s+(\\d+) kB/.exec(readFileSync('/proc/self/status', 'utf8'))[1]) * 1024);
    `;
    const out = execFileSync(process.execPath, ['--input-type=module', '-e', probe], { cwd: REPO, encoding: 'utf8' });
    return Number(out.trim().split('\n').pop());
  };
  return (maxRss(true) - maxRss(false)) / 1e6;
}

export default async function run(): Promise<void> {
  const { writeDicom } = (await import('@physiotwin/dicom')) as unknown as { writeDicom: (els: unknown[]) => Uint8Array };
  const work = join(tmpdir(), 'physiotwin-dicom-bench');
  const dir = join(work, 'series');
  writeSeries(dir, writeDicom);
  const loaderFile = join(REPO, 'benchmarks', '.dicom-load-loaders.tmp.mjs');
  writeFileSync(loaderFile, LOADERS);
  try {
    const loaders = (await import(loaderFile)) as Record<'physiotwin' | 'dcmjsLoad' | 'dicomParserLoop' | 'rawReadFloor' | 'firstTouchFloor', (d: string) => Promise<Int16Array>>;
    // Same voxels from all three (the check that the comparison is fair).
    const ref = await loaders.dicomParserLoop(dir);
    for (const fn of ['physiotwin', 'dcmjsLoad'] as const) {
      const got = await loaders[fn](dir);
      if (got.length !== ref.length || !got.every((v, i) => v === ref[i])) throw new Error(`${fn} loads different voxels`);
    }
    const report = newReport('dicom-load');
    const size = { rows: ROWS, columns: COLS, slices: SLICES, dtype: 'int16', fileMB: +((readdirSync(dir).length * (SLICE_BYTES + 800)) / 1e6).toFixed(1) };
    const common = { name: `${COLS}x${ROWS}x${SLICES} int16 CT, explicit VR LE`, backend: 'cpu' as const, size, bytes: SLICES * SLICE_BYTES, items: SLICES, itemUnit: 'files', repeats: 5 };
    const results = [];
    for (const [impl, fn] of [['physiotwin', 'physiotwin'], ['dcmjs 0.51', 'dcmjsLoad'], ['dicom-parser + loop', 'dicomParserLoop'], ['raw read floor (no parsing, one thread)', 'rawReadFloor'], ['first-touch floor (fresh volume, no I/O)', 'firstTouchFloor']] as const) {
      const r = await measure({ ...common, impl, run: () => loaders[fn](dir) }, report.memoryBandwidthGBps);
      r.extra = { peakMemoryMB: +peakMemoryMB(loaderFile, fn, dir).toFixed(1), volumeMB: +(SLICES * SLICE_BYTES / 1e6).toFixed(1) };
      results.push(r);
      report.results.push(r);
    }
    const [ours, dcmjs, plain, floor, touch] = results as [(typeof results)[0], (typeof results)[0], (typeof results)[0], (typeof results)[0], (typeof results)[0]];
    report.ratios.push({ label: 'physiotwin speed-up over dcmjs (median time ratio)', value: ratio(dcmjs, ours) });
    report.ratios.push({ label: 'physiotwin speed-up over dicom-parser + plain loop', value: ratio(plain, ours) });
    report.ratios.push({ label: 'physiotwin time / raw read floor time', value: ratio(ours, floor) });
    report.ratios.push({ label: 'first-touch floor time / raw read floor time (share of page faults in plain I/O)', value: ratio(touch, floor) });
    report.notes.push(
      `Decoded throughput counts the ${(SLICES * SLICE_BYTES / 1e6).toFixed(0)} MB of int16 voxels per load; every case reads all files from disk (page cache) each run.`,
      'physiotwin reads each file twice: a 16 KiB header prefix in the scan, then the pixel data straight into the volume (a SharedArrayBuffer), by the main thread and one worker thread together, so that the page faults of the fresh volume and the copies out of the page cache use both cores; memory holds no file. The other two keep every file in memory until the volume is filled, on one thread.',
      `Peak memory: peak RSS (VmHWM) of a fresh process that loads the series minus that of one that only imports the same modules; volume = ${(SLICES * SLICE_BYTES / 1e6).toFixed(0)} MB (the issue's budget: about 1.5x the volume plus one file).`,
      "'of bandwidth' compares decoded bytes/s with the typed-array copy bandwidth above; the loaders move more than that (file read into a buffer, then copy into the volume).",
      "'raw read floor' reads each file's pixel bytes into a fresh volume on one thread with no parsing or sorting: what a single-threaded loader pays for file I/O plus first-touch page faults of the new volume. 'first-touch floor' is those page faults alone (one write per 4 KiB page of a fresh volume).",
    );
    writeReport(report);
  } finally {
    rmSync(loaderFile, { force: true });
    rmSync(work, { recursive: true, force: true });
  }
}
