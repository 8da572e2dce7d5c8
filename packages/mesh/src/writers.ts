import type { SurfaceMesh } from '@physiotwin/core';
import { PhysiotwinError, validateSurfaceMesh } from '@physiotwin/core';

/** Surface file formats the writers produce. */
export type SurfaceFormat = 'stl' | 'obj' | 'ply' | 'vtp';

const encoder = new TextEncoder();

/**
 * Binary STL: 80-byte header, triangle count, then per triangle its unit normal (from the vertex order), three
 * vertices (f32, mm) and a zero attribute word.
 * @throws PhysiotwinError `INVALID_ARGUMENT` for a malformed mesh.
 */
export function writeStl(mesh: SurfaceMesh, header = 'physiotwin binary STL, LPS millimetres'): Uint8Array {
  validateSurfaceMesh(mesh);
  const P = mesh.positions;
  const T = mesh.triangles;
  const nt = T.length / 3;
  const out = new Uint8Array(84 + 50 * nt);
  out.set(encoder.encode(header).subarray(0, 80));
  const view = new DataView(out.buffer);
  view.setUint32(80, nt, true);
  for (let t = 0; t < nt; t++) {
    const o = 84 + 50 * t;
    const [a, b, c] = [T[3 * t]!, T[3 * t + 1]!, T[3 * t + 2]!];
    const ux = P[3 * b]! - P[3 * a]!, uy = P[3 * b + 1]! - P[3 * a + 1]!, uz = P[3 * b + 2]! - P[3 * a + 2]!;
    const wx = P[3 * c]! - P[3 * a]!, wy = P[3 * c + 1]! - P[3 * a + 1]!, wz = P[3 * c + 2]! - P[3 * a + 2]!;
    let nx = uy * wz - uz * wy, ny = uz * wx - ux * wz, nz = ux * wy - uy * wx;
    const len = Math.hypot(nx, ny, nz) || 1;
    nx /= len;
    ny /= len;
    nz /= len;
    view.setFloat32(o, nx, true);
    view.setFloat32(o + 4, ny, true);
    view.setFloat32(o + 8, nz, true);
    [a, b, c].forEach((v, i) => {
      for (let d = 0; d < 3; d++) view.setFloat32(o + 12 + 12 * i + 4 * d, P[3 * v + d]!, true);
    });
  }
  return out;
}

/** Wavefront OBJ (text): `v x y z` per vertex, `f a b c` (1-based) per triangle. */
export function writeObj(mesh: SurfaceMesh): Uint8Array {
  validateSurfaceMesh(mesh);
  const P = mesh.positions;
  const T = mesh.triangles;
  const lines: string[] = ['# physiotwin surface, LPS millimetres'];
  for (let v = 0; v < P.length; v += 3) lines.push(`v ${P[v]} ${P[v + 1]} ${P[v + 2]}`);
  for (let t = 0; t < T.length; t += 3) lines.push(`f ${T[t]! + 1} ${T[t + 1]! + 1} ${T[t + 2]! + 1}`);
  return encoder.encode(lines.join('\n') + '\n');
}

/** Binary little-endian PLY: float x, y, z per vertex; a uchar-counted int list per face. */
export function writePly(mesh: SurfaceMesh): Uint8Array {
  validateSurfaceMesh(mesh);
  const P = mesh.positions;
  const T = mesh.triangles;
  const nv = P.length / 3;
  const nt = T.length / 3;
  const header = encoder.encode(
    ['ply', 'format binary_little_endian 1.0', 'comment physiotwin surface, LPS millimetres', `element vertex ${nv}`, 'property float x', 'property float y', 'property float z', `element face ${nt}`, 'property list uchar int vertex_indices', 'end_header', ''].join('\n'),
  );
  const out = new Uint8Array(header.length + 12 * nv + 13 * nt);
  out.set(header);
  const view = new DataView(out.buffer);
  let o = header.length;
  for (let i = 0; i < 3 * nv; i++, o += 4) view.setFloat32(o, P[i]!, true);
  for (let t = 0; t < nt; t++) {
    view.setUint8(o, 3);
    for (let c = 0; c < 3; c++) view.setInt32(o + 1 + 4 * c, T[3 * t + c]!, true);
    o += 13;
  }
  return out;
}

