import { PhysiotwinError } from '@physiotwin/core';
import { DEID_TABLE } from './data/deid-table.js';
import type { DicomElementInit } from './dicom-writer.js';
import { fileElements, writeFileElements } from './dicom-elements.js';
import { formatTag, parseDicom } from './parse.js';

/**
 * The options of the Basic Application Level Confidentiality Profile (PS3.15 E.3), as named on the command line.
 * Each switches the table's column of the same meaning (`rtnUIDsOpt`, ...).
 */
export type DeidOption =
  | 'retain-safe-private'
  | 'retain-uids'
  | 'retain-device-identity'
  | 'retain-institution-identity'
  | 'retain-patient-characteristics'
  | 'retain-long-full-dates'
  | 'retain-long-modified-dates'
  | 'clean-descriptors'
  | 'clean-structured-content'
  | 'clean-graphics';

/** Each option's Table E.1-1 column and its code in CID 7050 (DCM), in the order they are applied: retain first, clean last. */
const OPTIONS: Record<DeidOption, { column: string; code: string; meaning: string }> = {
  'retain-safe-private': { column: 'rtnSafePrivOpt', code: '113111', meaning: 'Retain Safe Private Option' },
  'retain-uids': { column: 'rtnUIDsOpt', code: '113110', meaning: 'Retain UIDs Option' },
  'retain-device-identity': { column: 'rtnDevIdOpt', code: '113109', meaning: 'Retain Device Identity Option' },
  'retain-institution-identity': { column: 'rtnInstIdOpt', code: '113112', meaning: 'Retain Institution Identity Option' },
  'retain-patient-characteristics': { column: 'rtnPatCharsOpt', code: '113108', meaning: 'Retain Patient Characteristics Option' },
  'retain-long-full-dates': { column: 'rtnLongFullDatesOpt', code: '113106', meaning: 'Retain Longitudinal Temporal Information Full Dates Option' },
  'retain-long-modified-dates': { column: 'rtnLongModifDatesOpt', code: '113107', meaning: 'Retain Longitudinal Temporal Information Modified Dates Option' },
  'clean-descriptors': { column: 'cleanDescOpt', code: '113105', meaning: 'Clean Descriptors Option' },
  'clean-structured-content': { column: 'cleanStructContOpt', code: '113104', meaning: 'Clean Structured Content Option' },
  'clean-graphics': { column: 'cleanGraphOpt', code: '113103', meaning: 'Clean Graphics Option' },
};

/** Every option name, in application order. */
export const DEID_OPTIONS = Object.keys(OPTIONS) as DeidOption[];

/** The edition of PS3.15 whose Table E.1-1 this module applies (see data/README.md). */
export const DEID_TABLE_EDITION = 'DICOM PS3.15 2024e Table E.1-1 (innolitics/dicom-standard 7f4749d)';

/** An action of Table E.1-1 once compound actions and options are resolved. */
export type DeidAction = 'X' | 'Z' | 'D' | 'U' | 'K' | 'C';

/** One attribute the profile changed (no values: the report must not carry what was removed). */
export interface DeidChange {
  /** `(GGGG,EEEE)`. */
  tag: string;
  /** Dictionary keyword, or `(private)`. */
  keyword: string;
  action: DeidAction;
  /** Where in the data set: `''` at the top level, else the sequence path, e.g. `(0008,1140)[0]`. */
  path: string;
}

/** Options of {@link createDeidentifier}. */
export interface DeidentifierOptions {
  /** Secret key of the UID hash (and the date shift of `retain-long-modified-dates`). Keep it to re-identify consistently; at least 16 bytes. */
  key: Uint8Array;
  /** Profile options. @default [] (Basic Profile only) */
  options?: DeidOption[];
  /** De-identify images with BurnedInAnnotation = YES anyway (their pixels may still show identity). @default false */
  allowBurnedIn?: boolean;
  /**
   * For `retain-safe-private`: private creators whose data elements are safe to keep (PS3.15 E.3.10 lists them per
   * creator; that table is not machine-readable here, so the caller names the creators it has checked).
   * @default [] (all private elements removed even with the option)
   */
  safePrivateCreators?: string[];
}

