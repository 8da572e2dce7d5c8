import { PhysiotwinError, throwIfAborted } from '@physiotwin/core';
import type { OperationOptions } from '@physiotwin/core';
import type { BsrMatrix } from './bsr.js';
import { bsrKernel } from './bsr-wasm.js';
import type { BsrKernel } from './bsr-wasm.js';

/** z = M^-1 r. */
export type Preconditioner = (r: Float64Array, z: Float64Array) => void;

/** What the CPU PCG (`pcg`) reports. */
export interface PcgResult {
  iterations: number;
  /** ||r_k|| / ||b|| for k = 0 .. iterations. */
  residualHistory: number[];
}

/**
 * Inverts every 3x3 diagonal block of `a` (the block-Jacobi preconditioner).
 * @throws PhysiotwinError `SOLVER_SINGULAR` for a singular diagonal block (a node with no stiffness).
 */
export function blockJacobi(a: BsrMatrix): Preconditioner {
  const inv = new Float64Array(9 * a.n);
  for (let i = 0; i < a.n; i++) {
    let k = a.rowPtr[i]!;
    while (k < a.rowPtr[i + 1]! && a.cols[k] !== i) k++;
    const v = a.values.subarray(9 * k, 9 * k + 9);
    const c00 = v[4]! * v[8]! - v[5]! * v[7]!, c01 = v[5]! * v[6]! - v[3]! * v[8]!, c02 = v[3]! * v[7]! - v[4]! * v[6]!;
    const det = v[0]! * c00 + v[1]! * c01 + v[2]! * c02;
    const scale = Math.abs(v[0]!) + Math.abs(v[4]!) + Math.abs(v[8]!);
    if (!(Math.abs(det) > 1e-14 * scale ** 3)) throw new PhysiotwinError('SOLVER_SINGULAR', `node ${i} has a singular 3x3 stiffness block (no element stiffens it)`);
    const d = 1 / det;
    const o = 9 * i;
    inv[o] = c00 * d; inv[o + 1] = (v[2]! * v[7]! - v[1]! * v[8]!) * d; inv[o + 2] = (v[1]! * v[5]! - v[2]! * v[4]!) * d;
    inv[o + 3] = c01 * d; inv[o + 4] = (v[0]! * v[8]! - v[2]! * v[6]!) * d; inv[o + 5] = (v[2]! * v[3]! - v[0]! * v[5]!) * d;
    inv[o + 6] = c02 * d; inv[o + 7] = (v[1]! * v[6]! - v[0]! * v[7]!) * d; inv[o + 8] = (v[0]! * v[4]! - v[1]! * v[3]!) * d;
  }
  return (r, z) => {
    for (let i = 0; i < a.n; i++) {
      const o = 9 * i;
      const r0 = r[3 * i]!, r1 = r[3 * i + 1]!, r2 = r[3 * i + 2]!;
      z[3 * i] = inv[o]! * r0 + inv[o + 1]! * r1 + inv[o + 2]! * r2;
      z[3 * i + 1] = inv[o + 3]! * r0 + inv[o + 4]! * r1 + inv[o + 5]! * r2;
      z[3 * i + 2] = inv[o + 6]! * r0 + inv[o + 7]! * r1 + inv[o + 8]! * r2;
    }
  };
}

function dot(a: Float64Array, b: Float64Array): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i]! * b[i]!;
  return s;
}

/** Options of the CPU PCG (`pcg`). */
export interface PcgOptions extends OperationOptions {
  tolerance: number;
  maxIterations: number;
  /**
   * Threads of the matvec when `pcg` makes its own kernel ({@link bsrKernel}'s `threads`): default 'auto' (one
   * per 64 MB of streamed upper-triangle matrix, at most os.availableParallelism(): one below about 6e5 DOF of T4
   * stiffness); 1 forces the one-thread kernel.
   */
  threads?: number | 'auto';
}

