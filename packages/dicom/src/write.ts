import { deflateSync } from 'fflate';
import { PhysiotwinError } from '@physiotwin/core';
import { TS } from './parse.js';
import { concatBytes } from './pixels.js';

/** One element to write. `tag` is 0xGGGGEEEE. */
export interface DicomElementInit {
  tag: number;
  vr: string;
  /** Text for string VRs (several values joined by '\\' or given as an array), numbers for US/SS/UL/SL/FL/FD, bytes for OB/OW/UN. */
  value: string | number | (string | number)[] | ArrayBufferView;
}

/** Options of {@link writeDicom}. */
export interface WriteDicomOptions {
  /** Explicit or implicit VR little endian, or deflated explicit VR little endian. @default explicit VR little endian */
  transferSyntaxUid?: typeof TS.explicitLE | typeof TS.implicitLE | typeof TS.deflatedLE;
}

const LONG_VRS = new Set(['OB', 'OD', 'OF', 'OL', 'OV', 'OW', 'SQ', 'UC', 'UN', 'UR', 'UT', 'SV', 'UV']);
const BINARY: Record<string, number> = { US: 2, SS: 2, UL: 4, SL: 4, FL: 4, FD: 8 };
const enc = new TextEncoder();

function valueBytes(e: DicomElementInit): Uint8Array {
  const v = e.value;
  if (ArrayBuffer.isView(v)) {
    const b = new Uint8Array(v.buffer, v.byteOffset, v.byteLength);
    return b.length % 2 ? concat2(b, new Uint8Array([0])) : b;
  }
  const size = BINARY[e.vr];
  if (size) {
    const list = (Array.isArray(v) ? v : [v]).map(Number);
    const out = new Uint8Array(list.length * size);
    const dv = new DataView(out.buffer);
    list.forEach((x, i) => {
      if (e.vr === 'US') dv.setUint16(i * 2, x, true);
      else if (e.vr === 'SS') dv.setInt16(i * 2, x, true);
      else if (e.vr === 'UL') dv.setUint32(i * 4, x, true);
      else if (e.vr === 'SL') dv.setInt32(i * 4, x, true);
      else if (e.vr === 'FL') dv.setFloat32(i * 4, x, true);
      else dv.setFloat64(i * 8, x, true);
    });
    return out;
  }
  const text = Array.isArray(v) ? v.map(String).join('\\') : String(v);
  const bytes = enc.encode(text);
  if (bytes.length % 2 === 0) return bytes;
  return concat2(bytes, new Uint8Array([e.vr === 'UI' ? 0 : 0x20]));
}

function concat2(a: Uint8Array, b: Uint8Array): Uint8Array {
  const out = new Uint8Array(a.length + b.length);
  out.set(a);
  out.set(b, a.length);
  return out;
}

function encodeElements(elements: DicomElementInit[], explicit: boolean): Uint8Array[] {
  const parts: Uint8Array[] = [];
  for (const e of [...elements].sort((a, b) => a.tag - b.tag)) {
    if (!/^[A-Z]{2}$/.test(e.vr) || e.vr === 'SQ') throw new PhysiotwinError('INVALID_ARGUMENT', `cannot write VR ${e.vr}`);
    const value = valueBytes(e);
    const long = LONG_VRS.has(e.vr);
    if (!long && explicit && value.length > 0xffff) throw new PhysiotwinError('INVALID_ARGUMENT', `value of VR ${e.vr} longer than 65535 bytes`);
    const head = new Uint8Array(explicit ? (long ? 12 : 8) : 8);
    const dv = new DataView(head.buffer);
    dv.setUint16(0, e.tag >>> 16, true);
    dv.setUint16(2, e.tag & 0xffff, true);
    if (explicit) {
      head[4] = e.vr.charCodeAt(0);
      head[5] = e.vr.charCodeAt(1);
      if (long) dv.setUint32(8, value.length, true);
      else dv.setUint16(6, value.length, true);
    } else {
      dv.setUint32(4, value.length, true);
    }
    parts.push(head, value);
  }
  return parts;
}

/**
 * Writes a Part 10 file (preamble, meta header, data set) with native (uncompressed) pixel data, explicit or
 * implicit VR little endian, or the explicit VR data set deflated (raw deflate, transfer syntax 1.2.840.10008.1.2.1.99). Sequences are not supported: enough for test series and benchmarks.
 * SOPClassUID (0008,0016) and SOPInstanceUID (0008,0018) must be among the elements.
 * @throws PhysiotwinError `INVALID_ARGUMENT` for an unwritable element or missing SOP UIDs.
 * @example
 * ```ts
 * const bytes = writeDicom([{ tag: 0x00080016, vr: 'UI', value: '1.2.840.10008.5.1.4.1.1.2' }, ...]);
 * ```
 */
export function writeDicom(elements: DicomElementInit[], options: WriteDicomOptions = {}): Uint8Array {
  const ts = options.transferSyntaxUid ?? TS.explicitLE;
  const sopClass = elements.find((e) => e.tag === 0x00080016)?.value;
  const sopInstance = elements.find((e) => e.tag === 0x00080018)?.value;
  if (typeof sopClass !== 'string' || typeof sopInstance !== 'string') {
    throw new PhysiotwinError('INVALID_ARGUMENT', 'writeDicom needs SOPClassUID (0008,0016) and SOPInstanceUID (0008,0018) as strings');
  }
  const meta = encodeElements(
    [
      { tag: 0x00020001, vr: 'OB', value: new Uint8Array([0, 1]) },
      { tag: 0x00020002, vr: 'UI', value: sopClass },
      { tag: 0x00020003, vr: 'UI', value: sopInstance },
      { tag: 0x00020010, vr: 'UI', value: ts },
      { tag: 0x00020012, vr: 'UI', value: '1.2.826.0.1.3680043.10.1099.1' },
    ],
    true,
  );
  const metaLength = meta.reduce((n, p) => n + p.length, 0);
  const groupLength = encodeElements([{ tag: 0x00020000, vr: 'UL', value: metaLength }], true);
  const body = encodeElements(elements, ts !== TS.implicitLE);
  const data = ts === TS.deflatedLE ? [deflateSync(concatBytes(body))] : body;
  const parts = [new Uint8Array(128), enc.encode('DICM'), ...groupLength, ...meta, ...data];
  return concatBytes(parts);
}
