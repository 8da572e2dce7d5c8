import type { OperationOptions, Volume } from '@physiotwin/core';
import { DTYPE_BYTES, dtypeOf, throwIfAborted } from '@physiotwin/core';
import type { GpuContext } from '@physiotwin/gpu';
import { ceilF32, createBufferFrom, createStorageBuffer, createUniformBuffer, floorF32, getComputePipeline, readBuffer, withGpuErrorScope } from '@physiotwin/gpu';
import { statsWgsl } from './generated/shaders.js';
import { histogramThresholds, rangeOf, toPhysical } from './stats.cpu.js';
import type { Histogram, HistogramSpec, VolumeStatistics } from './stats.cpu.js';

const DTYPE_CODE = { uint8: 0, int8: 1, uint16: 2, int16: 3, float32: 4 } as const;
const WG = 256;
const ITEMS = 16;
const PER_GROUP = WG * ITEMS;
const LOCAL_BINS = 2048;
const MAX_CHUNK_BYTES = 1 << 28;

interface Chunk {
  words: GPUBuffer;
  count: number;
  groups: number;
  partialOffset: number;
}

function dispatchSize(groups: number): [number, number] {
  const x = Math.min(groups, 65535);
  return [x, Math.ceil(groups / x)];
}

/**
 * Statistics and optional histogram on WebGPU. The volume is uploaded in chunks no larger than the device's
 * binding limit; pass 1 reduces (min, max, sum) per workgroup, pass 2 sums squared deviations from the mean
 * and counts bins (in workgroup memory when bins <= 4096). Partials are combined in f64 on the host.
 */
