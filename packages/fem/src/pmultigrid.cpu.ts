import type { BsrMatrix } from './bsr.js';
import { blockIndex, bsrPattern } from './bsr.js';
import type { BsrKernel } from './bsr-wasm.js';
import { TET_EDGES } from './element.js';
import { multilevel } from './multilevel.cpu.js';
import type { Preconditioner } from './pcg.cpu.js';
import { blockJacobi } from './pcg.cpu.js';

// p-multigrid T10 -> T4 for the quadratic stiffness: the linear (T4) space on the corner nodes is a subspace of
// the quadratic one (a mid-edge node takes the mean of its edge's corners, exact also on curved elements in
// reference coordinates), so P is that interpolation, the coarse matrix the Galerkin product P^T A P (the T4
// pattern, about 1/7 of the unknowns and 1/13 of the blocks), solved by one smoothed-aggregation V-cycle
// (multilevel.cpu.ts). The T10 level is smoothed by damped block Jacobi, one sweep before and one after: a
// symmetric two-grid cycle, so CG keeps its guarantees. The set-up is one pass over the fine blocks plus the
// aggregation of the much smaller T4 matrix; the cycle costs two fine matvecs.

/** Power iterations for the largest eigenvalue of D^-1 A (a lower bound, close after a few steps). */
const POWER_STEPS = 12;
/** Smoother damping omega = DAMPING / rho(D^-1 A). */
const DAMPING = 1;

/**
 * The T10 -> T4 -> smoothed-aggregation preconditioner. `a` has identity rows and columns at `constrained`
 * dofs; `kernel` is a multi-pair kernel of `a` whose pair 1 the cycle uses (pair 0 stays CG's).
 * @param tets the T10 connectivity (10 nodes per tet, VTK order)
 * @throws PhysiotwinError `SOLVER_SINGULAR` when a diagonal block is singular (from the block-Jacobi smoother)
 */
