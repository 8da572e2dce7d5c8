import { describe, expect, it } from 'vitest';
import type { Vec3 } from '@physiotwin/core';
import { createRng, createVolume, isPhysiotwinError } from '@physiotwin/core';
import { describeBackends } from '@physiotwin/gpu/testing';
import { adaptiveConnected } from './adaptive-connected.js';
import { largestComponent } from './components.js';
import { anisotropicDiffusion } from './diffusion.js';
import { fillHoles } from './morphology.js';
import { refineMask, segmentRange, segmentVessel } from './pipeline.js';
import { connectedThreshold } from './region-growing.js';
import { threshold } from './threshold.js';
import { autoVesselParams } from './vessel-auto.js';
import { withData } from './volume-utils.js';

/**
 * A tube along j (axis at i = 12, k = 8; radius 4 mm; spacing 1 x 1 x 1.5 mm) of value 1000 exp(-j / 40) on
 * surroundings at 150, with Gaussian noise of sd 40 (seeded), so that the smoothing step runs.
 */
const dims: Vec3 = [25, 40, 17];
const spacing: Vec3 = [1, 1, 1.5];
function noisyTube() {
  const rng = createRng(7);
  const data = new Float32Array(dims[0] * dims[1] * dims[2]);
  const truth = new Uint8Array(data.length);
  for (let k = 0, p = 0; k < dims[2]; k++) {
    for (let j = 0; j < dims[1]; j++) {
      for (let i = 0; i < dims[0]; i++, p++) {
        truth[p] = Math.hypot(i - 12, 1.5 * (k - 8)) <= 4 ? 1 : 0;
        data[p] = (truth[p] ? 1000 * Math.exp(-j / 40) : 150) + 40 * rng.normal();
      }
    }
  }
  return { volume: createVolume({ data, dims, spacing }), truth };
}
const seeds: Vec3[] = [[12, 10, 8]];

describe('segmentVessel', () => {
  it('is exactly the documented composition: parameters, smoothing, adaptive growth, hole filling, largest component', async () => {
    const { volume, truth } = noisyTube();
    const r = await segmentVessel(volume, seeds, { largest: true }, { backend: 'cpu' });
    // The same steps by hand.
    const p = autoVesselParams(volume, seeds);
    expect(p.diffusion).toBeDefined();
    const smooth = (await anisotropicDiffusion(volume, p.diffusion!, { backend: 'cpu' })).volume;
    const grown = await adaptiveConnected(smooth, seeds, p.growing, { backend: 'cpu' });
    const filled = fillHoles(grown.mask).mask;
    const largest = (await largestComponent(filled, {}, { backend: 'cpu' })).mask;
    expect(Array.from(r.mask.data)).toEqual(Array.from(largest.data));
    expect(r.params).toEqual(p);
    expect([r.rounds, r.converged, r.thresholdMin, r.thresholdMax]).toEqual([grown.iterations, grown.converged, grown.thresholdMin, grown.thresholdMax]);
    expect(r.steps.map((s) => [s.step, s.backend])).toEqual([['smooth', 'cpu'], ['grow', 'cpu'], ['fill-holes', 'cpu'], ['largest', 'cpu']]);
    expect(r.backend).toBe('cpu');
    expect(r.voxels).toBe(largest.data.reduce((a, v) => a + v, 0));
    // And it finds the tube: with noise sd 40 against a contrast of 850 falling to 340 it recovers all 1320 tube
    // voxels and nothing else with this seed; the bound leaves room for a few boundary voxels (Dice > 0.99).
    let both = 0;
    let truthCount = 0;
    for (let i = 0; i < truth.length; i++) {
      both += truth[i]! & r.mask.data[i]!;
      truthCount += truth[i]!;
    }
    expect((2 * both) / (truthCount + r.voxels)).toBeGreaterThan(0.99);
  });

  it('reports the progress of each step and stops with ABORTED when the signal fires', async () => {
    const { volume } = noisyTube();
    const stages = new Set<string>();
    await segmentVessel(volume, seeds, {}, { backend: 'cpu', onProgress: (e) => stages.add(e.stage) });
    expect([...stages]).toEqual(expect.arrayContaining(['anisotropic diffusion', 'adaptive connected']));
    const controller = new AbortController();
    const aborted = segmentVessel(volume, seeds, {}, {
      backend: 'cpu',
      signal: controller.signal,
      onProgress: (e) => {
        if (e.stage === 'adaptive connected') controller.abort();
      },
    });
    await expect(aborted).rejects.toSatisfy((e: unknown) => isPhysiotwinError(e, 'ABORTED'));
    const before = new AbortController();
    before.abort();
    await expect(segmentVessel(volume, seeds, {}, { signal: before.signal })).rejects.toSatisfy((e: unknown) => isPhysiotwinError(e, 'ABORTED'));
  });

  it('rejects a seed outside the image and a bad closeMm', async () => {
    const { volume } = noisyTube();
    await expect(segmentVessel(volume, [[25, 0, 0]])).rejects.toSatisfy((e: unknown) => isPhysiotwinError(e, 'INVALID_ARGUMENT'));
    await expect(segmentVessel(volume, seeds, { closeMm: -1 }, { backend: 'cpu' })).rejects.toSatisfy((e: unknown) => isPhysiotwinError(e, 'INVALID_ARGUMENT'));
  });
});

