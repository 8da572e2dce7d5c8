// Tetrahedral meshing throughput (tets/s, CPU, one thread) and quality, in one run: isosurface stuffing of a
// 20 mm radius sphere labelmap at 1 mm voxels (the acceptance case), of the VMTK aorta's `segment --auto`
// labelmap (built here as the CLI builds it: autoVesselParams, Perona-Malik smoothing, adaptive growing, hole
// filling), and the aorta's 1.5 mm vessel wall. Each case records its tets, nodes, volume and dihedral range, so a
// speed-up that costs quality shows in the same table.
import type { Vec3, Volume } from '@physiotwin/core';
import { loadavg } from 'node:os';
import { createVolume } from '@physiotwin/core';
import { readVolumeFile } from '@physiotwin/io/node';
import type { TetQuality } from '@physiotwin/mesh';
import { tetMeshLabels, vesselWall } from '@physiotwin/mesh';
import { adaptiveConnected, anisotropicDiffusion, autoVesselParams, fillHoles } from '@physiotwin/segment';
import { machine, measure, newReport, writeReport } from './harness.js';

const machineCores = () => machine().cores;

/** A ball of radius r mm at 1 mm voxels, centred on a voxel centre. */
function sphere(r: number): Volume {
  const n = 2 * Math.ceil(r) + 7;
  const c = (n - 1) / 2;
  const data = new Uint8Array(n * n * n);
  for (let k = 0; k < n; k++) for (let j = 0; j < n; j++) for (let i = 0; i < n; i++) if ((i - c) ** 2 + (j - c) ** 2 + (k - c) ** 2 <= r * r) data[i + n * (j + n * k)] = 1;
  return createVolume({ data, dims: [n, n, n] });
}

function figures(q: TetQuality): Record<string, number> {
  return { tets: q.tets, nodes: q.nodes, volumeMm3: Number(q.volume.toFixed(1)), minDihedralDeg: Number(q.minDihedralDeg.toFixed(2)), maxDihedralDeg: Number(q.maxDihedralDeg.toFixed(2)), minRadiusRatio: Number(q.minRadiusRatio.toFixed(3)), inverted: q.inverted };
}

export default async function run(): Promise<void> {
  const report = newReport('tetmesh');
  const ct = await readVolumeFile(new URL('../fixtures/mesh/vmtk-aorta/aorta.mha', import.meta.url).pathname);
  const seeds: Vec3[] = [[71, 213, 16]];
  const params = autoVesselParams(ct, seeds);
  const smooth = params.diffusion ? (await anisotropicDiffusion(ct, params.diffusion, { backend: 'cpu' })).volume : ct;
  const aorta = fillHoles((await adaptiveConnected(smooth, seeds, params.growing, { backend: 'cpu' })).mask).mask;
  const ball = sphere(20);
  const cases: Array<{ name: string; volume: Volume; mesh: () => TetQuality; exact?: number }> = [
    { name: 'sphere r = 20 mm, 1 mm voxels, h = 1 mm', volume: ball, mesh: () => tetMeshLabels(ball).quality, exact: (4 / 3) * Math.PI * 20 ** 3 },
    { name: 'aorta segment --auto labels (157x393x34, 0.88x0.88x1.5 mm), h = 1.5 mm', volume: aorta, mesh: () => tetMeshLabels(aorta).quality },
    { name: 'aorta wall 1.5 mm around the segment --auto lumen, h = 0.75 mm', volume: aorta, mesh: () => vesselWall(aorta, { thicknessMm: 1.5 }).quality },
  ];
  for (const c of cases) {
    let quality = c.mesh();
    const result = await measure({
      name: `tetmesh ${c.name}`, impl: 'physiotwin cpu', backend: 'cpu', size: { voxels: c.volume.data.length, dims: c.volume.dims.join('x') },
      items: quality.tets, itemUnit: 'tets', repeats: 3,
      run: () => { quality = c.mesh(); },
    });
    result.extra = { ...figures(quality), ...(c.exact ? { volumeRelError: Number((quality.volume / c.exact - 1).toExponential(3)) } : {}) };
    report.results.push(result);
  }
  report.notes.push(
    'One thread; times include the smoothing of the label indicators, the lattice, the cuts and the quality report.',
    `Load average (1 min) at the end of the run: ${loadavg()[0]!.toFixed(1)} on ${machineCores()} cores: above the core count, times are inflated by other processes.`,
  );
  writeReport(report);
}
