// The operation contract of docs/contributing.md, checked on every package's public entry points: each exported
// function is classified below, so a new export fails this test until it is (a new op cannot skip the checks).
// - compute: an async op taking ComputeOptions. With an aborted signal it rejects with ABORTED; it reports progress
//   ({stage, done, total}) through onProgress; its result says which backend ran, and on WebGPU the adapter of the
//   device it was given. Run on tiny inputs on the CPU and (where the op has a WebGPU path) on WebGPU.
// - io: an async long-running operation without a backend (file scanning, decoding): signal and onProgress.
// - sync: a synchronous CPU-only kernel taking OperationOptions: signal and onProgress.
// - not an op: everything else (pure functions over small inputs, parsers, constructors), with the reason.
import type { BackendReport, ComputeOptions, GpuContext } from '@physiotwin/gpu';
import type { OperationOptions, ProgressEvent, Vec3, Volume } from '@physiotwin/core';
import type { Mask } from '@physiotwin/segment';
import { createVolume, isPhysiotwinError } from '@physiotwin/core';
import { requestGpu } from '@physiotwin/gpu';
import { testedBackends } from '@physiotwin/gpu/testing';
import * as core from '@physiotwin/core';
import * as gpuPkg from '@physiotwin/gpu';
import * as gpuNode from '@physiotwin/gpu/node';
import * as io from '@physiotwin/io';
import * as ioNode from '@physiotwin/io/node';
import * as dicom from '@physiotwin/dicom';
import * as dicomNode from '@physiotwin/dicom/node';
import * as segment from '@physiotwin/segment';
import * as segmentStats from '@physiotwin/segment/stats';
import * as mesh from '@physiotwin/mesh';
import * as hemo from '@physiotwin/hemo';
import * as pipeline from '@physiotwin/pipeline';
import * as pipelineNode from '@physiotwin/pipeline/node';
import * as workers from '@physiotwin/workers';
import * as fem from '@physiotwin/fem';
import * as cli from '@physiotwin/cli';
import * as viewer from '@physiotwin/viewer';
import * as fhir from '@physiotwin/fhir';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Worker } from 'node:worker_threads';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { syntheticSlice } from '../packages/dicom/src/test-util.js';

type Entry =
  | { kind: 'compute'; run: (o: ComputeOptions) => Promise<BackendReport>; webgpu: boolean }
  | { kind: 'io' | 'sync'; run: (o: OperationOptions) => unknown }
  | { kind: 'not-op'; reason: string };

const compute = (run: (o: ComputeOptions) => Promise<BackendReport>, { webgpu }: { webgpu: boolean }): Entry => ({ kind: 'compute', run, webgpu });
const ioOp = (run: (o: OperationOptions) => Promise<unknown>): Entry => ({ kind: 'io', run });
const sync = (run: (o: OperationOptions) => unknown): Entry => ({ kind: 'sync', run });
const notOps = (names: string[], reason: string): Record<string, Entry> => Object.fromEntries(names.map((n) => [n, { kind: 'not-op', reason }]));

