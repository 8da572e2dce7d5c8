import { PhysiotwinError, allocateVolumeData, throwIfAborted } from '@physiotwin/core';
import type { VolumeArrayTypes, VolumeDtype } from '@physiotwin/core';
import type { DicomFile } from './parse.js';
import { TS } from './parse.js';
import { decodeRle } from './rle.js';
import { decodeJpegLossless } from './jpeg-lossless.js';
import { decodeJpegExtended } from './jpeg-extended.js';
import { codecPackage, decodeWithCodec } from './codecs.js';
import { codecPool } from '#codec-worker';
import { checkJpegLsFrame } from './jpegls-header.js';
import type { CodecName } from './codecs.js';

/** The Image Pixel module of a data set, validated. */
export interface PixelInfo {
  rows: number;
  columns: number;
  samplesPerPixel: number;
  bitsAllocated: number;
  bitsStored: number;
  highBit: number;
  /** 0 unsigned, 1 two's complement. */
  pixelRepresentation: number;
  photometricInterpretation: string;
  planarConfiguration: number;
  numberOfFrames: number;
  /** Element type of the decoded stored values. */
  dtype: StoredDtype;
}

/** Typed arrays that hold decoded stored values. */
export type StoredDtype = Extract<VolumeDtype, 'uint8' | 'int8' | 'uint16' | 'int16' | 'uint32' | 'int32'>;
export type StoredArray = VolumeArrayTypes[StoredDtype];

const PIXEL_DATA = 'x7fe00010';

/**
 * Reads and validates the Image Pixel module.
 * @throws PhysiotwinError `DICOM_INVALID` naming the tag when a required value is missing or impossible.
 */
export function readPixelInfo(file: DicomFile): PixelInfo {
  const ds = file.dataset;
  const src = ds.source;
  const req = (tag: `x${string}`, name: string): number => {
    const v = ds.number(tag, 'US');
    if (v === undefined) {
      throw new PhysiotwinError('DICOM_INVALID', `missing or non-numeric ${name}`, { location: { file: src, tag: fmt(tag) } });
    }
    return v;
  };
  const rows = req('x00280010', 'Rows');
  const columns = req('x00280011', 'Columns');
  const bitsAllocated = req('x00280100', 'BitsAllocated');
  const bitsStored = ds.number('x00280101', 'US') ?? bitsAllocated;
  const highBit = ds.number('x00280102', 'US') ?? bitsStored - 1;
  const pixelRepresentation = ds.number('x00280103', 'US') ?? 0;
  const samplesPerPixel = ds.number('x00280002', 'US') ?? 1;
  const photometricInterpretation = (ds.string('x00280004') ?? (samplesPerPixel === 3 ? 'RGB' : 'MONOCHROME2')).trim();
  const planarConfiguration = ds.number('x00280006', 'US') ?? 0;
  const framesText = ds.string('x00280008');
  const numberOfFrames = framesText === undefined ? 1 : Number(framesText.trim());
  const invalid = (msg: string, tag: string) =>
    new PhysiotwinError('DICOM_INVALID', msg, { location: { file: src, tag } });
  if (!Number.isSafeInteger(numberOfFrames) || numberOfFrames < 1) {
    throw invalid(`NumberOfFrames ${JSON.stringify(framesText)} is not a positive integer`, '(0028,0008)');
  }
  if (rows < 1 || columns < 1) throw invalid(`image size ${rows}x${columns} is empty`, '(0028,0010)');
  if (![1, 8, 16, 32].includes(bitsAllocated)) throw invalid(`BitsAllocated ${bitsAllocated} is not 1, 8, 16 or 32`, '(0028,0100)');
  if (bitsStored < 1 || bitsStored > bitsAllocated) throw invalid(`BitsStored ${bitsStored} with BitsAllocated ${bitsAllocated}`, '(0028,0101)');
  if (highBit < bitsStored - 1 || highBit >= Math.max(bitsAllocated, 1)) {
    throw invalid(`HighBit ${highBit} does not fit BitsStored ${bitsStored} in BitsAllocated ${bitsAllocated}`, '(0028,0102)');
  }
  if (pixelRepresentation !== 0 && pixelRepresentation !== 1) throw invalid(`PixelRepresentation ${pixelRepresentation}`, '(0028,0103)');
  if (samplesPerPixel !== 1 && samplesPerPixel !== 3) throw invalid(`SamplesPerPixel ${samplesPerPixel} is not 1 or 3`, '(0028,0002)');
  if (samplesPerPixel === 3 && bitsAllocated === 1) throw invalid('1-bit colour images do not exist', '(0028,0100)');
  const signed = pixelRepresentation === 1 && bitsAllocated > 1;
  const dtype: StoredDtype =
    bitsAllocated <= 8 ? (signed ? 'int8' : 'uint8') : bitsAllocated === 16 ? (signed ? 'int16' : 'uint16') : signed ? 'int32' : 'uint32';
  return {
    rows, columns, samplesPerPixel, bitsAllocated, bitsStored, highBit, pixelRepresentation,
    photometricInterpretation, planarConfiguration, numberOfFrames, dtype,
  };
}

