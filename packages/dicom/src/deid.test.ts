import { createHmac } from 'node:crypto';
import { cpSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, dirname, join, relative } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isPhysiotwinError } from '@physiotwin/core';
import { DEID_TABLE } from './data/deid-table.js';
import { createDeidentifier, dummyValue } from './deid.js';
import type { Deidentifier, DeidentifierOptions } from './deid.js';
import type { DicomElementInit } from './dicom-writer.js';
import { writeDicom } from './dicom-writer.js';
import { fileElements } from './dicom-elements.js';
import { parseDicom } from './parse.js';
import { scanDicomPaths } from './node.js';
import { loadVolume } from './volume.js';
import { fixture, readFixture } from './test-util.js';
import { fixtureDicomFiles } from './fixture-files.test-helper.js';
import { HAS_DCMDUMP, HAS_PYDICOM, PEER_SKIP, dcmdump, pydicomJson } from './peer-tools.test-helper.js';

const KEY = new TextEncoder().encode('physiotwin test key, 32 bytes...');
const OTHER_KEY = new TextEncoder().encode('another key for the same inputs!');

/** The UID the standard's recipe gives, computed here with node:crypto (not the code under test's WebCrypto). */
function expectedUid(key: Uint8Array, uid: string): string {
  const hex = createHmac('sha256', key).update(uid).digest('hex');
  return `2.25.${BigInt('0x' + hex.slice(0, 48))}`;
}

/** Table E.1-1 as the test reads it: tag -> [VR, in a standard IOD, Basic Profile action]. */
const TABLE = new Map(DEID_TABLE.map(([tag, , vr, std, basic]) => [tag, { vr, std: std === 1, basic }]));

/** Expected action without options. Compound actions: X when in no standard IOD, else the last (least revealing conformant) one. */
function expectedAction(tag: number): string | undefined {
  const hex = tag.toString(16).padStart(8, '0');
  const g = tag >>> 16;
  const row = TABLE.get(hex) ?? (g >= 0x6000 && g <= 0x60ff ? TABLE.get(`60xx${hex.slice(4)}`) : g >= 0x5000 && g <= 0x50ff ? TABLE.get('50xxxxxx') : undefined);
  if (!row) return undefined;
  const parts = row.basic.replace('*', '').split('/');
  return parts.length === 1 ? parts[0] : row.std ? parts.at(-1) : 'X';
}

/** PatientIdentityRemoved, DeidentificationMethod, its code sequence, LongitudinalTemporalInformationModified. */
const RECORD = [0x00120062, 0x00120063, 0x00120064, 0x00280303];
const latin1 = new TextDecoder('latin1');
const str = (e: DicomElementInit): string => (ArrayBuffer.isView(e.value) ? latin1.decode(e.value).replace(/[\0 ]+$/, '') : String(e.value ?? ''));
const isEmpty = (e: DicomElementInit): boolean => (e.items ? e.items.length === 0 : ArrayBuffer.isView(e.value) ? e.value.byteLength === 0 : str(e) === '');

