// VTK XML file plumbing shared by the XML formats (.vtp here; .vtu can use the same): a small XML element parser
// that stops at <AppendedData>, base64, and DataArray decoding in every encoding VTK writes (ascii, inline base64,
// appended raw or base64; with or without vtkZLibDataCompressor; UInt32 or UInt64 headers; either byte order).
import { PhysiotwinError } from '@physiotwin/core';
import { DEFLATE_MAX_RATIO, inflateBounded, optionalFile } from './binary.js';

/** One XML element: name, attributes, child elements and its own text (concatenated). */
export interface XmlElement {
  name: string;
  attributes: Record<string, string>;
  children: XmlElement[];
  text: string;
}

/** A parsed VTK XML file: the root element, and the raw bytes after `<AppendedData ...>_` if there are any. */
export interface VtkXmlDocument {
  root: XmlElement;
  /** The file as one latin1 string (one char per byte), for appended data offsets. */
  source: string;
  /** Index in `source` of the first byte after the `_` that starts the appended data; -1 without one. */
  appendedStart: number;
  /** `encoding` of the AppendedData element ('raw' or 'base64'). */
  appendedEncoding: string;
  file?: string | undefined;
}

const ENTITIES: Record<string, string> = { lt: '<', gt: '>', amp: '&', quot: '"', apos: "'" };

