import { PhysiotwinError } from '@physiotwin/core';

/**
 * Time expressions of svZeroDSolver's `fn` parameters (upstream compiles them with ExprTk, symbol `t`
 * plus its constants `pi`, `epsilon`, `inf`; names are case-insensitive, e.g.
 * `"2.0 * (4*ATAN(1.)) * COS(2.0 * (4*ATAN(1.)) * t)"`). This is the arithmetic part of that language,
 * parsed once into a closure of `t`: numbers, `t`, the constants, unary `+`/`-`, binary `+ - * / %`, `^`
 * (power, right-associative), comparisons (`< <= > >= == = != <>`, giving 1 or 0), parentheses and the
 * functions below. Anything else (an unknown name, a malformed expression) is rejected with the position.
 * `-a^b` reads as `-(a^b)` and `a^b^c` as `a^(b^c)` (the mathematical convention; whether ExprTk reads these
 * two forms the same way is not verified: no upstream case uses them).
 */
export type TimeFunction = (t: number) => number;

const FUNCTIONS: Record<string, { arity: number; f: (...a: number[]) => number }> = {
  abs: { arity: 1, f: Math.abs },
  acos: { arity: 1, f: Math.acos },
  acosh: { arity: 1, f: Math.acosh },
  asin: { arity: 1, f: Math.asin },
  asinh: { arity: 1, f: Math.asinh },
  atan: { arity: 1, f: Math.atan },
  atan2: { arity: 2, f: Math.atan2 },
  atanh: { arity: 1, f: Math.atanh },
  ceil: { arity: 1, f: Math.ceil },
  cos: { arity: 1, f: Math.cos },
  cosh: { arity: 1, f: Math.cosh },
  exp: { arity: 1, f: Math.exp },
  expm1: { arity: 1, f: Math.expm1 },
  floor: { arity: 1, f: Math.floor },
  hypot: { arity: 2, f: Math.hypot },
  log: { arity: 1, f: Math.log },
  log10: { arity: 1, f: Math.log10 },
  log1p: { arity: 1, f: Math.log1p },
  log2: { arity: 1, f: Math.log2 },
  max: { arity: 2, f: Math.max },
  min: { arity: 2, f: Math.min },
  pow: { arity: 2, f: Math.pow },
  // ExprTk rounds half away from zero (C's round), not half up as Math.round does for negatives.
  round: { arity: 1, f: (x) => Math.sign(x) * Math.round(Math.abs(x)) },
  sgn: { arity: 1, f: Math.sign },
  sin: { arity: 1, f: Math.sin },
  sinh: { arity: 1, f: Math.sinh },
  sqrt: { arity: 1, f: Math.sqrt },
  tan: { arity: 1, f: Math.tan },
  tanh: { arity: 1, f: Math.tanh },
  trunc: { arity: 1, f: Math.trunc },
};

const CONSTANTS: Record<string, number> = { pi: Math.PI, epsilon: Number.EPSILON, inf: Infinity };

/**
 * Compiles an `fn` expression of the time `t` (s).
 * @param source the expression text
 * @param jsonPath where it came from, for the error
 * @throws PhysiotwinError `CONFIG_INVALID` naming the position of the first unsupported or malformed token
 * @example
 * ```ts
 * const q = compileTimeFunction('2*pi*cos(2*pi*t)', '$.boundary_conditions[0].bc_values.fn');
 * q(0.25); // ~0
 * ```
 */
