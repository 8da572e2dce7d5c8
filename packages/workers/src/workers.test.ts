// The worker round trip in Node (worker_threads, started from the TypeScript sources through tsx): DICOM scan and
// load, a tiny pipeline equal to the in-process one, progress, abort, crashes, transfer, and the pool's shards.
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Worker } from 'node:worker_threads';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ProgressEvent, Volume } from '@physiotwin/core';
import { createVolume, isPhysiotwinError } from '@physiotwin/core';
import { loadVolume, scanDicom } from '@physiotwin/dicom';
import { simulateEnsemble } from '@physiotwin/hemo';
import { pipelineFiles, runPipeline } from '@physiotwin/pipeline';
import type { PhysiotwinWorker } from './client.js';
import { createWorker } from './client.js';
import { createWorkerPool } from './pool.js';

/** The error a promise rejects with, and how long it took (fails the test when it resolves). */
async function rejection(p: Promise<unknown>): Promise<{ error: Error & { code?: string }; ms: number }> {
  const t0 = performance.now();
  try {
    await p;
  } catch (e) {
    return { error: e as Error & { code?: string }, ms: performance.now() - t0 };
  }
  throw new Error('expected a rejection');
}

const DICOM = join(import.meta.dirname, '../../../fixtures/dicom/physiotwin_tilt/dicom');
const dicomFiles = () =>
  readdirSync(DICOM)
    .sort()
    .map((name) => {
      const b = readFileSync(join(DICOM, name));
      return { name, bytes: b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength) };
    });

/** The 16 x 16 x 12 bright tube of test/ops-contract.test.ts: the smallest image that reaches every pipeline stage. */
const tube = (): Volume => createVolume({ data: new Float32Array(16 * 16 * 12).map((_, v) => (Math.hypot((v % 16) - 8, (Math.floor(v / 16) % 16) - 8) < 3 ? 1000 : 100) + ((v * 7919) % 13) * 5), dims: [16, 16, 12], spacing: [1, 1, 1] });

// FLOW -> BloodVessel -> RCR over two short cycles (test/ops-contract.test.ts's model).
const rcrModel = {
  simulation_parameters: { number_of_cardiac_cycles: 2, number_of_time_pts_per_cardiac_cycle: 20 },
  boundary_conditions: [
    { bc_name: 'IN', bc_type: 'FLOW', bc_values: { Q: [5, 6, 5], t: [0, 0.5, 1] } },
    { bc_name: 'OUT', bc_type: 'RCR', bc_values: { Rp: 100, C: 1e-4, Rd: 1000, Pd: 0 } },
  ],
  vessels: [{ vessel_id: 0, vessel_name: 'v', zero_d_element_type: 'BloodVessel', zero_d_element_values: { R_poiseuille: 100 }, boundary_conditions: { inlet: 'IN', outlet: 'OUT' } }],
};

