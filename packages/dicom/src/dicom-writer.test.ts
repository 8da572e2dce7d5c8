import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { writeDicom } from './dicom-writer.js';
import { fileElements, writeFileElements } from './dicom-elements.js';
import { createHash } from 'node:crypto';
import { TS, parseDicom } from './parse.js';
import type { DicomElementInit } from './dicom-writer.js';
import { fixture } from './test-util.js';
import { fixtureDicomFiles } from './fixture-files.test-helper.js';
import { HAS_DCMDUMP, HAS_PYDICOM, PEER_SKIP, dcmdump, pydicomJson } from './peer-tools.test-helper.js';

/** A hash of elements (tags, VRs, values, items, fragments), much faster to compare than a deep equal of the bytes. */
function digest(elements: DicomElementInit[], skip: Set<number>): string {
  const h = createHash('sha256');
  const add = (list: DicomElementInit[]): void => {
    for (const e of [...list].sort((x, y) => x.tag - y.tag)) {
      h.update(`${e.tag}${e.vr};`);
      if (skip.has(e.tag)) continue;
      if (e.items) e.items.forEach((it) => { h.update('item'); add(it); });
      for (const f of e.fragments ?? []) h.update(new Uint8Array(f.buffer, f.byteOffset, f.byteLength)).update('frag');
      if (ArrayBuffer.isView(e.value)) h.update(new Uint8Array(e.value.buffer, e.value.byteOffset, e.value.byteLength));
      h.update('|');
    }
  };
  add(elements);
  return h.digest('hex');
}

