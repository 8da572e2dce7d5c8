import { unzlibSync, zlibSync } from 'fflate';
import { PhysiotwinError, validateTetMesh } from '@physiotwin/core';
import type { DataArray, TetMesh } from '@physiotwin/core';
import { DEFLATE_MAX_RATIO, HOST_LITTLE_ENDIAN, concatBytes, optionalFile } from './binary.js';

// VTK XML UnstructuredGrid (.vtu) for tetrahedral meshes. Reads every encoding VTK writes (ascii, inline base64
// binary, appended raw or base64, each with or without zlib compression, UInt32 or UInt64 headers); writes all of
// them. T4 is VTK_TETRA (10), T10 is VTK_QUADRATIC_TETRA (24): corners 0-3 then the mid-edge nodes of edges
// (0,1) (1,2) (0,2) (0,3) (1,3) (2,3), which is TetMesh's own node order. Boundary faces travel as VTK_TRIANGLE
// (5) cells after the tets; the cell array `region` holds a tet's region and a face's boundary label.

const VTK_TRIANGLE = 5;
const VTK_TETRA = 10;
const VTK_QUADRATIC_TRIANGLE = 22;
const VTK_QUADRATIC_TETRA = 24;
/** 0D and 1D cells a .vtu may carry beside the tets (vertices, lines, poly-lines, quadratic edges): skipped. */
const IGNORED_CELLS = new Set([1, 2, 3, 4, 21]);
/** VTK's default compression block size (vtkDataCompressor BlockSize), bytes. */
const BLOCK_SIZE = 32768;
/** Name of the cell array that holds tet regions and face labels. */
const REGION_ARRAY = 'region';

type VtkType = 'Int8' | 'UInt8' | 'Int16' | 'UInt16' | 'Int32' | 'UInt32' | 'Int64' | 'UInt64' | 'Float32' | 'Float64';
const TYPE_BYTES: Readonly<Record<VtkType, number>> = {
  Int8: 1, UInt8: 1, Int16: 2, UInt16: 2, Int32: 4, UInt32: 4, Int64: 8, UInt64: 8, Float32: 4, Float64: 8,
};

/** How {@link writeVtu} encodes its arrays. */
export interface WriteVtuOptions {
  /**
   * 'ascii' (text), 'binary' (inline base64) or 'appended' (raw bytes in an AppendedData section).
   * @default 'binary'
   */
  format?: 'ascii' | 'binary' | 'appended';
  /** zlib-compress binary and appended arrays (vtkZLibDataCompressor). Ignored for ascii. @default true */
  compress?: boolean;
  /**
   * Write the mesh's boundary faces as triangle cells after the tets (their `region` value is the face label;
   * other cell arrays hold 0 for them). Off: tets only, so cell arrays have one value per tet.
   * @default true
   */
  faces?: boolean;
}

/** Options of {@link readVtu}. */
export interface ReadVtuOptions {
  /** File name for error messages. */
  file?: string;
}

interface XmlElement {
  name: string;
  attrs: Record<string, string>;
  children: XmlElement[];
  text: string;
}