/** Checks one data set (and its items) of the output against the input; returns problems as text. */
function check(input: DicomElementInit[], output: DicomElementInit[], path: string, key: Uint8Array, problems: string[], counts: Record<string, number>): void {
  const out = new Map(output.map((e) => [e.tag, e]));
  for (const o of output) if ((o.tag >>> 16) % 2 === 1) problems.push(`${path}${o.tag.toString(16)}: private element remains`);
  for (const e of input) {
    if ((e.tag >>> 16) % 2 === 1) continue;
    const tagText = `${path}${e.tag.toString(16).padStart(8, '0')}`;
    const o = out.get(e.tag);
    if (RECORD.includes(e.tag)) continue; // the de-identification record: written by the profile (checked below)
    const action = expectedAction(e.tag) ?? 'K';
    counts[action] = (counts[action] ?? 0) + 1;
    if (action === 'X') {
      if (o) problems.push(`${tagText}: X but present`);
      continue;
    }
    if (!o) {
      problems.push(`${tagText}: ${action} but absent`);
      continue;
    }
    if (action === 'Z') {
      if (!isEmpty(o)) problems.push(`${tagText}: Z but not empty`);
    } else if (action === 'U' && e.items) {
      if (o.items?.length !== e.items.length) problems.push(`${tagText}: U sequence lost items`);
      else e.items.forEach((it, i) => check(it, o.items![i]!, `${tagText}[${i}].`, key, problems, counts));
    } else if (action === 'U') {
      const want = str(e).split('\\').filter((u) => u).map((u) => expectedUid(key, u.trim())).join('\\');
      if (str(o) !== want) problems.push(`${tagText}: U gives ${str(o)}, expected ${want}`);
    } else if (action === 'D') {
      if (e.items) {
        if (o.items?.length !== e.items.length) problems.push(`${tagText}: D sequence lost items`);
        else e.items.forEach((it, i) => check(it, o.items![i]!, `${tagText}[${i}].`, key, problems, counts));
      } else {
        const vr = o.vr;
        const want = vr === 'UI' ? expectedUid(key, str(e)) : dummyValue(vr);
        if (isEmpty(o)) problems.push(`${tagText}: D but empty`);
        else if (want !== undefined && str(o) !== String(want)) problems.push(`${tagText}: D gives '${str(o)}', expected dummy '${want}'`);
      }
    } else if (e.items) {
      if (o.items?.length !== e.items.length) problems.push(`${tagText}: kept sequence lost items`);
      else e.items.forEach((it, i) => check(it, o.items![i]!, `${tagText}[${i}].`, key, problems, counts));
    } else if (action === 'K' && e.fragments) {
      if (o.fragments?.length !== e.fragments.length || o.fragments.some((f, i) => Buffer.compare(Buffer.from(f.buffer, f.byteOffset, f.byteLength), Buffer.from(e.fragments![i]!.buffer, e.fragments![i]!.byteOffset, e.fragments![i]!.byteLength)) !== 0)) problems.push(`${tagText}: encapsulated pixel data changed`);
    } else if (action === 'K' && ![0x00041200, 0x00041202, 0x00041400, 0x00041420].includes(e.tag)) {
      const a = e.value as Uint8Array, b = o.value as Uint8Array;
      if (!ArrayBuffer.isView(b) || Buffer.compare(Buffer.from(a), Buffer.from(b.buffer, b.byteOffset, b.byteLength)) !== 0) problems.push(`${tagText}: kept attribute changed`);
    }
  }
}

