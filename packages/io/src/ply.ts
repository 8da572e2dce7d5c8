import type { SurfaceMesh } from '@physiotwin/core';
import { PhysiotwinError, validateSurfaceMesh } from '@physiotwin/core';
import { optionalFile } from './binary.js';
import { triangulatedSurface } from './surface-build.js';
import type { ReadSurfaceOptions } from './vtp.js';

const encoder = new TextEncoder();

/**
 * Binary little-endian PLY: float x, y, z per vertex; a uchar-counted int list per face.
 * @throws PhysiotwinError `INVALID_ARGUMENT` for a malformed mesh.
 */
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

const SCALARS: Record<string, { bytes: number; read: (v: DataView, o: number, le: boolean) => number }> = {};
for (const [names, bytes, read] of [
  [['char', 'int8'], 1, (v: DataView, o: number) => v.getInt8(o)],
  [['uchar', 'uint8'], 1, (v: DataView, o: number) => v.getUint8(o)],
  [['short', 'int16'], 2, (v: DataView, o: number, le: boolean) => v.getInt16(o, le)],
  [['ushort', 'uint16'], 2, (v: DataView, o: number, le: boolean) => v.getUint16(o, le)],
  [['int', 'int32'], 4, (v: DataView, o: number, le: boolean) => v.getInt32(o, le)],
  [['uint', 'uint32'], 4, (v: DataView, o: number, le: boolean) => v.getUint32(o, le)],
  [['float', 'float32'], 4, (v: DataView, o: number, le: boolean) => v.getFloat32(o, le)],
  [['double', 'float64'], 8, (v: DataView, o: number, le: boolean) => v.getFloat64(o, le)],
] as const) {
  for (const n of names) SCALARS[n] = { bytes, read };
}

interface PlyProperty {
  name: string;
  type: string;
  /** The count type of a list property. */
  countType?: string | undefined;
}
interface PlyElement {
  name: string;
  count: number;
  properties: PlyProperty[];
}

/**
 * Reads a PLY file (ascii, binary_little_endian or binary_big_endian 1.0): vertex x, y, z (nx, ny, nz become
 * normals when all three are there) and face `vertex_indices` / `vertex_index` lists (polygons fan-triangulated).
 * Other elements and properties are skipped.
 * @throws PhysiotwinError `IO_INVALID` (no ply magic, a malformed header, an unknown type, a bad value or index),
 *   `IO_TRUNCATED` (data ends before the header's counts), `IO_UNSUPPORTED` (a format other than the three).
 * @example
 * ```ts
 * const mesh = readPly(bytes, { file: 'scan.ply' });
 * ```
 */