const TOKEN = /<!--[\s\S]*?-->|<\?[\s\S]*?\?>|<!DOCTYPE[^>]*>|<(\/?)([A-Za-z_][\w:.-]*)((?:\s+[\w:.-]+\s*=\s*(?:"[^"]*"|'[^']*'))*)\s*(\/?)>/g;
const ATTR = /([\w:.-]+)\s*=\s*(?:"([^"]*)"|'([^']*)')/g;

/** A minimal XML tree builder: elements, attributes and text; enough for VTK's XML files. */
function parseXml(text: string, file: string | undefined): XmlElement {
  const root: XmlElement = { name: '#root', attrs: {}, children: [], text: '' };
  const stack: XmlElement[] = [root];
  let last = 0;
  TOKEN.lastIndex = 0;
  for (let m = TOKEN.exec(text); m; m = TOKEN.exec(text)) {
    const top = stack[stack.length - 1]!;
    top.text += text.slice(last, m.index);
    last = TOKEN.lastIndex;
    if (m[2] === undefined) continue;
    if (m[1]) {
      if (top.name !== m[2] || stack.length === 1) {
        throw new PhysiotwinError('IO_INVALID', `XML closing tag </${m[2]}> does not match <${top.name}>`, { location: optionalFile(file) });
      }
      stack.pop();
      continue;
    }
    const el: XmlElement = { name: m[2], attrs: {}, children: [], text: '' };
    ATTR.lastIndex = 0;
    for (let a = ATTR.exec(m[3] ?? ''); a; a = ATTR.exec(m[3] ?? '')) el.attrs[a[1]!] = a[2] ?? a[3] ?? '';
    top.children.push(el);
    if (!m[4]) stack.push(el);
  }
  return root;
}

function child(el: XmlElement, name: string): XmlElement | undefined {
  return el.children.find((c) => c.name === name);
}

const B64 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';
const B64_INDEX = (() => {
  const t = new Int16Array(128).fill(-1);
  for (let i = 0; i < 64; i++) t[B64.charCodeAt(i)] = i;
  return t;
})();

/** Standard base64 with padding. */
function base64Encode(bytes: Uint8Array): string {
  const parts: string[] = [];
  let chunk = '';
  for (let i = 0; i < bytes.length; i += 3) {
    const a = bytes[i]!;
    const b = i + 1 < bytes.length ? bytes[i + 1]! : 0;
    const c = i + 2 < bytes.length ? bytes[i + 2]! : 0;
    chunk += B64[a >> 2]! + B64[((a & 3) << 4) | (b >> 4)]!;
    chunk += i + 1 < bytes.length ? B64[((b & 15) << 2) | (c >> 6)]! : '=';
    chunk += i + 2 < bytes.length ? B64[c & 63]! : '=';
    if (chunk.length >= 8192) {
      parts.push(chunk);
      chunk = '';
    }
  }
  parts.push(chunk);
  return parts.join('');
}

/**
 * Decodes base64 text that may be several padded streams one after the other (VTK encodes a compressed array's
 * header and its data separately): each quad with padding ends a stream, and decoding restarts after it.
 * Whitespace is skipped.
 */
function base64Decode(text: string, file: string | undefined): Uint8Array {
  const out = new Uint8Array(Math.floor((text.length * 3) / 4) + 3);
  let n = 0;
  const quad = [0, 0, 0, 0];
  let q = 0;
  let pad = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === 32 || c === 10 || c === 13 || c === 9) continue;
    if (c === 61) {
      pad++;
      quad[q++] = 0;
    } else {
      const v = c < 128 ? B64_INDEX[c]! : -1;
      if (v < 0 || pad > 0) throw new PhysiotwinError('IO_INVALID', `invalid base64 character '${text[i]}' in a DataArray`, { location: optionalFile(file) });
      quad[q++] = v;
    }
    if (q === 4) {
      const bits = (quad[0]! << 18) | (quad[1]! << 12) | (quad[2]! << 6) | quad[3]!;
      out[n++] = (bits >> 16) & 255;
      if (pad < 2) out[n++] = (bits >> 8) & 255;
      if (pad < 1) out[n++] = bits & 255;
      q = 0;
      pad = 0;
    }
  }
  if (q !== 0) throw new PhysiotwinError('IO_TRUNCATED', 'base64 DataArray ends inside a 4-character group', { location: optionalFile(file) });
  return out.subarray(0, n);
}

type Numeric = Int8Array | Uint8Array | Int16Array | Uint16Array | Int32Array | Uint32Array | Float32Array | Float64Array;

/** Little-endian bytes of `count` values of `type` as plain numbers (64-bit integers converted, checked exact). */
function bytesToNumbers(bytes: Uint8Array, type: VtkType, count: number, littleEndian: boolean, file: string | undefined): Numeric {
  const size = TYPE_BYTES[type];
  if (bytes.length < count * size) {
    throw new PhysiotwinError('IO_TRUNCATED', `DataArray holds ${bytes.length} bytes, ${count * size} needed for ${count} ${type}`, { location: optionalFile(file) });
  }
  const copy = new Uint8Array(count * size);
  copy.set(bytes.subarray(0, count * size));
  if (littleEndian !== HOST_LITTLE_ENDIAN && size > 1) {
    for (let e = 0; e < copy.length; e += size) copy.subarray(e, e + size).reverse();
  }
  const buf = copy.buffer;
  switch (type) {
    case 'Int8': return new Int8Array(buf);
    case 'UInt8': return new Uint8Array(buf);
    case 'Int16': return new Int16Array(buf);
    case 'UInt16': return new Uint16Array(buf);
    case 'Int32': return new Int32Array(buf);
    case 'UInt32': return new Uint32Array(buf);
    case 'Float32': return new Float32Array(buf);
    case 'Float64': return new Float64Array(buf);
    case 'Int64':
    case 'UInt64': {
      const big = type === 'Int64' ? new BigInt64Array(buf) : new BigUint64Array(buf);
      const out = new Float64Array(count);
      for (let i = 0; i < count; i++) {
        const v = Number(big[i]!);
        if (!Number.isSafeInteger(v)) throw new PhysiotwinError('IO_UNSUPPORTED', `${type} value ${big[i]} does not fit a double exactly`, { location: optionalFile(file) });
        out[i] = v;
      }
      return out;
    }
  }
}

