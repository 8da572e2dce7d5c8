import { PhysiotwinError } from '@physiotwin/core';

const align4 = (n: number) => Math.ceil(n / 4) * 4;

/**
 * Creates a buffer holding a copy of `data` (padded to 4 bytes), labelled for validation messages.
 * @param usage GPUBufferUsage flags; COPY_DST and COPY_SRC are added.
 * @throws nothing itself; an oversized buffer surfaces as a device validation error, so check sizes with {@link checkBindingSize} first.
 */
export function createBufferFrom(device: GPUDevice, data: ArrayBufferView, usage: number, label: string): GPUBuffer {
  const buffer = device.createBuffer({
    label,
    size: Math.max(4, align4(data.byteLength)),
    usage: usage | GPUBufferUsage.COPY_DST | GPUBufferUsage.COPY_SRC,
    mappedAtCreation: true,
  });
  new Uint8Array(buffer.getMappedRange()).set(new Uint8Array(data.buffer, data.byteOffset, data.byteLength));
  buffer.unmap();
  return buffer;
}

/**
 * Throws `GPU_LIMIT_EXCEEDED` when a storage binding of `bytes` exceeds what the device allows for one binding
 * (or one buffer), before anything is allocated: an oversized `createBuffer` would only surface later as a
 * generic validation error.
 * @throws PhysiotwinError `GPU_LIMIT_EXCEEDED` when `bytes` exceeds the device's binding or buffer limit.
 */
export function checkBindingSize(device: GPUDevice, bytes: number, what: string): void {
  const limit = Math.min(device.limits.maxStorageBufferBindingSize, device.limits.maxBufferSize);
  if (bytes > limit) {
    throw new PhysiotwinError('GPU_LIMIT_EXCEEDED', `${what} needs a ${bytes}-byte storage binding; this device allows ${limit}: use backend 'cpu'`);
  }
}

/**
 * {@link checkBindingSize} for each named binding of `kernel` (bytes by name).
 * @throws PhysiotwinError `GPU_LIMIT_EXCEEDED` naming the first binding over the device's limit.
 */
export function checkBindingSizes(device: GPUDevice, kernel: string, bytes: Record<string, number>): void {
  for (const [name, size] of Object.entries(bytes)) checkBindingSize(device, size, `${kernel}:${name}`);
}

/**
 * Creates an empty storage buffer of at least `byteLength` bytes that can be read back.
 * @throws nothing itself (see {@link createBufferFrom}).
 */
export function createStorageBuffer(device: GPUDevice, byteLength: number, label: string): GPUBuffer {
  return device.createBuffer({
    label,
    size: Math.max(4, align4(byteLength)),
    usage: GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_SRC | GPUBufferUsage.COPY_DST,
  });
}

/**
 * Creates a uniform buffer from 32-bit fields. Sizes travel as uniforms, not as shader code, so one
 * pipeline serves every problem size.
 * @param fields values in WGSL struct order; each entry is [kind, value] with kind 'u32' | 'i32' | 'f32'.
 * @throws nothing.
 */
export function createUniformBuffer(device: GPUDevice, fields: Array<['u32' | 'i32' | 'f32', number]>, label: string): GPUBuffer {
  const bytes = new ArrayBuffer(Math.max(16, Math.ceil((fields.length * 4) / 16) * 16));
  const view = new DataView(bytes);
  fields.forEach(([kind, value], i) => {
    if (kind === 'u32') view.setUint32(i * 4, value, true);
    else if (kind === 'i32') view.setInt32(i * 4, value, true);
    else view.setFloat32(i * 4, value, true);
  });
  return createBufferFrom(device, new Uint8Array(bytes), GPUBufferUsage.UNIFORM, label);
}

/**
 * Copies `byteLength` bytes of `source` (from `byteOffset`) back to the CPU.
 * @throws PhysiotwinError `GPU_DEVICE_LOST` when the mapping fails (device lost or destroyed).
 */
export async function readBuffer(device: GPUDevice, source: GPUBuffer, byteLength = source.size, byteOffset = 0): Promise<ArrayBuffer> {
  const size = align4(byteLength);
  const staging = device.createBuffer({ label: `${source.label}:readback`, size, usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST });
  const encoder = device.createCommandEncoder({ label: `${source.label}:readback` });
  encoder.copyBufferToBuffer(source, byteOffset, staging, 0, size);
  device.queue.submit([encoder.finish()]);
  try {
    await staging.mapAsync(GPUMapMode.READ);
    const copy = staging.getMappedRange().slice(0, byteLength);
    // Unmap before destroy: dawn.node's destroy() leaves the mapped ArrayBuffer attached to freed memory,
    // which corrupts the heap later (seen as segfaults and pthread assertion failures on SwiftShader).
    staging.unmap();
    return copy;
  } catch (e) {
    throw new PhysiotwinError('GPU_DEVICE_LOST', `reading back ${source.label} failed: ${(e as Error).message}`, { cause: e });
  } finally {
    staging.destroy();
  }
}

