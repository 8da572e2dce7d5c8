import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isPhysiotwinError } from '@physiotwin/core';
import type { GpuContext } from './index.js';
import { createBufferFrom, createStorageBuffer, createUniformBuffer, getComputePipeline, readBuffer, requestGpu, chooseBackend, timeGpuWork, withGpuErrorScope } from './index.js';

const SAXPY = /* wgsl */ `
struct Params { n: u32, a: f32 }
@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read_write> y: array<f32>;
@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) id: vec3u) {
  if (id.x < params.n) { y[id.x] = params.a * x[id.x] + y[id.x]; }
}`;

describe('requestGpu', () => {
  let gpu: GpuContext;
  beforeAll(async () => {
    gpu = await requestGpu();
    console.info(`WebGPU adapter: ${gpu.adapter.description} (${gpu.adapter.vendor}, fallback=${gpu.adapter.isFallback}, source=${gpu.source})`);
  });
  afterAll(() => gpu?.destroy());

  it('describes the adapter', () => {
    expect(typeof gpu.adapter.vendor).toBe('string');
    expect(gpu.adapter.description.length + gpu.adapter.architecture.length).toBeGreaterThan(0);
  });

  it('runs a compute shader and reads the result back', async () => {
    const n = 1000;
    const x = Float32Array.from({ length: n }, (_, i) => i);
    const y = Float32Array.from({ length: n }, () => 1);
    const { device } = gpu;
    const pipeline = await getComputePipeline(device, { kernel: 'test/saxpy', code: SAXPY });
    expect(await getComputePipeline(device, { kernel: 'test/saxpy', code: SAXPY })).toBe(pipeline);
    const params = createUniformBuffer(device, [['u32', n], ['f32', 2]], 'saxpy:params');
    const xb = createBufferFrom(device, x, GPUBufferUsage.STORAGE, 'saxpy:x');
    const yb = createBufferFrom(device, y, GPUBufferUsage.STORAGE, 'saxpy:y');
    const timing = await timeGpuWork(gpu, 1, (encoder, tw) => {
      const pass = encoder.beginComputePass({ timestampWrites: tw(0) });
      pass.setPipeline(pipeline);
      pass.setBindGroup(0, device.createBindGroup({ layout: pipeline.getBindGroupLayout(0), entries: [params, xb, yb].map((buffer, binding) => ({ binding, resource: { buffer } })) }));
      pass.dispatchWorkgroups(Math.ceil(n / 64));
      pass.end();
    });
    expect(timing.wallMs).toBeGreaterThan(0);
    const out = new Float32Array(await readBuffer(device, yb, n * 4));
    for (let i = 0; i < n; i++) expect(out[i]).toBe(2 * i + 1);
    for (const b of [params, xb, yb]) b.destroy();
  });

  it('turns WGSL compile errors into GPU_VALIDATION naming the kernel', async () => {
    const err = await getComputePipeline(gpu.device, { kernel: 'test/broken', code: 'fn main( {' }).catch((e: unknown) => e);
    expect(isPhysiotwinError(err, 'GPU_VALIDATION')).toBe(true);
    expect(String((err as Error).message)).toContain('test/broken');
  });

  it('turns validation errors inside a scope into GPU_VALIDATION', async () => {
    const err = await withGpuErrorScope(gpu.device, 'oversized buffer', () =>
      createStorageBuffer(gpu.device, 2 ** 40, 'too big'),
    ).catch((e: unknown) => e);
    expect(isPhysiotwinError(err)).toBe(true);
    expect(['GPU_VALIDATION', 'GPU_OUT_OF_MEMORY']).toContain((err as { code: string }).code);
  });
});

describe('chooseBackend', () => {
  it('obeys cpu and rejects unknown names', async () => {
    expect((await chooseBackend({ backend: 'cpu' }, { op: 'test', work: 1e9, minWorkForGpu: 1 })).backend).toBe('cpu');
    await expect(chooseBackend({ backend: 'cuda' as never }, { op: 'test', work: 1 })).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
  });
  it('auto stays on the CPU for small problems and dtypes the kernels cannot read', async () => {
    expect((await chooseBackend({ backend: 'auto' }, { op: 'test', work: 10, minWorkForGpu: 1000 })).backend).toBe('cpu');
    expect((await chooseBackend({ backend: 'auto' }, { op: 'test', work: 1e9, minWorkForGpu: 1, dtype: 'float64' })).backend).toBe('cpu');
  });
  it("refuses 'webgpu' for a dtype the kernels cannot read, before asking for a device", async () => {
    await expect(chooseBackend({ backend: 'webgpu' }, { op: 'test', work: 1, dtype: 'float64' })).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
  });
  it("refuses 'webgpu' for a problem over the device's binding limit, and 'auto' then stays on the CPU", async () => {
    const limits = { maxStorageBufferBindingSize: 1024, maxBufferSize: 4096 };
    const gpu = { device: { limits }, adapter: { isFallback: false, vendor: '', architecture: '', description: 'fake' } } as unknown as GpuContext;
    await expect(chooseBackend({ backend: 'webgpu', gpu }, { op: 'test', work: 1, bindingBytes: 2048 })).rejects.toMatchObject({ code: 'GPU_LIMIT_EXCEEDED' });
    expect((await chooseBackend({ backend: 'auto', gpu }, { op: 'test', work: 1e9, bindingBytes: 2048 })).backend).toBe('cpu');
    expect((await chooseBackend({ backend: 'auto', gpu }, { op: 'test', work: 1e9, bindingBytes: 1024 })).backend).toBe('webgpu');
  });
});
