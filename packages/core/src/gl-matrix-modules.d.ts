// gl-matrix types only its index ("gl-matrix"); these give its per-module ES files the same types. volume.ts
// imports them so that loading @physiotwin/core parses two small files instead of gl-matrix's whole CommonJS index.
declare module 'gl-matrix/esm/mat3.js' {
  import { mat3 } from 'gl-matrix';
  export = mat3;
}
declare module 'gl-matrix/esm/mat4.js' {
  import { mat4 } from 'gl-matrix';
  export = mat4;
}
