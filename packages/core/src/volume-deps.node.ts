// Node: ndarray and gl-matrix's mat4 load on first use, not with @physiotwin/core (`physiotwin info` and
// `--version` use neither; start-up, issue #11). package.json "imports" maps '#volume-deps' here under the "node"
// condition; other environments get volume-deps.ts, which imports both statically.
import type * as Mat4Ops from 'gl-matrix/esm/mat4.js';
import { createRequire } from 'node:module';
import type Ndarray from 'ndarray';

const require = createRequire(import.meta.url);
let ndarray: typeof Ndarray | undefined;
let mat4ops: typeof Mat4Ops | undefined;

/** The ndarray constructor, loaded (synchronously, as CommonJS) on the first call. */
export function loadNdarray(): typeof Ndarray {
  ndarray ??= require('ndarray') as typeof Ndarray;
  return ndarray;
}

/** gl-matrix's mat4 functions (its per-module CommonJS file, the same code as the ES one), loaded on the first call. */
export function loadMat4(): typeof Mat4Ops {
  mat4ops ??= require('gl-matrix/cjs/mat4.js') as typeof Mat4Ops;
  return mat4ops;
}
