// The default side of '#codec-worker' (browsers, bundlers): no codec worker, WASM codecs decode on the calling
// thread (codecs.ts decodeWithCodec) without a time limit. Node resolves '#codec-worker' to codec-worker.node.ts
// (package.json "imports"), which decodes in worker threads with a time limit per frame.
import type { CodecPool } from './codecs.js';

/**
 * The codec worker pool: none here.
 * @throws nothing.
 */
export function codecPool(): CodecPool | undefined {
  return undefined;
}
