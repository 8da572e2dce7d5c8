import { Gunzip, Unzlib, gzipSync, zlibSync } from 'fflate';
import { DTYPE_BYTES, PhysiotwinError, allocateVolumeData } from '@physiotwin/core';
import type { VolumeData, VolumeDtype } from '@physiotwin/core';

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

/**
 * Allocates the typed array for `count` elements of `dtype`; a size the platform cannot allocate becomes a typed
 * error instead of a raw RangeError.
 */
export function allocateChecked(dtype: VolumeDtype, count: number, file: string | undefined): VolumeData {
  try {
    return allocateVolumeData(dtype, count);
  } catch (e) {
    if (!(e instanceof RangeError)) throw e;
    throw new PhysiotwinError('IO_UNSUPPORTED', `cannot allocate ${count} ${dtype} elements in one array`, { location: optionalFile(file), cause: e });
  }
}

/**
 * Copies `count` elements of `dtype` stored at `bytes[offset..]` with the given byte order into a new typed array
 * (so the result is aligned and owned), swapping bytes when the file's order differs from the host's.
 * The caller has checked that the bytes are there.
 */
export function decodeElements(bytes: Uint8Array, offset: number, dtype: VolumeDtype, count: number, littleEndian: boolean, file?: string): VolumeData {
  const size = DTYPE_BYTES[dtype];
  const out = allocateChecked(dtype, count, file);
  const outBytes = new Uint8Array(out.buffer, out.byteOffset, count * size);
  outBytes.set(bytes.subarray(offset, offset + count * size));
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
   * Decompress the whole stream and check its end: the gzip footer (CRC-32 and ISIZE) or the zlib Adler-32.
   * Off: stop as soon as the needed bytes are there (for reading a header only).
   */
  verify: boolean;
  /** Names the stream in error messages, e.g. 'gzip stream' or 'CompressedData'. */
  what: string;
  file?: string | undefined;
}

/** Input is fed to the decompressor in slices of this size, so a reader that needs only a header stops early. */
const INFLATE_CHUNK = 1 << 20;
const HEADER_CHUNK = 1 << 14;

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
  if (format === 'gzip') {
    let crc = 0xffffffff;
    return {
      update(bytes) {
        for (let i = 0; i < bytes.length; i++) crc = CRC32_TABLE[(crc ^ bytes[i]!) & 0xff]! ^ (crc >>> 8);
      },
      value: () => (crc ^ 0xffffffff) >>> 0,
    };
  }
  let a = 1;
  let b = 0;
  return {
    update(bytes) {
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
    },
    value: () => ((b << 16) | a) >>> 0,
  };
}

/**
 * Decompresses `input` and returns exactly the number of bytes that `request.needed` asks for. Allocates the output
 * only after checking that the requested size is one the compressed input can hold ({@link DEFLATE_MAX_RATIO}).
 * With `verify`, decompresses to the end (discarding bytes past the needed ones) and checks the stream's checksum.
 * @throws PhysiotwinError `IO_TRUNCATED` when the stream (or the gzip footer) ends early or cannot hold the
 *   requested size; `IO_INVALID` when the compressed data is corrupt or its checksum does not match.
 */
export function inflateBounded(input: Uint8Array, request: InflateRequest): Uint8Array {
  const location = optionalFile(request.file);
  let total: number | undefined;
  let out: Uint8Array | undefined;
  let produced = 0;
  let streamed = 0;
  let pending: Uint8Array = new Uint8Array(0);
  const sum = checksum(request.format);
  const accept = (chunk: Uint8Array) => {
    streamed += chunk.length;
    if (request.verify) sum.update(chunk);
    if (out) {
      const take = Math.min(chunk.length, out.length - produced);
      if (take > 0) out.set(chunk.subarray(0, take), produced);
      produced += take;
      return;
    }
    pending = concat([pending, chunk], pending.length + chunk.length);
    total = request.needed(pending);
    if (total === undefined) return;
    const limit = input.length * DEFLATE_MAX_RATIO;
    if (total > limit) {
      throw new PhysiotwinError(
        'IO_TRUNCATED',
        `${request.what} of ${input.length} bytes can hold at most ${limit} bytes, but ${total} are needed (file truncated or header dims absurd)`,
        { location },
      );
    }
    out = allocateChecked('uint8', total, request.file) as Uint8Array;
    produced = Math.min(total, pending.length);
    out.set(pending.subarray(0, produced));
  };
  let members = 0;
  const stream = request.format === 'gzip' ? new Gunzip(accept) : new Unzlib(accept);
  if (stream instanceof Gunzip) stream.onmember = () => members++;
  let position = 0;
  try {
    while (position < input.length && (request.verify || !(out && produced >= out.length))) {
      const step = out ? INFLATE_CHUNK : HEADER_CHUNK;
      const end = Math.min(input.length, position + step);
      stream.push(input.subarray(position, end), end === input.length);
      position = end;
    }
  } catch (e) {
    if (e instanceof PhysiotwinError) throw e;
    const code = (e as { code?: number }).code;
    if (code === 0) {
      throw new PhysiotwinError('IO_TRUNCATED', `${request.what} ends early (unexpected end of compressed data)`, { location, cause: e });
    }
    throw new PhysiotwinError('IO_INVALID', `${request.what} is corrupt: ${(e as Error).message}`, { location, cause: e });
  }
  if (!out || produced < out.length) {
    const want = total === undefined ? 'a complete header' : `${total} bytes`;
    throw new PhysiotwinError('IO_TRUNCATED', `${request.what} decompresses to ${produced} bytes, ${want} needed`, { location });
  }
  if (request.verify) checkStreamEnd(input, request, streamed, sum.value(), members);
  return out;
}

/**
 * fflate's streaming gunzip does not check the gzip footer (a file cut inside it still decompresses) and neither
 * inflater checks the checksum; this does both. Multi-member gzip files (rare: concatenated .gz) are checked for
 * truncation by the inflater only, since each member has its own footer.
 */
function checkStreamEnd(input: Uint8Array, request: InflateRequest, streamed: number, computed: number, members: number): void {
  const location = optionalFile(request.file);
  const view = new DataView(input.buffer, input.byteOffset, input.byteLength);
  if (request.format === 'zlib') {
    const stored = view.getUint32(input.length - 4, false);
    if (stored !== computed) throw new PhysiotwinError('IO_INVALID', `${request.what} is corrupt: Adler-32 ${hex(stored)} stored, ${hex(computed)} computed`, { location });
    return;
  }
  if (members > 1) return;
  const isize = input.length >= 18 ? view.getUint32(input.length - 4, true) : -1;
  if (isize !== streamed % 2 ** 32) {
    throw new PhysiotwinError('IO_TRUNCATED', `${request.what} footer is missing or cut (ISIZE does not match the ${streamed} decompressed bytes)`, { location });
  }
  const crc = view.getUint32(input.length - 8, true);
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
  return gzipSync(bytes, { level: 6, mtime: 0 });
}

/** zlib-compresses (RFC 1950) with fflate, as MetaImage's CompressedData expects. */
export function zlibBytes(bytes: Uint8Array): Uint8Array {
  return zlibSync(bytes, { level: 6 });
}

/** `{ file }` when a name is known, for error locations. */
export function optionalFile(file: string | undefined): { file: string } | undefined {
  return file === undefined ? undefined : { file };
}

/** Concatenates byte arrays. */
export function concatBytes(parts: Uint8Array[]): Uint8Array {
  return concat(parts, parts.reduce((n, p) => n + p.length, 0));
}
