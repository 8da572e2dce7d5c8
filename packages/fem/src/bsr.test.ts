import { readFileSync } from 'node:fs';
import { readMsh } from '@physiotwin/io';
import { describe, expect, it } from 'vitest';
import { bsrKernel, bsrMultiply, bsrSymmetricMultiply, bsrToCsr, bsrUpper, stiffnessOf } from './index.js';

const mesh = readMsh(readFileSync(new URL('../../../fixtures/fem/cylinder-t10-0.5.msh', import.meta.url))).mesh;
const a = stiffnessOf({ mesh, materials: [{ region: 1, E: 1000, nu: 0.3 }], constraints: [] });
const x = new Float64Array(3 * a.n).map((_, i) => Math.sin(0.37 * i));

describe('BSR stiffness', () => {

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

describe('bsrKernel (the WebAssembly matvec CG uses)', () => {

  it('equals the JavaScript kernels bit for bit (same loops, same rounding order), both layouts, scalar wasm and js', () => {
    const full = new Float64Array(3 * a.n);
    const sym = new Float64Array(3 * a.n);
    bsrMultiply(a, x, full);
    bsrSymmetricMultiply(bsrUpper(a), x, sym);
    for (const engine of ['wasm', 'js'] as const) {
      for (const [layout, ref] of [['full', full], ['symmetric', sym]] as const) {
        const k = bsrKernel(a, layout, { engine, pairs: 2 });
        expect(k.engine).toBe(engine);
        const out = new Float64Array(3 * a.n).fill(Number.NaN);
        k.multiplyInto(x, out);
        expect(out).toEqual(ref);
        // Again on the kernel's own vectors (y is overwritten, not accumulated), and on the second pair.
        k.x.set(x);
        k.multiply();
        expect(k.y).toEqual(ref);
        const second = k.pair(1);
        second.x.set(x);
        second.multiply();
        expect(second.y).toEqual(ref);
      }
    }
  });

  it('the default (SIMD) symmetric kernel agrees with the full product to rounding', () => {
    const k = bsrKernel(a, 'symmetric');
    expect(['wasm-simd', 'wasm']).toContain(k.engine);
    const full = new Float64Array(3 * a.n);
    bsrMultiply(a, x, full);
    // |A| |x|: each y_i is a sum of at most ~100 products; reordering them moves y_i by at most about
    // 100 eps (|A| |x|)_i = 2e-14 (|A| |x|)_i, so 1e-13 leaves room and still catches any wrong term.
    const abs = { ...a, values: a.values.map(Math.abs) };
    const bound = new Float64Array(3 * a.n);
    bsrMultiply(abs, x.map(Math.abs), bound);
    const out = new Float64Array(3 * a.n);
    k.multiplyInto(x, out);
    for (let i = 0; i < out.length; i++) expect(Math.abs(out[i]! - full[i]!)).toBeLessThanOrEqual(1e-13 * bound[i]!);
  });

  it('handles an upper triangle whose rows lack a diagonal block (a zero block is inserted)', () => {
    // 2 block rows: row 0 couples to 1 only, row 1 empty; the full matrix is [[0, B], [B^T, 0]].
    const b = [1, 2, 3, 4, 5, 6, 7, 8, 9];
    const m = { n: 2, rowPtr: Int32Array.of(0, 1, 2), cols: Int32Array.of(1, 0), values: Float64Array.from([...b, ...[1, 4, 7, 2, 5, 8, 3, 6, 9]]) };
    const v = Float64Array.of(1, -1, 2, 0.5, 3, -2);
    const ref = new Float64Array(6);
    bsrMultiply(m, v, ref);
    const out = new Float64Array(6);
    bsrKernel(m, 'symmetric').multiplyInto(v, out);
    expect(out).toEqual(ref);
  });
});
