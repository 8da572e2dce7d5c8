import { DTYPE_BYTES, PhysiotwinError, allocateVolumeData, viewAs } from '@physiotwin/core';
import type { VolumeData, VolumeDtype } from '@physiotwin/core';
import { loadFflate, platformInflate } from '#zlib-platform';

/** True on little-endian hosts (every platform Node and browsers run on today, but checked, not assumed). */
export const HOST_LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

/**
 * Deflate cannot expand data by more than 1032:1 (a 258-byte match coded in 2 bits), so a compressed stream of
 * n bytes never inflates to more than n * 1032 bytes. Lets a reader reject absurd sizes before allocating.
 */
export const DEFLATE_MAX_RATIO = 1032;

/** True when the bytes start with the gzip magic number 1f 8b. */
export function isGzip(bytes: Uint8Array): boolean {
  return bytes.length >= 2 && bytes[0] === 0x1f && bytes[1] === 0x8b;
}

/** Default of the readers' `maxDecodedBytes` option: 2 GiB of decoded voxels (and decompressed stream). */
export const DEFAULT_MAX_DECODED_BYTES = 2 ** 31;

/**
 * Refuses a declared decoded size over the caller's limit before anything is allocated.
 * @throws PhysiotwinError `LIMIT_EXCEEDED` naming the `maxDecodedBytes` option.
 */
export function checkDecodedSize(bytes: number, limit: number | undefined, what: string, file: string | undefined): void {
  const max = limit ?? DEFAULT_MAX_DECODED_BYTES;
  if (bytes > max) {
    throw new PhysiotwinError('LIMIT_EXCEEDED', `${what} declares ${bytes} bytes, over the limit of ${max} (raise the maxDecodedBytes option to read it)`, {
      location: optionalFile(file),
      details: { option: 'maxDecodedBytes', limit: max, declared: bytes },
    });
  }
}

/**
 * Allocates the typed array for `count` elements of `dtype`; a size the platform cannot allocate becomes a typed
 * `OUT_OF_MEMORY` error instead of a raw RangeError.
 */
export function allocateChecked(dtype: VolumeDtype, count: number, file: string | undefined): VolumeData {
  try {
    return allocateVolumeData(dtype, count);
  } catch (e) {
    if (!(e instanceof RangeError)) throw e;
    throw new PhysiotwinError('OUT_OF_MEMORY', `cannot allocate ${count} ${dtype} elements in one array`, { location: optionalFile(file), cause: e });
  }
}

/**
 * Random access to the bytes of a file that may be too large (or too untrusted) to read whole: a reader asks
 * only for the ranges it needs. `bytesSource` wraps bytes already in memory; the Node entry opens files.
 */
export interface ByteSource {
  /** Length of the file in bytes. */
  readonly size: number;
  /**
   * Copies the bytes at `position..` into `target` and returns how many it copied: `target.length`, fewer only
   * when the file ends first.
   */
  readInto(position: number, target: Uint8Array): number;
}

/** A {@link ByteSource} over bytes in memory. */
export function bytesSource(bytes: Uint8Array): ByteSource {
  return {
    size: bytes.length,
    readInto(position, target) {
      const part = bytes.subarray(Math.min(position, bytes.length), Math.min(position + target.length, bytes.length));
      target.set(part);
      return part.length;
    },
  };
}

/** Bytes or a source, as a source. */
export function asSource(input: Uint8Array | ByteSource): ByteSource {
  return input instanceof Uint8Array ? bytesSource(input) : input;
}

/** The first `length` bytes of a source (fewer when it is shorter). */
export function readPrefix(source: ByteSource, length: number): Uint8Array {
  const prefix = new Uint8Array(Math.min(length, source.size));
  return prefix.subarray(0, source.readInto(0, prefix));
}