interface Layout {
  littleEndian: boolean;
  /** Bytes of one header integer (UInt32 or UInt64). */
  headerBytes: 4 | 8;
  compressed: boolean;
  file: string | undefined;
}

function readHeaderInts(bytes: Uint8Array, at: number, count: number, layout: Layout): number[] {
  const need = at + count * layout.headerBytes;
  if (bytes.length < need) throw new PhysiotwinError('IO_TRUNCATED', `binary DataArray header needs ${need} bytes, has ${bytes.length}`, { location: optionalFile(layout.file) });
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const out: number[] = [];
  for (let i = 0; i < count; i++) {
    const p = at + i * layout.headerBytes;
    out.push(layout.headerBytes === 4 ? view.getUint32(p, layout.littleEndian) : Number(view.getBigUint64(p, layout.littleEndian)));
  }
  return out;
}

/**
 * The payload of one binary block (header + data) starting at `bytes[0]`: for uncompressed data the header is the
 * byte count; compressed data has [blocks, blockSize, lastBlockSize, compressedSize...] then the zlib blocks.
 */
function unpackBlock(bytes: Uint8Array, layout: Layout): Uint8Array {
  const h = layout.headerBytes;
  if (!layout.compressed) {
    const [size] = readHeaderInts(bytes, 0, 1, layout);
    if (bytes.length < h + size!) throw new PhysiotwinError('IO_TRUNCATED', `binary DataArray declares ${size} bytes, ${bytes.length - h} present`, { location: optionalFile(layout.file) });
    return bytes.subarray(h, h + size!);
  }
  const [blocks, blockSize, lastSize] = readHeaderInts(bytes, 0, 3, layout) as [number, number, number];
  if (blocks > bytes.length) throw new PhysiotwinError('IO_INVALID', `compressed DataArray declares ${blocks} blocks in ${bytes.length} bytes`, { location: optionalFile(layout.file) });
  const sizes = readHeaderInts(bytes, 3 * h, blocks, layout);
  const parts: Uint8Array[] = [];
  let at = (3 + blocks) * h;
  for (let b = 0; b < blocks; b++) {
    const cs = sizes[b]!;
    if (at + cs > bytes.length) throw new PhysiotwinError('IO_TRUNCATED', `compressed block ${b} of a DataArray ends past the data`, { location: optionalFile(layout.file) });
    const expected = b === blocks - 1 && lastSize !== 0 ? lastSize : blockSize;
    // Deflate expands at most 1032:1 (plus zlib's 6-byte frame): a larger declared size is refused before the
    // output buffer is allocated (a hostile header could otherwise ask for 2^64 bytes).
    if (expected > DEFLATE_MAX_RATIO * cs) {
      throw new PhysiotwinError('IO_INVALID', `compressed block ${b} of a DataArray declares ${expected} bytes from ${cs} compressed bytes (deflate expands at most ${DEFLATE_MAX_RATIO}:1)`, { location: optionalFile(layout.file) });
    }
    let raw: Uint8Array;
    try {
      raw = unzlibSync(bytes.subarray(at, at + cs), { out: new Uint8Array(expected) });
    } catch (e) {
      throw new PhysiotwinError('IO_INVALID', `compressed block ${b} of a DataArray is corrupt: ${(e as Error).message}`, { location: optionalFile(layout.file), cause: e });
    }
    if (raw.length !== expected) throw new PhysiotwinError('IO_INVALID', `compressed block ${b} inflates to ${raw.length} bytes, header says ${expected}`, { location: optionalFile(layout.file) });
    parts.push(raw);
    at += cs;
  }
  return concatBytes(parts);
}

interface Appended {
  /** Raw bytes after the '_' marker, or the base64 text when the section is base64-encoded. */
  raw?: Uint8Array;
  text?: string;
  /** Sorted array offsets, to find where a base64 array ends. */
  offsets: number[];
}