const noVr = (): undefined => undefined;
const tmp = mkdtempSync(join(tmpdir(), 'physiotwin-writer-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

describe('writeDicom: Part 10 layout and padding', () => {
  it('writes preamble, DICM, meta group length and pads UI with NUL, text with space, OB with NUL', () => {
    const bytes = writeDicom([
      { tag: 0x00080016, vr: 'UI', value: '1.2.840.10008.5.1.4.1.1.7' }, // 25 characters: odd
      { tag: 0x00080018, vr: 'UI', value: '2.25.123' },
      { tag: 0x00100010, vr: 'PN', value: 'Doe^Jane' },
      { tag: 0x00081030, vr: 'LO', value: 'odd' },
      { tag: 0x00091010, vr: 'OB', value: new Uint8Array([1, 2, 3]) },
      { tag: 0x00081140, vr: 'SQ', items: [[{ tag: 0x00081155, vr: 'UI', value: '1.2.3' }], []] },
    ]);
    expect(new TextDecoder().decode(bytes.subarray(128, 132))).toBe('DICM');
    const file = parseDicom(bytes);
    const groupLength = file.meta.number('x00020000', 'UL')!;
    // The group length counts the meta elements after it: the data set starts right after them.
    const metaEnd = 132 + 12 + groupLength;
    expect(bytes[metaEnd]).toBe(0x08); // (0008,0016) comes first in the data set
    const raw = (tag: `x${string}`): number[] => [...file.dataset.bytes(tag)!];
    expect(raw('x00080016').at(-1)).toBe(0);
    expect(raw('x00081030').at(-1)).toBe(0x20);
    expect(raw('x00091010')).toEqual([1, 2, 3, 0]);
    const items = file.dataset.items('x00081140');
    expect(items.length).toBe(2);
    expect(items[0]!.string('x00081155')).toBe('1.2.3');
    expect(file.meta.string('x00020003')).toBe('2.25.123');
  });

  it('refuses what it cannot write', () => {
    const sop = [
      { tag: 0x00080016, vr: 'UI', value: '1.2' },
      { tag: 0x00080018, vr: 'UI', value: '1.3' },
    ];
    expect(() => writeDicom([{ tag: 0x00100010, vr: 'PN', value: 'x' }])).toThrow(/SOPClassUID/);
    expect(() => writeDicom([...sop, { tag: 0x00100010, vr: 'PN', value: 'x'.repeat(70000) }])).toThrow(/65534/);
    expect(() => writeDicom([...sop, { tag: 0x00100010, vr: 'P', value: 'x' }])).toThrow(/VR/);
    expect(() => writeDicom([...sop, { tag: 0x00280030, vr: 'FD', value: Number.NaN }])).toThrow(/finite/);
    expect(() => writeDicom([...sop, { tag: 0x7fe00010, vr: 'OB', fragments: [new Uint8Array(0)] }])).toThrow(/native/);
    expect(() => writeDicom(sop, { transferSyntaxUid: TS.explicitBE })).toThrow(/does not encode/);
  });
});

describe('writeDicom round-trips every fixture DICOM file', () => {
  const files = fixtureDicomFiles();
  const written: { rel: string; orig: string; out: string; ts: string }[] = [];

  it('physiotwin reads back the same elements (values, sequences, encapsulated fragments)', () => {
    expect(files.length).toBeGreaterThan(150);
    for (const { rel, file } of files) {
      const a = fileElements(file, noVr);
      if (!a.mediaStorage && !a.elements.some((e) => e.tag === 0x00080018)) {
        // A bare data set without SOP Instance UID cannot become a Part 10 file: the writer says so.
        expect(() => writeFileElements(a), rel).toThrow(/SOPClassUID/);
        continue;
      }
      const bytes = writeFileElements(a);
      const back = parseDicom(bytes, { source: `written ${rel}` });
      expect(back.transferSyntaxUid, rel).toBe(a.transferSyntaxUid);
      const b = fileElements(back, noVr);
      // DICOMDIR record offsets move with the meta header; everything else is byte-identical.
      const skip = new Set([0x00041200, 0x00041202, 0x00041400, 0x00041420]);
      expect(digest(b.elements, skip), rel).toBe(digest(a.elements, skip));
      const out = join(tmp, `${written.length}.dcm`);
      writeFileSync(out, bytes);
      written.push({ rel, orig: fixture(rel), out, ts: file.transferSyntaxUid });
    }
  });

  it.skipIf(!HAS_DCMDUMP)(`dcmdump reads every written file without an error or warning (${PEER_SKIP})`, () => {
    const problems = dcmdump(written.map((w) => w.out)).filter((r) => r.status !== 0 || r.stderr !== '');
    expect(problems.map((p) => `${written.find((w) => w.out === p.path)!.rel}: ${p.stderr}`)).toEqual([]);
  });

  it.skipIf(!HAS_PYDICOM)(`pydicom reads every written file to the same elements and pixels as the original (${PEER_SKIP})`, () => {
    const script = `
import sys, json, pydicom, warnings
warnings.simplefilter('ignore')
out = []
pairs = sys.argv[1:]
for i in range(0, len(pairs), 2):
    a = pydicom.dcmread(pairs[i], force=True)
    b = pydicom.dcmread(pairs[i + 1])
    diff = []
    def cmp(x, y, path):
        skip = (0x7fe00010, 0x00041200, 0x00041202, 0x00041400, 0x00041420)  # pixels compared below; DICOMDIR offsets move
        kx = [e.tag for e in x if e.tag.element != 0 and e.tag not in skip]
        ky = [e.tag for e in y if e.tag.element != 0 and e.tag not in skip]
        if kx != ky: diff.append(path + ' tags ' + str(set(kx) ^ set(ky)))
        for t in kx:
            if t not in y: continue
            ex, ey = x[t], y[t]
            if ex.VR == 'SQ':
                if len(ex.value) != len(ey.value): diff.append(path + str(t) + ' items')
                for n, (ix, iy) in enumerate(zip(ex.value, ey.value)): cmp(ix, iy, path + str(t) + '[' + str(n) + '].')
            elif ex.value != ey.value: diff.append(path + str(t))
    cmp(a, b, '')
    if 'PixelData' in a:
        # Same transfer syntax (and, compared above, the same pixel attributes): equal bytes are equal pixels, and
        # decoding every compressed fixture twice took most of this test's 9 s. Otherwise pydicom decodes both.
        if a.file_meta.TransferSyntaxUID == b.file_meta.TransferSyntaxUID:
            if a.PixelData != b.PixelData: diff.append('pixel bytes')
        else:
            try:
                pa = a.pixel_array
            except Exception:
                pa = None
            if pa is not None and not (pa == b.pixel_array).all(): diff.append('pixels')
    out.append(diff)
print(json.dumps(out))
`;
    // Implicit VR inputs whose dictionary VR pydicom infers are compared as pydicom sees both files.
    const diffs = pydicomJson<string[][]>(script, written.flatMap((w) => [w.orig, w.out]));
    const bad = written.map((w, i) => ({ rel: w.rel, diff: diffs[i]! })).filter((d) => d.diff.length > 0);
    expect(bad).toEqual([]);
  }, 60_000);
});
