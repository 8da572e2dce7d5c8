// Marching cubes throughput (voxels/s): physiotwin CPU, physiotwin WebGPU and vtk.js ImageMarchingCubes, in one
// run, on the aorta CT (fixtures/mesh/vmtk-aorta, iso 1500) and on a 256^3 synthetic volume (a float32
// distance field of a torus-and-sphere scene, iso 0). vtk.js runs with mergePoints on (so both produce shared
// vertices) and computeNormals off (physiotwin computes none). Segmentation ops on the aorta and the 256^3
// volume in voxels/s; the `segment --auto` steps (the Perona-Malik smoothing and adaptive growing that
// autoVesselParams picks for the aorta seed, as the CLI does; the same smoothing on the 256^3 volume) in voxels/s.
import vtkImageData from '@kitware/vtk.js/Common/DataModel/ImageData.js';
import vtkDataArray from '@kitware/vtk.js/Common/Core/DataArray.js';
import type { vtkDataSet } from '@kitware/vtk.js/Common/DataModel/DataSet.js';
import vtkImageMarchingCubes from '@kitware/vtk.js/Filters/General/ImageMarchingCubes.js';
import type { Volume } from '@physiotwin/core';
import { createVolume } from '@physiotwin/core';
import { releaseSharedGpu } from '@physiotwin/gpu';
import { readVolumeFile } from '@physiotwin/io/node';
import { marchingCubes } from '@physiotwin/mesh';
import { adaptiveConnected, anisotropicDiffusion, autoVesselParams, connectedComponents, morphology, threshold } from '@physiotwin/segment';
import type { BenchResult } from './harness.js';
import { measure, newReport, optionalGpu, ratio, writeReport } from './harness.js';

function synthetic(n: number): Volume<Float32Array> {
  const data = new Float32Array(n * n * n);
  const c = (n - 1) / 2;
  const R = n * 0.3;
  const r = n * 0.08;
  for (let k = 0; k < n; k++) {
    for (let j = 0; j < n; j++) {
      for (let i = 0; i < n; i++) {
        const x = i - c, y = j - c, z = k - c;
        const torus = r - Math.hypot(Math.hypot(x, y) - R, z);
        const ball = n * 0.15 - Math.hypot(x, y, z);
        data[i + n * (j + n * k)] = Math.max(torus, ball);
      }
    }
  }
  return createVolume({ data, dims: [n, n, n] });
}

function vtkImage(v: Volume) {
  const image = vtkImageData.newInstance();
  image.setDimensions([...v.dims]);
  image.setSpacing([...v.spacing]);
  image.setOrigin([...v.origin]);
  // vtk.js' typings leave vtkDataSet's getPointData off vtkImageData, which has it
  (image as unknown as vtkDataSet).getPointData().setScalars(vtkDataArray.newInstance({ numberOfComponents: 1, values: v.data as Float32Array }));
  return image;
}

