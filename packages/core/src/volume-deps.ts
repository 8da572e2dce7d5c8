// Where ndarray and gl-matrix's mat4 come from outside Node (browsers, bundlers): static imports, since a browser
// cannot load a module synchronously on first use. Node resolves '#volume-deps' to volume-deps.node.ts instead
// (package.json "imports"), which defers both until first used.
// gl-matrix's per-module ES file, not its index: start-up cost (issue #11).
import * as mat4ops from 'gl-matrix/esm/mat4.js';
import ndarray from 'ndarray';

/** The ndarray constructor. */
export function loadNdarray(): typeof ndarray {
  return ndarray;
}

/** gl-matrix's mat4 functions. */
export function loadMat4(): typeof mat4ops {
  return mat4ops;
}
