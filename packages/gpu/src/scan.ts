import { scanWgsl } from './generated/shaders.js';
import { bindEntries, dispatch2d, WORKGROUP } from './kernels.js';
import { createStorageBuffer, createUniformBuffer, getComputePipeline } from './resources.js';

/** The two pipelines of the prefix sum, from {@link scanPipelines}. */
export interface ScanPipelines {
  scan: GPUComputePipeline;
  add: GPUComputePipeline;
}

/**
 * Compiles (once per device) the pipelines of {@link encodeScan} (shaders/gpu/scan.wgsl).
 * @throws PhysiotwinError `GPU_VALIDATION` if the kernel does not compile on this device.
 */
export async function scanPipelines(device: GPUDevice): Promise<ScanPipelines> {
  const scan = await getComputePipeline(device, { kernel: 'gpu/scan', code: scanWgsl, entryPoint: 'scan_blocks' });
  const add = await getComputePipeline(device, { kernel: 'gpu/scan', code: scanWgsl, entryPoint: 'add_offsets' });
  return { scan, add };
}

/**
 * Encodes an in-place exclusive prefix sum of `count` u32 in `data` (multi-level: block sums are scanned
 * recursively, so any count a binding holds works) into `encoder`, in one compute pass from `beginPass`, and copies
 * the grand total to `total` at byte `totalOffset`. No readback. The scratch buffers it creates are pushed to
 * `owned`, for the caller to destroy once the work is done.
 * @throws nothing itself; encoding errors surface in the caller's {@link withGpuErrorScope}.
 */
export function encodeScan(
  device: GPUDevice,
  encoder: GPUCommandEncoder,
  pipelines: ScanPipelines,
  data: GPUBuffer,
  count: number,
  total: GPUBuffer,
  totalOffset: number,
  owned: GPUBuffer[],
): void {
  const levels: Array<{ data: GPUBuffer; count: number; sums: GPUBuffer; params: GPUBuffer }> = [];
  let buf = data;
  let n = count;
  for (;;) {
    const blocks = Math.ceil(n / WORKGROUP);
    const sums = createStorageBuffer(device, blocks * 4, 'gpu/scan:sums');
    const params = createUniformBuffer(device, [['u32', n]], 'gpu/scan:params');
    owned.push(sums, params);
    levels.push({ data: buf, count: n, sums, params });
    if (blocks === 1) break;
    buf = sums;
    n = blocks;
  }
  const p = encoder.beginComputePass({ label: 'gpu/scan' });
  for (const l of levels) {
    const d = dispatch2d(l.count);
    p.setPipeline(pipelines.scan);
    p.setBindGroup(0, bindEntries(device, pipelines.scan, [[0, l.params], [1, l.data], [2, l.sums]], 'gpu/scan'));
    p.dispatchWorkgroups(d.x, d.y);
  }
  for (let i = levels.length - 2; i >= 0; i--) {
    const l = levels[i]!;
    const d = dispatch2d(l.count);
    p.setPipeline(pipelines.add);
    p.setBindGroup(0, bindEntries(device, pipelines.add, [[0, l.params], [1, l.data], [2, l.sums]], 'gpu/scan'));
    p.dispatchWorkgroups(d.x, d.y);
  }
  p.end();
  encoder.copyBufferToBuffer(levels[levels.length - 1]!.sums, 0, total, totalOffset, 4);
}