function readDataArray(el: XmlElement, count: number, components: number, layout: Layout, appended: Appended | undefined): Numeric {
  const file = layout.file;
  const type = el.attrs.type as VtkType;
  if (!(type in TYPE_BYTES)) throw new PhysiotwinError('IO_UNSUPPORTED', `DataArray type '${el.attrs.type}' is not supported`, { location: optionalFile(file) });
  const n = count * components;
  if (!Number.isSafeInteger(n) || n < 0) throw new PhysiotwinError('IO_INVALID', `DataArray '${el.attrs.Name ?? ''}': ${n} values expected (a count or offset in the file is invalid)`, { location: optionalFile(file) });
  const format = el.attrs.format ?? 'ascii';
  if (format === 'ascii') {
    const words = el.text.trim().split(/\s+/).filter((w) => w.length > 0);
    if (words.length < n) throw new PhysiotwinError('IO_TRUNCATED', `ascii DataArray '${el.attrs.Name ?? ''}' has ${words.length} values, ${n} needed`, { location: optionalFile(file) });
    const out = type === 'Float32' ? new Float32Array(n) : type === 'Float64' || type === 'Int64' || type === 'UInt64' ? new Float64Array(n) : new Int32Array(n);
    for (let i = 0; i < n; i++) {
      const v = Number(words[i]);
      if (Number.isNaN(v) && !/^nan$/i.test(words[i]!)) throw new PhysiotwinError('IO_INVALID', `'${words[i]}' is not a number in DataArray '${el.attrs.Name ?? ''}'`, { location: optionalFile(file) });
      out[i] = v;
    }
    return out;
  }
  let payload: Uint8Array;
  if (format === 'binary') {
    payload = unpackBlock(base64Decode(el.text, file), layout);
  } else if (format === 'appended') {
    if (!appended) throw new PhysiotwinError('IO_INVALID', 'DataArray is appended but the file has no AppendedData', { location: optionalFile(file) });
    const offset = Number(el.attrs.offset ?? 'NaN');
    if (!Number.isInteger(offset) || offset < 0) throw new PhysiotwinError('IO_INVALID', `appended DataArray offset '${el.attrs.offset}' is invalid`, { location: optionalFile(file) });
    if (appended.raw) {
      if (offset >= appended.raw.length) throw new PhysiotwinError('IO_TRUNCATED', `appended DataArray offset ${offset} is past the data`, { location: optionalFile(file) });
      payload = unpackBlock(appended.raw.subarray(offset), layout);
    } else {
      const next = appended.offsets.find((o) => o > offset) ?? appended.text!.length;
      payload = unpackBlock(base64Decode(appended.text!.slice(offset, next), file), layout);
    }
  } else {
    throw new PhysiotwinError('IO_UNSUPPORTED', `DataArray format '${format}' is not supported`, { location: optionalFile(file) });
  }
  return bytesToNumbers(payload, type, n, layout.littleEndian, file);
}

/** A number array as one of the typed arrays a core DataArray allows. */
function toCoreValues(a: Numeric): DataArray['values'] {
  if (a instanceof Float32Array || a instanceof Float64Array || a instanceof Int32Array || a instanceof Uint32Array || a instanceof Uint8Array) return a;
  return Int32Array.from(a);
}

function findBytes(hay: Uint8Array, needle: string, from = 0): number {
  const n = new TextEncoder().encode(needle);
  outer: for (let i = from; i + n.length <= hay.length; i++) {
    for (let j = 0; j < n.length; j++) if (hay[i + j] !== n[j]) continue outer;
    return i;
  }
  return -1;
}

/**
 * Reads a VTK XML UnstructuredGrid (.vtu) holding tetrahedra: linear (VTK_TETRA) or quadratic
 * (VTK_QUADRATIC_TETRA, VTK node order), in any encoding VTK writes. Triangle cells become boundary faces
 * (labelled by the cell array `region` when present); the cell array `region` of the tets becomes
 * `mesh.regions`; other point and cell arrays (tet rows only) become `pointData` / `cellData`. Vertex and line
 * cells are skipped.
 * @example
 * ```ts
 * const mesh = readVtu(await readFile('cube.vtu'));
 * ```
 * @throws PhysiotwinError `IO_INVALID` (not a .vtu, malformed XML or data), `IO_TRUNCATED` (data cut short),
 *   `IO_UNSUPPORTED` (other 3D cell types, mixed T4/T10, several pieces, a compressor other than zlib).
 */
