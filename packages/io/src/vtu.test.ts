import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { isPhysiotwinError } from '@physiotwin/core';
import type { TetMesh } from '@physiotwin/core';
import { describe, expect, it } from 'vitest';
import { readMsh, readVtu, writeVtu } from './index.js';

const fixture = (name: string) => readFileSync(new URL(`../../../fixtures/fem/${name}`, import.meta.url));
/** Debian's python3-vtk9 (the system python, not a pyenv shim): needed by the VTK cross-check. */
const PYTHON = '/usr/bin/python3';
const hasVtk = spawnSync(PYTHON, ['-c', 'import vtk'], { encoding: 'utf8' }).status === 0;

/** The Gmsh cylinder (T10, curved) with a point array and a cell array, to round-trip. */
function sample(): TetMesh {
  const { mesh } = readMsh(fixture('cylinder-t10-0.5.msh'));
  const n = mesh.positions.length / 3;
  const displacement = new Float64Array(3 * n).map((_, i) => Math.sin(i) * 1e-3);
  const tets = mesh.tets.length / 10;
  mesh.pointData = { displacement: { values: displacement, components: 3 } };
  mesh.cellData = { vonMises: { values: new Float32Array(tets).map((_, i) => i / 7), components: 1 } };
  return mesh;
}

