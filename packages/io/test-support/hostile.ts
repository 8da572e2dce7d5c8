// Hostile inputs of issue 11 built cheaply: compressed streams whose decompressed size is far beyond what a header
// needs. Used by the io tests and the fuzz suite (test/fuzz).
import * as zlib from 'node:zlib';

/**
 * Raw deflate that inflates to `mib` MiB of zeros on its own: 1 MiB segments (each starts with a literal, the rest
 * back-references inside it) ending on a byte boundary (sync flush), so they concatenate. Cached per size.
 */
const zeroTails = new Map<number, Buffer>();
function zeroTail(mib: number): Buffer {
  let tail = zeroTails.get(mib);
  if (!tail) {
    const segment = zlib.deflateRawSync(new Uint8Array(1 << 20), { finishFlush: zlib.constants.Z_SYNC_FLUSH });
    tail = Buffer.concat(Array.from({ length: mib }, () => segment));
    zeroTails.set(mib, tail);
  }
  return tail;
}

/** The deflate body `bytes` then `zeroMiB` MiB of zeros, closed by an empty final block. */
function deflateWithTrailingZeros(bytes: Uint8Array, zeroMiB: number): Buffer {
  const head = zlib.deflateRawSync(bytes, { finishFlush: zlib.constants.Z_SYNC_FLUSH });
  // 0x03 0x00: BFINAL = 1, fixed Huffman, end-of-block at once.
  return Buffer.concat([head, zeroTail(zeroMiB), Buffer.from([0x03, 0x00])]);
}

/**
 * A gzip file holding `bytes` followed by `zeroMiB` MiB of zeros: 4096 MiB of zeros take about 4 MB. The footer
 * (CRC-32, ISIZE) is zeros: a reader that checks it must have decompressed all 4 GiB first, which is the fault.
 */
export function gzipWithTrailingZeros(bytes: Uint8Array, zeroMiB: number): Uint8Array {
  const header = Buffer.from([0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 3]);
  return new Uint8Array(Buffer.concat([header, deflateWithTrailingZeros(bytes, zeroMiB), Buffer.alloc(8)]));
}

/** The same as a zlib stream (MetaImage CompressedData), with an Adler-32 of zeros. */
export function zlibWithTrailingZeros(bytes: Uint8Array, zeroMiB: number): Uint8Array {
  return new Uint8Array(Buffer.concat([Buffer.from([0x78, 0x9c]), deflateWithTrailingZeros(bytes, zeroMiB), Buffer.alloc(4)]));
}
