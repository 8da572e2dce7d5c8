import { readFileSync } from 'node:fs';
import { readMsh } from '@physiotwin/io';
import { describe, expect, it } from 'vitest';
import { bsrMultiply, bsrSymmetricMultiply, bsrToCsr, bsrUpper, stiffnessOf } from './index.js';

describe('BSR stiffness', () => {
  const mesh = readMsh(readFileSync(new URL('../../../fixtures/fem/cylinder-t10-0.5.msh', import.meta.url))).mesh;
  const a = stiffnessOf({ mesh, materials: [{ region: 1, E: 1000, nu: 0.3 }], constraints: [] });
  const x = new Float64Array(3 * a.n).map((_, i) => Math.sin(0.37 * i));

  it('is symmetric, and the upper-triangle matvec equals the full one (to rounding)', () => {
    const csr = bsrToCsr(a);
    const entry = new Map<string, number>();
    for (let i = 0; i < 3 * a.n; i++) for (let k = csr.rowPtr[i]!; k < csr.rowPtr[i + 1]!; k++) entry.set(`${i},${csr.cols[k]}`, csr.values[k]!);
    let asym = 0;
    let scale = 0;
    for (const [key, v] of entry) {
      const [i, j] = key.split(',');
      asym = Math.max(asym, Math.abs(v - (entry.get(`${j},${i}`) ?? 0)));
      scale = Math.max(scale, Math.abs(v));
    }
    // Element matrices are symmetric to rounding: K_ab[i][j] and K_ba[j][i] are the same sums in another order.
    expect(asym / scale).toBeLessThan(1e-13);
    const full = new Float64Array(3 * a.n);
    const sym = new Float64Array(3 * a.n);
    bsrMultiply(a, x, full);
    bsrSymmetricMultiply(bsrUpper(a), x, sym);
    let diff = 0;
    let norm = 0;
    for (let i = 0; i < full.length; i++) {
      diff = Math.max(diff, Math.abs(full[i]! - sym[i]!));
      norm = Math.max(norm, Math.abs(full[i]!));
    }
    expect(diff / norm).toBeLessThan(1e-12);
  });

  it('has the rigid-body modes in its null space: K (translation) = 0', () => {
    const t = new Float64Array(3 * a.n).map((_, i) => (i % 3 === 0 ? 1 : 0));
    const y = new Float64Array(3 * a.n);
    bsrMultiply(a, t, y);
    let max = 0;
    for (const v of y) max = Math.max(max, Math.abs(v));
    let diag = 0;
    for (let k = 0; k < a.values.length; k++) diag = Math.max(diag, Math.abs(a.values[k]!));
    expect(max / diag).toBeLessThan(1e-12);
  });
});
