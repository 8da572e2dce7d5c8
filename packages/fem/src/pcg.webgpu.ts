import { PhysiotwinError, throwIfAborted } from '@physiotwin/core';
import type { OperationOptions } from '@physiotwin/core';
import type { GpuContext } from '@physiotwin/gpu';
import { checkBindingSizes, createBufferFrom, createStorageBuffer, createUniformBuffer, getComputePipeline, readBuffer } from '@physiotwin/gpu';
import type { BsrMatrix } from './bsr.js';
import { bsrMultiply } from './bsr.js';
import { pcgWgsl } from './generated/shaders.js';
import type { PcgResult } from './pcg.cpu.js';

// CG on the device in f32 inside an f64 iterative-refinement loop on the host: r = b - A x in f64 (CPU BSR
// matvec), A d = r / |r| solved on the GPU to INNER_TOLERANCE with block Jacobi, x += |r| d. f32 alone stalls
// near 1e-6 relative residual; each refinement step gains about INNER_TOLERANCE, so a 1e-10 tolerance takes
// about three. The whole inner iteration (matvec, dots, axpys) stays on the device; the host reads the
// residual history every BATCH iterations.

/** Relative residual each f32 inner solve aims for (well above f32's ~1e-6 floor for these systems). */
const INNER_TOLERANCE = 1e-4;
/** Inner iterations encoded per submit between convergence read-backs. */
const BATCH = 16;
const MAX_OUTER = 40;
const WG = 256;
const HISTORY = 8;

function dispatchSize(items: number, wg: number): [number, number] {
  const groups = Math.max(1, Math.ceil(items / wg));
  return [Math.min(groups, 65535), Math.ceil(groups / 65535)];
}

/** Inverse 3x3 diagonal blocks as f32 (the block-Jacobi preconditioner). */
function inverseDiagonal(a: BsrMatrix): Float32Array {
  const out = new Float32Array(9 * a.n);
  for (let i = 0; i < a.n; i++) {
    let k = a.rowPtr[i]!;
    while (a.cols[k] !== i) k++;
    const v = a.values.subarray(9 * k, 9 * k + 9);
    const c00 = v[4]! * v[8]! - v[5]! * v[7]!, c01 = v[5]! * v[6]! - v[3]! * v[8]!, c02 = v[3]! * v[7]! - v[4]! * v[6]!;
    const d = 1 / (v[0]! * c00 + v[1]! * c01 + v[2]! * c02);
    out.set([c00 * d, (v[2]! * v[7]! - v[1]! * v[8]!) * d, (v[1]! * v[5]! - v[2]! * v[4]!) * d,
      c01 * d, (v[0]! * v[8]! - v[2]! * v[6]!) * d, (v[2]! * v[3]! - v[0]! * v[5]!) * d,
      c02 * d, (v[1]! * v[6]! - v[0]! * v[7]!) * d, (v[0]! * v[4]! - v[1]! * v[3]!) * d], 9 * i);
  }
  return out;
}

/**
 * Solves A x = b (A with its Dirichlet rows eliminated, SPD) to ||r|| <= tolerance ||b|| by f32 block-Jacobi
 * PCG on the device inside f64 iterative refinement, starting from `x` (overwritten with the solution).
 * `iterations` counts inner (device) iterations; `residualHistory` holds the f64 outer residuals with the inner
 * f32 ones scaled between them.
 * @throws PhysiotwinError `SOLVER_DIVERGED` (non-finite inner residual, or refinement that stops gaining),
 *   `SOLVER_NOT_CONVERGED` (maxIterations), `GPU_LIMIT_EXCEEDED`, `GPU_VALIDATION`, `ABORTED`.
 */