// Tiny inputs: a 6^3 int16 volume with a bright 2^3 block (and a dimmer voxel), and its mask.
const dims: Vec3 = [6, 6, 6];
const values = new Int16Array(216).map((_, i) => {
  const [x, y, z] = [i % 6, Math.floor(i / 6) % 6, Math.floor(i / 36)];
  return x >= 2 && x <= 3 && y >= 2 && y <= 3 && z >= 2 && z <= 3 ? 100 : i === 0 ? 60 : 10 + (i % 3);
});
const vol: Volume = createVolume({ data: values, dims, spacing: [1, 1, 1] });
const mask: Volume = createVolume({ data: Uint8Array.from(values, (v) => (v >= 50 ? 1 : 0)), dims, spacing: [1, 1, 1] });
const seed: Vec3[] = [[2, 2, 2]];
// A straight tube along x (a 3 x 3 voxel cross-section, 12 voxels long) for centerlines.
const tube: Volume = createVolume({ data: new Uint8Array(12 * 5 * 5).map((_, i) => (Math.floor(i / 12) % 5 >= 1 && Math.floor(i / 12) % 5 <= 3 && Math.floor(i / 60) >= 1 && Math.floor(i / 60) <= 3 ? 1 : 0)), dims: [12, 5, 5], spacing: [1, 1, 1] });
// A 16 x 16 x 12 CT-like image of a bright tube along k (radius 3 voxels) with a deterministic ripple: the smallest
// runPipeline input that reaches every stage (a short wall keeps its FE solve to a few seconds on SwiftShader).
const tubeImage: Volume = createVolume({ data: new Float32Array(16 * 16 * 12).map((_, v) => (Math.hypot((v % 16) - 8, (Math.floor(v / 16) % 16) - 8) < 3 ? 1000 : 100) + ((v * 7919) % 13) * 5), dims: [16, 16, 12], spacing: [1, 1, 1] });
const cube = { positions: Float32Array.from([0, 0, 0, 1, 0, 0, 1, 1, 0, 0, 1, 0, 0, 0, 1, 1, 0, 1, 1, 1, 1, 0, 1, 1]), triangles: Uint32Array.from([0, 2, 1, 0, 3, 2, 4, 5, 6, 4, 6, 7, 0, 1, 5, 0, 5, 4, 1, 2, 6, 1, 6, 5, 2, 3, 7, 2, 7, 6, 3, 0, 4, 3, 4, 7]) };
// FLOW -> BloodVessel -> RCR over two short cycles: the RCR kernel's topology.
const rcrModel = {
  simulation_parameters: { number_of_cardiac_cycles: 2, number_of_time_pts_per_cardiac_cycle: 5 },
  boundary_conditions: [
    { bc_name: 'IN', bc_type: 'FLOW', bc_values: { Q: [5, 6, 5], t: [0, 0.5, 1] } },
    { bc_name: 'OUT', bc_type: 'RCR', bc_values: { Rp: 100, C: 1e-4, Rd: 1000, Pd: 0 } },
  ],
  vessels: [{ vessel_id: 0, vessel_name: 'v', zero_d_element_type: 'BloodVessel', zero_d_element_values: { R_poiseuille: 100 }, boundary_conditions: { inlet: 'IN', outlet: 'OUT' } }],
};
// A unit cube of 12 tets around a free centre node (the patch test's displacement prescribed on the corners).
const cubeTets = (() => {
  const positions = Float64Array.from([0, 0, 0, 1, 0, 0, 1, 1, 0, 0, 1, 0, 0, 0, 1, 1, 0, 1, 1, 1, 1, 0, 1, 1, 0.5, 0.5, 0.5]);
  const faces = [[0, 2, 1], [0, 3, 2], [4, 5, 6], [4, 6, 7], [0, 1, 5], [0, 5, 4], [1, 2, 6], [1, 6, 5], [2, 3, 7], [2, 7, 6], [3, 0, 4], [3, 4, 7]];
  const p = (i: number, d: number) => positions[3 * i + d]!;
  const tets = faces.flatMap(([a, b, c]) => {
    // Positive volume: (b - a) x (c - a) . (centre - a) > 0, else swap b and c.
    const u = [0, 1, 2].map((d) => p(b!, d) - p(a!, d));
    const v = [0, 1, 2].map((d) => p(c!, d) - p(a!, d));
    const w = [0, 1, 2].map((d) => p(8, d) - p(a!, d));
    const det = u[0]! * (v[1]! * w[2]! - v[2]! * w[1]!) - u[1]! * (v[0]! * w[2]! - v[2]! * w[0]!) + u[2]! * (v[0]! * w[1]! - v[1]! * w[0]!);
    return det > 0 ? [a!, b!, c!, 8] : [a!, c!, b!, 8];
  });
  return fem.patchTest({ positions, tets: Uint32Array.from(tets), nodesPerTet: 4 }, 'T4', [0, 1, 2, 3, 4, 5, 6, 7]).problem;
})();
const slices = [0, 1].map((k) => ({ name: `s${k}.dcm`, bytes: syntheticSlice({ seriesUid: '1.2.3.4', instance: k + 1, rows: 4, columns: 4, position: [0, 0, k], pixels: new Int16Array(16).fill(k) }) }));

