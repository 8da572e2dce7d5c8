// Volume reader fuzz targets: NIfTI (.nii, .nii.gz) and MetaImage (.mha in memory, .mhd + data files in a temp
// folder read through readVolumeFile), seeded with real files, small written volumes and issue 11's recipes
// (huge declared dims, pixdim 3e38 without qform/sform, deflate bombs, path traversal and devices in .mhd).
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { deflateSync, gunzipSync, gzipSync } from 'node:zlib';
import fc from 'fast-check';
import { allocateVolumeData, createRng, createVolume, dtypeOf, validateVolume } from '@physiotwin/core';
import type { Volume, VolumeDtype } from '@physiotwin/core';
import { readMetaImage, readNifti, writeMetaImage, writeNifti } from '@physiotwin/io';
import { readVolumeFile } from '@physiotwin/io/node';
import { gzipWithTrailingZeros, zlibWithTrailingZeros } from '../../packages/io/test-support/hostile.js';
import type { FuzzResult, FuzzTarget } from './harness.js';
import { byteMutations, concat, fieldMutations, lineMutations, mutateBytes, mutateFields, mutateLines } from './mutate.js';
import type { BinaryField, ByteMutation, FieldMutation, LineMutation } from './mutate.js';

/**
 * The readers' `maxDecodedBytes` in these runs: 256 KiB keeps every input cheap (deflate may expand an input 1032:1,
 * and decompressing tens of MB takes longer than the 2 s an input may take on a loaded CI machine). What a header
 * declares over it must be refused (LIMIT_EXCEEDED) before anything is allocated; the default (2 GiB) is covered by
 * the io tests.
 */
export const FUZZ_MAX_DECODED_BYTES = 1 << 18;
const LIMITS = { maxDecodedBytes: FUZZ_MAX_DECODED_BYTES };

/** A valid result: core's invariants hold (finite geometry within its limit included) and the allocation is bounded. */
function checked(volume: Volume): FuzzResult {
  validateVolume(volume);
  return { allocated: volume.data.byteLength, allocationBound: FUZZ_MAX_DECODED_BYTES };
}

/** A small volume whose bytes are below 0x80 (so a voxel byte 0xA5 can only come from the secret file). */
function smallVolume(dtype: VolumeDtype, dims: [number, number, number], seed: number, components = 1): Volume {
  const data = allocateVolumeData(dtype, dims[0] * dims[1] * dims[2] * components);
  const bytes = new Uint8Array(data.buffer);
  const rng = createRng(seed);
  for (let i = 0; i < bytes.length; i++) bytes[i] = rng.nextUint32() & 0x7f;
  return createVolume({ data, dims, components, spacing: [0.5, 0.75, 2], origin: [-10, 20, 5], direction: [0, 1, 0, -1, 0, 0, 0, 0, 1] });
}

const SMALL: Volume[] = [
  smallVolume('int16', [4, 3, 2], 1),
  smallVolume('uint8', [8, 8, 1], 2),
  smallVolume('float32', [3, 2, 2], 3),
  smallVolume('uint8', [2, 2, 2], 4, 3),
  smallVolume('float64', [2, 2, 1], 5),
];

/** NIfTI-1 header fields (offset, type): sizeof_hdr, dim[0..7], intent, datatype, bitpix, pixdim[0..7], vox_offset, scl_*, codes, quatern, qoffset, srow. */
const NIFTI_FIELDS: BinaryField[] = [
  { offset: 0, type: 'i32' },
  ...Array.from({ length: 8 }, (_, i) => ({ offset: 40 + 2 * i, type: 'i16' as const })),
  { offset: 68, type: 'i16' },
  { offset: 70, type: 'i16' },
  { offset: 72, type: 'i16' },
  ...Array.from({ length: 8 }, (_, i) => ({ offset: 76 + 4 * i, type: 'f32' as const })),
  { offset: 108, type: 'f32' },
  { offset: 112, type: 'f32' },
  { offset: 116, type: 'f32' },
  { offset: 252, type: 'i16' },
  { offset: 254, type: 'i16' },
  ...Array.from({ length: 6 }, (_, i) => ({ offset: 256 + 4 * i, type: 'f32' as const })),
  ...Array.from({ length: 12 }, (_, i) => ({ offset: 280 + 4 * i, type: 'f32' as const })),
];

/** Names of the .nii seeds, in order (the recipes the CI run must cover). */
const NIFTI_SEED_NAMES = [
  ...[0, 1, 2].map((i) => `dcm2niix output ${i}`),
  ...SMALL.map((v) => `written ${dtypeOf(v.data)} ${v.dims.join('x')}x${v.components}`),
  'pixdim 3e38 without qform/sform',
  'huge dims behind a small file',
];