export function readVtu(bytes: Uint8Array, options: ReadVtuOptions = {}): TetMesh {
  const file = options.file;
  const appendedAt = findBytes(bytes, '<AppendedData');
  const head = new TextDecoder().decode(appendedAt >= 0 ? bytes.subarray(0, appendedAt) : bytes);
  const root = parseXml(head, file);
  const vtk = child(root, 'VTKFile');
  if (!vtk || vtk.attrs.type !== 'UnstructuredGrid') {
    throw new PhysiotwinError('IO_INVALID', 'not a VTK XML UnstructuredGrid file (no <VTKFile type="UnstructuredGrid">)', { location: optionalFile(file) });
  }
  const compressor = vtk.attrs.compressor;
  if (compressor !== undefined && compressor !== '' && compressor !== 'vtkZLibDataCompressor') {
    throw new PhysiotwinError('IO_UNSUPPORTED', `compressor '${compressor}' is not supported (only vtkZLibDataCompressor)`, { location: optionalFile(file) });
  }
  const headerType = vtk.attrs.header_type ?? 'UInt32';
  if (headerType !== 'UInt32' && headerType !== 'UInt64') throw new PhysiotwinError('IO_UNSUPPORTED', `header_type '${headerType}'`, { location: optionalFile(file) });
  const layout: Layout = {
    littleEndian: (vtk.attrs.byte_order ?? 'LittleEndian') !== 'BigEndian',
    headerBytes: headerType === 'UInt64' ? 8 : 4,
    compressed: compressor === 'vtkZLibDataCompressor',
    file,
  };
  const grid = child(vtk, 'UnstructuredGrid');
  const pieces = grid?.children.filter((c) => c.name === 'Piece') ?? [];
  if (pieces.length !== 1) throw new PhysiotwinError(pieces.length === 0 ? 'IO_INVALID' : 'IO_UNSUPPORTED', `expected one <Piece>, found ${pieces.length}`, { location: optionalFile(file) });
  const piece = pieces[0]!;

  let appended: Appended | undefined;
  if (appendedAt >= 0) {
    const close = bytes.indexOf(62 /* '>' */, appendedAt);
    const underscore = bytes.indexOf(95 /* '_' */, close);
    if (close < 0 || underscore < 0) throw new PhysiotwinError('IO_TRUNCATED', 'AppendedData has no "_" marker', { location: optionalFile(file) });
    const tag = new TextDecoder().decode(bytes.subarray(appendedAt, close + 1));
    const encoding = /encoding\s*=\s*"([^"]*)"/.exec(tag)?.[1] ?? 'raw';
    const offsets = collectOffsets(piece).sort((a, b) => a - b);
    if (encoding === 'raw') appended = { raw: bytes.subarray(underscore + 1), offsets };
    else if (encoding === 'base64') {
      const end = findBytes(bytes, '</AppendedData>', underscore);
      appended = { text: new TextDecoder().decode(bytes.subarray(underscore + 1, end < 0 ? bytes.length : end)), offsets };
    } else throw new PhysiotwinError('IO_UNSUPPORTED', `AppendedData encoding '${encoding}'`, { location: optionalFile(file) });
  }

  const nPoints = Number(piece.attrs.NumberOfPoints);
  const nCells = Number(piece.attrs.NumberOfCells);
  if (!Number.isSafeInteger(nPoints) || nPoints < 0 || !Number.isSafeInteger(nCells) || nCells < 0) {
    throw new PhysiotwinError('IO_INVALID', `Piece NumberOfPoints/NumberOfCells '${piece.attrs.NumberOfPoints}'/'${piece.attrs.NumberOfCells}' invalid`, { location: optionalFile(file) });
  }
  const pointsEl = child(piece, 'Points')?.children.find((c) => c.name === 'DataArray');
  if (!pointsEl) throw new PhysiotwinError('IO_INVALID', 'Piece has no <Points> DataArray', { location: optionalFile(file) });
  const positions = Float64Array.from(readDataArray(pointsEl, nPoints, 3, layout, appended));
  for (let i = 0; i < positions.length; i++) {
    if (!Number.isFinite(positions[i])) throw new PhysiotwinError('IO_INVALID', `point ${Math.floor(i / 3)} has a non-finite coordinate ${positions[i]}`, { location: optionalFile(file) });
  }
  const cellsEl = child(piece, 'Cells');
  const cellArray = (name: string) => {
    const el = cellsEl?.children.find((c) => c.name === 'DataArray' && c.attrs.Name === name);
    if (!el) throw new PhysiotwinError('IO_INVALID', `<Cells> has no '${name}' DataArray`, { location: optionalFile(file) });
    return el;
  };
  const types = readDataArray(cellArray('types'), nCells, 1, layout, appended);
  const offsets = readDataArray(cellArray('offsets'), nCells, 1, layout, appended);
  // Offsets never decrease and start at >= 0, so every cell's nodes lie within the connectivity read below.
  for (let c = 0; c < nCells; c++) {
    if (!(Number.isSafeInteger(offsets[c]) && offsets[c]! >= (c === 0 ? 0 : offsets[c - 1]!))) {
      throw new PhysiotwinError('IO_INVALID', `cell ${c} has offset ${offsets[c]} (offsets must be integers that never decrease)`, { location: optionalFile(file) });
    }
  }
  const connLength = nCells === 0 ? 0 : offsets[nCells - 1]!;
  const connectivity = readDataArray(cellArray('connectivity'), connLength, 1, layout, appended);

  let nodesPerTet: 4 | 10 | undefined;
  const tetCells: number[] = [];
  const faceCells: number[] = [];
  for (let c = 0; c < nCells; c++) {
    const t = types[c]!;
    const size = offsets[c]! - (c === 0 ? 0 : offsets[c - 1]!);
    if (t === VTK_TETRA || t === VTK_QUADRATIC_TETRA) {
      const k = t === VTK_TETRA ? 4 : 10;
      if (nodesPerTet !== undefined && nodesPerTet !== k) throw new PhysiotwinError('IO_UNSUPPORTED', 'the file mixes linear and quadratic tetrahedra', { location: optionalFile(file) });
      if (size !== k) throw new PhysiotwinError('IO_INVALID', `cell ${c} is a ${k}-node tetrahedron with ${size} nodes`, { location: optionalFile(file) });
      nodesPerTet = k;
      tetCells.push(c);
    } else if (t === VTK_TRIANGLE || t === VTK_QUADRATIC_TRIANGLE) {
      if (size !== (t === VTK_TRIANGLE ? 3 : 6)) throw new PhysiotwinError('IO_INVALID', `cell ${c} is a triangle with ${size} nodes`, { location: optionalFile(file) });
      faceCells.push(c);
    } else if (!IGNORED_CELLS.has(t)) {
      throw new PhysiotwinError('IO_UNSUPPORTED', `cell ${c} has VTK type ${t}; only tetrahedra (10, 24), triangles (5, 22), vertices and lines are read`, { location: optionalFile(file) });
    }
  }
  if (nodesPerTet === undefined) throw new PhysiotwinError('IO_UNSUPPORTED', 'the file holds no tetrahedra', { location: optionalFile(file) });
  const tets = new Uint32Array(tetCells.length * nodesPerTet);
  tetCells.forEach((c, i) => {
    const start = c === 0 ? 0 : offsets[c - 1]!;
    for (let k = 0; k < nodesPerTet!; k++) tets[i * nodesPerTet! + k] = connectivity[start + k]!;
  });

  const readSection = (name: 'PointData' | 'CellData', count: number) => {
    const out: Record<string, DataArray> = {};
    for (const el of child(piece, name)?.children ?? []) {
      if (el.name !== 'DataArray') continue;
      const components = Number(el.attrs.NumberOfComponents ?? '1');
      if (!Number.isInteger(components) || components < 1) throw new PhysiotwinError('IO_INVALID', `DataArray '${el.attrs.Name}' NumberOfComponents '${el.attrs.NumberOfComponents}'`, { location: optionalFile(file) });
      out[el.attrs.Name ?? `array${Object.keys(out).length}`] = { values: toCoreValues(readDataArray(el, count, components, layout, appended)), components };
    }
    return out;
  };
  const pointData = readSection('PointData', nPoints);
  const allCellData = readSection('CellData', nCells);
  const pick = (a: DataArray, rows: number[]): DataArray => {
    const Ctor = a.values.constructor as new (n: number) => DataArray['values'];
    const v = new Ctor(rows.length * a.components);
    rows.forEach((c, i) => {
      for (let k = 0; k < a.components; k++) v[i * a.components + k] = a.values[c * a.components + k]!;
    });
    return { values: v, components: a.components };
  };
  const cellData: Record<string, DataArray> = {};
  let regions: Int32Array | undefined;
  let boundaryLabels: Int32Array | undefined;
  for (const [name, a] of Object.entries(allCellData)) {
    if (name === REGION_ARRAY && a.components === 1) {
      regions = Int32Array.from(pick(a, tetCells).values);
      if (faceCells.length > 0) boundaryLabels = Int32Array.from(pick(a, faceCells).values);
    } else {
      cellData[name] = pick(a, tetCells);
    }
  }
  let boundaryFaces: Uint32Array | undefined;
  if (faceCells.length > 0) {
    boundaryFaces = new Uint32Array(faceCells.length * 3);
    faceCells.forEach((c, i) => {
      const start = c === 0 ? 0 : offsets[c - 1]!;
      for (let k = 0; k < 3; k++) boundaryFaces![3 * i + k] = connectivity[start + k]!;
    });
  }
  const mesh: TetMesh = { positions, tets, nodesPerTet };
  if (regions) mesh.regions = regions;
  if (boundaryFaces) mesh.boundaryFaces = boundaryFaces;
  if (boundaryLabels) mesh.boundaryLabels = boundaryLabels;
  if (Object.keys(pointData).length) mesh.pointData = pointData;
  if (Object.keys(cellData).length) mesh.cellData = cellData;
  try {
    validateTetMesh(mesh);
  } catch (e) {
    throw new PhysiotwinError('IO_INVALID', (e as Error).message, { location: optionalFile(file), cause: e });
  }
  return mesh;
}

