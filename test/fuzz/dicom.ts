// DICOM fuzz target: mutated real files through the whole read path (parse, decode every frame, scan the file as
// a one-file series, assemble its volume). Folded from packages/dicom's fuzz-util.ts and fuzz.test.ts.
import { readFileSync } from 'node:fs';
import fc from 'fast-check';
import { decodePixels, loadVolume, parseDicom, scanDicom } from '@physiotwin/dicom';
import { PLAUSIBLE_FLOOR, PLAUSIBLE_SAMPLES_PER_BYTE } from '../../packages/dicom/src/pixels.js';
import { byteMutations, mutateBytes } from './mutate.js';
import type { ByteMutation } from './mutate.js';
import type { FuzzTarget } from './harness.js';

/** Real files of every transfer syntax and structure the package reads (paths under fixtures/dicom). */
const CORPUS = [
  'pydicom/test_files/CT_small.dcm',
  'pydicom/test_files/MR_small_implicit.dcm',
  'pydicom/test_files/MR_small_bigendian.dcm',
  'pydicom/test_files/MR_small_RLE.dcm',
  'pydicom/test_files/MR_small_jpeg_ls_lossless.dcm',
  'pydicom/test_files/MR_small_jp2klossless.dcm',
  'pydicom/test_files/image_dfl.dcm',
  'pydicom/test_files/rtdose.dcm',
  'pydicom/test_files/SC_rgb_rle.dcm',
  'pydicom/test_files/SC_rgb_jpeg_dcmtk.dcm',
  'pydicom/test_files/ExplVR_BigEndNoMeta.dcm',
  'pydicom/test_files/UN_sequence.dcm',
  'pydicom/test_files/priv_SQ.dcm',
  'pydicom/test_files/JPEGLSNearLossless_16.dcm',
  'pydicom/test_files/JPEG2000.dcm',
  'pydicom/test_files/JPGExtended.dcm',
  'pydicom/test_files/liver_1frame.dcm',
  'pydicom/test_files/dicomdirtests/DICOMDIR',
  'pydicom/derived_CT_small_htj2k_lossless_rpcl.dcm',
  'pydicom/pydicom-data/emri_small_RLE.dcm',
  'cornerstone3D/CTImage.dcm_JPEGProcess14SV1TransferSyntax_1.2.840.10008.1.2.4.70.dcm',
  'dcm_qa_enh/In/Philips/IM_0027_fMAP.dcm',
] as const;

/** CI uses the files up to this size (each input then costs about a millisecond); long runs use all of them. */
const CI_MAX_BYTES = 10_000;

/** Where each element's value starts in a file, and how its length is stored: targets for structure mutations. */
interface ElementSlot {
  dataOffset: number;
  long: boolean;
  explicit: boolean;
}

function elementSlots(bytes: Uint8Array): ElementSlot[] {
  const f = parseDicom(bytes);
  if (f.transferSyntaxUid === '1.2.840.10008.1.2.1.99') return []; // offsets are in the inflated data
  const explicit = f.transferSyntaxUid !== '1.2.840.10008.1.2';
  const out: ElementSlot[] = [];
  const walk = (elements: Record<string, { dataOffset: number; vr?: string; items?: { dataSet?: { elements: Record<string, never> } }[] }>) => {
    for (const el of Object.values(elements)) {
      const long = !explicit || ['OB', 'OW', 'OF', 'SQ', 'UN', 'UT', 'UC', 'UR', 'OD', 'OL'].includes(el.vr ?? '');
      out.push({ dataOffset: el.dataOffset, long, explicit });
      for (const it of el.items ?? []) if (it.dataSet) walk(it.dataSet.elements);
    }
  };
  walk(f.dataset.raw.elements as never);
  return out;
}

/** A mutation of a DICOM file: bytes, an element's length or VR, or its first 2 bytes (Rows, Columns, Bits...). */
type DicomMutation =
  | ByteMutation
  | { kind: 'length'; element: number; value: number }
  | { kind: 'vr'; element: number; vr: string }
  | { kind: 'us'; element: number; value: number };

const VRS = ['SQ', 'UN', 'OB', 'OW', 'US', 'UL', 'FD', 'DS', 'IS', 'UI', 'XX', '\0\0'];