const CONTRACT: Record<string, { module: Record<string, unknown>; entries: Record<string, Entry> }> = {
  core: {
    module: core,
    entries: {
      ...notOps(['isPhysiotwinError', 'throwIfAborted', 'progressReporter', 'dtypeOf', 'allocateVolumeData', 'viewAs', 'createVolume', 'validateVolume', 'indexToWorld', 'worldToIndex', 'volumeNdarray', 'voxelCount', 'validateSurfaceMesh', 'validateTetMesh', 'createRng', 'conversionFactor', 'convertUnit', 'convertUnitArray', 'canonicalJson', 'validatePolylines', 'fileReadError', 'notRegularFileError'], 'data-model helpers: O(1) or one pass, no options'),
      ...notOps(['sha256Hex', 'createManifest', 'verifyManifest'], 'provenance: hashing of inputs the caller already holds'),
      ...notOps(['runCrate', 'fhirProvenance'], 'provenance: JSON built from a manifest'),
      ...notOps(['PhysiotwinError'], 'the error class'),
    },
  },
  gpu: {
    module: gpuPkg,
    entries: {
      ...notOps(['requestGpu', 'getSharedGpu', 'releaseSharedGpu'], 'device acquisition: the device ops run on'),
      ...notOps(['describeAdapter'], 'reads an adapter\'s info into plain data'),
      ...notOps(['chooseBackend', 'backendReport'], 'the backend choice every op makes'),
      ...notOps(['createBufferFrom', 'createStorageBuffer', 'createUniformBuffer', 'readBuffer', 'checkBindingSize', 'checkBindingSizes', 'withGpuErrorScope', 'getComputePipeline', 'timeGpuWork', 'ceilF32', 'floorF32', 'dispatch2d', 'uploadValuesF32', 'uploadMaskU32', 'bindAll', 'bindEntries', 'unpackMask', 'encodeScan', 'scanPipelines'], 'kernel plumbing used inside *.webgpu.ts'),
    },
  },
  'gpu/node': { module: gpuNode, entries: notOps(['locateSwiftShader', 'requestNodeAdapter', 'quietNativeStderr'], 'Dawn/SwiftShader discovery for requestGpu') },
  io: {
    module: io,
    entries: notOps(
      ['readNifti', 'readNiftiHeader', 'writeNifti', 'readMetaImage', 'writeMetaImage', 'parseMetaImageHeader', 'readVolume', 'volumeFormatFromName', 'encodeSurface', 'decodeSurface', 'surfaceFormatFromPath', 'readStl', 'writeStl', 'readObj', 'writeObj', 'readPly', 'writePly', 'readVtp', 'writeVtp', 'writeVtpPolylines', 'readVtu', 'writeVtu', 'readMsh', 'writeMsh'],
      'synchronous codecs of bytes in memory (one pass, no options)',
    ),
  },
  'io/node': { module: ioNode, entries: {
      ...notOps(['readVolumeFile', 'writeVolumeFile', 'volumeFormatFromName'], 'one file read or write (no options to cancel a single read), and the format its name picks'),
      ...notOps(['writeRunProvenance', 'verifyRun'], "hashes one run folder's own files (pending: signal and onProgress for runs with many inputs)"),
      ...notOps(['AtomicOutputs', 'abandonPendingWrites', 'checkFolderCreatable', 'checkOutputs', 'encodeVolumeFile', 'encodeVolumeFileParts', 'volumeFilePaths', 'writeError', 'writeFileAtomic', 'readRegularFile', 'isInsideFolder'], 'write plumbing: atomic writes, output checks before work, typed file-system errors; readRegularFile and isInsideFolder, the read side of the last'),
    } },
  dicom: {
    module: dicom,
    entries: {
      scanDicom: ioOp((o) => dicom.scanDicom(slices, o)),
      loadVolume: ioOp(async (o) => {
        const scan = await dicom.scanDicom(slices);
        return dicom.loadVolume(scan.groups[0]!, slices, o);
      }),
      ...notOps(['decodeFrameInto', 'decodePixels'], 'one file or frame in memory (options: signal and the codec time limit; no progress)'),
      ...notOps(['parseDicom', 'formatTag', 'readPixelInfo', 'isSupportedTransferSyntax', 'ybrFullToRgb', 'invertMonochrome1', 'decodeRle', 'decodeJpegLossless', 'decodeJpegExtended', 'loadCodec', 'codecPackage', 'isDicomdir', 'readDicomdir', 'parseCsaHeader', 'writeDicom'], 'one file or frame in memory (no options)'),
      ...notOps(['volumeGroups', 'harmonizeTimePoints', 'diffusionVectorLps', 'manufacturerOf', 'privateTag', 'readFrameAcquisition', 'readSeriesAcquisition', 'bidsSidecar', 'diffusionTables', 'formatG', 'outputName', 'uniqueName'], 'acquisition metadata, 4D stacking and naming around loadVolume (small, synchronous)'),
      ...notOps(['DicomDataset'], 'a class'),
      ...notOps(['encodeDicom', 'formatDS', 'fileElements', 'writeFileElements', 'dummyValue', 'randomUid'], 'the Part 10 writer: one file in memory (no options)'),
      ...notOps(['writeVolumeSeries'], 'one series written in memory, one pass over the voxels'),
      ...notOps(['createDeidentifier'], 'configures a de-identifier; its deidentify works on one file in memory'),
    },
  },
  'dicom/node': {
    module: dicomNode,
    entries: {
      ...notOps(['fileSource', 'expandDicomPaths', 'fileDigest'], 'file plumbing for scanDicom / loadVolume and run manifests'),
      ...notOps(['scanDicomPaths'], 'scanDicom (checked above) over files: the same options'),
      ...notOps(['loadVolume', 'volumeGroups', 'harmonizeTimePoints', 'bidsSidecar', 'diffusionTables', 'outputName', 'uniqueName'], "the main entry's functions (checked above), re-exported for dicom convert's lighter start-up"),
    },
  },
  segment: {
    module: segment,
    entries: {
      threshold: compute((o) => segment.threshold(vol, { lower: 50 }, o), { webgpu: true }),
      otsuThreshold: compute((o) => segment.otsuThreshold(vol, {}, o), { webgpu: true }),
      otsuMask: compute((o) => segment.otsuMask(vol, {}, o), { webgpu: true }),
      volumeStatistics: compute((o) => segment.volumeStatistics(vol, o), { webgpu: true }),
      histogram: compute((o) => segment.histogram(vol, { bins: 8 }, o), { webgpu: true }),
      connectedComponents: compute((o) => segment.connectedComponents(mask, {}, o), { webgpu: true }),
      largestComponent: compute((o) => segment.largestComponent(mask, {}, o), { webgpu: true }),
      seedComponent: compute((o) => segment.seedComponent(mask, seed, {}, o), { webgpu: true }),
      connectedThreshold: compute((o) => segment.connectedThreshold(vol, seed, { lower: 50 }, o), { webgpu: true }),
      confidenceConnected: compute((o) => segment.confidenceConnected(vol, seed, { radius: 1 }, o), { webgpu: true }),
      adaptiveConnected: compute((o) => segment.adaptiveConnected(vol, seed, { radius: 1, windowMm: 2, coreMm: 0, maxIterations: 2 }, o), { webgpu: true }),
      morphology: compute((o) => segment.morphology(mask, { operation: 'close', radiusMm: 1 }, o), { webgpu: true }),
      dilate: compute((o) => segment.dilate(mask, 1, o), { webgpu: true }),
      erode: compute((o) => segment.erode(mask, 1, o), { webgpu: true }),
      opening: compute((o) => segment.opening(mask, 1, o), { webgpu: true }),
      closing: compute((o) => segment.closing(mask, 1, o), { webgpu: true }),
      anisotropicDiffusion: compute((o) => segment.anisotropicDiffusion(vol, { iterations: 2, conductance: 10 }, o), { webgpu: true }),
      refineMask: compute((o) => segment.refineMask(mask as Mask, { closeMm: 1 }, o), { webgpu: true }),
      segmentRange: compute((o) => segment.segmentRange(vol, seed, { lower: 50 }, o), { webgpu: true }),
      segmentVessel: compute((o) => segment.segmentVessel(vol, seed, {}, o), { webgpu: true }),
      ...notOps(['fillHoles'], 'synchronous CPU flood fill; takes signal'),
      ...notOps(['checkSeeds', 'squaredDistanceCpu'], 'helpers other packages share (seed validation, the exact distance transform)'),
      ...notOps(['diffusionStabilityLimit', 'autoVesselParams'], 'parameter helpers (closed form, or statistics around the seeds)'),
    },
  },
  // A light entry for commands that need only the statistics (`physiotwin info`); the ops are checked under segment.
  'segment/stats': { module: segmentStats, entries: notOps(['volumeStatistics', 'histogram'], 'the same functions as segment.volumeStatistics and segment.histogram (checked above)') },
  mesh: {
    module: mesh,
    entries: {
      marchingCubes: compute((o) => mesh.marchingCubes(vol, { iso: 50 }, o), { webgpu: true }),
      surfaceNets: sync((o) => mesh.surfaceNets(mask, {}, o)),
      smoothTaubin: sync((o) => mesh.smoothTaubin(cube, { iterations: 2 }, o)),
      decimate: sync((o) => mesh.decimate(cube, { ratio: 0.5 }, o)),
      surfaceFromVolume: compute((o) => mesh.surfaceFromVolume(vol, { iso: 50, smooth: 1 }, o), { webgpu: true }),
      extractCenterlines: sync((o) => mesh.extractCenterlines(tube, o)),
      tetMeshLabels: sync((o) => mesh.tetMeshLabels(tube, {}, o)),
      vesselWall: sync((o) => mesh.vesselWall(tube, { thicknessMm: 1 }, o)),
      ...notOps(['cleanMesh', 'meshQuality', 'centerlinesToPolylines', 'toQuadraticTets', 'tetQuality', 'labelPairTag', 'tetBoundarySurface'], 'one pass over a mesh or centerlines, no options'),
    },
  },
  hemo: {
    module: hemo,
    entries: {
      simulate: compute((o) => hemo.simulate(rcrModel, o), { webgpu: false }),
      simulateEnsemble: compute((o) => hemo.simulateEnsemble(rcrModel, { names: ['OUT.Rd'], values: Float64Array.of(1000, 1200) }, o), { webgpu: true }),
      ...notOps(['applyOverrides', 'buildModel', 'readSimulationSettings', 'timeGrid', 'resultTable', 'tableToCsv', 'tableToPandasJson', 'parseResultTable', 'compileTimeFunction', 'resultToSvg', 'samplesFromRecords', 'aorticInflow'], 'model building and output formatting around simulate / simulateEnsemble'),
      ...notOps(['createSamplePlan', 'planSamples', 'planVariantCount', 'samplePlanHash', 'shardRange', 'sobolPoints', 'sobolIndicesSaltelli'], 'sample plans and Sobol\' indices: one pass over the variants of a plan, no options'),
      ...notOps(['zeroDModelFromCenterlines'], 'builds a config from a centerline tree; its tuning rounds are simulate runs (checked above) and it passes signal on'),
      ...notOps(['Integrator', 'Parameter', 'Activation', 'Block', 'DaeSystem'], 'classes of the model'),
    },
  },
  pipeline: {
    module: pipeline,
    entries: {
      // the whole pipeline on a short bright tube
      runPipeline: compute((o) => pipeline.runPipeline({ volume: tubeImage, seeds: [[8, 8, 6]] }, o), { webgpu: true }),
      ...notOps(['stageKey', 'volumeHash', 'summarizeHemo'], 'hashes and summaries of a finished run'),
      ...notOps(['reportHtml', 'meshToSvg', 'threeViews'], 'the report page and its pictures, from a finished run'),
      ...notOps(['pipelineFiles'], 'the output files of a finished run, encoded in memory (takes a signal)'),
    },
  },
  'pipeline/node': { module: pipelineNode, entries: notOps(['writePipelineOutputs', 'pipelineOutputPaths', 'resumeFrom'], 'file writing and reading around runPipeline (atomic; writing takes a signal)') },
  fem: {
    module: fem,
    entries: {
      solve: compute((o) => fem.solve(cubeTets, o), { webgpu: true }),
      ...notOps(['parseFemCase'], 'validates a case (JSON in memory)'),
      ...notOps(['patchTest', 'lameCylinder', 'lameSphere', 'cantilever', 'relativeL2Error'], 'verification problems built around solve (checked above)'),
      ...notOps(['stiffnessOf', 'bsrMultiply', 'bsrSymmetricMultiply', 'bsrToCsr', 'bsrUpper', 'bsrKernel', 'deviceMatvec'], 'kernels inside solve that the benchmark measures on their own'),
    },
  },
  // Worker methods mirror the ops above; packages/workers/src/workers.test.ts checks their abort, progress and crashes.
  workers: { module: workers, entries: notOps(['createWorker', 'createWorkerPool'], 'start workers; their methods run the ops checked above in another thread') },
  fhir: { module: fhir, entries: notOps(['targetsFromBundle', 'resultsBundle', 'fhirBundleJson'], 'FHIR JSON in and out: small resources in memory') },
  viewer: {
    module: viewer,
    entries: {
      ...notOps(['sliceAxes', 'viewCamera', 'cameraSlice', 'indexToWorldPoint', 'worldToIndexPoint', 'worldToVoxel', 'worldToCanvas', 'canvasToWorld', 'voxelToCanvas', 'canvasToVoxel'], 'view geometry: a few vector operations per call'),
      ...notOps(['windowRange', 'autoWindow', 'colormapRgb', 'scalarRange', 'scalarsToRgb', 'cellToPointScalars', 'tetBoundarySurface'], 'display windows and colours: one pass over an array for drawing'),
      ...notOps(['createViewer'], 'creates WebGL viewports in a page (browser only); the pipeline it shows runs elsewhere'),
    },
  },
  cli: { module: cli, entries: notOps(['runCli'], 'the command line; its commands call the ops') },
};

