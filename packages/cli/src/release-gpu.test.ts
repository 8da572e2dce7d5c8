// At exit the CLI releases the shared GPU device only when gpu's registry holds one (SHARED_GPU_KEY on globalThis),
// without loading @physiotwin/gpu otherwise (info-imports.test.ts checks the start-up graph).
import { afterEach, describe, expect, it } from 'vitest';
import type { GpuContext, SharedGpuSlot } from '@physiotwin/gpu';
import { SHARED_GPU_KEY } from '@physiotwin/gpu';
import { capture } from './capture-io.test-helper.js';
import { runCli } from './run.js';

const registry = globalThis as { [SHARED_GPU_KEY]?: SharedGpuSlot };

describe('the CLI releases the shared GPU device at exit', () => {
  afterEach(() => {
    delete registry[SHARED_GPU_KEY];
  });

  it('a device in the registry is destroyed when the command ends, and the slot emptied', async () => {
    let destroyed = 0;
    registry[SHARED_GPU_KEY] = { current: Promise.resolve({ destroy: () => void destroyed++ } as unknown as GpuContext) };
    expect(await runCli(['info', 'fixtures/mesh/vmtk-aorta/aorta-lumen.nii.gz'], capture())).toBe(0);
    expect(destroyed).toBe(1);
    expect(registry[SHARED_GPU_KEY]!.current).toBeUndefined();
  });

  it('no device made: the registry stays as it was (no slot is made)', async () => {
    expect(await runCli(['info', 'fixtures/mesh/vmtk-aorta/aorta-lumen.nii.gz'], capture())).toBe(0);
    expect(registry[SHARED_GPU_KEY]).toBeUndefined();
  });
});