/** Plain .nii seeds: dcm2niix's outputs in the fixtures (gunzipped), written volumes, and the recipes. */
function niftiSeeds(repoRoot: string): Uint8Array[] {
  const folder = `${repoRoot}fixtures/dicom/pydicom/Ref_dcm2niix_dicomdirtests/98892003_MR700`;
  const real = readdirSync(folder)
    .filter((f) => f.endsWith('.nii.gz'))
    .slice(0, 3)
    .map((f) => new Uint8Array(gunzipSync(readFileSync(join(folder, f)))));
  const written = SMALL.map((v) => writeNifti(v));
  const patch = (bytes: Uint8Array, edit: (view: DataView) => void) => {
    const copy = bytes.slice();
    edit(new DataView(copy.buffer));
    return copy;
  };
  const recipes = [
    // pixdim 3e38 with no qform/sform: voxels at Infinity (issue 11).
    patch(written[0]!, (v) => (v.setInt16(252, 0, true), v.setInt16(254, 0, true), v.setFloat32(80, 3e38, true))),
    // Huge declared dims behind a small file.
    patch(written[0]!, (v) => [1, 2, 3].forEach((i) => v.setInt16(40 + 2 * i, 32767, true))),
  ];
  const seeds = [...real, ...written, ...recipes];
  if (seeds.length !== NIFTI_SEED_NAMES.length) throw new Error(`${seeds.length} NIfTI seeds, ${NIFTI_SEED_NAMES.length} names`);
  return seeds;
}

type NiftiInput = { seed: number; fields: FieldMutation[]; bytes: ByteMutation[] };

function niftiArbitrary(seeds: Uint8Array[]): fc.Arbitrary<NiftiInput> {
  return fc.nat({ max: seeds.length - 1 }).chain((seed) =>
    fc.record({
      seed: fc.constant(seed),
      fields: fc.oneof(fc.constant<FieldMutation[]>([]), fieldMutations(NIFTI_FIELDS)),
      bytes: fc.oneof(fc.constant<ByteMutation[]>([]), byteMutations(seeds[seed]!.length)),
    }),
  );
}

export function niftiTarget(repoRoot: string): FuzzTarget<NiftiInput> {
  const seeds = niftiSeeds(repoRoot);
  return {
    name: 'NIfTI .nii (readNifti)',
    arbitrary: niftiArbitrary(seeds),
    recipes: { all: NIFTI_SEED_NAMES, of: ({ seed }) => [NIFTI_SEED_NAMES[seed]!] },
    run({ seed, fields, bytes }) {
      const input = mutateBytes(mutateFields(seeds[seed]!, NIFTI_FIELDS, fields), bytes);
      return checked(readNifti(input, { name: 'fuzz.nii', ...LIMITS }));
    },
  };
}

const GZ_MODES = ['recompress', 'compressed', 'bomb'];

/**
 * .nii.gz: the header mutated then gzipped (so header faults reach the reader), or the gzip bytes mutated, or a
 * deflate bomb (the file followed by 16 MiB of zeros in 17 kB).
 */
export function niftiGzTarget(repoRoot: string): FuzzTarget<{ nii: NiftiInput; mode: 'recompress' | 'compressed' | 'bomb' }> {
  const seeds = niftiSeeds(repoRoot);
  const gz = seeds.map((s) => new Uint8Array(gzipSync(s, { level: 1 })));
  return {
    name: 'NIfTI .nii.gz (readNifti)',
    arbitrary: fc.record({ nii: niftiArbitrary(seeds), mode: fc.constantFrom('recompress' as const, 'compressed' as const, 'bomb' as const) }),
    recipes: { all: [...NIFTI_SEED_NAMES, ...GZ_MODES], of: ({ nii, mode }) => [NIFTI_SEED_NAMES[nii.seed]!, mode] },
    run({ nii, mode }) {
      let input: Uint8Array;
      const header = mutateFields(seeds[nii.seed]!, NIFTI_FIELDS, nii.fields);
      if (mode === 'recompress') input = new Uint8Array(gzipSync(mutateBytes(header, nii.bytes), { level: 1 }));
      else if (mode === 'bomb') input = mutateBytes(gzipWithTrailingZeros(header, 16), nii.bytes.filter((m) => m.at < 2048));
      else input = mutateBytes(gz[nii.seed]!, nii.bytes);
      return checked(readNifti(input, { name: 'fuzz.nii.gz', ...LIMITS }));
    },
  };
}

