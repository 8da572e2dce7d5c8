// The worker round trip in Node (worker_threads, started from the TypeScript sources through tsx): DICOM scan and
// load, volume files, the wall's outer surface, info, a tiny pipeline equal to the in-process one, progress, abort,
// crashes, transfer, and the pool's shards.
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Worker } from 'node:worker_threads';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ProgressEvent, Volume } from '@physiotwin/core';
import { conversionFactor, createVolume, isPhysiotwinError } from '@physiotwin/core';
import { loadVolume, scanDicom } from '@physiotwin/dicom';
import { simulateEnsemble } from '@physiotwin/hemo';
import { readVolume, writeMetaImage } from '@physiotwin/io';
import { tetBoundarySurface, vesselWall, WALL_TAG_OUTER } from '@physiotwin/mesh';
import { pipelineFiles, runPipeline, STAGE_NAMES } from '@physiotwin/pipeline';
import type { VolumeFile } from './api.js';
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
const AORTA_LUMEN = join(import.meta.dirname, '../../../fixtures/mesh/vmtk-aorta/aorta-lumen.nii.gz');
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
      // manifest.json and report.html hold the stages' times; fhir-bundle.json holds none (two runs, the same bytes)
      if (name === 'manifest.json' || name === 'report.html') continue;
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

  it('WebGPU in a worker thread: the SwiftShader set-up made inside the worker reaches Dawn; same lumen as the CPU', async () => {
    const gpuWorker = createWorker();
    try {
      const gpu = await gpuWorker.segmentVessel(tube(), [[8, 8, 6]], undefined, { backend: 'webgpu' });
      const cpu = await worker.segmentVessel(tube(), [[8, 8, 6]], undefined, { backend: 'cpu' });
      expect(gpu.backend).toBe('webgpu');
      // Region growing over a fixed integer-valued range is exact in f32: the same voxels on both backends.
      expect(gpu.voxels).toBe(cpu.voxels);
    } finally {
      await gpuWorker.terminate();
    }
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

  it("reads volume files as io's readVolume does (.nii.gz, .mha); the bytes move; a cut file rejects with its code", async () => {
    const gz = readFileSync(AORTA_LUMEN);
    const bytes = gz.buffer.slice(gz.byteOffset, gz.byteOffset + gz.byteLength);
    const remote = await worker.readVolume({ name: 'aorta-lumen.nii.gz', bytes });
    expect(bytes.byteLength).toBe(0);
    const local = readVolume(new Uint8Array(gz), { name: 'aorta-lumen.nii.gz' });
    expect(remote.dims).toEqual(local.dims);
    expect(remote.spacing).toEqual(local.spacing);
    expect(remote.direction).toEqual(local.direction);
    // 2 M voxels: compared as bytes (toEqual walks typed arrays element by element, seconds for this many)
    expect(remote.data.constructor).toBe(local.data.constructor);
    expect(Buffer.from(remote.data.buffer, remote.data.byteOffset, remote.data.byteLength).equals(Buffer.from(local.data.buffer, local.data.byteOffset, local.data.byteLength))).toBe(true);
    const mha = writeMetaImage(tube()).header;
    const fromMha = await worker.readVolume({ name: 'tube.mha', bytes: mha.slice() });
    expect(fromMha.data).toEqual(tube().data);
    const cut = await rejection(worker.readVolume({ name: 'tube.mha', bytes: mha.slice(0, mha.length - 100) }));
    expect(cut.error.code).toBe('IO_TRUNCATED');
    const none = await rejection(worker.readVolume({ name: 'x.nii' } as unknown as VolumeFile));
    expect(none.error.code).toBe('INVALID_ARGUMENT');
  });

  it("cuts a vessel wall's outer surface as mesh's tetBoundarySurface does; info names the stages; units as core's", async () => {
    const lumen = createVolume({ data: Uint8Array.from(tube().data, (v) => (v > 500 ? 1 : 0)), dims: [16, 16, 12], spacing: [1, 1, 1] });
    const { mesh } = vesselWall(lumen, { thicknessMm: 1 });
    const values = Float64Array.from({ length: mesh.positions.length / 3 }, (_, n) => n * 0.5);
    const local = tetBoundarySurface(mesh, { name: 's', values }, [WALL_TAG_OUTER]);
    const remote = await worker.tetBoundarySurface({ positions: mesh.positions.slice(), boundaryFaces: mesh.boundaryFaces!.slice(), boundaryLabels: mesh.boundaryLabels!.slice() }, { name: 's', values: values.slice() }, [WALL_TAG_OUTER]);
    expect(remote.triangles.length).toBeGreaterThan(0);
    expect(remote.triangles).toEqual(local.triangles);
    expect(remote.positions).toEqual(local.positions);
    expect(remote.pointData!.s!.values).toEqual(local.pointData!.s!.values);
    const { error } = await rejection(worker.tetBoundarySurface({ positions: mesh.positions.slice() }));
    expect(error.code).toBe('INVALID_ARGUMENT');
    const info = await worker.info();
    expect(info.stages).toEqual([...STAGE_NAMES]);
    // Node's worker threads have no navigator.gpu (their calls run on the CPU unless one asks for WebGPU)
    expect(info.webgpu).toEqual({ available: false, reason: 'this worker has no navigator.gpu' });
    expect(await worker.conversionFactor('dyn/cm^2', 'mmHg')).toBe(conversionFactor('dyn/cm^2', 'mmHg'));
    expect((await rejection(worker.conversionFactor('mmHg', 'kg'))).error.code).toBe('INVALID_ARGUMENT');
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

  it("shards of a general model use one call's pivot order: bitwise its summaries (issue #16)", async () => {
    // The vessel's C (1e-6 .. 10, log) swaps which equation dominates the inflow's column: the last shard's own first
    // and last variant would choose another static pivot order than the whole run's (and round differently).
    const model = structuredClone(rcrModel);
    (model.vessels[0]!.zero_d_element_values as Record<string, number>).C = 1e-6;
    const names = ['v.C', 'v.R_poiseuille'];
    const values = new Float64Array(24);
    for (let v = 0; v < 12; v++) values.set([1e-6 * 10 ** ((7 * v) / 11), 100 * (1 + 0.1 * v)], 2 * v);
    const bits = (x: Float64Array) => Array.from(new Uint32Array(x.buffer, x.byteOffset, 2 * x.length));
    const local = await simulateEnsemble(model, { names, values }, { backend: 'cpu' });
    expect(local.kernel).toBe('general');
    // Precondition: the last shard run on its own (no `whole`) gives other bits than the whole run's rows.
    const alone = await simulateEnsemble(model, { names, values: values.slice(18) }, { backend: 'cpu' });
    const K = local.outputs.length;
    expect(bits(alone.mean)).not.toEqual(bits(local.mean.subarray(9 * K)));
    const pool = createWorkerPool({ size: 2 });
    try {
      const sharded = await pool.simulateEnsemble(model, { names, values }, { shards: 4 });
      for (const f of ['mean', 'min', 'max', 'splits'] as const) expect(bits(sharded[f]), f).toEqual(bits(local[f]));
      expect(sharded.cpuVariants).toEqual(local.cpuVariants);
    } finally {
      await pool.terminate();
    }
  });
});