function dicomMutations(size: number, elements: number): fc.Arbitrary<DicomMutation[]> {
  const bytes = byteMutations(size);
  if (elements === 0) return bytes;
  const el = fc.nat({ max: elements - 1 });
  const absurd = fc.oneof(fc.constantFrom(0xffffffff, 0xfffffffe, 0x7fffffff, 0x10000000, 0, 1, 3), fc.nat());
  const structural = fc.array(
    fc.oneof(
      fc.record({ kind: fc.constant('length' as const), element: el, value: absurd }),
      fc.record({ kind: fc.constant('vr' as const), element: el, vr: fc.constantFrom(...VRS) }),
      // Rows/Columns 20000 (issue 11's HTJ2K recipe), 0, bits allocated 1/64, ...
      fc.record({ kind: fc.constant('us' as const), element: el, value: fc.constantFrom(0, 1, 3, 8, 12, 16, 17, 32, 64, 20000, 65535) }),
    ),
    { minLength: 1, maxLength: 3 },
  );
  return fc.oneof(bytes, structural, fc.tuple(bytes, structural).map(([a, b]) => [...b, ...a]));
}

function mutateDicom(bytes: Uint8Array, elements: readonly ElementSlot[], mutations: readonly DicomMutation[]): Uint8Array {
  let b = bytes;
  for (const m of mutations) {
    if (m.kind !== 'length' && m.kind !== 'vr' && m.kind !== 'us') {
      b = mutateBytes(b, [m]);
      continue;
    }
    b = b.slice();
    const e = elements[m.element];
    if (!e) continue;
    const dv = new DataView(b.buffer);
    if (m.kind === 'length') {
      if (e.long && e.dataOffset - 4 >= 0 && e.dataOffset <= b.length) dv.setUint32(e.dataOffset - 4, m.value >>> 0, true);
      else if (!e.long && e.dataOffset - 2 >= 0 && e.dataOffset <= b.length) dv.setUint16(e.dataOffset - 2, m.value & 0xffff, true);
    } else if (m.kind === 'us') {
      if (e.dataOffset + 2 <= b.length) dv.setUint16(e.dataOffset, m.value, true);
    } else if (e.explicit) {
      const vrAt = e.dataOffset - (e.long ? 8 : 4);
      if (vrAt >= 0 && vrAt + 2 <= b.length) {
        b[vrAt] = m.vr.charCodeAt(0);
        b[vrAt + 1] = m.vr.charCodeAt(1);
      }
    }
  }
  return b;
}

/**
 * Largest decoded size a file of `n` bytes may produce: deflate expands at most 1032:1, and pixel decoding is
 * bounded by checkPlausibleSize (native: the bytes present, at most 8x for 1-bit data; encapsulated: 1000 samples
 * per byte beyond a floor of 4 Mi samples, 4 bytes each).
 */
function allocationBound(n: number): number {
  return n * 1032 * 8 + (n * PLAUSIBLE_SAMPLES_PER_BYTE + PLAUSIBLE_FLOOR) * 4;
}

/** The full read path on one input; returns the largest decoded allocation. */
async function readPath(bytes: Uint8Array): Promise<number> {
  let decoded = 0;
  const file = parseDicom(bytes, { source: 'fuzz.dcm' });
  if (file.dataset.has('x7fe00010')) {
    const { data } = await decodePixels(file);
    decoded = data.byteLength;
    const scan = await scanDicom([{ name: 'fuzz.dcm', bytes }]);
    for (const g of scan.groups) {
      const { volume } = await loadVolume(g, scan.sources, { spacing: 'report' });
      decoded = Math.max(decoded, volume.data.byteLength);
    }
  }
  return decoded;
}

/** The DICOM target over the files of the corpus up to `maxBytes` each. */
export function dicomTarget(repoRoot: string, long: boolean): FuzzTarget<{ seed: number; mutations: DicomMutation[] }> {
  const files = CORPUS.map((rel) => ({ rel, bytes: new Uint8Array(readFileSync(`${repoRoot}fixtures/dicom/${rel}`)) })).filter((f) => long || f.bytes.length <= CI_MAX_BYTES);
  const seeds = files.map((f) => f.bytes);
  const names = files.map((f) => f.rel);
  const slots = seeds.map(elementSlots);
  return {
    name: 'DICOM (parseDicom + decodePixels + scanDicom + loadVolume)',
    recipes: { all: names, of: ({ seed }) => [names[seed]!] },
    arbitrary: fc.nat({ max: seeds.length - 1 }).chain((seed) => dicomMutations(seeds[seed]!.length, slots[seed]!.length).map((mutations) => ({ seed, mutations }))),
    async run({ seed, mutations }) {
      const input = mutateDicom(seeds[seed]!, slots[seed]!, mutations);
      const decoded = await readPath(input);
      return { allocated: decoded, allocationBound: allocationBound(input.length) };
    },
    async warmUp() {
      for (const seed of seeds) await readPath(seed).catch(() => undefined);
    },
  };
}
