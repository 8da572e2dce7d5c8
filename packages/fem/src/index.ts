// The public API of @physiotwin/fem: the case, the solver and its verification problems, and the kernels the
// benchmark measures (BSR matrices, the stiffness assembly, the device matvec).
export { parseFemCase } from './case.js';
export type { Vec3, Selector, Material, Constraint, Load, SolverSettings, FemCase, FemProblem } from './case.js';
export { solve, SOLVER_DEFAULTS, stiffnessOf } from './solve.js';
export type { SolveOptions, Convergence, FemResult } from './solve.js';
export { patchTest, lameCylinder, lameSphere, cantilever, relativeL2Error } from './verify.js';
export type { VerificationProblem } from './verify.js';
export type { BsrMatrix } from './bsr.js';
export { bsrMultiply, bsrSymmetricMultiply, bsrToCsr, bsrUpper } from './bsr.js';
export { bsrKernel } from './bsr-wasm.js';
export type { BsrKernel, BsrKernelOptions } from './bsr-wasm.js';
export type { PcgOptions, PcgResult, Preconditioner } from './pcg.cpu.js';
export { deviceMatvec } from './device-matvec.js';
export type { DeviceMatvec } from './pcg.webgpu.js';
