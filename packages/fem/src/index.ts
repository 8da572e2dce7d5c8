export * from './case.js';
export * from './solve.js';
export type { BsrMatrix } from './bsr.js';
export { bsrMultiply, bsrToCsr } from './bsr.js';
export { blockJacobi, pcg } from './pcg.cpu.js';
export type { PcgOptions, PcgResult, Preconditioner } from './pcg.cpu.js';
export * from './verify.js';