function collectOffsets(el: XmlElement): number[] {
  const out: number[] = [];
  const walk = (e: XmlElement) => {
    if (e.name === 'DataArray' && e.attrs.format === 'appended' && e.attrs.offset !== undefined) out.push(Number(e.attrs.offset));
    e.children.forEach(walk);
  };
  walk(el);
  return out;
}

function vtkTypeOf(values: DataArray['values'] | Float64Array | Int32Array | Uint8Array): VtkType {
  if (values instanceof Float64Array) return 'Float64';
  if (values instanceof Float32Array) return 'Float32';
  if (values instanceof Int32Array) return 'Int32';
  if (values instanceof Uint32Array) return 'UInt32';
  return 'UInt8';
}

/** Encodes one array's bytes as a binary block: UInt64 byte-count header, or zlib blocks with their header. */
function packBlock(data: Uint8Array, compress: boolean): Uint8Array {
  if (!compress) {
    const header = new Uint8Array(8);
    new DataView(header.buffer).setBigUint64(0, BigInt(data.length), true);
    return concatBytes([header, data]);
  }
  const blocks = Math.max(1, Math.ceil(data.length / BLOCK_SIZE));
  const parts: Uint8Array[] = [];
  for (let b = 0; b < blocks; b++) parts.push(zlibSync(data.subarray(b * BLOCK_SIZE, Math.min(data.length, (b + 1) * BLOCK_SIZE)), { level: 6 }));
  const header = new Uint8Array(8 * (3 + blocks));
  const view = new DataView(header.buffer);
  view.setBigUint64(0, BigInt(blocks), true);
  view.setBigUint64(8, BigInt(BLOCK_SIZE), true);
  view.setBigUint64(16, BigInt(data.length - (blocks - 1) * BLOCK_SIZE === BLOCK_SIZE ? 0 : data.length - (blocks - 1) * BLOCK_SIZE), true);
  parts.forEach((p, b) => view.setBigUint64(24 + 8 * b, BigInt(p.length), true));
  return concatBytes([header, ...parts]);
}

