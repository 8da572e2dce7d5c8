// Histogram + statistics of a 256^3 int16 volume: physiotwin CPU vs WebGPU in one run.
// CPU figures are compared with the machine's copy bandwidth; WebGPU on SwiftShader is software
// rendering on the same CPU and says nothing about GPU speed (labelled in the table).
import { createRng, createVolume } from '@physiotwin/core';
import { getSharedGpu, releaseSharedGpu } from '@physiotwin/gpu';
import { histogram } from '@physiotwin/segment';
import { measure, newReport, ratio, writeReport } from './harness.js';

export default async function run(): Promise<void> {
  const report = newReport('histogram');
  const n = 256;
  const rng = createRng(1);
  const data = new Int16Array(n * n * n);
  // CT-like values: air, soft tissue and bone.
  for (let i = 0; i < data.length; i++) {
    const u = rng.next();
    data[i] = u < 0.3 ? -1000 + Math.floor(50 * rng.next()) : u < 0.9 ? Math.floor(80 * rng.next()) - 20 : 300 + Math.floor(1500 * rng.next());
  }
  const volume = createVolume({ data, dims: [n, n, n] });
  const size = { voxels: data.length, dtype: 'int16', bins: 256 };
  const spec = { bins: 256, range: [-1024, 3071] as [number, number] };
  const cpu = await measure(
    { name: 'histogram + stats 256^3', impl: 'physiotwin', backend: 'cpu', size, bytes: data.byteLength, items: data.length, itemUnit: 'voxels', run: () => histogram(volume, spec, { backend: 'cpu' }) },
    report.memoryBandwidthGBps,
  );
  report.results.push(cpu);
  const gpu = await getSharedGpu();
  const adapter = `${gpu.adapter.description || gpu.adapter.architecture} (${gpu.adapter.vendor})`;
  const webgpu = await measure({
    name: 'histogram + stats 256^3',
    impl: 'physiotwin',
    backend: 'webgpu',
    adapter,
    isFallbackAdapter: gpu.adapter.isFallback,
    size,
    bytes: data.byteLength,
    items: data.length,
    itemUnit: 'voxels',
    repeats: 3,
    run: () => histogram(volume, spec, { backend: 'webgpu', gpu }),
  });
  report.results.push(webgpu);
  report.ratios.push({ label: 'WebGPU time / CPU time (median; upload and readback included)', value: ratio(webgpu, cpu) });
  report.notes.push(
    'CPU: 16-bit volumes are counted into a 65536-entry table in one pass (one load and one increment per voxel); bins, min, max, mean and std come from the table.',
    'The CPU fraction of bandwidth counts the 2 bytes read per voxel against the measured read+write copy bandwidth.',
    gpu.adapter.isFallback
      ? 'The WebGPU adapter is SwiftShader (a CPU implementation of Vulkan): its times are software emulation, not GPU times.'
      : 'The WebGPU time includes uploading the volume and reading the results back.',
  );
  writeReport(report);
  await releaseSharedGpu();
}
