// Compressed DICOM series -> volume: WASM-codec frames decoded on the calling thread (`codecWorkers: false`, as
// before issue 11's codec workers) vs in the codec workers (the default in Node: a time limit per frame, two workers
// on two cores or more, frames decoded in parallel while this thread parses the next file).
// The series: 512 x 512 x SLICES int16 CT-like slices, encoded losslessly by the cornerstone codecs' own encoders
// (CharLS JPEG-LS, OpenJPH HTJ2K, OpenJPEG JPEG 2000), held in memory (no file I/O is timed).
// Timed: loadVolume of the scanned series (scan excluded), decoding every frame into one Int16Array.
import { createRequire } from 'node:module';
import { loadavg } from 'node:os';
import { ctSliceElements } from './dicom-load.bench.js';
import { measure, newReport, ratio, writeReport } from './harness.js';

// The series geometry of dicom-load.bench.ts (ctSliceElements).
const ROWS = 512;
const COLS = 512;
const SLICES = Number(process.env.DICOM_DECODE_BENCH_SLICES ?? 48);

type Encoder = {
  getDecodedBuffer(info: Record<string, unknown>): Uint8Array;
  encode(): void;
  getEncodedBuffer(): Uint8Array;
  delete(): void;
};

const CODECS = [
  { name: 'JPEG-LS lossless (CharLS)', ts: '1.2.840.10008.1.2.4.80', entry: '@cornerstonejs/codec-charls/wasmjs', ctor: 'JpegLSEncoder' },
  { name: 'HTJ2K lossless (OpenJPH)', ts: '1.2.840.10008.1.2.4.201', entry: '@cornerstonejs/codec-openjph/wasmjs', ctor: 'HTJ2KEncoder' },
  { name: 'JPEG 2000 (OpenJPEG)', ts: '1.2.840.10008.1.2.4.90', entry: '@cornerstonejs/codec-openjpeg/wasmjs', ctor: 'J2KEncoder' },
] as const;

/** A CT-like slice: air around a disc of soft tissue with texture, changing along k. */
function slice(k: number): Int16Array {
  const px = new Int16Array(ROWS * COLS);
  for (let y = 0; y < ROWS; y++) {
    for (let x = 0; x < COLS; x++) {
      const r = Math.hypot(x - 256, y - 256);
      px[y * COLS + x] = r < 200 - k ? 40 + ((x * y + k * 7) % 37) - (r < 40 ? 0 : 300) : -1000 + ((x + y + k) % 5);
    }
  }
  return px;
}

export default async function run(): Promise<void> {
  const dicom = await import('@physiotwin/dicom');
  const require = createRequire(import.meta.url);
  const report = newReport('dicom-decode');
  const loadBefore = loadavg()[0]!;
  const sources = Array.from({ length: SLICES }, (_, k) => slice(k));
  const uid = '1.2.826.0.1.3680043.10.1099.43';
  for (const codec of CODECS) {
    const factory = require(require.resolve(codec.entry, { paths: [require.resolve('@physiotwin/dicom')] })) as (m: object) => Promise<Record<string, new () => Encoder>>;
    const module = await factory({ print: () => undefined, printErr: () => undefined });
    let compressed = 0;
    const files = sources.map((px, k) => {
      const enc = new module[codec.ctor]!();
      enc.getDecodedBuffer({ width: COLS, height: ROWS, bitsPerSample: 16, componentCount: 1, isSigned: true, isUsingColorTransform: false }).set(new Uint8Array(px.buffer));
      enc.encode();
      const stream = enc.getEncodedBuffer().slice();
      enc.delete();
      compressed += stream.length;
      const bytes = dicom.writeDicom([
        ...ctSliceElements(uid, k),
        { tag: 0x7fe00010, vr: 'OB', fragments: [new Uint8Array(0), stream] },
      ], { transferSyntaxUid: codec.ts });
      return { name: `IM${k}.dcm`, bytes };
    });
    const scan = await dicom.scanDicom(files, { strict: true });
    const group = scan.groups[0]!;
    const load = (codecWorkers: boolean) => dicom.loadVolume(group, scan.sources, { codecWorkers });
    // Same voxels both ways, and (lossless) the slices that were encoded.
    const a = (await load(false)).volume.data as Int16Array;
    const b = (await load(true)).volume.data as Int16Array;
    if (!a.every((v, i) => v === b[i])) throw new Error(`${codec.name}: the codec workers decode different voxels`);
    const exact = sources.every((px, k) => px.every((v, i) => v === a[k * ROWS * COLS + i]));
    const common = {
      name: `${COLS}x${ROWS}x${SLICES} int16, ${codec.name}`,
      backend: 'cpu' as const,
      size: { rows: ROWS, columns: COLS, slices: SLICES, compressedMB: +(compressed / 1e6).toFixed(2), lossless: exact ? 'yes' : 'no' },
      items: SLICES,
      itemUnit: 'frames',
      repeats: 5,
    };
    // Interleaved rounds (one of each per round), so that the load of a shared machine falls on both alike.
    const rounds = Number(process.env.DICOM_DECODE_BENCH_ROUNDS ?? 3);
    const parts: { here: Awaited<ReturnType<typeof measure>>[]; workers: Awaited<ReturnType<typeof measure>>[] } = { here: [], workers: [] };
    for (let r = 0; r < rounds; r++) {
      parts.here.push(await measure({ ...common, repeats: 3, impl: 'calling thread (codecWorkers: false)', run: () => load(false) }));
      parts.workers.push(await measure({ ...common, repeats: 3, impl: 'codec workers (default, time limit per frame)', run: () => load(true) }));
    }
    const merge = (list: Awaited<ReturnType<typeof measure>>[]) => {
      const medians = list.map((m) => m.medianMs).sort((x, y) => x - y);
      const medianMs = medians[Math.floor(medians.length / 2)]!;
      return { ...list[0]!, repeats: list.reduce((n, m) => n + m.repeats, 0), medianMs, minMs: Math.min(...list.map((m) => m.minMs)), maxMs: Math.max(...list.map((m) => m.maxMs)), throughputPerS: SLICES / (medianMs / 1000) };
    };
    const here = merge(parts.here);
    const workers = merge(parts.workers);
    report.results.push(here, workers);
    report.ratios.push({ label: `${codec.name}: codec workers speed-up over the calling thread (median time ratio)`, value: ratio(here, workers) });
  }
  report.notes.push(
    'Each case loads the same in-memory series (scan excluded): every frame decoded by the WASM codec, either on the calling thread or in the codec workers (at most 2: min(2, cores)); the first run includes starting the workers and loading the codec in each.',
    `Load average (1 min) ${loadBefore.toFixed(1)} at the start, ${loadavg()[0]!.toFixed(1)} at the end, on ${report.machine.cores} cores: with no idle core, the workers cannot run in parallel and each frame's round trip waits for the scheduler, so a loaded machine understates them (over 5 runs at load 9-15 the median ratio per codec ranged from 0.7x to 2.2x, run to run: too loaded to tell; rerun on a quiet machine).`,
    `Each figure: ${Number(process.env.DICOM_DECODE_BENCH_ROUNDS ?? 3)} interleaved rounds of 1 + 3 runs per impl; median = the median of the rounds' medians, min over all runs. Timings on a shared machine are upper bounds.`,
  );
  writeReport(report);
}
