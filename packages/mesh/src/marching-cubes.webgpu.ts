import type { SurfaceMesh } from '@physiotwin/core';
import { PhysiotwinError } from '@physiotwin/core';
import type { GpuContext } from '@physiotwin/gpu';
import { checkBindingSize, createBufferFrom, createStorageBuffer, createUniformBuffer, getComputePipeline, readBuffer, withGpuErrorScope } from '@physiotwin/gpu';
import { ceilF32, dispatch2d, floorF32 } from '@physiotwin/segment';
import { marchingCubesWgsl, scanWgsl } from './generated/shaders.js';
import type { MarchingCubesInput } from './marching-cubes.cpu.js';
import { flipsOrientation, indexToWorldRows } from './marching-cubes.cpu.js';
import { CASE_EDGES, CASE_START } from './mc-table.js';

/** Binds buffers to the given binding numbers of group 0. */
function bind(device: GPUDevice, pipeline: GPUComputePipeline, entries: Array<[number, GPUBuffer]>, label: string): GPUBindGroup {
  return device.createBindGroup({ label, layout: pipeline.getBindGroupLayout(0), entries: entries.map(([binding, buffer]) => ({ binding, resource: { buffer } })) });
}

/**
 * Encodes an in-place exclusive scan of `count` u32 in `data` (multi-level: block sums are scanned recursively)
 * and copies the grand total to `total` at `totalOffset`. No readback.
 */
function encodeScan(device: GPUDevice, pass: () => GPUComputePassEncoder, encoder: GPUCommandEncoder, pipelines: { scan: GPUComputePipeline; add: GPUComputePipeline }, data: GPUBuffer, count: number, total: GPUBuffer, totalOffset: number, owned: GPUBuffer[]): void {
  const levels: Array<{ data: GPUBuffer; count: number; sums: GPUBuffer; params: GPUBuffer }> = [];
  let buf = data;
  let n = count;
  for (;;) {
    const blocks = Math.ceil(n / 256);
    const sums = createStorageBuffer(device, blocks * 4, 'mc:scan-sums');
    const params = createUniformBuffer(device, [['u32', n]], 'mc:scan-params');
    owned.push(sums, params);
    levels.push({ data: buf, count: n, sums, params });
    if (blocks === 1) break;
    buf = sums;
    n = blocks;
  }
  const p = pass();
  for (const l of levels) {
    const d = dispatch2d(l.count);
    p.setPipeline(pipelines.scan);
    p.setBindGroup(0, bind(device, pipelines.scan, [[0, l.params], [1, l.data], [2, l.sums]], 'mesh/scan'));
    p.dispatchWorkgroups(d.x, d.y);
  }
  for (let i = levels.length - 2; i >= 0; i--) {
    const l = levels[i]!;
    const d = dispatch2d(l.count);
    p.setPipeline(pipelines.add);
    p.setBindGroup(0, bind(device, pipelines.add, [[0, l.params], [1, l.data], [2, l.sums]], 'mesh/scan'));
    p.dispatchWorkgroups(d.x, d.y);
  }
  p.end();
  encoder.copyBufferToBuffer(levels[levels.length - 1]!.sums, 0, total, totalOffset, 4);
}

/**
 * Marching cubes on WebGPU: classify (vertex and triangle counts per point), two exclusive prefix sums, then
 * vertices and triangles written at their scanned offsets, all in one submit; the only readbacks are the two
 * totals (to size the outputs) and the outputs themselves. Same numbering and triangles as the CPU.
 * @throws PhysiotwinError `GPU_LIMIT_EXCEEDED` when the volume or the output exceeds a storage binding.
 */