/** Hostile values per MetaImage key (issue 11's recipes among them). */
const MHA_DICTIONARY: Record<string, readonly string[]> = {
  NDims: ['0', '1', '2', '3', '4', '1e9', '-1', 'x'],
  DimSize: ['8 8 1', '4 3 2', '0 1 1', '-1 1 1', '100000 100000 100000', '1e20 1 1', '65535 65535 65535', '1 1', '1.5 1 1', '9007199254740993 1 1'],
  ElementSpacing: ['nan 1 1', '3e38 1 1', '1e999 1 1', '0 0 0', '-1 1 1', 'Infinity 1 1', '1e-320 1 1', '1 1'],
  Offset: ['0 -inf 0', '1e308 1e308 1e308', 'NaN 0 0', '1e18 0 0'],
  TransformMatrix: ['1 0 0 0 1 0 0 0 1', '0 0 0 0 0 0 0 0 0', '1 0 0 1 0 0 0 0 1', 'nan 0 0 0 1 0 0 0 1', '1e300 0 0 0 1e300 0 0 0 1e300'],
  ElementType: ['MET_UCHAR', 'MET_SHORT', 'MET_DOUBLE', 'MET_FLOAT_ARRAY', 'MET_LONG_LONG', 'MET_FOO', ''],
  ElementNumberOfChannels: ['0', '1', '3', '1e9', '-1'],
  CompressedData: ['True', 'False', 'maybe'],
  CompressedDataSize: ['0', '1', '10', '999999999999', '-5', 'x'],
  HeaderSize: ['-1', '0', '5', '1e18', '-2'],
  BinaryDataByteOrderMSB: ['True', 'False'],
  ElementToIntensityFunctionSlope: ['0', 'nan', '1e308', '2'],
  ElementDataFile: ['LOCAL', 'LIST', 'slice%03d.raw 1 3 1', 'v.raw', '../../../../etc/passwd', '/dev/zero', ''],
};

type MhaInput = { seed: number; lines: LineMutation[]; bytes: ByteMutation[] };

/** Splits a MetaImage after its ElementDataFile line: [header text, data bytes]. */
function splitMha(bytes: Uint8Array): [string, Uint8Array] {
  const text = new TextDecoder('latin1').decode(bytes);
  const at = text.indexOf('\n', text.indexOf('ElementDataFile')) + 1;
  return [text.slice(0, at), bytes.subarray(at)];
}

const latin1 = (s: string) => Uint8Array.from(s, (c) => c.charCodeAt(0) & 0xff);

export function mhaTarget(repoRoot: string): FuzzTarget<MhaInput> {
  // The aorta fixture's real header, with the start of its data (truncated: mutations may make it consistent).
  const aorta = readFileSync(`${repoRoot}fixtures/mesh/vmtk-aorta/aorta.mha`);
  const aortaHead = splitMha(aorta);
  const label = (v: Volume) => `written ${dtypeOf(v.data)} ${v.dims.join('x')}x${v.components}`;
  const names = ['aorta.mha head', ...SMALL.map(label), ...SMALL.slice(0, 3).map((v) => `${label(v)} compressed`), 'deflate bomb'];
  const seeds: Array<[string, Uint8Array]> = [
    [aortaHead[0], aortaHead[1].subarray(0, 256)],
    ...SMALL.map((v) => splitMha(writeMetaImage(v).header)),
    ...SMALL.slice(0, 3).map((v) => splitMha(writeMetaImage(v, { compress: true }).header)),
    // A deflate bomb: 8x8x1 bytes then 16 MiB of zeros in 17 kB of zlib.
    [
      'ObjectType = Image\nNDims = 3\nDimSize = 8 8 1\nElementType = MET_UCHAR\nCompressedData = True\nElementDataFile = LOCAL\n',
      zlibWithTrailingZeros(new Uint8Array(64).fill(1), 16),
    ],
  ];
  if (seeds.length !== names.length) throw new Error(`${seeds.length} MetaImage seeds, ${names.length} names`);
  return {
    name: 'MetaImage .mha (readMetaImage)',
    recipes: { all: names, of: ({ seed }) => [names[seed]!] },
    arbitrary: fc.nat({ max: seeds.length - 1 }).chain((seed) =>
      fc.record({
        seed: fc.constant(seed),
        lines: lineMutations(MHA_DICTIONARY),
        bytes: fc.oneof({ weight: 3, arbitrary: fc.constant<ByteMutation[]>([]) }, { weight: 1, arbitrary: byteMutations(seeds[seed]![0].length + seeds[seed]![1].length) }),
      }),
    ),
    run({ seed, lines, bytes }) {
      const [header, data] = seeds[seed]!;
      const input = mutateBytes(concat(latin1(mutateLines(header, 'ElementDataFile', lines)), data), bytes);
      return checked(readMetaImage(input, { name: 'fuzz.mha', ...LIMITS }));
    },
  };
}