function unescapeXml(s: string): string {
  return s.replace(/&(lt|gt|amp|quot|apos|#\d+|#x[0-9a-fA-F]+);/g, (_, e: string) =>
    e[0] === '#' ? String.fromCodePoint(e[1] === 'x' ? parseInt(e.slice(2), 16) : parseInt(e.slice(1), 10)) : ENTITIES[e]!,
  );
}

function invalid(message: string, file: string | undefined): PhysiotwinError {
  return new PhysiotwinError('IO_INVALID', message, { location: optionalFile(file) });
}

/**
 * Parses a VTK XML file (elements, attributes, text; comments, processing instructions and CDATA-free content).
 * Stops at `<AppendedData>`, whose raw bytes are not XML.
 * @throws PhysiotwinError `IO_INVALID` for malformed XML or a file that is not a VTKFile.
 */
export function parseVtkXml(bytes: Uint8Array, file?: string): VtkXmlDocument {
  let source = '';
  for (let i = 0; i < bytes.length; i += 0x8000) source += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  const stack: XmlElement[] = [];
  let root: XmlElement | undefined;
  let appendedStart = -1;
  let appendedEncoding = 'raw';
  let p = 0;
  const tagRe = /<\s*([A-Za-z_][\w:.-]*)((?:\s+[\w:.-]+\s*=\s*(?:"[^"]*"|'[^']*'))*)\s*(\/?)>/y;
  const attrRe = /([\w:.-]+)\s*=\s*(?:"([^"]*)"|'([^']*)')/g;
  while (p < source.length) {
    const lt = source.indexOf('<', p);
    const text = source.slice(p, lt < 0 ? source.length : lt);
    if (stack.length > 0) stack[stack.length - 1]!.text += text;
    else if (text.trim() !== '') throw invalid(`text outside the root element at byte ${p}`, file);
    if (lt < 0) break;
    if (source.startsWith('<?', lt)) {
      const end = source.indexOf('?>', lt);
      if (end < 0) throw invalid(`unterminated processing instruction at byte ${lt}`, file);
      p = end + 2;
      continue;
    }
    if (source.startsWith('<!--', lt)) {
      const end = source.indexOf('-->', lt);
      if (end < 0) throw invalid(`unterminated comment at byte ${lt}`, file);
      p = end + 3;
      continue;
    }
    if (source.startsWith('</', lt)) {
      const end = source.indexOf('>', lt);
      const name = source.slice(lt + 2, end).trim();
      const open = stack.pop();
      if (end < 0 || !open || open.name !== name) throw invalid(`unexpected closing tag </${name}> at byte ${lt}`, file);
      open.text = unescapeXml(open.text);
      p = end + 1;
      continue;
    }
    tagRe.lastIndex = lt;
    const m = tagRe.exec(source);
    if (!m) throw invalid(`malformed tag at byte ${lt}`, file);
    const attributes: Record<string, string> = {};
    for (const a of m[2]!.matchAll(attrRe)) attributes[a[1]!] = unescapeXml(a[2] ?? a[3] ?? '');
    const element: XmlElement = { name: m[1]!, attributes, children: [], text: '' };
    if (stack.length > 0) stack[stack.length - 1]!.children.push(element);
    else if (root) throw invalid(`a second root element <${element.name}> at byte ${lt}`, file);
    else root = element;
    p = lt + m[0].length;
    if (element.name === 'AppendedData') {
      if (m[3]) throw invalid('empty <AppendedData/>', file);
      const underscore = source.indexOf('_', p);
      if (underscore < 0) throw invalid("AppendedData does not start with '_'", file);
      appendedStart = underscore + 1;
      appendedEncoding = attributes.encoding ?? 'raw';
      break;
    }
    if (!m[3]) stack.push(element);
  }
  if (!root) throw invalid('no XML element found', file);
  if (appendedStart < 0 && stack.length > 0) throw invalid(`<${stack[stack.length - 1]!.name}> is never closed`, file);
  if (root.name !== 'VTKFile') throw invalid(`the root element is <${root.name}>, not <VTKFile>`, file);
  return { root, source, appendedStart, appendedEncoding, file };
}

/** The first child element named `name`, or undefined. */
export function childNamed(e: XmlElement, name: string): XmlElement | undefined {
  return e.children.find((c) => c.name === name);
}

const B64 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';
const B64_INDEX = (() => {
  const t = new Int16Array(128).fill(-1);
  for (let i = 0; i < 64; i++) t[B64.charCodeAt(i)] = i;
  return t;
})();

/** Base64 of `bytes` (standard alphabet, padded). */
export function encodeBase64(bytes: Uint8Array): string {
  let s = '';
  for (let i = 0; i < bytes.length; i += 0x8000) s += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  return btoa(s);
}

/**
 * Decodes base64 (whitespace ignored, padding optional).
 * @throws PhysiotwinError `IO_INVALID` for a character outside the alphabet.
 */
export function decodeBase64(text: string, file?: string): Uint8Array {
  const clean = text.replace(/[\s=]/g, '');
  const out = new Uint8Array(Math.floor((clean.length * 3) / 4));
  let bits = 0;
  let acc = 0;
  let o = 0;
  for (let i = 0; i < clean.length; i++) {
    const c = clean.charCodeAt(i);
    const v = c < 128 ? B64_INDEX[c]! : -1;
    if (v < 0) throw invalid(`invalid base64 character ${JSON.stringify(clean[i])}`, file);
    acc = (acc << 6) | v;
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out[o++] = (acc >> bits) & 0xff;
    }
  }
  return out.subarray(0, o);
}

/** The typed arrays a DataArray decodes to. 64-bit integers become Float64Array (exact up to 2^53). */
export type VtkArray = Int8Array | Uint8Array | Int16Array | Uint16Array | Int32Array | Uint32Array | Float32Array | Float64Array;

const TYPES: Record<string, { bytes: number; read: (v: DataView, o: number, le: boolean) => number; make: (n: number) => VtkArray }> = {
  Int8: { bytes: 1, read: (v, o) => v.getInt8(o), make: (n) => new Int8Array(n) },
  UInt8: { bytes: 1, read: (v, o) => v.getUint8(o), make: (n) => new Uint8Array(n) },
  Int16: { bytes: 2, read: (v, o, le) => v.getInt16(o, le), make: (n) => new Int16Array(n) },
  UInt16: { bytes: 2, read: (v, o, le) => v.getUint16(o, le), make: (n) => new Uint16Array(n) },
  Int32: { bytes: 4, read: (v, o, le) => v.getInt32(o, le), make: (n) => new Int32Array(n) },
  UInt32: { bytes: 4, read: (v, o, le) => v.getUint32(o, le), make: (n) => new Uint32Array(n) },
  Int64: { bytes: 8, read: (v, o, le) => Number(v.getBigInt64(o, le)), make: (n) => new Float64Array(n) },
  UInt64: { bytes: 8, read: (v, o, le) => Number(v.getBigUint64(o, le)), make: (n) => new Float64Array(n) },
  Float32: { bytes: 4, read: (v, o, le) => v.getFloat32(o, le), make: (n) => new Float32Array(n) },
  Float64: { bytes: 8, read: (v, o, le) => v.getFloat64(o, le), make: (n) => new Float64Array(n) },
};

/** Format details that apply to every DataArray of a file (from the VTKFile element). */
interface FileFormat {
  littleEndian: boolean;
  headerBytes: 4 | 8;
  compressed: boolean;
}

function fileFormat(doc: VtkXmlDocument): FileFormat {
  const a = doc.root.attributes;
  const order = a.byte_order ?? 'LittleEndian';
  if (order !== 'LittleEndian' && order !== 'BigEndian') throw invalid(`byte_order ${JSON.stringify(order)} is neither LittleEndian nor BigEndian`, doc.file);
  const header = a.header_type ?? 'UInt32';
  if (header !== 'UInt32' && header !== 'UInt64') throw invalid(`header_type ${JSON.stringify(header)} is neither UInt32 nor UInt64`, doc.file);
  const compressor = a.compressor;
  if (compressor !== undefined && compressor !== 'vtkZLibDataCompressor') {
    throw new PhysiotwinError('IO_UNSUPPORTED', `compressor ${compressor} is not supported (only vtkZLibDataCompressor)`, { location: optionalFile(doc.file) });
  }
  return { littleEndian: order === 'LittleEndian', headerBytes: header === 'UInt64' ? 8 : 4, compressed: compressor !== undefined };
}

function readHeader(bytes: Uint8Array, index: number, f: FileFormat, file: string | undefined): number {
  const at = index * f.headerBytes;
  if (bytes.length < at + f.headerBytes) throw new PhysiotwinError('IO_TRUNCATED', 'a DataArray ends inside its size header', { location: optionalFile(file) });
  const v = new DataView(bytes.buffer, bytes.byteOffset + at, f.headerBytes);
  return f.headerBytes === 8 ? Number(v.getBigUint64(0, f.littleEndian)) : v.getUint32(0, f.littleEndian);
}

/** Base64 characters that encode `n` bytes on their own (padded). */
const b64Chars = (n: number) => Math.ceil(n / 3) * 4;

/**
 * The payload bytes of a binary DataArray whose encoded form starts at `text` (base64) or `raw` (appended raw).
 * Uncompressed: [size][bytes], one base64 stream. Compressed: [blocks, blockSize, lastSize, compressed sizes...]
 * then the zlib blocks; in base64 the header and the blocks are two separate streams.
 */
function binaryPayload(f: FileFormat, encoded: { base64: string } | { raw: Uint8Array }, file: string | undefined): Uint8Array {
  const h = f.headerBytes;
  const decodeFrom = (start: number, bytes: number): Uint8Array => {
    if ('raw' in encoded) {
      if (encoded.raw.length < start + bytes) throw new PhysiotwinError('IO_TRUNCATED', 'a DataArray ends before its data', { location: optionalFile(file) });
      return encoded.raw.subarray(start, start + bytes);
    }
    const decoded = decodeBase64(encoded.base64.slice(start, start + b64Chars(bytes)), file);
    if (decoded.length < bytes) throw new PhysiotwinError('IO_TRUNCATED', 'a DataArray ends before its data', { location: optionalFile(file) });
    return decoded.subarray(0, bytes);
  };
  if ('base64' in encoded) encoded = { base64: encoded.base64.replace(/\s/g, '') };
  if (!f.compressed) {
    const size = readHeader(decodeFrom(0, h), 0, f, file);
    return decodeFrom(0, h + size).subarray(h);
  }
  const blocks = readHeader(decodeFrom(0, 3 * h), 0, f, file);
  const headerBytes = (3 + blocks) * h;
  const header = decodeFrom(0, headerBytes);
  const blockSize = readHeader(header, 1, f, file);
  const lastSize = readHeader(header, 2, f, file);
  const sizes = Array.from({ length: blocks }, (_, b) => readHeader(header, 3 + b, f, file));
  const compressedTotal = sizes.reduce((a, b) => a + b, 0);
  const dataStart = 'raw' in encoded ? headerBytes : b64Chars(headerBytes);
  const compressed = 'raw' in encoded ? decodeFrom(dataStart, compressedTotal) : decodeBase64(encoded.base64.slice(dataStart, dataStart + b64Chars(compressedTotal)), file).subarray(0, compressedTotal);
  if (compressed.length < compressedTotal) throw new PhysiotwinError('IO_TRUNCATED', 'a compressed DataArray ends before its last block', { location: optionalFile(file) });
  const total = blocks === 0 ? 0 : blockSize * (blocks - 1) + (lastSize === 0 ? blockSize : lastSize);
  // Deflate expands at most 1032:1: a larger declared size is refused before the output is allocated.
  if (total > DEFLATE_MAX_RATIO * compressedTotal) {
    throw invalid(`a compressed DataArray declares ${total} bytes from ${compressedTotal} compressed bytes (deflate expands at most ${DEFLATE_MAX_RATIO}:1)`, file);
  }
  const out = new Uint8Array(total);
  let from = 0;
  let to = 0;
  sizes.forEach((size, b) => {
    const want = b === blocks - 1 && lastSize !== 0 ? lastSize : blockSize;
    const block = inflateBounded(compressed.subarray(from, from + size), { format: 'zlib', needed: () => want, verify: true, what: `DataArray block ${b}`, file });
    out.set(block, to);
    from += size;
    to += want;
  });
  return out;
}

/**
 * Decodes one `<DataArray>` to a typed array of `expected` values (tuples x components), whatever its format.
 * @throws PhysiotwinError `IO_INVALID` (unknown type or format, wrong number of values, bad numbers),
 *   `IO_TRUNCATED` (data ends early), `IO_UNSUPPORTED` (a compressor other than zlib).
 */
export function readDataArray(doc: VtkXmlDocument, e: XmlElement, expected: number): VtkArray {
  const file = doc.file;
  const name = e.attributes.Name ?? '(unnamed)';
  const type = TYPES[e.attributes.type ?? ''];
  if (!type) throw invalid(`DataArray ${name}: unknown type ${JSON.stringify(e.attributes.type)}`, file);
  if (!Number.isSafeInteger(expected) || expected < 0) throw invalid(`DataArray ${name}: ${expected} values expected (a count or offset in the file is invalid)`, file);
  const format = e.attributes.format ?? 'ascii';
  if (format === 'ascii') {
    const tokens = e.text.trim() === '' ? [] : e.text.trim().split(/\s+/);
    if (tokens.length !== expected) throw invalid(`DataArray ${name} has ${tokens.length} values, expected ${expected}`, file);
    // Allocated once the file is known to hold the values (a Piece may declare 2^40 points).
    const out = type.make(expected);
    for (let i = 0; i < expected; i++) {
      const v = Number(tokens[i]);
      if (Number.isNaN(v) && !/^nan$/i.test(tokens[i]!)) throw invalid(`DataArray ${name}: ${JSON.stringify(tokens[i])} is not a number`, file);
      out[i] = v;
    }
    return out;
  }
  const f = fileFormat(doc);
  let payload: Uint8Array;
  if (format === 'binary') payload = binaryPayload(f, { base64: e.text }, file);
  else if (format === 'appended') {
    if (doc.appendedStart < 0) throw invalid(`DataArray ${name} is appended but the file has no AppendedData`, file);
    const offset = Number(e.attributes.offset);
    if (!Number.isInteger(offset) || offset < 0) throw invalid(`DataArray ${name}: offset ${JSON.stringify(e.attributes.offset)} is not an integer >= 0`, file);
    const start = doc.appendedStart + offset;
    if (start > doc.source.length) throw new PhysiotwinError('IO_TRUNCATED', `DataArray ${name}: offset ${offset} is past the AppendedData`, { location: optionalFile(file) });
    if (doc.appendedEncoding === 'base64') payload = binaryPayload(f, { base64: doc.source.slice(start) }, file);
    else if (doc.appendedEncoding === 'raw') {
      const raw = new Uint8Array(doc.source.length - start);
      for (let i = 0; i < raw.length; i++) raw[i] = doc.source.charCodeAt(start + i);
      payload = binaryPayload(f, { raw }, file);
    } else throw invalid(`AppendedData encoding ${JSON.stringify(doc.appendedEncoding)} is neither raw nor base64`, file);
  } else throw invalid(`DataArray ${name}: format ${JSON.stringify(format)} is not ascii, binary or appended`, file);
  if (payload.length !== expected * type.bytes) throw invalid(`DataArray ${name} holds ${payload.length} bytes, expected ${expected} values of ${type.bytes} bytes`, file);
  const out = type.make(expected);
  const view = new DataView(payload.buffer, payload.byteOffset, payload.byteLength);
  for (let i = 0; i < expected; i++) out[i] = type.read(view, i * type.bytes, f.littleEndian);
  return out;
}

/** The VTK type name of a typed array a writer emits. */
export function vtkTypeName(values: VtkArray): string {
  if (values instanceof Float32Array) return 'Float32';
  if (values instanceof Float64Array) return 'Float64';
  if (values instanceof Int32Array) return 'Int32';
  if (values instanceof Uint32Array) return 'UInt32';
  if (values instanceof Uint8Array) return 'UInt8';
  if (values instanceof Int8Array) return 'Int8';
  if (values instanceof Int16Array) return 'Int16';
  return 'UInt16';
}

/**
 * One inline binary DataArray as VTK writes it uncompressed: base64 of a UInt32 byte count followed by the
 * little-endian values (the file must say header_type="UInt32" byte_order="LittleEndian").
 */
export function inlineDataArray(name: string | undefined, components: number, values: VtkArray): string {
  const raw = new Uint8Array(values.buffer, values.byteOffset, values.byteLength);
  const block = new Uint8Array(4 + raw.length);
  new DataView(block.buffer).setUint32(0, raw.length, true);
  block.set(raw, 4);
  const nameAttr = name ? ` Name="${name.replace(/[<>&"]/g, (c) => `&${{ '<': 'lt', '>': 'gt', '&': 'amp', '"': 'quot' }[c]};`)}"` : '';
  return `<DataArray type="${vtkTypeName(values)}"${nameAttr} NumberOfComponents="${components}" format="binary">${encodeBase64(block)}</DataArray>`;
}
