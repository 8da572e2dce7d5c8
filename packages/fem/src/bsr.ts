// A 3x3 block CSR (BSR) matrix: one block row per node, one 3x3 block (row-major, 9 doubles) per coupled node pair.

/** Block sparse rows with 3x3 blocks; `values[9 * k + 3 * r + c]` is entry (r, c) of block k. */
export interface BsrMatrix {
  /** Block rows (nodes). */
  n: number;
  /** Block k of row i: k in rowPtr[i] .. rowPtr[i + 1] - 1, column `cols[k]` (sorted within a row). */
  rowPtr: Int32Array;
  cols: Int32Array;
  values: Float64Array;
}

/**
 * The block pattern of the stiffness of a mesh: node i couples to node j when a tet holds both.
 * @param tets element node lists, `nodesPerTet` each
 */
export function bsrPattern(n: number, tets: Uint32Array, nodesPerTet: number): BsrMatrix {
  const nTets = tets.length / nodesPerTet;
  // node -> elements, then per node the union of its elements' nodes with a marker array.
  const count = new Int32Array(n + 1);
  for (let i = 0; i < tets.length; i++) count[tets[i]! + 1]!++;
  for (let i = 0; i < n; i++) count[i + 1]! += count[i]!;
  const elems = new Int32Array(tets.length);
  const fill = count.slice(0, n);
  for (let t = 0; t < nTets; t++) for (let k = 0; k < nodesPerTet; k++) elems[fill[tets[t * nodesPerTet + k]!]!++] = t;
  const marker = new Int32Array(n).fill(-1);
  const rowPtr = new Int32Array(n + 1);
  let cols = new Int32Array(Math.max(16, n * (nodesPerTet === 4 ? 16 : 30)));
  let nnz = 0;
  const row: number[] = [];
  for (let i = 0; i < n; i++) {
    row.length = 0;
    marker[i] = i;
    row.push(i);
    for (let e = count[i]!; e < count[i + 1]!; e++) {
      const t = elems[e]!;
      for (let k = 0; k < nodesPerTet; k++) {
        const j = tets[t * nodesPerTet + k]!;
        if (marker[j] !== i) {
          marker[j] = i;
          row.push(j);
        }
      }
    }
    row.sort((a, b) => a - b);
    if (nnz + row.length > cols.length) {
      const grown = new Int32Array(Math.max(cols.length * 2, nnz + row.length));
      grown.set(cols);
      cols = grown;
    }
    for (const j of row) cols[nnz++] = j;
    rowPtr[i + 1] = nnz;
  }
  return { n, rowPtr, cols: cols.slice(0, nnz), values: new Float64Array(9 * nnz) };
}

/** Index of block (i, j) in `a`, or -1 (binary search in row i). */
export function blockIndex(a: BsrMatrix, i: number, j: number): number {
  let lo = a.rowPtr[i]!;
  let hi = a.rowPtr[i + 1]! - 1;
  while (lo <= hi) {
    const mid = (lo + hi) >> 1;
    const c = a.cols[mid]!;
    if (c === j) return mid;
    if (c < j) lo = mid + 1;
    else hi = mid - 1;
  }
  return -1;
}

/** y = A x (length 3n each), block rows `from` .. `to` - 1 (all by default). * @throws nothing
 */
export function bsrMultiply(a: BsrMatrix, x: Float64Array, y: Float64Array, from = 0, to = a.n): void {
  const { rowPtr, cols, values } = a;
  for (let i = from; i < to; i++) {
    let y0 = 0, y1 = 0, y2 = 0;
    const end = rowPtr[i + 1]!;
    for (let k = rowPtr[i]!; k < end; k++) {
      const j = 3 * cols[k]!;
      const x0 = x[j]!, x1 = x[j + 1]!, x2 = x[j + 2]!;
      const v = 9 * k;
      y0 += values[v]! * x0 + values[v + 1]! * x1 + values[v + 2]! * x2;
      y1 += values[v + 3]! * x0 + values[v + 4]! * x1 + values[v + 5]! * x2;
      y2 += values[v + 6]! * x0 + values[v + 7]! * x1 + values[v + 8]! * x2;
    }
    y[3 * i] = y0;
    y[3 * i + 1] = y1;
    y[3 * i + 2] = y2;
  }
}

