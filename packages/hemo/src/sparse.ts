import { PhysiotwinError } from '@physiotwin/core';

/**
 * Sparse LU with partial pivoting (left-looking Gilbert-Peierls, the algorithm of CSparse's `cs_lu`) for
 * the Newton matrices of the 0D DAE. The pattern is fixed per model (one CSC structure, refactorised every
 * Newton iteration with fresh values). Why sparse and not dense: a closed-loop model or a vessel network
 * of n unknowns has O(n) non-zeros, so a dense O(n^3) factorisation would dominate the step time beyond a
 * few dozen unknowns; the rows of algebraic constraints have zero diagonals, hence the pivoting.
 * No fill-reducing column ordering is applied: the natural block order of these networks keeps fill low.
 */
export class SparseLU {
  readonly n: number;
  /** CSC column pointers and row indices of the matrix pattern. */
  readonly colPtr: Int32Array;
  readonly rowIdx: Int32Array;
  private Lp: Int32Array;
  private Up: Int32Array;
  private Li: Int32Array;
  private Lx: Float64Array;
  private Ui: Int32Array;
  private Ux: Float64Array;
  private readonly pinv: Int32Array;
  private readonly x: Float64Array;
  private readonly xi: Int32Array;
  private readonly stack: Int32Array;
  private readonly pstack: Int32Array;
  private readonly mark: Int32Array;
  private stamp = 0;
  /** True once a full factorisation has fixed the pivot order and the L/U patterns. */
  private symbolic = false;

  /** @param colPtr CSC column pointers (length n+1); @param rowIdx row indices, sorted within each column. */
  constructor(n: number, colPtr: Int32Array, rowIdx: Int32Array) {
    this.n = n;
    this.colPtr = colPtr;
    this.rowIdx = rowIdx;
    const cap = Math.max(4 * rowIdx.length + n, 16);
    this.Lp = new Int32Array(n + 1);
    this.Up = new Int32Array(n + 1);
    this.Li = new Int32Array(cap);
    this.Lx = new Float64Array(cap);
    this.Ui = new Int32Array(cap);
    this.Ux = new Float64Array(cap);
    this.pinv = new Int32Array(n);
    this.x = new Float64Array(n);
    this.xi = new Int32Array(n);
    this.stack = new Int32Array(n);
    this.pstack = new Int32Array(n);
    this.mark = new Int32Array(n);
  }

  private grow(which: 'L' | 'U', need: number): void {
    if (which === 'L') {
      if (need <= this.Li.length) return;
      const c = Math.max(need, 2 * this.Li.length);
      const li = new Int32Array(c); li.set(this.Li); this.Li = li;
      const lx = new Float64Array(c); lx.set(this.Lx); this.Lx = lx;
    } else {
      if (need <= this.Ui.length) return;
      const c = Math.max(need, 2 * this.Ui.length);
      const ui = new Int32Array(c); ui.set(this.Ui); this.Ui = ui;
      const ux = new Float64Array(c); ux.set(this.Ux); this.Ux = ux;
    }
  }

  /**
   * Factorises the matrix with values `values` (aligned with {@link rowIdx}).
   * @returns -1 on success, else the column at which no pivot was found (singular matrix)
   */
  factor(values: Float64Array): number {
    const n = this.n;
    const Ap = this.colPtr;
    const Ai = this.rowIdx;
    const pinv = this.pinv;
    const x = this.x;
    const xi = this.xi;
    pinv.fill(-1);
    let lnz = 0;
    let unz = 0;
    for (let k = 0; k < n; k++) {
      this.Lp[k] = lnz;
      this.Up[k] = unz;
      this.grow('L', lnz + n);
      this.grow('U', unz + n);
      const Li = this.Li;
      const Lx = this.Lx;
      const Lp = this.Lp;
      // x = L \ A(:,k) on the reach of A(:,k)
      const top = this.reach(k);
      for (let p = top; p < n; p++) x[xi[p]!] = 0;
      for (let p = Ap[k]!; p < Ap[k + 1]!; p++) x[Ai[p]!] = values[p]!;
      for (let px = top; px < n; px++) {
        const j = xi[px]!;
        const J = pinv[j]!;
        if (J < 0) continue;
        const xj = x[j]!; // L has unit diagonal stored first
        // Columns J < k of L are complete: Lp[J + 1] is set (Lp[k] at the top of this iteration).
        for (let p = Lp[J]! + 1; p < Lp[J + 1]!; p++) x[Li[p]!] = x[Li[p]!]! - Lx[p]! * xj;
      }
      let ipiv = -1;
      let amax = -1;
      const Ui = this.Ui;
      const Ux = this.Ux;
      for (let p = top; p < n; p++) {
        const i = xi[p]!;
        if (pinv[i]! < 0) {
          const a = Math.abs(x[i]!);
          if (a > amax) {
            amax = a;
            ipiv = i;
          }
        } else {
          Ui[unz] = pinv[i]!;
          Ux[unz++] = x[i]!;
        }
      }
      if (ipiv === -1 || !(amax > 0)) return k;
      // Prefer the diagonal when it is within a factor 10 of the largest candidate (keeps fill low).
      if (pinv[k]! < 0 && Math.abs(x[k]!) >= 0.1 * amax) ipiv = k;
      const pivot = x[ipiv]!;
      Ui[unz] = k;
      Ux[unz++] = pivot;
      pinv[ipiv] = k;
      Li[lnz] = ipiv;
      Lx[lnz++] = 1;
      for (let p = top; p < n; p++) {
        const i = xi[p]!;
        if (pinv[i]! < 0) {
          Li[lnz] = i;
          Lx[lnz++] = x[i]! / pivot;
        }
        x[i] = 0;
      }
    }
    this.Lp[n] = lnz;
    this.Up[n] = unz;
    for (let p = 0; p < lnz; p++) this.Li[p] = pinv[this.Li[p]!]!;
    // Sort the off-diagonal part of each U column by row: increasing row order is a valid
    // elimination order for the numeric-only refactorisation.
    for (let k = 0; k < n; k++) {
      const a = this.Up[k]!;
      const b = this.Up[k + 1]! - 1;
      for (let i = a + 1; i < b; i++) {
        const ri = this.Ui[i]!;
        const vi = this.Ux[i]!;
        let j = i - 1;
        while (j >= a && this.Ui[j]! > ri) {
          this.Ui[j + 1] = this.Ui[j]!;
          this.Ux[j + 1] = this.Ux[j]!;
          j--;
        }
        this.Ui[j + 1] = ri;
        this.Ux[j + 1] = vi;
      }
    }
    this.symbolic = true;
    return -1;
  }

