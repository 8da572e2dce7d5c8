// Node: mathjs is loaded on the first unit conversion, not at start-up (a command that converts no unit, such
// as `physiotwin --version` or `info`, never pays for it). package.json "imports" maps '#mathjs-loader' here
// under the "node" condition; other environments get mathjs-loader.ts.
import { createRequire } from 'node:module';
import type * as MathJs from 'mathjs';

let mathjs: typeof MathJs | undefined;

/** The mathjs module, loaded (synchronously, as CommonJS) on the first call. */
export function loadMathjs(): typeof MathJs {
  mathjs ??= createRequire(import.meta.url)('mathjs') as typeof MathJs;
  return mathjs;
}
