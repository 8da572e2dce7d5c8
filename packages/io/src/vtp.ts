import type { DataArray, SurfaceMesh } from '@physiotwin/core';
import { PhysiotwinError, validateSurfaceMesh } from '@physiotwin/core';
import { optionalFile } from './binary.js';
import type { VtkArray, VtkXmlDocument, XmlElement } from './vtk-xml.js';
import { childNamed, inlineDataArray, parseVtkXml, readDataArray } from './vtk-xml.js';
import { triangulatedSurface } from './surface-build.js';

const encoder = new TextEncoder();

/**
 * VTK XML PolyData (.vtp, version 1.0, inline base64 binary with UInt32 headers, little-endian), as ParaView,
 * VTK and vtk.js read it. Point normals and named point/cell arrays are written when present.
 * @throws PhysiotwinError `INVALID_ARGUMENT` for a malformed mesh.
 */
export function writeVtp(mesh: SurfaceMesh): Uint8Array {
  validateSurfaceMesh(mesh);
  const nv = mesh.positions.length / 3;
  const nt = mesh.triangles.length / 3;
  const offsets = new Int32Array(nt);
  for (let t = 0; t < nt; t++) offsets[t] = 3 * (t + 1);
  const arrays = (data: Record<string, DataArray> | undefined) => Object.entries(data ?? {}).map(([name, a]) => inlineDataArray(name, a.components, a.values));
  const pointArrays = [...(mesh.normals ? [inlineDataArray('Normals', 3, mesh.normals)] : []), ...arrays(mesh.pointData)];
  const cellArrays = arrays(mesh.cellData);
  const xml = [
    '<?xml version="1.0"?>',
    '<VTKFile type="PolyData" version="1.0" byte_order="LittleEndian" header_type="UInt32">',
    '<PolyData>',
    `<Piece NumberOfPoints="${nv}" NumberOfVerts="0" NumberOfLines="0" NumberOfStrips="0" NumberOfPolys="${nt}">`,
    pointArrays.length ? `<PointData${mesh.normals ? ' Normals="Normals"' : ''}>${pointArrays.join('')}</PointData>` : '<PointData/>',
    cellArrays.length ? `<CellData>${cellArrays.join('')}</CellData>` : '<CellData/>',
    `<Points>${inlineDataArray('Points', 3, mesh.positions)}</Points>`,
    `<Polys>${inlineDataArray('connectivity', 1, Int32Array.from(mesh.triangles))}${inlineDataArray('offsets', 1, offsets)}</Polys>`,
    '</Piece>',
    '</PolyData>',
    '</VTKFile>',
    '',
  ].join('\n');
  return encoder.encode(xml);
}

/** Options of {@link readVtp} and the other surface readers. */
export interface ReadSurfaceOptions {
  /** Names the file in error messages. */
  file?: string | undefined;
}

function count(e: XmlElement, attribute: string, file: string | undefined): number {
  const raw = e.attributes[attribute] ?? '0';
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 0) throw new PhysiotwinError('IO_INVALID', `Piece ${attribute} ${JSON.stringify(raw)} is not an integer >= 0`, { location: optionalFile(file) });
  return n;
}

function cellArray(doc: VtkXmlDocument, e: XmlElement | undefined, cells: number): { connectivity: VtkArray; offsets: VtkArray } | undefined {
  if (!e || cells === 0) return undefined;
  const named = (n: string) => e.children.find((c) => c.name === 'DataArray' && c.attributes.Name === n);
  const off = named('offsets');
  const conn = named('connectivity');
  if (!off || !conn) throw new PhysiotwinError('IO_INVALID', `<${e.name}> needs DataArrays named connectivity and offsets`, { location: optionalFile(doc.file) });
  const offsets = readDataArray(doc, off, cells);
  const connectivity = readDataArray(doc, conn, cells === 0 ? 0 : offsets[cells - 1]!);
  return { connectivity, offsets };
}

