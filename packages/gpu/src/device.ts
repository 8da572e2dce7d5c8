import { PhysiotwinError } from '@physiotwin/core';

/** What physiotwin reports about the adapter a result was computed on. */
export interface AdapterDescription {
  vendor: string;
  architecture: string;
  description: string;
  /** True for software adapters (SwiftShader): correct, but their timings are not GPU timings. */
  isFallback: boolean;
}

/** Where the device came from. */
export type GpuSource = 'browser' | 'node' | 'node-swiftshader';

/** A WebGPU device with what physiotwin needs to know about it. */
export interface GpuContext {
  device: GPUDevice;
  adapter: AdapterDescription;
  source: GpuSource;
  /** Whether GPU timestamps are available (`timestamp-query` was granted). */
  hasTimestamps: boolean;
  /** The GPU object the adapter came from; held so that it lives as long as the device. */
  instance?: GPU | undefined;
  /** Destroys the device. Node processes may not exit while a device is alive. */
  destroy(): void;
}

/** Options of {@link requestGpu}. */
export interface RequestGpuOptions {
  /** @default 'high-performance' */
  powerPreference?: GPUPowerPreference;
  /**
   * In Node: 'auto' tries the system's GPU first, then SwiftShader; 'swiftshader' goes straight to
   * SwiftShader; 'off' reports no GPU. Overridden by the `PHYSIOTWIN_WEBGPU` environment variable.
   * @default 'auto'
   */
  node?: 'auto' | 'swiftshader' | 'off';
}

/** Limits raised to the adapter's maximum when the device is created (large volumes need them). */
const RAISED_LIMITS = [
  'maxStorageBufferBindingSize',
  'maxBufferSize',
  'maxComputeWorkgroupStorageSize',
  'maxComputeInvocationsPerWorkgroup',
  'maxComputeWorkgroupSizeX',
  'maxComputeWorkgroupsPerDimension',
  'maxStorageBuffersPerShaderStage',
] as const;

/**
 * What physiotwin reports about an adapter (its `info` as plain data; software adapters such as SwiftShader marked
 * `isFallback`), without creating a device: e.g. what a Web Worker's `navigator.gpu.requestAdapter()` gives.
 * @throws nothing.
 */
export function describeAdapter(adapter: Pick<GPUAdapter, 'info'>): AdapterDescription {
  const info = adapter.info as GPUAdapterInfo & { isFallbackAdapter?: boolean };
  const legacy = (adapter as { isFallbackAdapter?: boolean }).isFallbackAdapter;
  const description = info.description ?? '';
  const isFallback = Boolean(info.isFallbackAdapter ?? legacy ?? /swiftshader/i.test(`${info.vendor} ${info.architecture} ${description}`));
  return { vendor: info.vendor ?? '', architecture: info.architecture ?? '', description, isFallback };
}

/**
 * Creates a device on `adapter` with raised limits and timestamp queries where available.
 * @param instance the GPU object the adapter came from, kept reachable as long as the context (see node-webgpu.ts).
 */
async function createDevice(adapter: GPUAdapter, source: GpuSource, instance?: GPU): Promise<GpuContext> {
  const requiredLimits: Record<string, number> = {};
  for (const name of RAISED_LIMITS) {
    const value = (adapter.limits as unknown as Record<string, number | undefined>)[name];
    if (value !== undefined) requiredLimits[name] = value;
  }
  const hasTimestamps = adapter.features.has('timestamp-query');
  const device = await adapter.requestDevice({
    label: 'physiotwin',
    requiredLimits,
    requiredFeatures: hasTimestamps ? ['timestamp-query'] : [],
  });
  return {
    device,
    adapter: describeAdapter(adapter),
    source,
    hasTimestamps,
    instance,
    destroy: () => device.destroy(),
  };
}

function isNode(): boolean {
  return typeof process !== 'undefined' && typeof process.versions?.node === 'string';
}

