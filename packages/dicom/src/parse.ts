import type { DataSet, Element } from 'dicom-parser';
import { PhysiotwinError } from '@physiotwin/core';
// dicom-parser without Node's CommonJS lexer, and fflate on first use (see deps-platform.node.ts)
import { dicomParser, loadFflate } from '#deps-platform';

/** Transfer syntax UIDs this package knows by name. */
export const TS = {
  implicitLE: '1.2.840.10008.1.2',
  explicitLE: '1.2.840.10008.1.2.1',
  deflatedLE: '1.2.840.10008.1.2.1.99',
  explicitBE: '1.2.840.10008.1.2.2',
  jpegBaseline: '1.2.840.10008.1.2.4.50',
  jpegExtended: '1.2.840.10008.1.2.4.51',
  jpegLossless57: '1.2.840.10008.1.2.4.57',
  jpegLosslessSV1: '1.2.840.10008.1.2.4.70',
  jpegLS: '1.2.840.10008.1.2.4.80',
  jpegLSNear: '1.2.840.10008.1.2.4.81',
  j2kLossless: '1.2.840.10008.1.2.4.90',
  j2k: '1.2.840.10008.1.2.4.91',
  htj2kLossless: '1.2.840.10008.1.2.4.201',
  htj2kLosslessRPCL: '1.2.840.10008.1.2.4.202',
  htj2k: '1.2.840.10008.1.2.4.203',
  rle: '1.2.840.10008.1.2.5',
} as const;

/** Options of {@link parseDicom}. */
export interface ParseOptions {
  /** Name of the input, used in error messages. @default '<bytes>' */
  source?: string;
  /**
   * Stop parsing at this tag (format `xggggeeee`, e.g. `x7fe00010`): a cheap header-only read.
   * @default undefined (parse everything)
   */
  untilTag?: string;
  /**
   * Most bytes a deflated data set (transfer syntax 1.2.840.10008.1.2.1.99) may inflate to. Inflation stops as
   * soon as the bytes the header declares (up to the end of Pixel Data, or up to `untilTag`) are there, so this
   * only bounds what a header can ask for; raise it for legitimately larger deflated objects.
   * @default 1 GiB ({@link DEFAULT_MAX_INFLATED_BYTES})
   */
  maxInflatedBytes?: number;
}

/** Default bound on inflated (deflate or gzip) DICOM bytes: 1 GiB. */
export const DEFAULT_MAX_INFLATED_BYTES = 2 ** 30;

/** Input is fed to the inflater in pieces of this size, so output overshoots the bound by at most ~1032 times it. */
const INFLATE_CHUNK = 16 * 1024;

function tooLarge(what: string, limit: number, source: string): PhysiotwinError {
  return new PhysiotwinError('LIMIT_EXCEEDED', `${what} inflates to more than ${limit} bytes (the maxInflatedBytes limit; raise it to read this file)`, {
    location: { file: source },
    details: { limit, option: 'maxInflatedBytes' },
  });
}

/**
 * Decompresses a gzip file (a `.dcm.gz`) when `bytes` starts with the gzip magic; returns `bytes` itself otherwise.
 * @throws PhysiotwinError `DICOM_INVALID` for a corrupt stream, `LIMIT_EXCEEDED` past `maxBytes`.
 */
export function gunzipIfGzip(bytes: Uint8Array, source = '<bytes>', maxBytes = DEFAULT_MAX_INFLATED_BYTES): Uint8Array {
  if (bytes.length < 2 || bytes[0] !== 0x1f || bytes[1] !== 0x8b) return bytes;
  const parts: Uint8Array[] = [];
  let total = 0;
  const g = new (loadFflate().Gunzip)((chunk) => {
    parts.push(chunk);
    total += chunk.length;
  });
  try {
    for (let p = 0; p < bytes.length; p += INFLATE_CHUNK) {
      g.push(bytes.subarray(p, p + INFLATE_CHUNK), p + INFLATE_CHUNK >= bytes.length);
      if (total > maxBytes) throw tooLarge('gzip file', maxBytes, source);
    }
  } catch (e) {
    if (e instanceof PhysiotwinError) throw e;
    throw new PhysiotwinError('DICOM_INVALID', `gzip file does not decompress: ${(e as Error).message}`, { location: { file: source }, cause: e });
  }
  return concatParts(parts, total);
}

