// Device side of the double-float ("df") WGSL library: evaluation of its functions on a device, and a probe that
// checks there that the library's error-free transformations hold (no fused or flushed f32 arithmetic inside them).
import { PhysiotwinError, createRng } from '@physiotwin/core';
import { checkBindingSizes, createBufferFrom, createStorageBuffer, createUniformBuffer, getComputePipeline, readBuffer, withGpuErrorScope } from '@physiotwin/gpu';
import { doubleFloatWgsl } from './generated/shaders.js';
import { fromDoubleFloat, toDoubleFloat } from './double-float.js';

/**
 * Operations of the double-float library that {@link evalDoubleFloat} runs, by WGSL function (arguments are
 * df unless noted): `add` df_add, `sub` df_sub, `mul` df_mul, `div` df_div, `exp` df_exp, `expm1` df_expm1,
 * `cos` df_cos, `tanh` df_tanh_safe, `two_sum` / `two_prod` (on the hi words: two f32), `lt` `le` `gt` `ge`
 * (result 1 or 0), `abs`, `sign`, `min`, `max`, `wrapping_cosine` df_wrapping_cosine (4 arguments: tc, T,
 * tsaFrac, tpwaveDiv) and `wrapping_branch` (its branch: 1 for tc <= tp, 2 for the wrapped beat, 0 for none).
 */
export type DoubleFloatOp =
  | 'add' | 'sub' | 'mul' | 'div' | 'exp' | 'expm1' | 'cos' | 'tanh' | 'two_sum' | 'two_prod'
  | 'lt' | 'le' | 'gt' | 'ge' | 'abs' | 'sign' | 'min' | 'max' | 'wrapping_cosine' | 'wrapping_branch';

/** WGSL expression of each op over the kernel's arguments a, b, c, d, and its arity. */
const OPS: Record<DoubleFloatOp, readonly [string, number]> = {
  add: ['df_add(a, b)', 2],
  sub: ['df_sub(a, b)', 2],
  mul: ['df_mul(a, b)', 2],
  div: ['df_div(a, b)', 2],
  exp: ['df_exp(a)', 1],
  expm1: ['df_expm1(a)', 1],
  cos: ['df_cos(a)', 1],
  tanh: ['df_tanh_safe(a)', 1],
  two_sum: ['two_sum(a.x, b.x)', 2],
  two_prod: ['two_prod(a.x, b.x)', 2],
  lt: ['eval_bool(df_lt(a, b))', 2],
  le: ['eval_bool(df_le(a, b))', 2],
  gt: ['eval_bool(df_gt(a, b))', 2],
  ge: ['eval_bool(df_ge(a, b))', 2],
  abs: ['df_abs(a)', 1],
  sign: ['df_sign(a)', 1],
  min: ['df_min(a, b)', 2],
  max: ['df_max(a, b)', 2],
  wrapping_cosine: ['df_wrapping_cosine(a, b, c, d)', 4],
  wrapping_branch: ['vec2<f32>(df_wrapping_cosine_phase(a, b, c, d).z, 0.0)', 4],
};
const OP_NAMES = Object.keys(OPS) as DoubleFloatOp[];
const KERNEL = 'hemo/double-float-eval';
const WG = 64;

// One pipeline for every op (chosen by a uniform), so a test or the probe compiles the library once.
const EVAL_WGSL = `${doubleFloatWgsl}
// ---- ${KERNEL}: one op of the library per invocation (packages/hemo/src/double-float.ts) ----
struct EvalParams {
  opaque: u32,  // always 0: df_opaque, the library's fence value
  op: u32,      // index into the op list of double-float.ts
  n: u32,
  pad: u32,
};
@group(0) @binding(0) var<uniform> P: EvalParams;
@group(0) @binding(1) var<storage, read> args: array<vec2<f32>>;        // 4 df arguments per element
@group(0) @binding(2) var<storage, read_write> results: array<vec2<f32>>;

fn eval_bool(b: bool) -> vec2<f32> {
  return vec2<f32>(select(0.0, 1.0, b), 0.0);
}

@compute @workgroup_size(${WG})
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
  df_opaque = P.opaque;
  let i = gid.x;
  if (i >= P.n) { return; }
  let a = args[4u * i];
  let b = args[4u * i + 1u];
  let c = args[4u * i + 2u];
  let d = args[4u * i + 3u];
  var r = vec2<f32>(0.0);
  switch P.op {
${OP_NAMES.map((name, k) => `    case ${k}u: { r = ${OPS[name][0]}; }`).join('\n')}
    default: {}
  }
  results[i] = r;
}
`;

