/**
 * The assembled DAE `E(y,t) ydot + F(y,t) y + C(y,t) = 0` (svZeroDSolver `src/algebra/SparseSystem.cpp`):
 * one sparse pattern ("slots") shared by E, F and the derivatives of C, and a dense C.
 */
export class DaeSystem {
  readonly n: number;
  private readonly keys = new Map<number, number>();
  readonly rows: number[] = [];
  readonly cols: number[] = [];
  E = new Float64Array(0);
  F = new Float64Array(0);
  dCdy = new Float64Array(0);
  dCdydot = new Float64Array(0);
  readonly C: Float64Array;

  constructor(n: number) {
    this.n = n;
    this.C = new Float64Array(n);
  }

  /** Index of the entry (row, col) in the value arrays, created on first use (only before {@link freeze}). */
  slot(row: number, col: number): number {
    const key = row * this.n + col;
    const s = this.keys.get(key);
    if (s !== undefined) return s;
    const idx = this.rows.length;
    this.keys.set(key, idx);
    this.rows.push(row);
    this.cols.push(col);
    return idx;
  }

  /** Allocates the value arrays once every block has registered its entries. */
  freeze(): void {
    const m = this.rows.length;
    this.E = new Float64Array(m);
    this.F = new Float64Array(m);
    this.dCdy = new Float64Array(m);
    this.dCdydot = new Float64Array(m);
  }

  /** Clears all values (before a phase change re-stamps the constant terms). */
  clear(): void {
    this.E.fill(0);
    this.F.fill(0);
    this.dCdy.fill(0);
    this.dCdydot.fill(0);
    this.C.fill(0);
  }
}