/** Result of de-identifying one file. */
export interface DeidResult {
  bytes: Uint8Array;
  changes: DeidChange[];
  /** The new SOP Instance UID (or Media Storage SOP Instance UID of a DICOMDIR). */
  sopInstanceUid: string;
  /** True when the image says BurnedInAnnotation = YES (de-identified only with `allowBurnedIn`). */
  burnedIn: boolean;
}

/** A configured de-identifier: one key and option set for a whole batch, so UIDs map the same in every file. */
export interface Deidentifier {
  /**
   * De-identifies one Part 10 file (or bare data set) and writes it as Part 10 in the same transfer syntax
   * (explicit VR little endian for big-endian and deflated inputs).
   * @throws PhysiotwinError `DEID_BURNED_IN` for BurnedInAnnotation = YES without `allowBurnedIn`; the parser's and
   * writer's errors (e.g. `INVALID_ARGUMENT` for a data set without SOP Instance UID).
   */
  deidentify(bytes: Uint8Array, source?: string): Promise<DeidResult>;
  /** Maps one UID as the de-identifier does (`2.25.` + HMAC-SHA-256 of it). */
  mapUid(uid: string): Promise<string>;
}

interface Row {
  keyword: string;
  vr: string;
  std: boolean;
  basic: string;
  opts: Map<string, string>;
}

const ROWS = new Map<string, Row>();
for (const [tag, keyword, vr, std, basic, opts] of DEID_TABLE) {
  ROWS.set(tag, { keyword, vr, std: std === 1, basic, opts: new Map(opts ? opts.split(',').map((o) => o.split(':') as [string, string]) : []) });
}

/** The table row of a tag: exact, or the repeating overlay (60xx) and curve (50xx) groups. */
function rowOf(tag: number): Row | undefined {
  const hex = (tag >>> 0).toString(16).padStart(8, '0');
  const exact = ROWS.get(hex);
  if (exact) return exact;
  const group = tag >>> 16;
  if (group >= 0x6000 && group <= 0x60ff && group % 2 === 0) return ROWS.get(`60xx${hex.slice(4)}`);
  if (group >= 0x5000 && group <= 0x50ff && group % 2 === 0) return ROWS.get('50xxxxxx');
  return undefined;
}

/**
 * Resolves a compound action (PS3.15 E.1.1: X/Z "X unless Z is required to maintain IOD conformance (Type 2)", X/D,
 * Z/D, X/Z/D, X/Z/U* likewise). The attribute's Type in the IOD at hand is not known here, so: an attribute in no
 * standard composite IOD (`stdCompIOD` N) has no Type and is removed (X); one that is in some IOD gets the least
 * revealing action that keeps any IOD conformant: Z for X/Z, D for X/D, Z/D and X/Z/D, U for X/Z/U* (a dummy or
 * zero-length value carries nothing of the original, and a file stays valid where the attribute is Type 1 or 2).
 */
function resolveCompound(row: Row): DeidAction {
  const parts = row.basic.replace('*', '').split('/') as DeidAction[];
  if (parts.length === 1) return parts[0]!;
  if (!row.std) return 'X';
  return parts.at(-1)!;
}

/** The action for a row under the chosen options: the Basic Profile's, overridden by each chosen option's column. */
function actionOf(row: Row, options: DeidOption[]): DeidAction {
  let action = resolveCompound(row);
  for (const o of DEID_OPTIONS) if (options.includes(o)) action = (row.opts.get(OPTIONS[o].column) as DeidAction | undefined) ?? action;
  return action;
}

/** Dummy values by VR (PS3.15 E.1.1 D: "a non-zero length value that may be a dummy value and consistent with the VR"). */
const DUMMY: Record<string, string | number> = {
  AE: 'ANONYMIZED', AS: '000Y', CS: 'ANONYMIZED', DA: '19000101', DS: '0', DT: '19000101000000', IS: '0', LO: 'ANONYMIZED',
  LT: 'ANONYMIZED', PN: 'ANONYMIZED', SH: 'ANONYMIZED', ST: 'ANONYMIZED', TM: '000000', UC: 'ANONYMIZED', UR: 'urn:anonymized', UT: 'ANONYMIZED',
  US: 0, SS: 0, UL: 0, SL: 0, FL: 0, FD: 0, SV: 0, UV: 0, AT: 0,
};