function littleEndianBytes(values: ArrayBufferView & { BYTES_PER_ELEMENT: number; length: number }): Uint8Array {
  const view = new Uint8Array(values.buffer, values.byteOffset, values.byteLength);
  if (HOST_LITTLE_ENDIAN || values.BYTES_PER_ELEMENT === 1) return view;
  const copy = view.slice();
  for (let e = 0; e < copy.length; e += values.BYTES_PER_ELEMENT) copy.subarray(e, e + values.BYTES_PER_ELEMENT).reverse();
  return copy;
}

function formatNumber(v: number): string {
  return Number.isFinite(v) ? String(v) : Number.isNaN(v) ? 'nan' : v > 0 ? 'inf' : '-inf';
}

/**
 * Writes a tet mesh as a VTK XML UnstructuredGrid (.vtu, version 1.0, little-endian, UInt64 headers) that VTK,
 * ParaView and meshio read: tets as VTK_TETRA or VTK_QUADRATIC_TETRA (TetMesh's node order is VTK's), boundary
 * faces as triangles (see {@link WriteVtuOptions.faces}), regions and face labels in the cell array `region`,
 * and every point and cell array of the mesh.
 * @example
 * ```ts
 * await writeFile('mesh.vtu', writeVtu(mesh, { format: 'appended' }));
 * ```
 * @throws PhysiotwinError `INVALID_ARGUMENT` for a malformed mesh.
 */