/** The `length` bytes of `source` from `offset` as a source of their own (the caller checked they are there). */
export function sliceSource(source: ByteSource, offset: number, length: number): ByteSource {
  return {
    size: length,
    readInto: (position, target) => source.readInto(offset + position, target.subarray(0, Math.max(0, Math.min(target.length, length - position)))),
  };
}

/**
 * Copies `count` elements of `dtype` stored at `bytes[offset..]` with the given byte order into a new typed array
 * (so the result is aligned and owned), swapping bytes when the file's order differs from the host's.
 * With `owned` (the caller hands over `bytes` and will not use them again) and an aligned offset, the elements are
 * swapped in place and viewed instead of copied. The caller has checked that the bytes are there.
 */
export function decodeElements(bytes: Uint8Array, offset: number, dtype: VolumeDtype, count: number, littleEndian: boolean, file?: string, owned = false): VolumeData {
  const size = DTYPE_BYTES[dtype];
  if (owned && (bytes.byteOffset + offset) % size === 0) {
    const inPlace = bytes.subarray(offset, offset + count * size);
    if (littleEndian !== HOST_LITTLE_ENDIAN) swapBytes(inPlace, size);
    return viewAs(dtype, bytes.buffer, bytes.byteOffset + offset, count);
  }
  return readElements(bytesSource(bytes), offset, dtype, count, littleEndian, file);
}

/**
 * Reads `count` elements of `dtype` stored at `position` of `source` with the given byte order straight into a new
 * typed array (no intermediate copy), swapping bytes when the file's order differs from the host's.
 * @throws PhysiotwinError `IO_TRUNCATED` when the source ends before the elements do, `OUT_OF_MEMORY` when the
 *   array cannot be allocated.
 */
export function readElements(source: ByteSource, position: number, dtype: VolumeDtype, count: number, littleEndian: boolean, file?: string): VolumeData {
  const size = DTYPE_BYTES[dtype];
  const out = allocateChecked(dtype, count, file);
  const outBytes = new Uint8Array(out.buffer, out.byteOffset, count * size);
  const got = source.readInto(position, outBytes);
  if (got < outBytes.length) {
    throw new PhysiotwinError('IO_TRUNCATED', `voxel data needs ${outBytes.length} bytes at byte ${position}, the file has ${got}`, { location: optionalFile(file) });
  }
  if (littleEndian !== HOST_LITTLE_ENDIAN) swapBytes(outBytes, size);
  return out;
}

/** The bytes of `data` in the requested byte order (a view when the host order matches, else a swapped copy). */
export function encodeElements(data: VolumeData, littleEndian: boolean): Uint8Array {
  const view = new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
  if (littleEndian === HOST_LITTLE_ENDIAN || data.BYTES_PER_ELEMENT === 1) return view;
  const copy = view.slice();
  swapBytes(copy, data.BYTES_PER_ELEMENT);
  return copy;
}

/** Reverses the byte order of every `size`-byte element of `bytes`, in place. */
function swapBytes(bytes: Uint8Array, size: number): void {
  if (size === 1) return;
  const half = size >> 1;
  for (let e = 0; e < bytes.length; e += size) {
    for (let b = 0; b < half; b++) {
      const t = bytes[e + b]!;
      bytes[e + b] = bytes[e + size - 1 - b]!;
      bytes[e + size - 1 - b] = t;
    }
  }
}

