import { readFileSync } from 'node:fs';
import { readMsh } from '@physiotwin/io';
import { describe, expect, it } from 'vitest';
import { lameCylinder, solve } from './index.js';

// The multilevel preconditioner (T10 -> T4 p-multigrid over smoothed aggregation; on T4 the aggregation alone) against block Jacobi on the
// same problem: the same solution, in far fewer iterations, with iteration counts that do not grow like 1/h.
const load = (h: string, element: string) => readMsh(readFileSync(new URL(`../../../fixtures/fem/cylinder-${element}-${h}.msh`, import.meta.url))).mesh;

/**
 * Jacobi and multilevel PCG on the Lame cylinder mesh `h` to ||r|| <= 1e-10 ||b||: both give the same displacement
 * (the error is at most cond(K) times that, and cond(K) of these small meshes is about 1e4: 1e-6 relative leaves
 * room), the multilevel one in under a third of the iterations. Returns its iteration count.
 */
async function againstJacobi(h: string, element: 'T4' | 'T10'): Promise<number> {
  const run = async (preconditioner: 'jacobi' | 'multilevel') => {
    const p = lameCylinder(load(h, element.toLowerCase()), element, 0.3).problem;
    p.solver = { tolerance: 1e-10, preconditioner };
    return solve(p, { backend: 'cpu' });
  };
  const jacobi = await run('jacobi');
  const ml = await run('multilevel');
  expect(ml.convergence.preconditioner).toBe('multilevel');
  let diff = 0;
  let norm = 0;
  for (let i = 0; i < ml.displacement.length; i++) {
    diff = Math.max(diff, Math.abs(ml.displacement[i]! - jacobi.displacement[i]!));
    norm = Math.max(norm, Math.abs(jacobi.displacement[i]!));
  }
  expect(diff / norm).toBeLessThan(1e-6);
  expect(ml.convergence.iterations * 3).toBeLessThan(jacobi.convergence.iterations);
  return ml.convergence.iterations;
}

describe('multilevel preconditioner', () => {
  it('gives the block-Jacobi solution in a fraction of the iterations, flat as h halves (T10)', async () => {
    const coarse = await againstJacobi('0.5', 'T10');
    const fine = await againstJacobi('0.25', 'T10');
    // The floor of issue #12: at most 1.5x more iterations per halving of h.
    expect(fine / coarse).toBeLessThanOrEqual(1.5);
  });

  it('on T4 (smoothed aggregation on the matrix itself, its finest products on CG\'s kernel) gives the same solution', async () => {
    await againstJacobi('0.125', 'T4');
  });
});