describe('a worker thread runs the ops', () => {
  let worker: PhysiotwinWorker;
  beforeAll(() => {
    worker = createWorker();
  });
  afterAll(() => worker.terminate());

  it('scans DICOM files and loads a series: the same volume and geometry report as in-process; the file buffers move', async () => {
    const files = dicomFiles();
    const bytes = files.reduce((n, f) => n + f.bytes.byteLength, 0);
    const events: ProgressEvent[] = [];
    const scan = await worker.scanDicom(files, { onProgress: (e) => events.push(e) });
    // transferred, not copied: the caller's buffers are detached
    expect(files.every((f) => f.bytes.byteLength === 0)).toBe(true);
    expect(events.length).toBeGreaterThan(0);
    const local = await scanDicom(dicomFiles().map((f) => ({ name: f.name, bytes: new Uint8Array(f.bytes) })));
    expect(scan.series.length).toBe(local.groups.length);
    expect(scan.series[0]!.geometry).toEqual(local.groups[0]!.geometry);
    expect(bytes).toBeGreaterThan(0);
    const loaded = await worker.loadVolume(scan.series[0]!.handle, { spacing: 'report' });
    const expected = await loadVolume(local.groups[0]!, local.sources, { spacing: 'report' });
    expect(loaded.volume.dims).toEqual(expected.volume.dims);
    expect(loaded.volume.direction).toEqual(expected.volume.direction);
    expect(loaded.volume.data).toEqual(expected.volume.data);
    expect(loaded.geometry.warnings).toEqual(expected.geometry.warnings);
    expect(loaded.geometry.gantryTiltDeg).toBeCloseTo(17, 6);
    await worker.releaseScan(scan);
    const gone = await rejection(worker.loadVolume(scan.series[0]!.handle));
    expect(gone.error.code).toBe('INVALID_ARGUMENT');
  });

  it('runs the pipeline: the same numbers and files as in-process, progress crosses, the volume comes back', async () => {
    const input = tube();
    const events: ProgressEvent[] = [];
    const remote = worker.runPipeline({ volume: input, seeds: [[8, 8, 6]], name: 'tube' }, { onProgress: (e) => events.push(e) });
    // moved to the worker, not copied: the caller's buffer is detached
    expect(input.data.byteLength).toBe(0);
    // the in-process reference runs meanwhile, on the other core
    const local = await runPipeline({ volume: tube(), seeds: [[8, 8, 6]], name: 'tube' }, { backend: 'cpu' });
    const run = await remote;
    // Same code, same f64 arithmetic, same inputs: bit-identical results.
    expect(run.summary.lumenVoxels).toBe(local.lumenVoxels);
    expect(run.summary.hemo).toEqual(local.hemo);
    expect(run.summary.wall.peakVonMisesMpa).toBe(local.wall.peakVonMisesMpa);
    expect(run.summary.surfaceTriangles).toBe(local.surface.triangles.length / 3);
    expect(run.summary.backend).toBe('cpu');
    expect(run.wall.vonMises).toEqual(local.wall.fe.vonMises);
    expect(run.surface.positions).toEqual(local.surface.positions);
    expect(run.labelmap.data).toEqual(local.labelmap.data);
    expect(run.volume.data).toEqual(tube().data);
    const files = await pipelineFiles(local);
    expect([...run.files!.keys()]).toEqual([...files.files.keys()]);
    for (const [name, data] of files.files) {
      // fhir-bundle.json holds the encoding's time; manifest.json and report.html the stages' times
      if (name === 'fhir-bundle.json' || name === 'manifest.json' || name === 'report.html') continue;
      expect(run.files!.get(name), name).toEqual(data);
    }
    expect(events.some((e) => e.stage === 'pipeline' && e.done === e.total)).toBe(true);
    for (const e of events) expect(e.done >= 0 && e.done <= e.total).toBe(true);
  });

  it('an aborted call rejects with ABORTED within 1 s, and the worker goes on serving calls', async () => {
    const controller = new AbortController();
    const p = worker.runPipeline({ volume: tube(), seeds: [[8, 8, 6]] }, { signal: controller.signal, files: false });
    setTimeout(() => controller.abort(), 50);
    const { error, ms } = await rejection(p);
    expect(isPhysiotwinError(error, 'ABORTED')).toBe(true);
    expect(ms).toBeLessThan(1050);
    const again = await worker.segmentVessel(tube(), [[8, 8, 6]]);
    expect(again.voxels).toBeGreaterThan(0);
  });

  it('transfer: false copies the inputs; a SharedArrayBuffer is shared: the caller keeps both', async () => {
    const copied = tube();
    await worker.segmentVessel(copied, [[8, 8, 6]], {}, { transfer: false });
    expect(copied.data).toEqual(tube().data);
    const plain = tube();
    const data = new Float32Array(new SharedArrayBuffer(plain.data.byteLength));
    data.set(plain.data);
    const shared = createVolume({ ...plain, data });
    const r = await worker.segmentVessel(shared, [[8, 8, 6]]);
    expect(shared.data.byteLength).toBe(plain.data.byteLength);
    expect(r.mask.data.byteLength).toBeGreaterThan(0);
  });

  it('errors keep their code and message', async () => {
    const { error } = await rejection(worker.runPipeline({ volume: tube(), seeds: [[99, 0, 0]] }, { files: false }));
    expect(isPhysiotwinError(error, 'INVALID_ARGUMENT')).toBe(true);
    expect(error.message).toMatch(/seed 99,0,0 is outside the image/);
  });
});