/** What {@link inflateBounded} needs to know about the decompressed stream. */
export interface InflateRequest {
  /** 'gzip' (RFC 1952, .nii.gz) or 'zlib' (RFC 1950, MetaImage CompressedData). */
  format: 'gzip' | 'zlib';
  /**
   * Called with the first decompressed bytes until it returns the total number of bytes the caller needs;
   * returns undefined while `prefix` is too short to tell (e.g. a header not yet complete).
   * It validates what it reads and throws typed errors itself.
   */
  needed(prefix: Uint8Array): number | undefined;
  /**
   * Check the stream: the gzip footer of every member (CRC-32 and ISIZE) or the zlib Adler-32. The stream is
   * followed to its end when that end is cheap to reach: within {@link VERIFY_EXTRA} decompressed bytes past the
   * needed ones, or {@link VERIFY_TAIL} compressed bytes (every file a writer made for its header, and any with a
   * little more data). A stream that runs on further (data the header does not describe, or a deflate bomb) is not
   * followed: decompression stops there and its end goes unchecked (members that ended before are checked), so it
   * costs at most that much more, as the bytes after an uncompressed file's voxels cost nothing.
   * Off: stop as soon as the needed bytes are there (for reading a header only).
   */
  verify: boolean;
  /** Most bytes `needed` may ask for. @default {@link DEFAULT_MAX_DECODED_BYTES} */
  maxBytes?: number | undefined;
  /** Names the stream in error messages, e.g. 'gzip stream' or 'CompressedData'. */
  what: string;
  file?: string | undefined;
}

/**
 * Compressed input is fed to the decompressor in slices sized from the decompressed bytes still needed and the
 * expansion seen so far (256 B to 64 KiB), so that a slice produces about what is still needed: ordinary data (a few to
 * one) goes in large slices. The decompressor inflates a whole slice before it returns, so a slice is also kept small
 * enough that even at deflate's 1032:1 it cannot produce more than MAX_OVERSHOOT bytes past the needed ones: a bomb
 * after the needed bytes (16 MiB of zeros in 17 kB right after data that compresses well) costs at most that, not the
 * whole bomb (issue 11: 2.3-2.7 s per input under load). Until the header is decompressed, slices are HEADER_CHUNK
 * bytes (at most 264 kB of output each).
 */
const MAX_CHUNK = 1 << 16;
const MIN_CHUNK = 256;
const HEADER_CHUNK = 256;
const MAX_OVERSHOOT = 1 << 20;
/** With `verify`, the stream is followed to its end when at most this many compressed bytes follow the needed ones. */
export const VERIFY_TAIL = 1 << 12;
/**
 * With `verify`, the stream is followed to its end (and its checksum checked) as long as it has decompressed at most
 * this many bytes past the needed ones: a bounded cost, the same as the overshoot a stopped bomb may cost.
 */
export const VERIFY_EXTRA = 1 << 20;

/** Thrown from the decompressor's callback to stop it once enough is decompressed; never escapes. */
const STOP = Symbol('stop inflating');

const CRC32_TABLE = (() => {
  const table = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    table[n] = c >>> 0;
  }
  return table;
})();

/** Running CRC-32 (gzip) or Adler-32 (zlib) of the decompressed bytes. */
function checksum(format: 'gzip' | 'zlib'): { update(bytes: Uint8Array): void; value(): number } {
  // The loops keep their state in locals: V8 runs them several times faster than on the closure's variables.
  if (format === 'gzip') {
    let crc = 0xffffffff;
    return {
      update(bytes) {
        let c = crc;
        for (let i = 0; i < bytes.length; i++) c = CRC32_TABLE[(c ^ bytes[i]!) & 0xff]! ^ (c >>> 8);
        crc = c;
      },
      value: () => (crc ^ 0xffffffff) >>> 0,
    };
  }
  let sumA = 1;
  let sumB = 0;
  return {
    update(bytes) {
      let a = sumA;
      let b = sumB;
      // Reduce modulo 65521 every 5552 bytes (zlib's NMAX), so the sums stay small exact integers.
      for (let i = 0; i < bytes.length; ) {
        const stop = Math.min(bytes.length, i + 5552);
        for (; i < stop; i++) {
          a += bytes[i]!;
          b += a;
        }
        a %= 65521;
        b %= 65521;
      }
      sumA = a;
      sumB = b;
    },
    value: () => ((sumB << 16) | sumA) >>> 0,
  };
}

