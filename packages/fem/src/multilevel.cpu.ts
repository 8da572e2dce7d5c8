import type { BsrMatrix } from './bsr.js';
import { bsrToCsr } from './bsr.js';
import type { BsrKernel } from './bsr-wasm.js';
import { bsrKernel } from './bsr-wasm.js';
import type { Preconditioner } from './pcg.cpu.js';

// Smoothed-aggregation algebraic multigrid (Vanek, Mandel, Brezina 1996) for the elasticity stiffness: nodes are
// aggregated on the graph of strong block couplings, the six rigid-body modes (near-null space) restricted to
// each aggregate and orthonormalised give the tentative prolongator (six coarse unknowns per aggregate), one
// damped-Jacobi step smooths it, the coarse matrix is the Galerkin product P^T A P, recursively down to a
// dense Cholesky solve. One symmetric V-cycle (damped Jacobi, 2 sweeps before and after) is the preconditioner.

/** Scalar compressed sparse rows. */
interface Csr {
  n: number;
  m: number;
  rowPtr: Int32Array;
  cols: Int32Array;
  values: Float64Array;
}

interface Level {
  a: Csr;
  /** y = A x: the fine level streams CG's wasm kernel (about 5x the JavaScript CSR loop), coarse levels `multiply`. */
  apply: (x: Float64Array, y: Float64Array) => void;
  /** 1 / diagonal, times the Jacobi damping. */
  dinvDamped: Float64Array;
  p: Csr;
  r: Csr;
}

/** Unknowns per node on the coarse levels: the six rigid-body modes. */
const COARSE_BLOCK = 6;
/** Strength threshold: nodes i and j are strongly coupled when |A_ij| >= THETA sqrt(|A_ii| |A_jj|) (Frobenius). */
const THETA = 0.08;
/** Below this many unknowns the level is solved directly. */
const DIRECT_SIZE = 600;
/** Largest coarsest level factored densely; above it (coarsening stalled) Jacobi sweeps stand in. */
const DIRECT_MAX = 2500;
const COARSE_SWEEPS = 20;
const MAX_LEVELS = 12;
/**
 * Aggregates are a seed, its strong neighbours and theirs (radius 2): about 10x fewer unknowns per level instead
 * of about 5x, so the Galerkin products (the set-up's cost) and the coarse stencils stay small, for a couple more
 * CG iterations (26 -> 28 on the 108k-unknown T10 cube of benchmarks/fem.bench.ts).
 */
const AGGREGATE_RADIUS = 2;
const SWEEPS = 2;

function multiply(a: Csr, x: Float64Array, y: Float64Array): void {
  const { rowPtr, cols, values } = a;
  for (let i = 0; i < a.n; i++) {
    let s = 0;
    for (let k = rowPtr[i]!; k < rowPtr[i + 1]!; k++) s += values[k]! * x[cols[k]!]!;
    y[i] = s;
  }
}

function transpose(a: Csr): Csr {
  const count = new Int32Array(a.m + 1);
  for (let k = 0; k < a.rowPtr[a.n]!; k++) count[a.cols[k]! + 1]!++;
  for (let i = 0; i < a.m; i++) count[i + 1]! += count[i]!;
  const fill = count.slice(0, a.m);
  const cols = new Int32Array(a.rowPtr[a.n]!);
  const values = new Float64Array(a.rowPtr[a.n]!);
  for (let i = 0; i < a.n; i++) {
    for (let k = a.rowPtr[i]!; k < a.rowPtr[i + 1]!; k++) {
      const at = fill[a.cols[k]!]!++;
      cols[at] = i;
      values[at] = a.values[k]!;
    }
  }
  return { n: a.m, m: a.n, rowPtr: count, cols, values };
}

/**
 * C = A B (Gustavson): each row accumulates in place in the output, `where[c]` pointing at column c's slot when
 * it is in the current row. Columns stay in order of first appearance (nothing downstream needs them sorted).
 */