/** Byte every voxel of the secret file outside the header's folder has; written volumes never contain it. */
const SECRET_BYTE = 0xa5;

/**
 * .mhd headers in a temp folder next to data files, read with readVolumeFile: path traversal, links out, devices,
 * FIFOs, folders, bombs. The property adds: a volume never holds the secret file's bytes (nothing was read from
 * outside the folder). Returns the target and a cleanup.
 */
export function mhdTarget(): { target: FuzzTarget<{ seed: number; lines: LineMutation[] }>; cleanup: () => void } {
  const root = mkdtempSync(join(tmpdir(), 'physiotwin-fuzz-'));
  const folder = join(root, 'in');
  mkdirSync(join(folder, 'sub'), { recursive: true });
  const secret = join(root, 'secret.raw');
  writeFileSync(secret, new Uint8Array(1 << 16).fill(SECRET_BYTE));
  const volume = SMALL[1]!; // 8x8x1 uint8
  const raw = new Uint8Array(volume.data.buffer);
  writeFileSync(join(folder, 'v.raw'), raw);
  writeFileSync(join(folder, 'sub', 'v.raw'), raw);
  writeFileSync(join(folder, 'v.zraw'), deflateSync(raw));
  writeFileSync(join(folder, 'bomb.zraw'), zlibWithTrailingZeros(raw, 16));
  symlinkSync(secret, join(folder, 'out.raw'));
  symlinkSync('/dev/zero', join(folder, 'zero.raw'));
  if (process.platform === 'linux') execFileSync('mkfifo', [join(folder, 'fifo.raw')]);
  const dataFiles = ['v.raw', 'sub/v.raw', 'v.zraw', 'bomb.zraw', 'out.raw', 'zero.raw', 'fifo.raw', 'sub', '.', '../secret.raw', secret, 'sub/../../secret.raw', '/dev/zero', '/etc/passwd', 'missing.raw', 'LIST', 'v%03d.raw'];
  const dictionary = { ...MHA_DICTIONARY, ElementDataFile: dataFiles, CompressedData: ['True', 'False'] };
  const seeds = [
    `ObjectType = Image\nNDims = 3\nDimSize = 8 8 1\nElementType = MET_UCHAR\nElementDataFile = v.raw\n`,
    `ObjectType = Image\nNDims = 3\nDimSize = 8 8 1\nElementType = MET_UCHAR\nCompressedData = True\nElementDataFile = v.zraw\n`,
    `ObjectType = Image\nNDims = 3\nDimSize = 4 4 2\nElementType = MET_SHORT\nHeaderSize = -1\nElementDataFile = ../secret.raw\n`,
  ];
  const headerPath = join(folder, 'case.mhd');
  const target: FuzzTarget<{ seed: number; lines: LineMutation[] }> = {
    name: 'MetaImage .mhd + data file (readVolumeFile)',
    arbitrary: fc.record({ seed: fc.nat({ max: seeds.length - 1 }), lines: lineMutations(dictionary) }),
    // Every seed header, and every data file (traversal, links out, devices, FIFO, folders, bomb) set by some input.
    recipes: {
      all: [...seeds.map((_, i) => `seed ${i}`), ...dataFiles.map((f) => `ElementDataFile = ${f}`)],
      of: ({ seed, lines }) => [`seed ${seed}`, ...lines.flatMap((l) => (l.kind === 'set' && l.key === 'ElementDataFile' ? [`ElementDataFile = ${l.value}`] : []))],
    },
    async run({ seed, lines }) {
      writeFileSync(headerPath, mutateLines(seeds[seed]!, 'ElementDataFile', lines));
      const v = await readVolumeFile(headerPath, LIMITS);
      const bytes = new Uint8Array(v.data.buffer, v.data.byteOffset, v.data.byteLength);
      if (bytes.includes(SECRET_BYTE)) throw new Error('a volume holds bytes of a file outside the header\'s folder');
      return checked(v);
    },
  };
  return { target, cleanup: () => rmSync(root, { recursive: true, force: true }) };
}
