import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { createVolume } from '@physiotwin/core';
import { readMsh, readVtu } from '@physiotwin/io';
import { writeVolumeFile } from '@physiotwin/io/node';
import { runCli } from '../run.js';
import { capture } from '../capture-io.test-helper.js';

/** Debian's python3-vtk9 and python3-meshio (the system python): the cross-check that VTK and meshio read the .vtu. */
const PYTHON = '/usr/bin/python3';
const has = (module: string) => spawnSync(PYTHON, ['-c', `import ${module}`], { encoding: 'utf8' }).status === 0;

const dir = mkdtempSync(join(tmpdir(), 'tetmesh-'));

/** Two concentric labels (1 inside r = 4 mm, 2 out to 7 mm) at 1 mm, and a straight lumen (r = 3 mm, 0.5 mm voxels, along k). */
async function inputs(): Promise<void> {
  const n = 21, c = 10;
  const shells = new Uint8Array(n * n * n);
  for (let k = 0; k < n; k++) for (let j = 0; j < n; j++) for (let i = 0; i < n; i++) {
    const r = Math.hypot(i - c, j - c, k - c);
    shells[i + n * (j + n * k)] = r <= 4 ? 1 : r <= 7 ? 2 : 0;
  }
  await writeVolumeFile(join(dir, 'shells.nii.gz'), createVolume({ data: shells, dims: [n, n, n] }), { overwrite: true });
  const m = 21, nz = 11, cm = 10;
  const tube = new Uint8Array(m * m * nz);
  for (let k = 0; k < nz; k++) for (let j = 0; j < m; j++) for (let i = 0; i < m; i++) if (Math.hypot(i - cm, j - cm) * 0.5 <= 3) tube[i + m * (j + m * k)] = 1;
  await writeVolumeFile(join(dir, 'tube.nii.gz'), createVolume({ data: tube, dims: [m, m, nz], spacing: [0.5, 0.5, 0.5] }), { overwrite: true });
}

interface Report {
  tets: number;
  nodes: number;
  volume: number;
  inverted: number;
  tags: Array<{ tag: number; name: string; faces: number }>;
}

describe('physiotwin tetmesh', () => {
  const ready = inputs();
  // One run of the two-label mesh, read by every check below.
  const shells = ready.then(async () => {
    const io = capture(dir);
    const code = await runCli(['tetmesh', 'shells.nii.gz', '-o', 'shells.vtu', '--report'], io);
    return { code, err: io.err, report: JSON.parse(io.out || '{}') as Report };
  });

  it('meshes two labels into a .vtu that reads back with the reported tets, volume and label-pair tags', async () => {
    const { code, err, report } = await shells;
    expect(err).toBe('');
    expect(code).toBe(0);
    expect(report.inverted).toBe(0);
    expect(report.tags.map((t) => [t.tag, t.name])).toEqual([[65536 * 2, '2|0'], [65536 * 2 + 1, '2|1']]);
    const mesh = readVtu(new Uint8Array(readFileSync(join(dir, 'shells.vtu'))));
    expect(mesh.tets.length / 4).toBe(report.tets);
    expect(mesh.positions.length / 3).toBe(report.nodes);
    expect(new Set(mesh.regions)).toEqual(new Set([1, 2]));
    expect(existsSync(join(dir, 'shells.vtu.manifest.json'))).toBe(true);
    // The ball of radius 7 voxelised at 1 mm: within 3% of 4/3 pi 7^3 (the staircase of a 7-voxel ball).
    expect(report.volume / ((4 / 3) * Math.PI * 343)).toBeCloseTo(1, 1);
  });

  it.skipIf(!has('vtk'))('VTK (python3-vtk9) reads the .vtu: same tet count and total volume', async () => {
    const { report } = await shells;
    const script = [
      'import sys, vtk',
      'r = vtk.vtkXMLUnstructuredGridReader(); r.SetFileName(sys.argv[1]); r.Update(); g = r.GetOutput()',
      'tets = [i for i in range(g.GetNumberOfCells()) if g.GetCellType(i) == 10]',
      'vol = sum(vtk.vtkMeshQuality.TetVolume(g.GetCell(i)) for i in tets)',
      'print(len(tets), repr(vol))',
    ].join('\n');
    const out = spawnSync(PYTHON, ['-c', script, join(dir, 'shells.vtu')], { encoding: 'utf8' });
    expect(out.stderr).toBe('');
    const [count, volume] = out.stdout.trim().split(' ').map(Number);
    expect(count).toBe(report.tets);
    expect(volume! / report.volume).toBeCloseTo(1, 10); // f64 positions on both sides: rounding only
  });

  it.skipIf(!has('meshio'))('meshio (python3-meshio) reads the .vtu: same tets and region ids', async () => {
    const { report } = await shells;
    const script = [
      'import sys, meshio',
      'm = meshio.read(sys.argv[1])',
      'tets = sum(len(b.data) for b in m.cells if b.type == "tetra")',
      'regions = sorted(set(int(x) for b, d in zip(m.cells, m.cell_data["region"]) if b.type == "tetra" for x in d))',
      'print(tets, *regions)',
    ].join('\n');
    const out = spawnSync(PYTHON, ['-c', script, join(dir, 'shells.vtu')], { encoding: 'utf8' });
    expect(out.stderr).toBe('');
    expect(out.stdout.trim()).toBe(`${report.tets} 1 2`);
  });

  it('grows a vessel wall into a T10 .msh with lumen, outer and end tags as physical names', async () => {
    await ready;
    const io = capture(dir);
    expect(await runCli(['tetmesh', 'tube.nii.gz', '-o', 'wall.msh', '--wall-mm', '1', '--element', 'T10', '--report'], io)).toBe(0);
    const report = JSON.parse(io.out) as { inverted: number; volume: number; ends: Array<{ tag: number; axis: number; side: number }> };
    expect(report.inverted).toBe(0);
    expect(report.ends.map((e) => [e.tag, e.axis, e.side])).toEqual([[3, 2, -1], [4, 2, 1]]);
    // pi ((3 + 1)^2 - 3^2) * 5 mm: within 5% (a 3 mm lumen at 0.5 mm voxels: 6 voxels per radius).
    expect(report.volume / (Math.PI * 7 * 5)).toBeCloseTo(1, 1);
    const { mesh, physicalNames } = readMsh(new Uint8Array(readFileSync(join(dir, 'wall.msh'))));
    expect(physicalNames.filter((p) => p.dim === 2).map((p) => [p.tag, p.name])).toEqual([[1, 'lumen'], [2, 'outer'], [3, 'end1'], [4, 'end2']]);
    expect(new Set(mesh.boundaryLabels)).toEqual(new Set([1, 2, 3, 4]));
    expect(mesh.nodesPerTet).toBe(10);
  });

  it('rejects bad formats, numbers and elements as usage errors', async () => {
    await ready;
    for (const args of [['-o', 'x.stl'], ['-o', 'x.vtu', '--wall-mm', '0'], ['-o', 'x.vtu', '--label', 'a'], ['-o', 'x.vtu', '--element', 'T6'], []]) {
      expect(await runCli(['tetmesh', 'shells.nii.gz', ...args], capture(dir))).toBe(2);
    }
  });
});