function fmt(tag: string): string {
  return `(${tag.slice(1, 5)},${tag.slice(5, 9)})`.toUpperCase();
}

/** Elements per frame of the decoded output (rows x columns x samples). */
export function frameLength(info: PixelInfo): number {
  return info.rows * info.columns * info.samplesPerPixel;
}

const CODEC_OF: Record<string, CodecName | 'rle' | 'jpegLossless' | 'jpegExtended' | undefined> = {
  [TS.rle]: 'rle',
  [TS.jpegLossless57]: 'jpegLossless',
  [TS.jpegLosslessSV1]: 'jpegLossless',
  [TS.jpegLS]: 'jpegls',
  [TS.jpegLSNear]: 'jpegls',
  [TS.j2kLossless]: 'j2k',
  [TS.j2k]: 'j2k',
  [TS.htj2kLossless]: 'htj2k',
  [TS.htj2kLosslessRPCL]: 'htj2k',
  [TS.htj2k]: 'htj2k',
  [TS.jpegBaseline]: 'jpeg8',
  [TS.jpegExtended]: 'jpegExtended',
};
const NATIVE = new Set<string>([TS.implicitLE, TS.explicitLE, TS.explicitBE, TS.deflatedLE]);

/**
 * File offset of the stored bytes of frame 0 when they can be copied straight from the file into an output
 * array (little-endian native data, explicit length, 8/16/32 bits, interleaved samples, not YBR_FULL_422),
 * else undefined. Frame f starts `f * frameLength(info) * BitsAllocated / 8` bytes later.
 */
export function directPixelOffset(file: DicomFile, info: PixelInfo): number | undefined {
  const ts = file.transferSyntaxUid;
  if (ts !== TS.explicitLE && ts !== TS.implicitLE) return undefined;
  const el = file.dataset.element(PIXEL_DATA);
  if (!el || el.encapsulatedPixelData || el.length === 0xffffffff || info.bitsAllocated === 1) return undefined;
  if (info.samplesPerPixel === 3 && (info.planarConfiguration === 1 || info.photometricInterpretation === 'YBR_FULL_422')) return undefined;
  if (!littleEndianHost) return undefined;
  return el.dataOffset;
}

/**
 * True when this package can decode the transfer syntax (given its optional codec).
 * @throws nothing.
 */
export function isSupportedTransferSyntax(uid: string): boolean {
  return NATIVE.has(uid) || CODEC_OF[uid] !== undefined;
}

/**
 * Splits encapsulated pixel data into frames: by the Basic Offset Table when present, one fragment per frame
 * when the counts agree, otherwise by finding the codestream start (JPEG SOI, J2K SOC) at fragment starts.
 * @throws PhysiotwinError `DICOM_INVALID` when the frames cannot be delimited.
 */
