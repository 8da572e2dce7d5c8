import { describe, expect, it } from 'vitest';
import { rewriteExpression } from './ensemble-general.rewrite.js';

const kinds = (name: string): 'u32' | 'bool' | undefined => (name === 'P.steady' || name === 'it' ? 'u32' : name === 'conv' ? 'bool' : undefined);
const df = (e: string): string => rewriteExpression(e, 'df', kinds);
const js = (e: string): string => rewriteExpression(e, 'js', kinds);

describe('double-float rewriting of kernel expressions', () => {
  it('maps arithmetic to library calls with f32 precedence and associativity', () => {
    expect(df('a + b * c')).toBe('df_add(a, df_mul(b, c))');
    expect(df('a - b - c')).toBe('df_sub(df_sub(a, b), c)');
    expect(df('(a + b) / c')).toBe('df_div((df_add(a, b)), c)');
    expect(df('-(a + b)')).toBe('-((df_add(a, b)))');
    expect(df('-a * b')).toBe('df_mul(-(a), b)');
    expect(df('- -a')).toBe('-(-(a))');
  });

  it('writes literals as exact pairs and scales by powers of two without rounding', () => {
    // 0.1 is not an f32: its pair (hi, lo) carries the f64 value to 2^-48.
    const m = /^df_add\(x, vec2<f32>\(([^,]+), ([^)]+)\)\)$/.exec(df('x + 0.1'));
    expect(m).not.toBeNull();
    const [hi, lo] = [Number(m![1]), Number(m![2])];
    expect(Math.fround(hi)).toBe(hi);
    expect(Math.fround(lo)).toBe(lo);
    expect(lo).not.toBe(0);
    expect(Math.abs(hi + lo - 0.1) / 0.1).toBeLessThan(2 ** -48);
    expect(df('0.5 * x')).toBe('(x * 0.5)');
    expect(df('x * -2.0')).toBe('(x * -2.0)');
    expect(df('x * 3.0')).toMatch(/^df_mul\(x, vec2<f32>\(3(\.0)?, 0(\.0)?\)\)$/);
  });

  it('types comparisons, selects and booleans; u32 values stay native', () => {
    expect(df('select(1.0, 0.0, (a <= b) & (q <= 0.0))')).toMatch(/^select\(vec2<f32>\(1(\.0)?, 0(\.0)?\), vec2<f32>\(0(\.0)?, 0(\.0)?\), \(df_le\(a, b\)\) & \(df_le\(q, vec2<f32>\(0(\.0)?, 0(\.0)?\)\)\)\)$/);
    expect(df('select(-r * c, 0.0, (P.steady == 1u))')).toMatch(/^select\(df_mul\(-\(r\), c\), .*, \(P\.steady == 1u\)\)$/);
    expect(df('conv & (abs(r) < P.atol)')).toBe('conv & (df_lt(df_abs(r), P.atol))');
    expect(df('max(m, exp(x))')).toBe('df_max(m, df_exp(x))');
    expect(df('a == b')).toBe('all(a == b)');
  });

  it('rejects what it cannot translate faithfully', () => {
    expect(() => df('cos(x)')).toThrow(/no df version of 'cos'/);
    expect(() => js('cos(x)')).toThrow(/no js version of 'cos'/);
    expect(() => df('it + x')).toThrow(/u32 \+ real/);
    expect(() => df('select(1.0, 2u, conv)')).toThrow(/select of real and u32/);
    expect(() => df('a < b < c')).toThrow(/trailing/);
    expect(() => df('a # b')).toThrow(/cannot translate/);
    expect(() => df('conv & x')).toThrow(/& needs bool/);
  });

  it('writes JavaScript for the f64 CPU kernel: evaluating it gives the f64 value of the WGSL expression', () => {
    expect(js('select(1.0, 0.0, (a <= b) & (q <= 0.0))')).toBe('((a <= b) && (q <= 0) ? 0 : 1)');
    expect(js('it + 1u == 3u')).toBe('it + 1 === 3');
    expect(js('-0.5 * (1.0 + tanh_safe(x))')).toBe('((-0.5) * ((1 + Math.tanh(x))))');
    const env = { a: 1.5, b: -2.25, q: 3, x: 0.3 };
    const run = (e: string): number => new Function(...Object.keys(env), 'wrappingCosine', `return ${js(e)};`)(...Object.values(env), () => 0) as number;
    expect(run('a - b - q')).toBe(env.a - env.b - env.q);
    expect(run('-(a + b) * exp(x) / abs(b)')).toBe((-(env.a + env.b) * Math.exp(env.x)) / Math.abs(env.b));
    expect(run('max(a, q) - min(b, -a)')).toBe(Math.max(env.a, env.q) - Math.min(env.b, -env.a));
  });
});
