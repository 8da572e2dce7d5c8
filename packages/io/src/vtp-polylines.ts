import type { DataArray, Polylines } from '@physiotwin/core';
import { PhysiotwinError, validatePolylines } from '@physiotwin/core';

const VTK_TYPES = new Map<Function, string>([
  [Float32Array, 'Float32'],
  [Float64Array, 'Float64'],
  [Int32Array, 'Int32'],
  [Uint32Array, 'UInt32'],
  [Uint8Array, 'UInt8'],
]);

function base64(bytes: Uint8Array): string {
  let s = '';
  for (let i = 0; i < bytes.length; i += 0x8000) s += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  return btoa(s);
}

function escapeXml(text: string): string {
  return text.replace(/[<>&"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

/** One inline binary DataArray: base64 of a UInt32 byte count followed by the raw little-endian values. */
function dataArray(name: string, a: DataArray): string {
  const type = VTK_TYPES.get(a.values.constructor);
  if (!type) throw new PhysiotwinError('INVALID_ARGUMENT', `array '${name}' has unsupported type ${a.values.constructor.name}`);
  const raw = new Uint8Array(a.values.buffer, a.values.byteOffset, a.values.byteLength);
  const block = new Uint8Array(4 + raw.length);
  new DataView(block.buffer).setUint32(0, raw.length, true);
  block.set(raw, 4);
  return `<DataArray type="${type}" Name="${escapeXml(name)}" NumberOfComponents="${a.components}" format="binary">${base64(block)}</DataArray>`;
}

function section(tag: string, arrays: Record<string, DataArray> | undefined): string {
  const entries = Object.entries(arrays ?? {});
  if (entries.length === 0) return `<${tag}/>`;
  return `<${tag}>${entries.map(([name, a]) => dataArray(name, a)).join('')}</${tag}>`;
}

/**
 * VTK XML PolyData (.vtp, version 1.0, inline base64 binary with UInt32 headers, little-endian) holding polylines
 * (`Lines` cells) with their point and cell arrays, as ParaView, VTK and vtk.js read it. The host must be
 * little-endian (every platform Node and browsers run on).
 * @throws PhysiotwinError `INVALID_ARGUMENT` for malformed polylines or an array of an unsupported type.
 * @example
 * ```ts
 * const bytes = writeVtpPolylines({ positions: Float32Array.of(0, 0, 0, 1, 0, 0), connectivity: Uint32Array.of(0, 1), offsets: Uint32Array.of(2) });
 * ```
 */
export function writeVtpPolylines(lines: Polylines): Uint8Array {
  validatePolylines(lines);
  const np = lines.positions.length / 3;
  const nl = lines.offsets.length;
  const xml = [
    '<?xml version="1.0"?>',
    '<VTKFile type="PolyData" version="1.0" byte_order="LittleEndian" header_type="UInt32">',
    '<PolyData>',
    `<Piece NumberOfPoints="${np}" NumberOfVerts="0" NumberOfLines="${nl}" NumberOfStrips="0" NumberOfPolys="0">`,
    section('PointData', lines.pointData),
    section('CellData', lines.cellData),
    `<Points>${dataArray('Points', { values: lines.positions, components: 3 })}</Points>`,
    `<Lines>${dataArray('connectivity', { values: Int32Array.from(lines.connectivity), components: 1 })}${dataArray('offsets', { values: Int32Array.from(lines.offsets), components: 1 })}</Lines>`,
    '</Piece>',
    '</PolyData>',
    '</VTKFile>',
    '',
  ].join('\n');
  return new TextEncoder().encode(xml);
}