export function encapsulatedFrames(file: DicomFile, numberOfFrames: number): Uint8Array[][] {
  const ds = file.dataset;
  const el = ds.element(PIXEL_DATA);
  const src = ds.source;
  const loc = { location: { file: src, tag: '(7FE0,0010)' } };
  if (!el?.encapsulatedPixelData || !el.fragments) {
    throw new PhysiotwinError('DICOM_INVALID', `transfer syntax ${file.transferSyntaxUid} needs encapsulated pixel data`, loc);
  }
  const bytes = ds.raw.byteArray;
  const frags = el.fragments.map((f) => {
    if (f.position + f.length > bytes.length) throw new PhysiotwinError('DICOM_TRUNCATED', 'pixel data fragment runs past the end', loc);
    return new Uint8Array(bytes.buffer, bytes.byteOffset + f.position, f.length);
  });
  if (frags.length === 0) throw new PhysiotwinError('DICOM_INVALID', 'encapsulated pixel data has no fragments', loc);
  if (numberOfFrames === 1) return [frags];
  const bot = el.basicOffsetTable ?? [];
  if (bot.length > 0) {
    if (bot.length !== numberOfFrames) {
      throw new PhysiotwinError('DICOM_INVALID', `Basic Offset Table has ${bot.length} entries for ${numberOfFrames} frames`, loc);
    }
    const frames: Uint8Array[][] = [];
    for (let f = 0; f < numberOfFrames; f++) {
      const lo = bot[f]!;
      const hi = f + 1 < numberOfFrames ? bot[f + 1]! : Infinity;
      if (f > 0 && lo <= bot[f - 1]!) throw new PhysiotwinError('DICOM_INVALID', 'Basic Offset Table is not increasing', loc);
      const list: Uint8Array[] = el.fragments.flatMap((fr, i): Uint8Array[] => (fr.offset >= lo && fr.offset < hi ? [frags[i]!] : []));
      if (list.length === 0 || el.fragments.every((fr) => fr.offset !== lo)) {
        throw new PhysiotwinError('DICOM_INVALID', `Basic Offset Table entry ${f} (${lo}) is not a fragment start`, loc);
      }
      frames.push(list);
    }
    return frames;
  }
  if (frags.length === numberOfFrames) return frags.map((f) => [f]);
  // No BOT and more fragments than frames: a frame starts where a codestream starts.
  const starts = (f: Uint8Array) =>
    f.length >= 2 && f[0] === 0xff && (f[1] === 0xd8 /* JPEG SOI */ || f[1] === 0x4f /* J2K SOC */);
  const frames: Uint8Array[][] = [];
  for (const f of frags) {
    if (starts(f) || frames.length === 0) frames.push([f]);
    else frames[frames.length - 1]!.push(f);
  }
  if (frames.length !== numberOfFrames) {
    throw new PhysiotwinError('DICOM_INVALID', `found ${frames.length} codestreams in ${frags.length} fragments for ${numberOfFrames} frames (no Basic Offset Table)`, loc);
  }
  return frames;
}

/**
 * Concatenates byte arrays into one. A single part is returned as is (not copied), so callers must not rely on
 * the result being a fresh buffer.
 */
