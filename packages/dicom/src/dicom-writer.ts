import { PhysiotwinError } from '@physiotwin/core';
import { TS } from './parse.js';
import { concatBytes } from './pixels.js';
import { loadFflate } from '#deps-platform';

/**
 * One element to write. `tag` is 0xGGGGEEEE. Exactly one of `value`, `items` (VR SQ) or `fragments`
 * (encapsulated Pixel Data, VR OB) is given.
 */
export interface DicomElementInit {
  tag: number;
  /** Two upper-case letters. In implicit VR output it only chooses the value's encoding and padding. */
  vr: string;
  /**
   * Text for string VRs (several values joined by '\\' or given as an array), numbers for US/SS/UL/SL/FL/FD/SV/UV,
   * [group, element] pairs flattened for AT, numbers for IS/DS (formatted to fit the VR), bytes for any VR (written
   * as given, padded to even length: NUL for UI/OB/UN, space for text). Strings are encoded as UTF-8: declare
   * SpecificCharacterSet (0008,0005) ISO_IR 192 for non-ASCII text, or pass bytes in the data set's character set.
   */
  value?: string | number | (string | number)[] | ArrayBufferView;
  /** Sequence items, each a list of elements (VR SQ). */
  items?: DicomElementInit[][];
  /**
   * Encapsulated pixel data: the Basic Offset Table item's value (empty for none) followed by the fragments,
   * each written as one item, unchanged (an odd fragment gets one NUL, as PS3.5 A.4 requires even items).
   */
  fragments?: ArrayBufferView[];
}

/** Options of {@link writeDicom}. */
export interface WriteDicomOptions {
  /**
   * Transfer syntax of the data set: explicit or implicit VR little endian, or an encapsulated syntax (the data set
   * is then explicit VR little endian and Pixel Data must be given as `fragments`, which are written unchanged).
   * Deflated explicit VR little endian deflates the data set; big endian is not written.
   * @default explicit VR little endian
   */
  transferSyntaxUid?: string;
  /** Media Storage SOP Class/Instance UIDs for the meta header when the data set has no SOP Common module (DICOMDIR). */
  mediaStorage?: { sopClassUid: string; sopInstanceUid: string };
}

/** Encoded bytes plus where each item of the data set's top-level sequences starts (byte offset from the file's first byte). */
export interface EncodedDicom {
  bytes: Uint8Array;
  /** For each top-level SQ tag (0xGGGGEEEE), the file offset of each item's (FFFE,E000) tag. */
  itemOffsets: Map<number, number[]>;
}

/** VRs with a 4-byte length (and 2 reserved bytes) in explicit VR. */
const LONG_VRS = new Set(['OB', 'OD', 'OF', 'OL', 'OV', 'OW', 'SQ', 'UC', 'UN', 'UR', 'UT', 'SV', 'UV']);
/** Binary VRs and their element sizes. */
const BINARY: Record<string, number> = { US: 2, SS: 2, UL: 4, SL: 4, FL: 4, FD: 8, SV: 8, UV: 8, AT: 2 };
/** VRs padded with NUL rather than space (PS3.5 6.2). */
const NUL_PADDED = new Set(['UI', 'OB', 'UN']);
/** Implementation Class UID written in the meta header. */
const IMPLEMENTATION_CLASS_UID = '1.2.826.0.1.3680043.10.1099.1';
const enc = new TextEncoder();

/**
 * Formats a number as a DS value (at most 16 characters, PS3.5 6.2), keeping as many significant digits as fit.
 * @throws PhysiotwinError `INVALID_ARGUMENT` for a non-finite number.
 */
export function formatDS(x: number): string {
  if (!Number.isFinite(x)) throw new PhysiotwinError('INVALID_ARGUMENT', `DS value ${x} is not a finite number`);
  const plain = String(x);
  if (plain.length <= 16) return plain;
  for (let p = 16; p >= 1; p--) {
    const s = x.toPrecision(p).replace(/(\.\d*?)0+(e|$)/, '$1$2').replace(/\.(e|$)/, '$1');
    if (s.length <= 16) return s;
  }
  throw new PhysiotwinError('INVALID_ARGUMENT', `DS value ${x} does not fit 16 characters`);
}