export async function pcgWebgpu(gpu: GpuContext, a: BsrMatrix, b: Float64Array, x: Float64Array, options: OperationOptions & { tolerance: number; maxIterations: number }): Promise<PcgResult> {
  const { device } = gpu;
  const dofs = 3 * a.n;
  const nnzb = a.rowPtr[a.n]!;
  checkBindingSizes(device, 'fem/pcg', { values: 36 * nnzb, cols: 4 * nnzb, vector: 4 * dofs, history: 4 * (HISTORY + options.maxIterations + BATCH) });
  const kernels = ['matvec', 'precond', 'dotPartial', 'normPartial', 'reduce', 'axpy', 'updateP', 'finish'] as const;
  const pipelines = Object.fromEntries(await Promise.all(kernels.map(async (k) => [k, await getComputePipeline(device, { kernel: 'fem/pcg', code: pcgWgsl, entryPoint: k })]))) as Record<(typeof kernels)[number], GPUComputePipeline>;
  const dotGroups = Math.min(256, Math.max(1, Math.ceil(dofs / WG)));
  const S = GPUBufferUsage.STORAGE;
  const buffers: GPUBuffer[] = [];
  const keep = (buf: GPUBuffer) => (buffers.push(buf), buf);
  try {
    {
      const rowPtr = keep(createBufferFrom(device, Uint32Array.from(a.rowPtr), S, 'fem/pcg:rowPtr'));
      const cols = keep(createBufferFrom(device, Uint32Array.from(a.cols), S, 'fem/pcg:cols'));
      const vals = keep(createBufferFrom(device, Float32Array.from(a.values), S, 'fem/pcg:values'));
      const dinv = keep(createBufferFrom(device, inverseDiagonal(a), S, 'fem/pcg:dinv'));
      const vec = (name: string) => keep(createStorageBuffer(device, 4 * dofs, `fem/pcg:${name}`));
      const [dX, dR, dZ, dP, dQ] = ['d', 'r', 'z', 'p', 'q'].map(vec) as [GPUBuffer, GPUBuffer, GPUBuffer, GPUBuffer, GPUBuffer];
      const scalars = keep(createStorageBuffer(device, 4 * (HISTORY + options.maxIterations + BATCH), 'fem/pcg:scalars'));
      const partials = keep(createStorageBuffer(device, 4 * dotGroups, 'fem/pcg:partials'));
      const params = (slot: number) => keep(createUniformBuffer(device, [['u32', a.n], ['u32', dofs], ['u32', slot], ['u32', dotGroups]], `fem/pcg:params${slot}`));
      const pAll = params(0);
      const slotParams = [0, 1, 2, 3].map(params);
      const group = (k: (typeof kernels)[number], entries: Array<[number, GPUBuffer]>) =>
        device.createBindGroup({ label: `fem/pcg:${k}`, layout: pipelines[k].getBindGroupLayout(0), entries: entries.map(([binding, buffer]) => ({ binding, resource: { buffer } })) });
      const g = {
        matvec: group('matvec', [[0, pAll], [1, rowPtr], [2, cols], [3, vals], [4, dP], [5, dQ]]),
        precond: group('precond', [[0, pAll], [3, dinv], [4, dR], [5, dZ]]),
        dotPQ: group('dotPartial', [[0, pAll], [4, dP], [5, dQ], [9, partials]]),
        dotRZ: group('dotPartial', [[0, pAll], [4, dR], [5, dZ], [9, partials]]),
        dotRR: group('normPartial', [[0, pAll], [4, dR], [9, partials]]),
        reduce: [0, 1, 2, 3].map((slot) => group('reduce', [[0, slotParams[slot]!], [8, scalars], [9, partials]])),
        axpy: group('axpy', [[0, pAll], [4, dX], [5, dP], [6, dR], [7, dQ], [8, scalars]]),
        updateP: group('updateP', [[0, pAll], [4, dP], [5, dZ], [8, scalars]]),
        finish: group('finish', [[8, scalars]]),
      };
      const nodeGrid = dispatchSize(a.n, 64);
      const dofGrid = dispatchSize(dofs, WG);
      const run = (pass: GPUComputePassEncoder, k: (typeof kernels)[number], bg: GPUBindGroup, grid: [number, number]) => {
        pass.setPipeline(pipelines[k]);
        pass.setBindGroup(0, bg);
        pass.dispatchWorkgroups(grid[0], grid[1]);
      };
      const dotInto = (pass: GPUComputePassEncoder, bg: GPUBindGroup, slot: number) => {
        run(pass, bg === g.dotRR ? 'normPartial' : 'dotPartial', bg, [dotGroups, 1]);
        run(pass, 'reduce', g.reduce[slot]!, [1, 1]);
      };

      let bSquared = 0;
      for (let i = 0; i < dofs; i++) bSquared += b[i]! * b[i]!;
      const bNorm = Math.sqrt(bSquared);
      let atFloor = false;
      // ||A||inf and the longest row (scalar entries), for the f64 rounding floor of the residual.
      let normInf = 0;
      let maxRow = 0;
      for (let i = 0; i < a.n; i++) {
        maxRow = Math.max(maxRow, 3 * (a.rowPtr[i + 1]! - a.rowPtr[i]!));
        for (let r = 0; r < 3; r++) {
          let sum = 0;
          for (let k = a.rowPtr[i]!; k < a.rowPtr[i + 1]!; k++) for (let c = 0; c < 3; c++) sum += Math.abs(a.values[9 * k + 3 * r + c]!);
          normInf = Math.max(normInf, sum);
        }
      }
      const history: number[] = [];
      let inner = 0;
      const r64 = new Float64Array(dofs);
      const ax = new Float64Array(dofs);
      const residual = () => {
        bsrMultiply(a, x, ax);
        let s = 0;
        for (let i = 0; i < dofs; i++) {
          r64[i] = b[i]! - ax[i]!;
          s += r64[i]! * r64[i]!;
        }
        return Math.sqrt(s);
      };
      if (bNorm === 0) {
        x.fill(0);
        return { iterations: 0, residualHistory: [0] };
      }
      let rNorm = residual();
      history.push(rNorm / bNorm);
      for (let outer = 0; outer < MAX_OUTER && rNorm > options.tolerance * bNorm; outer++) {
        throwIfAborted(options.signal, 'fem solve (webgpu)');
        const rhs = new Float32Array(dofs);
        for (let i = 0; i < dofs; i++) rhs[i] = r64[i]! / rNorm;
        device.queue.writeBuffer(dR, 0, rhs);
        device.queue.writeBuffer(scalars, 0, new Float32Array(HISTORY));
        let enc = device.createCommandEncoder({ label: 'fem/pcg:start' });
        enc.clearBuffer(dX);
        let pass = enc.beginComputePass({ label: 'fem/pcg:start' });
        run(pass, 'precond', g.precond, nodeGrid);
        dotInto(pass, g.dotRZ, 0);
        pass.end();
        enc.copyBufferToBuffer(dZ, 0, dP, 0, 4 * dofs);
        device.queue.submit([enc.finish()]);
        let done = 0;
        let innerRel = Infinity;
        // r0 = rhs has unit norm, so the recorded r.r is the squared relative inner residual.
        while (innerRel > INNER_TOLERANCE) {
          if (inner >= options.maxIterations) {
            throw new PhysiotwinError('SOLVER_NOT_CONVERGED', `WebGPU CG did not reach ${options.tolerance} in ${options.maxIterations} iterations`, { details: { residualHistory: history } });
          }
          throwIfAborted(options.signal, 'fem solve (webgpu)');
          enc = device.createCommandEncoder({ label: 'fem/pcg:batch' });
          pass = enc.beginComputePass({ label: 'fem/pcg:batch' });
          for (let it = 0; it < BATCH; it++) {
            run(pass, 'matvec', g.matvec, nodeGrid);
            dotInto(pass, g.dotPQ, 1);
            run(pass, 'axpy', g.axpy, dofGrid);
            run(pass, 'precond', g.precond, nodeGrid);
            dotInto(pass, g.dotRZ, 2);
            dotInto(pass, g.dotRR, 3);
            run(pass, 'updateP', g.updateP, dofGrid);
            run(pass, 'finish', g.finish, [1, 1]);
          }
          pass.end();
          device.queue.submit([enc.finish()]);
          const rr = new Float32Array(await readBuffer(device, scalars, 4 * BATCH, 4 * (HISTORY + done)));
          // Every iteration of the batch ran on the device (a batch is not cut short), so all count.
          for (let k = 0; k < BATCH; k++) {
            const rel = Math.sqrt(rr[k]!);
            if (!Number.isFinite(rel)) throw new PhysiotwinError('SOLVER_DIVERGED', `WebGPU CG residual is ${rr[k]} at inner iteration ${done + k}`, { details: { residualHistory: history } });
            history.push((rel * rNorm) / bNorm);
            innerRel = Math.min(innerRel, rel);
          }
          inner += BATCH;
          done += BATCH;
          options.onProgress?.({ stage: 'solve', done: Math.min(inner, options.maxIterations), total: options.maxIterations });
        }
        const d = new Float32Array(await readBuffer(device, dX, 4 * dofs));
        for (let i = 0; i < dofs; i++) x[i] = x[i]! + rNorm * d[i]!;
        const previous = rNorm;
        rNorm = residual();
        history.push(rNorm / bNorm);
        if (!(rNorm < 0.5 * previous)) {
          // Stalled: at the f64 rounding floor of r = b - A x (each row sums ~maxRow products of size
          // ||A||inf |x|), the answer is as good as f64 allows (the CPU CG's recursive residual hides the same
          // floor); anywhere above it, refinement has failed.
          let xNorm = 0;
          for (let i = 0; i < dofs; i++) xNorm += x[i]! * x[i]!;
          const floor = maxRow * 2 ** -52 * normInf * Math.sqrt(xNorm);
          if (rNorm <= 10 * floor) {
            atFloor = true;
            break;
          }
          throw new PhysiotwinError('SOLVER_DIVERGED', `iterative refinement stopped gaining (residual ${rNorm / bNorm} after ${previous / bNorm}, f64 floor ${floor / bNorm})`, { details: { residualHistory: history } });
        }
      }
      if (rNorm > options.tolerance * bNorm && !atFloor) throw new PhysiotwinError('SOLVER_NOT_CONVERGED', `refinement did not reach ${options.tolerance}`, { details: { residualHistory: history } });
      return { iterations: inner, residualHistory: history };
    }
  } finally {
    for (const buf of buffers) buf.destroy();
  }
}