function product(a: Csr, b: Csr): Csr {
  const where = new Int32Array(b.m).fill(-1);
  const rowPtr = new Int32Array(a.n + 1);
  let cols = new Int32Array(Math.max(16, a.rowPtr[a.n]! * 2, b.m));
  let values = new Float64Array(cols.length);
  let nnz = 0;
  for (let i = 0; i < a.n; i++) {
    // A row of C has at most b.m entries: make room for that before filling it.
    if (nnz + b.m > cols.length) {
      const size = Math.max(cols.length * 2, nnz + b.m);
      const c2 = new Int32Array(size);
      c2.set(cols.subarray(0, nnz));
      cols = c2;
      const v2 = new Float64Array(size);
      v2.set(values.subarray(0, nnz));
      values = v2;
    }
    const rowStart = nnz;
    for (let ka = a.rowPtr[i]!; ka < a.rowPtr[i + 1]!; ka++) {
      const j = a.cols[ka]!;
      const v = a.values[ka]!;
      const end = b.rowPtr[j + 1]!;
      for (let kb = b.rowPtr[j]!; kb < end; kb++) {
        const c = b.cols[kb]!;
        const at = where[c]!;
        if (at >= rowStart && cols[at] === c) values[at] = values[at]! + v * b.values[kb]!;
        else {
          where[c] = nnz;
          cols[nnz] = c;
          values[nnz++] = v * b.values[kb]!;
        }
      }
    }
    rowPtr[i + 1] = nnz;
  }
  return { n: a.n, m: b.m, rowPtr, cols: cols.slice(0, nnz), values: values.slice(0, nnz) };
}

function diagonal(a: Csr): Float64Array {
  const d = new Float64Array(a.n);
  for (let i = 0; i < a.n; i++) for (let k = a.rowPtr[i]!; k < a.rowPtr[i + 1]!; k++) if (a.cols[k] === i) d[i] = a.values[k]!;
  return d;
}

/** Largest eigenvalue of D^-1 A by a few power iterations (deterministic start). */
function spectralRadius(a: Csr, dinv: Float64Array, apply = (x: Float64Array, y: Float64Array) => multiply(a, x, y)): number {
  let x = new Float64Array(a.n).map((_, i) => 1 + ((i * 7919) % 13) / 13);
  const y = new Float64Array(a.n);
  let lambda = 1;
  for (let it = 0; it < 15; it++) {
    apply(x, y);
    let norm = 0;
    for (let i = 0; i < a.n; i++) {
      y[i] = y[i]! * dinv[i]!;
      norm += y[i]! * y[i]!;
    }
    norm = Math.sqrt(norm);
    let xn = 0;
    for (let i = 0; i < a.n; i++) xn += x[i]! * x[i]!;
    lambda = norm / Math.sqrt(xn);
    x = y.map((v) => v / norm);
  }
  return lambda;
}

/** Aggregates of nodes (blocks of `bs` unknowns) on the strong-coupling graph; returns aggregate per node. */
function aggregate(a: Csr, bs: number, radius = 1): { agg: Int32Array; count: number } {
  const nodes = a.n / bs;
  // Node graph with Frobenius block norms: the diagonal blocks first, then each node's off-diagonal blocks summed
  // in a scratch row (`slot` of a neighbour is its place in `touched` while its row is open).
  const diag = new Float64Array(nodes);
  for (let i = 0; i < a.n; i++) {
    const bi = Math.floor(i / bs);
    for (let k = a.rowPtr[i]!; k < a.rowPtr[i + 1]!; k++) if (Math.floor(a.cols[k]! / bs) === bi) diag[bi] = diag[bi]! + a.values[k]! * a.values[k]!;
  }
  const nbr: number[][] = Array.from({ length: nodes }, () => []);
  const slot = new Int32Array(nodes).fill(-1);
  const touched: number[] = [];
  const sums: number[] = [];
  for (let bi = 0; bi < nodes; bi++) {
    for (let i = bi * bs; i < (bi + 1) * bs; i++) {
      for (let k = a.rowPtr[i]!; k < a.rowPtr[i + 1]!; k++) {
        const bj = Math.floor(a.cols[k]! / bs);
        if (bj === bi) continue;
        if (slot[bj] === -1) {
          slot[bj] = touched.length;
          touched.push(bj);
          sums.push(0);
        }
        sums[slot[bj]!] = sums[slot[bj]!]! + a.values[k]! * a.values[k]!;
      }
    }
    for (let q = 0; q < touched.length; q++) {
      const bj = touched[q]!;
      if (Math.sqrt(sums[q]!) >= THETA * Math.sqrt(Math.sqrt(diag[bi]!) * Math.sqrt(diag[bj]!))) nbr[bi]!.push(bj);
      slot[bj] = -1;
    }
    touched.length = 0;
    sums.length = 0;
  }
  const agg = new Int32Array(nodes).fill(-1);
  let count = 0;
  // Pass 1: a node whose strong neighbours are all free seeds an aggregate with them (radius 2: and with their
  // free strong neighbours).
  for (let i = 0; i < nodes; i++) {
    if (agg[i] !== -1 || nbr[i]!.length === 0) continue;
    if (nbr[i]!.some((j) => agg[j] !== -1)) continue;
    agg[i] = count;
    for (const j of nbr[i]!) agg[j] = count;
    if (radius > 1) for (const j of nbr[i]!) for (const q of nbr[j]!) if (agg[q] === -1) agg[q] = count;
    count++;
  }
  // Pass 2: join a neighbouring aggregate.
  for (let i = 0; i < nodes; i++) {
    if (agg[i] !== -1) continue;
    const j = nbr[i]!.find((q) => agg[q]! >= 0 && agg[q]! < count);
    if (j !== undefined) agg[i] = -2 - agg[j]!;
  }
  for (let i = 0; i < nodes; i++) if (agg[i]! <= -2) agg[i] = -2 - agg[i]!;
  // Pass 3: what is left forms aggregates of its own. Nodes without strong neighbours (fully constrained nodes,
  // whose rows are identity) stay unaggregated: the coarse levels do not see them and smoothing solves them.
  for (let i = 0; i < nodes; i++) {
    if (agg[i] !== -1 || nbr[i]!.length === 0) continue;
    agg[i] = count;
    for (const j of nbr[i]!) if (agg[j] === -1) agg[j] = count;
    count++;
  }
  return { agg, count };
}

