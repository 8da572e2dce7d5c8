// The benchmark harness: every benchmarks/*.bench.ts uses it, so every result records the same things
// (problem size, backend, adapter, first run, median, min, mean without the first run, repeats) and
// ratios are taken between cases measured in the same run.
import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus, totalmem } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { GpuContext } from '@physiotwin/gpu';

export const RESULTS_DIR = join(dirname(fileURLToPath(import.meta.url)), 'results');

/** One thing to time. */
export interface BenchCase {
  /** What runs, e.g. 'histogram 256^3 int16'. */
  name: string;
  /** Implementation under test, e.g. 'physiotwin cpu', 'physiotwin webgpu', 'vtk.js'. */
  impl: string;
  backend: 'cpu' | 'webgpu' | 'other';
  /** Adapter description for WebGPU cases; 'SwiftShader' marks software timings. */
  adapter?: string | undefined;
  isFallbackAdapter?: boolean | undefined;
  /** Problem size in its natural units, e.g. { voxels: 16777216, dtype: 'int16' }. */
  size: Record<string, number | string>;
  /** Bytes the kernel must read + write at least once: gives the fraction of memory bandwidth. */
  bytes?: number | undefined;
  /** Work items per run (voxels, model steps, files): gives throughput. */
  items?: number | undefined;
  itemUnit?: string | undefined;
  /** Timed once for the first-run figure, then `repeats` more times. */
  run: () => unknown | Promise<unknown>;
  /** @default 5 */
  repeats?: number | undefined;
}

export interface BenchResult {
  name: string;
  impl: string;
  backend: string;
  adapter?: string | undefined;
  isFallbackAdapter?: boolean | undefined;
  size: Record<string, number | string>;
  repeats: number;
  firstMs: number;
  medianMs: number;
  minMs: number;
  maxMs: number;
  /** Mean of the repeats, the first run excluded. */
  meanMs: number;
  /** items / median time. */
  throughputPerS?: number | undefined;
  itemUnit?: string | undefined;
  /** bytes / median time, GB/s. */
  gbPerS?: number | undefined;
  /** gbPerS / the machine's measured copy bandwidth (CPU cases only). */
  fractionOfBandwidth?: number | undefined;
  /** Extra figures a benchmark records (peak memory, ...). */
  extra?: Record<string, number | string> | undefined;
}

export interface BenchReport {
  benchmark: string;
  date: string;
  machine: { cpus: string; cores: number; memoryGiB: number; node: string; platform: string };
  memoryBandwidthGBps: number;
  results: BenchResult[];
  /** Ratios between cases of this run: [label, value]. */
  ratios: Array<{ label: string; value: number }>;
  notes: string[];
}

const now = () => performance.now();

/** Times a case: one first run, then `repeats` runs. */
export async function measure(c: BenchCase, bandwidthGBps?: number): Promise<BenchResult> {
  const repeats = c.repeats ?? 5;
  let t = now();
  await c.run();
  const firstMs = now() - t;
  const times: number[] = [];
  for (let i = 0; i < repeats; i++) {
    t = now();
    await c.run();
    times.push(now() - t);
  }
  const sorted = [...times].sort((a, b) => a - b);
  const medianMs = sorted.length % 2 ? sorted[(sorted.length - 1) / 2]! : (sorted[sorted.length / 2 - 1]! + sorted[sorted.length / 2]!) / 2;
  const gbPerS = c.bytes !== undefined ? c.bytes / (medianMs * 1e6) : undefined;
  return {
    name: c.name,
    impl: c.impl,
    backend: c.backend,
    adapter: c.adapter,
    isFallbackAdapter: c.isFallbackAdapter,
    size: c.size,
    repeats,
    firstMs,
    medianMs,
    minMs: sorted[0]!,
    maxMs: sorted[sorted.length - 1]!,
    meanMs: times.reduce((a, b) => a + b, 0) / times.length,
    throughputPerS: c.items !== undefined ? c.items / (medianMs / 1000) : undefined,
    itemUnit: c.itemUnit,
    gbPerS,
    fractionOfBandwidth: gbPerS !== undefined && bandwidthGBps && c.backend !== 'webgpu' ? gbPerS / bandwidthGBps : undefined,
  };
}

let cachedBandwidth: number | undefined;

/**
 * This machine's memory bandwidth as seen from JavaScript: the best of several 256 MiB typed-array
 * copies (`Float64Array.prototype.set`), counting read + write bytes. The roof CPU kernels are
 * compared with.
 */
export function memoryBandwidthGBps(): number {
  if (cachedBandwidth !== undefined) return cachedBandwidth;
  const n = 32 * 1024 * 1024; // 32 Mi doubles = 256 MiB per array
  const src = new Float64Array(n).fill(1);
  const dst = new Float64Array(n);
  let best = Infinity;
  for (let i = 0; i < 6; i++) {
    const t = now();
    dst.set(src);
    best = Math.min(best, now() - t);
  }
  cachedBandwidth = (2 * n * 8) / (best * 1e6);
  return cachedBandwidth;
}

