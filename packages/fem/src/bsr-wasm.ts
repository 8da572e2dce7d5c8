// The BSR matvec as a small WebAssembly module, assembled here from its opcodes (no toolchain, no binary file).
// The scalar kernels run the same loops as `bsrMultiply` / `bsrSymmetricMultiply` in the same floating-point
// order, so their results are bit-identical, but without JavaScript's per-access bounds checks and with the
// column index turned into an address once; the symmetric kernel CG uses by default also has a SIMD form (two
// f64 lanes, same results to rounding). The matrix is copied into the module's memory once; `x` and `y` are views
// of that memory, so CG iterates on them without copies. Where WebAssembly is missing (or the matrix does not fit
// in 2 GiB of wasm memory) the kernel falls back to the JavaScript loops. The symmetric kernel can also run on
// several threads (bsr-threads.ts: the same module, compiled with a shared memory import, in worker_threads).
import type { BsrMatrix } from './bsr.js';
import { bsrMultiply, bsrSymmetricMultiply, bsrUpper } from './bsr.js';
import { matvecThreads, threadedSymmetricKernel } from './bsr-threads.js';

/** A matvec bound to one matrix: `multiply()` sets `y = A x`; `multiplyInto(x, y)` copies through `x`/`y`. */
export interface BsrKernel {
  /** Block rows. */
  readonly n: number;
  /** Input vector (3n), owned by the kernel (wasm memory when `engine` is 'wasm'). */
  readonly x: Float64Array;
  /** Output vector (3n), owned by the kernel. */
  readonly y: Float64Array;
  /** Which loops run. */
  readonly engine: 'wasm-simd' | 'wasm' | 'js';
  /** 'symmetric': the upper triangle is streamed (half the matrix bytes); 'full': every block. */
  readonly layout: 'symmetric' | 'full';
  /** Bytes of matrix data streamed per product (values, column indices, row pointers). */
  readonly matrixBytes: number;
  /** y = A x on the kernel's own vectors. */
  multiply(): void;
  /** out = A v (copies v into `x` and `y` into out unless they are the kernel's own vectors). */
  multiplyInto(v: Float64Array, out: Float64Array): void;
  /** Vector pair `i` (0 .. `pairs` - 1 of {@link bsrKernel}'s options; pair 0 is `x`, `y`), for a second user of the same matrix. */
  pair(i: number): { x: Float64Array; y: Float64Array; multiply(): void };
  /** Threads a product runs on (the calling thread included): 1 unless {@link BsrKernelOptions.threads} started workers. */
  readonly threads: number;
  /** Stops the kernel's worker threads (it then runs on the calling thread alone); nothing for a one-thread kernel. */
  dispose(): void;
}

// ---- a tiny assembler: just the opcodes the two kernels need ----
const uleb = (v: number): number[] => {
  const out: number[] = [];
  do {
    let b = v & 0x7f;
    v >>>= 7;
    if (v !== 0) b |= 0x80;
    out.push(b);
  } while (v !== 0);
  return out;
};
const sleb = (v: number): number[] => {
  const out: number[] = [];
  for (;;) {
    const b = v & 0x7f;
    v >>= 7;
    if ((v === 0 && (b & 0x40) === 0) || (v === -1 && (b & 0x40) !== 0)) {
      out.push(b);
      return out;
    }
    out.push(b | 0x80);
  }
};
const get = (l: number) => [0x20, ...uleb(l)];
const set = (l: number) => [0x21, ...uleb(l)];
const i32 = (v: number) => [0x41, ...sleb(v)];
const ADD = 0x6a, SUB = 0x6b, MUL = 0x6c, SHL = 0x74, GE_U = 0x4f, FADD = 0xa0, FMUL = 0xa2;
const loadI = (addr: number, off = 0) => [...get(addr), 0x28, 2, ...uleb(off)];
const loadF = (addr: number, off = 0) => [...get(addr), 0x2b, 3, ...uleb(off)];
/** Stores the f64 that `value` leaves on the stack at local address `addr` + off. */
const storeF = (addr: number, off: number, value: number[]) => [...get(addr), ...value, 0x39, 3, ...uleb(off)];
const bump = (l: number, by: number) => [...get(l), ...i32(by), ADD, ...set(l)];
/** block { loop { if (a >= b) break; body; continue } } */
const whileLess = (a: number, b: number, body: number[]) => [0x02, 0x40, 0x03, 0x40, ...get(a), ...get(b), GE_U, 0x0d, 1, ...body, 0x0c, 0, 0x0b, 0x0b];
/** (p0 q0 + p1 q1) + p2 q2 over f64 locals: the rounding order of the JavaScript kernels. */
const dot3 = (p: number[], q: number[]) => [...get(p[0]!), ...get(q[0]!), FMUL, ...get(p[1]!), ...get(q[1]!), FMUL, FADD, ...get(p[2]!), ...get(q[2]!), FMUL, FADD];