describe('a worker that dies', () => {
  it('process.exit in the worker: the pending call rejects with WORKER_CRASHED, and so do later calls', async () => {
    // A worker script that exits on the first message: a crash as the caller sees it.
    const worker = createWorker({ spawn: () => new Worker("require('node:worker_threads').parentPort.on('message', () => process.exit(3))", { eval: true }) });
    const { error, ms } = await rejection(worker.segmentVessel(tube(), [[8, 8, 6]]));
    expect(isPhysiotwinError(error, 'WORKER_CRASHED')).toBe(true);
    expect(error.message).toMatch(/code 3/);
    expect(ms).toBeLessThan(5000);
    expect(worker.state).toBe('crashed');
    expect((await rejection(worker.segmentVessel(tube(), [[8, 8, 6]]))).error.code).toBe('WORKER_CRASHED');
  });

  it('out of memory in the worker: WORKER_CRASHED, and the caller lives on', async () => {
    // A worker with a 16 MB heap that keeps every array it makes: V8 stops it (ERR_WORKER_OUT_OF_MEMORY).
    const hog = "const kept = []; require('node:worker_threads').parentPort.on('message', () => { for (;;) kept.push(new Array(1e5).fill(1.5)); })";
    const worker = createWorker({ spawn: () => new Worker(hog, { eval: true, resourceLimits: { maxOldGenerationSizeMb: 16 } }) });
    const { error } = await rejection(worker.segmentVessel(tube(), [[8, 8, 6]]));
    expect(isPhysiotwinError(error, 'WORKER_CRASHED')).toBe(true);
    expect(error.message).toMatch(/memory/i);
  });

  it('terminate() mid-call rejects the call with ABORTED', async () => {
    // A worker that never answers: the call is pending until terminate().
    const worker = createWorker({ spawn: () => new Worker("require('node:worker_threads').parentPort.on('message', () => {})", { eval: true }) });
    const p = worker.runPipeline({ volume: tube(), seeds: [[8, 8, 6]] }, { files: false });
    setTimeout(() => void worker.terminate(), 50);
    const { error } = await rejection(p);
    expect(isPhysiotwinError(error, 'ABORTED')).toBe(true);
    expect(worker.state).toBe('terminated');
  });
});

describe('a pool of workers', () => {
  it('replaces a crashed worker, cancels a waiting task, and terminate() rejects the running one', async () => {
    // Stand-ins for the worker script: the first one exits on its first message, the next ones never answer.
    const scripts = ["require('node:worker_threads').parentPort.on('message', () => process.exit(3))", "require('node:worker_threads').parentPort.on('message', () => {})"];
    let spawned = 0;
    const pool = createWorkerPool({ size: 1, spawn: () => new Worker(scripts[Math.min(spawned++, 1)]!, { eval: true }) });
    const crashed = await rejection(pool.run((w) => w.segmentVessel(tube(), [[8, 8, 6]])));
    expect(crashed.error.code).toBe('WORKER_CRASHED');
    const running = rejection(pool.run((w, signal) => w.segmentVessel(tube(), [[8, 8, 6]], {}, { signal })));
    const controller = new AbortController();
    const waiting = pool.run((w) => w.segmentVessel(tube(), [[8, 8, 6]]), { signal: controller.signal });
    controller.abort();
    expect((await rejection(waiting)).error.code).toBe('ABORTED');
    await pool.terminate();
    expect((await running).error.code).toBe('ABORTED');
    // one worker per task that reached one: the crashed worker was replaced, the cancelled task never started one
    expect(spawned).toBe(2);
  });

  it('splits an ensemble into shards whose concatenation equals one in-process simulateEnsemble', async () => {
    const values = Float64Array.from({ length: 7 }, (_, v) => 800 + 50 * v);
    const pool = createWorkerPool({ size: 2 });
    try {
      const events: ProgressEvent[] = [];
      const sharded = await pool.simulateEnsemble(rcrModel, { names: ['OUT.Rd'], values }, { shards: 3, onProgress: (e) => events.push(e) });
      const local = await simulateEnsemble(rcrModel, { names: ['OUT.Rd'], values }, { backend: 'cpu' });
      // each variant is computed alone, in f64, by the same code: the same numbers bit for bit
      expect(sharded.n).toBe(7);
      expect(sharded.mean).toEqual(local.mean);
      expect(sharded.min).toEqual(local.min);
      expect(sharded.max).toEqual(local.max);
      expect(sharded.splits).toEqual(local.splits);
      expect(sharded.outputs).toEqual(local.outputs);
      expect(events.at(-1)).toEqual({ stage: 'ensemble shards', done: 3, total: 3 });
      // the caller's samples are copied per shard (one buffer cannot go to two workers): still usable here
      expect(values.length).toBe(7);
    } finally {
      await pool.terminate();
    }
  });
});