/**
 * Preconditioned conjugate gradients for A x = b (A symmetric positive definite), starting from `x`, until
 * ||r|| <= tolerance ||b||.
 * @param shared a symmetric {@link bsrKernel} of `a` to use (its pair 0), e.g. one the preconditioner shares; the
 *   caller disposes it (a kernel `pcg` makes itself is disposed before it returns or throws)
 * @throws PhysiotwinError `SOLVER_SINGULAR` when p^T A p <= 0 (A is not positive definite: an unconstrained
 *   rigid-body mode), `SOLVER_DIVERGED` (non-finite or exploding residual) and `SOLVER_NOT_CONVERGED`
 *   (maxIterations reached), each with `details.residualHistory`; `ABORTED`; `WORKER_CRASHED` when a matvec
 *   worker thread fails.
 */
export function pcg(a: BsrMatrix, b: Float64Array, x: Float64Array, m: Preconditioner, options: PcgOptions, shared?: BsrKernel): PcgResult {
  // A is symmetric (elimination keeps it so): stream only its upper triangle, half the bytes per matvec, in the
  // WebAssembly kernel (SIMD where available: bsrSymmetricMultiply's result to rounding), on worker threads too
  // where the matrix is large enough to pay. p and q live in the kernel's memory: q = A p without copies.
  throwIfAborted(options.signal, 'fem solve');
  const kernel = shared ?? bsrKernel(a, 'symmetric', { threads: options.threads ?? 'auto' });
  try {
    return iterate(b, x, m, options, kernel);
  } finally {
    if (!shared) kernel.dispose();
  }
}

function iterate(b: Float64Array, x: Float64Array, m: Preconditioner, options: PcgOptions, kernel: BsrKernel): PcgResult {
  const n = b.length;
  const r = new Float64Array(n);
  const z = new Float64Array(n);
  const p = kernel.x;
  const q = kernel.y;
  kernel.multiplyInto(x, q);
  for (let i = 0; i < n; i++) r[i] = b[i]! - q[i]!;
  const bNorm = Math.sqrt(dot(b, b));
  const history: number[] = [];
  if (bNorm === 0) {
    x.fill(0);
    return { iterations: 0, residualHistory: [0] };
  }
  let rNorm = Math.sqrt(dot(r, r));
  history.push(rNorm / bNorm);
  if (rNorm <= options.tolerance * bNorm) return { iterations: 0, residualHistory: history };
  m(r, z);
  p.set(z);
  let rz = dot(r, z);
  const details = () => ({ residualHistory: history.slice() });
  for (let it = 1; it <= options.maxIterations; it++) {
    if ((it & 63) === 0) throwIfAborted(options.signal, 'fem solve');
    kernel.multiply();
    const pq = dot(p, q);
    if (!(pq > 0)) {
      if (!Number.isFinite(pq)) throw new PhysiotwinError('SOLVER_DIVERGED', `CG breakdown at iteration ${it}: p.Ap is ${pq}`, { details: details() });
      throw new PhysiotwinError('SOLVER_SINGULAR', `the stiffness is not positive definite (p.Ap = ${pq} at iteration ${it}): unconstrained rigid-body motion?`, { details: details() });
    }
    const alpha = rz / pq;
    for (let i = 0; i < n; i++) {
      x[i] = x[i]! + alpha * p[i]!;
      r[i] = r[i]! - alpha * q[i]!;
    }
    rNorm = Math.sqrt(dot(r, r));
    history.push(rNorm / bNorm);
    if (!Number.isFinite(rNorm) || rNorm > 1e8 * bNorm) throw new PhysiotwinError('SOLVER_DIVERGED', `CG residual ${rNorm / bNorm} at iteration ${it}`, { details: details() });
    options.onProgress?.({ stage: 'solve', done: it, total: options.maxIterations });
    if (rNorm <= options.tolerance * bNorm) return { iterations: it, residualHistory: history };
    m(r, z);
    const rzNew = dot(r, z);
    const beta = rzNew / rz;
    rz = rzNew;
    for (let i = 0; i < n; i++) p[i] = z[i]! + beta * p[i]!;
  }
  throw new PhysiotwinError('SOLVER_NOT_CONVERGED', `CG did not reach ${options.tolerance} in ${options.maxIterations} iterations (residual ${history[history.length - 1]})`, { details: details() });
}
