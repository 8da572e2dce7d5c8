// Mutation fuzzing of the whole read path (used by fuzz.test.ts and scripts/fuzz-dicom.ts; not part of the build).
import fc from 'fast-check';
import { PhysiotwinError } from '@physiotwin/core';
import { parseDicom } from './parse.js';
import { PLAUSIBLE_FLOOR, PLAUSIBLE_SAMPLES_PER_BYTE, decodePixels } from './pixels.js';
import { scanDicom } from './series.js';
import { loadVolume } from './volume.js';

/** Real files of every transfer syntax and structure the package reads (paths under fixtures/dicom). */
export const FUZZ_CORPUS = [
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
  'pydicom/test_files/liver_1frame.dcm',
  'pydicom/test_files/dicomdirtests/DICOMDIR',
  'pydicom/derived_CT_small_htj2k_lossless_rpcl.dcm',
  'pydicom/pydicom-data/emri_small_RLE.dcm',
  'cornerstone3D/CTImage.dcm_JPEGProcess14SV1TransferSyntax_1.2.840.10008.1.2.4.70.dcm',
  'dcm_qa_enh/In/Philips/IM_0027_fMAP.dcm',
  'pydicom/test_files/JPGExtended.dcm',
] as const;

/** One mutation of a file. */
export type Mutation =
  | { kind: 'truncate'; at: number }
  | { kind: 'flip'; at: number; xor: number }
  | { kind: 'length'; element: number; value: number }
  | { kind: 'vr'; element: number; vr: string }
  | { kind: 'bytes'; at: number; data: number[] };

const VRS = ['SQ', 'UN', 'OB', 'OW', 'US', 'UL', 'FD', 'DS', 'IS', 'UI', 'XX', '\0\0'];

/** Offsets of the value of every element (recursively) in the original file: targets for length/VR mutations. */
export function elementOffsets(bytes: Uint8Array): { dataOffset: number; long: boolean; explicit: boolean }[] {
  const f = parseDicom(bytes);
  if (f.transferSyntaxUid === '1.2.840.10008.1.2.1.99') return []; // offsets are in the inflated data
  const explicit = f.transferSyntaxUid !== '1.2.840.10008.1.2';
  const out: { dataOffset: number; long: boolean; explicit: boolean }[] = [];
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

/** A fast-check arbitrary of mutations for a file of `size` bytes with `elements` element offsets. */
export function mutationArb(size: number, elements: number): fc.Arbitrary<Mutation[]> {
  const at = fc.nat({ max: Math.max(0, size - 1) });
  const one: fc.Arbitrary<Mutation>[] = [
    at.map((a) => ({ kind: 'truncate' as const, at: a })),
    fc.record({ kind: fc.constant('flip' as const), at, xor: fc.integer({ min: 1, max: 255 }) }),
    fc.record({ kind: fc.constant('bytes' as const), at, data: fc.array(fc.integer({ min: 0, max: 255 }), { minLength: 1, maxLength: 16 }) }),
  ];
  if (elements > 0) {
    const el = fc.nat({ max: elements - 1 });
    const absurd = fc.oneof(fc.constantFrom(0xffffffff, 0xfffffffe, 0x7fffffff, 0x10000000, 0, 1, 3), fc.nat());
    one.push(fc.record({ kind: fc.constant('length' as const), element: el, value: absurd }));
    one.push(fc.record({ kind: fc.constant('vr' as const), element: el, vr: fc.constantFrom(...VRS) }));
  }
  return fc.array(fc.oneof(...one), { minLength: 1, maxLength: 4 });
}

/** Applies mutations to a copy of `bytes`. */
export function mutate(bytes: Uint8Array, elements: ReturnType<typeof elementOffsets>, mutations: Mutation[]): Uint8Array {
  let b = bytes.slice();
  for (const m of mutations) {
    if (m.kind === 'truncate') b = b.slice(0, Math.min(m.at, b.length));
    else if (m.kind === 'flip') {
      if (m.at < b.length) b[m.at] = b[m.at]! ^ m.xor;
    } else if (m.kind === 'bytes') {
      for (let i = 0; i < m.data.length && m.at + i < b.length; i++) b[m.at + i] = m.data[i]!;
    } else {
      const e = elements[m.element];
      if (!e) continue;
      const dv = new DataView(b.buffer, b.byteOffset, b.byteLength);
      if (m.kind === 'length') {
        if (e.long && e.dataOffset - 4 >= 0 && e.dataOffset <= b.length) dv.setUint32(e.dataOffset - 4, m.value >>> 0, true);
        else if (!e.long && e.dataOffset - 2 >= 0 && e.dataOffset <= b.length) dv.setUint16(e.dataOffset - 2, m.value & 0xffff, true);
      } else if (e.explicit) {
        const vrAt = e.dataOffset - (e.long ? 8 : 4);
        if (vrAt >= 0 && vrAt + 2 <= b.length) {
          b[vrAt] = m.vr.charCodeAt(0);
          b[vrAt + 1] = m.vr.charCodeAt(1);
        }
      }
    }
  }
  return b;
}

/** What one fuzz input did. */
export interface FuzzOutcome {
  ok: boolean;
  code?: string | undefined;
  ms: number;
  /** Bytes allocated for decoded pixels (when decoding succeeded). */
  decodedBytes: number;
}

/**
 * Runs the full read path on one input: parse, decode all pixels, scan + assemble a volume.
 * Returns the outcome; rethrows anything that is not a PhysiotwinError (the property fails on it).
 */
export async function readPath(bytes: Uint8Array): Promise<FuzzOutcome> {
  const t0 = performance.now();
  let decodedBytes = 0;
  try {
    const file = parseDicom(bytes, { source: 'fuzz.dcm' });
    if (file.dataset.has('x7fe00010')) {
      const { data } = await decodePixels(file);
      decodedBytes = data.byteLength;
      const scan = await scanDicom([{ name: 'fuzz.dcm', bytes }]);
      for (const g of scan.groups) {
        const { volume } = await loadVolume(g, scan.sources, { spacing: 'report' });
        decodedBytes = Math.max(decodedBytes, volume.data.byteLength);
      }
    }
    return { ok: true, ms: performance.now() - t0, decodedBytes };
  } catch (e) {
    if (e instanceof PhysiotwinError) return { ok: false, code: e.code, ms: performance.now() - t0, decodedBytes };
    throw e;
  }
}

/**
 * Largest decoded size a file of `n` bytes may produce: deflate expands at most 1032:1, and pixel decoding is
 * bounded by checkPlausibleSize (native: the bytes present, at most 8x for 1-bit data; encapsulated: 1000 samples
 * per byte beyond a floor of 4 Mi samples, 4 bytes each). The property checks decoded allocations against it.
 */
export function allocationBound(n: number): number {
  return n * 1032 * 8 + (n * PLAUSIBLE_SAMPLES_PER_BYTE + PLAUSIBLE_FLOOR) * 4;
}
