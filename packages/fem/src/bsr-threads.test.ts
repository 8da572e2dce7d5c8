// The threaded symmetric matvec (bsr-threads.ts): equal to the full product within the bound of bsr.test.ts on
// partitions the thread count and the matrix make uneven, the same bits on every run, workers that stop with the
// kernel (and a process that exits), one thread where shared memory is missing, and typed errors, never a hang,
// when a worker fails.
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { PhysiotwinError } from '@physiotwin/core';
import { readMsh } from '@physiotwin/io';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { liveThreadedKernels, setTestMode } from './bsr-threads.js';
import { bsrKernel, bsrMultiply, lameCylinder, solve, stiffnessOf } from './index.js';
import type { BsrMatrix } from './index.js';
import { blockJacobi, pcg } from './pcg.cpu.js';

const mesh = readMsh(readFileSync(new URL('../../../fixtures/fem/cylinder-t10-0.5.msh', import.meta.url))).mesh;
const cylinder = stiffnessOf({ mesh, materials: [{ region: 1, E: 1000, nu: 0.3 }], constraints: [] });

/** A symmetric BSR matrix on n block rows: a diagonal, `links` random couplings, and row 0 coupled to every row
 * when `arrow` (one heavy row: a partition by blocks gives thread 0 almost nothing, and its accumulator every row). */
function randomSymmetric(n: number, links: number, arrow: boolean, seed: number): BsrMatrix {
  let state = seed;
  const rand = () => ((state = (Math.imul(state, 1664525) + 1013904223) >>> 0) / 2 ** 32);
  const blocks = new Map<string, number[]>();
  const put = (i: number, j: number, b: number[]) => {
    blocks.set(`${i},${j}`, b);
    blocks.set(`${j},${i}`, [b[0]!, b[3]!, b[6]!, b[1]!, b[4]!, b[7]!, b[2]!, b[5]!, b[8]!]);
  };
  for (let i = 0; i < n; i++) put(i, i, [10, 1, 2, 1, 10, 3, 2, 3, 10]);
  for (let l = 0; l < links; l++) {
    const i = Math.floor(rand() * n), j = Math.floor(rand() * n);
    if (i !== j) put(i, j, Array.from({ length: 9 }, () => rand() * 2 - 1));
  }
  if (arrow) for (let j = 1; j < n; j++) put(0, j, Array.from({ length: 9 }, () => rand() - 0.5));
  const rowPtr = new Int32Array(n + 1);
  const entries = [...blocks].map(([key, b]) => [...key.split(',').map(Number), b] as [number, number, number[]]).sort((p, q) => p[0] - q[0] || p[1] - q[1]);
  const cols = new Int32Array(entries.length);
  const values = new Float64Array(9 * entries.length);
  entries.forEach(([i, j, b], k) => {
    rowPtr[i + 1]!++;
    cols[k] = j;
    values.set(b, 9 * k);
  });
  for (let i = 0; i < n; i++) rowPtr[i + 1]! += rowPtr[i]!;
  return { n, rowPtr, cols, values };
}

/** max_i |out_i - (A x)_i| / (|A| |x|)_i. */
function worstError(a: BsrMatrix, x: Float64Array, out: Float64Array): number {
  const full = new Float64Array(3 * a.n);
  const bound = new Float64Array(3 * a.n);
  bsrMultiply(a, x, full);
  bsrMultiply({ ...a, values: a.values.map(Math.abs) }, x.map(Math.abs), bound);
  let worst = 0;
  for (let i = 0; i < out.length; i++) worst = Math.max(worst, Math.abs(out[i]! - full[i]!) / bound[i]!);
  return worst;
}

const vector = (n: number) => new Float64Array(3 * n).map((_, i) => Math.sin(0.37 * i) + 0.1);

afterEach(() => {
  vi.unstubAllGlobals();
});

