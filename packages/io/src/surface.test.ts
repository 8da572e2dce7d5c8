import { describe, expect, it } from 'vitest';
import vtkXMLPolyDataReader from '@kitware/vtk.js/IO/XML/XMLPolyDataReader.js';
import type { SurfaceMesh } from '@physiotwin/core';
import { isPhysiotwinError } from '@physiotwin/core';
import { encodeSurface, surfaceFormatFromPath, writeObj, writePly, writeStl, writeVtp } from './writers.js';

// A tetrahedron with outward counter-clockwise triangles.
const tet: SurfaceMesh = {
  positions: Float32Array.from([0, 0, 0, 1, 0, 0, 0, 1, 0, 0, 0, 1.5]),
  triangles: Uint32Array.from([0, 2, 1, 0, 1, 3, 0, 3, 2, 1, 2, 3]),
};

describe('surface writers', () => {
  it('writes a .vtp that vtk.js reads back with the same points and triangles', () => {
    const bytes = writeVtp(tet);
    const reader = vtkXMLPolyDataReader.newInstance();
    reader.parseAsArrayBuffer(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength));
    const poly = reader.getOutputData(0);
    expect(Array.from(poly.getPoints().getData() as Float32Array)).toEqual(Array.from(tet.positions));
    // vtk.js keeps legacy cell arrays: [3, a, b, c, 3, ...].
    const cells = Array.from(poly.getPolys().getData() as ArrayLike<number>);
    expect(cells).toEqual([3, 0, 2, 1, 3, 0, 1, 3, 3, 0, 3, 2, 3, 1, 2, 3]);
  });

  it('writes binary STL with the triangle count, unit normals and vertices', () => {
    const bytes = writeStl(tet);
    const view = new DataView(bytes.buffer, bytes.byteOffset);
    expect(bytes.length).toBe(84 + 4 * 50);
    expect(view.getUint32(80, true)).toBe(4);
    // First triangle (0, 2, 1) lies in z = 0 and faces -z.
    expect([0, 4, 8].map((o) => view.getFloat32(84 + o, true))).toEqual([0, 0, -1]);
    expect([0, 1, 2].map((d) => view.getFloat32(84 + 12 + 12 + 4 * d, true))).toEqual([0, 1, 0]);
  });

  it('writes OBJ with 1-based faces and binary PLY with its header counts', () => {
    const obj = new TextDecoder().decode(writeObj(tet));
    expect(obj).toContain('v 0 0 1.5');
    expect(obj).toContain('f 1 3 2');
    const ply = writePly(tet);
    const head = new TextDecoder().decode(ply.subarray(0, 300));
    expect(head).toContain('element vertex 4');
    expect(head).toContain('element face 4');
    const end = head.indexOf('end_header\n') + 'end_header\n'.length;
    expect(ply.length).toBe(end + 12 * 4 + 13 * 4);
    expect(new DataView(ply.buffer, ply.byteOffset).getFloat32(end + 11 * 4, true)).toBe(1.5);
  });

  it('picks the format from the extension and refuses others with IO_UNSUPPORTED', () => {
    expect(surfaceFormatFromPath('a/b.VTP')).toBe('vtp');
    expect(encodeSurface(tet, 'stl').length).toBe(84 + 200);
    expect(() => surfaceFormatFromPath('x.vtk')).toSatisfy((f: () => unknown) => {
      try {
        f();
        return false;
      } catch (e) {
        return isPhysiotwinError(e, 'IO_UNSUPPORTED');
      }
    });
  });

  it('rejects a mesh whose triangles point past the vertices', () => {
    expect(() => writeVtp({ positions: new Float32Array(3), triangles: Uint32Array.from([0, 1, 2]) })).toThrow(/references point/);
  });
});