export async function marchingCubesWebgpu(gpu: GpuContext, input: MarchingCubesInput): Promise<SurfaceMesh> {
  const { device } = gpu;
  const [nx, ny, nz] = input.dims;
  const n = nx * ny * nz;
  checkBindingSize(device, n * 4, 'marching cubes volume');
  const kernel = (entryPoint: string) => getComputePipeline(device, { kernel: 'mesh/marching-cubes', code: marchingCubesWgsl, entryPoint });
  const classify = await kernel('classify');
  const vertices = await kernel('vertices');
  const triangles = await kernel('triangles_main');
  const scan = await getComputePipeline(device, { kernel: 'mesh/scan', code: scanWgsl, entryPoint: 'scan_blocks' });
  const add = await getComputePipeline(device, { kernel: 'mesh/scan', code: scanWgsl, entryPoint: 'add_offsets' });
  const d = dispatch2d(n);
  const m = indexToWorldRows(input);
  const owned: GPUBuffer[] = [];
  const keep = <T extends GPUBuffer>(b: T) => (owned.push(b), b);
  try {
    const values = keep(createBufferFrom(device, input.data instanceof Float32Array ? input.data : Float32Array.from(input.data as ArrayLike<number>), GPUBufferUsage.STORAGE, 'mc:values'));
    const params = keep(
      createUniformBuffer(
        device,
        [
          ['u32', nx], ['u32', ny], ['u32', nz], ['u32', d.rowThreads],
          ['f32', input.sign > 0 ? ceilF32(input.iso) : floorF32(input.iso)], ['f32', input.iso], ['f32', input.sign], ['u32', flipsOrientation(input.direction) ? 1 : 0],
          ...Array.from(m, (v) => ['f32', v] as ['f32', number]),
        ],
        'mc:params',
      ),
    );
    const voffset = keep(createStorageBuffer(device, n * 4, 'mc:voffset'));
    const toffset = keep(createStorageBuffer(device, n * 4, 'mc:toffset'));
    const caseStart = keep(createBufferFrom(device, CASE_START, GPUBufferUsage.STORAGE, 'mc:case-start'));
    const caseEdges = keep(createBufferFrom(device, Uint32Array.from(CASE_EDGES), GPUBufferUsage.STORAGE, 'mc:case-edges'));
    const totals = keep(createStorageBuffer(device, 8, 'mc:totals'));
    await withGpuErrorScope(device, 'mesh/marching-cubes count', () => {
      const encoder = device.createCommandEncoder({ label: 'mesh/marching-cubes count' });
      const p = encoder.beginComputePass({ label: 'mesh/marching-cubes classify' });
      p.setPipeline(classify);
      p.setBindGroup(0, bind(device, classify, [[0, params], [1, values], [2, voffset], [3, toffset], [4, caseStart]], 'mesh/marching-cubes classify'));
      p.dispatchWorkgroups(d.x, d.y);
      p.end();
      const pass = () => encoder.beginComputePass({ label: 'mesh/scan' });
      encodeScan(device, pass, encoder, { scan, add }, voffset, n, totals, 0, owned);
      encodeScan(device, pass, encoder, { scan, add }, toffset, n, totals, 4, owned);
      device.queue.submit([encoder.finish()]);
    });
    const [vertexCount, triangleCount] = new Uint32Array(await readBuffer(device, totals, 8));
    checkBindingSize(device, vertexCount! * 12, 'marching cubes vertices');
    checkBindingSize(device, triangleCount! * 12, 'marching cubes triangles');
    const positions = keep(createStorageBuffer(device, vertexCount! * 12, 'mc:positions'));
    const tris = keep(createStorageBuffer(device, triangleCount! * 12, 'mc:triangles'));
    await withGpuErrorScope(device, 'mesh/marching-cubes generate', () => {
      const encoder = device.createCommandEncoder({ label: 'mesh/marching-cubes generate' });
      const p = encoder.beginComputePass({ label: 'mesh/marching-cubes generate' });
      p.setPipeline(vertices);
      p.setBindGroup(0, bind(device, vertices, [[0, params], [1, values], [2, voffset], [6, positions]], 'mesh/marching-cubes vertices'));
      p.dispatchWorkgroups(d.x, d.y);
      p.setPipeline(triangles);
      p.setBindGroup(0, bind(device, triangles, [[0, params], [1, values], [2, voffset], [3, toffset], [4, caseStart], [5, caseEdges], [7, tris]], 'mesh/marching-cubes triangles'));
      p.dispatchWorkgroups(d.x, d.y);
      p.end();
      device.queue.submit([encoder.finish()]);
    });
    if (vertexCount === 0) return { positions: new Float32Array(0), triangles: new Uint32Array(0) };
    const pos = new Float32Array(await readBuffer(device, positions, vertexCount! * 12));
    const tri = new Uint32Array(await readBuffer(device, tris, triangleCount! * 12));
    if (tri.some((v) => v >= vertexCount!)) throw new PhysiotwinError('GPU_VALIDATION', 'marching cubes on WebGPU produced an out-of-range vertex index');
    return { positions: pos, triangles: tri };
  } finally {
    for (const b of owned) b.destroy();
  }
}