/**
 * Runs one operation of the double-float WGSL library on `device`, element by element, and returns the raw
 * result pairs (interleaved hi, lo as the device wrote them; {@link fromDoubleFloat} gives their values).
 * Used by {@link probeDoubleFloat} and by tests of the library.
 * @param args one array of f64 values per argument of `op` (see {@link DoubleFloatOp}), all of one length;
 * each value goes to the device as its {@link toDoubleFloat} pair
 * @throws PhysiotwinError `INVALID_ARGUMENT` for a wrong number of arguments or unequal lengths;
 * `GPU_LIMIT_EXCEEDED` when the arrays exceed the device's dispatch or binding limits; `GPU_VALIDATION` if the
 * library does not compile on the device
 * @example `fromDoubleFloat(await evalDoubleFloat(device, 'exp', [[1]]))[0]` is e to about 2^-47
 */
export async function evalDoubleFloat(device: GPUDevice, op: DoubleFloatOp, args: ReadonlyArray<ArrayLike<number>>): Promise<Float32Array> {
  const spec = OPS[op];
  if (!spec) throw new PhysiotwinError('INVALID_ARGUMENT', `unknown double-float op '${String(op)}'`);
  const arity = spec[1];
  if (args.length !== arity) throw new PhysiotwinError('INVALID_ARGUMENT', `double-float op '${op}' takes ${arity} arguments, got ${args.length}`);
  const n = args[0]!.length;
  if (args.some((a) => a.length !== n)) throw new PhysiotwinError('INVALID_ARGUMENT', `the arguments of double-float op '${op}' differ in length`);
  if (n === 0) return new Float32Array(0);
  const groups = Math.ceil(n / WG);
  if (groups > device.limits.maxComputeWorkgroupsPerDimension) {
    throw new PhysiotwinError('GPU_LIMIT_EXCEEDED', `${n} elements need ${groups} workgroups, the device allows ${device.limits.maxComputeWorkgroupsPerDimension}`);
  }
  checkBindingSizes(device, KERNEL, { args: 32 * n, results: 8 * n });
  const pipeline = await getComputePipeline(device, { kernel: KERNEL, code: EVAL_WGSL });
  const packed = new Float32Array(8 * n);
  args.forEach((values, j) => {
    const pairs = toDoubleFloat(values);
    for (let i = 0; i < n; i++) {
      packed[8 * i + 2 * j] = pairs[2 * i]!;
      packed[8 * i + 2 * j + 1] = pairs[2 * i + 1]!;
    }
  });
  const bufs = [
    createUniformBuffer(device, [['u32', 0], ['u32', OP_NAMES.indexOf(op)], ['u32', n], ['u32', 0]], `${KERNEL}:params`),
    createBufferFrom(device, packed, GPUBufferUsage.STORAGE, `${KERNEL}:args`),
    createStorageBuffer(device, 8 * n, `${KERNEL}:results`),
  ] as const;
  try {
    await withGpuErrorScope(device, KERNEL, () => {
      const encoder = device.createCommandEncoder({ label: KERNEL });
      const pass = encoder.beginComputePass({ label: KERNEL });
      pass.setPipeline(pipeline);
      pass.setBindGroup(0, device.createBindGroup({ label: KERNEL, layout: pipeline.getBindGroupLayout(0), entries: bufs.map((buffer, binding) => ({ binding, resource: { buffer } })) }));
      pass.dispatchWorkgroups(groups);
      pass.end();
      device.queue.submit([encoder.finish()]);
    });
    return new Float32Array(await readBuffer(device, bufs[2], 8 * n));
  } finally {
    for (const b of bufs) b.destroy();
  }
}

