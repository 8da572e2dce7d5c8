// Node's side of '#zlib-platform' (package.json "imports", "node" condition; browsers get zlib-platform.ts):
// - zlib's native inflater, several times faster than fflate's JavaScript one and with nothing to compile at start-up
//   (`physiotwin info` on a .nii.gz spent most of its time in fflate, issue #11);
// - fflate itself loaded on first use, not at import: evaluating it costs 25-75 ms of start-up that `info` on an
//   ordinary file never needs.
import { createRequire } from 'node:module';
import { constants, gunzipSync, inflateSync } from 'node:zlib';
import type * as Fflate from 'fflate';

/** What {@link platformInflate} returns: the decompressed bytes and how many compressed bytes it consumed. */
export interface PlatformInflateResult {
  /** Owned bytes (never a view into a buffer pool shared with other data). */
  output: Uint8Array;
  /** Compressed bytes consumed: fewer than given when data follows the stream's end. */
  consumed: number;
}

/**
 * Decompresses a whole gzip (every member, each checked against its CRC-32 and ISIZE) or zlib (Adler-32 checked)
 * stream in one synchronous call, with at most `maxOutput` bytes out. With `partial`, input that ends mid-stream
 * gives what it holds so far instead of an error (for reading a header from a prefix).
 * @throws whatever node:zlib throws: corrupt or truncated data, a RangeError once `maxOutput` is exceeded. The
 *   caller (binary.ts's inflateBounded) treats any error as "take the streaming path", which types it.
 */
function nodeInflate(compressed: Uint8Array, format: 'gzip' | 'zlib', maxOutput: number, partial: boolean): PlatformInflateResult {
  const options = { info: true, maxOutputLength: Math.max(1, maxOutput), ...(partial ? { finishFlush: constants.Z_SYNC_FLUSH } : {}) };
  // With `info: true` Node returns the engine beside the buffer; its types do not say so.
  const inflate = (format === 'gzip' ? gunzipSync : inflateSync) as unknown as (data: Uint8Array, o: typeof options) => { buffer: Buffer; engine: { bytesWritten: number } };
  const { buffer, engine } = inflate(compressed, options);
  // A small result may be a slice of Node's shared buffer pool: copy it so that the caller owns its buffer.
  const owned = buffer.byteOffset === 0 && buffer.buffer.byteLength === buffer.length;
  return { output: owned ? new Uint8Array(buffer.buffer, 0, buffer.length) : new Uint8Array(buffer), consumed: engine.bytesWritten };
}

/** Node's native inflater (typed as the browser module's, which has none). */
export const platformInflate: ((compressed: Uint8Array, format: 'gzip' | 'zlib', maxOutput: number, partial: boolean) => PlatformInflateResult) | undefined = nodeInflate;

let fflate: typeof Fflate | undefined;

/** The fflate module, loaded (synchronously, as CommonJS) on the first call. */
export function loadFflate(): typeof Fflate {
  fflate ??= createRequire(import.meta.url)('fflate') as typeof Fflate;
  return fflate;
}
