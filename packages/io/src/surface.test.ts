import { describe, expect, it } from 'vitest';
import vtkXMLPolyDataReader from '@kitware/vtk.js/IO/XML/XMLPolyDataReader.js';
import type { SurfaceMesh } from '@physiotwin/core';
import { isPhysiotwinError } from '@physiotwin/core';
import { zlibSync } from 'fflate';
import { readObj, writeObj } from './obj.js';
import { readPly, writePly } from './ply.js';
import { readStl, writeStl } from './stl.js';
import { decodeSurface, encodeSurface, surfaceFormatFromPath } from './surface.js';
import type { SurfaceFormat } from './surface.js';
import { encodeBase64 } from './vtk-xml.js';
import { readVtp, writeVtp } from './vtp.js';

// A tetrahedron with outward counter-clockwise triangles.
const tet: SurfaceMesh = {
  positions: Float32Array.from([0, 0, 0, 1, 0, 0, 0, 1, 0, 0, 0, 1.5]),
  triangles: Uint32Array.from([0, 2, 1, 0, 1, 3, 0, 3, 2, 1, 2, 3]),
};

interface PolyData {
  getPoints(): { getData(): ArrayLike<number> };
  getPolys(): { getData(): ArrayLike<number> };
}

const codeOf = (f: () => unknown) => {
  try {
    f();
  } catch (e) {
    return isPhysiotwinError(e) ? e.code : `raw ${String(e)}`;
  }
  return 'no error';
};