// Each method of a PhysiotwinWorker runs the library op it mirrors (classified above: 'package.export'), or is the
// worker's own (with the reason); packages/workers/src/workers.test.ts checks that each gives the op's answer.
const WORKER_METHODS: Record<string, string> = {
  scanDicom: 'dicom.scanDicom',
  loadVolume: 'dicom.loadVolume',
  readVolume: 'io.readVolume',
  segmentVessel: 'segment.segmentVessel',
  surfaceFromVolume: 'mesh.surfaceFromVolume',
  tetMeshLabels: 'mesh.tetMeshLabels',
  vesselWall: 'mesh.vesselWall',
  tetBoundarySurface: 'mesh.tetBoundarySurface',
  solveFem: 'fem.solve',
  simulateEnsemble: 'hemo.simulateEnsemble',
  runPipeline: 'pipeline.runPipeline',
  conversionFactor: 'core.conversionFactor',
  info: 'worker: the pipeline\'s stage names and the adapter of the worker\'s navigator.gpu',
  releaseScan: 'worker: frees the files a scan holds in the worker',
  terminate: 'worker: stops it',
};

/** Every entry point of every package, as CONTRACT names them ('io', 'io/node'); none may be missing. */
function entryPoints(): string[] {
  const root = join(import.meta.dirname, '..', 'packages');
  return readdirSync(root)
    .filter((p) => existsSync(join(root, p, 'package.json')))
    .flatMap((p) => Object.keys((JSON.parse(readFileSync(join(root, p, 'package.json'), 'utf8')) as { exports: Record<string, unknown> }).exports).filter((k) => k !== './testing').map((k) => (k === '.' ? p : `${p}/${k.slice(2)}`)));
}