export default async function run(): Promise<void> {
  const report = newReport('mesh');
  const aorta = await readVolumeFile(new URL('../fixtures/mesh/vmtk-aorta/aorta.mha', import.meta.url).pathname);
  const big = synthetic(256);
  const gpu = await optionalGpu(report);
  const cases: Array<{ name: string; volume: Volume; iso: number }> = [
    { name: 'aorta 157x393x34 float32, iso 1500', volume: aorta, iso: 1500 },
    { name: 'synthetic 256^3 float32, iso 0', volume: big, iso: 0 },
  ];
  for (const { name, volume, iso } of cases) {
    const voxels = volume.dims[0] * volume.dims[1] * volume.dims[2];
    const size = { voxels, dims: volume.dims.join('x') };
    let triangles = 0;
    const ours = await measure({
      name: `marching cubes ${name}`, impl: 'physiotwin cpu', backend: 'cpu', size, items: voxels, itemUnit: 'voxels',
      run: async () => { triangles = (await marchingCubes(volume, { iso }, { backend: 'cpu' })).mesh.triangles.length / 3; },
    });
    ours.extra = { triangles };
    report.results.push(ours);
    const image = vtkImage(volume);
    let vtkTriangles = 0;
    const vtk = await measure({
      name: `marching cubes ${name}`, impl: 'vtk.js ImageMarchingCubes (mergePoints)', backend: 'other', size, items: voxels, itemUnit: 'voxels',
      run: () => {
        const mc = vtkImageMarchingCubes.newInstance({ contourValue: iso, computeNormals: false, mergePoints: true });
        mc.setInputData(image);
        vtkTriangles = mc.getOutputData().getPolys().getNumberOfCells();
      },
    });
    vtk.extra = { triangles: vtkTriangles };
    report.results.push(vtk);
    report.ratios.push({ label: `${name}: physiotwin cpu speed-up over vtk.js`, value: ratio(vtk, ours) });
    // On SwiftShader (a software adapter) the 256^3 case takes many minutes per run: only the aorta runs there.
    if (gpu && (!gpu.adapter.isFallback || voxels <= 4_000_000)) {
      const g = gpu;
      let gpuResult: BenchResult | undefined;
      try {
        gpuResult = await measure({
          name: `marching cubes ${name}`, impl: 'physiotwin webgpu', backend: 'webgpu', adapter: g.adapter.description || g.adapter.architecture,
          isFallbackAdapter: g.adapter.isFallback, size, items: voxels, itemUnit: 'voxels', repeats: 3,
          run: async () => { await marchingCubes(volume, { iso }, { backend: 'webgpu', gpu: g }); },
        });
        report.results.push(gpuResult);
        report.ratios.push({ label: `${name}: physiotwin webgpu speed-up over vtk.js${g.adapter.isFallback ? ' (SwiftShader: software)' : ''}`, value: ratio(vtk, gpuResult) });
      } catch (e) {
        report.notes.push(`webgpu marching cubes on ${name} failed: ${(e as Error).message}`);
      }
    }
  }
  // Segmentation ops, CPU: voxels/s.
  for (const { name, volume, iso } of cases) {
    const voxels = volume.dims[0] * volume.dims[1] * volume.dims[2];
    const size = { voxels, dims: volume.dims.join('x') };
    const { mask } = await threshold(volume, { lower: iso }, { backend: 'cpu' });
    report.results.push(await measure({ name: `threshold ${name}`, impl: 'physiotwin cpu', backend: 'cpu', size, items: voxels, itemUnit: 'voxels', run: () => threshold(volume, { lower: iso }, { backend: 'cpu' }) }));
    report.results.push(await measure({ name: `connected components (6) ${name}`, impl: 'physiotwin cpu', backend: 'cpu', size, items: voxels, itemUnit: 'voxels', repeats: 3, run: () => connectedComponents(mask, { connectivity: 6 }, { backend: 'cpu' }) }));
    report.results.push(await measure({ name: `closing r = 2 mm ${name}`, impl: 'physiotwin cpu', backend: 'cpu', size, items: voxels, itemUnit: 'voxels', repeats: 3, run: () => morphology(mask, { operation: 'close', radiusMm: 2 }, { backend: 'cpu' }) }));
  }
  // The `segment --auto` steps. Diffusion: CPU on both volumes, WebGPU where it ran above; growing: the aorta only
  // (the synthetic volume has no vessel), CPU statistics with CPU components.
  const seed: [number, number, number] = [71, 213, 16];
  const params = autoVesselParams(aorta, [seed]);
  const diffusion = params.diffusion!; // the aorta's seed neighbourhood is noisy (sd 114)
  for (const { name, volume } of cases) {
    const voxels = volume.dims[0] * volume.dims[1] * volume.dims[2];
    const size = { voxels, dims: volume.dims.join('x') };
    const label = `anisotropic diffusion (${diffusion.iterations} steps) ${name.split(',')[0]}`;
    const cpuDiffusion = await measure({ name: label, impl: 'physiotwin cpu', backend: 'cpu', size, items: voxels, itemUnit: 'voxels', repeats: 3, run: () => anisotropicDiffusion(volume, diffusion, { backend: 'cpu' }) });
    report.results.push(cpuDiffusion);
    if (gpu && (!gpu.adapter.isFallback || voxels <= 4_000_000)) {
      const g = gpu;
      const gpuDiffusion = await measure({
        name: label, impl: 'physiotwin webgpu', backend: 'webgpu', adapter: g.adapter.description || g.adapter.architecture, isFallbackAdapter: g.adapter.isFallback,
        size, items: voxels, itemUnit: 'voxels', repeats: 3, run: () => anisotropicDiffusion(volume, diffusion, { backend: 'webgpu', gpu: g }),
      });
      report.results.push(gpuDiffusion);
      report.ratios.push({ label: `${label}: webgpu speed-up over cpu${g.adapter.isFallback ? ' (SwiftShader: software)' : ''}`, value: ratio(cpuDiffusion, gpuDiffusion) });
    }
  }
  const smoothAorta = (await anisotropicDiffusion(aorta, diffusion, { backend: 'cpu' })).volume;
  const aortaVoxels = aorta.dims[0] * aorta.dims[1] * aorta.dims[2];
  let rounds = 0;
  const growing = await measure({
    name: 'adaptive connected (segment --auto growing) aorta from seed 71,213,16', impl: 'physiotwin cpu', backend: 'cpu', size: { voxels: aortaVoxels, dims: aorta.dims.join('x') },
    items: aortaVoxels, itemUnit: 'voxels', repeats: 3, run: async () => { rounds = (await adaptiveConnected(smoothAorta, [seed], params.growing, { backend: 'cpu' })).iterations; },
  });
  growing.extra = { rounds };
  report.results.push(growing);
  if (gpu?.adapter.isFallback) report.notes.push('WebGPU ran on SwiftShader (software Vulkan on the CPU): its times measure correctness plumbing, not GPU speed; the 256^3 WebGPU case is skipped there.');
  report.notes.push(
    'vtk.js ImageMarchingCubes runs single-threaded on the main thread; physiotwin CPU too (one thread).',
    'vtk.js ignores the image direction (both volumes here have identity direction, so outputs are comparable).',
  );
  writeReport(report);
  await releaseSharedGpu();
}
