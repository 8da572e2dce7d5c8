import { dfLiteral } from './double-float.js';

/**
 * Rewriting of the general ensemble kernel's expressions for other arithmetic. The block generators and the
 * kernel builder (ensemble-general.codegen.ts) write every expression once, as plain f32 WGSL
 * (`a * abs(q) - 2.0`); {@link rewriteExpression} parses such an expression and writes it
 * - for a double-float WGSL kernel (reals are `vec2<f32>` pairs, shaders/hemo/double-float.wgsl) with the
 *   library's calls: `df_sub(df_mul(a, df_abs(q)), vec2<f32>(2.0, 0.0))`;
 * - for the JavaScript f64 kernel of the CPU: `((a * Math.abs(q)) - 2)`,
 * so the equations exist in one place only.
 *
 * The grammar is the subset the generators use: numbers (`2.0`, `1e-8`, `3u`), identifiers (`ya3`, `P.alphaF`),
 * calls, unary `-` and `!`, `* /`, `+ -`, comparisons, and `&`, `|` on booleans. Types: identifiers are
 * reals unless `kindOf` says otherwise; `u` literals are u32, comparisons give booleans.
 */
type Kind = 'real' | 'u32' | 'bool';

/** What an expression is rewritten for: double-float WGSL, or JavaScript on f64 numbers. */
export type RewriteTarget = 'df' | 'js';

interface Node {
  code: string;
  kind: Kind;
  /** Value of a real literal (for exact scaling by powers of two). */
  literal?: number;
}

/**
 * The real-valued built-ins the generators use, per target (same arguments). JavaScript: tanh needs no
 * clamp in f64 (the CPU blocks call Math.tanh), and `wrappingCosine` is activation.ts's, passed to the
 * compiled kernel.
 */
const CALLS: Record<RewriteTarget, Record<string, string>> = {
  df: { abs: 'df_abs', sign: 'df_sign', exp: 'df_exp', min: 'df_min', max: 'df_max', tanh_safe: 'df_tanh_safe', wrapping_cosine: 'df_wrapping_cosine' },
  js: { abs: 'Math.abs', sign: 'Math.sign', exp: 'Math.exp', min: 'Math.min', max: 'Math.max', tanh_safe: 'Math.tanh', wrapping_cosine: 'wrappingCosine' },
};

const COMPARE: Record<string, string> = { '<': 'df_lt', '<=': 'df_le', '>': 'df_gt', '>=': 'df_ge' };
const ARITH: Record<string, string> = { '+': 'df_add', '-': 'df_sub', '*': 'df_mul', '/': 'df_div' };
/** JavaScript spellings of WGSL operators (booleans: no side effects, so short-circuiting changes nothing). */
const JS_OP: Record<string, string> = { '==': '===', '!=': '!==', '&': '&&', '|': '||' };

/** A WGSL float literal of x (exact for the powers of two it is used for). */
const f32Literal = (x: number): string => {
  const s = String(x);
  return /[.eE]/.test(s) ? s : `${s}.0`;
};

/** A JavaScript number literal of x (String round-trips f64; negative values parenthesised). */
const jsNumber = (x: number): string => (x < 0 || Object.is(x, -0) ? `(${String(x)})` : String(x));

const TOKEN = /\s*(?:(\d+(?:\.\d*)?(?:[eE][-+]?\d+)?u?|\.\d+(?:[eE][-+]?\d+)?)|([A-Za-z_][\w.]*)|(<=|>=|==|!=|[-+*/<>()!&|,]))/y;

/**
 * Rewrites one f32 WGSL expression for another target.
 * @param kindOf type of an identifier that is not a real (`u32` or `bool`), undefined for reals
 * @throws Error (internal) on syntax the rewriter does not know or on mixed types
 */