// Parameters: n (one past the last row), rowPtr (block indices), cols (byte offsets 24 j of x_j from x), values, x,
// y (byte addresses: y_i is at y + 24 i), from (the first row; 0 when a caller passes six arguments).
const [N, RP, CL, VL, XP, YP, FROM] = [0, 1, 2, 3, 4, 5, 6];
const PARAMS = 7;
// i32 locals 7..13, f64 locals 14..31.
const [I, V, VEND, C, XJ, XI, DY] = [7, 8, 9, 10, 11, 12, 13];
const XI0 = 14, Y0 = 17, X0 = 20, A0 = 23;
const xi = [XI0, XI0 + 1, XI0 + 2], xs = [X0, X0 + 1, X0 + 2];
const row = (r: number) => [A0 + 3 * r, A0 + 3 * r + 1, A0 + 3 * r + 2];
const col = (c: number) => [A0 + c, A0 + 3 + c, A0 + 6 + c];
const LOCALS = [2, 7, 0x7f, 18, 0x7c]; // 7 i32, 18 f64

/** Row i's bounds: V = values + 72 rowPtr[i], VEND = values + 72 rowPtr[i + 1], C = cols + 4 rowPtr[i], XI = x + 24 i. */
const rowBounds = [
  ...get(RP), ...get(I), ...i32(2), SHL, ADD, ...set(XJ),
  ...loadI(XJ, 4), ...i32(72), MUL, ...get(VL), ADD, ...set(VEND),
  ...loadI(XJ), ...set(C),
  ...get(C), ...i32(72), MUL, ...get(VL), ADD, ...set(V),
  ...get(C), ...i32(2), SHL, ...get(CL), ADD, ...set(C),
  ...get(I), ...i32(24), MUL, ...get(XP), ADD, ...set(XI),
];
const loadBlock = [...[0, 1, 2, 3, 4, 5, 6, 7, 8].flatMap((k) => [...loadF(V, 8 * k), ...set(A0 + k)])];
const loadXj = [...loadI(C), ...get(XP), ADD, ...set(XJ), ...[0, 1, 2].flatMap((c) => [...loadF(XJ, 8 * c), ...set(X0 + c)])];
const nextBlock = [...bump(V, 72), ...bump(C, 4)];

/** y = A x, every block of each row (`bsrMultiply`). */
const fullBody = [
  ...get(FROM), ...set(I),
  ...whileLess(I, N, [
    ...rowBounds,
    ...[0, 1, 2].flatMap((r) => [0x44, 0, 0, 0, 0, 0, 0, 0, 0, ...set(Y0 + r)]),
    ...whileLess(V, VEND, [
      ...loadXj, ...loadBlock,
      ...[0, 1, 2].flatMap((r) => [...get(Y0 + r), ...dot3(row(r), xs), FADD, ...set(Y0 + r)]),
      ...nextBlock,
    ]),
    ...get(XI), ...get(XP), SUB, ...get(YP), ADD, ...set(XJ),
    ...[0, 1, 2].flatMap((r) => storeF(XJ, 8 * r, get(Y0 + r))),
    ...bump(I, 1),
  ]),
  0x0b,
];

/** y_from .. y_(n-1) = 0 (the symmetric kernels' prologue; the threaded kernel's 'range' export leaves it out). */
const zeroY = [
  ...get(FROM), ...i32(24), MUL, ...get(YP), ADD, ...set(V), ...get(N), ...i32(24), MUL, ...get(YP), ADD, ...set(VEND),
  ...whileLess(V, VEND, [...storeF(V, 0, [0x44, 0, 0, 0, 0, 0, 0, 0, 0]), ...bump(V, 8)]),
];

