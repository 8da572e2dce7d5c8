import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { isPhysiotwinError, type Polylines } from '@physiotwin/core';
import { writeVtpPolylines } from './vtp-polylines.js';

/** Debian's python3 with python3-vtk9 (the pyenv python on PATH may lack it); override with PHYSIOTWIN_PYTHON. */
const PYTHON = process.env.PHYSIOTWIN_PYTHON ?? (existsSync('/usr/bin/python3') ? '/usr/bin/python3' : 'python3');

const READ_WITH_VTK = `
import json, sys
import vtk
from vtk.util.numpy_support import vtk_to_numpy
r = vtk.vtkXMLPolyDataReader()
r.SetFileName(sys.argv[1])
r.Update()
if r.GetErrorCode() != 0: sys.exit('vtk reader error %d' % r.GetErrorCode())
p = r.GetOutput()
lines = []
ids = vtk.vtkIdList()
p.GetLines().InitTraversal()
while p.GetLines().GetNextCell(ids):
    lines.append([ids.GetId(i) for i in range(ids.GetNumberOfIds())])
arrays = lambda d: {d.GetArrayName(i): {'type': d.GetArray(i).GetDataTypeAsString(), 'values': vtk_to_numpy(d.GetArray(i)).ravel().tolist()} for i in range(d.GetNumberOfArrays())}
print(json.dumps({'points': vtk_to_numpy(p.GetPoints().GetData()).ravel().tolist(), 'lines': lines, 'polys': p.GetNumberOfPolys(), 'pointData': arrays(p.GetPointData()), 'cellData': arrays(p.GetCellData())}))
`;

/** Two lines sharing point 2 (a branch point), as centerlines are written. */
const sample: Polylines = {
  positions: Float32Array.of(0, 0, 0, 1, 0, 0, 2, 0.5, 0, 3, 1, 0, 3, 0, 1),
  connectivity: Uint32Array.of(0, 1, 2, 2, 3, 2, 4),
  offsets: Uint32Array.of(3, 5, 7),
  pointData: {
    radius: { values: Float64Array.of(5, 4.5, 4, 2.5, 2.25), components: 1 },
    branchId: { values: Int32Array.of(0, 0, 0, 1, 2), components: 1 },
  },
  cellData: { branch: { values: Int32Array.of(0, 1, 2), components: 1 } },
};

describe('writeVtpPolylines', () => {
  it('writes polylines that VTK 9 (python3-vtk9) reads back exactly', () => {
    const dir = mkdtempSync(join(tmpdir(), 'physiotwin-vtp-'));
    try {
      const file = join(dir, 'lines.vtp');
      writeFileSync(file, writeVtpPolylines(sample));
      const run = spawnSync(PYTHON, ['-c', READ_WITH_VTK, file], { encoding: 'utf8' });
      expect(run.error, `needs python3 with vtk (Debian python3-vtk9): ${run.error?.message}`).toBeUndefined();
      expect(run.status, run.stderr).toBe(0);
      const read = JSON.parse(run.stdout) as { points: number[]; lines: number[][]; polys: number; pointData: Record<string, { type: string; values: number[] }>; cellData: Record<string, { type: string; values: number[] }> };
      expect(read.points).toEqual(Array.from(sample.positions));
      expect(read.lines).toEqual([[0, 1, 2], [2, 3], [2, 4]]);
      expect(read.polys).toBe(0);
      expect(read.pointData.radius).toEqual({ type: 'double', values: [5, 4.5, 4, 2.5, 2.25] });
      expect(read.pointData.branchId).toEqual({ type: 'int', values: [0, 0, 0, 1, 2] });
      expect(read.cellData.branch).toEqual({ type: 'int', values: [0, 1, 2] });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('rejects malformed polylines with INVALID_ARGUMENT', () => {
    const cases: Polylines[] = [
      { ...sample, offsets: Uint32Array.of(3, 4, 7) },
      { ...sample, offsets: Uint32Array.of(3, 5) },
      { ...sample, connectivity: Uint32Array.of(0, 1, 2, 2, 3, 2, 9) },
      { ...sample, pointData: { radius: { values: Float64Array.of(1, 2), components: 1 } } },
    ];
    for (const c of cases) {
      let error: unknown;
      try {
        writeVtpPolylines(c);
      } catch (e) {
        error = e;
      }
      expect(isPhysiotwinError(error, 'INVALID_ARGUMENT'), String(error)).toBe(true);
    }
  });
});
