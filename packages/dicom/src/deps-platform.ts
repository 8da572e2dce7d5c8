// The default side of '#deps-platform' (browsers, bundlers): static imports (a browser cannot load a module
// synchronously on first use). Node resolves '#deps-platform' to deps-platform.node.ts instead (package.json
// "imports"), which requires dicom-parser and loads fflate lazily.
import * as dicomParserNs from 'dicom-parser';
import * as fflate from 'fflate';

/** dicom-parser's API (a UMD bundle: some bundlers give it as the default export, others as the namespace). */
export const dicomParser = ((dicomParserNs as unknown as { default?: typeof dicomParserNs }).default ?? dicomParserNs) as typeof dicomParserNs;

/** The fflate module. */
export function loadFflate(): typeof fflate {
  return fflate;
}