export function machine(): BenchReport['machine'] {
  const list = cpus();
  return {
    cpus: list[0]?.model ?? 'unknown',
    cores: list.length,
    memoryGiB: Math.round(totalmem() / 2 ** 30),
    node: process.version,
    platform: `${process.platform}-${process.arch}`,
  };
}

const fmt = (x: number | undefined, digits = 3) => (x === undefined ? '' : x >= 1000 ? x.toExponential(2) : x.toPrecision(digits));

/** Writes benchmarks/results/<name>.json and <name>.md, and prints the table. */
export function writeReport(report: BenchReport): void {
  mkdirSync(RESULTS_DIR, { recursive: true });
  writeFileSync(join(RESULTS_DIR, `${report.benchmark}.json`), JSON.stringify(report, null, 2) + '\n');
  const lines = [
    `# ${report.benchmark}`,
    '',
    `${report.date}; ${report.machine.cpus} x${report.machine.cores}, ${report.machine.memoryGiB} GiB, Node ${report.machine.node}; ` +
      `memory bandwidth (256 MiB typed-array copy, read+write) ${report.memoryBandwidthGBps.toFixed(2)} GB/s.`,
    '',
    '| case | impl | backend / adapter | size | first ms | median ms | min ms | throughput | GB/s | of bandwidth | other |',
    '|---|---|---|---|---|---|---|---|---|---|---|',
    ...report.results.map((r) => {
      const adapter = r.backend === 'webgpu' ? `webgpu: ${r.adapter ?? '?'}${r.isFallbackAdapter ? ' (SwiftShader: software, not GPU times)' : ''}` : r.backend;
      const size = Object.entries(r.size).map(([k, v]) => `${k}=${v}`).join(', ');
      const tp = r.throughputPerS !== undefined ? `${fmt(r.throughputPerS)} ${r.itemUnit ?? 'items'}/s` : '';
      const frac = r.fractionOfBandwidth !== undefined ? `${(100 * r.fractionOfBandwidth).toFixed(1)}%` : '';
      const other = Object.entries(r.extra ?? {}).map(([k, v]) => `${k}=${v}`).join(', ');
      return `| ${r.name} | ${r.impl} | ${adapter} | ${size} | ${fmt(r.firstMs)} | ${fmt(r.medianMs)} | ${fmt(r.minMs)} | ${tp} | ${fmt(r.gbPerS)} | ${frac} | ${other} |`;
    }),
    '',
    ...(report.ratios.length ? ['Ratios (same run):', '', ...report.ratios.map((r) => `- ${r.label}: ${r.value.toFixed(2)}x`), ''] : []),
    ...report.notes.map((n) => `- ${n}`),
    '',
  ];
  const md = lines.join('\n');
  writeFileSync(join(RESULTS_DIR, `${report.benchmark}.md`), md);
  console.log(md);
}

/** Builds a report skeleton for `benchmark` with machine facts and the bandwidth figure. */
export function newReport(benchmark: string): BenchReport {
  return { benchmark, date: new Date().toISOString(), machine: machine(), memoryBandwidthGBps: memoryBandwidthGBps(), results: [], ratios: [], notes: [] };
}

/** Median time ratio a/b between two results of one run. */
export function ratio(a: BenchResult, b: BenchResult): number {
  return a.medianMs / b.medianMs;
}

/** The timing fields of a case timed once (a long solve): first, median, min, max and mean are that one time. */
export function oneRun(ms: number): Pick<BenchResult, 'repeats' | 'firstMs' | 'medianMs' | 'minMs' | 'maxMs' | 'meanMs'> {
  return { repeats: 1, firstMs: ms, medianMs: ms, minMs: ms, maxMs: ms, meanMs: ms };
}

/**
 * The shared WebGPU device where there is one, its adapter noted in the report (a software adapter marked as such:
 * its timings are not GPU timings); without one, a note saying why and undefined. @physiotwin/gpu loads only here.
 */
export async function optionalGpu(report: BenchReport): Promise<GpuContext | undefined> {
  const { getSharedGpu } = await import('@physiotwin/gpu');
  try {
    const gpu = await getSharedGpu();
    report.notes.push(`WebGPU adapter: ${gpu.adapter.description || gpu.adapter.architecture} (${gpu.adapter.vendor})${gpu.adapter.isFallback ? ' - software (SwiftShader): timings are not GPU timings' : ''}`);
    return gpu;
  } catch (e) {
    report.notes.push(`no WebGPU device: ${(e as Error).message}`);
    return undefined;
  }
}
