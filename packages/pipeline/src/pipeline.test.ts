import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Vec3, Volume } from '@physiotwin/core';
import { createVolume, isPhysiotwinError } from '@physiotwin/core';
import { readVolumeFile } from '@physiotwin/io/node';
import type { PipelineResult } from './pipeline.js';
import { runPipeline, STAGE_NAMES } from './pipeline.js';
import { OUTPUT_FILES, pipelineOutputPaths, resumeFrom, writePipelineOutputs } from './node.js';

const AORTA = join(__dirname, '../../../fixtures/mesh/vmtk-aorta/aorta.mha');
// VMTK's seeds (fixtures/mesh/README.md): the aorta, and the two common iliacs used only to check the centerlines.
const AORTA_SEED: Vec3 = [71, 213, 16];
const ILIAC_SEEDS: Vec3[] = [[58, 78, 22], [96, 78, 21]];

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

describe('runPipeline on the VMTK aorta CT', () => {
  let result: PipelineResult;
  let dir: string;
  beforeAll(async () => {
    const volume = await readVolumeFile(AORTA);
    result = await runPipeline({ volume, seeds: [AORTA_SEED], name: 'aorta.mha' }, { backend: 'cpu' });
    dir = mkdtempSync(join(tmpdir(), 'physiotwin-pipeline-'));
  }, 120_000);
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('meets the targets: mean inlet pressure and cardiac output within 5%, flow conserved at every junction', () => {
    const h = result.hemo;
    console.info(`aorta pipeline: ${result.stages.map((s) => `${s.stage} ${(s.ms / 1000).toFixed(2)} s ${s.backend}`).join(', ')}; MAP ${h.inlet.meanPressureMmHg.toFixed(2)} mmHg, CO ${h.cardiacOutputLPerMin.toFixed(3)} L/min, junction imbalance ${h.junctionImbalance.toExponential(1)}`);
    expect(result.stages.map((s) => s.stage)).toEqual(STAGE_NAMES);
    expect(Math.abs(h.inlet.meanPressureMmHg / 93 - 1)).toBeLessThan(0.05);
    expect(Math.abs(h.cardiacOutputLPerMin / 5 - 1)).toBeLessThan(0.05);
    // 1e-6 relative: the junction equations hold to the Newton tolerance of the f64 solver.
    expect(h.junctionImbalance).toBeLessThan(1e-6);
    // the outlets' mean flows add up to the inflow (the RCR capacitors' mean flow over a periodic cycle is 0)
    const outflow = h.outlets.reduce((s, o) => s + o.meanFlowMlPerS, 0);
    expect(Math.abs(outflow / h.inlet.meanFlowMlPerS - 1)).toBeLessThan(0.01);
    for (const o of h.outlets) expect(o.systolicMmHg).toBeGreaterThan(o.diastolicMmHg);
  });

  it('follows the aorta into both common iliacs: three branches from one bifurcation', () => {
    const c = result.centerlines;
    const m = result.labelmap;
    for (const s of [AORTA_SEED, ...ILIAC_SEEDS]) expect(m.data[s[0] + m.dims[0] * (s[1] + m.dims[1] * s[2])]).toBe(1);
    // the branch whose points come nearest to a seed's world position
    const world = (s: Vec3) => [0, 1, 2].map((a) => m.origin[a]! + [0, 1, 2].reduce((sum, b) => sum + m.direction[3 * b + a]! * s[b]! * m.spacing[b]!, 0));
    const nearest = (s: Vec3) => {
      const w = world(s);
      let best = 0, bestD = Infinity;
      for (let p = 0; p < c.radius.length; p++) {
        const d = Math.hypot(c.points[3 * p]! - w[0]!, c.points[3 * p + 1]! - w[1]!, c.points[3 * p + 2]! - w[2]!);
        if (d < bestD) (best = p), (bestD = d);
      }
      expect(bestD).toBeLessThan(c.radius[best]! + 1);
      return c.branchId[best]!;
    };
    const ancestors = (b: number): number[] => (b < 0 ? [] : [b, ...ancestors(c.branches[b]!.parent)]);
    const aorta = c.branches[nearest(AORTA_SEED)]!;
    const [left, right] = ILIAC_SEEDS.map((s) => aorta.children.find((k) => ancestors(nearest(s)).includes(k)));
    expect(aorta.endsAtOutlet).toBe(false);
    expect(left).toBeDefined();
    expect(right).toBeDefined();
    expect(left).not.toBe(right);
  });

  it('writes every output with a manifest, and --resume reuses each stage whose key and files match', async () => {
    const manifest = await writePipelineOutputs(dir, result);
    for (const p of pipelineOutputPaths(dir)) expect(existsSync(p), p).toBe(true);
    expect(manifest.stages.map((s) => s.stage)).toEqual(STAGE_NAMES);
    const config = JSON.parse(readFileSync(join(dir, OUTPUT_FILES.model), 'utf8')) as { vessels: unknown[] };
    expect(config.vessels.length).toBe(result.model.config.vessels.length);
    // Same input: every stage reused, the same numbers.
    const again = await runPipeline(result.input, { backend: 'cpu', reuse: resumeFrom(dir) });
    expect(again.stages.map((s) => s.reused)).toEqual(STAGE_NAMES.map(() => true));
    expect(again.hemo.inlet.meanPressureMmHg).toBeCloseTo(result.hemo.inlet.meanPressureMmHg, 9);
    // Another pressure target: the image stages are reused, the model and its simulation run again.
    const other = await runPipeline(result.input, { backend: 'cpu', targets: { mapPressureMmHg: 85 }, reuse: resumeFrom(dir) });
    expect(other.stages.map((s) => s.reused)).toEqual([true, true, true, false, false]);
    expect(Math.abs(other.hemo.inlet.meanPressureMmHg / 85 - 1)).toBeLessThan(0.05);
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