/** The operations {@link probeDoubleFloat} measures. */
export type DoubleFloatProbeOp = 'add' | 'sub' | 'mul' | 'div' | 'exp' | 'cos' | 'tanh';

/** What {@link probeDoubleFloat} found on a device. */
export interface DoubleFloatProbe {
  /** Every measured error is at most `bound`: the device's f32 arithmetic supports the library. */
  ok: boolean;
  /** Largest error per operation over the probe's inputs: relative, absolute for `cos`. */
  maxError: Record<DoubleFloatProbeOp, number>;
  /**
   * 2^-40: a margin over the library's targets (2^-43 to 2^-46). A device that fuses or flushes inside the
   * error-free transformations loses the low word and shows errors near 2^-24.
   */
  bound: number;
}

const PROBE_BOUND = 2 ** -40;

/** The probe's fixed inputs (f64 values that are exact df pairs) and the f64 reference of each op. */
interface ProbeCase {
  op: DoubleFloatProbeOp;
  args: number[][];
  reference: (...x: number[]) => number;
  absolute?: boolean;
}

/** `x` rounded to the double-float grid (exactly representable as a pair, and exact in f64). */
const dfRound = (x: number): number => Math.fround(x) + Math.fround(x - Math.fround(x));

function probeCases(): ProbeCase[] {
  const rng = createRng(0x0df0df);
  const logUniform = (lo: number, hi: number) => Math.exp(Math.log(lo) + rng.next() * (Math.log(hi) - Math.log(lo)));
  const signed = (x: number) => (rng.next() < 0.5 ? -x : x);
  const pairs = (count: number, make: (i: number) => [number, number]) => {
    const a: number[] = [];
    const b: number[] = [];
    for (let i = 0; i < count; i++) {
      const [x, y] = make(i);
      a.push(dfRound(x));
      b.push(dfRound(y));
    }
    return [a, b];
  };
  const singles = (values: number[]) => [values.map(dfRound)];
  // Sums: random magnitudes and signs; then cancellation, b = -a (1 + 2^-k), whose result lives in a's low bits.
  const sumArgs = () => pairs(96, (i) => {
    const a = signed(logUniform(1e-3, 1e3));
    if (i < 48) return [a, signed(logUniform(1e-3, 1e3))];
    if (i < 93) return [a, -a * (1 + 2 ** -(i - 47))];
    return [a, -Math.fround(a)];
  });
  // Products and quotients: random; then factors 1 + 2^-k + tiny whose low words decide the result.
  const mulArgs = pairs(96, (i) => {
    if (i < 64) return [signed(logUniform(1e-4, 1e4)), signed(logUniform(1e-4, 1e4))];
    const k = 1 + (i % 23);
    return [1 + 2 ** -k + rng.next() * 2 ** -30, signed(1 - 2 ** -(24 - k) + rng.next() * 2 ** -40)];
  });
  const divArgs = pairs(96, (i) => {
    if (i < 64) return [signed(logUniform(1e-4, 1e4)), signed(logUniform(1e-4, 1e4))];
    const b = [3, 7, 10, 0.1, 1 / 3, Math.PI, 2 ** -10, 1 + 2 ** -23][i % 8]!;
    return [i % 2 ? 1 : b * (1 + rng.next() * 2 ** -30), b];
  });
  const grid = (count: number, lo: number, hi: number) => Array.from({ length: count }, (_, i) => lo + ((i + rng.next()) * (hi - lo)) / count);
  const expArgs = singles([
    ...grid(96, -30, 30),
    ...[-30, -20, -10, -2, -1, 1, 2, 10, 20, 30].map((k) => k * Math.LN2 + rng.next() * 1e-6),
    ...[0.5, -0.5, 1.5, -1.5].map((k) => k * Math.LN2), // the reduction's rounding boundaries
    0, 1e-10, -1e-10, 1e-5, -1e-5, 0.01, -0.01, 0.1, -0.1, 0.3, -0.3, 1, -1, 2, -2, 29.99, -29.99, 3 * rng.next(),
  ]);
  const cosArgs = singles([
    ...grid(96, -7, 13),
    ...Array.from({ length: 13 }, (_, k) => ((k - 4) * Math.PI) / 2), // cos near 0 and +-1
    ...[0.25, 0.75, -0.25, 2.25].map((k) => k * Math.PI), // quadrant boundaries of the reduction
    0, 1e-8, -1e-8, 1e-3, 0.5, -0.5, 1, 2 * Math.PI, 4 * Math.PI - 1e-9, -2 * Math.PI, 3, 6, -6, 12, 12.9,
  ]);
  const tanhArgs = singles([
    ...grid(96, -20, 20),
    0, 1e-10, -1e-10, 1e-6, -1e-6, 1e-3, -1e-3, 0.01, 0.1, -0.1, 0.1733, 0.1734, 0.25, 0.49, 0.5, -0.5, 0.51, 0.52,
    1, -1, 2, 5, 9, 10, -10, 19.5, 20, -20, 25, -1000,
  ]);
  return [
    { op: 'add', args: sumArgs(), reference: (a, b) => a! + b! },
    { op: 'sub', args: sumArgs().map((v, j) => (j === 1 ? v.map((x) => -x) : v)), reference: (a, b) => a! - b! },
    { op: 'mul', args: mulArgs, reference: (a, b) => a! * b! },
    { op: 'div', args: divArgs, reference: (a, b) => a! / b! },
    { op: 'exp', args: expArgs, reference: (a) => Math.exp(a!) },
    { op: 'cos', args: cosArgs, reference: (a) => Math.cos(a!), absolute: true },
    { op: 'tanh', args: tanhArgs, reference: (a) => Math.tanh(Math.min(20, Math.max(-20, a!))) },
  ];
}

