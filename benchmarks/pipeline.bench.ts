// The whole pipeline: the demo (the VMTK aorta CT from one seed) on the CPU, time per stage; and the parity of
// --backend webgpu with --backend cpu on a synthetic tube (every stage, the wall's FE included), which takes about a
// minute on SwiftShader and so lives here rather than in the test suite. The run fails when a difference exceeds
// its stated tolerance.
import { createVolume } from '@physiotwin/core';
import type { Vec3 } from '@physiotwin/core';
import { getSharedGpu, releaseSharedGpu } from '@physiotwin/gpu';
import { readVolumeFile } from '@physiotwin/io/node';
import type { PipelineResult } from '@physiotwin/pipeline';
import { runPipeline } from '@physiotwin/pipeline';
import { measure, newReport, writeReport } from './harness.js';

export default async function run(): Promise<void> {
  const report = newReport('pipeline');
  const ct = await readVolumeFile(new URL('../fixtures/mesh/vmtk-aorta/aorta.mha', import.meta.url).pathname);
  let demo: PipelineResult | undefined;
  report.results.push(
    await measure({ name: 'demo pipeline, VMTK aorta CT', impl: 'physiotwin cpu', backend: 'cpu', size: { voxels: ct.data.length, dims: ct.dims.join('x') }, repeats: 1, run: async () => (demo = await runPipeline({ volume: ct, seeds: [[71, 213, 16]] }, { backend: 'cpu' })) }),
  );
  const d = demo!;
  report.notes.push(
    `demo stages (last run, ms): ${d.stages.map((s) => `${s.stage} ${s.ms.toFixed(0)}`).join(', ')}`,
    `demo results: mean inlet pressure ${d.hemo.inlet.meanPressureMmHg.toFixed(2)} mmHg (target 93), cardiac output ${d.hemo.cardiacOutputLPerMin.toFixed(3)} L/min (target 5), junction imbalance ${d.hemo.junctionImbalance.toExponential(1)}, wall von Mises peak ${d.wall.peakVonMisesMpa.toFixed(3)} MPa, 99th percentile ${d.wall.p99VonMisesMpa.toFixed(3)} MPa, ${d.wall.mesh.tets.length / 4} tets`,
  );

  // parity on a 40^3 tube image (radius 5 voxels, a +-30 ripple)
  const n = 40;
  const volume = createVolume({ dims: [n, n, n], spacing: [1, 1, 1], data: new Float32Array(n ** 3).map((_, v) => (Math.hypot((v % n) - 20, (Math.floor(v / n) % n) - 20) < 5 ? 1000 : 100) + ((v * 7919) % 13) * 5) });
  const input = { volume, seeds: [[20, 20, 20]] as Vec3[] };
  const gpu = await getSharedGpu();
  const cpu = await runPipeline(input, { backend: 'cpu' });
  const web = await runPipeline(input, { backend: 'webgpu', gpu });
  const fail: string[] = [];
  const check = (what: string, value: number, bound: number) => {
    report.notes.push(`parity ${what}: ${value.toExponential(2)} (bound ${bound.toExponential(0)})`);
    if (!(value <= bound)) fail.push(what);
  };
  check('labelmap voxels that differ', web.labelmap.data.reduce((k, v, i) => k + (v === cpu.labelmap.data[i] ? 0 : 1), 0), 0);
  let dp = 0, scale = 0;
  for (let i = 0; i < cpu.surface.positions.length; i++) (dp = Math.max(dp, Math.abs(web.surface.positions[i]! - cpu.surface.positions[i]!))), (scale = Math.max(scale, Math.abs(cpu.surface.positions[i]!)));
  check('surface positions, max |difference| / max |x| (f32 marching cubes)', web.surface.triangles.length === cpu.surface.triangles.length ? dp / scale : Infinity, 1e-5);
  check('mean inlet pressure, relative', Math.abs(web.hemo.inlet.meanPressureMmHg / cpu.hemo.inlet.meanPressureMmHg - 1), 1e-12);
  let dv = 0;
  for (let t = 0; t < cpu.wall.fe.vonMises.length; t++) dv = Math.max(dv, Math.abs(web.wall.fe.vonMises[t]! - cpu.wall.fe.vonMises[t]!));
  check(`wall von Mises, max |difference| / peak (f32 CG in f64 refinement, ${web.wall.fe.precision})`, dv / cpu.wall.peakVonMisesMpa, 1e-6);
  report.notes.push(`parity stages on WebGPU (${gpu.adapter.description || gpu.adapter.vendor}${gpu.adapter.isFallback ? ', software: not GPU timings' : ''}): ${web.stages.map((s) => `${s.stage} ${s.ms.toFixed(0)} ms ${s.backend}`).join(', ')}`);
  writeReport(report);
  await releaseSharedGpu();
  if (fail.length) throw new Error(`pipeline parity out of tolerance: ${fail.join('; ')}`);
}