/**
 * The dummy value {@link createDeidentifier} writes for a VR (binary VRs other than these: zeros of the original length).
 * @throws nothing.
 */
export function dummyValue(vr: string): string | number | undefined {
  return DUMMY[vr];
}

const latin1 = new TextDecoder('latin1');
function text(v: DicomElementInit['value']): string {
  if (typeof v === 'string') return v;
  if (ArrayBuffer.isView(v)) return latin1.decode(v).replace(/[\0 ]+$/, '');
  return String(v ?? '');
}
function latin1Bytes(s: string): Uint8Array {
  return Uint8Array.from(s, (c) => c.charCodeAt(0) & 0xff);
}

const TEXT_VRS = new Set(['AE', 'CS', 'LO', 'LT', 'PN', 'SH', 'ST', 'UC', 'UT', 'DA', 'DT', 'TM', 'AS', 'UR']);

/** `2.25.` + the decimal of the first 192 bits of HMAC-SHA-256(key, uid): at most 5 + 58 = 63 characters (PS3.5 B.2). */
async function hmacUid(key: CryptoKey, uid: string): Promise<string> {
  const mac = new Uint8Array(await crypto.subtle.sign('HMAC', key, new TextEncoder().encode(uid)));
  let n = 0n;
  for (let i = 0; i < 24; i++) n = (n << 8n) | BigInt(mac[i]!);
  return `2.25.${n}`;
}

/**
 * Creates a de-identifier for a batch: PS3.15 Annex E Basic Application Level Confidentiality Profile driven by
 * Table E.1-1 ({@link DEID_TABLE_EDITION}), with the chosen options. Per attribute: X removed, Z emptied, D replaced by
 * a dummy of its VR, U replaced by `2.25.` + HMAC-SHA-256(key, UID) (so Study, Series, Frame of Reference and
 * referenced SOP Instance UIDs still match across files and inside sequences), K kept, C cleaned (text: words found
 * in the attributes the profile removed or replaced are masked with `*`; dates under
 * `retain-long-modified-dates`: shifted back by a key-derived 1..3650 days, times kept; sequences: cleaned item by
 * item; graphics under `clean-graphics`: kept, the option being the caller's statement that they were checked).
 * Sequences are processed recursively; private elements are removed (with `retain-safe-private`, those of the
 * creators in `safePrivateCreators` are kept). Attributes the table does not list (geometry, timing, pixel
 * description, pixel data) are kept as they are. Adds PatientIdentityRemoved = YES, DeidentificationMethod,
 * DeidentificationMethodCodeSequence (DCM 113100 + each option's code) and LongitudinalTemporalInformationModified.
 * Runs in browsers and Node (WebCrypto).
 * @throws PhysiotwinError `INVALID_ARGUMENT` for a key under 16 bytes, an unknown option, or both date options.
 * @example
 * ```ts
 * const deid = await createDeidentifier({ key, options: ['retain-patient-characteristics'] });
 * const { bytes, changes } = await deid.deidentify(fileBytes, 'CT1.dcm');
 * ```
 */