const probes = new WeakMap<GPUDevice, Promise<DoubleFloatProbe>>();

async function runProbe(device: GPUDevice): Promise<DoubleFloatProbe> {
  const maxError = {} as Record<DoubleFloatProbeOp, number>;
  for (const c of probeCases()) {
    const got = fromDoubleFloat(await evalDoubleFloat(device, c.op, c.args));
    let worst = 0;
    for (let i = 0; i < got.length; i++) {
      const want = c.reference(...c.args.map((a) => a[i]!));
      const diff = Math.abs(got[i]! - want);
      const err = c.absolute || want === 0 ? diff : diff / Math.abs(want);
      // NaN (a broken device) must count as failure: keep it.
      if (!(err <= worst)) worst = err;
    }
    maxError[c.op] = worst;
  }
  const ok = Object.values(maxError).every((e) => e <= PROBE_BOUND);
  return { ok, maxError, bound: PROBE_BOUND };
}

/**
 * Checks that the double-float library works on `device`: runs add, sub, mul, div (a hundred operand pairs
 * each, with cancellation and low words that decide the result), exp on [-30, 30], cos on [-7, 13] and tanh
 * on [-20, 20] (near 0 too) on fixed inputs and compares with f64 on the host. `ok` is false on a device whose
 * f32 arithmetic breaks the error-free transformations (contraction into fma despite the fence, flushing,
 * reassociation); kernels that emulate f64 should then not run there. One probe per device (cached).
 * @throws PhysiotwinError `GPU_VALIDATION` if the library does not compile on the device
 * @example `if (!(await probeDoubleFloat(gpu.device)).ok) backend = 'cpu';`
 */
export async function probeDoubleFloat(device: GPUDevice): Promise<DoubleFloatProbe> {
  let probe = probes.get(device);
  if (!probe) {
    probe = runProbe(device);
    probes.set(device, probe);
    probe.catch(() => probes.delete(device));
  }
  return probe;
}
