import { createRng } from '@physiotwin/core';
import { createStorageBuffer, getComputePipeline, readBuffer, withGpuErrorScope } from '@physiotwin/gpu';
import { describeBackends } from '@physiotwin/gpu/testing';
import { describe, expect, it } from 'vitest';
import { wrappingCosine } from './activation.js';
import { dfLiteral, fromDoubleFloat, toDoubleFloat } from './double-float.js';
import { evalDoubleFloat, probeDoubleFloat } from './double-float.webgpu.js';

/** x rounded to the double-float grid: the value a pair from toDoubleFloat holds (exact in f64). */
const dfRound = (x: number): number => fromDoubleFloat(toDoubleFloat([x]))[0]!;
const log2 = (x: number): string => Math.log2(x).toFixed(1);

describe('double-float host conversions', () => {
  it('round-trips f64 values to 2^-48 relative: hi keeps 24 significand bits, lo the next 24 (rounded)', () => {
    const rng = createRng(11);
    const xs = Array.from({ length: 2000 }, () => (rng.next() < 0.5 ? -1 : 1) * Math.exp((rng.next() - 0.5) * 120));
    xs.push(Math.PI, 0.1, 1 / 3, 1 + 2 ** -40, 2 ** 100, 2 ** -100, 3, 0);
    const pairs = toDoubleFloat(xs);
    const back = fromDoubleFloat(pairs);
    for (let i = 0; i < xs.length; i++) {
      const x = xs[i]!;
      expect(Math.abs(back[i]! - x)).toBeLessThanOrEqual(2 ** -48 * Math.abs(x));
      // Normalized: hi is the f32 nearest hi + lo.
      expect(pairs[2 * i]).toBe(Math.fround(pairs[2 * i]! + pairs[2 * i + 1]!));
    }
    expect(Array.from(toDoubleFloat([1 + 2 ** -30]))).toEqual([1, 2 ** -30]);
  });

  it('maps values that are not finite f32 to (fround(x), 0)', () => {
    expect(Array.from(toDoubleFloat([Infinity, -Infinity, 1e39, -1e39]))).toEqual([Infinity, 0, -Infinity, 0, Infinity, 0, -Infinity, 0]);
    const nan = toDoubleFloat([NaN]);
    expect(Number.isNaN(nan[0])).toBe(true);
    expect(nan[1]).toBe(0);
  });

  it('writes dfLiteral with exact, valid WGSL float literals', () => {
    const literal = /^-?(\d+\.\d*|\d+(\.\d*)?[eE][+-]?\d+)$/;
    const rng = createRng(12);
    const xs = [Math.PI, 0.1, -1 / 3, 1e-8, 1e20, -123456.789, 2 ** -100, 3.4e38, 1.5e-45 * 4, 2 * Math.PI, Math.LN2];
    for (let i = 0; i < 200; i++) xs.push((rng.next() - 0.5) * 10 ** Math.floor(rng.next() * 40 - 20));
    for (const x of xs) {
      const m = /^vec2<f32>\((\S+), (\S+)\)$/.exec(dfLiteral(x));
      expect(m, dfLiteral(x)).not.toBeNull();
      const [hiText, loText] = [m![1]!, m![2]!];
      expect(hiText).toMatch(literal);
      expect(loText).toMatch(literal);
      const [hi, lo] = [Number(hiText), Number(loText)];
      // Each decimal is exactly an f32, and together they are the pair of toDoubleFloat.
      expect(Math.fround(hi)).toBe(hi);
      expect(Math.fround(lo)).toBe(lo);
      expect([hi, lo]).toEqual(Array.from(toDoubleFloat([x])));
    }
    expect(dfLiteral(0.5)).toBe('vec2<f32>(0.5, 0.0)');
    expect(dfLiteral(3)).toBe('vec2<f32>(3.0, 0.0)');
    expect(dfLiteral(-(2 ** 40))).toBe('vec2<f32>(-1099511627776.0, 0.0)');
    expect(dfLiteral(0)).toBe('vec2<f32>(0.0, 0.0)');
    expect(dfLiteral(-0)).toBe('vec2<f32>(-0.0, 0.0)');
    expect(dfLiteral(1e-8)).toMatch(/^vec2<f32>\(9\.99999993922529e-9, /);
    for (const bad of [Infinity, NaN, 1e39, -1e300]) expect(() => dfLiteral(bad)).toThrow(/INVALID_ARGUMENT/);
  });
});

/** The f64 neighbour of a positive x (one ulp up for dir 1, down for -1). */
function nextF64(x: number, dir: 1 | -1): number {
  const bits = new BigUint64Array(new Float64Array([x]).buffer);
  bits[0] = bits[0]! + BigInt(dir);
  return new Float64Array(bits.buffer)[0]!;
}

/** f64 branch of activation.ts wrappingCosine (1: tc <= tp, 2: the wrapped beat, 0: none). */
function wrappingBranch(tc: number, T: number, tsaFrac: number, tpwaveDiv: number): number {
  const Tsa = T * tsaFrac;
  const tp = T / tpwaveDiv;
  if (tc <= tp) return 1;
  if (tc >= T - Tsa + tp && tc < T) return 2;
  return 0;
}

describeBackends(
  'double-float WGSL library',
  (b) => {
    it('probe: the error-free transformations hold, every op within its target (add/sub/mul 2^-46, div 2^-45, exp 2^-44, cos 2^-45 absolute, tanh 2^-43)', async () => {
      const t0 = performance.now();
      const probe = await probeDoubleFloat(b.gpu().device);
      const ms = performance.now() - t0;
      console.info(`[double-float] probe (compile + run) ${ms.toFixed(0)} ms; max error log2: ${Object.entries(probe.maxError).map(([k, v]) => `${k} ${log2(v)}`).join(', ')}`);
      expect(probe.ok).toBe(true);
      expect(probe.bound).toBe(2 ** -40);
      const target = { add: 2 ** -46, sub: 2 ** -46, mul: 2 ** -46, div: 2 ** -45, exp: 2 ** -44, cos: 2 ** -45, tanh: 2 ** -43 };
      for (const [op, t] of Object.entries(target)) expect(probe.maxError[op as keyof typeof target], op).toBeLessThanOrEqual(t);
      // One probe per device.
      expect(await probeDoubleFloat(b.gpu().device)).toBe(probe);
    });

    it('two_prod and two_sum are exact on the device (the fence keeps a * b rounded; no fma contraction, no reassociation)', async () => {
      const rng = createRng(21);
      const f32 = () => Math.fround((rng.next() < 0.5 ? -1 : 1) * (1 + rng.next()) * 2 ** Math.floor(rng.next() * 20 - 10));
      const a = Array.from({ length: 256 }, f32);
      const c = Array.from({ length: 256 }, f32);
      const prod = await evalDoubleFloat(b.gpu().device, 'two_prod', [a, c]);
      const sum = await evalDoubleFloat(b.gpu().device, 'two_sum', [a, c]);
      let inexact = 0;
      for (let i = 0; i < a.length; i++) {
        // The product of two f32 has at most 48 bits and their sum (exponents within 2^20) at most 45: both exact in f64.
        const p = a[i]! * c[i]!;
        const s = a[i]! + c[i]!;
        expect(prod[2 * i]).toBe(Math.fround(p));
        expect(prod[2 * i]! + prod[2 * i + 1]!).toBe(p);
        expect(sum[2 * i]).toBe(Math.fround(s));
        expect(sum[2 * i]! + sum[2 * i + 1]!).toBe(s);
        if (Math.fround(p) !== p) {
          inexact++;
          expect(prod[2 * i + 1]).not.toBe(0);
        }
      }
      expect(inexact).toBeGreaterThan(200);
    });

    it('returns normalized pairs (hi = fround(hi + lo)) from every arithmetic op', async () => {
      const rng = createRng(22);
      const x = Array.from({ length: 128 }, () => dfRound((rng.next() - 0.5) * 20));
      const y = Array.from({ length: 128 }, () => dfRound((rng.next() - 0.5) * 20 + 1e-3));
      for (const [op, args] of [['add', [x, y]], ['sub', [x, y]], ['mul', [x, y]], ['div', [x, y]], ['exp', [x]], ['expm1', [x]], ['cos', [x]], ['tanh', [x]]] as const) {
        const r = await evalDoubleFloat(b.gpu().device, op, args);
        for (let i = 0; i < x.length; i++) expect(r[2 * i], `${op}(${x[i]}, ${y[i]})`).toBe(Math.fround(r[2 * i]! + r[2 * i + 1]!));
      }
    });

    it('compares, selects and takes signs through the low word', async () => {
      const e = 2 ** -30;
      // Pairs that differ only in lo, equal pairs, and differing hi.
      const a = [1 + e, 1 - e, 1 + e, -2, 0, 5, -3 - e];
      const c = [1 - e, 1 + e, 1 + e, -2 + e, 0, -5, -3];
      const dev = b.gpu().device;
      const flag = async (op: 'lt' | 'le' | 'gt' | 'ge') => Array.from(fromDoubleFloat(await evalDoubleFloat(dev, op, [a, c])));
      expect(await flag('lt')).toEqual(a.map((v, i) => Number(v < c[i]!)));
      expect(await flag('le')).toEqual(a.map((v, i) => Number(v <= c[i]!)));
      expect(await flag('gt')).toEqual(a.map((v, i) => Number(v > c[i]!)));
      expect(await flag('ge')).toEqual(a.map((v, i) => Number(v >= c[i]!)));
      expect(Array.from(fromDoubleFloat(await evalDoubleFloat(dev, 'min', [a, c])))).toEqual(a.map((v, i) => Math.min(v, c[i]!)));
      expect(Array.from(fromDoubleFloat(await evalDoubleFloat(dev, 'max', [a, c])))).toEqual(a.map((v, i) => Math.max(v, c[i]!)));
      expect(Array.from(fromDoubleFloat(await evalDoubleFloat(dev, 'abs', [a])))).toEqual(a.map(Math.abs));
      expect(Array.from(fromDoubleFloat(await evalDoubleFloat(dev, 'sign', [a])))).toEqual(a.map(Math.sign));
    });

    it('division by zero gives a non-finite hi (+-inf, NaN for 0/0)', async () => {
      const r = await evalDoubleFloat(b.gpu().device, 'div', [[1, -3, 0, 2.5], [0, 0, 0, -0]]);
      expect([r[0], r[2], r[6]]).toEqual([Infinity, -Infinity, -Infinity]);
      expect(Number.isNaN(r[4])).toBe(true);
    });

    it('exp overflows to +inf and underflows to 0, never NaN for finite input; expm1 is accurate near 0', async () => {
      const dev = b.gpu().device;
      // Full df accuracy needs lo to be a normal f32 too: results down to about 2^-100 (a >= -69).
      const big = [88.73, 89, 100, 1e30, 3e38, -87.4, -100, -1e30, -3e38, 88.7, -69, 60, -60, -87.3];
      const r = fromDoubleFloat(await evalDoubleFloat(dev, 'exp', [big]));
      expect(Array.from(r.slice(0, 5))).toEqual([Infinity, Infinity, Infinity, Infinity, Infinity]);
      expect(Array.from(r.slice(5, 9))).toEqual([0, 0, 0, 0]);
      for (let i = 9; i < 13; i++) expect(Math.abs(r[i]! / Math.exp(dfRound(big[i]!)) - 1), String(big[i])).toBeLessThan(2 ** -44);
      // Just above f32 underflow the hi word alone: f32 accuracy.
      expect(Math.abs(r[13]! / Math.exp(-87.3) - 1)).toBeLessThan(2 ** -22);
      const m1 = fromDoubleFloat(await evalDoubleFloat(dev, 'expm1', [big]));
      expect(m1[0]).toBe(Infinity);
      expect(Array.from(m1.slice(5, 9))).toEqual([-1, -1, -1, -1]);
      const rng = createRng(23);
      const small = [1e-12, -1e-12, 1e-7, -3e-5, 0.2, -0.3, 0.35, -0.36, 0.7, -0.7, 1.2, -1.2, 5, -5, 30, -40];
      for (let i = 0; i < 100; i++) small.push(dfRound((rng.next() - 0.5) * 3));
      const xs = small.map(dfRound);
      const e = fromDoubleFloat(await evalDoubleFloat(dev, 'expm1', [xs]));
      let worst = 0;
      for (let i = 0; i < xs.length; i++) worst = Math.max(worst, Math.abs(e[i]! - Math.expm1(xs[i]!)) / Math.abs(Math.expm1(xs[i]!)));
      console.info(`[double-float] expm1 max relative error 2^${log2(worst)}`);
      expect(worst).toBeLessThan(2 ** -44);
    });

    it('cos is within 2^-45 absolute over its whole range |a| <= 64, and tanh_safe clamps to [-20, 20]', async () => {
      const dev = b.gpu().device;
      const rng = createRng(24);
      const xs = Array.from({ length: 512 }, () => dfRound((rng.next() - 0.5) * 128));
      for (let k = -40; k <= 40; k += 3) xs.push(dfRound((k * Math.PI) / 2));
      const c = fromDoubleFloat(await evalDoubleFloat(dev, 'cos', [xs]));
      let worst = 0;
      for (let i = 0; i < xs.length; i++) worst = Math.max(worst, Math.abs(c[i]! - Math.cos(xs[i]!)));
      console.info(`[double-float] cos on [-64, 64] max absolute error 2^${log2(worst)}`);
      expect(worst).toBeLessThanOrEqual(2 ** -45);
      const t = await evalDoubleFloat(dev, 'tanh', [[25, 1e6, -30, 20, -20, 0]]);
      const t20 = dfRound(Math.tanh(20));
      expect(Array.from(fromDoubleFloat(t))).toEqual([t20, t20, -t20, t20, -t20, 0]);
    });

    // Set A's Tsa, tp and T - Tsa + tp are exact in f64 and in df, so the branch points are the same numbers on
    // both sides and the df comparisons must pick exactly the f64 branches, one f64 ulp either side included.
    // Set B's are rounded differently in f64 and df (by ~2^-50), so exactly at a branch point the branch may
    // differ; the activation is continuous there (0 on both sides), so the value still agrees.
    for (const [name, T, tsaFrac, tpwaveDiv, exactBranches] of [
      ['T = 1, tsaFrac 0.25, tpwaveDiv 8', 1.0, 0.25, 8, true],
      ['T = 0.8, tsaFrac 0.3, tpwaveDiv 9', 0.8, 0.3, 9, false],
    ] as const) {
      it(`df_wrapping_cosine tracks activation.ts wrappingCosine to 2^-44 absolute, branch points included (${name})`, async () => {
        // The parameters as the device holds them; the f64 reference uses exactly these values.
        const [Td, fd, dd] = [dfRound(T), dfRound(tsaFrac), dfRound(tpwaveDiv)];
        const Tsa = Td * fd;
        const tp = Td / dd;
        const late = Td - Tsa + tp;
        const up = (x: number) => nextF64(x, 1);
        const down = (x: number) => nextF64(x, -1);
        const points = [tp, late];
        const tc = [...Array.from({ length: 200 }, (_, i) => (i * Td) / 200), ...points, ...points.map(up), ...points.map(down), down(Td)];
        // The f64 reference sees exactly the times the device gets.
        const times = tc.map(dfRound);
        // Set A: the branch points and their f64 neighbours are df pairs exactly, as constructed in f64.
        if (exactBranches) expect(times.slice(200)).toEqual(tc.slice(200));
        const n = times.length;
        const args = [times, new Array<number>(n).fill(Td), new Array<number>(n).fill(fd), new Array<number>(n).fill(dd)];
        const dev = b.gpu().device;
        const value = fromDoubleFloat(await evalDoubleFloat(dev, 'wrapping_cosine', args));
        const branch = fromDoubleFloat(await evalDoubleFloat(dev, 'wrapping_branch', args));
        let worst = 0;
        const seen = new Set<number>();
        for (let i = 0; i < n; i++) {
          const t = times[i]!;
          const want = wrappingCosine(t, Td, fd, dd);
          worst = Math.max(worst, Math.abs(value[i]! - want));
          expect(Math.abs(value[i]! - want), `t = ${t}`).toBeLessThanOrEqual(2 ** -44);
          const wantBranch = wrappingBranch(t, Td, fd, dd);
          seen.add(wantBranch);
          const nearPoint = points.some((p) => Math.abs(t - p) <= 2 ** -40 * Td);
          if (exactBranches || !nearPoint) expect(branch[i], `branch at t = ${t}`).toBe(wantBranch);
        }
        expect([...seen].sort()).toEqual([0, 1, 2]);
        console.info(`[double-float] wrapping cosine (${name}): max absolute error 2^${log2(worst)}; branches at tp, T - Tsa + tp: df ${Array.from(branch.slice(200, 202))}, f64 ${points.map((p) => wrappingBranch(dfRound(p), Td, fd, dd))}`);
      });
    }

    it('dfLiteral constants compile to exactly their pairs', async () => {
      const dev = b.gpu().device;
      const rng = createRng(25);
      const xs = [Math.PI, 0.1, -1 / 3, 1e-8, 1e20, -123456.789, 2 ** -100, 3.4e38, 0, -0, 3, Math.LN2];
      for (let i = 0; i < 52; i++) xs.push((rng.next() - 0.5) * 10 ** Math.floor(rng.next() * 40 - 20));
      const code = `@group(0) @binding(0) var<storage, read_write> out: array<vec2<f32>>;
@compute @workgroup_size(1)
fn main() {
${xs.map((x, i) => `  out[${i}] = ${dfLiteral(x)};`).join('\n')}
}`;
      const pipeline = await getComputePipeline(dev, { kernel: 'hemo/double-float-literals:test', code });
      const out = createStorageBuffer(dev, 8 * xs.length, 'hemo/double-float-literals:test');
      try {
        await withGpuErrorScope(dev, 'hemo/double-float-literals:test', () => {
          const encoder = dev.createCommandEncoder();
          const pass = encoder.beginComputePass();
          pass.setPipeline(pipeline);
          pass.setBindGroup(0, dev.createBindGroup({ layout: pipeline.getBindGroupLayout(0), entries: [{ binding: 0, resource: { buffer: out } }] }));
          pass.dispatchWorkgroups(1);
          pass.end();
          dev.queue.submit([encoder.finish()]);
        });
        const got = new Float32Array(await readBuffer(dev, out));
        // WGSL lets implementations ignore the sign of zero (SwiftShader turns -0.0 into 0): compare zeros unsigned.
        const unsigned = (v: ArrayLike<number>) => Array.from(v, (x) => x + 0);
        expect(unsigned(got)).toEqual(unsigned(toDoubleFloat(xs)));
      } finally {
        out.destroy();
      }
    });
  },
  { backends: ['webgpu'], reason: 'the double-float library is WGSL; its f64 reference is computed on the host in each test' },
);