  /**
   * Numeric refactorisation with the pivot order and patterns of the last full {@link factor} (KLU's
   * "refactor"): no graph search, no pivot choice. Falls back to a full factorisation when a pivot
   * vanishes or an entry of L exceeds 1e3 in magnitude (pivot growth).
   * @returns as {@link factor}
   */
  refactor(values: Float64Array): number {
    if (!this.symbolic) return this.factor(values);
    const n = this.n;
    const Ap = this.colPtr;
    const Ai = this.rowIdx;
    const pinv = this.pinv;
    const x = this.x;
    const Lp = this.Lp;
    const Li = this.Li;
    const Lx = this.Lx;
    const Up = this.Up;
    const Ui = this.Ui;
    const Ux = this.Ux;
    for (let k = 0; k < n; k++) {
      for (let p = Ap[k]!; p < Ap[k + 1]!; p++) x[pinv[Ai[p]!]!] = values[p]!;
      const ud = Up[k + 1]! - 1;
      for (let p = Up[k]!; p < ud; p++) {
        const j = Ui[p]!;
        const xj = x[j]!;
        Ux[p] = xj;
        x[j] = 0;
        for (let q = Lp[j]! + 1; q < Lp[j + 1]!; q++) x[Li[q]!] = x[Li[q]!]! - Lx[q]! * xj;
      }
      const pivot = x[k]!;
      x[k] = 0;
      Ux[ud] = pivot;
      let ok = pivot !== 0 && Number.isFinite(pivot);
      for (let q = Lp[k]! + 1; q < Lp[k + 1]!; q++) {
        const i = Li[q]!;
        const l = x[i]! / pivot;
        x[i] = 0;
        Lx[q] = l;
        if (!(Math.abs(l) <= 1e3)) ok = false;
      }
      if (!ok) {
        x.fill(0);
        this.symbolic = false;
        return this.factor(values);
      }
    }
    return -1;
  }

  /** Non-recursive DFS: topological order of the rows reachable from A(:,k) through L, into xi[top..n). */
  private reach(k: number): number {
    const n = this.n;
    const Ap = this.colPtr;
    const Ai = this.rowIdx;
    const Lp = this.Lp;
    const Li = this.Li;
    const pinv = this.pinv;
    const xi = this.xi;
    const stack = this.stack;
    const pstack = this.pstack;
    const mark = this.mark;
    const st = ++this.stamp;
    let top = n;
    for (let p0 = Ap[k]!; p0 < Ap[k + 1]!; p0++) {
      const start = Ai[p0]!;
      if (mark[start] === st) continue;
      let head = 0;
      stack[0] = start;
      while (head >= 0) {
        const j = stack[head]!;
        const J = pinv[j]!;
        if (mark[j] !== st) {
          mark[j] = st;
          pstack[head] = J < 0 ? 0 : Lp[J]! + 1;
        }
        let done = true;
        if (J >= 0) {
          for (let p = pstack[head]!; p < Lp[J + 1]!; p++) {
            const i = Li[p]!;
            if (mark[i] === st) continue;
            pstack[head] = p + 1;
            stack[++head] = i;
            done = false;
            break;
          }
        }
        if (done) {
          head--;
          xi[--top] = j;
        }
      }
    }
    return top;
  }

  /** Solves A x = b in place (b overwritten by x) with the last factorisation. */
  solve(b: Float64Array): void {
    const n = this.n;
    const x = this.x;
    const pinv = this.pinv;
    for (let i = 0; i < n; i++) x[pinv[i]!] = b[i]!;
    const Lp = this.Lp;
    const Li = this.Li;
    const Lx = this.Lx;
    for (let j = 0; j < n; j++) {
      const xj = x[j]!;
      for (let p = Lp[j]! + 1; p < Lp[j + 1]!; p++) x[Li[p]!] = x[Li[p]!]! - Lx[p]! * xj;
    }
    const Up = this.Up;
    const Ui = this.Ui;
    const Ux = this.Ux;
    for (let j = n - 1; j >= 0; j--) {
      const xj = x[j]! / Ux[Up[j + 1]! - 1]!;
      x[j] = xj;
      for (let p = Up[j]!; p < Up[j + 1]! - 1; p++) x[Ui[p]!] = x[Ui[p]!]! - Ux[p]! * xj;
    }
    b.set(x);
    x.fill(0);
  }
}

/** Throws the solver's singular-matrix error. */
export function singularError(column: number, time: number, what: string): PhysiotwinError {
  return new PhysiotwinError('SOLVER_DIVERGED', `Newton matrix is singular at t = ${time} s (no pivot for unknown ${what}, column ${column}); check connections, boundary conditions and parameters`, {
    details: { time, column },
  });
}