function pad(bytes: Uint8Array, vr: string): Uint8Array {
  if (bytes.length % 2 === 0) return bytes;
  const out = new Uint8Array(bytes.length + 1);
  out.set(bytes);
  out[bytes.length] = NUL_PADDED.has(vr) ? 0 : 0x20;
  return out;
}

function valueBytes(e: DicomElementInit): Uint8Array {
  const v = e.value ?? '';
  if (ArrayBuffer.isView(v)) return pad(new Uint8Array(v.buffer, v.byteOffset, v.byteLength), e.vr);
  const size = BINARY[e.vr];
  if (size) {
    const list = (Array.isArray(v) ? v : v === '' ? [] : [v]).map(Number);
    const out = new Uint8Array(list.length * size);
    const dv = new DataView(out.buffer);
    list.forEach((x, i) => {
      if (!Number.isFinite(x)) throw new PhysiotwinError('INVALID_ARGUMENT', `value ${x} of VR ${e.vr} is not a finite number`);
      const o = i * size;
      if (e.vr === 'US' || e.vr === 'AT') dv.setUint16(o, x, true);
      else if (e.vr === 'SS') dv.setInt16(o, x, true);
      else if (e.vr === 'UL') dv.setUint32(o, x, true);
      else if (e.vr === 'SL') dv.setInt32(o, x, true);
      else if (e.vr === 'FL') dv.setFloat32(o, x, true);
      else if (e.vr === 'SV') dv.setBigInt64(o, BigInt(x), true);
      else if (e.vr === 'UV') dv.setBigUint64(o, BigInt(x), true);
      else dv.setFloat64(o, x, true);
    });
    return out;
  }
  const list = Array.isArray(v) ? v : [v];
  const text = list.map((x) => (typeof x === 'number' ? (e.vr === 'DS' ? formatDS(x) : String(x)) : x)).join('\\');
  return pad(enc.encode(text), e.vr);
}

function header(tag: number, vr: string, length: number, explicit: boolean): Uint8Array {
  const long = LONG_VRS.has(vr);
  const head = new Uint8Array(explicit && long ? 12 : 8);
  const dv = new DataView(head.buffer);
  dv.setUint16(0, tag >>> 16, true);
  dv.setUint16(2, tag & 0xffff, true);
  if (!explicit) {
    dv.setUint32(4, length, true);
    return head;
  }
  head[4] = vr.charCodeAt(0);
  head[5] = vr.charCodeAt(1);
  if (long) dv.setUint32(8, length, true);
  else {
    if (length > 0xffff) throw new PhysiotwinError('INVALID_ARGUMENT', `value of ${tagText(tag)} (VR ${vr}) is ${length} bytes: more than 65534`);
    dv.setUint16(6, length, true);
  }
  return head;
}

function tagText(tag: number): string {
  const h = (tag >>> 0).toString(16).toUpperCase().padStart(8, '0');
  return `(${h.slice(0, 4)},${h.slice(4)})`;
}

function itemHeader(tag: number, length: number): Uint8Array {
  const b = new Uint8Array(8);
  const dv = new DataView(b.buffer);
  dv.setUint16(0, 0xfffe, true);
  dv.setUint16(2, tag, true);
  dv.setUint32(4, length, true);
  return b;
}