/** The scalar CSR form of `a` (3 rows per block row, entries in block order), e.g. for MatrixMarket export. * @throws nothing
 */
export function bsrToCsr(a: BsrMatrix): { rowPtr: Int32Array; cols: Int32Array; values: Float64Array } {
  const nnzb = a.rowPtr[a.n]!;
  const rowPtr = new Int32Array(3 * a.n + 1);
  const cols = new Int32Array(9 * nnzb);
  const values = new Float64Array(9 * nnzb);
  let at = 0;
  for (let i = 0; i < a.n; i++) {
    for (let r = 0; r < 3; r++) {
      for (let k = a.rowPtr[i]!; k < a.rowPtr[i + 1]!; k++) {
        for (let c = 0; c < 3; c++) {
          cols[at] = 3 * a.cols[k]! + c;
          values[at++] = a.values[9 * k + 3 * r + c]!;
        }
      }
      rowPtr[3 * i + r + 1] = at;
    }
  }
  return { rowPtr, cols, values };
}

/**
 * The upper triangle (block columns j >= i) of a symmetric BSR matrix: half the values to stream, so a matvec
 * moves about half the bytes of the full matrix.
 * @throws nothing
 */
export function bsrUpper(a: BsrMatrix): BsrMatrix {
  let nnz = 0;
  for (let i = 0; i < a.n; i++) for (let k = a.rowPtr[i]!; k < a.rowPtr[i + 1]!; k++) if (a.cols[k]! >= i) nnz++;
  const rowPtr = new Int32Array(a.n + 1);
  const cols = new Int32Array(nnz);
  const values = new Float64Array(9 * nnz);
  let at = 0;
  for (let i = 0; i < a.n; i++) {
    for (let k = a.rowPtr[i]!; k < a.rowPtr[i + 1]!; k++) {
      if (a.cols[k]! < i) continue;
      cols[at] = a.cols[k]!;
      values.set(a.values.subarray(9 * k, 9 * k + 9), 9 * at);
      at++;
    }
    rowPtr[i + 1] = at;
  }
  return { n: a.n, rowPtr, cols, values };
}

/** y = A x for symmetric A stored as its upper triangle `u` ({@link bsrUpper}): y_i += A_ij x_j, y_j += A_ij^T x_i. * @throws nothing
 */
export function bsrSymmetricMultiply(u: BsrMatrix, x: Float64Array, y: Float64Array): void {
  const { rowPtr, cols, values } = u;
  y.fill(0);
  for (let i = 0; i < u.n; i++) {
    const xi0 = x[3 * i]!, xi1 = x[3 * i + 1]!, xi2 = x[3 * i + 2]!;
    let y0 = 0, y1 = 0, y2 = 0;
    const start = rowPtr[i]!;
    const end = rowPtr[i + 1]!;
    for (let k = start; k < end; k++) {
      const jn = cols[k]!;
      const j = 3 * jn;
      const v = 9 * k;
      const a0 = values[v]!, a1 = values[v + 1]!, a2 = values[v + 2]!;
      const a3 = values[v + 3]!, a4 = values[v + 4]!, a5 = values[v + 5]!;
      const a6 = values[v + 6]!, a7 = values[v + 7]!, a8 = values[v + 8]!;
      const x0 = x[j]!, x1 = x[j + 1]!, x2 = x[j + 2]!;
      y0 += a0 * x0 + a1 * x1 + a2 * x2;
      y1 += a3 * x0 + a4 * x1 + a5 * x2;
      y2 += a6 * x0 + a7 * x1 + a8 * x2;
      if (jn !== i) {
        y[j] = y[j]! + a0 * xi0 + a3 * xi1 + a6 * xi2;
        y[j + 1] = y[j + 1]! + a1 * xi0 + a4 * xi1 + a7 * xi2;
        y[j + 2] = y[j + 2]! + a2 * xi0 + a5 * xi1 + a8 * xi2;
      }
    }
    y[3 * i] = y[3 * i]! + y0;
    y[3 * i + 1] = y[3 * i + 1]! + y1;
    y[3 * i + 2] = y[3 * i + 2]! + y2;
  }
}