function base64(bytes: Uint8Array): string {
  let s = '';
  for (let i = 0; i < bytes.length; i += 0x8000) s += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  return btoa(s);
}

/** One inline binary DataArray: base64 of a UInt32 byte count followed by the raw little-endian values. */
function dataArray(type: string, name: string | undefined, components: number, values: Float32Array | Int32Array | Uint8Array): string {
  const raw = new Uint8Array(values.buffer, values.byteOffset, values.byteLength);
  const block = new Uint8Array(4 + raw.length);
  new DataView(block.buffer).setUint32(0, raw.length, true);
  block.set(raw, 4);
  const nameAttr = name ? ` Name="${name}"` : '';
  return `<DataArray type="${type}"${nameAttr} NumberOfComponents="${components}" format="binary">${base64(block)}</DataArray>`;
}

/**
 * VTK XML PolyData (.vtp, version 1.0, inline base64 binary with UInt32 headers, little-endian), as ParaView and
 * vtk.js read it. Point normals are written when present.
 */
export function writeVtp(mesh: SurfaceMesh): Uint8Array {
  validateSurfaceMesh(mesh);
  const nv = mesh.positions.length / 3;
  const nt = mesh.triangles.length / 3;
  const offsets = new Int32Array(nt);
  for (let t = 0; t < nt; t++) offsets[t] = 3 * (t + 1);
  const connectivity = Int32Array.from(mesh.triangles);
  const pointData = mesh.normals ? `<PointData Normals="Normals">${dataArray('Float32', 'Normals', 3, mesh.normals)}</PointData>` : '<PointData/>';
  const xml = [
    '<?xml version="1.0"?>',
    '<VTKFile type="PolyData" version="1.0" byte_order="LittleEndian" header_type="UInt32">',
    '<PolyData>',
    `<Piece NumberOfPoints="${nv}" NumberOfVerts="0" NumberOfLines="0" NumberOfStrips="0" NumberOfPolys="${nt}">`,
    pointData,
    `<Points>${dataArray('Float32', 'Points', 3, mesh.positions)}</Points>`,
    `<Polys>${dataArray('Int32', 'connectivity', 1, connectivity)}${dataArray('Int32', 'offsets', 1, offsets)}</Polys>`,
    '</Piece>',
    '</PolyData>',
    '</VTKFile>',
    '',
  ].join('\n');
  return encoder.encode(xml);
}

/** The format named by a file extension (.stl, .obj, .ply, .vtp). @throws PhysiotwinError `IO_UNSUPPORTED`. */
export function surfaceFormatFromPath(path: string): SurfaceFormat {
  const m = /\.(stl|obj|ply|vtp)$/i.exec(path);
  if (!m) throw new PhysiotwinError('IO_UNSUPPORTED', `surface files must end in .stl, .obj, .ply or .vtp, got '${path}'`, { location: { file: path } });
  return m[1]!.toLowerCase() as SurfaceFormat;
}

/** Encodes a surface in `format`. @throws PhysiotwinError `INVALID_ARGUMENT` for a malformed mesh. */
export function encodeSurface(mesh: SurfaceMesh, format: SurfaceFormat): Uint8Array {
  switch (format) {
    case 'stl':
      return writeStl(mesh);
    case 'obj':
      return writeObj(mesh);
    case 'ply':
      return writePly(mesh);
    case 'vtp':
      return writeVtp(mesh);
    default:
      throw new PhysiotwinError('IO_UNSUPPORTED', `unknown surface format ${JSON.stringify(format)}`);
  }
}