/** Writes `elements` (sorted by tag) into `parts`; records item offsets of top-level sequences when `offsets` is given. */
function encodeElements(elements: DicomElementInit[], explicit: boolean, parts: Uint8Array[], at: number, offsets?: Map<number, number[]>): number {
  const sorted = [...elements].sort((a, b) => (a.tag >>> 0) - (b.tag >>> 0));
  for (let i = 0; i < sorted.length; i++) {
    const e = sorted[i]!;
    if (i > 0 && sorted[i - 1]!.tag === e.tag) throw new PhysiotwinError('INVALID_ARGUMENT', `element ${tagText(e.tag)} is given twice`);
    if (!/^[A-Z]{2}$/.test(e.vr)) throw new PhysiotwinError('INVALID_ARGUMENT', `cannot write VR '${e.vr}' of ${tagText(e.tag)}`);
    if (e.items) {
      if (e.vr !== 'SQ') throw new PhysiotwinError('INVALID_ARGUMENT', `${tagText(e.tag)} has items but VR ${e.vr}`);
      // Defined lengths throughout (PS3.5 7.5.1): encode the items first, then the sequence header with their size.
      const inner: Uint8Array[] = [];
      const head = header(e.tag, 'SQ', 0, explicit);
      let pos = at + head.length;
      const starts: number[] = [];
      for (const item of e.items) {
        const body: Uint8Array[] = [];
        starts.push(pos);
        const n = encodeElements(item, explicit, body, pos + 8) - (pos + 8);
        inner.push(itemHeader(0xe000, n), ...body);
        pos += 8 + n;
      }
      const total = pos - at - head.length;
      parts.push(header(e.tag, 'SQ', total, explicit), ...inner);
      if (offsets) offsets.set(e.tag >>> 0, starts);
      at = pos;
    } else if (e.fragments) {
      if (!explicit || e.vr !== 'OB') throw new PhysiotwinError('INVALID_ARGUMENT', `encapsulated ${tagText(e.tag)} needs VR OB in an explicit VR transfer syntax`);
      if (e.fragments.length === 0) throw new PhysiotwinError('INVALID_ARGUMENT', 'encapsulated pixel data needs the Basic Offset Table item (empty or not)');
      const head = header(e.tag, 'OB', 0xffffffff, true);
      parts.push(head);
      at += head.length;
      for (const f of e.fragments) {
        const b = pad(new Uint8Array(f.buffer, f.byteOffset, f.byteLength), 'OB');
        parts.push(itemHeader(0xe000, b.length), b);
        at += 8 + b.length;
      }
      parts.push(itemHeader(0xe0dd, 0));
      at += 8;
    } else {
      if (e.vr === 'SQ') throw new PhysiotwinError('INVALID_ARGUMENT', `${tagText(e.tag)} has VR SQ but no items`);
      const value = valueBytes(e);
      const head = header(e.tag, e.vr, value.length, explicit);
      parts.push(head, value);
      at += head.length + value.length;
    }
  }
  return at;
}

function uidValue(elements: DicomElementInit[], tag: number): string | undefined {
  const v = elements.find((e) => e.tag === tag)?.value;
  if (typeof v === 'string') return v.replace(/\0+$/, '');
  if (ArrayBuffer.isView(v)) return new TextDecoder().decode(v).replace(/[\0 ]+$/, '');
  return undefined;
}

/**
 * Encodes a Part 10 file and reports where the items of top-level sequences start (what a DICOMDIR's record
 * offsets need). See {@link writeDicom}.
 * @throws PhysiotwinError `INVALID_ARGUMENT` as {@link writeDicom}.
 */
