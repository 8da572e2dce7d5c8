// The shared-device registry: loading the package changes nothing global (package.json says sideEffects: false);
// the first getSharedGpu call makes the slot a host reads to know whether a device is held (the CLI at exit), and
// releaseSharedGpu destroys that device and empties the slot. No GPU needed: a stand-in device, and node 'off'.
import { execFileSync } from 'node:child_process';
import { afterEach, describe, expect, it } from 'vitest';
import type { GpuContext, SharedGpuSlot } from './index.js';
import { getSharedGpu, releaseSharedGpu, SHARED_GPU_KEY } from './index.js';

const slotOf = () => (globalThis as { [SHARED_GPU_KEY]?: SharedGpuSlot })[SHARED_GPU_KEY];

describe('the shared-device registry', () => {
  afterEach(() => releaseSharedGpu());

  it('loading @physiotwin/gpu sets nothing on globalThis; a getSharedGpu call makes the slot, empty again after a failed attempt', () => {
    // A fresh process: the test runner's own process may hold a slot from another test file.
    const script = `
      const before = Object.getOwnPropertySymbols(globalThis).length;
      const gpu = await import('@physiotwin/gpu');
      const after = Object.getOwnPropertySymbols(globalThis).length;
      const ours = () => Object.getOwnPropertySymbols(globalThis).filter((s) => s.description?.startsWith('@physiotwin/gpu')).map((s) => s.description);
      const loaded = ours();
      const code = await gpu.getSharedGpu({ node: 'off' }).then(() => 'device', (e) => e.code);
      const slot = globalThis[gpu.SHARED_GPU_KEY];
      console.log(JSON.stringify({ added: after - before, loaded, code, made: ours(), current: slot ? String(slot.current) : 'no slot' }));`;
    const out = execFileSync(process.execPath, ['--conditions=@physiotwin/source', '--import', 'tsx', '--input-type=module', '-e', script], { encoding: 'utf8', env: { ...process.env, PHYSIOTWIN_WEBGPU: 'off' } });
    expect(JSON.parse(out.trim().split('\n').at(-1)!)).toEqual({ added: 0, loaded: [], code: 'GPU_UNAVAILABLE', made: ['@physiotwin/gpu:shared-device'], current: 'undefined' });
  });

  it('holds one device for every caller until releaseSharedGpu destroys it and empties the slot', async () => {
    let destroyed = 0;
    const device = { destroy: () => void destroyed++ } as unknown as GpuContext;
    // What getSharedGpu leaves after making a device (the slot is the process's registry, whoever made it).
    (globalThis as { [SHARED_GPU_KEY]?: SharedGpuSlot })[SHARED_GPU_KEY] = { current: Promise.resolve(device) };
    expect(await getSharedGpu()).toBe(device);
    expect(await getSharedGpu({ node: 'off' })).toBe(device);
    await releaseSharedGpu();
    expect(destroyed).toBe(1);
    expect(slotOf()!.current).toBeUndefined();
    await releaseSharedGpu();
    expect(destroyed).toBe(1);
  });
});
