import type { DataSet, Element } from 'dicom-parser';
import { PhysiotwinError } from '@physiotwin/core';
import type { DicomElementInit } from './dicom-writer.js';
import { encodeDicom } from './dicom-writer.js';
import type { DicomFile } from './parse.js';
import { DicomDataset, TS, formatTag } from './parse.js';
import type { TagKey } from './parse.js';

/** Byte size of the words of VRs that a big-endian file stores swapped. */
const WORD: Record<string, number> = { US: 2, SS: 2, OW: 2, AT: 2, UL: 4, SL: 4, FL: 4, OF: 4, OL: 4, FD: 8, OD: 8, SV: 8, UV: 8, OV: 8 };

/** What {@link fileElements} gives: the data set's elements and the transfer syntax to write them with. */
export interface FileElements {
  elements: DicomElementInit[];
  /** The input's syntax, except deflated (written inflated, explicit VR LE) and big endian (converted to explicit VR LE). */
  transferSyntaxUid: string;
  /** The meta header's Media Storage SOP Class/Instance UIDs (used where the data set has no SOP Common module). */
  mediaStorage?: { sopClassUid: string; sopInstanceUid: string };
  /** DICOMDIR only: the file offset of each Directory Record Sequence item in the input (what its record offsets point at). */
  recordOffsets?: number[];
}

/**
 * The elements of a parsed file as writer input ({@link DicomElementInit}): values as raw bytes (big-endian
 * words swapped to little endian), sequences as items, encapsulated pixel data as its Basic Offset Table and
 * fragments, unchanged. Group lengths (gggg,0000) are left out (retired outside group 0002; the writer computes
 * what it needs). Elements of implicit VR files carry `vrOf(tag)` or 'UN' as their VR.
 * @param vrOf The VR to assume for an element whose file does not state it (implicit VR), or undefined.
 * @throws PhysiotwinError `DICOM_INVALID` for a big-endian file with an element of unknown VR (its bytes cannot be swapped).
 */
export function fileElements(file: DicomFile, vrOf: (tag: number) => string | undefined): FileElements {
  const ts = file.transferSyntaxUid;
  const bigEndian = ts === TS.explicitBE;
  const elements = datasetElements(file.dataset.raw, bigEndian, vrOf, file.dataset.source);
  const out: FileElements = { elements, transferSyntaxUid: bigEndian || ts === TS.deflatedLE ? TS.explicitLE : ts };
  const sopClassUid = file.meta.string('x00020002');
  const sopInstanceUid = file.meta.string('x00020003');
  if (sopClassUid && sopInstanceUid) out.mediaStorage = { sopClassUid, sopInstanceUid };
  const records = file.dataset.raw.elements[DIRECTORY_RECORDS];
  if (records?.items && ts !== TS.deflatedLE) out.recordOffsets = records.items.map((it) => it.dataOffset - 8);
  return out;
}

const DIRECTORY_RECORDS = 'x00041220';
/** DICOMDIR offsets: first and last root record (top level), next and lower-level record (in each record). */
const TOP_OFFSETS = [0x00041200, 0x00041202];
const RECORD_OFFSETS = [0x00041400, 0x00041420];

/**
 * Writes {@link FileElements} (possibly edited) as a Part 10 file. For a DICOMDIR, the record offsets
 * (0004,1200), (0004,1202), (0004,1400), (0004,1420) are rewritten to where the records now lie: each offset
 * that pointed at input record n points at output record n (records must be neither added nor removed).
 * @throws PhysiotwinError `INVALID_ARGUMENT` from the writer; `DICOM_INVALID` for a DICOMDIR offset that points at no record.
 */