/**
 * Decompresses `input` (bytes, or a {@link ByteSource} read slice by slice) and returns exactly the number of bytes
 * that `request.needed` asks for. Allocates the output only after checking that the requested size is within
 * `request.maxBytes` and one the compressed input can hold ({@link DEFLATE_MAX_RATIO}); stops decompressing at the
 * needed bytes (going on to the end with `verify` only while that is cheap: {@link VERIFY_EXTRA},
 * {@link VERIFY_TAIL}), so neither a bomb nor trailing data costs much time or memory.
 * @throws PhysiotwinError `IO_TRUNCATED` when the stream (or the gzip footer) ends early or cannot hold the
 *   requested size; `IO_INVALID` when the compressed data is corrupt or a checksum (of any gzip member) does not match;
 *   `LIMIT_EXCEEDED` when the needed size is over `maxBytes`; `OUT_OF_MEMORY` when it cannot be allocated.
 */
export function inflateBounded(input: Uint8Array | ByteSource, request: InflateRequest): Uint8Array {
  const source = asSource(input);
  return inflateNative(source, request) ?? inflateStreaming(source, request);
}

/**
 * Compressed bytes read to find the header before the native path decompresses the whole stream (at most
 * 4 MiB of output, deflate's 1032:1); also the slack allowed for gzip header fields beyond the deflate data.
 */
const NATIVE_HEAD = 1 << 12;

/**
 * The fast path of {@link inflateBounded} where the platform has a native inflater (Node's zlib; see
 * zlib-platform.node.ts), for the ordinary case only: `verify` asked, a compressed stream no longer than its
 * needed output can take, and a stream that decompresses to exactly the needed bytes, checksums checked by zlib,
 * nothing left over. Anything else (no native inflater, a header that does not parse, limits, trailing data,
 * truncation, corruption, a bomb: zlib stops at `total` bytes out) returns undefined, and the streaming path then
 * decides and types the outcome, so both paths give the same bytes and the same errors.
 */
function inflateNative(source: ByteSource, request: InflateRequest): Uint8Array | undefined {
  if (!platformInflate || !request.verify || source.size === 0) return undefined;
  try {
    let total = request.needed(new Uint8Array(0));
    // The header from a short prefix first (at most 264 kB out, what a bomb's first bytes make), then a longer one.
    for (const length of [HEADER_CHUNK, NATIVE_HEAD]) {
      if (total !== undefined || (length > HEADER_CHUNK && source.size <= HEADER_CHUNK)) break;
      const head = readPrefix(source, length);
      total = request.needed(platformInflate(head, request.format, head.length * DEFLATE_MAX_RATIO, true).output);
    }
    if (total === undefined || total < 1 || total > (request.maxBytes ?? DEFAULT_MAX_DECODED_BYTES) || total > source.size * DEFLATE_MAX_RATIO) return undefined;
    // Deflate's stored blocks add 5 bytes per 65535 at worst: a longer input holds more than the needed bytes.
    if (source.size > total + Math.ceil(total / 4096) + NATIVE_HEAD) return undefined;
    const all = new Uint8Array(source.size);
    if (source.readInto(0, all) !== all.length) return undefined;
    const { output, consumed } = platformInflate(all, request.format, total, false);
    return output.length === total && consumed === all.length ? output : undefined;
  } catch {
    return undefined;
  }
}

/**
 * {@link inflateBounded} with fflate's streaming inflater alone (the path every platform has; exported for the
 * tests that check both paths agree).
 * @throws as {@link inflateBounded}.
 */