/**
 * Tentative prolongator: per aggregate, the near-null-space columns `b` (n x 6, row-major) restricted to the
 * aggregate's unknowns, orthonormalised by modified Gram-Schmidt (dependent columns dropped to zero). Returns T
 * (n x 6 * aggregates) and the coarse near-null space R (6 * aggregates x 6).
 */
function tentative(n: number, b: Float64Array, agg: Int32Array, count: number): { t: Csr; coarseB: Float64Array } {
  const members: number[][] = Array.from({ length: count }, () => []);
  for (let node = 0; node < agg.length; node++) if (agg[node]! >= 0) members[agg[node]!]!.push(node);
  // Rows of unaggregated nodes are empty; the others hold their aggregate's six columns.
  const bs = n / agg.length;
  const rowPtr = new Int32Array(n + 1);
  const start = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    start[i] = rowPtr[i]!;
    rowPtr[i + 1] = rowPtr[i]! + (agg[Math.floor(i / bs)]! >= 0 ? COARSE_BLOCK : 0);
  }
  const cols = new Int32Array(rowPtr[n]!);
  const values = new Float64Array(rowPtr[n]!);
  const coarseB = new Float64Array(count * COARSE_BLOCK * COARSE_BLOCK);
  for (let g = 0; g < count; g++) {
    const rows: number[] = [];
    for (const node of members[g]!) for (let c = 0; c < bs; c++) rows.push(node * bs + c);
    const q = rows.map((row) => Array.from(b.subarray(6 * row, 6 * row + 6)));
    for (let j = 0; j < COARSE_BLOCK; j++) {
      let original = 0;
      for (const r of q) original += r[j]! ** 2;
      for (let i = 0; i < j; i++) {
        let d = 0;
        for (const r of q) d += r[i]! * r[j]!;
        coarseB[(g * COARSE_BLOCK + i) * 6 + j] = d;
        for (const r of q) r[j] = r[j]! - d * r[i]!;
      }
      let norm = 0;
      for (const r of q) norm += r[j]! ** 2;
      norm = Math.sqrt(norm);
      if (norm <= 1e-10 * Math.sqrt(original) || norm === 0) {
        for (const r of q) r[j] = 0;
        continue;
      }
      coarseB[(g * COARSE_BLOCK + j) * 6 + j] = norm;
      for (const r of q) r[j] = r[j]! / norm;
    }
    rows.forEach((row, i) => {
      for (let j = 0; j < COARSE_BLOCK; j++) {
        cols[start[row]! + j] = g * COARSE_BLOCK + j;
        values[start[row]! + j] = q[i]![j]!;
      }
    });
  }
  return { t: { n, m: count * COARSE_BLOCK, rowPtr, cols, values }, coarseB };
}

