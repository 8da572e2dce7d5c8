// The default side of '#zlib-platform' (browsers, bundlers): no synchronous native inflater, so fflate's streaming
// one (binary.ts) does all the work, and fflate is a static import (a browser cannot load a module synchronously
// on first use). Node resolves '#zlib-platform' to zlib-platform.node.ts instead (package.json "imports").
import * as fflate from 'fflate';

/** What a platform inflater returns; see zlib-platform.node.ts. */
export interface PlatformInflateResult {
  output: Uint8Array;
  consumed: number;
}

/** No platform inflater here. */
export const platformInflate: ((compressed: Uint8Array, format: 'gzip' | 'zlib', maxOutput: number, partial: boolean) => PlatformInflateResult) | undefined = undefined;

/** The fflate module. */
export function loadFflate(): typeof fflate {
  return fflate;
}