describe('the threaded symmetric matvec', () => {
  const cases: Array<[string, BsrMatrix]> = [
    ['T10 cylinder stiffness (328 nodes)', cylinder],
    ['random symmetric, unordered (60 rows)', randomSymmetric(60, 150, false, 7)],
    ['arrow: row 0 coupled to all (40 rows)', randomSymmetric(40, 60, true, 11)],
  ];

  it.each(cases)('equals the full product within 1e-13 (|A| |x|)_i on 2, 3 and 5 threads, scalar and SIMD: %s', async (_, a) => {
    const x = vector(a.n);
    for (const engine of ['auto', 'wasm'] as const) {
      for (const threads of [2, 3, 5]) {
        const k = bsrKernel(a, 'symmetric', { engine, threads, pairs: 2 });
        try {
          expect(k.threads).toBe(threads);
          const out = new Float64Array(3 * a.n).fill(Number.NaN);
          k.multiplyInto(x, out);
          // Each y_i sums its row's products (at most ~100 here) in another order than the full product: at most
          // about 100 eps (|A| |x|)_i = 2e-14 (|A| |x|)_i apart; 1e-13 leaves room and catches any lost or doubled term.
          expect(worstError(a, x, out)).toBeLessThanOrEqual(1e-13);
          // The workers alone (the calling thread may have claimed every chunk above): the same bits, whoever
          // ran which chunk.
          await setTestMode(k, 'workers');
          const byWorkers = new Float64Array(3 * a.n).fill(Number.NaN);
          k.multiplyInto(x, byWorkers);
          expect(byWorkers).toEqual(out);
          await setTestMode(k, 'normal');
          // The second pair (the multigrid smoother's) on the same workers.
          const second = k.pair(1);
          second.x.set(x);
          second.multiply();
          expect(second.y).toEqual(out);
        } finally {
          k.dispose();
        }
      }
    }
  });

  it('gives the same bits on every product and every kernel with the same thread count', () => {
    const a = randomSymmetric(80, 300, false, 3);
    const x = vector(a.n);
    const runs: Float64Array[] = [];
    for (let kernel = 0; kernel < 2; kernel++) {
      const k = bsrKernel(a, 'symmetric', { threads: 3 });
      k.x.set(x);
      for (let r = 0; r < 3; r++) {
        k.y.fill(Number.NaN); // overwritten, not accumulated
        k.multiply();
        runs.push(k.y.slice());
      }
      k.dispose();
    }
    for (const r of runs) expect(r).toEqual(runs[0]);
  });

  it('runs on the calling thread once disposed, and on one thread without SharedArrayBuffer', () => {
    const a = cylinder;
    const x = vector(a.n);
    const one = bsrKernel(a, 'symmetric');
    expect(one.threads).toBe(1);
    const ref = new Float64Array(3 * a.n);
    one.multiplyInto(x, ref);
    const k = bsrKernel(a, 'symmetric', { threads: 2 });
    expect(k.threads).toBe(2);
    k.dispose();
    expect(k.threads).toBe(1);
    const out = new Float64Array(3 * a.n);
    k.multiplyInto(x, out);
    expect(out).toEqual(ref); // the module's one-thread product on the same memory
    vi.stubGlobal('SharedArrayBuffer', undefined);
    const fallback = bsrKernel(a, 'symmetric', { threads: 2 });
    expect(fallback.threads).toBe(1);
    fallback.multiplyInto(x, out);
    expect(out).toEqual(ref);
    expect(liveThreadedKernels()).toBe(0);
  });

  it("'auto' stays on one thread for a small matrix", () => {
    expect(bsrKernel(cylinder, 'symmetric', { threads: 'auto' }).threads).toBe(1);
  });

  it.each(['throw', 'exit', 'hang'] as const)('a worker that fails (%s) gives WORKER_CRASHED, then again, never a hang', async (fault) => {
    const a = cylinder;
    // A short stall limit only where the stall is the fault: for a throw or an exit the worker reports its own cause,
    // which on a loaded machine can take longer than 300 ms to be scheduled (the stall would then be reported first).
    const k = bsrKernel(a, 'symmetric', { threads: 2, stallMs: fault === 'hang' ? 300 : 20_000 });
    k.x.set(vector(a.n));
    k.multiply();
    await setTestMode(k, fault);
    const t0 = performance.now();
    let error: unknown;
    try {
      k.multiply(); // the fault leaves every chunk to the workers: the last one meets it in this product
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(PhysiotwinError);
    expect((error as PhysiotwinError).code).toBe('WORKER_CRASHED');
    expect((error as Error).message).toMatch(fault === 'throw' ? /fault injected by a test/ : fault === 'exit' ? /exited/ : /no answer/);
    // The hang's stall limit (300 ms) plus scheduling on a loaded machine; for the others, the worker's report comes
    // before the 20 s stall limit. A real hang would run into the test's timeout.
    expect(performance.now() - t0).toBeLessThan(fault === 'hang' ? 10_000 : 20_000);
    expect(() => k.multiply()).toThrow(/WORKER_CRASHED|threaded matvec stopped/);
    expect(liveThreadedKernels()).toBe(0);
    k.dispose();
  });

  it('pcg stops its workers when it converges, fails or is aborted', () => {
    // A 3D Laplacian-like SPD matrix: the random matrix's diagonal dominates its couplings.
    const a = randomSymmetric(200, 400, false, 5);
    const b = vector(a.n);
    const x = new Float64Array(3 * a.n);
    const r = pcg(a, b, x, blockJacobi(a), { tolerance: 1e-10, maxIterations: 500, threads: 2 });
    expect(r.iterations).toBeGreaterThan(0);
    expect(liveThreadedKernels()).toBe(0);
    const ac = new AbortController();
    ac.abort();
    expect(() => pcg(a, b, new Float64Array(3 * a.n), blockJacobi(a), { tolerance: 1e-30, maxIterations: 500, threads: 2, signal: ac.signal })).toThrow(/ABORTED|cancelled/);
    expect(() => pcg(a, b, new Float64Array(3 * a.n), blockJacobi(a), { tolerance: 1e-30, maxIterations: 3, threads: 2 })).toThrow(/did not reach/);
    expect(liveThreadedKernels()).toBe(0);
  });

  it('solve on 2 threads (T10 multigrid: CG and the smoother share the workers) matches 1 thread and stops them', async () => {
    const problem = lameCylinder(mesh, 'T10', 0.3).problem;
    problem.solver = { tolerance: 1e-10, preconditioner: 'multilevel' };
    const one = await solve(problem, { backend: 'cpu', threads: 1 });
    const two = await solve(problem, { backend: 'cpu', threads: 2 });
    // Both converge to ||r|| <= 1e-10 ||b|| from rounding-level different products: the displacements agree far
    // below the discretisation error; 1e-7 of the largest is a loose bound on cond(K) 1e-10.
    let diff = 0, max = 0;
    for (let i = 0; i < one.displacement.length; i++) {
      diff = Math.max(diff, Math.abs(one.displacement[i]! - two.displacement[i]!));
      max = Math.max(max, Math.abs(one.displacement[i]!));
    }
    expect(diff / max).toBeLessThan(1e-7);
    expect(liveThreadedKernels()).toBe(0);
    // Aborted mid-CG (block Jacobi: about 130 iterations; CG looks at the signal every 64).
    problem.solver = { tolerance: 1e-10, preconditioner: 'jacobi' };
    const ac = new AbortController();
    const aborted = solve(problem, { backend: 'cpu', threads: 2, signal: ac.signal, onProgress: (p) => p.stage === 'solve' && ac.abort() });
    await expect(aborted).rejects.toMatchObject({ code: 'ABORTED' });
    expect(liveThreadedKernels()).toBe(0);
  });

  it('a process that leaves threaded kernels undisposed still exits, and a collected kernel stops its workers', () => {
    const entry = fileURLToPath(new URL('./index.ts', import.meta.url));
    const threadsModule = fileURLToPath(new URL('./bsr-threads.ts', import.meta.url));
    const script = `import { bsrKernel } from ${JSON.stringify(entry)};
      import { liveThreadedKernels } from ${JSON.stringify(threadsModule)};
      const n = 50, rowPtr = new Int32Array(n + 1), cols = new Int32Array(n), values = new Float64Array(9 * n);
      for (let i = 0; i < n; i++) { rowPtr[i + 1] = i + 1; cols[i] = i; values.set([2, 0, 0, 0, 2, 0, 0, 0, 2], 9 * i); }
      const make = () => { const k = bsrKernel({ n, rowPtr, cols, values }, 'symmetric', { threads: 2 }); k.x.fill(1); k.multiply(); return k; };
      const kept = make();
      make(); // dropped without dispose
      for (let i = 0; i < 20 && liveThreadedKernels() > 1; i++) { globalThis.gc(); await new Promise((r) => setTimeout(r, 20)); }
      console.log(kept.threads, kept.y[0], liveThreadedKernels());`;
    const t0 = performance.now();
    const out = execFileSync(process.execPath, ['--expose-gc', '--conditions=@physiotwin/source', '--import', 'tsx', '--input-type=module', '-e', script], { encoding: 'utf8', timeout: 60_000 });
    // The kept kernel still runs on 2 threads (its workers are unref'd: the process exits anyway); the dropped one
    // was collected and its workers stopped.
    expect(out.trim()).toBe('2 2 1');
    expect(performance.now() - t0).toBeLessThan(60_000);
  });
});