export function concatBytes(parts: readonly Uint8Array[]): Uint8Array {
  if (parts.length === 1) return parts[0]!;
  let n = 0;
  for (const p of parts) n += p.length;
  const out = new Uint8Array(n);
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

/** Byte view of the elements [offset, offset + length) of a typed array. */
export function bytesOf(a: StoredArray, offset: number, length: number): Uint8Array {
  return new Uint8Array(a.buffer, a.byteOffset + offset * a.BYTES_PER_ELEMENT, length * a.BYTES_PER_ELEMENT);
}

const littleEndianHost = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

/**
 * Time limit of one frame's decode by a WASM codec: `floorMs + msPerMegasample * samples / 1e6`, where `samples` is
 * the frame's declared rows x columns x samples per pixel (already checked against the codestream's own header and
 * capped by the compressed size, see `checkPlausibleSize`).
 */
export interface DecodeTimeLimit {
  /** @default 1000 */
  floorMs?: number | undefined;
  /** For every codec. @default per codec: {@link DEFAULT_DECODE_TIME_LIMIT} */
  msPerMegasample?: number | undefined;
}

/**
 * The default {@link DecodeTimeLimit}: 1 s plus, per megasample, 2 s for JPEG 2000 (OpenJPEG) and 0.4 s for the
 * others (CharLS, OpenJPH, libjpeg-turbo): a 512x512 frame gets 1.52 s or 1.10 s, a 2048x2048 one 9.4 s or 2.7 s.
 * About 20 times each codec's CPU time: OpenJPEG takes about 100 ms of CPU per megasample (lossless 16-bit CT),
 * CharLS 19 ms and OpenJPH 11 ms (`npm run bench -- dicom-decode`, calling thread; libjpeg-turbo 12 ms on the
 * cornerstone3D baseline CT fixture, 512x512), and a 2-core machine at load
 * 10-12 stretches that 6-7 times in wall time (OpenJPEG: 600-700 ms per megasample and frame). An honest frame
 * gets about 3 (large frames) to 8 (512x512) times what it takes there, the floor covers small frames and
 * scheduling hiccups, and a hostile frame of up to 512x512 samples fails within 2 s (issue 11) whatever its codec.
 */
export const DEFAULT_DECODE_TIME_LIMIT = { floorMs: 1000, msPerMegasample: { j2k: 2000, jpegls: 400, htj2k: 400, jpeg8: 400 } } as const;

/** Options of {@link decodeFrameInto} and {@link decodePixels} for frames that a WASM codec decodes. */
export interface FrameDecodeOptions {
  /** Cancels the decode, a frame in flight included (its codec worker is terminated): `ABORTED`. */
  signal?: AbortSignal | undefined;
  /**
   * Time limit of each frame's decode by a WASM codec (JPEG-LS, JPEG 2000, HTJ2K, baseline JPEG) in a codec
   * worker thread: past it the worker is terminated and the decode fails with `LIMIT_EXCEEDED`. Node only.
   * @default {@link DEFAULT_DECODE_TIME_LIMIT}
   */
  decodeTimeLimit?: DecodeTimeLimit | undefined;
  /**
   * Decode WASM-codec frames in codec worker threads (Node: two on machines with two cores or more, frames of a
   * series decoded in parallel), where {@link FrameDecodeOptions.decodeTimeLimit} holds. `false` decodes them on
   * the calling thread, as browsers always do, with no time limit. RLE and JPEG lossless / extended are decoded
   * by this package's JavaScript on the calling thread in time linear in the frame's declared size.
   * @default true
   */
  codecWorkers?: boolean | undefined;
}

/** The codec pool that decodes WASM frames under these options, or undefined (calling thread). */
function poolFor(options: FrameDecodeOptions | undefined) {
  return options?.codecWorkers === false ? undefined : codecPool();
}

/**
 * How many frames of a file in this transfer syntax are worth decoding at once: the codec workers' count for WASM
 * codecs (when they are used), else 1 (decoders on the calling thread).
 */
export function decodeConcurrency(transferSyntaxUid: string, options?: FrameDecodeOptions): number {
  const kind = CODEC_OF[transferSyntaxUid];
  if (kind === undefined || kind === 'rle' || kind === 'jpegLossless' || kind === 'jpegExtended') return 1;
  return poolFor(options)?.size ?? 1;
}

/**
 * The time limit of one frame of `samples` declared samples for `codec`, and its description for messages.
 * @throws PhysiotwinError `INVALID_ARGUMENT` for a floor that is not a positive number or a negative or non-finite rate.
 */
export function frameTimeLimit(options: FrameDecodeOptions | undefined, samples: number, codec: CodecName): { ms: number; text: string } {
  const floor = options?.decodeTimeLimit?.floorMs ?? DEFAULT_DECODE_TIME_LIMIT.floorMs;
  const per = options?.decodeTimeLimit?.msPerMegasample ?? DEFAULT_DECODE_TIME_LIMIT.msPerMegasample[codec];
  if (!(floor > 0) || !Number.isFinite(floor) || !(per >= 0) || !Number.isFinite(per)) {
    throw new PhysiotwinError('INVALID_ARGUMENT', `decodeTimeLimit { floorMs: ${floor}, msPerMegasample: ${per} }: floorMs must be a positive number of ms and msPerMegasample a finite number >= 0`);
  }
  const mega = samples / 1e6;
  return { ms: floor + per * mega, text: `decodeTimeLimit: ${floor} ms + ${per} ms per megasample x ${+mega.toFixed(3)}` };
}

/**
 * Decodes frame `frameIndex` into `out[offset .. offset + frameLength)` as stored values: bits above BitsStored
 * masked, sign-extended from HighBit when PixelRepresentation is 1, samples interleaved (planar data is
 * interleaved; YBR_FULL_422 is expanded to 3 samples per pixel). No colour conversion, no rescale.
 * `out` must have the element type of `info.dtype`. WASM-codec frames are decoded in a codec worker under a time
 * limit in Node (see {@link FrameDecodeOptions}).
 * @throws PhysiotwinError `DICOM_TRUNCATED` when the pixel data is short, `DICOM_UNSUPPORTED_TRANSFER_SYNTAX`,
 * `DICOM_CODEC_MISSING`, `DICOM_INVALID`; `LIMIT_EXCEEDED` when a codec runs past `decodeTimeLimit`,
 * `WORKER_CRASHED` when its worker dies, `ABORTED` when the signal fires; `INVALID_ARGUMENT` for a bad option.
 */
export async function decodeFrameInto(
  file: DicomFile,
  info: PixelInfo,
  frameIndex: number,
  out: StoredArray,
  offset: number,
  frames?: Uint8Array[][],
  options?: FrameDecodeOptions,
): Promise<void> {
  const ds = file.dataset;
  const src = ds.source;
  const loc = { location: { file: src, tag: '(7FE0,0010)' } };
  const ts = file.transferSyntaxUid;
  const n = frameLength(info);
  if (frameIndex < 0 || frameIndex >= info.numberOfFrames) throw new PhysiotwinError('INVALID_ARGUMENT', `frame ${frameIndex} of ${info.numberOfFrames}`);
  if (offset + n > out.length) throw new PhysiotwinError('INVALID_ARGUMENT', 'output array too small for the frame');
  const pixels = info.rows * info.columns;
  const bps = info.bitsAllocated === 1 ? 1 : info.bitsAllocated / 8;
  if (NATIVE.has(ts)) {
    const el = ds.element(PIXEL_DATA);
    if (!el) throw new PhysiotwinError('DICOM_INVALID', 'no Pixel Data (7FE0,0010)', loc);
    if (el.encapsulatedPixelData) throw new PhysiotwinError('DICOM_INVALID', `native transfer syntax ${ts} with encapsulated pixel data`, loc);
    const bytes = ds.raw.byteArray;
    const is422 = info.photometricInterpretation === 'YBR_FULL_422' && info.samplesPerPixel === 3;
    if (info.bitsAllocated === 1) {
      const startBit = frameIndex * n;
      const needBytes = Math.ceil((startBit + n) / 8);
      if (needBytes > el.length) throw truncated(el.length, needBytes, src);
      const o = out as Uint8Array;
      const base = el.dataOffset;
      for (let i = 0; i < n; i++) {
        const bit = startBit + i;
        o[offset + i] = (bytes[base + (bit >> 3)]! >> (bit & 7)) & 1;
      }
      return;
    }
    const frameBytes = is422 ? pixels * 2 * bps : n * bps;
    const start = frameIndex * frameBytes;
    if (start + frameBytes > el.length) throw truncated(el.length, (frameIndex + 1) * frameBytes * 1, src, info.numberOfFrames * frameBytes);
    const srcBytes = new Uint8Array(bytes.buffer, bytes.byteOffset + el.dataOffset + start, frameBytes);
    if (is422) {
      expand422(srcBytes, bytesOf(out, offset, n), pixels, bps);
    } else if (info.samplesPerPixel === 3 && info.planarConfiguration === 1) {
      interleavePlanar(srcBytes, bytesOf(out, offset, n), pixels, bps);
    } else {
      bytesOf(out, offset, n).set(srcBytes);
    }
    if (bps > 1 && (ts === TS.explicitBE) === littleEndianHost) swapBytes(bytesOf(out, offset, n), bps);
  } else {
    const kind = CODEC_OF[ts];
    if (!kind) {
      throw new PhysiotwinError('DICOM_UNSUPPORTED_TRANSFER_SYNTAX', `transfer syntax ${ts} is not supported`, loc);
    }
    if (info.highBit !== info.bitsStored - 1) {
      throw new PhysiotwinError('DICOM_INVALID', `HighBit ${info.highBit} with BitsStored ${info.bitsStored} in compressed pixel data`, {
        location: { file: src, tag: '(0028,0102)' },
      });
    }
    const parts = (frames ?? encapsulatedFrames(file, info.numberOfFrames))[frameIndex]!;
    const frame = concatBytes(parts);
    const declared = codestreamSize(frame);
    if (declared) checkSize(declared.width, declared.height, declared.components, info, src);
    const dst = bytesOf(out, offset, n);
    if (kind === 'rle') {
      decodeRle(frame, dst, pixels, info.samplesPerPixel, bps, src);
    } else if (kind === 'jpegLossless' || kind === 'jpegExtended') {
      const img = kind === 'jpegLossless' ? decodeJpegLossless(frame, src) : decodeJpegExtended(frame, src);
      checkSize(img.width, img.height, img.components, info, src);
      copySamples(img.data, out, offset, n);
    } else {
      if (kind === 'jpegls') checkJpegLsFrame(frame, info.bitsAllocated, ts === TS.jpegLS, src);
      throwIfAborted(options?.signal, 'decode');
      const pool = poolFor(options);
      let img;
      if (pool) {
        const limit = frameTimeLimit(options, n, kind);
        img = await pool.decode({
          codec: kind,
          // a copy, taken now: the worker gets it (transferred) whenever a worker is free
          frame: frame.slice(),
          source: src,
          frameIndex,
          frameLabel: `frame ${frameIndex} (0-based, ${info.columns}x${info.rows}x${info.samplesPerPixel} samples) of ${src || 'the data set'}`,
          limitMs: limit.ms,
          limitText: limit.text,
          signal: options?.signal,
        });
      } else {
        img = await decodeWithCodec(kind, frame, src);
      }
      checkSize(img.width, img.height, img.components, info, src);
      const codecBps = img.bitsPerSample <= 8 ? 1 : 2;
      // The decoded size must be the declared frame size exactly (a decoder that fills what the stream lacks, or
      // returns more, is not trusted).
      if (img.bytes.length !== n * codecBps) throw new PhysiotwinError('DICOM_INVALID', `${codecPackage(kind)} returned ${img.bytes.length} bytes for ${n} samples of ${codecBps} bytes`, loc);
      if (codecBps === bps) dst.set(img.bytes.subarray(0, n * bps));
      else if (codecBps === 1) for (let i = 0; i < n; i++) out[offset + i] = img.bytes[i]!;
      else {
        const v = new Uint16Array(img.bytes.buffer, img.bytes.byteOffset, n);
        copySamples(v, out, offset, n);
      }
    }
  }
  maskAndExtend(out, offset, n, info);
}

function truncated(have: number, need: number, src: string, total?: number): PhysiotwinError {
  return new PhysiotwinError('DICOM_TRUNCATED', `Pixel Data has ${have} bytes, ${total ?? need} are needed`, {
    location: { file: src, tag: '(7FE0,0010)' },
  });
}

/**
 * Image size declared by a JPEG-family (SOFn, JPEG-LS SOF55) or JPEG 2000 / HTJ2K (SIZ) codestream, read before
 * decoding so that a corrupt header never makes a codec allocate for a size the DICOM header does not state.
 */
export function codestreamSize(b: Uint8Array): { width: number; height: number; components: number } | undefined {
  const u16 = (i: number) => (b[i]! << 8) | b[i + 1]!;
  const u32 = (i: number) => u16(i) * 65536 + u16(i + 2);
  if (b.length >= 42 && b[0] === 0xff && b[1] === 0x4f && b[2] === 0xff && b[3] === 0x51) {
    // SIZ: Lsiz Rsiz Xsiz Ysiz XOsiz YOsiz XTsiz YTsiz XTOsiz YTOsiz Csiz
    return { width: u32(8) - u32(16), height: u32(12) - u32(20), components: u16(40) };
  }
  if (b.length < 4 || b[0] !== 0xff || b[1] !== 0xd8) return undefined;
  let p = 2;
  while (p + 9 < b.length) {
    if (b[p] !== 0xff) return undefined;
    const m = b[p + 1]!;
    if (m === 0xff) {
      p++;
      continue;
    }
    const isSof = (m >= 0xc0 && m <= 0xcf && m !== 0xc4 && m !== 0xc8 && m !== 0xcc) || m === 0xf7;
    if (isSof) return { height: u16(p + 5), width: u16(p + 7), components: b[p + 9]! };
    if (m === 0xda || m === 0xd9) return undefined;
    p += 2 + u16(p + 2);
  }
  return undefined;
}

function checkSize(w: number, h: number, c: number, info: PixelInfo, src: string): void {
  if (w !== info.columns || h !== info.rows || c !== info.samplesPerPixel) {
    throw new PhysiotwinError('DICOM_INVALID', `codestream is ${w}x${h}x${c}, the header says ${info.columns}x${info.rows}x${info.samplesPerPixel}`, {
      location: { file: src, tag: '(7FE0,0010)' },
    });
  }
}

function copySamples(from: Uint16Array, out: StoredArray, offset: number, n: number): void {
  // Reinterpret as the output's width; signs are restored by maskAndExtend.
  if (out instanceof Uint16Array || out instanceof Int16Array) new Uint16Array(out.buffer, out.byteOffset + offset * 2, n).set(from.subarray(0, n));
  else for (let i = 0; i < n; i++) out[offset + i] = from[i]!;
}

function swapBytes(b: Uint8Array, size: number): void {
  if (size === 2) {
    for (let i = 0; i + 1 < b.length; i += 2) {
      const t = b[i]!;
      b[i] = b[i + 1]!;
      b[i + 1] = t;
    }
  } else if (size === 4) {
    for (let i = 0; i + 3 < b.length; i += 4) {
      const t0 = b[i]!;
      const t1 = b[i + 1]!;
      b[i] = b[i + 3]!;
      b[i + 1] = b[i + 2]!;
      b[i + 2] = t1;
      b[i + 3] = t0;
    }
  }
}

function interleavePlanar(src: Uint8Array, dst: Uint8Array, pixels: number, bps: number): void {
  for (let s = 0; s < 3; s++) {
    for (let p = 0; p < pixels; p++) {
      for (let b = 0; b < bps; b++) dst[(p * 3 + s) * bps + b] = src[(s * pixels + p) * bps + b]!;
    }
  }
}

/** YBR_FULL_422: Y1 Y2 Cb Cr per pixel pair -> Y Cb Cr per pixel (chroma repeated). */
function expand422(src: Uint8Array, dst: Uint8Array, pixels: number, bps: number): void {
  for (let p = 0; p < pixels; p += 2) {
    const s = p * 2 * bps;
    for (let k = 0; k < 2 && p + k < pixels; k++) {
      const d = (p + k) * 3 * bps;
      for (let b = 0; b < bps; b++) {
        dst[d + b] = src[s + k * bps + b]!;
        dst[d + bps + b] = src[s + 2 * bps + b]!;
        dst[d + 2 * bps + b] = src[s + 3 * bps + b]!;
      }
    }
  }
}

/** Masks bits above BitsStored and sign-extends from HighBit (PS3.5 8.1.1). A no-op when BitsStored = BitsAllocated. */
export function maskAndExtend(out: StoredArray, offset: number, n: number, info: PixelInfo): void {
  const bs = info.bitsStored;
  if (info.bitsAllocated === 1 || bs === info.bitsAllocated) return;
  const end = offset + n;
  // The stored bits are HighBit - BitsStored + 1 .. HighBit (usually 0 .. BitsStored - 1).
  const low = info.highBit + 1 - bs;
  if (info.pixelRepresentation === 1) {
    const up = 31 - info.highBit;
    const down = 32 - bs;
    for (let i = offset; i < end; i++) out[i] = (out[i]! << up) >> down;
  } else {
    const mask = bs >= 32 ? 0xffffffff : (2 ** bs) - 1;
    for (let i = offset; i < end; i++) out[i] = (out[i]! >>> low) & mask;
  }
}

/** All frames of a file, decoded. */
export interface DecodedPixels {
  info: PixelInfo;
  /** Stored values, C order (frame, row, column, sample). */
  data: StoredArray;
  /**
   * Colour space of `data`: the header's, except where the decoder converted (baseline JPEG and JPEG 2000
   * YBR_ICT / YBR_RCT come out as RGB; YBR_FULL_422 is expanded to YBR_FULL).
   */
  photometricInterpretation: string;
}

/** The colour space the decoder of this transfer syntax leaves the samples in (see {@link DecodedPixels}). */
export function decodedPhotometric(info: PixelInfo, transferSyntaxUid: string): string {
  const pi = info.photometricInterpretation;
  if (info.samplesPerPixel !== 3) return pi;
  const codec = CODEC_OF[transferSyntaxUid];
  if (codec === 'jpeg8' && pi.startsWith('YBR')) return 'RGB';
  if ((codec === 'j2k' || codec === 'htj2k') && (pi === 'YBR_ICT' || pi === 'YBR_RCT')) return 'RGB';
  return pi === 'YBR_FULL_422' ? 'YBR_FULL' : pi;
}

/**
 * Converts interleaved YBR_FULL samples (8-bit) to RGB in place (PS3.3 C.7.6.3.1.2, ITU-R BT.601 full range),
 * rounding to nearest and clamping to 0..255.
 * @throws nothing.
 */
export function ybrFullToRgb(data: Uint8Array): void {
  for (let i = 0; i + 2 < data.length; i += 3) {
    const y = data[i]!;
    const cb = data[i + 1]! - 128;
    const cr = data[i + 2]! - 128;
    data[i] = clamp255(y + 1.402 * cr);
    data[i + 1] = clamp255(y - 0.344136 * cb - 0.714136 * cr);
    data[i + 2] = clamp255(y + 1.772 * cb);
  }
}

function clamp255(v: number): number {
  const r = Math.round(v);
  return r < 0 ? 0 : r > 255 ? 255 : r;
}

/**
 * Inverts MONOCHROME1 stored values in place so that larger means brighter, as MONOCHROME2:
 * v -> (min + max) - v over the stored range of BitsStored.
 * @throws nothing.
 */
export function invertMonochrome1(data: StoredArray, info: Pick<PixelInfo, 'bitsStored' | 'pixelRepresentation'>): void {
  const signed = info.pixelRepresentation === 1;
  const lo = signed ? -(2 ** (info.bitsStored - 1)) : 0;
  const hi = signed ? 2 ** (info.bitsStored - 1) - 1 : 2 ** info.bitsStored - 1;
  for (let i = 0; i < data.length; i++) data[i] = lo + hi - data[i]!;
}

/**
 * Runs `count` tasks with at most `width` in flight, calling `onDone(i)` in order as each finishes; the first
 * failure (in order) is thrown once the tasks started before it have settled their turn, the others are left to
 * finish unobserved (their failures are not reported twice).
 */
async function inOrder(count: number, width: number, start: (i: number) => Promise<void>, onDone: (i: number) => void): Promise<void> {
  const pending: Promise<void>[] = [];
  let next = 0;
  for (let i = 0; i < count; i++) {
    const p = start(i);
    p.catch(() => undefined);
    pending.push(p);
    while (pending.length >= Math.max(1, width) || (i === count - 1 && pending.length > 0)) {
      await pending.shift();
      onDone(next++);
    }
  }
}

/**
 * Decodes every frame of a file into one array of stored values (see {@link decodeFrameInto}); WASM-codec frames
 * in parallel in the codec workers (Node).
 * @throws PhysiotwinError as {@link decodeFrameInto}.
 * @example
 * ```ts
 * const { info, data } = await decodePixels(parseDicom(bytes));
 * ```
 */
export async function decodePixels(file: DicomFile, options?: FrameDecodeOptions): Promise<DecodedPixels> {
  const info = readPixelInfo(file);
  if (!file.dataset.has(PIXEL_DATA)) {
    throw new PhysiotwinError('DICOM_INVALID', 'no Pixel Data (7FE0,0010)', { location: { file: file.dataset.source, tag: '(7FE0,0010)' } });
  }
  const n = frameLength(info);
  checkPlausibleSize(file, info);
  const data = allocateVolumeData(info.dtype, n * info.numberOfFrames) as StoredArray;
  const frames = NATIVE.has(file.transferSyntaxUid) || !CODEC_OF[file.transferSyntaxUid] ? undefined : encapsulatedFrames(file, info.numberOfFrames);
  const width = decodeConcurrency(file.transferSyntaxUid, options);
  await inOrder(info.numberOfFrames, width, (f) => decodeFrameInto(file, info, f, data, f * n, frames, options), () => throwIfAborted(options?.signal, 'decode'));
  return { info, data, photometricInterpretation: decodedPhotometric(info, file.transferSyntaxUid) };
}

/** Encapsulated data may declare at most this many samples per compressed byte (beyond {@link PLAUSIBLE_FLOOR}). */
export const PLAUSIBLE_SAMPLES_PER_BYTE = 1000;
/** Samples any encapsulated image may declare whatever its size (4 Mi: cheap to decode). */
export const PLAUSIBLE_FLOOR = 2 ** 22;

/**
 * Refuses images whose decoded size is absurd for the bytes present: native data must be all there, and
 * encapsulated data may declare at most {@link PLAUSIBLE_SAMPLES_PER_BYTE} samples per compressed byte (an all-zero
 * 512x512 JPEG 2000 frame takes about 300 bytes, under 900 samples per byte) beyond {@link PLAUSIBLE_FLOOR}
 * samples. Keeps small files that declare huge images (an 82 KB HTJ2K declaring 20000x20000) from decoding for
 * seconds into gigabytes: they are refused before any decoding.
 * `fileSize` is the whole file's size when `file` was parsed from a prefix (header-only read).
 * @throws PhysiotwinError `DICOM_TRUNCATED` (native) or `DICOM_INVALID` (encapsulated).
 */
export function checkPlausibleSize(file: DicomFile, info: PixelInfo, fileSize?: number): void {
  const el = file.dataset.element(PIXEL_DATA);
  // Undefined length (encapsulated data read header-only): the rest of the file bounds it.
  const have = !el ? 0 : el.length === 0xffffffff ? (fileSize ?? file.dataset.raw.byteArray.length) - el.dataOffset : el.length;
  const samples = frameLength(info) * info.numberOfFrames;
  const loc = { location: { file: file.dataset.source, tag: '(7FE0,0010)' } };
  if (NATIVE.has(file.transferSyntaxUid)) {
    const need = info.bitsAllocated === 1 ? Math.ceil(samples / 8)
      : info.photometricInterpretation === 'YBR_FULL_422' && info.samplesPerPixel === 3 ? (samples / 3) * 2 * (info.bitsAllocated / 8)
      : samples * (info.bitsAllocated / 8);
    if (have < need) throw truncated(have, need, file.dataset.source);
  } else if (samples > Math.max(PLAUSIBLE_FLOOR, Math.max(have, 1) * PLAUSIBLE_SAMPLES_PER_BYTE)) {
    throw new PhysiotwinError('DICOM_INVALID', `${samples} samples cannot come from ${have} bytes of compressed data`, loc);
  }
}