/** y_i += x_i for rows from .. n-1 (x and y as addresses: the threaded kernel adds a chunk's accumulator into y). */
const accumulateBody = [
  ...get(FROM), ...i32(24), MUL, ...get(YP), ADD, ...set(V), ...get(N), ...i32(24), MUL, ...get(YP), ADD, ...set(VEND),
  ...get(FROM), ...i32(24), MUL, ...get(XP), ADD, ...set(XJ),
  ...whileLess(V, VEND, [...storeF(V, 0, [...loadF(V), ...loadF(XJ), FADD]), ...bump(V, 8), ...bump(XJ, 8)]),
  0x0b,
];

/**
 * y = A x from the upper triangle, the diagonal block first in each row (`bsrSymmetricMultiply`), rows from .. n-1.
 * With `zero` false (the 'range' export), y is not cleared first: rows of one thread's share add into it.
 */
const symmetricBody = (zero: boolean) => [
  ...(zero ? zeroY : []),
  ...get(YP), ...get(XP), SUB, ...set(DY),
  ...get(FROM), ...set(I),
  ...whileLess(I, N, [
    ...rowBounds,
    ...[0, 1, 2].flatMap((c) => [...loadF(XI, 8 * c), ...set(XI0 + c)]),
    // The diagonal block: 0 + its product, as the JavaScript kernel's first (j = i) term.
    ...loadBlock,
    ...[0, 1, 2].flatMap((r) => [...dot3(row(r), xi), ...set(Y0 + r)]),
    ...nextBlock,
    ...whileLess(V, VEND, [
      ...loadXj, ...loadBlock,
      ...[0, 1, 2].flatMap((r) => [...get(Y0 + r), ...dot3(row(r), xs), FADD, ...set(Y0 + r)]),
      // y_j += A_ij^T x_i, added term by term like the JavaScript kernel.
      ...get(XJ), ...get(DY), ADD, ...set(XJ),
      ...[0, 1, 2].flatMap((c) => storeF(XJ, 8 * c, [
        ...loadF(XJ, 8 * c),
        ...get(col(c)[0]!), ...get(xi[0]!), FMUL, FADD,
        ...get(col(c)[1]!), ...get(xi[1]!), FMUL, FADD,
        ...get(col(c)[2]!), ...get(xi[2]!), FMUL, FADD,
      ])),
      ...nextBlock,
    ]),
    ...get(XI), ...get(DY), ADD, ...set(XJ),
    ...[0, 1, 2].flatMap((r) => storeF(XJ, 8 * r, [...loadF(XJ, 8 * r), ...get(Y0 + r), FADD])),
    ...bump(I, 1),
  ]),
  0x0b,
];

