// Node's side of '#deps-platform' (package.json "imports", "node" condition; browsers get deps-platform.ts). Both
// dependencies are CommonJS or unneeded on most runs, and `physiotwin dicom convert` paid for them at start-up:
// - dicom-parser is a UMD bundle: imported from ESM, Node runs its CommonJS export lexer over it first (30-60 ms
//   under load, against 7-18 ms for a plain require), so it is required here;
// - fflate (gzip for .dcm.gz, deflate for the deflated transfer syntax) is loaded on first use, as io does.
import { createRequire } from 'node:module';
import type * as DicomParser from 'dicom-parser';
import type * as Fflate from 'fflate';

const require = createRequire(import.meta.url);

/** dicom-parser's API. */
export const dicomParser = require('dicom-parser') as typeof DicomParser;

let fflate: typeof Fflate | undefined;

/** The fflate module, loaded (synchronously, as CommonJS) on the first call. */
export function loadFflate(): typeof Fflate {
  fflate ??= require('fflate') as typeof Fflate;
  return fflate;
}
