import { spawnSync } from 'node:child_process';
import { copyFileSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { readVtu } from '@physiotwin/io';
import { describe, expect, it } from 'vitest';
import { capture, REPO_ROOT } from '../capture-io.test-helper.js';
import { runCli } from '../run.js';

/** Debian's python3-vtk9, for the check that VTK reads the result. */
const PYTHON = '/usr/bin/python3';
const hasVtk = spawnSync(PYTHON, ['-c', 'import vtk'], { encoding: 'utf8' }).status === 0;

describe('physiotwin fem', () => {
  const dir = mkdtempSync(join(tmpdir(), 'fem-cli-'));
  copyFileSync(join(REPO_ROOT, 'fixtures/fem/cylinder-t10-0.5.msh'), join(dir, 'cyl.msh'));
  // Lame thick cylinder (plane strain), as in packages/fem/src/verify.ts, written as a case file.
  const lame = {
    mesh: 'cyl.msh',
    element: 'T10',
    materials: [{ region: 1, E: 1000, nu: 0.3 }],
    constraints: [
      { nodes: { faceTag: 3 }, components: ['x'], displacement: [0, 0, 0] },
      { nodes: { plane: { point: [0, 0, 0], normal: [0, 1, 0] } }, components: ['y'], displacement: [0, 0, 0] },
      { nodes: { faceTag: 5 }, components: ['z'], displacement: [0, 0, 0] },
    ],
    loads: [{ faces: { faceTag: 1 }, pressure: 1 }],
    solver: { tolerance: 1e-10, maxIterations: 20000, preconditioner: 'auto' },
  };
  writeFileSync(join(dir, 'case.json'), JSON.stringify(lame));

  it('solves a case and writes displacement, stresses and regions as .vtu with a manifest', async () => {
    const io = capture(dir);
    const code = await runCli(['fem', 'case.json', '-o', 'out.vtu', '--backend', 'cpu'], io);
    expect(io.out).toMatch(/CG iterations/);
    expect(code).toBe(0);
    const mesh = readVtu(readFileSync(join(dir, 'out.vtu')));
    expect(mesh.nodesPerTet).toBe(10);
    expect(mesh.pointData!.displacement!.components).toBe(3);
    expect(mesh.pointData!.vonMises!.components).toBe(1);
    expect(mesh.cellData!.stress!.components).toBe(6);
    expect(mesh.cellData!.vonMises!.values.length).toBe(mesh.tets.length / 10);
    expect([...new Set(mesh.regions)]).toEqual([1]);
    // The inner corner node (1, 0, 0) moves outward by u_r(a) = (1 + nu) p a^2 / (E (b^2 - a^2)) ((1 - 2 nu) a + b^2 / a)
    // = 1.3 / 3000 * 4.4; T10 on h = 0.5 mm is within 0.5% (solve.test.ts checks the tolerance itself).
    const u = mesh.pointData!.displacement!.values;
    let node = -1;
    for (let v = 0; v < mesh.positions.length / 3; v++) if (Math.hypot(mesh.positions[3 * v]! - 1, mesh.positions[3 * v + 1]!, mesh.positions[3 * v + 2]!) < 1e-9) node = v;
    expect(node).toBeGreaterThanOrEqual(0);
    expect(Math.abs(u[3 * node]! - (1.3 / 3000) * 4.4) / ((1.3 / 3000) * 4.4)).toBeLessThan(0.005);
    const manifest = JSON.parse(readFileSync(join(dir, 'out.vtu.manifest.json'), 'utf8')) as { backend: { backend: string }; parameters: { convergence: { iterations: number; residualHistory: number[]; precision: string } } };
    expect(manifest.backend.backend).toBe('cpu');
    expect(manifest.parameters.convergence.precision).toBe('f64');
    expect(manifest.parameters.convergence.residualHistory.length).toBe(manifest.parameters.convergence.iterations + 1);
    // Never overwrites without --force.
    const again = capture(dir);
    expect(await runCli(['fem', 'case.json', '-o', 'out.vtu'], again)).toBe(1);
    expect(again.err).toMatch(/IO_EXISTS/);
  });

  it.skipIf(!hasVtk)('VTK (python3-vtk9) reads the result with the same displacement', () => {
    const mesh = readVtu(readFileSync(join(dir, 'out.vtu')));
    const script = `
import json, sys, vtk
from vtk.util.numpy_support import vtk_to_numpy as n
r = vtk.vtkXMLUnstructuredGridReader(); r.SetFileName(sys.argv[1]); r.Update(); g = r.GetOutput()
print(json.dumps({'cells': g.GetNumberOfCells(), 'types': sorted(set(n(g.GetCellTypesArray()).tolist())),
  'disp': n(g.GetPointData().GetArray('displacement')).ravel().tolist(), 'stress': g.GetCellData().GetArray('stress').GetNumberOfComponents(),
  'region': sorted(set(n(g.GetCellData().GetArray('region')).tolist()))}))`;
    const run = spawnSync(PYTHON, ['-c', script, join(dir, 'out.vtu')], { encoding: 'utf8', maxBuffer: 1 << 26 });
    const got = JSON.parse(run.stdout) as { cells: number; types: number[]; disp: number[]; stress: number; region: number[] };
    expect(got.cells).toBe(mesh.tets.length / 10);
    expect(got.types).toEqual([24]);
    expect(got.disp).toEqual(Array.from(mesh.pointData!.displacement!.values));
    expect(got.stress).toBe(6);
    expect(got.region).toEqual([1]);
  });

  it('reports a bad case with its JSON path, and bad flags as usage errors', async () => {
    writeFileSync(join(dir, 'bad.json'), JSON.stringify({ ...lame, materials: [{ region: 1, E: 1000, nu: 0.7 }] }));
    const io = capture(dir);
    expect(await runCli(['fem', 'bad.json', '-o', 'bad.vtu'], io)).toBe(1);
    expect(io.err).toMatch(/CONFIG_INVALID.*\$\.materials\[0\]\.nu/);
    const usage = capture(dir);
    expect(await runCli(['fem', 'case.json', '-o', 'x.stl'], usage)).toBe(2);
    expect(await runCli(['fem', 'verify', 'extra'], capture(dir))).toBe(2);
  });
});