export function pMultigrid(a: BsrMatrix, kernel: BsrKernel, tets: Uint32Array, positions: Float64Array, constrained: Uint8Array): Preconditioner & { levels: number[] } {
  const n = a.n;
  const nTets = tets.length / 10;
  // Corner nodes become the coarse nodes, in order of first appearance.
  const coarseOf = new Int32Array(n).fill(-1);
  let nc = 0;
  for (let t = 0; t < nTets; t++) for (let k = 0; k < 4; k++) {
    const v = tets[10 * t + k]!;
    if (coarseOf[v] === -1) coarseOf[v] = nc++;
  }
  // Parents: a corner its own coarse node (weight 1); a mid-edge node its edge's two corners (1/2 each).
  const parentA = new Int32Array(n).fill(-1);
  const parentB = new Int32Array(n).fill(-1);
  const t4 = new Uint32Array(4 * nTets);
  const cornerNode = new Int32Array(nc);
  for (let t = 0; t < nTets; t++) {
    for (let k = 0; k < 4; k++) {
      const v = tets[10 * t + k]!;
      t4[4 * t + k] = coarseOf[v]!;
      parentA[v] = coarseOf[v]!;
      cornerNode[coarseOf[v]!] = v;
    }
    for (let e = 0; e < 6; e++) {
      const m = tets[10 * t + 4 + e]!;
      if (coarseOf[m] !== -1) continue; // a node that is a corner elsewhere keeps weight 1
      parentA[m] = coarseOf[tets[10 * t + TET_EDGES[e]![0]]!]!;
      parentB[m] = coarseOf[tets[10 * t + TET_EDGES[e]![1]]!]!;
    }
  }
  const coarseConstrained = new Uint8Array(3 * nc);
  const coarsePositions = new Float64Array(3 * nc);
  for (let c = 0; c < nc; c++) {
    for (let d = 0; d < 3; d++) {
      coarseConstrained[3 * c + d] = constrained[3 * cornerNode[c]! + d]!;
      coarsePositions[3 * c + d] = positions[3 * cornerNode[c]! + d]!;
    }
  }
  // Galerkin product P^T A P on the T4 pattern, constrained fine and coarse dofs masked out.
  const ac = bsrPattern(nc, t4, 4);
  const acValues = ac.values;
  const parents = (i: number, out: Int32Array, w: Float64Array): number => {
    if (parentA[i]! < 0) return 0;
    out[0] = parentA[i]!;
    if (parentB[i]! < 0) {
      w[0] = 1;
      return 1;
    }
    out[1] = parentB[i]!;
    w[0] = w[1] = 0.5;
    return 2;
  };
  const pi = new Int32Array(2), pj = new Int32Array(2);
  const wi = new Float64Array(2), wj = new Float64Array(2);
  for (let i = 0; i < n; i++) {
    const ni = parents(i, pi, wi);
    if (ni === 0) continue;
    for (let k = a.rowPtr[i]!; k < a.rowPtr[i + 1]!; k++) {
      const j = a.cols[k]!;
      const nj = parents(j, pj, wj);
      for (let s = 0; s < ni; s++) {
        const ci = pi[s]!;
        for (let q = 0; q < nj; q++) {
          const cj = pj[q]!;
          const at = 9 * blockIndex(ac, ci, cj);
          const w = wi[s]! * wj[q]!;
          for (let r = 0; r < 3; r++) {
            if (constrained[3 * i + r] || coarseConstrained[3 * ci + r]) continue;
            for (let c = 0; c < 3; c++) {
              if (constrained[3 * j + c] || coarseConstrained[3 * cj + c]) continue;
              acValues[at + 3 * r + c] = acValues[at + 3 * r + c]! + w * a.values[9 * k + 3 * r + c]!;
            }
          }
        }
      }
    }
  }
  // Constrained coarse dofs: identity rows and columns, like the fine matrix.
  for (let c = 0; c < nc; c++) {
    const at = 9 * blockIndex(ac, c, c);
    for (let d = 0; d < 3; d++) if (coarseConstrained[3 * c + d]) acValues[at + 4 * d] = 1;
  }
  const coarse = multilevel(ac, coarsePositions, coarseConstrained);

  const dinv = blockJacobi(a);
  const { x: kx, y: ky, multiply } = kernel.pair(1);
  // Damping from rho(D^-1 A), by power iterations on the kernel's pair 1 (deterministic start).
  const tmp = new Float64Array(3 * n);
  for (let i = 0; i < 3 * n; i++) kx[i] = 1 + ((i * 7919) % 13) / 13;
  let rho = 1;
  for (let it = 0; it < POWER_STEPS; it++) {
    multiply();
    dinv(ky, tmp);
    let norm = 0;
    let xn = 0;
    for (let i = 0; i < 3 * n; i++) {
      norm += tmp[i]! * tmp[i]!;
      xn += kx[i]! * kx[i]!;
    }
    rho = Math.sqrt(norm / xn);
    const scale = 1 / Math.sqrt(norm);
    for (let i = 0; i < 3 * n; i++) kx[i] = tmp[i]! * scale;
  }
  const omega = DAMPING / rho;

  const rc = new Float64Array(3 * nc);
  const ec = new Float64Array(3 * nc);
  const res = new Float64Array(3 * n);
  const restrictTo = (v: Float64Array) => {
    rc.fill(0);
    for (let i = 0; i < n; i++) {
      const ni = parents(i, pi, wi);
      for (let s = 0; s < ni; s++) {
        const c = pi[s]!;
        for (let d = 0; d < 3; d++) if (!constrained[3 * i + d] && !coarseConstrained[3 * c + d]) rc[3 * c + d] = rc[3 * c + d]! + wi[s]! * v[3 * i + d]!;
      }
    }
  };
  const prolongInto = (z: Float64Array) => {
    for (let i = 0; i < n; i++) {
      const ni = parents(i, pi, wi);
      for (let s = 0; s < ni; s++) {
        const c = pi[s]!;
        for (let d = 0; d < 3; d++) if (!constrained[3 * i + d] && !coarseConstrained[3 * c + d]) z[3 * i + d] = z[3 * i + d]! + wi[s]! * ec[3 * c + d]!;
      }
    }
  };
  const m = ((r: Float64Array, z: Float64Array) => {
    // Pre-smoothing from zero: z = omega D^-1 r.
    dinv(r, z);
    for (let i = 0; i < 3 * n; i++) z[i] = omega * z[i]!;
    kx.set(z);
    multiply();
    for (let i = 0; i < 3 * n; i++) res[i] = r[i]! - ky[i]!;
    restrictTo(res);
    coarse(rc, ec);
    prolongInto(z);
    // Post-smoothing: z += omega D^-1 (r - A z).
    kx.set(z);
    multiply();
    for (let i = 0; i < 3 * n; i++) res[i] = r[i]! - ky[i]!;
    dinv(res, tmp);
    for (let i = 0; i < 3 * n; i++) z[i] = z[i]! + omega * tmp[i]!;
  }) as Preconditioner & { levels: number[] };
  m.levels = [3 * n, ...coarse.levels];
  return m;
}