/**
 * Runs `encode` inside validation and out-of-memory error scopes and turns any captured error into a
 * PhysiotwinError (`GPU_VALIDATION` / `GPU_OUT_OF_MEMORY`) naming `label`.
 * @throws PhysiotwinError `GPU_VALIDATION` or `GPU_OUT_OF_MEMORY` for an error captured while `encode` ran; whatever `encode` throws.
 */
export async function withGpuErrorScope<T>(device: GPUDevice, label: string, encode: () => T): Promise<T> {
  device.pushErrorScope('out-of-memory');
  device.pushErrorScope('validation');
  let result: T;
  try {
    result = encode();
  } finally {
    const validation = await device.popErrorScope();
    const oom = await device.popErrorScope();
    if (oom) throw new PhysiotwinError('GPU_OUT_OF_MEMORY', `${label}: ${oom.message}`);
    if (validation) throw new PhysiotwinError('GPU_VALIDATION', `${label}: ${validation.message}`);
  }
  return result;
}

/** What identifies a compute pipeline: the kernel, its WGSL, entry point and override constants. */
export interface KernelSpec {
  /** Kernel name, used as label and cache key (e.g. 'segment/histogram'). */
  kernel: string;
  code: string;
  entryPoint?: string;
  /** WGSL `override` constants, e.g. dtype or workgroup size. Part of the cache key. */
  constants?: Record<string, number>;
}

const pipelineCache = new WeakMap<GPUDevice, Map<string, Promise<GPUComputePipeline>>>();
/**
 * The last compilation queued on each device. Compilations run one at a time: overlapping
 * getCompilationInfo / pipeline creation aborts the process inside Dawn on SwiftShader (seen with
 * webgpu 0.6.2: std::system_error, futex and pthread assertion failures).
 */
const compileQueue = new WeakMap<GPUDevice, Promise<unknown>>();

/**
 * Returns the compute pipeline for `spec`, compiling it once per device. Keyed on kernel, entry point,
 * constants and the code itself: sizes are uniforms, so one pipeline serves all problem sizes, and code
 * generated per problem (two models whose kernels share a name) can never be served another's pipeline.
 * @throws PhysiotwinError `GPU_VALIDATION` with the compiler's messages if the WGSL does not compile.
 */
export function getComputePipeline(device: GPUDevice, spec: KernelSpec): Promise<GPUComputePipeline> {
  let perDevice = pipelineCache.get(device);
  if (!perDevice) pipelineCache.set(device, (perDevice = new Map()));
  const entryPoint = spec.entryPoint ?? 'main';
  const key = `${spec.kernel}|${entryPoint}|${JSON.stringify(spec.constants ?? {})}|${spec.code}`;
  let pipeline = perDevice.get(key);
  if (!pipeline) {
    const previous = compileQueue.get(device) ?? Promise.resolve();
    pipeline = previous.catch(() => undefined).then(() => compile(device, spec, entryPoint));
    compileQueue.set(device, pipeline);
    perDevice.set(key, pipeline);
    pipeline.catch(() => perDevice.delete(key));
  }
  return pipeline;
}

async function compile(device: GPUDevice, spec: KernelSpec, entryPoint: string): Promise<GPUComputePipeline> {
  // Synchronous creation inside an error scope, which reports WGSL compile errors and pipeline errors alike.
  // Dawn's createComputePipelineAsync and getCompilationInfo abort the process on SwiftShader in Node
  // (webgpu 0.6.2: std::system_error, futex and pthread assertion failures), so neither is used.
  device.pushErrorScope('validation');
  const module = device.createShaderModule({ label: spec.kernel, code: spec.code });
  const pipeline = device.createComputePipeline({
    label: spec.kernel,
    layout: 'auto',
    compute: { module, entryPoint, ...(spec.constants ? { constants: spec.constants } : {}) },
  });
  const error = await device.popErrorScope();
  if (error) throw new PhysiotwinError('GPU_VALIDATION', `${spec.kernel} (${entryPoint}): ${error.message}`);
  return pipeline;
}