/** Dense Cholesky factor of a small SPD matrix (zero rows, from dropped modes, become identity). */
function denseCholesky(a: Csr): (b: Float64Array, x: Float64Array) => void {
  const n = a.n;
  const l = new Float64Array(n * n);
  for (let i = 0; i < n; i++) for (let k = a.rowPtr[i]!; k < a.rowPtr[i + 1]!; k++) l[i * n + a.cols[k]!] = a.values[k]!;
  let scale = 0;
  for (let i = 0; i < n; i++) scale = Math.max(scale, Math.abs(l[i * n + i]!));
  for (let j = 0; j < n; j++) {
    let d = l[j * n + j]!;
    for (let k = 0; k < j; k++) d -= l[j * n + k]! ** 2;
    if (!(d > 1e-13 * scale)) {
      // A mode that vanished on this aggregate: decouple it.
      for (let k = 0; k < j; k++) l[j * n + k] = 0;
      for (let i = j + 1; i < n; i++) l[i * n + j] = 0;
      l[j * n + j] = 1;
      continue;
    }
    const djj = Math.sqrt(d);
    l[j * n + j] = djj;
    for (let i = j + 1; i < n; i++) {
      let s = l[i * n + j]!;
      for (let k = 0; k < j; k++) s -= l[i * n + k]! * l[j * n + k]!;
      l[i * n + j] = s / djj;
    }
  }
  return (b, x) => {
    for (let i = 0; i < n; i++) {
      let s = b[i]!;
      for (let k = 0; k < i; k++) s -= l[i * n + k]! * x[k]!;
      x[i] = s / l[i * n + i]!;
    }
    for (let i = n - 1; i >= 0; i--) {
      let s = x[i]!;
      for (let k = i + 1; k < n; k++) s -= l[k * n + i]! * x[k]!;
      x[i] = s / l[i * n + i]!;
    }
  };
}

/**
 * The smoothed-aggregation V-cycle preconditioner for a stiffness matrix whose constrained rows and columns are
 * identity (`constrained` marks them; their rigid-body-mode rows are zeroed so coarse corrections leave them).
 * @param positions node coordinates (mm), for the rigid-body modes
 * @param fine a vector pair of a kernel of `a` the cycle may use for its products with `a` (CG's kernel's second
 *   pair shares CG's copy of the matrix); default a kernel of its own
 */