export function writeFileElements(fe: FileElements): Uint8Array {
  const options = { transferSyntaxUid: fe.transferSyntaxUid, ...(fe.mediaStorage ? { mediaStorage: fe.mediaStorage } : {}) };
  const first = encodeDicom(fe.elements, options);
  const seq = fe.elements.find((e) => e.tag === 0x00041220);
  if (!fe.recordOffsets || !seq?.items) return first.bytes;
  const now = first.itemOffsets.get(0x00041220) ?? [];
  const index = new Map(fe.recordOffsets.map((o, i) => [o, i]));
  const remap = (e: DicomElementInit): DicomElementInit => {
    if (!ArrayBuffer.isView(e.value) || e.value.byteLength !== 4) return e;
    const v = new DataView(e.value.buffer, e.value.byteOffset, 4).getUint32(0, true);
    if (v === 0) return e; // no next / lower record
    const i = index.get(v);
    if (i === undefined || now[i] === undefined) throw new PhysiotwinError('DICOM_INVALID', `DICOMDIR offset ${v} in ${formatTag(e.tag.toString(16).padStart(8, '0'))} points at no directory record`);
    const out = new Uint8Array(4);
    new DataView(out.buffer).setUint32(0, now[i], true);
    return { ...e, value: out };
  };
  const elements = fe.elements.map((e) => {
    if (TOP_OFFSETS.includes(e.tag)) return remap(e);
    if (e.tag === 0x00041220) return { ...e, items: seq.items!.map((item) => item.map((x) => (RECORD_OFFSETS.includes(x.tag) ? remap(x) : x))) };
    return e;
  });
  // UL values keep their size: the second encoding has the records where the first had them.
  return encodeDicom(elements, options).bytes;
}

function datasetElements(ds: DataSet, bigEndian: boolean, vrOf: (tag: number) => string | undefined, source: string): DicomElementInit[] {
  const out: DicomElementInit[] = [];
  const bytes = ds.byteArray;
  for (const key of Object.keys(ds.elements)) {
    const el: Element = ds.elements[key]!;
    const tag = parseInt(key.slice(1), 16) >>> 0;
    if ((tag & 0xffff) === 0 || tag >>> 16 === 0xfffe) continue; // group length; item delimiters the parser kept
    if (!el.items && !el.encapsulatedPixelData && (el.vr ?? vrOf(tag)) === 'SQ') {
      // An empty sequence, or an implicit VR one the parser did not recognise: parse its items now (DicomDataset.items does).
      if (el.length === 0) el.items = [];
      else new DicomDataset(ds, source).items(key as TagKey);
    }
    if (el.items) {
      out.push({ tag, vr: 'SQ', items: el.items.map((it) => (it.dataSet ? datasetElements(it.dataSet, bigEndian, vrOf, source) : [])) });
      continue;
    }
    const vr = el.vr ?? vrOf(tag) ?? 'UN';
    if (el.encapsulatedPixelData) {
      out.push({ tag, vr: 'OB', fragments: encapsulated(bytes, el, source) });
      continue;
    }
    let value: Uint8Array = bytes.slice(el.dataOffset, el.dataOffset + el.length);
    // Native pixel data is swapped by its sample size (BitsAllocated), whatever its VR says (as pydicom reads it):
    // 8-bit samples are a byte stream, 32-bit doses in OW are 32-bit words.
    const bits = ds.uint16('x00280100') ?? 16;
    const word = tag === 0x7fe00010 ? (bits > 8 ? bits / 8 : undefined) : WORD[vr];
    if (bigEndian && word) value = swap(value, word);
    else if (bigEndian && el.vr === undefined) {
      throw new PhysiotwinError('DICOM_INVALID', `big-endian element ${formatTag(key)} has no VR: cannot convert it`, { location: { file: source, tag: formatTag(key) } });
    }
    out.push({ tag, vr, value });
  }
  return out;
}

function swap(b: Uint8Array, word: number): Uint8Array {
  const out = new Uint8Array(b.length);
  for (let i = 0; i + word <= b.length; i += word) for (let j = 0; j < word; j++) out[i + j] = b[i + word - 1 - j]!;
  return out;
}

/** The Basic Offset Table item's value and each fragment, copied from the file as they are. */
function encapsulated(bytes: Uint8Array, el: Element, source: string): Uint8Array[] {
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const at = el.dataOffset;
  if (at + 8 > bytes.length || dv.getUint16(at, true) !== 0xfffe || dv.getUint16(at + 2, true) !== 0xe000) {
    throw new PhysiotwinError('DICOM_INVALID', 'encapsulated Pixel Data does not start with the Basic Offset Table item', { location: { file: source, tag: '(7FE0,0010)', offset: at } });
  }
  const botLength = dv.getUint32(at + 4, true);
  const parts: Uint8Array[] = [bytes.slice(at + 8, at + 8 + botLength)];
  for (const f of el.fragments ?? []) parts.push(bytes.slice(f.position, f.position + f.length));
  return parts;
}