export function compileTimeFunction(source: string, jsonPath: string): TimeFunction {
  const s = source.toLowerCase();
  let pos = 0;
  // Every operator adds one closure frame to an evaluation; 4096 characters keep that far inside the call stack.
  const MAX_LENGTH = 4096;
  if (s.length > MAX_LENGTH) {
    throw new PhysiotwinError('CONFIG_INVALID', `fn expression of ${s.length} characters: at most ${MAX_LENGTH} are accepted`, { location: { jsonPath } });
  }
  // Nesting (parentheses, calls, powers) is bounded so that a pathological input is an error, not a stack overflow.
  let depth = 0;
  const MAX_DEPTH = 256;
  const fail = (what: string): never => {
    throw new PhysiotwinError('CONFIG_INVALID', `fn expression '${source}': ${what} at position ${pos}`, { location: { jsonPath } });
  };
  const skip = (): void => {
    while (pos < s.length && /\s/.test(s[pos]!)) pos++;
  };
  const eat = (tok: string): boolean => {
    skip();
    if (s.startsWith(tok, pos)) {
      pos += tok.length;
      return true;
    }
    return false;
  };

  type Node = TimeFunction;
  const nested = (parse: () => Node): Node => {
    if (++depth > MAX_DEPTH) fail(`nesting deeper than ${MAX_DEPTH}`);
    try {
      return parse();
    } finally {
      depth--;
    }
  };
  const primary = (): Node => nested(primaryAt);
  const primaryAt = (): Node => {
    skip();
    const c = s[pos];
    if (c === undefined) return fail('unexpected end');
    if (c === '(') {
      pos++;
      const e = comparison();
      if (!eat(')')) fail("expected ')'");
      return e;
    }
    const num = /^(\d+\.?\d*|\.\d+)(e[+-]?\d+)?/.exec(s.slice(pos));
    if (num) {
      pos += num[0].length;
      const v = Number(num[0]);
      return () => v;
    }
    const id = /^[a-z_][a-z0-9_]*/.exec(s.slice(pos));
    if (!id) return fail(`unexpected '${c}'`);
    const name = id[0];
    const at = pos;
    pos += name.length;
    if (name === 't') return (t) => t;
    // own properties only: 'constructor' or '__proto__' are not names of the language
    if (Object.hasOwn(CONSTANTS, name)) {
      const v = CONSTANTS[name]!;
      return () => v;
    }
    const fn = Object.hasOwn(FUNCTIONS, name) ? FUNCTIONS[name] : undefined;
    if (!fn) {
      pos = at;
      return fail(`unknown name '${name}' (the variable is t; constants pi, epsilon, inf; functions ${Object.keys(FUNCTIONS).join(', ')})`);
    }
    if (!eat('(')) fail(`expected '(' after ${name}`);
    const args: Node[] = [comparison()];
    while (eat(',')) args.push(comparison());
    if (!eat(')')) fail("expected ')'");
    if (args.length !== fn.arity) {
      pos = at;
      fail(`${name} takes ${fn.arity} argument(s), got ${args.length}`);
    }
    const f = fn.f;
    if (args.length === 1) {
      const a = args[0]!;
      return (t) => f(a(t));
    }
    const [a, b] = args as [Node, Node];
    return (t) => f(a(t), b(t));
  };
  const unary = (): Node => {
    let negative = false;
    for (;;) {
      if (eat('-')) negative = !negative;
      else if (!eat('+')) break;
    }
    const a = power();
    return negative ? (t) => -a(t) : a;
  };
  const power = (): Node => {
    const a = primary();
    if (eat('^')) {
      const b = nested(unary);
      return (t) => Math.pow(a(t), b(t));
    }
    return a;
  };
  const product = (): Node => {
    let a = unary();
    for (;;) {
      const l = a;
      if (eat('*')) {
        const r = unary();
        a = (t) => l(t) * r(t);
      } else if (eat('/')) {
        const r = unary();
        a = (t) => l(t) / r(t);
      } else if (eat('%')) {
        const r = unary();
        a = (t) => l(t) % r(t); // C fmod: the sign of the dividend, as JavaScript's %
      } else return a;
    }
  };
  const sum = (): Node => {
    let a = product();
    for (;;) {
      const l = a;
      if (eat('+')) {
        const r = product();
        a = (t) => l(t) + r(t);
      } else if (eat('-')) {
        const r = product();
        a = (t) => l(t) - r(t);
      } else return a;
    }
  };
  const COMPARE: Array<[string, (x: number, y: number) => boolean]> = [
    ['<=', (x, y) => x <= y], ['>=', (x, y) => x >= y], ['==', (x, y) => x === y], ['!=', (x, y) => x !== y],
    ['<>', (x, y) => x !== y], ['<', (x, y) => x < y], ['>', (x, y) => x > y], ['=', (x, y) => x === y],
  ];
  const comparison = (): Node => {
    const a = sum();
    for (const [op, f] of COMPARE) {
      if (eat(op)) {
        const b = sum();
        return (t) => (f(a(t), b(t)) ? 1 : 0);
      }
    }
    return a;
  };

  const root = comparison();
  skip();
  if (pos < s.length) fail(`unexpected '${s[pos]}'`);
  return root;
}