export function rewriteExpression(expr: string, target: RewriteTarget, kindOf: (name: string) => Kind | undefined): string {
  const js = target === 'js';
  const tokens: string[] = [];
  TOKEN.lastIndex = 0;
  while (TOKEN.lastIndex < expr.length) {
    const at = TOKEN.lastIndex;
    const m = TOKEN.exec(expr);
    if (!m) {
      if (/^\s*$/.test(expr.slice(at))) break;
      throw new Error(`internal: cannot translate '${expr}' at ${at}`);
    }
    tokens.push(m[1] ?? m[2] ?? m[3]!);
  }
  let pos = 0;
  const peek = (): string | undefined => tokens[pos];
  const take = (want?: string): string => {
    const t = tokens[pos++];
    if (t === undefined || (want !== undefined && t !== want)) throw new Error(`internal: expected '${want ?? 'a token'}' in '${expr}'`);
    return t;
  };
  const real = (x: number): Node => ({ code: js ? jsNumber(x) : dfLiteral(x), kind: 'real', literal: x });
  const need = (n: Node, kind: Kind, what: string): void => {
    if (n.kind !== kind) throw new Error(`internal: ${what} needs ${kind}, got ${n.kind} '${n.code}' in '${expr}'`);
  };

  const primary = (): Node => {
    const t = take();
    if (t === '(') {
      const e = logical();
      take(')');
      return { ...e, code: `(${e.code})` };
    }
    if (/^[\d.]/.test(t)) return t.endsWith('u') ? { code: js ? t.slice(0, -1) : t, kind: 'u32' } : real(Number(t));
    if (t === 'true' || t === 'false') return { code: t, kind: 'bool' };
    if (peek() === '(') {
      take('(');
      const args: Node[] = [];
      if (peek() !== ')') {
        args.push(logical());
        while (peek() === ',') {
          take(',');
          args.push(logical());
        }
      }
      take(')');
      if (t === 'select') {
        if (args.length !== 3) throw new Error(`internal: select takes 3 arguments in '${expr}'`);
        need(args[2]!, 'bool', 'select condition');
        if (args[0]!.kind !== args[1]!.kind) throw new Error(`internal: select of ${args[0]!.kind} and ${args[1]!.kind} in '${expr}'`);
        const [f, tr, c] = args.map((a) => a.code);
        return { code: js ? `(${c} ? ${tr} : ${f})` : `select(${f}, ${tr}, ${c})`, kind: args[0]!.kind };
      }
      const fn = CALLS[target][t];
      if (!fn) throw new Error(`internal: no ${target} version of '${t}' (in '${expr}')`);
      for (const a of args) need(a, 'real', t);
      return { code: `${fn}(${args.map((a) => a.code).join(', ')})`, kind: 'real' };
    }
    if (!/^[A-Za-z_]/.test(t)) throw new Error(`internal: unexpected '${t}' in '${expr}'`);
    return { code: t, kind: kindOf(t) ?? 'real' };
  };

  const unary = (): Node => {
    if (peek() === '-') {
      take();
      const e = unary();
      need(e, 'real', 'unary -');
      // Negating both parts of a pair is exact.
      return e.literal !== undefined ? real(-e.literal) : { code: `-(${e.code})`, kind: 'real' };
    }
    if (peek() === '!') {
      take();
      const e = unary();
      need(e, 'bool', '!');
      return { code: `!${e.code}`, kind: 'bool' };
    }
    return primary();
  };

  /** Exact scaling: a power-of-two literal multiplies both parts of the pair without rounding. */
  const powerOfTwo = (x: number | undefined): boolean => x !== undefined && x !== 0 && Number.isFinite(x) && 2 ** Math.round(Math.log2(Math.abs(x))) === Math.abs(x);

  const binary = (ops: string[], next: () => Node): (() => Node) =>
    function parse(): Node {
      let a = next();
      while (ops.includes(peek() ?? '')) {
        const op = take();
        const b = next();
        if (a.kind === 'real' && b.kind === 'real' && js) a = { code: `(${a.code} ${op} ${b.code})`, kind: 'real' };
        else if (a.kind === 'real' && b.kind === 'real') {
          if (op === '*' && powerOfTwo(a.literal)) a = { code: `(${b.code} * ${f32Literal(a.literal!)})`, kind: 'real' };
          else if (op === '*' && powerOfTwo(b.literal)) a = { code: `(${a.code} * ${f32Literal(b.literal!)})`, kind: 'real' };
          else a = { code: `${ARITH[op]!}(${a.code}, ${b.code})`, kind: 'real' };
        } else if (a.kind === 'u32' && b.kind === 'u32') a = { code: `${a.code} ${op} ${b.code}`, kind: 'u32' };
        else throw new Error(`internal: ${a.kind} ${op} ${b.kind} in '${expr}'`);
      }
      return a;
    };
  const product = binary(['*', '/'], unary);
  const sum = binary(['+', '-'], product);

  const comparison = (): Node => {
    const a = sum();
    const op = peek();
    if (op === undefined || !['<', '<=', '>', '>=', '==', '!='].includes(op)) return a;
    take();
    const b = sum();
    if (a.kind !== b.kind || a.kind === 'bool') throw new Error(`internal: ${a.kind} ${op} ${b.kind} in '${expr}'`);
    if (a.kind === 'u32' || js) return { code: `${a.code} ${js ? (JS_OP[op] ?? op) : op} ${b.code}`, kind: 'bool' };
    if (op === '==') return { code: `all(${a.code} == ${b.code})`, kind: 'bool' };
    if (op === '!=') return { code: `any(${a.code} != ${b.code})`, kind: 'bool' };
    return { code: `${COMPARE[op]!}(${a.code}, ${b.code})`, kind: 'bool' };
  };

  const logical = (): Node => {
    let a = comparison();
    while (peek() === '&' || peek() === '|') {
      const op = take();
      const b = comparison();
      need(a, 'bool', op);
      need(b, 'bool', op);
      a = { code: `${a.code} ${js ? JS_OP[op]! : op} ${b.code}`, kind: 'bool' };
    }
    return a;
  };

  const out = logical();
  if (pos !== tokens.length) throw new Error(`internal: trailing '${tokens.slice(pos).join(' ')}' in '${expr}'`);
  return out.code;
}
