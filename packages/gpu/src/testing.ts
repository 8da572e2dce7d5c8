// Test helper, its own entry point (@physiotwin/gpu/testing) so that vitest stays a test-time dependency.
import { afterAll, beforeAll, describe } from 'vitest';
import type { GpuContext } from './device.js';
import { requestGpu } from './device.js';

/** What a backend-parametrised suite gets. */
export interface BackendTestContext {
  backend: 'cpu' | 'webgpu';
  /**
   * Relative tolerance for floating-point results of this backend: 1e-12 for the f64 CPU reference
   * (a few ulps after O(n) accumulation), 1e-5 for WebGPU (f32 arithmetic, partial sums combined in f64
   * on the host). Operations with other error behaviour state their own.
   */
  relTol: number;
  /** Options to pass to the operation under test: `{ backend, gpu }`. */
  options(): { backend: 'cpu' | 'webgpu'; gpu?: GpuContext };
  /** The device of a 'webgpu' suite (throws in a 'cpu' suite). */
  gpu(): GpuContext;
}

/**
 * Backends suites run against: both, unless PHYSIOTWIN_TEST_BACKENDS (e.g. "cpu") narrows them.
 * @throws nothing.
 */
export function testedBackends(): Array<'cpu' | 'webgpu'> {
  const env = (typeof process !== 'undefined' ? process.env.PHYSIOTWIN_TEST_BACKENDS : undefined) ?? 'cpu,webgpu';
  return env.split(',').map((s) => s.trim()).filter((s): s is 'cpu' | 'webgpu' => s === 'cpu' || s === 'webgpu');
}

/**
 * Runs one suite against every backend (tfjs's describeWithFlags): `describeBackends('histogram', (b) => {
 * it('counts', async () => { const r = await histogram(v, b.options()); ... }) })`.
 * The WebGPU suite acquires one device in beforeAll (on SwiftShader where there is no GPU), names the
 * adapter in the suite output, and destroys the device in afterAll. It fails, never skips, when no
 * device can be had.
 * @throws nothing when called; a 'webgpu' suite fails (never skips) when no device can be had.
 */
export function describeBackends(
  name: string,
  suite: (ctx: BackendTestContext) => void,
  /** Restrict the suite to some backends, saying why (e.g. a parity suite whose reference is the CPU). */
  only?: { backends: Array<'cpu' | 'webgpu'>; reason: string },
): void {
  for (const backend of testedBackends()) {
    if (only && !only.backends.includes(backend)) continue;
    let gpu: GpuContext | undefined;
    const ctx: BackendTestContext = {
      backend,
      relTol: backend === 'cpu' ? 1e-12 : 1e-5,
      options: () => (backend === 'cpu' ? { backend } : { backend, gpu: ctx.gpu() }),
      gpu: () => {
        if (!gpu) throw new Error(`no GPU device in the ${backend} suite of ${name}`);
        return gpu;
      },
    };
    describe(`${name} [${backend}]`, () => {
      if (backend === 'webgpu') {
        beforeAll(async () => {
          gpu = await requestGpu();
          console.info(`[${name}] WebGPU adapter: ${gpu.adapter.description || gpu.adapter.architecture} (${gpu.adapter.vendor}${gpu.adapter.isFallback ? ', fallback/software' : ''})`);
        });
        afterAll(() => gpu?.destroy());
      }
      suite(ctx);
    });
  }
}
