import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { runCli } from '../run.js';
import { capture, REPO_ROOT } from '../capture-io.test-helper.js';

const AORTA = join(REPO_ROOT, 'fixtures/mesh/vmtk-aorta/aorta.mha');


describe('physiotwin mesh', () => {
  const dir = mkdtempSync(join(tmpdir(), 'mesh-'));

  for (const ext of ['stl', 'obj', 'ply', 'vtp']) {
    it(`writes an isosurface of the aorta CT as .${ext} (capped: closed)`, async () => {
      const io = capture(dir);
      const code = await runCli(['mesh', AORTA, '-o', `iso.${ext}`, '--iso', '1500', '--smooth', '5', '--backend', 'cpu', '--report'], io);
      expect(io.err).toBe('');
      expect(code).toBe(0);
      const report = JSON.parse(io.out) as { triangles: number; closed: boolean; manifold: boolean };
      expect(report.triangles).toBeGreaterThan(1000);
      expect(report.closed && report.manifold).toBe(true);
      expect(readFileSync(join(dir, `iso.${ext}`)).length).toBeGreaterThan(1000);
      expect(existsSync(join(dir, `iso.${ext}.manifest.json`))).toBe(true);
    });
  }

  it('rejects unknown formats, bad ratios and both --iso and --label', async () => {
    const unknown = capture(dir);
    expect(await runCli(['mesh', AORTA, '-o', 'x.vtk', '--iso', '1500'], unknown)).toBe(1);
    expect(unknown.err).toMatch(/IO_UNSUPPORTED/);
    expect(await runCli(['mesh', AORTA, '-o', 'x.vtp', '--iso', '1', '--label', '1'], capture(dir))).toBe(2);
    expect(await runCli(['mesh', AORTA, '-o', 'x.vtp', '--iso', '1', '--decimate', '0'], capture(dir))).toBe(2);
    expect(await runCli(['mesh', AORTA, '-o', 'x.vtp', '--iso', 'abc'], capture(dir))).toBe(2);
  });
});