export async function statisticsWebgpu(
  gpu: GpuContext,
  volume: Volume,
  spec: HistogramSpec | undefined,
  options: OperationOptions,
  /** Upper bound on one chunk's bytes (the device limit applies too); smaller values are for tests. */
  maxChunkBytes = MAX_CHUNK_BYTES,
): Promise<VolumeStatistics | Histogram> {
  const { device } = gpu;
  const dtype = dtypeOf(volume.data) as keyof typeof DTYPE_CODE;
  const constants = { DTYPE: DTYPE_CODE[dtype] };
  const [reduce, deviation] = await Promise.all([
    getComputePipeline(device, { kernel: 'segment/stats', code: statsWgsl, entryPoint: 'reduce', constants }),
    getComputePipeline(device, { kernel: 'segment/stats', code: statsWgsl, entryPoint: 'deviation_histogram', constants }),
  ]);
  const bytesPer = DTYPE_BYTES[dtype];
  const limit = Math.min(device.limits.maxStorageBufferBindingSize, device.limits.maxBufferSize, maxChunkBytes);
  const chunkElements = Math.max(PER_GROUP, Math.floor(limit / bytesPer / PER_GROUP) * PER_GROUP);
  const data = volume.data;
  const bytes = new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
  const buffers: GPUBuffer[] = [];
  const track = <T extends GPUBuffer>(b: T) => (buffers.push(b), b);
  try {
    const chunks: Chunk[] = [];
    let totalGroups = 0;
    for (let start = 0; start < data.length; start += chunkElements) {
      throwIfAborted(options.signal, 'statistics upload');
      const count = Math.min(chunkElements, data.length - start);
      const words = track(createBufferFrom(device, bytes.subarray(start * bytesPer, (start + count) * bytesPer), GPUBufferUsage.STORAGE, `segment/stats:voxels[${chunks.length}]`));
      const groups = Math.ceil(count / PER_GROUP);
      chunks.push({ words, count, groups, partialOffset: totalGroups });
      totalGroups += groups;
      options.onProgress?.({ stage: 'statistics upload', done: start + count, total: data.length });
    }
    const partials = track(createStorageBuffer(device, totalGroups * 16, 'segment/stats:partials'));

    // Pass 1: min, max, sum.
    await withGpuErrorScope(device, 'segment/stats reduce', () => {
      const encoder = device.createCommandEncoder({ label: 'segment/stats reduce' });
      for (const c of chunks) {
        const params = track(createUniformBuffer(device, [['u32', c.count], ['u32', c.groups], ['u32', c.partialOffset], ['u32', 0], ['u32', 0], ['f32', 1], ['f32', 0]], 'segment/stats:params'));
        const pass = encoder.beginComputePass({ label: 'segment/stats reduce' });
        pass.setPipeline(reduce);
        pass.setBindGroup(0, device.createBindGroup({ label: 'segment/stats reduce', layout: reduce.getBindGroupLayout(0), entries: [params, c.words, partials].map((buffer, binding) => ({ binding, resource: { buffer } })) }));
        pass.dispatchWorkgroups(...dispatchSize(c.groups));
        pass.end();
      }
      device.queue.submit([encoder.finish()]);
    });
    const p1 = new Float32Array(await readBuffer(device, partials, totalGroups * 16));
    let min = Infinity;
    let max = -Infinity;
    let sum = 0;
    let nanCount = 0;
    for (let g = 0; g < totalGroups; g++) {
      min = Math.min(min, p1[4 * g]!);
      max = Math.max(max, p1[4 * g + 1]!);
      sum += p1[4 * g + 2]!;
      nanCount += p1[4 * g + 3]!;
    }
    const count = data.length - nanCount;
    const mean = count ? sum / count : NaN;
    throwIfAborted(options.signal, 'statistics');

    // Pass 2: squared deviations and bins.
    const bins = spec?.bins ?? 0;
    const storedMinMax = { min: count ? min : NaN, max: count ? max : NaN };
    const range = spec ? (spec.range ?? rangeOf(storedMinMax, volume.rescale)) : undefined;
    const thresholdValues = new Float32Array(bins + 1);
    let sign: 1 | -1 = 1;
    if (range) {
      const th = histogramThresholds(range, bins, volume.rescale);
      sign = th.sign;
      for (let b = 0; b < bins; b++) thresholdValues[b] = ceilF32(th.t[b]!);
      thresholdValues[bins] = floorF32(th.t[bins]!);
    }
    const thresholds = track(createBufferFrom(device, thresholdValues, GPUBufferUsage.STORAGE, 'segment/stats:thresholds'));
    const hist = track(createStorageBuffer(device, (bins + 2) * 4, 'segment/stats:histogram'));
    const localHist = bins <= LOCAL_BINS ? 1 : 0;
    await withGpuErrorScope(device, 'segment/stats deviation_histogram', () => {
      const encoder = device.createCommandEncoder({ label: 'segment/stats deviation_histogram' });
      for (const c of chunks) {
        const params = track(createUniformBuffer(device, [['u32', c.count], ['u32', c.groups], ['u32', c.partialOffset], ['u32', bins], ['u32', localHist], ['f32', sign], ['f32', count ? mean : 0]], 'segment/stats:params'));
        const pass = encoder.beginComputePass({ label: 'segment/stats deviation_histogram' });
        pass.setPipeline(deviation);
        pass.setBindGroup(0, device.createBindGroup({ label: 'segment/stats deviation_histogram', layout: deviation.getBindGroupLayout(0), entries: [params, c.words, partials, thresholds, hist].map((buffer, binding) => ({ binding, resource: { buffer } })) }));
        pass.dispatchWorkgroups(...dispatchSize(c.groups));
        pass.end();
      }
      device.queue.submit([encoder.finish()]);
    });
    const [p2Bytes, histBytes] = await Promise.all([readBuffer(device, partials, totalGroups * 16), readBuffer(device, hist, (bins + 2) * 4)]);
    const p2 = new Float32Array(p2Bytes);
    // The kernel subtracted the f32-rounded mean m'; sum (v - m)^2 = sum (v - m')^2 - count (m - m')^2.
    const meanF32 = Math.fround(count ? mean : 0);
    let ss = 0;
    for (let g = 0; g < totalGroups; g++) ss += p2[4 * g]!;
    ss -= count * (mean - meanF32) ** 2;
    const stored = { count, nanCount, ...storedMinMax, mean, std: count ? Math.sqrt(Math.max(0, ss) / count) : NaN };
    const stats: VolumeStatistics = { ...toPhysical(stored, volume.rescale), backend: 'webgpu', adapter: gpu.adapter };
    if (!spec || !range) return stats;
    const counted = new Uint32Array(histBytes);
    return {
      ...stats,
      counts: counted.slice(0, bins),
      range,
      binWidth: (range[1] - range[0]) / bins,
      underflow: counted[bins]!,
      overflow: counted[bins + 1]!,
    };
  } finally {
    for (const b of buffers) b.destroy();
  }
}