export function readPly(bytes: Uint8Array, options: ReadSurfaceOptions = {}): SurfaceMesh {
  const file = options.file;
  const location = optionalFile(file);
  const invalid = (message: string) => new PhysiotwinError('IO_INVALID', message, { location });
  const headText = new TextDecoder('latin1').decode(bytes.subarray(0, Math.min(bytes.length, 1 << 16)));
  const end = /end_header\r?\n/.exec(headText);
  if (!headText.startsWith('ply') || !end) throw invalid(headText.startsWith('ply') ? 'the PLY header has no end_header line' : 'not a PLY file (no "ply" magic)');
  const dataStart = end.index + end[0].length;
  let format = '';
  const elements: PlyElement[] = [];
  for (const raw of headText.slice(0, end.index).split(/\r?\n/).slice(1)) {
    const w = raw.trim().split(/\s+/);
    if (w[0] === 'format') format = w[1] ?? '';
    else if (w[0] === 'element') {
      const count = Number(w[2]);
      if (!Number.isInteger(count) || count < 0) throw invalid(`element ${w[1]} has count ${JSON.stringify(w[2])}`);
      elements.push({ name: w[1] ?? '', count, properties: [] });
    } else if (w[0] === 'property') {
      const element = elements[elements.length - 1];
      if (!element) throw invalid('a property before any element');
      const property = w[1] === 'list' ? { name: w[4] ?? '', type: w[3] ?? '', countType: w[2] } : { name: w[2] ?? '', type: w[1] ?? '' };
      for (const t of [property.type, property.countType]) if (t !== undefined && !SCALARS[t]) throw invalid(`unknown PLY type ${JSON.stringify(t)}`);
      element.properties.push(property);
    }
  }
  if (format !== 'ascii' && format !== 'binary_little_endian' && format !== 'binary_big_endian') {
    throw new PhysiotwinError('IO_UNSUPPORTED', `PLY format ${JSON.stringify(format)} is not ascii, binary_little_endian or binary_big_endian`, { location });
  }
  // One reader for both encodings: next(type) returns the next value.
  let next: (type: string) => number;
  if (format === 'ascii') {
    const tokens = new TextDecoder('latin1').decode(bytes.subarray(dataStart)).trim().split(/\s+/);
    let t = 0;
    next = () => {
      if (t >= tokens.length || tokens[t] === '') throw new PhysiotwinError('IO_TRUNCATED', 'the PLY data ends before the counts in its header', { location });
      const v = Number(tokens[t++]);
      if (Number.isNaN(v)) throw invalid(`${JSON.stringify(tokens[t - 1])} is not a number`);
      return v;
    };
  } else {
    const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    const le = format === 'binary_little_endian';
    let o = dataStart;
    next = (type) => {
      const s = SCALARS[type]!;
      if (o + s.bytes > bytes.length) throw new PhysiotwinError('IO_TRUNCATED', 'the PLY data ends before the counts in its header', { location });
      const v = s.read(view, o, le);
      o += s.bytes;
      return v;
    };
  }
  // Each value takes at least one byte (ascii: a digit; binary: its size): counts the data cannot hold are refused
  // before anything is allocated (a header may declare 2^31 vertices).
  const minBytes = elements.reduce((n, e) => n + e.count * e.properties.reduce((k, p) => k + (format === 'ascii' ? 1 : SCALARS[p.countType ?? p.type]!.bytes), 0), 0);
  if (minBytes > bytes.length - dataStart) {
    throw new PhysiotwinError('IO_TRUNCATED', `the PLY header's counts need at least ${minBytes} bytes of data, the file has ${bytes.length - dataStart}`, { location });
  }
  let positions = new Float32Array(0);
  let normals: Float32Array | undefined;
  const connectivity: number[] = [];
  const offsets: number[] = [];
  for (const element of elements) {
    const col = (name: string) => element.properties.findIndex((p) => p.name === name && !p.countType);
    const xyz = ['x', 'y', 'z'].map(col);
    const nxyz = ['nx', 'ny', 'nz'].map(col);
    const isVertex = element.name === 'vertex';
    if (isVertex) {
      if (xyz.some((c) => c < 0)) throw invalid('the vertex element lacks x, y or z');
      positions = new Float32Array(3 * element.count);
      if (nxyz.every((c) => c >= 0)) normals = new Float32Array(3 * element.count);
    }
    const listIndex = element.name === 'face' ? element.properties.findIndex((p) => p.countType && (p.name === 'vertex_indices' || p.name === 'vertex_index')) : -1;
    if (element.name === 'face' && listIndex < 0) throw invalid('the face element has no vertex_indices list');
    // An element without properties holds no data, whatever its count (1e20 of them looped for hours).
    if (element.properties.length === 0) continue;
    const values = new Float64Array(element.properties.length);
    for (let i = 0; i < element.count; i++) {
      element.properties.forEach((p, k) => {
        if (!p.countType) {
          values[k] = next(p.type);
          return;
        }
        const n = next(p.countType);
        if (!Number.isInteger(n) || n < 0) throw invalid(`${element.name} ${i}: list length ${n}`);
        for (let j = 0; j < n; j++) {
          const v = next(p.type);
          if (k === listIndex) connectivity.push(v);
        }
        if (k === listIndex) offsets.push(connectivity.length);
      });
      if (isVertex) {
        for (let d = 0; d < 3; d++) {
          const x = values[xyz[d]!]!;
          if (!Number.isFinite(x)) throw invalid(`vertex ${i}: coordinate ${d} is ${x}`);
          positions[3 * i + d] = x;
          if (normals) normals[3 * i + d] = values[nxyz[d]!]!;
        }
      }
    }
  }
  return triangulatedSurface(positions, { polygons: { connectivity, offsets } }, { normals }, file);
}