export function writeVtu(mesh: TetMesh, options: WriteVtuOptions = {}): Uint8Array {
  validateTetMesh(mesh);
  const format = options.format ?? 'binary';
  const compress = format !== 'ascii' && (options.compress ?? true);
  const k = mesh.nodesPerTet;
  const nTets = mesh.tets.length / k;
  const faces = options.faces ?? true ? mesh.boundaryFaces : undefined;
  const nFaces = faces ? faces.length / 3 : 0;
  const nCells = nTets + nFaces;
  const nPoints = mesh.positions.length / 3;

  const connectivity = new Int32Array(nTets * k + nFaces * 3);
  connectivity.set(mesh.tets);
  if (faces) connectivity.set(faces, nTets * k);
  const offsets = new Int32Array(nCells);
  const types = new Uint8Array(nCells);
  for (let c = 0; c < nCells; c++) {
    offsets[c] = c < nTets ? (c + 1) * k : nTets * k + (c - nTets + 1) * 3;
    types[c] = c < nTets ? (k === 4 ? VTK_TETRA : VTK_QUADRATIC_TETRA) : VTK_TRIANGLE;
  }

  const appendedParts: Uint8Array[] = [];
  let appendedLength = 0;
  const arrayXml = (name: string, components: number, values: DataArray['values']): string => {
    const type = vtkTypeOf(values);
    const head = `<DataArray type="${type}" Name="${name}" NumberOfComponents="${components}"`;
    if (format === 'ascii') {
      const words: string[] = new Array(values.length);
      for (let i = 0; i < values.length; i++) words[i] = formatNumber(values[i]!);
      return `${head} format="ascii">\n${words.join(' ')}\n</DataArray>`;
    }
    const block = packBlock(littleEndianBytes(values), compress);
    if (format === 'binary') {
      if (!compress) return `${head} format="binary">${base64Encode(block)}</DataArray>`;
      // VTK encodes a compressed array's header and data as two base64 streams.
      const h = 8 * (3 + Number(new DataView(block.buffer, block.byteOffset).getBigUint64(0, true)));
      return `${head} format="binary">${base64Encode(block.subarray(0, h))}${base64Encode(block.subarray(h))}</DataArray>`;
    }
    const offset = appendedLength;
    appendedParts.push(block);
    appendedLength += block.length;
    return `${head} format="appended" offset="${offset}"/>`;
  };

  const padded = (a: DataArray): DataArray['values'] => {
    if (nFaces === 0) return a.values;
    const Ctor = a.values.constructor as new (n: number) => DataArray['values'];
    const v = new Ctor(nCells * a.components);
    v.set(a.values);
    return v;
  };
  const cellParts: string[] = [];
  if (mesh.regions || mesh.boundaryLabels) {
    const region = new Int32Array(nCells);
    if (mesh.regions) region.set(mesh.regions);
    if (faces && mesh.boundaryLabels) region.set(mesh.boundaryLabels, nTets);
    cellParts.push(arrayXml(REGION_ARRAY, 1, region));
  }
  for (const [name, a] of Object.entries(mesh.cellData ?? {})) {
    if (name === REGION_ARRAY && (mesh.regions || mesh.boundaryLabels)) continue;
    cellParts.push(arrayXml(name, a.components, padded(a)));
  }
  const pointParts = Object.entries(mesh.pointData ?? {}).map(([name, a]) => arrayXml(name, a.components, a.values));
  const xml = [
    '<?xml version="1.0"?>',
    `<VTKFile type="UnstructuredGrid" version="1.0" byte_order="LittleEndian" header_type="UInt64"${compress ? ' compressor="vtkZLibDataCompressor"' : ''}>`,
    '<UnstructuredGrid>',
    `<Piece NumberOfPoints="${nPoints}" NumberOfCells="${nCells}">`,
    `<PointData>${pointParts.join('\n')}</PointData>`,
    `<CellData>${cellParts.join('\n')}</CellData>`,
    `<Points>${arrayXml('Points', 3, mesh.positions)}</Points>`,
    `<Cells>${arrayXml('connectivity', 1, connectivity)}\n${arrayXml('offsets', 1, offsets)}\n${arrayXml('types', 1, types)}</Cells>`,
    '</Piece>',
    '</UnstructuredGrid>',
  ];
  const encoder = new TextEncoder();
  if (format !== 'appended') return encoder.encode([...xml, '</VTKFile>', ''].join('\n'));
  return concatBytes([
    encoder.encode([...xml, '<AppendedData encoding="raw">\n_'].join('\n')),
    ...appendedParts,
    encoder.encode('\n</AppendedData>\n</VTKFile>\n'),
  ]);
}