export function inflateStreaming(input: Uint8Array | ByteSource, request: InflateRequest): Uint8Array {
  const source = asSource(input);
  const location = optionalFile(request.file);
  let total: number | undefined;
  let out: Uint8Array | undefined;
  let produced = 0;
  let streamed = 0;
  let pending: Uint8Array = new Uint8Array(0);
  // The current gzip member's checksum and size (the whole stream's for zlib).
  let sum = checksum(request.format);
  let memberStreamed = 0;
  /** The stream's end is checked only while it is cheap to reach (VERIFY_EXTRA, VERIFY_TAIL). */
  const followOn = () => request.verify && (streamed <= out!.length + VERIFY_EXTRA || source.size - position <= VERIFY_TAIL);
  const accept = (chunk: Uint8Array) => {
    streamed += chunk.length;
    memberStreamed += chunk.length;
    if (request.verify) sum.update(chunk);
    if (out) {
      const take = Math.min(chunk.length, out.length - produced);
      if (take > 0) out.set(chunk.subarray(0, take), produced);
      produced += take;
    } else {
      pending = concat([pending, chunk], pending.length + chunk.length);
      total = request.needed(pending);
      if (total === undefined) return;
      const limit = source.size * DEFLATE_MAX_RATIO;
      if (total > limit) {
        throw new PhysiotwinError(
          'IO_TRUNCATED',
          `${request.what} of ${source.size} bytes can hold at most ${limit} bytes, but ${total} are needed (file truncated or header dims absurd)`,
          { location },
        );
      }
      checkDecodedSize(total, request.maxBytes, request.what, request.file);
      out = allocateChecked('uint8', total, request.file) as Uint8Array;
      produced = Math.min(total, pending.length);
      out.set(pending.subarray(0, produced));
      pending = new Uint8Array(0);
    }
    if (produced === out.length && !followOn()) throw STOP;
  };
  const { Gunzip, Unzlib } = loadFflate();
  const stream = request.format === 'gzip' ? new Gunzip(accept) : new Unzlib(accept);
  if (stream instanceof Gunzip && request.verify) {
    // fflate calls onmember when a further member starts (not for the first one), with the offset of its header:
    // the member before ends in the 8 footer bytes just before it, all of its data already passed to `accept`.
    stream.onmember = (offset) => {
      checkGzipFooter(source, offset, memberStreamed, sum.value(), request, 'IO_INVALID');
      sum = checksum('gzip');
      memberStreamed = 0;
    };
  }
  let position = 0;
  let stopped = false;
  try {
    while (position < source.size) {
      let step = HEADER_CHUNK;
      if (out) {
        const expansion = Math.max(1, streamed / Math.max(1, position));
        // Past the needed bytes (following the stream to its end), what is left of the VERIFY_EXTRA budget.
        const left = produced < out.length ? out.length - produced : Math.max(0, out.length + VERIFY_EXTRA - streamed);
        step = Math.max(MIN_CHUNK, Math.min(MAX_CHUNK, Math.ceil(left / expansion), Math.floor((left + MAX_OVERSHOOT) / DEFLATE_MAX_RATIO)));
      }
      // A fresh slice each time: the decompressor may keep a reference to unconsumed input.
      const slice = new Uint8Array(Math.min(step, source.size - position));
      const got = source.readInto(position, slice);
      position += got;
      stream.push(slice.subarray(0, got), position >= source.size || got < slice.length);
      if (got < slice.length) break;
    }
  } catch (e) {
    if (e === STOP) stopped = true;
    else if (e instanceof PhysiotwinError) throw e;
    else if ((e as { code?: number }).code === 0) {
      throw new PhysiotwinError('IO_TRUNCATED', `${request.what} ends early (unexpected end of compressed data)`, { location, cause: e });
    } else throw new PhysiotwinError('IO_INVALID', `${request.what} is corrupt: ${(e as Error).message}`, { location, cause: e });
  }
  if (!out || produced < out.length) {
    const want = total === undefined ? 'a complete header' : `${total} bytes`;
    throw new PhysiotwinError('IO_TRUNCATED', `${request.what} decompresses to ${produced} bytes, ${want} needed`, { location });
  }
  if (request.verify && !stopped) checkStreamEnd(source, request, memberStreamed, sum.value());
  return out;
}