const tmp = mkdtempSync(join(tmpdir(), 'physiotwin-deid-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));
const rowVr = (tag: number): string | undefined => TABLE.get(tag.toString(16).padStart(8, '0'))?.vr;

describe('de-identification by PS3.15 Table E.1-1 over every fixture DICOM file', () => {
  const files = fixtureDicomFiles();
  let deid: Deidentifier;
  const written: { rel: string; out: string }[] = [];
  beforeAll(async () => {
    deid = await createDeidentifier({ key: KEY });
  });

  it('each listed attribute gets exactly its action (X absent, Z empty, D dummy, U keyed hash), in sequences too; no private element remains; the rest is untouched', async () => {
    const problems: string[] = [];
    const counts: Record<string, number> = {};
    for (const { rel, file } of files) {
      let result;
      try {
        result = await deid.deidentify(readFixture(rel), rel);
      } catch (e) {
        // A bare data set without SOP Instance UID cannot be written as Part 10: refused with a clear error.
        if (isPhysiotwinError(e) && e.code === 'INVALID_ARGUMENT' && /SOPClassUID/.test(e.message)) continue;
        throw e;
      }
      const input = fileElements(file, rowVr).elements;
      const output = fileElements(parseDicom(result.bytes, { source: `deid ${rel}` }), rowVr);
      check(input, output.elements, `${rel} `, KEY, problems, counts);
      const back = parseDicom(result.bytes);
      expect(back.dataset.string('x00120062'), rel).toBe('YES');
      expect(back.dataset.items('x00120064').at(-1)!.string('x00080100'), rel).toBe('113100');
      expect(back.dataset.strings('x00120063').at(-1), rel).toBe('PS3.15 E.1-1 Basic Profile, physiotwin');
      expect(result.changes.every((c) => !('value' in c)), rel).toBe(true);
      const out = join(tmp, 'all', `${written.length}.dcm`);
      mkdirSync(dirname(out), { recursive: true });
      writeFileSync(out, result.bytes);
      written.push({ rel, out });
    }
    expect(problems).toEqual([]);
    expect(written.length).toBeGreaterThan(150);
    // Every kind of action was exercised by the fixtures.
    for (const a of ['X', 'Z', 'D', 'U', 'K']) expect(counts[a] ?? 0, a).toBeGreaterThan(0);
  });

  it.skipIf(!HAS_DCMDUMP)(`dcmdump reads every de-identified file without an error or warning (${PEER_SKIP})`, () => {
    const problems = dcmdump(written.map((w) => w.out)).filter((r) => r.status !== 0 || r.stderr !== '');
    expect(problems.map((p) => `${written.find((w) => w.out === p.path)!.rel}: ${p.stderr}`)).toEqual([]);
  });

  it.skipIf(!HAS_PYDICOM)(`pydicom reads every de-identified file, with no private tag and PatientIdentityRemoved YES (${PEER_SKIP})`, () => {
    const script = `
import sys, json, pydicom
bad = []
for f in sys.argv[1:]:
    d = pydicom.dcmread(f)
    privates = []
    d.walk(lambda ds, el: privates.append(str(el.tag)) if el.tag.is_private else None)
    if privates or d.get('PatientIdentityRemoved') != 'YES': bad.append([f, privates])
print(json.dumps(bad))
`;
    expect(pydicomJson<unknown[]>(script, written.map((w) => w.out))).toEqual([]);
  }, 30_000);
});

describe('de-identified series', () => {
  // Native, gantry-tilted, Enhanced multi-frame, RLE and JPEG-lossless encapsulated, a multi-series study, and Siemens
  // 12-bit mosaics: their slice layout is in the private CSA header, so they load again only when that creator's
  // block is kept (retain-safe-private with 'SIEMENS CSA HEADER'); without it the scan refuses them (next test).
  const SIEMENS = { options: ['retain-safe-private' as const], safePrivateCreators: ['SIEMENS CSA HEADER'] };
  const SERIES: [string, Partial<DeidentifierOptions>][] = [
    ['physiotwin_tilt/dicom', {}],
    ['dcm_qa_enh/In', {}],
    ['dicomParser/encapsulated/multi-frame/CT0012.not_fragmented_bot_rle.dcm', {}],
    ['dcmtk_jpeg_lossless/CT_small_sv1.dcm', {}],
    ['pydicom/test_files/dicomdirtests/98892001', {}],
    ['dcm_qa_12bit/In', SIEMENS],
  ];
  it('Siemens mosaics lose their slice layout with the private CSA header (Basic Profile): the scan says so', async () => {
    const deid = await createDeidentifier({ key: KEY });
    const out = join(tmp, 'mosaic-basic.dcm');
    writeFileSync(out, (await deid.deidentify(readFixture('dcm_qa_12bit/In/12bitSigned_0x0F0F.dcm'))).bytes);
    const scan = await scanDicomPaths([out]);
    expect(scan.groups.length).toBe(0);
    expect(scan.skipped[0]!.message).toMatch(/CSA/);
  });
  it.each(SERIES)('%s loads to the same volumes, voxel for voxel and in geometry, with one frame of reference per series', async (rel, opts) => {
    const src = fixture(rel);
    const deid = await createDeidentifier({ key: KEY, ...opts });
    const out = join(tmp, rel.replace(/\//g, '_'));
    const walk = (d: string): string[] => (statSync(d).isDirectory() ? readdirSync(d).flatMap((n) => walk(join(d, n))) : [d]);
    for (const p of walk(src)) {
      const target = statSync(src).isDirectory() ? join(out, relative(src, p)) : join(out, basename(p));
      mkdirSync(dirname(target), { recursive: true });
      writeFileSync(target, (await deid.deidentify(new Uint8Array(readFileSync(p)), p)).bytes);
    }
    const a = await scanDicomPaths([src]);
    const b = await scanDicomPaths([out]);
    expect(b.groups.length).toBe(a.groups.length);
    expect(a.groups.length).toBeGreaterThan(0);
    // Series UIDs are remapped: pair the groups by the mapped UID of the original series (and their order within it).
    for (const ga of a.groups) {
      const mapped = await deid.mapUid(ga.seriesInstanceUid);
      const gbs = b.groups.filter((g) => g.seriesInstanceUid === mapped);
      const gb = gbs[a.groups.filter((g) => g.seriesInstanceUid === ga.seriesInstanceUid).indexOf(ga)]!;
      expect(gb, ga.seriesInstanceUid).toBeDefined();
      const va = (await loadVolume(ga, a.sources, { spacing: 'report' })).volume;
      const vb = (await loadVolume(gb, b.sources, { spacing: 'report' })).volume;
      expect(vb.dims).toEqual(va.dims);
      expect(vb.spacing).toEqual(va.spacing);
      expect(vb.origin).toEqual(va.origin);
      expect(vb.direction).toEqual(va.direction);
      expect(vb.rescale).toEqual(va.rescale);
      expect(Buffer.compare(Buffer.from(vb.data.buffer, vb.data.byteOffset, vb.data.byteLength), Buffer.from(va.data.buffer, va.data.byteOffset, va.data.byteLength))).toBe(0);
      const frames = new Set(gb.frames.map((f) => parseDicom(new Uint8Array(readFileSync(b.sources[f.sourceIndex]!.name))).dataset.string('x00200052')));
      expect(frames.size).toBeLessThanOrEqual(1);
    }
  });

  it('maps UIDs deterministically for a key and differently for another', async () => {
    const bytes = readFixture('pydicom/test_files/CT_small.dcm');
    const a = await (await createDeidentifier({ key: KEY })).deidentify(bytes);
    const b = await (await createDeidentifier({ key: KEY })).deidentify(bytes);
    const c = await (await createDeidentifier({ key: OTHER_KEY })).deidentify(bytes);
    expect(Buffer.compare(Buffer.from(a.bytes), Buffer.from(b.bytes))).toBe(0);
    expect(a.sopInstanceUid).toBe(expectedUid(KEY, parseDicom(bytes).dataset.string('x00080018')!));
    expect(c.sopInstanceUid).not.toBe(a.sopInstanceUid);
    expect(a.sopInstanceUid.length).toBeLessThanOrEqual(64);
  });

  it('a DICOMDIR and its files: record UIDs remapped like the files, record offsets still point at records (pydicom reads it)', async () => {
    const src = fixture('pydicom/test_files/dicomdirtests/TINY_ALPHA');
    const out = join(tmp, 'tiny');
    cpSync(src, out, { recursive: true });
    const deid = await createDeidentifier({ key: KEY });
    const walk = (d: string): string[] => readdirSync(d).flatMap((n) => (statSync(join(d, n)).isDirectory() ? walk(join(d, n)) : [join(d, n)]));
    const inputs = walk(src).filter((p) => !p.endsWith('README'));
    for (const p of inputs) writeFileSync(join(out, relative(src, p)), (await deid.deidentify(new Uint8Array(readFileSync(p)), p)).bytes);
    const dir = parseDicom(new Uint8Array(readFileSync(join(out, 'DICOMDIR'))));
    let images = 0;
    for (const rec of dir.dataset.items('x00041220')) {
      const fileId = rec.strings('x00041500');
      if (fileId.length === 0) continue;
      const image = parseDicom(new Uint8Array(readFileSync(join(out, ...fileId))));
      expect(rec.string('x00041511')).toBe(image.dataset.string('x00080018'));
      images++;
    }
    expect(images).toBe(inputs.length - 1); // every file but the DICOMDIR has its record
    if (HAS_PYDICOM) {
      const n = pydicomJson<number>('import sys, json, pydicom\nd = pydicom.dcmread(sys.argv[1])\nprint(json.dumps(len(d.patient_records)))', [join(out, 'DICOMDIR')]);
      expect(n).toBe(1);
    }
  });
});

describe('de-identification options and refusals', () => {
  const bytes = readFixture('pydicom/test_files/CT_small.dcm');
  const orig = parseDicom(bytes).dataset;

  it('retain-uids keeps UIDs; retain-patient-characteristics keeps PatientSex; modified dates shift every date by one key-derived offset', async () => {
    const d = await createDeidentifier({ key: KEY, options: ['retain-uids', 'retain-patient-characteristics', 'retain-long-modified-dates'] });
    const out = parseDicom((await d.deidentify(bytes)).bytes).dataset;
    expect(out.string('x00080018')).toBe(orig.string('x00080018'));
    expect(out.string('x00100040')).toBe(orig.string('x00100040'));
    const days = (s: string): number => Date.UTC(Number(s.slice(0, 4)), Number(s.slice(4, 6)) - 1, Number(s.slice(6, 8))) / 86400000;
    const shift = days(orig.string('x00080020')!) - days(out.string('x00080020')!);
    expect(shift).toBeGreaterThanOrEqual(1);
    expect(days(orig.string('x00080022')!) - days(out.string('x00080022')!)).toBe(shift);
    expect(out.string('x00280303')).toBe('MODIFIED');
    const codes = out.items('x00120064').map((i) => i.string('x00080100'));
    expect(codes).toEqual(['113100', '113110', '113108', '113107']);
  });

  it('clean-descriptors masks identifiers in kept descriptions; retain-safe-private keeps only the named creators; sequences are cleaned item by item', async () => {
    const bytes = writeDicom([
      { tag: 0x00080016, vr: 'UI', value: '1.2.840.10008.5.1.4.1.1.2' },
      { tag: 0x00080018, vr: 'UI', value: '1.2.3.9' },
      { tag: 0x00081030, vr: 'LO', value: 'CT angio for Jane Doe' },
      { tag: 0x00100010, vr: 'PN', value: 'Doe^Jane' },
      { tag: 0x00090010, vr: 'LO', value: 'SAFE VENDOR' },
      { tag: 0x00091001, vr: 'LO', value: 'kept' },
      { tag: 0x00110010, vr: 'LO', value: 'OTHER' },
      { tag: 0x00111001, vr: 'LO', value: 'removed' },
      { tag: 0x00081140, vr: 'SQ', items: [[{ tag: 0x00081155, vr: 'UI', value: '1.2.3.10' }, { tag: 0x00100010, vr: 'PN', value: 'Doe^Jane' }]] },
    ]);
    const d = await createDeidentifier({ key: KEY, options: ['clean-descriptors', 'retain-safe-private'], safePrivateCreators: ['SAFE VENDOR'] });
    const r = await d.deidentify(bytes);
    const out = parseDicom(r.bytes).dataset;
    expect(out.string('x00081030')).toBe('CT angio for **** ***');
    expect(out.string('x00091001')).toBe('kept');
    expect(out.has('x00111001')).toBe(false);
    expect(out.has('x00110010')).toBe(false);
    expect(out.string('x00090010')).toBe('SAFE VENDOR');
    const item = out.items('x00081140')[0]!;
    expect(item.string('x00081155')).toBe(expectedUid(KEY, '1.2.3.10'));
    expect(item.has('x00100010')).toBe(true);
    expect(item.string('x00100010')).toBeUndefined(); // Z inside the sequence
    expect(r.changes).toContainEqual({ tag: '(0010,0010)', keyword: 'PatientName', action: 'Z', path: '(0008,1140)[0]' });
    expect(r.changes).toContainEqual({ tag: '(0008,1030)', keyword: 'StudyDescription', action: 'C', path: '' });
  });

  it('refuses burned-in annotation unless allowed, a short key and an unknown option', async () => {
    const burned = writeDicom([
      { tag: 0x00080016, vr: 'UI', value: '1.2.840.10008.5.1.4.1.1.7' },
      { tag: 0x00080018, vr: 'UI', value: '1.2.3.4' },
      { tag: 0x00100010, vr: 'PN', value: 'Doe^Jane' },
      { tag: 0x00280301, vr: 'CS', value: 'YES' },
    ]);
    const d = await createDeidentifier({ key: KEY });
    await expect(d.deidentify(burned)).rejects.toMatchObject({ code: 'DEID_BURNED_IN' });
    const allowed = await (await createDeidentifier({ key: KEY, allowBurnedIn: true })).deidentify(burned);
    expect(allowed.burnedIn).toBe(true);
    expect(parseDicom(allowed.bytes).dataset.string('x00100010')).toBeUndefined();
    await expect(createDeidentifier({ key: new Uint8Array(4) })).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
    await expect(createDeidentifier({ key: KEY, options: ['retain-everything' as never] })).rejects.toThrow(/unknown/);
  });
});
