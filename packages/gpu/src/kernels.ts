// Helpers shared by the compute kernels of every package: exact f32 bounds, 2D dispatch of 1D work, volume and
// mask upload, bind groups, mask readback. Imported only from *.webgpu.ts modules.
import type { Volume } from '@physiotwin/core';
import { checkBindingSize, createBufferFrom } from './resources.js';

const f32 = new Float32Array(1);
const u32 = new Uint32Array(f32.buffer);
const F32_MAX = 3.4028234663852886e38;

/**
 * The smallest f32 >= x, clamped to the finite f32 range (so WGSL never sees an infinity).
 * @throws nothing.
 */
export function ceilF32(x: number): number {
  if (x <= -F32_MAX) return -F32_MAX;
  if (x > F32_MAX) return F32_MAX;
  f32[0] = x;
  if (f32[0]! < x) u32[0] = f32[0]! >= 0 ? u32[0]! + 1 : u32[0]! - 1;
  return f32[0]!;
}

/**
 * The largest f32 <= x, clamped to the finite f32 range.
 * @throws nothing.
 */
export function floorF32(x: number): number {
  if (x >= F32_MAX) return F32_MAX;
  if (x < -F32_MAX) return -F32_MAX;
  f32[0] = x;
  if (f32[0]! > x) u32[0] = f32[0]! > 0 ? u32[0]! - 1 : u32[0]! + 1;
  return f32[0]!;
}

/** Threads per workgroup of the 1D kernels (and of the prefix sum). */
export const WORKGROUP = 256;

/**
 * Workgroup counts (x, y) covering `threads` threads of a 1D kernel, with x <= 65535 (the per-dimension limit);
 * the kernel's flat thread index is `gid.x + gid.y * (x * WORKGROUP)`, and `x * WORKGROUP` travels as a uniform.
 * @throws nothing.
 */
export function dispatch2d(threads: number): { x: number; y: number; rowThreads: number } {
  const groups = Math.max(1, Math.ceil(threads / WORKGROUP));
  const x = Math.min(groups, 65535);
  return { x, y: Math.ceil(groups / x), rowThreads: x * WORKGROUP };
}

/**
 * Uploads a scalar volume's stored values as f32 (exact for the 8/16-bit integer and float32 dtypes).
 * @throws PhysiotwinError `GPU_LIMIT_EXCEEDED` when the volume does not fit one storage binding.
 */
export function uploadValuesF32(device: GPUDevice, volume: Pick<Volume, 'data'>, label: string): GPUBuffer {
  checkBindingSize(device, volume.data.length * 4, label);
  const values = volume.data instanceof Float32Array ? volume.data : Float32Array.from(volume.data as ArrayLike<number>);
  return createBufferFrom(device, values, GPUBufferUsage.STORAGE, label);
}

/**
 * Uploads a mask (non-zero = foreground) as one u32 per voxel.
 * @throws PhysiotwinError `GPU_LIMIT_EXCEEDED` when the mask does not fit one storage binding.
 */
export function uploadMaskU32(device: GPUDevice, mask: Pick<Volume, 'data'>, label: string): GPUBuffer {
  checkBindingSize(device, mask.data.length * 4, label);
  const words = new Uint32Array(mask.data.length);
  const d = mask.data;
  for (let i = 0; i < d.length; i++) words[i] = d[i] !== 0 ? 1 : 0;
  return createBufferFrom(device, words, GPUBufferUsage.STORAGE, label);
}

/**
 * Binds `buffers` to bindings 0.. of group 0 of `pipeline`.
 * @throws nothing itself; a buffer that does not match the pipeline's layout is a device validation error (run inside {@link withGpuErrorScope}).
 */
export function bindAll(device: GPUDevice, pipeline: GPUComputePipeline, buffers: GPUBuffer[], label: string): GPUBindGroup {
  return bindEntries(device, pipeline, buffers.map((buffer, binding) => [binding, buffer]), label);
}

/**
 * Binds buffers to the given binding numbers of group 0 of `pipeline`.
 * @throws nothing itself; a buffer that does not match the pipeline's layout is a device validation error (run inside {@link withGpuErrorScope}).
 */
export function bindEntries(device: GPUDevice, pipeline: GPUComputePipeline, entries: Array<[number, GPUBuffer]>, label: string): GPUBindGroup {
  return device.createBindGroup({ label, layout: pipeline.getBindGroupLayout(0), entries: entries.map(([binding, buffer]) => ({ binding, resource: { buffer } })) });
}

/**
 * Unpacks 4 mask bytes per u32 word (little-endian, as the kernels pack them) into a Uint8Array of n.
 * @throws nothing.
 */
export function unpackMask(words: ArrayBuffer, n: number): Uint8Array {
  return new Uint8Array(words, 0, n).slice();
}