function attributeArrays(doc: VtkXmlDocument, e: XmlElement | undefined, tuples: number): Record<string, DataArray> {
  const out: Record<string, DataArray> = {};
  for (const c of e?.children ?? []) {
    if (c.name !== 'DataArray') continue;
    const components = Number(c.attributes.NumberOfComponents ?? '1');
    if (!Number.isInteger(components) || components < 1) {
      throw new PhysiotwinError('IO_INVALID', `DataArray ${c.attributes.Name}: NumberOfComponents ${JSON.stringify(c.attributes.NumberOfComponents)}`, { location: optionalFile(doc.file) });
    }
    const values = readDataArray(doc, c, tuples * components);
    const kept = values instanceof Float32Array || values instanceof Float64Array || values instanceof Int32Array || values instanceof Uint32Array || values instanceof Uint8Array ? values : Float64Array.from(values);
    out[c.attributes.Name ?? `array${Object.keys(out).length}`] = { values: kept, components };
  }
  return out;
}

/**
 * Reads a VTK XML PolyData file (.vtp) as written by VTK, ParaView, VMTK, 3D Slicer or {@link writeVtp}: ascii,
 * inline base64 or appended (raw or base64) data, zlib-compressed or not, UInt32 or UInt64 headers, either byte
 * order. Polygons are fan-triangulated and triangle strips split (cell arrays repeated per triangle); point and
 * cell arrays are kept, `Normals` (3 components) becomes `normals`. Positions are converted to f32 (millimetres
 * as stored). One Piece is read.
 * @throws PhysiotwinError `IO_INVALID` (malformed XML or arrays, not PolyData, indices out of range),
 *   `IO_TRUNCATED`, `IO_UNSUPPORTED` (vertices or lines, which are not a surface; several pieces; a compressor
 *   other than zlib).
 * @example
 * ```ts
 * const mesh = readVtp(bytes, { file: 'aorta.vtp' });
 * ```
 */
export function readVtp(bytes: Uint8Array, options: ReadSurfaceOptions = {}): SurfaceMesh {
  const file = options.file;
  const doc = parseVtkXml(bytes, file);
  const location = optionalFile(file);
  if (doc.root.attributes.type !== 'PolyData') throw new PhysiotwinError('IO_INVALID', `VTKFile type is ${JSON.stringify(doc.root.attributes.type)}, not PolyData`, { location });
  const poly = childNamed(doc.root, 'PolyData');
  const pieces = poly?.children.filter((c) => c.name === 'Piece') ?? [];
  if (pieces.length !== 1) throw new PhysiotwinError(pieces.length === 0 ? 'IO_INVALID' : 'IO_UNSUPPORTED', `the file has ${pieces.length} pieces; one is read`, { location });
  const piece = pieces[0]!;
  const points = count(piece, 'NumberOfPoints', file);
  for (const kind of ['Verts', 'Lines'] as const) {
    if (count(piece, `NumberOf${kind}`, file) > 0) {
      throw new PhysiotwinError('IO_UNSUPPORTED', `the file has ${piece.attributes[`NumberOf${kind}`]} ${kind.toLowerCase()}: a surface reader reads polygons and strips`, { location });
    }
  }
  const pointsArray = childNamed(piece, 'Points')?.children.find((c) => c.name === 'DataArray');
  if (points > 0 && !pointsArray) throw new PhysiotwinError('IO_INVALID', 'Piece has no <Points> DataArray', { location });
  const positions = pointsArray ? Float32Array.from(readDataArray(doc, pointsArray, 3 * points)) : new Float32Array(0);
  const polys = cellArray(doc, childNamed(piece, 'Polys'), count(piece, 'NumberOfPolys', file));
  const strips = cellArray(doc, childNamed(piece, 'Strips'), count(piece, 'NumberOfStrips', file));
  const pointData = attributeArrays(doc, childNamed(piece, 'PointData'), points);
  const cellData = attributeArrays(doc, childNamed(piece, 'CellData'), (polys?.offsets.length ?? 0) + (strips?.offsets.length ?? 0));
  let normals: Float32Array | undefined;
  const n = pointData.Normals;
  if (n && n.components === 3) {
    normals = Float32Array.from(n.values);
    delete pointData.Normals;
  }
  return triangulatedSurface(positions, { polygons: polys, strips }, { normals, pointData, cellData }, file);
}