/**
 * fflate's streaming gunzip does not check the gzip footer (a file cut inside it still decompresses) and neither
 * inflater checks the checksum; this does both for the stream's end: the last gzip member's footer (the members
 * before it are checked as the next one starts) or the zlib Adler-32.
 */
function checkStreamEnd(input: ByteSource, request: InflateRequest, memberStreamed: number, computed: number): void {
  if (request.format === 'gzip') {
    // A cut file has no footer: the last 8 bytes are deflate data, whose ISIZE hardly ever matches.
    checkGzipFooter(input, input.size, memberStreamed, computed, request, 'IO_TRUNCATED');
    return;
  }
  const tail = new Uint8Array(4);
  const got = input.size >= 4 ? input.readInto(input.size - 4, tail) : 0;
  const stored = got === 4 ? new DataView(tail.buffer).getUint32(0, false) : -1;
  if (stored !== computed) throw new PhysiotwinError('IO_INVALID', `${request.what} is corrupt: Adler-32 ${hex(stored)} stored, ${hex(computed)} computed`, { location: optionalFile(request.file) });
}

/**
 * The gzip member footer that ends at `end`: ISIZE (its size mod 2^32) and CRC-32 against what was decompressed.
 * A wrong ISIZE is `sizeCode` (IO_TRUNCATED at the stream's end, where a cut file leaves no footer; IO_INVALID
 * between members, where the footer is whole but wrong), a wrong CRC-32 IO_INVALID.
 */
function checkGzipFooter(input: ByteSource, end: number, memberStreamed: number, computed: number, request: InflateRequest, sizeCode: 'IO_TRUNCATED' | 'IO_INVALID'): void {
  const location = optionalFile(request.file);
  const footer = new Uint8Array(8);
  // The smallest gzip member is 18 bytes (10 header, 0 data, 8 footer).
  const got = end >= 18 ? input.readInto(end - 8, footer) : 0;
  const view = new DataView(footer.buffer);
  const isize = got === 8 ? view.getUint32(4, true) : -1;
  if (isize !== memberStreamed % 2 ** 32) {
    const what = sizeCode === 'IO_TRUNCATED' ? 'footer is missing or cut' : `member ending at byte ${end} has a wrong footer`;
    throw new PhysiotwinError(sizeCode, `${request.what} ${what} (ISIZE does not match the ${memberStreamed} decompressed bytes)`, { location });
  }
  const crc = view.getUint32(0, true);
  if (crc !== computed) throw new PhysiotwinError('IO_INVALID', `${request.what} is corrupt: CRC-32 ${hex(crc)} stored, ${hex(computed)} computed`, { location });
}

function hex(n: number): string {
  return `0x${n.toString(16).padStart(8, '0')}`;
}

function concat(chunks: Uint8Array[], length: number): Uint8Array {
  if (chunks.length === 1 && chunks[0]!.length === length) return chunks[0]!;
  const out = new Uint8Array(length);
  let at = 0;
  for (const c of chunks) {
    out.set(c, at);
    at += c.length;
  }
  return out;
}

/** gzip-compresses (RFC 1952) with fflate; works in browsers and Node. */
export function gzipBytes(bytes: Uint8Array): Uint8Array {
  return loadFflate().gzipSync(bytes, { level: 6, mtime: 0 });
}

/** zlib-compresses (RFC 1950) with fflate, as MetaImage's CompressedData expects. */
export function zlibBytes(bytes: Uint8Array): Uint8Array {
  return loadFflate().zlibSync(bytes, { level: 6 });
}

/** `{ file }` when a name is known, for error locations. */
export function optionalFile(file: string | undefined): { file: string } | undefined {
  return file === undefined ? undefined : { file };
}

/** Concatenates byte arrays. */
export function concatBytes(parts: Uint8Array[]): Uint8Array {
  return concat(parts, parts.reduce((n, p) => n + p.length, 0));
}