export function encodeDicom(elements: DicomElementInit[], options: WriteDicomOptions = {}): EncodedDicom {
  const ts = options.transferSyntaxUid ?? TS.explicitLE;
  if (ts === TS.explicitBE) throw new PhysiotwinError('INVALID_ARGUMENT', `the writer does not encode transfer syntax ${ts}`);
  if (!/^[0-9.]{1,64}$/.test(ts)) throw new PhysiotwinError('INVALID_ARGUMENT', `'${ts}' is not a transfer syntax UID`);
  const sopClass = options.mediaStorage?.sopClassUid ?? uidValue(elements, 0x00080016);
  const sopInstance = options.mediaStorage?.sopInstanceUid ?? uidValue(elements, 0x00080018);
  if (!sopClass || !sopInstance) {
    throw new PhysiotwinError('INVALID_ARGUMENT', 'a Part 10 file needs SOPClassUID (0008,0016) and SOPInstanceUID (0008,0018), or options.mediaStorage');
  }
  if (elements.some((e) => e.tag >>> 16 === 0x0002)) throw new PhysiotwinError('INVALID_ARGUMENT', 'group 0002 (file meta) elements are written by the writer, not given');
  const pixel = elements.find((e) => e.tag === 0x7fe00010);
  const native = ts === TS.explicitLE || ts === TS.implicitLE || ts === TS.deflatedLE;
  if (pixel && native === Boolean(pixel.fragments)) {
    throw new PhysiotwinError('INVALID_ARGUMENT', native ? `transfer syntax ${ts} needs native Pixel Data, not fragments` : `transfer syntax ${ts} needs encapsulated Pixel Data (fragments)`);
  }
  const metaParts: Uint8Array[] = [];
  encodeElements(
    [
      { tag: 0x00020001, vr: 'OB', value: new Uint8Array([0, 1]) },
      { tag: 0x00020002, vr: 'UI', value: sopClass },
      { tag: 0x00020003, vr: 'UI', value: sopInstance },
      { tag: 0x00020010, vr: 'UI', value: ts },
      { tag: 0x00020012, vr: 'UI', value: IMPLEMENTATION_CLASS_UID },
      { tag: 0x00020013, vr: 'SH', value: 'PHYSIOTWIN' },
    ],
    true,
    metaParts,
    0,
  );
  const metaLength = metaParts.reduce((n, p) => n + p.length, 0);
  const groupParts: Uint8Array[] = [];
  encodeElements([{ tag: 0x00020000, vr: 'UL', value: metaLength }], true, groupParts, 0);
  const start = 132 + groupParts.reduce((n, p) => n + p.length, 0) + metaLength;
  const body: Uint8Array[] = [];
  const itemOffsets = new Map<number, number[]>();
  encodeElements(elements, ts !== TS.implicitLE, body, start, itemOffsets);
  // Deflated explicit VR little endian: the data set after the file meta is raw deflate (item offsets then refer
  // to the inflated data set).
  const data = ts === TS.deflatedLE ? [loadFflate().deflateSync(concatBytes(body))] : body;
  return { bytes: concatBytes([new Uint8Array(128), enc.encode('DICM'), ...groupParts, ...metaParts, ...data]), itemOffsets };
}

/**
 * Writes a DICOM Part 10 file: 128-byte preamble, `DICM`, the file meta information (group 0002, explicit VR
 * little endian, with its group length), then the data set in explicit VR little endian (default), implicit VR
 * little endian, or an encapsulated transfer syntax. Sequences and their items are written with defined lengths
 * (PS3.5 7.5.1), elements sorted by tag, every value padded to even length (UI, OB, UN with NUL, text with
 * space). Native pixel data is written as given; encapsulated pixel data (`fragments`) item by item, unchanged,
 * with undefined length and a sequence delimiter as PS3.5 A.4 requires.
 * SOPClassUID (0008,0016) and SOPInstanceUID (0008,0018) must be among the elements (or given as
 * `options.mediaStorage`); they become the meta header's Media Storage UIDs.
 * @throws PhysiotwinError `INVALID_ARGUMENT` for an unwritable element (bad VR, over-long short value, duplicate
 * tag, non-finite number), missing SOP UIDs, or pixel data that does not match the transfer syntax.
 * @example
 * ```ts
 * const bytes = writeDicom([
 *   { tag: 0x00080016, vr: 'UI', value: '1.2.840.10008.5.1.4.1.1.2' },
 *   { tag: 0x00080018, vr: 'UI', value: '2.25.1' },
 *   { tag: 0x00100010, vr: 'PN', value: 'Doe^Jane' },
 * ]);
 * ```
 */
export function writeDicom(elements: DicomElementInit[], options: WriteDicomOptions = {}): Uint8Array {
  return encodeDicom(elements, options).bytes;
}