describeBackends('refineMask', (b) => {
  it('closes, fills holes and keeps the largest component, in that order, and reports each step', async () => {
    // A 7x7x7 cube with a one-voxel cavity and a one-voxel groove in one face, plus a separate 2x2x2 cube. Closing
    // with a ball of 1.5 mm (the 18-neighbourhood at 1 mm spacing) fills the groove and leaves the box as it is.
    const d: Vec3 = [16, 12, 12];
    const data = new Uint8Array(d[0] * d[1] * d[2]);
    const at = (i: number, j: number, k: number) => i + d[0] * (j + d[1] * k);
    for (let k = 2; k < 9; k++) for (let j = 2; j < 9; j++) for (let i = 2; i < 9; i++) data[at(i, j, k)] = 1;
    data[at(5, 5, 5)] = 0;
    for (let k = 4; k < 7; k++) data[at(5, 2, k)] = 0;
    for (let k = 2; k < 4; k++) for (let j = 2; j < 4; j++) for (let i = 12; i < 14; i++) data[at(i, j, k)] = 1;
    const mask = withData(createVolume({ data: new Float32Array(data.length), dims: d }), data);
    const r = await refineMask(mask, { closeMm: 1.5, fillHoles: true, largest: true }, b.options());
    const cube = new Uint8Array(data.length);
    for (let k = 2; k < 9; k++) for (let j = 2; j < 9; j++) for (let i = 2; i < 9; i++) cube[at(i, j, k)] = 1;
    expect(Array.from(r.mask.data)).toEqual(Array.from(cube));
    expect(r.voxels).toBe(343);
    expect(r.steps.map((s) => s.step)).toEqual(['close', 'fill-holes', 'largest']);
    // Hole filling is a CPU flood fill; the other steps run on the backend asked for.
    expect(r.steps.map((s) => s.backend)).toEqual([b.backend, 'cpu', b.backend]);
    expect(r.backend).toBe(b.backend);
    if (b.backend === 'webgpu') expect(r.adapter).toEqual(b.gpu().adapter);
    const none = await refineMask(mask, {}, b.options());
    expect(none.steps).toEqual([]);
    expect(none.mask.data).toBe(mask.data);
  });
});

describe('segmentRange', () => {
  it('is the range region (seed-connected, or all of it without seeds) followed by the clean-up steps', async () => {
    const { volume } = noisyTube();
    const cpu = { backend: 'cpu' } as const;
    const r = await segmentRange(volume, seeds, { lower: 500, fillHoles: true, largest: true }, cpu);
    const region = await connectedThreshold(volume, seeds, { lower: 500 }, cpu);
    const byHand = (await largestComponent(fillHoles(region.mask).mask, {}, cpu)).mask;
    expect(Array.from(r.mask.data)).toEqual(Array.from(byHand.data));
    expect(r.steps.map((s) => s.step)).toEqual(['threshold', 'fill-holes', 'largest']);
    const all = await segmentRange(volume, [], { lower: 500, upper: 600 }, cpu);
    expect(Array.from(all.mask.data)).toEqual(Array.from((await threshold(volume, { lower: 500, upper: 600 }, cpu)).mask.data));
    expect(all.steps.map((s) => s.step)).toEqual(['threshold']);
    await expect(segmentRange(volume, seeds, { lower: 2, upper: 1 }, cpu)).rejects.toSatisfy((e: unknown) => isPhysiotwinError(e, 'INVALID_ARGUMENT'));
  });
});