describe('VTK XML UnstructuredGrid', () => {
  for (const format of ['ascii', 'binary', 'appended'] as const) {
    for (const compress of format === 'ascii' ? [false] : [false, true]) {
      it(`round-trips T10 with faces, regions and arrays exactly (${format}${compress ? ', zlib' : ''})`, () => {
        const mesh = sample();
        const back = readVtu(writeVtu(mesh, { format, compress }));
        expect(back.nodesPerTet).toBe(10);
        // ascii writes shortest round-trip decimals, so every format is exact.
        expect(back.positions).toEqual(mesh.positions);
        expect(back.tets).toEqual(mesh.tets);
        expect(back.regions).toEqual(mesh.regions);
        expect(back.boundaryFaces).toEqual(mesh.boundaryFaces);
        expect(back.boundaryLabels).toEqual(mesh.boundaryLabels);
        expect(back.pointData!.displacement!.values).toEqual(mesh.pointData!.displacement!.values);
        expect(back.cellData!.vonMises!.values).toEqual(mesh.cellData!.vonMises!.values);
      });
    }
  }

  it('writes tets only with faces: false (cell arrays one value per tet)', () => {
    const mesh = sample();
    const back = readVtu(writeVtu(mesh, { faces: false }));
    expect(back.boundaryFaces).toBeUndefined();
    expect(back.cellData!.vonMises!.values.length).toBe(mesh.tets.length / 10);
  });

  for (const name of ['ascii', 'binary-zlib', 'appended-raw', 'appended-base64-zlib']) {
    it(`reads what VTK's own writer made (${name})`, () => {
      const mesh = readVtu(fixture(`vtk-cylinder-t10-${name}.vtu`));
      const gmsh = readMsh(fixture('cylinder-t10-0.5.msh')).mesh;
      expect(mesh.nodesPerTet).toBe(10);
      expect(mesh.positions).toEqual(gmsh.positions);
      expect(mesh.tets).toEqual(gmsh.tets);
      const r = mesh.pointData!.radius!.values;
      // numpy's hypot and Math.hypot may differ in the last bit.
      for (let i = 0; i < r.length; i++) expect(Math.abs(r[i]! - Math.hypot(mesh.positions[3 * i]!, mesh.positions[3 * i + 1]!))).toBeLessThan(1e-15);
      expect([...new Set(mesh.regions)]).toEqual([1]);
      expect(Array.from(mesh.cellData!.tetIndex!.values)).toEqual(Array.from({ length: mesh.tets.length / 10 }, (_, i) => i));
    });
  }

  it.skipIf(!hasVtk)('VTK (python3-vtk9) reads what writeVtu writes, in every encoding, with the same values', () => {
    const mesh = sample();
    const dir = mkdtempSync(join(tmpdir(), 'vtu-'));
    try {
      const files: string[] = [];
      for (const format of ['ascii', 'binary', 'appended'] as const) {
        for (const compress of [false, true]) {
          const f = join(dir, `${format}-${compress}.vtu`);
          writeFileSync(f, writeVtu(mesh, { format, compress }));
          files.push(f);
        }
      }
      const script = `
import json, sys, vtk
from vtk.util.numpy_support import vtk_to_numpy as n
out = []
for f in sys.argv[1:]:
    r = vtk.vtkXMLUnstructuredGridReader(); r.SetFileName(f); r.Update(); g = r.GetOutput()
    types = n(g.GetCellTypesArray()).tolist()
    out.append({'points': n(g.GetPoints().GetData()).ravel().tolist(), 'types': sorted(set(types)), 'cells': g.GetNumberOfCells(),
      'conn': n(g.GetCells().GetConnectivityArray()).tolist()[:${10 * (mesh.tets.length / 10)}],
      'disp': n(g.GetPointData().GetArray('displacement')).ravel().tolist(), 'region': n(g.GetCellData().GetArray('region')).tolist()})
print(json.dumps(out))`;
      const run = spawnSync(PYTHON, ['-c', script, ...files], { encoding: 'utf8', maxBuffer: 1 << 28 });
      expect(run.stderr).not.toMatch(/ERROR/);
      const results = JSON.parse(run.stdout) as Array<{ points: number[]; types: number[]; cells: number; conn: number[]; disp: number[]; region: number[] }>;
      expect(results.length).toBe(files.length);
      const nTets = mesh.tets.length / 10;
      for (const r of results) {
        expect(r.types).toEqual([5, 24]);
        expect(r.cells).toBe(nTets + mesh.boundaryLabels!.length);
        expect(r.points).toEqual(Array.from(mesh.positions));
        expect(r.conn).toEqual(Array.from(mesh.tets));
        expect(r.disp).toEqual(Array.from(mesh.pointData!.displacement!.values));
        expect(r.region).toEqual([...Array.from(mesh.regions!), ...Array.from(mesh.boundaryLabels!)]);
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('refuses bad files with typed errors', () => {
    const codes = (bytes: Uint8Array) => {
      try {
        readVtu(bytes);
        return 'none';
      } catch (e) {
        return isPhysiotwinError(e) ? e.code : String(e);
      }
    };
    const text = (s: string) => new TextEncoder().encode(s);
    expect(codes(text('<VTKFile type="PolyData"></VTKFile>'))).toBe('IO_INVALID');
    const good = writeVtu(sample(), { format: 'appended' });
    expect(codes(good.subarray(0, Math.floor(good.length * 0.7)))).toMatch(/IO_TRUNCATED|IO_INVALID/);
    const binary = new TextDecoder().decode(writeVtu(sample(), { format: 'binary', compress: false }));
    expect(codes(text(binary.replace(/format="binary">([A-Za-z0-9+/]{10})/, 'format="binary">$1!')))).toBe('IO_INVALID');
    const hexa = '<VTKFile type="UnstructuredGrid"><UnstructuredGrid><Piece NumberOfPoints="8" NumberOfCells="1"><Points><DataArray type="Float32" NumberOfComponents="3" format="ascii">0 0 0 1 0 0 1 1 0 0 1 0 0 0 1 1 0 1 1 1 1 0 1 1</DataArray></Points><Cells><DataArray type="Int32" Name="connectivity" format="ascii">0 1 2 3 4 5 6 7</DataArray><DataArray type="Int32" Name="offsets" format="ascii">8</DataArray><DataArray type="UInt8" Name="types" format="ascii">12</DataArray></Cells></Piece></UnstructuredGrid></VTKFile>';
    expect(codes(text(hexa))).toBe('IO_UNSUPPORTED');
  });
});
