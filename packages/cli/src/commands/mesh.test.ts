import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { createVolume } from '@physiotwin/core';
import { writeVolumeFile } from '@physiotwin/io/node';
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

  it('--inside below meshes a signed distance map (negative inside) without negating it', async () => {
    // Distance to a sphere of radius 8 mm on a 24^3 grid of 1 mm voxels, negative inside (a VMTK / ITK level set).
    const n = 24;
    const data = new Float32Array(n ** 3);
    for (let k = 0, p = 0; k < n; k++) for (let j = 0; j < n; j++) for (let i = 0; i < n; i++, p++) data[p] = Math.hypot(i - 11.6, j - 11.3, k - 11.8) - 8;
    await writeVolumeFile(join(dir, 'sdf.nii'), createVolume({ data, dims: [n, n, n] }));
    const run = async (...flags: string[]) => {
      const io = capture(dir);
      expect(await runCli(['mesh', 'sdf.nii', '-o', `sdf${flags.join('')}.stl`, '--iso', '0', '--backend', 'cpu', '--report', ...flags], io)).toBe(0);
      return JSON.parse(io.out) as { closed: boolean; volume: number; genus: number };
    };
    const below = await run('--inside', 'below');
    const sphere = (4 / 3) * Math.PI * 8 ** 3;
    // Marching cubes' inscribed polyhedron falls short of the sphere by O((h / R)^2) = 1.6% at h = 1 mm.
    expect(below.closed && below.genus === 0).toBe(true);
    expect(below.volume).toBeGreaterThan(0.97 * sphere);
    expect(below.volume).toBeLessThan(sphere);
    // The default (above) takes the outside of the sphere: the 23 mm box of samples less the sphere's hole, within
    // 5 mm^3 (the caps sit within 1e-3 voxel of the faces: at most 6 x 23^2 x 1e-3 = 3.2 mm^3).
    const above = await run();
    expect(above.volume).toBeCloseTo(23 ** 3 - below.volume, -1);
    const manifest = JSON.parse(readFileSync(join(dir, 'sdf--insidebelow.stl.manifest.json'), 'utf8')) as { parameters: { inside: string } };
    expect(manifest.parameters.inside).toBe('below');
    expect(await runCli(['mesh', 'sdf.nii', '-o', 'x.stl', '--inside', 'below'], capture(dir))).toBe(2);
    expect(await runCli(['mesh', 'sdf.nii', '-o', 'x.stl', '--iso', '0', '--inside', 'sideways'], capture(dir))).toBe(2);
  });
});