/**
 * Returns a WebGPU device: `navigator.gpu` in browsers; in Node, the optional `webgpu` package, on the
 * system's GPU if it has one, else on SwiftShader (found in Debian's `chromium` package or the
 * `@sparticuz/chromium` npm package).
 * @throws PhysiotwinError `GPU_UNAVAILABLE`, saying how to get a device, when none can be had.
 * @example
 * ```ts
 * const gpu = await requestGpu();
 * console.log(gpu.adapter.description, gpu.adapter.isFallback);
 * gpu.destroy();
 * ```
 */
export async function requestGpu(options: RequestGpuOptions = {}): Promise<GpuContext> {
  const powerPreference = options.powerPreference ?? 'high-performance';
  const nav = (globalThis as { navigator?: { gpu?: GPU } }).navigator;
  if (nav?.gpu && !isNode()) {
    const adapter = await nav.gpu.requestAdapter({ powerPreference });
    if (!adapter) {
      throw new PhysiotwinError('GPU_UNAVAILABLE', 'navigator.gpu returned no adapter: enable WebGPU in this browser (chrome://flags/#enable-unsafe-webgpu) or use backend "cpu"');
    }
    return createDevice(adapter, 'browser', nav.gpu);
  }
  if (isNode()) {
    const { requestNodeAdapter } = await import('./node-webgpu.js');
    const found = await requestNodeAdapter(powerPreference, options.node ?? 'auto');
    return createDevice(found.adapter, found.source, found.instance);
  }
  throw new PhysiotwinError('GPU_UNAVAILABLE', 'this environment has no WebGPU (navigator.gpu is missing): use a WebGPU browser, Node with the "webgpu" package, or backend "cpu"');
}

/**
 * The process's (or page's) shared-device registry: a slot on globalThis under this key, made by the first
 * {@link getSharedGpu} call (loading this package changes nothing global). Its `current` is the shared device (a
 * promise) while one is held, so a host can tell whether a device was ever made, and still needs releasing, without
 * loading this package: the CLI reads it at exit (`physiotwin info`'s start-up never loads gpu, issue #11). Every
 * copy of the package in a process shares the one slot, hence one device.
 */
export const SHARED_GPU_KEY: unique symbol = Symbol.for('@physiotwin/gpu:shared-device');

/** What the registry slot holds. */
export interface SharedGpuSlot {
  /** The shared device while one is held or being made; undefined before, after a failed attempt and after release. */
  current: Promise<GpuContext> | undefined;
}

type Registry = { [SHARED_GPU_KEY]?: SharedGpuSlot };

/** The registry slot, made on first use. */
function registry(): SharedGpuSlot {
  const g = globalThis as Registry;
  return (g[SHARED_GPU_KEY] ??= { current: undefined });
}

/**
 * One device per process (or page), created on first use and shared by every operation that is not
 * given its own. Call {@link releaseSharedGpu} before a Node process should exit.
 * @throws nothing itself; the promise rejects as {@link requestGpu} (`GPU_UNAVAILABLE`), and a later call tries again.
 */
export function getSharedGpu(options?: RequestGpuOptions): Promise<GpuContext> {
  const slot = registry();
  if (!slot.current) {
    const attempt = requestGpu(options).then((ctx) => {
      void ctx.device.lost.then(() => {
        if (slot.current === attempt) slot.current = undefined;
      });
      return ctx;
    });
    attempt.catch(() => {
      if (slot.current === attempt) slot.current = undefined;
    });
    slot.current = attempt;
  }
  return slot.current;
}

/**
 * Destroys the shared device if one was created.
 * @throws nothing.
 */
export async function releaseSharedGpu(): Promise<void> {
  const slot = (globalThis as Registry)[SHARED_GPU_KEY];
  const current = slot?.current;
  if (slot) slot.current = undefined;
  if (current) {
    try {
      (await current).destroy();
    } catch {
      // There was no device to release.
    }
  }
}
