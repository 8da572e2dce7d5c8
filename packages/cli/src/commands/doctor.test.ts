import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { runCli } from '../run.js';
import { capture, REPO_ROOT } from '../capture-io.test-helper.js';


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

describe('native GPU messages stay off the terminal', () => {
  // Where there is no Vulkan loader (as here) Dawn would print "Warning: Couldn't load Vulkan ..."; with one, the
  // loader, Mesa and Dawn print theirs: all to fd 2 from C++, past process.stderr. `doctor 2>&1` through a pipe
  // must print exactly the report.
  it('doctor 2>&1 prints the report and nothing else', async () => {
    const io = capture();
    expect(await runCli(['doctor'], io)).toBe(0);
    const main = join(REPO_ROOT, 'packages/cli/src/main.ts');
    const merged = execFileSync('sh', ['-c', `"${process.execPath}" --conditions=@physiotwin/source --import tsx "${main}" doctor 2>&1 | cat`], { cwd: REPO_ROOT, encoding: 'utf8', env: { ...process.env, PHYSIOTWIN_GPU_LOG: '' } });
    expect(merged).toBe(io.out);
  });
});
