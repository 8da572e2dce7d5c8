import { describe, expect, it } from 'vitest';
import { runCli } from '../run.js';
import { capture } from '../capture-io.test-helper.js';


describe('physiotwin doctor', () => {
  it('--json reports Node, a WebGPU adapter (SwiftShader where there is no GPU) and the optional peers', async () => {
    const io = capture();
    expect(await runCli(['doctor', '--json'], io)).toBe(0);
    const r = JSON.parse(io.out) as {
      node: string;
      webgpu: { available: boolean; vendor: string; architecture: string; description: string; isFallback: boolean };
      optional: Record<string, { installed: boolean; version: string | null }>;
    };
    expect(r.node).toBe(process.version);
    // The dev dependencies include webgpu and @sparticuz/chromium, so a device is always available here.
    expect(r.webgpu.available).toBe(true);
    expect(typeof r.webgpu.isFallback).toBe('boolean');
    expect(r.webgpu.description.length + r.webgpu.architecture.length).toBeGreaterThan(0);
    expect(r.optional.webgpu).toMatchObject({ installed: true });
    expect(r.optional['@cornerstonejs/codec-charls']?.installed).toBe(true);
  });

  it('says when WebGPU is unavailable instead of failing (PHYSIOTWIN_WEBGPU=off)', async () => {
    const before = process.env.PHYSIOTWIN_WEBGPU;
    process.env.PHYSIOTWIN_WEBGPU = 'off';
    try {
      const io = capture();
      expect(await runCli(['doctor', '--json'], io)).toBe(0);
      const r = JSON.parse(io.out) as { webgpu: { available: boolean; error: { code: string } } };
      expect(r.webgpu.available).toBe(false);
      expect(r.webgpu.error.code).toBe('GPU_UNAVAILABLE');
    } finally {
      if (before === undefined) delete process.env.PHYSIOTWIN_WEBGPU;
      else process.env.PHYSIOTWIN_WEBGPU = before;
    }
  });
});
