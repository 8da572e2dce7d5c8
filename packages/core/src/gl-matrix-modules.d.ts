// gl-matrix types only its index ("gl-matrix"); this gives its per-module mat4 file the same types. volume-deps
// loads that one small file instead of gl-matrix's whole index (start-up, issue #11).
declare module 'gl-matrix/esm/mat4.js' {
  import { mat4 } from 'gl-matrix';
  export = mat4;
}
