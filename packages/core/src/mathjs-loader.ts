// Where mathjs comes from outside Node (browsers, bundlers): a static import, since a browser cannot load a module
// synchronously on first use. Node resolves '#mathjs-loader' to mathjs-loader.node.ts instead (package.json
// "imports"), which defers mathjs (about 0.4 s and 90 MB of start-up) until a unit is first converted.
import * as mathjs from 'mathjs';

/** The mathjs module. */
export function loadMathjs(): typeof mathjs {
  return mathjs;
}