export async function createDeidentifier(init: DeidentifierOptions): Promise<Deidentifier> {
  if (init.key.length < 16) throw new PhysiotwinError('INVALID_ARGUMENT', `the de-identification key has ${init.key.length} bytes: at least 16 are needed`);
  const options = [...new Set(init.options ?? [])];
  for (const o of options) if (!(o in OPTIONS)) throw new PhysiotwinError('INVALID_ARGUMENT', `unknown de-identification option '${o}' (known: ${DEID_OPTIONS.join(', ')})`);
  if (options.includes('retain-long-full-dates') && options.includes('retain-long-modified-dates')) {
    throw new PhysiotwinError('INVALID_ARGUMENT', 'retain-long-full-dates and retain-long-modified-dates exclude each other');
  }
  const key = await crypto.subtle.importKey('raw', new Uint8Array(init.key), { name: 'HMAC', hash: 'SHA-256' }, false, ['sign']);
  const shiftMac = new Uint8Array(await crypto.subtle.sign('HMAC', key, new TextEncoder().encode('physiotwin date shift')));
  const shiftDays = (new DataView(shiftMac.buffer).getUint32(0) % 3650) + 1;
  const uids = new Map<string, Promise<string>>();
  const mapUid = (uid: string): Promise<string> => {
    let m = uids.get(uid);
    if (!m) uids.set(uid, (m = hmacUid(key, uid)));
    return m;
  };
  const safeCreators = new Set((init.safePrivateCreators ?? []).map((c) => c.trim()));
  const retainPrivate = options.includes('retain-safe-private');

  const shiftDate = (da: string): string => {
    const m = /^(\d{4})(\d{2})(\d{2})(.*)$/.exec(da);
    if (!m) return da;
    const t = new Date(Date.UTC(Number(m[1]), Number(m[2]) - 1, Number(m[3])) - shiftDays * 86400000);
    return `${t.getUTCFullYear().toString().padStart(4, '0')}${(t.getUTCMonth() + 1).toString().padStart(2, '0')}${t.getUTCDate().toString().padStart(2, '0')}${m[4]}`;
  };

  async function process(elements: DicomElementInit[], path: string, changes: DeidChange[], identifiers: string[]): Promise<DicomElementInit[]> {
    const out: DicomElementInit[] = [];
    // Private creators of this data set: (gggg,00xx) -> creator name, to find each private element's creator.
    const creators = new Map<number, string>();
    for (const e of elements) if ((e.tag >>> 16) % 2 === 1 && (e.tag & 0xffff) >= 0x10 && (e.tag & 0xffff) <= 0xff) creators.set(e.tag, text(e.value).trim());
    for (const e of elements) {
      const tag = formatTag(e.tag.toString(16).padStart(8, '0'));
      const group = e.tag >>> 16;
      if (group % 2 === 1) {
        const el = e.tag & 0xffff;
        const creatorTag = el < 0x100 ? e.tag : ((group << 16) | (el >>> 8)) >>> 0;
        if (retainPrivate && safeCreators.has(creators.get(creatorTag) ?? '\0')) out.push(e.items ? { ...e, items: await Promise.all(e.items.map((it, i) => process(it, `${path}${tag}[${i}]`, changes, identifiers))) } : e);
        else changes.push({ tag, keyword: '(private)', action: 'X', path });
        continue;
      }
      const row = rowOf(e.tag);
      const action = row ? actionOf(row, options) : 'K';
      const vr = e.vr === 'UN' && row ? row.vr : e.vr;
      if (action !== 'K') changes.push({ tag, keyword: row!.keyword, action, path });
      const recurse = async (): Promise<DicomElementInit> => ({ ...e, items: await Promise.all(e.items!.map((it, i) => process(it, `${path}${tag}[${i}]`, changes, identifiers))) });
      switch (action) {
        case 'X':
          break;
        case 'Z':
          out.push(e.items ? { tag: e.tag, vr: 'SQ', items: [] } : { tag: e.tag, vr, value: '' });
          break;
        case 'U':
          // U on a sequence (X/Z/U*): keep it, its items' UIDs replaced by their own rows.
          if (e.items) out.push(await recurse());
          else out.push({ tag: e.tag, vr, value: await Promise.all(text(e.value).split('\\').filter((u) => u !== '').map((u) => mapUid(u.trim()))) });
          break;
        case 'D':
          if (e.items) out.push(await recurse());
          else if (vr === 'UI') out.push({ tag: e.tag, vr, value: await mapUid(text(e.value) || tag) });
          else if (DUMMY[vr] !== undefined) out.push({ tag: e.tag, vr, value: DUMMY[vr] });
          else out.push({ tag: e.tag, vr, value: new Uint8Array(Math.max(2, ArrayBuffer.isView(e.value) ? e.value.byteLength : 0)) });
          break;
        case 'C':
          if (e.items) out.push(await recurse());
          else if (vr === 'DA' || vr === 'DT') out.push({ tag: e.tag, vr, value: options.includes('retain-long-modified-dates') ? text(e.value).split('\\').map(shiftDate) : text(e.value) });
          else if (TEXT_VRS.has(vr) && vr !== 'TM') out.push({ tag: e.tag, vr, value: latin1Bytes(mask(text(e.value), identifiers)) });
          else out.push(e);
          break;
        default:
          out.push(e.items ? await recurse() : e);
      }
    }
    return out;
  }

  async function deidentify(bytes: Uint8Array, source = '<bytes>'): Promise<DeidResult> {
    const file = parseDicom(bytes, { source });
    const burnedIn = file.dataset.string('x00280301')?.trim().toUpperCase() === 'YES';
    if (burnedIn && !init.allowBurnedIn) {
      throw new PhysiotwinError('DEID_BURNED_IN', 'BurnedInAnnotation (0028,0301) is YES: the pixels may show identity, which this profile does not clean; refused (allowBurnedIn / --allow-burned-in to proceed)', { location: { file: source, tag: '(0028,0301)' } });
    }
    const fe = fileElements(file, (tag) => rowOf(tag)?.vr);
    const identifiers = collectIdentifiers(fe.elements, options);
    const changes: DeidChange[] = [];
    const elements = await process(fe.elements, '', changes, identifiers);
    // The record of what was done; an earlier de-identification's method and codes are kept before ours.
    const record = new Set([0x00120062, 0x00120063, 0x00120064, 0x00280303]);
    const kept = elements.filter((e) => !record.has(e.tag));
    const earlier = (tag: number): DicomElementInit | undefined => elements.find((e) => e.tag === tag);
    const earlierMethod = earlier(0x00120063);
    const codes = [{ code: '113100', meaning: 'Basic Application Confidentiality Profile' }, ...DEID_OPTIONS.filter((o) => options.includes(o)).map((o) => OPTIONS[o])];
    kept.push(
      { tag: 0x00120062, vr: 'CS', value: 'YES' },
      { tag: 0x00120063, vr: 'LO', value: [...(earlierMethod ? text(earlierMethod.value).split('\\') : []), 'PS3.15 E.1-1 Basic Profile, physiotwin'] },
      {
        tag: 0x00120064,
        vr: 'SQ',
        items: [
          ...(earlier(0x00120064)?.items ?? []),
          ...codes.map((c) => [
            { tag: 0x00080100, vr: 'SH', value: c.code },
            { tag: 0x00080102, vr: 'SH', value: 'DCM' },
            { tag: 0x00080104, vr: 'LO', value: c.meaning },
          ]),
        ],
      },
      {
        tag: 0x00280303,
        vr: 'CS',
        value: options.includes('retain-long-full-dates') ? 'UNMODIFIED' : options.includes('retain-long-modified-dates') ? 'MODIFIED' : 'REMOVED',
      },
    );
    let mediaStorage = fe.mediaStorage;
    if (mediaStorage && !options.includes('retain-uids')) mediaStorage = { ...mediaStorage, sopInstanceUid: await mapUid(mediaStorage.sopInstanceUid) };
    const sop = kept.find((e) => e.tag === 0x00080018);
    const out = writeFileElements({ ...fe, elements: kept, ...(mediaStorage ? { mediaStorage } : {}) });
    const sopInstanceUid = sop ? text(Array.isArray(sop.value) ? String(sop.value[0]) : sop.value) : (mediaStorage?.sopInstanceUid ?? '');
    return { bytes: out, changes, sopInstanceUid, burnedIn };
  }

  return { deidentify, mapUid };
}

/** Values of the top-level attributes the profile removes or replaces, as words to mask in cleaned text. */
function collectIdentifiers(elements: DicomElementInit[], options: DeidOption[]): string[] {
  const words = new Set<string>();
  for (const e of elements) {
    const row = rowOf(e.tag);
    if (!row || e.items || !TEXT_VRS.has(e.vr === 'UN' ? row.vr : e.vr)) continue;
    const action = actionOf(row, options);
    if (action === 'K' || action === 'C') continue;
    for (const w of text(e.value).split(/[\\^=]/)) if (w.trim().length >= 3) words.add(w.trim());
  }
  return [...words].sort((a, b) => b.length - a.length);
}

function mask(s: string, words: string[]): string {
  let out = s;
  for (const w of words) {
    const re = new RegExp(w.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'), 'gi');
    out = out.replace(re, (m) => '*'.repeat(m.length));
  }
  return out;
}