const isClass = (f: unknown) => typeof f === 'function' && /^class\b/.test(Function.prototype.toString.call(f));

describe('every exported function is classified', () => {
  it('every entry point of every package is listed (a new package or entry point cannot skip the contract)', () => {
    expect(Object.keys(CONTRACT).sort()).toEqual(entryPoints().sort());
  });

  it.each(Object.keys(CONTRACT))('%s', (name) => {
    const { module, entries } = CONTRACT[name]!;
    const exported = Object.keys(module).filter((k) => typeof module[k] === 'function' || isClass(module[k])).sort();
    expect(exported, `classify new exports in test/ops-contract.test.ts (compute, io, sync or not an op)`).toEqual(Object.keys(entries).sort());
  });
});

describe('every worker method is classified', () => {
  it('each mirrors a classified op of the package it names, or says why it is the worker\'s own', async () => {
    // A thread that ignores every message: the methods exist without the worker's script.
    const worker = workers.createWorker({ spawn: () => new Worker('', { eval: true }) });
    try {
      const methods = Object.keys(worker).filter((k) => k !== 'state').sort();
      expect(methods, 'classify new worker methods in WORKER_METHODS').toEqual(Object.keys(WORKER_METHODS).sort());
      for (const [method, op] of Object.entries(WORKER_METHODS)) {
        if (op.startsWith('worker: ')) continue;
        const dot = op.lastIndexOf('.');
        expect(CONTRACT[op.slice(0, dot)]?.entries[op.slice(dot + 1)], `${method} mirrors ${op}`).toBeDefined();
      }
    } finally {
      await worker.terminate();
    }
  });
});

