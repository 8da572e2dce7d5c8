import type { SurfaceMesh } from '@physiotwin/core';
import { PhysiotwinError } from '@physiotwin/core';
import type { GpuContext } from '@physiotwin/gpu';
import { bindEntries, ceilF32, checkBindingSize, createBufferFrom, createStorageBuffer, createUniformBuffer, dispatch2d, encodeScan, floorF32, getComputePipeline, readBuffer, scanPipelines, withGpuErrorScope } from '@physiotwin/gpu';
import { marchingCubesWgsl } from './generated/shaders.js';
import type { MarchingCubesInput } from './marching-cubes.cpu.js';
import { flipsOrientation, indexToWorldRows } from './marching-cubes.cpu.js';
import { CASE_EDGES, CASE_START } from './mc-table.js';

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
  const scan = await scanPipelines(device);
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
      p.setBindGroup(0, bindEntries(device, classify, [[0, params], [1, values], [2, voffset], [3, toffset], [4, caseStart]], 'mesh/marching-cubes classify'));
      p.dispatchWorkgroups(d.x, d.y);
      p.end();
      encodeScan(device, encoder, scan, voffset, n, totals, 0, owned);
      encodeScan(device, encoder, scan, toffset, n, totals, 4, owned);
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
      p.setBindGroup(0, bindEntries(device, vertices, [[0, params], [1, values], [2, voffset], [6, positions]], 'mesh/marching-cubes vertices'));
      p.dispatchWorkgroups(d.x, d.y);
      p.setPipeline(triangles);
      p.setBindGroup(0, bindEntries(device, triangles, [[0, params], [1, values], [2, voffset], [3, toffset], [4, caseStart], [5, caseEdges], [7, tris]], 'mesh/marching-cubes triangles'));
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