// ---- the symmetric kernel with 128-bit SIMD (two f64 lanes): a block row (a_r0, a_r1) is one vector ----
// y_i accumulates (a_r0 x_j0, a_r1 x_j1) per row r in a vector, summed across lanes at the end of the row, so its
// rounding order differs from the scalar kernel's (results agree to a few ulps of the row's terms).
const v128Load = (addr: number, off = 0) => [...get(addr), 0xfd, 0x00, 3, ...uleb(off)];
const v128Store = (addr: number, off: number, value: number[]) => [...get(addr), ...value, 0xfd, 0x0b, 3, ...uleb(off)];
const SPLAT = [0xfd, 0x14], VADD = [0xfd, 0xf0, 0x01], VMUL = [0xfd, 0xf2, 0x01];
const lane = (l: number) => [0xfd, 0x21, l];
// f64 locals 14..23, v128 locals 24..36.
const S_XI0 = 14, S_YS0 = 17, S_XJ2 = 20, S_A2 = 21;
const V_XIS = 24, V_ACC = 27, V_XJ = 30, V_P = 33, V_XI01 = 36;
const SIMD_LOCALS = [3, 7, 0x7f, 10, 0x7c, 13, 0x7b];
const rowVectors = [0, 1, 2].flatMap((r) => [...v128Load(V, 24 * r), ...set(V_P + r), ...loadF(V, 24 * r + 16), ...set(S_A2 + r)]);
const symmetricSimdBody = (zero: boolean) => [
  ...(zero ? zeroY : []),
  ...get(YP), ...get(XP), SUB, ...set(DY),
  ...get(FROM), ...set(I),
  ...whileLess(I, N, [
    ...rowBounds,
    ...[0, 1, 2].flatMap((c) => [...loadF(XI, 8 * c), 0x22, ...uleb(S_XI0 + c), ...SPLAT, ...set(V_XIS + c)]),
    ...v128Load(XI), ...set(V_XI01),
    // The diagonal block: no scatter.
    ...rowVectors,
    ...[0, 1, 2].flatMap((r) => [
      ...get(V_P + r), ...get(V_XI01), ...VMUL, ...set(V_ACC + r),
      ...get(S_A2 + r), ...get(S_XI0 + 2), FMUL, ...set(S_YS0 + r),
    ]),
    ...nextBlock,
    ...whileLess(V, VEND, [
      ...loadI(C), ...get(XP), ADD, ...set(XJ),
      ...v128Load(XJ), ...set(V_XJ), ...loadF(XJ, 16), ...set(S_XJ2),
      ...rowVectors,
      ...[0, 1, 2].flatMap((r) => [
        ...get(V_ACC + r), ...get(V_P + r), ...get(V_XJ), ...VMUL, ...VADD, ...set(V_ACC + r),
        ...get(S_YS0 + r), ...get(S_A2 + r), ...get(S_XJ2), FMUL, FADD, ...set(S_YS0 + r),
      ]),
      // y_j += A_ij^T x_i: (y_j0, y_j1) += sum_r (a_r0, a_r1) x_ir; y_j2 += sum_r a_r2 x_ir.
      ...get(XJ), ...get(DY), ADD, ...set(XJ),
      ...v128Store(XJ, 0, [
        ...v128Load(XJ),
        ...[0, 1, 2].flatMap((r) => [...get(V_P + r), ...get(V_XIS + r), ...VMUL, ...VADD]),
      ]),
      ...storeF(XJ, 16, [
        ...loadF(XJ, 16),
        ...[0, 1, 2].flatMap((r) => [...get(S_A2 + r), ...get(S_XI0 + r), FMUL, FADD]),
      ]),
      ...nextBlock,
    ]),
    ...get(XI), ...get(DY), ADD, ...set(XJ),
    ...[0, 1, 2].flatMap((r) => storeF(XJ, 8 * r, [
      ...loadF(XJ, 8 * r),
      ...get(V_ACC + r), ...lane(0), ...get(V_ACC + r), ...lane(1), FADD, ...get(S_YS0 + r), FADD, FADD,
    ])),
    ...bump(I, 1),
  ]),
  0x0b,
];

const section = (id: number, body: number[]) => [id, ...uleb(body.length), ...body];
const name = (s: string) => [...uleb(s.length), ...[...s].map((ch) => ch.charCodeAt(0))];
const code = (body: number[], locals = LOCALS) => {
  const f = [...locals, ...body];
  return [...uleb(f.length), ...f];
};
/**
 * The module: exports 'full', 'symmetric' and 'range' (the symmetric rows from .. n-1 without clearing y: one
 * chunk of the threaded kernel), 'symmetric' and 'range' being the SIMD kernel when `simd` (a module of its own,
 * for engines without SIMD), and the threaded kernel's 'zero' (y rows from .. n-1 = 0) and 'accumulate' (y += x
 * on rows from .. n-1): a JavaScript fill or loop on shared memory is several times slower. Its memory import is shared (wasm threads: the shared limits flag, a maximum of 4 GiB) when `shared`.
 */
function moduleBytes(simd: boolean, shared: boolean): Uint8Array {
  const sym = (zero: boolean) => (simd ? code(symmetricSimdBody(zero), SIMD_LOCALS) : code(symmetricBody(zero)));
  const limits = shared ? [0x03, 1, ...uleb(65536)] : [0x00, 1];
  return new Uint8Array([
    0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00,
    ...section(1, [1, 0x60, PARAMS, ...Array<number>(PARAMS).fill(0x7f), 0]),
    ...section(2, [1, ...name('m'), ...name('memory'), 0x02, ...limits]),
    ...section(3, [5, 0, 0, 0, 0, 0]),
    ...section(7, [5, ...name('full'), 0, 0, ...name('symmetric'), 0, 1, ...name('range'), 0, 2, ...name('zero'), 0, 3, ...name('accumulate'), 0, 4]),
    ...section(10, [5, ...code(fullBody), ...sym(true), ...sym(false), ...code([...zeroY, 0x0b]), ...code(accumulateBody)]),
  ]);
}