/** A stiffness matrix resident on the device, for timing the f32 BSR matvec alone (benchmarks). */
export interface DeviceMatvec {
  /** Runs `repeats` matvecs y = A x in one submit; resolves with milliseconds per matvec (wall clock). */
  time(repeats: number): Promise<number>;
  /** The last y, read back. */
  result(): Promise<Float32Array>;
  destroy(): void;
}

/** Uploads `a` (as f32) and `x` for {@link DeviceMatvec}. @throws PhysiotwinError `GPU_LIMIT_EXCEEDED`. */
export async function deviceMatvec(gpu: GpuContext, a: BsrMatrix, x: Float64Array): Promise<DeviceMatvec> {
  const { device } = gpu;
  const nnzb = a.rowPtr[a.n]!;
  checkBindingSizes(device, 'fem/pcg:matvec', { values: 36 * nnzb, cols: 4 * nnzb, vector: 12 * a.n });
  const pipeline = await getComputePipeline(device, { kernel: 'fem/pcg', code: pcgWgsl, entryPoint: 'matvec' });
  const S = GPUBufferUsage.STORAGE;
  const buffers = [
    createUniformBuffer(device, [['u32', a.n], ['u32', 3 * a.n], ['u32', 0], ['u32', 1]], 'fem/matvec:params'),
    createBufferFrom(device, Uint32Array.from(a.rowPtr), S, 'fem/matvec:rowPtr'),
    createBufferFrom(device, Uint32Array.from(a.cols), S, 'fem/matvec:cols'),
    createBufferFrom(device, Float32Array.from(a.values), S, 'fem/matvec:values'),
    createBufferFrom(device, Float32Array.from(x), S, 'fem/matvec:x'),
    createStorageBuffer(device, 12 * a.n, 'fem/matvec:y'),
  ];
  const bindGroup = device.createBindGroup({ label: 'fem/matvec', layout: pipeline.getBindGroupLayout(0), entries: buffers.map((buffer, binding) => ({ binding, resource: { buffer } })) });
  const grid = dispatchSize(a.n, 64);
  return {
    async time(repeats) {
      const enc = device.createCommandEncoder({ label: 'fem/matvec' });
      const pass = enc.beginComputePass({ label: 'fem/matvec' });
      pass.setPipeline(pipeline);
      pass.setBindGroup(0, bindGroup);
      for (let i = 0; i < repeats; i++) pass.dispatchWorkgroups(grid[0], grid[1]);
      pass.end();
      const t = performance.now();
      device.queue.submit([enc.finish()]);
      await device.queue.onSubmittedWorkDone();
      return (performance.now() - t) / repeats;
    },
    async result() {
      return new Float32Array(await readBuffer(device, buffers[5]!, 12 * a.n));
    },
    destroy() {
      for (const b of buffers) b.destroy();
    },
  };
}