function concatParts(parts: Uint8Array[], total: number): Uint8Array {
  if (parts.length === 1) return parts[0]!;
  const out = new Uint8Array(total);
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

/** Binary value representations (the VR to assume for implicit VR files, where the file does not say). */
export type BinaryVr = 'US' | 'SS' | 'UL' | 'SL' | 'FL' | 'FD' | 'AT';

/** A DICOM tag as `xggggeeee` (dicom-parser's key format). */
export type TagKey = `x${string}`;

/**
 * The text of `length` bytes at `offset` up to the first NUL, each byte a Latin-1 code point: what dicom-parser's
 * readFixedString returns, without building the string one character at a time.
 */
function fixedString(bytes: Uint8Array, offset: number, length: number): string {
  let part = bytes.subarray(offset, offset + length);
  const nul = part.indexOf(0);
  if (nul >= 0) part = part.subarray(0, nul);
  let text = '';
  // fromCharCode.apply takes one argument per byte: chunks keep it far below engines' argument limits
  for (let i = 0; i < part.length; i += 8192) text += String.fromCharCode.apply(null, part.subarray(i, i + 8192) as unknown as number[]);
  return text;
}

/**
 * One parsed DICOM data set (a file, or an item of a sequence) with typed accessors.
 * Values are read lazily from the underlying bytes; nothing is copied.
 */
export class DicomDataset {
  /** @internal */
  readonly raw: DataSet;
  /** Where the data set came from (file path or `<bytes>`), for error messages. */
  readonly source: string;

  /** @internal */
  constructor(raw: DataSet, source: string) {
    this.raw = raw;
    this.source = source;
  }

  /** The element of `tag`, or undefined. */
  element(tag: TagKey): Element | undefined {
    return this.raw.elements[tag];
  }

  /** True when the element is present (even with zero length). */
  has(tag: TagKey): boolean {
    return this.raw.elements[tag] !== undefined;
  }

  /** A string value (trailing padding removed), or undefined when absent or empty. */
  string(tag: TagKey, index?: number): string | undefined {
    const el = this.raw.elements[tag];
    if (!el || el.length === 0) return undefined;
    this.checkBounds(el, tag);
    // dicom-parser's string() builds the text one character at a time (most of a series scan's parsing time);
    // this reads the same text (up to the first NUL, bytes as Latin-1 code points) in one call.
    const text = (el as { Value?: unknown }).Value !== undefined ? this.raw.string(tag) : fixedString(this.raw.byteArray, el.dataOffset, el.length);
    const s = index === undefined ? text?.trim() : text?.split('\\')[index]?.trim();
    return s === undefined || s === '' ? undefined : s;
  }

  /** All backslash-separated string values. */
  strings(tag: TagKey): string[] {
    const el = this.raw.elements[tag];
    if (!el || el.length === 0) return [];
    this.checkBounds(el, tag);
    const text = fixedString(this.raw.byteArray, el.dataOffset, el.length);
    if (text.trim() === '') return [];
    return text.split('\\').map((v) => v.trim());
  }

  /**
   * Numeric values of a tag whatever its VR: binary (US, SS, UL, SL, FL, FD) or text (IS, DS).
   * In implicit VR files the VR comes from `binary`, which the caller knows from the dictionary (omit it for IS/DS).
   * AT values come back as [group, element] pairs.
   * Returns [] when absent. Non-numeric text becomes NaN (callers validate).
   */
  numbers(tag: TagKey, binary?: BinaryVr): number[] {
    const el = this.raw.elements[tag];
    if (!el || el.length === 0) return [];
    this.checkBounds(el, tag);
    // AT (attribute tag) values are pairs of US: group, element.
    const vr = (el.vr ?? binary) === 'AT' ? 'US' : (el.vr ?? binary);
    const size = vr === 'US' || vr === 'SS' ? 2 : vr === 'UL' || vr === 'SL' || vr === 'FL' ? 4 : vr === 'FD' ? 8 : 0;
    if (size > 0) {
      const n = Math.floor(el.length / size);
      const out = new Array<number>(n);
      for (let i = 0; i < n; i++) {
        const v =
          vr === 'US' ? this.raw.uint16(tag, i)
          : vr === 'SS' ? this.raw.int16(tag, i)
          : vr === 'UL' ? this.raw.uint32(tag, i)
          : vr === 'SL' ? this.raw.int32(tag, i)
          : vr === 'FL' ? this.raw.float(tag, i)
          : this.raw.double(tag, i);
        out[i] = v ?? Number.NaN;
      }
      return out;
    }
    return this.strings(tag).map((s) => (s === '' ? Number.NaN : Number(s)));
  }

  /** The first numeric value, or undefined when absent or not a finite number. */
  number(tag: TagKey, binary?: BinaryVr): number | undefined {
    const v = this.numbers(tag, binary)[0];
    return v !== undefined && Number.isFinite(v) ? v : undefined;
  }

  /**
   * The items of a sequence (empty when absent or not a sequence). Sequences the parser could not recognise
   * (private sequences of defined length in implicit VR files, whose VR the file does not state) are parsed
   * here on first use when their value starts with an item tag.
   * @throws PhysiotwinError `DICOM_TRUNCATED` / `DICOM_INVALID` when such a late-parsed sequence is malformed.
   */
  items(tag: TagKey): DicomDataset[] {
    const el = this.raw.elements[tag];
    if (!el) return [];
    if (!el.items && !el.encapsulatedPixelData && el.length >= 8 && el.length !== 0xffffffff) {
      const b = this.raw.byteArray;
      const o = el.dataOffset;
      // (FFFE,E000) item tag in the data set's byte order
      const le = b[o] === 0xfe && b[o + 1] === 0xff && b[o + 2] === 0x00 && b[o + 3] === 0xe0;
      const be = b[o] === 0xff && b[o + 1] === 0xfe && b[o + 2] === 0xe0 && b[o + 3] === 0x00;
      if (le || be) {
        const seqEl = { ...el };
        try {
          const stream = new dicomParser.ByteStream(this.raw.byteArrayParser, b, o);
          if (el.vr === undefined) dicomParser.readSequenceItemsImplicit(stream, seqEl);
          else dicomParser.readSequenceItemsExplicit(stream, seqEl, []);
        } catch (e) {
          throw toDicomError(e, this.source, `cannot parse sequence ${formatTag(tag)}`);
        }
        checkElementBounds({ elements: Object.fromEntries((seqEl.items ?? []).map((it, i) => [`item${i}`, it])) } as unknown as DataSet, b.length, this.source);
        el.items = seqEl.items;
      }
    }
    if (!el.items) return [];
    const out: DicomDataset[] = [];
    for (const item of el.items) if (item.dataSet) out.push(new DicomDataset(item.dataSet, this.source));
    return out;
  }

  /** The raw bytes of an element's value (a view, not a copy). */
  bytes(tag: TagKey): Uint8Array | undefined {
    const el = this.raw.elements[tag];
    if (!el) return undefined;
    this.checkBounds(el, tag);
    const b = this.raw.byteArray;
    return new Uint8Array(b.buffer, b.byteOffset + el.dataOffset, el.length);
  }

  private checkBounds(el: Element, tag: string): void {
    if (el.dataOffset + el.length > this.raw.byteArray.length) {
      throw new PhysiotwinError('DICOM_TRUNCATED', `value of ${formatTag(tag)} runs past the end of the data`, {
        location: { file: this.source, tag: formatTag(tag), offset: el.dataOffset },
      });
    }
  }
}

/** A parsed DICOM file: its main data set plus what the file meta information said. */
export interface DicomFile {
  dataset: DicomDataset;
  /** The file meta information (group 0002), empty for files without a meta header. */
  meta: DicomDataset;
  /** The transfer syntax of the data set (from the meta header, or detected for files without one). */
  transferSyntaxUid: string;
  /** True when the file had a Part 10 meta header (with or without the 128-byte preamble). */
  hasMetaHeader: boolean;
  /** Warnings about irregularities that were tolerated (e.g. transfer syntax guessed). */
  warnings: string[];
}

/**
 * `x00280010` -> `(0028,0010)`.
 * @throws nothing.
 */
export function formatTag(tag: string): string {
  const t = tag.startsWith('x') ? tag.slice(1) : tag;
  return `(${t.slice(0, 4)},${t.slice(4, 8)})`.toUpperCase();
}

function readAscii(bytes: Uint8Array, at: number, n: number): string {
  let s = '';
  for (let i = 0; i < n && at + i < bytes.length; i++) s += String.fromCharCode(bytes[at + i]!);
  return s;
}

const VRS = new Set(
  'AE AS AT CS DA DS DT FL FD IS LO LT OB OD OF OL OV OW PN SH SL SQ SS ST SV TM UC UI UL UN UR US UT UV'.split(' '),
);

/** Guesses the transfer syntax of a data set without meta header from its first element. */
function detectTransferSyntax(bytes: Uint8Array, at: number, source: string, bare: boolean): string {
  if (bytes.length - at < 8) {
    throw new PhysiotwinError('DICOM_TRUNCATED', `only ${bytes.length - at} bytes: too short for a DICOM data set`, {
      location: { file: source, offset: at },
    });
  }
  const b0 = bytes[at]!;
  const b1 = bytes[at + 1]!;
  const explicit = VRS.has(readAscii(bytes, at + 4, 2));
  // Groups are small (0x0002..0x0028 come first): a big-endian group has its low byte second.
  const bigEndian = b0 === 0 && b1 !== 0;
  const group = bigEndian ? (b0 << 8) | b1 : b0 | (b1 << 8);
  // Without a DICM prefix nothing says the bytes are DICOM: group 0 (DIMSE commands) and odd groups below 0x0010
  // (reserved) never start a stored data set (a file of zeros read as endless (0000,0000) elements of length 0).
  // A file with the prefix is read as it is (pydicom's meta_missing_tsyntax.dcm starts with (0001,0001)).
  if (group > 0x0010 || (bare && (group === 0 || group % 2 === 1))) {
    throw new PhysiotwinError('DICOM_INVALID', `not a DICOM file: no DICM prefix, and the first element's group 0x${group.toString(16).padStart(4, '0')} does not start a data set`, {
      location: { file: source, offset: at },
    });
  }
  if (bigEndian) return TS.explicitBE;
  return explicit ? TS.explicitLE : TS.implicitLE;
}

/** Turns whatever dicom-parser threw (strings, objects) into a typed error. */
function toDicomError(e: unknown, source: string, what: string): PhysiotwinError {
  if (e instanceof PhysiotwinError) return e;
  const inner = typeof e === 'object' && e !== null && 'exception' in e ? (e as { exception: unknown }).exception : e;
  const msg = inner instanceof Error ? inner.message : String(inner);
  const truncated = /past end|overrun|eof|end of buffer|beyond|outside the bounds|out of range|maxP ?osition/i.test(msg);
  return new PhysiotwinError(truncated ? 'DICOM_TRUNCATED' : 'DICOM_INVALID', `${what}: ${msg}`, {
    location: { file: source },
    cause: e,
  });
}

/**
 * Bytes of an inflated explicit-LE data set that its header needs: up to the end of Pixel Data (or of `untilTag`'s
 * value; the start of it for Pixel Data), or Infinity while the header is not complete / has no such element.
 */
function bytesNeeded(body: Uint8Array, untilTag: string | undefined): number {
  const DataSetCtor = (dicomParser as unknown as { DataSet: new (p: unknown, b: Uint8Array, e: object) => DataSet }).DataSet;
  const raw = new DataSetCtor(dicomParser.littleEndianByteArrayParser, body, {});
  const stop = untilTag ?? 'x7fe00010';
  try {
    dicomParser.parseDicomDataSetExplicit(raw, new dicomParser.ByteStream(dicomParser.littleEndianByteArrayParser, body, 0), body.length, { untilTag: stop });
  } catch {
    return Infinity;
  }
  const el = raw.elements[stop];
  if (!el || el.length === 0xffffffff) return Infinity;
  // a header read stops before Pixel Data's value; any other stop tag's value is part of what is read
  return untilTag === 'x7fe00010' ? el.dataOffset : el.dataOffset + el.length;
}

/**
 * Inflates a raw deflate stream only as far as the data set's header needs (see {@link bytesNeeded}), and never past
 * `limit` bytes. A stream that ends early (a file prefix) gives what it holds, marked `complete: false`.
 */
function inflateDataset(deflated: Uint8Array, source: string, untilTag: string | undefined, limit: number): { body: Uint8Array; complete: boolean } {
  const parts: Uint8Array[] = [];
  let total = 0;
  let needed = Infinity;
  let nextCheck = 4096;
  const inf = new (loadFflate().Inflate)((chunk) => {
    parts.push(chunk);
    total += chunk.length;
  });
  let ended = false;
  try {
    for (let p = 0; p < deflated.length && total < needed; p += INFLATE_CHUNK) {
      const last = p + INFLATE_CHUNK >= deflated.length;
      inf.push(deflated.subarray(p, p + INFLATE_CHUNK), last);
      ended = last;
      if (needed === Infinity && total >= nextCheck) {
        nextCheck = total * 2;
        needed = bytesNeeded(concatParts(parts, total), untilTag);
      }
      if (Math.min(total, needed) > limit) throw tooLarge('deflated data set', limit, source);
    }
  } catch (e) {
    if (e instanceof PhysiotwinError) throw e;
    const msg = (e as Error).message;
    // A cut stream (a header-only prefix) ends with "unexpected EOF": keep what inflated.
    if (!/unexpected EOF/i.test(msg)) {
      throw new PhysiotwinError('DICOM_INVALID', `deflated data set does not inflate: ${msg}`, { location: { file: source }, cause: e });
    }
    ended = false;
  }
  const body = concatParts(parts, total);
  if (needed === Infinity) needed = bytesNeeded(body, untilTag);
  const complete = ended || total >= needed;
  return { body: needed < body.length ? body.subarray(0, needed) : body, complete };
}

/**
 * Parses a DICOM file: Part 10 (with or without the 128-byte preamble), or a bare data set without meta header
 * (implicit VR LE, explicit VR LE or BE, detected from the first element). Deflated data sets are inflated
 * (works in Node and browsers). Undefined-length sequences and items, private tags and DICOMDIRs parse like any data set.
 * @param bytes The whole file.
 * @throws PhysiotwinError `DICOM_TRUNCATED` when an element runs past the end, `DICOM_INVALID` for malformed data.
 * @example
 * ```ts
 * const file = parseDicom(readFileSync('CT.dcm'), { source: 'CT.dcm' });
 * file.dataset.number('x00280010', 'US'); // Rows
 * ```
 */
export function parseDicom(bytes: Uint8Array, options: ParseOptions = {}): DicomFile {
  const source = options.source ?? '<bytes>';
  const warnings: string[] = [];
  let metaStart = -1;
  if (bytes.length >= 132 && readAscii(bytes, 128, 4) === 'DICM') metaStart = 132;
  else if (bytes.length >= 4 && readAscii(bytes, 0, 4) === 'DICM') metaStart = 4;

  let dataStart = 0;
  let tsUid: string | undefined;
  const DataSetCtor = (dicomParser as unknown as { DataSet: new (p: unknown, b: Uint8Array, e: object) => DataSet }).DataSet;
  const metaElements: Record<string, Element> = {};
  if (metaStart >= 0) {
    const warn: string[] = [];
    let position = metaStart;
    try {
      const stream = new dicomParser.ByteStream(dicomParser.littleEndianByteArrayParser, bytes, metaStart);
      while (stream.position + 8 <= bytes.length) {
        const group = bytes[stream.position]! | (bytes[stream.position + 1]! << 8);
        if (group !== 0x0002) break;
        const el = dicomParser.readDicomElementExplicit(stream, warn);
        if (el.dataOffset + el.length > bytes.length) {
          throw new PhysiotwinError('DICOM_TRUNCATED', `meta element ${formatTag(el.tag)} runs past the end`, {
            location: { file: source, tag: formatTag(el.tag), offset: el.dataOffset },
          });
        }
        metaElements[el.tag] = el;
        if (el.tag === 'x00020010') tsUid = readAscii(bytes, el.dataOffset, el.length).replace(/[\0 ]+$/, '');
        position = stream.position;
      }
    } catch (e) {
      throw toDicomError(e, source, 'cannot read the file meta information');
    }
    dataStart = position;
    if (!tsUid) {
      tsUid = detectTransferSyntax(bytes, dataStart, source, false);
      warnings.push(`meta header has no TransferSyntaxUID (0002,0010); detected ${tsUid} from the data`);
    }
  } else {
    tsUid = detectTransferSyntax(bytes, 0, source, true);
    warnings.push(`no Part 10 meta header; detected ${tsUid} from the first element`);
  }

  let body = bytes;
  let bodyStart = dataStart;
  if (tsUid === TS.deflatedLE) {
    const r = inflateDataset(bytes.subarray(dataStart), source, options.untilTag, options.maxInflatedBytes ?? DEFAULT_MAX_INFLATED_BYTES);
    if (!r.complete) {
      throw new PhysiotwinError('DICOM_TRUNCATED', 'the deflated data set ends before its header does', { location: { file: source, offset: dataStart } });
    }
    body = r.body;
    bodyStart = 0;
  }
  const parser = tsUid === TS.explicitBE ? dicomParser.bigEndianByteArrayParser : dicomParser.littleEndianByteArrayParser;
  const raw = new DataSetCtor(parser, body, {});
  raw.warnings = [];
  if (bodyStart >= body.length) {
    throw new PhysiotwinError('DICOM_TRUNCATED', 'the file ends after its meta information: no data set', { location: { file: source, offset: bodyStart } });
  }
  try {
    const stream = new dicomParser.ByteStream(parser, body, bodyStart);
    const opts = options.untilTag ? { untilTag: options.untilTag } : undefined;
    if (tsUid === TS.implicitLE) dicomParser.parseDicomDataSetImplicit(raw, stream, body.length, opts);
    else dicomParser.parseDicomDataSetExplicit(raw, stream, body.length, opts);
  } catch (e) {
    throw toDicomError(e, source, 'cannot parse the data set');
  }
  checkElementBounds(raw, body.length, source, options.untilTag);
  const meta = new DicomDataset(new DataSetCtor(dicomParser.littleEndianByteArrayParser, bytes, metaElements), source);
  return { dataset: new DicomDataset(raw, source), meta, transferSyntaxUid: tsUid, hasMetaHeader: metaStart >= 0, warnings };
}

/** Every element (recursively) must lie inside the bytes: dicom-parser does not always check. */
function checkElementBounds(ds: DataSet, size: number, source: string, untilTag?: string): void {
  for (const key in ds.elements) {
    const el = ds.elements[key]!;
    if (key === untilTag) continue; // header-only read: this element's value was not read
    if (el.dataOffset < 0 || el.length < 0 || el.dataOffset + el.length > size) {
      throw new PhysiotwinError('DICOM_TRUNCATED', `element ${formatTag(el.tag)} (length ${el.length}) runs past the end of the data`, {
        location: { file: source, tag: formatTag(el.tag), offset: el.dataOffset },
      });
    }
    if (el.items) for (const it of el.items) if (it.dataSet) checkElementBounds(it.dataSet, size, source);
  }
}