const compiled = new Map<string, WebAssembly.Module | null>();
/** The compiled module (cached), or null where the engine lacks WebAssembly, its SIMD, or shared memory. */
function wasmModule(simd: boolean, shared = false): WebAssembly.Module | null {
  const key = `${simd ? 'simd' : 'scalar'}${shared ? '-shared' : ''}`;
  if (!compiled.has(key)) {
    let mod: WebAssembly.Module | null = null;
    try {
      if (typeof WebAssembly === 'object') mod = new WebAssembly.Module(moduleBytes(simd, shared) as Uint8Array<ArrayBuffer>);
    } catch {
      mod = null; // no SIMD, no threads (or no WebAssembly) in this engine
    }
    compiled.set(key, mod);
  }
  return compiled.get(key)!;
}

/** Largest wasm memory the kernel asks for (wasm32 allows 4 GiB; half leaves room for the rest of the process). */
const MAX_WASM_BYTES = 2 ** 31;

/** Options of {@link bsrKernel}. */
export interface BsrKernelOptions {
  /** 'wasm' (scalar wasm) or 'js' to force those loops (for comparison); default 'auto' (the SIMD symmetric kernel where the engine has wasm SIMD, scalar wasm otherwise, JavaScript without wasm or room). */
  engine?: 'auto' | 'wasm' | 'js';
  /** Vector pairs (x, y) to hold, default 1: CG and its preconditioner can share one matrix copy. */
  pairs?: number;
  /**
   * Threads of the symmetric wasm kernel (the calling thread and worker_threads on one shared memory): default 1;
   * 'auto' one per 64 MB of streamed upper-triangle matrix (2 from about 6e5 DOF of T4 stiffness; measurements
   * in packages/fem/README.md), at most os.availableParallelism(); a number exactly that many (at most one per
   * block row and 64; more than the cores only oversubscribes them). A threaded kernel wakes its workers only
   * while that makes its products faster (the result is the same either way). One thread where the engine has no worker threads, shared
   * memory or Atomics.wait (a browser page), for the 'full' layout and for `engine: 'js'`.
   */
  threads?: number | 'auto';
  /** How long a threaded product waits for a worker before it fails with `WORKER_CRASHED` (default 30 000 ms). */
  stallMs?: number;
}

/**
 * A fast matvec bound to `a`: WebAssembly where available, JavaScript otherwise, streaming the upper triangle
 * ('symmetric', for symmetric `a`: half the matrix bytes) or every block ('full'). Scalar results equal
 * `bsrSymmetricMultiply(bsrUpper(a), x, y)` resp. `bsrMultiply(a, x, y)` bit for bit; the SIMD symmetric kernel
 * sums each row in another order, and the threaded one also a few rows' sums across threads (both within 1e-13
 * of (|A| |x|)_i, and the same bits on every run with the same thread count: bsr.test.ts, bsr-threads.test.ts).
 * A threaded kernel holds worker threads until `dispose()` (it then runs on the calling thread alone).
 * @throws nothing here (falls back to one thread, to scalar wasm, to the JavaScript loops); a threaded kernel's
 *   products throw PhysiotwinError `WORKER_CRASHED` when a worker fails or stops answering.
 */