export function multilevel(a: BsrMatrix, positions: Float64Array, constrained: Uint8Array, fine: ReturnType<BsrKernel['pair']> = bsrKernel(a).pair(0)): Preconditioner & { levels: number[] } {
  const fineApply = (x: Float64Array, y: Float64Array) => {
    fine.x.set(x);
    fine.multiply();
    y.set(fine.y);
  };
  let current: Csr = { n: 3 * a.n, m: 3 * a.n, ...bsrToCsr(a) };
  // Rigid-body modes about the centroid, scaled to unit size.
  const nNodes = a.n;
  const c = [0, 0, 0];
  for (let i = 0; i < nNodes; i++) for (let d = 0; d < 3; d++) c[d]! += positions[3 * i + d]! / nNodes;
  let size = 0;
  for (let i = 0; i < nNodes; i++) size = Math.max(size, Math.hypot(positions[3 * i]! - c[0]!, positions[3 * i + 1]! - c[1]!, positions[3 * i + 2]! - c[2]!));
  size ||= 1;
  let b: Float64Array = new Float64Array(3 * nNodes * 6);
  for (let i = 0; i < nNodes; i++) {
    const x = (positions[3 * i]! - c[0]!) / size, y = (positions[3 * i + 1]! - c[1]!) / size, z = (positions[3 * i + 2]! - c[2]!) / size;
    const rows = [[1, 0, 0, 0, z, -y], [0, 1, 0, -z, 0, x], [0, 0, 1, y, -x, 0]];
    for (let d = 0; d < 3; d++) if (!constrained[3 * i + d]) b.set(rows[d]!, 6 * (3 * i + d));
  }
  const levels: Level[] = [];
  let bs = 3;
  while (current.n > DIRECT_SIZE && levels.length < MAX_LEVELS) {
    const d = diagonal(current);
    const dinv = d.map((v) => (v !== 0 ? 1 / v : 0));
    const level = current;
    const apply = levels.length === 0 ? fineApply : (x: Float64Array, y: Float64Array) => multiply(level, x, y);
    const rho = spectralRadius(current, dinv, apply);
    const { agg, count } = aggregate(current, bs, AGGREGATE_RADIUS);
    if (count * COARSE_BLOCK >= current.n * 0.8) break;
    const { t, coarseB } = tentative(current.n, b, agg, count);
    // P = (I - omega D^-1 A) T with omega = 4 / (3 rho).
    const p = smoothProlongator(t, product(current, t), dinv, 4 / (3 * rho));
    const r = transpose(p);
    const coarse = product(r, product(current, p));
    // Smoother weight 1 / rho: the power-iteration estimate is a lower bound, so omega rho_true stays well below 2.
    levels.push({ a: current, apply, dinvDamped: dinv.map((v) => v / rho), p, r });
    current = coarse;
    b = coarseB;
    bs = COARSE_BLOCK;
  }
  // Coarsening can stall (few strong couplings); a coarsest level too large for a dense factor is smoothed
  // instead (symmetric: damped Jacobi sweeps from zero), which keeps the V-cycle a valid CG preconditioner.
  const coarsest = current;
  let direct: (b: Float64Array, x: Float64Array) => void;
  if (coarsest.n <= DIRECT_MAX) direct = denseCholesky(coarsest);
  else {
    const dinv = diagonal(coarsest).map((v) => (v !== 0 ? 1 / v : 0));
    const w = 1 / spectralRadius(coarsest, dinv);
    const tmp = new Float64Array(coarsest.n);
    direct = (rhs, x) => {
      x.fill(0);
      for (let s = 0; s < COARSE_SWEEPS; s++) {
        multiply(coarsest, x, tmp);
        for (let i = 0; i < coarsest.n; i++) x[i] = x[i]! + w * dinv[i]! * (rhs[i]! - tmp[i]!);
      }
    };
  }
  const sizes = [...levels.map((l) => l.a.n), current.n];

  const work = levels.map((l) => ({ res: new Float64Array(l.a.n), tmp: new Float64Array(l.a.n), cr: new Float64Array(l.p.m), cx: new Float64Array(l.p.m) }));
  const cycle = (level: number, rhs: Float64Array, x: Float64Array): void => {
    if (level === levels.length) {
      direct(rhs, x);
      return;
    }
    const { a: A, apply, dinvDamped, p, r } = levels[level]!;
    const w = work[level]!;
    const smooth = () => {
      apply(x, w.tmp);
      for (let i = 0; i < A.n; i++) x[i] = x[i]! + dinvDamped[i]! * (rhs[i]! - w.tmp[i]!);
    };
    // The first sweep starts from x = 0, where A x = 0: no product.
    for (let i = 0; i < A.n; i++) x[i] = dinvDamped[i]! * rhs[i]!;
    for (let s = 1; s < SWEEPS; s++) smooth();
    apply(x, w.tmp);
    for (let i = 0; i < A.n; i++) w.res[i] = rhs[i]! - w.tmp[i]!;
    multiply(r, w.res, w.cr);
    cycle(level + 1, w.cr, w.cx);
    multiply(p, w.cx, w.tmp);
    for (let i = 0; i < A.n; i++) x[i] = x[i]! + w.tmp[i]!;
    for (let s = 0; s < SWEEPS; s++) smooth();
  };
  const m = ((rr: Float64Array, z: Float64Array) => cycle(0, rr, z)) as Preconditioner & { levels: number[] };
  m.levels = sizes;
  return m;
}

/** P = T - omega D^-1 (A T), with the pattern of A T (which contains T's). */
function smoothProlongator(t: Csr, at: Csr, dinv: Float64Array, omega: number): Csr {
  const values = new Float64Array(at.values.length);
  for (let i = 0; i < at.n; i++) {
    const tStart = t.rowPtr[i]!;
    const tEnd = t.rowPtr[i + 1]!;
    for (let k = at.rowPtr[i]!; k < at.rowPtr[i + 1]!; k++) {
      let tv = 0;
      for (let q = tStart; q < tEnd; q++) if (t.cols[q] === at.cols[k]) tv = t.values[q]!;
      values[k] = tv - omega * dinv[i]! * at.values[k]!;
    }
  }
  return { n: at.n, m: at.m, rowPtr: at.rowPtr, cols: at.cols, values };
}