describe('surface writers', () => {
  it('writes a .vtp that vtk.js reads back with the same points and triangles', () => {
    const bytes = writeVtp(tet);
    // vtk.js ships no types for its readers' methods.
    const reader = vtkXMLPolyDataReader.newInstance() as unknown as { parseAsArrayBuffer(b: ArrayBuffer): void; getOutputData(i: number): PolyData };
    reader.parseAsArrayBuffer(bytes.slice().buffer);
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

describe('surface readers', () => {
  // A surface with normals and point / cell arrays, coordinates that are not short decimals.
  const rich: SurfaceMesh = {
    positions: Float32Array.from([0.1, -2.7, 3.3, 1e-7, 0, 0, 0, 1, 0, 1 / 3, 0, 1.5]),
    triangles: tet.triangles,
    normals: Float32Array.from([0, 0, -1, 1, 0, 0, 0, 1, 0, 0, 0, 1]),
    pointData: { temperature: { values: Float64Array.from([1.5, 2.5, 3.5, Math.PI]), components: 1 } },
    cellData: { label: { values: Int32Array.from([7, 8, 9, 10]), components: 1 } },
  };

  const corners = (m: SurfaceMesh) => Array.from(m.triangles, (p) => Array.from(m.positions.subarray(3 * p, 3 * p + 3)));

  it.each(['obj', 'ply', 'vtp'] as SurfaceFormat[])('%s: write then read gives back the points and triangles exactly', (format) => {
    const back = decodeSurface(encodeSurface(rich, format), format);
    expect(Array.from(back.positions)).toEqual(Array.from(rich.positions));
    expect(Array.from(back.triangles)).toEqual(Array.from(rich.triangles));
  });

  it('stl: write then read gives back every triangle corner exactly, shared points merged (renumbered by first use)', () => {
    const back = readStl(writeStl(rich));
    expect(back.positions.length).toBe(rich.positions.length);
    expect(corners(back)).toEqual(corners(rich));
  });

  it('vtp keeps normals and named point and cell arrays with their types', () => {
    const back = readVtp(writeVtp(rich));
    expect(back.normals).toEqual(rich.normals);
    expect(back.pointData!.temperature!.values).toEqual(rich.pointData!.temperature!.values);
    expect(back.cellData!.label!.values).toEqual(rich.cellData!.label!.values);
  });

  it('fan-triangulates polygons (OBJ quads with v/vt/vn and negative indices, PLY quads) and splits VTP strips', () => {
    const obj = new TextEncoder().encode('v 0 0 0\nv 1 0 0\nv 1 1 0\nv 0 1 0\nvt 0 0\nvn 0 0 1\nf 1/1/1 2/1/1 3/1/1 4/1/1\nf -4//1 -2//1 -1//1\n');
    expect(Array.from(readObj(obj).triangles)).toEqual([0, 1, 2, 0, 2, 3, 0, 2, 3]);
    const ply = new TextEncoder().encode('ply\nformat ascii 1.0\nelement vertex 4\nproperty float x\nproperty float y\nproperty float z\nproperty uchar red\nelement face 1\nproperty list uchar int vertex_indices\nend_header\n0 0 0 9\n1 0 0 9\n1 1 0 9\n0 1 0 9\n4 0 1 2 3\n');
    expect(Array.from(readPly(ply).triangles)).toEqual([0, 1, 2, 0, 2, 3]);
    const strip = new TextEncoder().encode(
      '<VTKFile type="PolyData" version="1.0"><PolyData><Piece NumberOfPoints="4" NumberOfStrips="1"><Points><DataArray type="Float32" NumberOfComponents="3" format="ascii">0 0 0 1 0 0 0 1 0 1 1 0</DataArray></Points>' +
        '<Strips><DataArray type="Int64" Name="connectivity" format="ascii">0 1 2 3</DataArray><DataArray type="Int64" Name="offsets" format="ascii">4</DataArray></Strips></Piece></PolyData></VTKFile>',
    );
    expect(Array.from(readVtp(strip).triangles)).toEqual([0, 1, 2, 2, 1, 3]);
  });

  it('reads a zlib-compressed inline VTP array of several blocks (UInt64 headers), as VTK writes it', () => {
    const values = Float32Array.from({ length: 30 }, (_, i) => i * 0.5);
    const raw = new Uint8Array(values.buffer);
    const blockSize = 48;
    const blocks = [raw.subarray(0, 48), raw.subarray(48, 96), raw.subarray(96)].map((b) => zlibSync(b));
    const header = new BigUint64Array([3n, BigInt(blockSize), BigInt(raw.length - 96), ...blocks.map((b) => BigInt(b.length))]);
    const joined = new Uint8Array(blocks.reduce((n, b) => n + b.length, 0));
    let at = 0;
    for (const b of blocks) joined.set(b, (at += b.length) - b.length);
    const text = encodeBase64(new Uint8Array(header.buffer)) + encodeBase64(joined);
    const xml = `<?xml version="1.0"?><VTKFile type="PolyData" version="1.0" byte_order="LittleEndian" header_type="UInt64" compressor="vtkZLibDataCompressor"><PolyData><Piece NumberOfPoints="10" NumberOfPolys="0"><Points><DataArray type="Float32" NumberOfComponents="3" format="binary">${text}</DataArray></Points></Piece></PolyData></VTKFile>`;
    expect(Array.from(readVtp(new TextEncoder().encode(xml)).positions)).toEqual(Array.from(values));
  });

  it('refuses bad files with typed errors', () => {
    const stl = writeStl(tet);
    expect(codeOf(() => readStl(stl.subarray(0, 100)))).toBe('IO_TRUNCATED');
    expect(codeOf(() => readStl(stl.subarray(0, 40)))).toBe('IO_TRUNCATED');
    expect(codeOf(() => readStl(new TextEncoder().encode('solid x\nfacet normal 0 0 1\nouter loop\nvertex 0 0 0\nvertex 1 0 0\nendloop\nendfacet\nendsolid\n')))).toBe('IO_INVALID');
    expect(codeOf(() => readObj(new TextEncoder().encode('v 0 0 0\nv 1 0 0\nv 0 1 0\nf 1 2 4\n')))).toBe('IO_INVALID');
    expect(codeOf(() => readObj(new TextEncoder().encode('v 0 0 0\nv 1 0 0\nl 1 2\n')))).toBe('IO_UNSUPPORTED');
    expect(codeOf(() => readPly(writePly(tet).subarray(0, writePly(tet).length - 5)))).toBe('IO_TRUNCATED');
    expect(codeOf(() => readPly(new TextEncoder().encode('ply\nformat binary_mixed 1.0\nend_header\n')))).toBe('IO_UNSUPPORTED');
    expect(codeOf(() => readPly(new TextEncoder().encode('not a ply')))).toBe('IO_INVALID');
    const vtp = new TextDecoder().decode(writeVtp(tet));
    expect(codeOf(() => readVtp(new TextEncoder().encode(vtp.replace('NumberOfLines="0"', 'NumberOfLines="2"'))))).toBe('IO_UNSUPPORTED');
    expect(codeOf(() => readVtp(new TextEncoder().encode(vtp.replace('</Piece>', ''))))).toBe('IO_INVALID');
    expect(codeOf(() => readVtp(new TextEncoder().encode(vtp.replace('type="PolyData"', 'type="UnstructuredGrid"'))))).toBe('IO_INVALID');
    expect(codeOf(() => readVtp(new TextEncoder().encode(vtp.replace('NumberOfPolys="4"', 'NumberOfPolys="5"'))))).toMatch(/IO_INVALID|IO_TRUNCATED/);
    expect(codeOf(() => decodeSurface(stl, 'vtk' as SurfaceFormat))).toBe('IO_UNSUPPORTED');
  });
});