const all = Object.entries(CONTRACT).flatMap(([pkg, { entries }]) => Object.entries(entries).map(([name, e]) => ({ id: `${pkg}.${name}`, e })));

async function abortCode(run: () => unknown): Promise<string> {
  try {
    await run();
    return 'no error';
  } catch (e) {
    return isPhysiotwinError(e) ? e.code : `raw ${String(e)}`;
  }
}

function progressLog(): { events: ProgressEvent[]; onProgress: (e: ProgressEvent) => void } {
  const events: ProgressEvent[] = [];
  return { events, onProgress: (e) => events.push(e) };
}

function checkProgress(events: ProgressEvent[]): void {
  expect(events.length).toBeGreaterThan(0);
  for (const e of events) {
    expect(typeof e.stage).toBe('string');
    expect(Number.isFinite(e.done) && Number.isFinite(e.total) && e.done >= 0 && e.done <= e.total).toBe(true);
  }
}

describe('ops take signal and onProgress and report their backend', () => {
  const aborted = AbortSignal.abort();
  for (const { id, e } of all) {
    if (e.kind === 'compute') {
      it(`${id} [cpu]`, async () => {
        expect(await abortCode(() => e.run({ backend: 'cpu', signal: aborted }))).toBe('ABORTED');
        const log = progressLog();
        const r = await e.run({ backend: 'cpu', onProgress: log.onProgress });
        expect(r.backend).toBe('cpu');
        checkProgress(log.events);
      });
    } else if (e.kind === 'io' || e.kind === 'sync') {
      it(`${id} [${e.kind}]`, async () => {
        expect(await abortCode(() => e.run({ signal: aborted }))).toBe('ABORTED');
        const log = progressLog();
        await e.run({ onProgress: log.onProgress });
        checkProgress(log.events);
      });
    }
  }
});

if (testedBackends().includes('webgpu')) {
  describe('ops report the WebGPU adapter they ran on', () => {
    let gpu: GpuContext | undefined;
    beforeAll(async () => {
      gpu = await requestGpu();
    });
    afterAll(() => gpu?.destroy());
    for (const { id, e } of all) {
      if (e.kind !== 'compute' || !e.webgpu) continue;
      it(`${id} [webgpu]`, async () => {
        const log = progressLog();
        const r = await e.run({ backend: 'webgpu', gpu, onProgress: log.onProgress });
        expect(r.backend).toBe('webgpu');
        expect(r.adapter).toEqual(gpu!.adapter);
        checkProgress(log.events);
      });
    }
  });
}
