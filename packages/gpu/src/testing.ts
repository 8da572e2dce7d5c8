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

/** The device the WebGPU suites of this module instance (one per test file under vitest's isolation) share. */
let fileGpu: Promise<GpuContext> | undefined;

async function releaseFileGpu(): Promise<void> {
  const pending = fileGpu;
  fileGpu = undefined;
  // A failed request has already failed its suites' beforeAll; there is nothing to destroy.
  (await pending?.catch(() => undefined))?.destroy();
}

/**
 * Runs one suite against every backend (tfjs's describeWithFlags): `describeBackends('histogram', (b) => {
 * it('counts', async () => { const r = await histogram(v, b.options()); ... }) })`.
 * The WebGPU suites of a test file share one device (on SwiftShader where there is no GPU), acquired in the
 * first suite's beforeAll and destroyed after the last suite of the scope `describeBackends` was called in: the
 * pipelines compiled for one suite serve the next (a compilation costs seconds on SwiftShader), as they would
 * for an application's shared device. Each suite names the adapter in its output. It fails, never skips, when
 * no device can be had.
 * @throws nothing when called; a 'webgpu' suite fails (never skips) when no device can be had.
 */
export function describeBackends(
  name: string,
  suite: (ctx: BackendTestContext) => void,
  /** Restrict the suite to some backends, saying why (e.g. a parity suite whose reference is the CPU). */
  only?: { backends: Array<'cpu' | 'webgpu'>; reason: string },
): void {
  const backends = testedBackends().filter((backend) => !only || only.backends.includes(backend));
  // Registered in the caller's scope (the file, for a top-level call), so it runs after every suite there.
  if (backends.includes('webgpu')) afterAll(releaseFileGpu);
  for (const backend of backends) {
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
          fileGpu ??= requestGpu();
          gpu = await fileGpu;
          console.info(`[${name}] WebGPU adapter: ${gpu.adapter.description || gpu.adapter.architecture} (${gpu.adapter.vendor}${gpu.adapter.isFallback ? ', fallback/software' : ''})`);
        });
      }
      suite(ctx);
    });
  }
}