export function bsrKernel(a: BsrMatrix, layout: 'symmetric' | 'full' = 'symmetric', options: BsrKernelOptions = {}): BsrKernel {
  const pairs = Math.max(1, options.pairs ?? 1);
  const m = layout === 'symmetric' ? diagonalFirst(bsrUpper(a)) : a;
  const n = m.n;
  const nnzb = m.rowPtr[n]!;
  const matrixBytes = nnzb * 76 + (n + 1) * 4;
  const engine = options.engine ?? 'auto';
  const mod = engine === 'js' ? null : (engine !== 'wasm' && wasmModule(true)) || wasmModule(false);
  const simd = mod !== null && mod === wasmModule(true);
  const threads = layout === 'symmetric' && mod ? matvecThreads(options.threads ?? 1, matrixBytes, n) : 1;
  const sharedModule = threads > 1 ? wasmModule(simd, true) : null;
  const threaded = sharedModule && threadedSymmetricKernel(m, sharedModule, { pairs, threads, ...(options.stallMs !== undefined ? { stallMs: options.stallMs } : {}) });
  if (threaded) {
    const { x, y, multiply } = threaded;
    // The same object (not a copy): its workers stop when it is collected.
    return Object.assign(threaded, {
      n, engine: simd ? 'wasm-simd' as const : 'wasm' as const, layout, matrixBytes,
      multiplyInto(v: Float64Array, out: Float64Array) {
        if (v !== x) x.set(v);
        multiply();
        if (out !== y) out.set(y);
      },
    });
  }
  // Layout: values (72 B per block), x and y of each pair, cols (4 B per block), rowPtr; values first keeps every
  // f64 8-aligned.
  const valuesAt = 0;
  const xAt = valuesAt + 72 * nnzb;
  const yAt = xAt + 24 * n;
  const colsAt = xAt + 48 * n * pairs;
  const rowPtrAt = colsAt + 4 * nnzb;
  const total = rowPtrAt + 4 * (n + 1);
  if (mod && total <= MAX_WASM_BYTES) {
    let memory: WebAssembly.Memory | undefined;
    try {
      memory = new WebAssembly.Memory({ initial: Math.ceil(total / 65536) });
    } catch {
      memory = undefined; // not enough memory for a second copy: the JavaScript loops below
    }
    if (memory) {
      const buf = memory.buffer;
      new Float64Array(buf, valuesAt, 9 * nnzb).set(m.values);
      const cols = new Int32Array(buf, colsAt, nnzb);
      for (let k = 0; k < nnzb; k++) cols[k] = 24 * m.cols[k]!;
      new Int32Array(buf, rowPtrAt, n + 1).set(m.rowPtr);
      const exports = new WebAssembly.Instance(mod, { m: { memory } }).exports as Record<'full' | 'symmetric', (n: number, rp: number, cl: number, vl: number, xp: number, yp: number, from: number) => void>;
      const run = exports[layout];
      const views = Array.from({ length: pairs }, (_, i) => {
        const shift = 48 * n * i;
        const multiply = () => run(n, rowPtrAt, colsAt, valuesAt, xAt + shift, yAt + shift, 0);
        return { x: new Float64Array(buf, xAt + shift, 3 * n), y: new Float64Array(buf, yAt + shift, 3 * n), multiply };
      });
      const { x, y, multiply } = views[0]!;
      return {
        n, x, y, engine: simd && layout === 'symmetric' ? 'wasm-simd' : 'wasm', layout, matrixBytes, multiply, threads: 1, dispose: () => undefined,
        multiplyInto(v, out) {
          if (v !== x) x.set(v);
          multiply();
          if (out !== y) out.set(y);
        },
        pair: (i) => views[i]!,
      };
    }
  }
  const product = layout === 'symmetric' ? (v: Float64Array, out: Float64Array) => bsrSymmetricMultiply(m, v, out) : (v: Float64Array, out: Float64Array) => bsrMultiply(m, v, out);
  const views = Array.from({ length: pairs }, () => {
    const x = new Float64Array(3 * n);
    const y = new Float64Array(3 * n);
    return { x, y, multiply: () => product(x, y) };
  });
  const { x, y, multiply } = views[0]!;
  return { n, x, y, engine: 'js', layout, matrixBytes, multiply, multiplyInto: product, pair: (i) => views[i]!, threads: 1, dispose: () => undefined };
}

/** `u` (an upper triangle) with each row's diagonal block first, a zero block inserted where one is missing. */
function diagonalFirst(u: BsrMatrix): BsrMatrix {
  let ok = true;
  for (let i = 0; i < u.n && ok; i++) ok = u.rowPtr[i]! < u.rowPtr[i + 1]! && u.cols[u.rowPtr[i]!] === i;
  if (ok) return u;
  let extra = 0;
  for (let i = 0; i < u.n; i++) if (!(u.rowPtr[i]! < u.rowPtr[i + 1]! && u.cols[u.rowPtr[i]!] === i)) extra++;
  const nnzb = u.rowPtr[u.n]! + extra;
  const rowPtr = new Int32Array(u.n + 1);
  const cols = new Int32Array(nnzb);
  const values = new Float64Array(9 * nnzb);
  let at = 0;
  for (let i = 0; i < u.n; i++) {
    // Upper-triangle columns are >= i and sorted: the diagonal, when present, is the row's first block.
    const has = u.rowPtr[i]! < u.rowPtr[i + 1]! && u.cols[u.rowPtr[i]!] === i;
    if (!has) cols[at++] = i;
    for (let k = u.rowPtr[i]!; k < u.rowPtr[i + 1]!; k++) {
      cols[at] = u.cols[k]!;
      values.set(u.values.subarray(9 * k, 9 * k + 9), 9 * at);
      at++;
    }
    rowPtr[i + 1] = at;
  }
  return { n: u.n, rowPtr, cols, values };
}
