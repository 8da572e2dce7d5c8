// Double-float ("df", double-single, float-float) arithmetic: a real is an unevaluated sum hi + lo of two f32
// held in a vec2<f32> (x = hi, y = lo), normalized so that hi = fl(hi + lo). That carries 48 significand bits
// (about 2^-48 relative), enough for f32 kernels to track an f64 solver. A library, no entry point or bindings:
// kernels that use it are generated with this file as their prelude (packages/hemo/src/double-float.ts runs
// it under its own probe kernel).
//
// Fence. Error-free transformations (EFTs: two_sum, fast_two_sum, two_prod) rely on each f32 operation being
// rounded to nearest on its own. WGSL rounds +, -, * correctly, but compilers may contract a product into a
// following add (a * b + c -> fma) or reassociate, which breaks an EFT. df_fence(x) hides x from the
// compiler: it ORs in df_opaque, a private the kernel's entry point MUST set from a uniform that is always 0
// (`df_opaque = params.opaque;` before any df call; left unset, the compiler may see the zero and drop every
// fence), so the value is unchanged but the compiler cannot reason about it. Fenced: every product whose
// rounded value an EFT relies on (the product in two_prod, the scaled value in Dekker's split), and the
// rounded sum in two_sum and fast_two_sum. The sums need it on SwiftShader (measured): with a constant
// operand c its shader compiler folds (c + b) - c to b (with two run-time operands it rounds as IEEE), so
// two_sum(c, b) returned a zero error term and df_add(constant, x) lost its low word (exp and cos Horner
// steps were off by 2^-32). Products whose contraction could only make a result more accurate are not fenced.
//
// two_prod uses Dekker's split, not fma(a, b, -p): WGSL does not promise a fused fma (its accuracy is
// "inherited from a * b + c") and SwiftShader's fma is not fused (measured: fma(a, b, -a*b) == 0 for inexact
// products), so an fma-based two_prod silently loses the error term there.
//
// Sources (own implementation of the published algorithms):
// - T. J. Dekker, "A floating-point technique for extending the available precision", Numer. Math. 18, 1971
//   (split, two_prod / mul12, fast_two_sum).
// - D. E. Knuth, The Art of Computer Programming vol. 2, 4.2.2 (two_sum without a magnitude test).
// - M. Joldes, J.-M. Muller, V. Popescu, "Tight and rigorous error bounds for basic building blocks of
//   double-word arithmetic", ACM TOMS 44(2), 2017 (JMP): AccurateDWPlusDW (Algorithm 6, relative error
//   <= 3u^2 + 13u^3, u = 2^-24), DWPlusFP (Algorithm 4, <= 2u^2), DWTimesFP1 (Algorithm 7, <= 1.5u^2 + 4u^3),
//   DWTimesDW1 (Algorithm 10, a small multiple of u^2).
// - J.-M. Muller et al., Handbook of Floating-Point Arithmetic, 2nd ed., 2018 (Cody-Waite range reduction with
//   multi-word constants, chapters 10-11).
// Division follows the classical quotient-refinement scheme of double-double libraries (Hida, Li, Bailey,
// QD, 2001), started from an approximate f32 reciprocal because WGSL's f32 division is only within 2.5 ulp.
//
// Ranges (normal f32 results; SwiftShader flushes subnormals to zero): two_prod needs |a|, |b| < 2^115 and
// |a * b| above about 2^-100 for an exact error term; df_div needs 2^-125 < |b.hi| < 2^125; df_exp and
// df_expm1 are accurate down to results of about 2^-100 (below, the lo word is subnormal); df_cos is meant
// for |a| <= 64.

var<private> df_opaque: u32;

// x, unchanged (df_opaque is always 0), but opaque to the compiler. See the fence note above.
fn df_fence(x: f32) -> f32 {
  return bitcast<f32>(bitcast<u32>(x) | df_opaque);
}

// +inf built at run time (a constant inf is a shader-creation error in WGSL).
fn df_inf() -> f32 {
  return bitcast<f32>(0x7f800000u | df_opaque);
}

// ---- Error-free transformations ------------------------------------------------------------------------

// Knuth's TwoSum: s + e == a + b exactly, s = fl(a + b), for any a, b (6 additions, no branch).
fn two_sum(a: f32, b: f32) -> vec2<f32> {
  let s = df_fence(a + b);
  let bv = s - a;
  let av = s - bv;
  return vec2<f32>(s, (a - av) + (b - bv));
}

// Dekker's Fast2Sum: s + e == a + b exactly, provided |a| >= |b| (or a == 0).
fn fast_two_sum(a: f32, b: f32) -> vec2<f32> {
  let s = df_fence(a + b);
  return vec2<f32>(s, b - (s - a));
}

// Dekker's split: a == hi + lo with hi and lo of at most 12 significant bits each (C = 2^12 + 1).
fn df_split(a: f32) -> vec2<f32> {
  let c = df_fence(4097.0 * a);
  let hi = c - (c - a);
  return vec2<f32>(hi, a - hi);
}

// Dekker's TwoProduct (mul12): p + e == a * b exactly, p = fl(a * b). The partial products of the split halves
// are exact, so contracting them into fma changes nothing; only p and the split are fenced.
fn two_prod(a: f32, b: f32) -> vec2<f32> {
  let p = df_fence(a * b);
  let x = df_split(a);
  let y = df_split(b);
  let e = ((x.x * y.x - p) + x.x * y.y + x.y * y.x) + x.y * y.y;
  return vec2<f32>(p, e);
}

// ---- Basic arithmetic ----------------------------------------------------------------------------------

// a + b, JMP AccurateDWPlusDW (Algorithm 6): relative error <= 3u^2 + 13u^3 even under cancellation.
fn df_add(a: vec2<f32>, b: vec2<f32>) -> vec2<f32> {
  let s = two_sum(a.x, b.x);
  let t = two_sum(a.y, b.y);
  let v = fast_two_sum(s.x, s.y + t.x);
  return fast_two_sum(v.x, t.y + v.y);
}

// a - b (unary minus of a df is exact).
fn df_sub(a: vec2<f32>, b: vec2<f32>) -> vec2<f32> {
  return df_add(a, -b);
}

// a + b for an f32 b, JMP DWPlusFP (Algorithm 4): relative error <= 2u^2.
fn df_add_f(a: vec2<f32>, b: f32) -> vec2<f32> {
  let s = two_sum(a.x, b);
  return fast_two_sum(s.x, a.y + s.y);
}

// a * b for an f32 b, JMP DWTimesFP1 (Algorithm 7): relative error <= 1.5u^2 + 4u^3.
fn df_mul_f(a: vec2<f32>, b: f32) -> vec2<f32> {
  let c = two_prod(a.x, b);
  let t = fast_two_sum(c.x, a.y * b);
  return fast_two_sum(t.x, t.y + c.y);
}

// a * b, JMP DWTimesDW1 (Algorithm 10, Dekker's mul2 with a final Fast2Sum): relative error a small multiple
// of u^2 (at most 2^-46.4 over 20000 random products on SwiftShader, mostly the rounding of the two cross
// products; adding a.y * b.y does not change it). The cross products may be contracted: that only helps.
fn df_mul(a: vec2<f32>, b: vec2<f32>) -> vec2<f32> {
  let c = two_prod(a.x, b.x);
  let cross = a.x * b.y + a.y * b.x;
  return fast_two_sum(c.x, c.y + cross);
}

// a / b. q1 = a.hi * (1 / b.hi) is good to a few f32 ulps whatever the division's accuracy; two correction
// steps q_{i+1} = (a - b (q1 + ... + q_i)).hi / b.hi, each residual computed in df (DWTimesFP1, then the
// accurate df subtraction, which is nearly exact since the residual is small), leave an error of a few u^2
// (the rounding of the first residual's product and of the final sum). b == 0 gives a non-finite hi:
// +-inf with the sign of a / b, NaN for 0 / 0.
fn df_div(a: vec2<f32>, b: vec2<f32>) -> vec2<f32> {
  let r = 1.0 / b.x;
  let q1 = a.x * r;
  let rem1 = df_sub(a, df_mul_f(b, q1));
  let q2 = rem1.x * r;
  let rem2 = df_sub(rem1, df_mul_f(b, q2));
  let q3 = rem2.x * r;
  let q = df_add_f(fast_two_sum(q1, q2), q3);
  let sgn = (bitcast<u32>(a.x) ^ bitcast<u32>(b.x)) & 0x80000000u;
  let special = bitcast<f32>(select(0x7f800000u, 0x7fc00000u, a.x == 0.0) | sgn | df_opaque);
  return select(q, vec2<f32>(special, 0.0), b.x == 0.0);
}

// a * 2^k, exact for normal results; in two steps so that k up to +-252 never builds an out-of-range 2^k.
fn df_ldexp(a: vec2<f32>, k: i32) -> vec2<f32> {
  let k1 = k / 2;
  return ldexp(ldexp(a, vec2<i32>(k1)), vec2<i32>(k - k1));
}

// ---- Comparisons and selection (normalized operands: compare hi, then lo) ------------------------------
// Non-short-circuit & and | keep these branch-free.

fn df_lt(a: vec2<f32>, b: vec2<f32>) -> bool {
  return (a.x < b.x) | ((a.x == b.x) & (a.y < b.y));
}

fn df_le(a: vec2<f32>, b: vec2<f32>) -> bool {
  return (a.x < b.x) | ((a.x == b.x) & (a.y <= b.y));
}

fn df_gt(a: vec2<f32>, b: vec2<f32>) -> bool {
  return df_lt(b, a);
}

fn df_ge(a: vec2<f32>, b: vec2<f32>) -> bool {
  return df_le(b, a);
}

fn df_abs(a: vec2<f32>) -> vec2<f32> {
  return select(a, -a, a.x < 0.0);
}

// (sign(hi), 0): -1, 0 or 1 (a normalized df with hi == 0 is zero).
fn df_sign(a: vec2<f32>) -> vec2<f32> {
  return vec2<f32>(sign(a.x), 0.0);
}

fn df_min(a: vec2<f32>, b: vec2<f32>) -> vec2<f32> {
  return select(b, a, df_lt(a, b));
}

fn df_max(a: vec2<f32>, b: vec2<f32>) -> vec2<f32> {
  return select(b, a, df_gt(a, b));
}

// ---- exp, expm1 ---------------------------------------------------------------------------------------
// exp(a) = 2^k exp(r), k = round(a / ln 2), r = a - k ln 2 (|r| <= ln(2)/2). ln 2 is a triple-f32 constant
// (72 bits): k has at most 8 bits, so k * LN2_1 and k * LN2_2 are computed exactly (two_prod) and subtracted
// from a with the accurate df subtraction, whose error is relative to the small result r; k * LN2_3 only
// needs f32. Then expm1(r) by its Taylor series to r^13 (the next term is < 2^-56 relative): the terms from
// r^8 on are below 2^-26 of the sum and are evaluated in f32, the rest by Horner's rule in df.

const DF_LN2_1: f32 = 0.6931471824645996;
const DF_LN2_2: f32 = -1.9046542121259336e-9;
const DF_LN2_3: f32 = -8.78318373858934e-17;
const DF_INV_LN2: f32 = 1.4426950216293335;
// Above this exp overflows f32 (ln of the largest f32 is 88.7228391); below DF_EXP_UNDER the result is not a
// normal f32 (ln of the smallest normal f32 is -87.3365448).
const DF_EXP_OVER: f32 = 88.72284;
const DF_EXP_UNDER: f32 = -87.33654;

// a - k ln 2 for an integral k (|k| <= 2^8).
fn df_reduce_ln2(a: vec2<f32>, k: f32) -> vec2<f32> {
  let r = df_sub(df_sub(a, two_prod(k, DF_LN2_1)), two_prod(k, DF_LN2_2));
  return df_add_f(r, -k * DF_LN2_3);
}

// expm1(r) for |r| <= 0.35 (relative error a few u^2).
fn df_expm1_taylor(r: vec2<f32>) -> vec2<f32> {
  let x = r.x;
  // 1/8! + x/9! + ... + x^5/13!, f32.
  let tail = 2.4801587642286904e-5 + x * (2.7557318844628753e-6 + x * (2.755731998149713e-7
    + x * (2.5052107943679403e-8 + x * (2.0876755879584152e-9 + x * 1.6059044372074283e-10))));
  var p = df_add_f(vec2<f32>(1.9841270113829523e-4, -2.725596874933456e-12), x * tail); // 1/7! + ...
  p = df_add(vec2<f32>(1.3888889225199819e-3, -3.3631094437103215e-11), df_mul(r, p));  // 1/6!
  p = df_add(vec2<f32>(8.333333767950535e-3, -4.34617203337595e-10), df_mul(r, p));     // 1/5!
  p = df_add(vec2<f32>(4.16666679084301e-2, -1.2417634698280722e-9), df_mul(r, p));     // 1/4!
  p = df_add(vec2<f32>(1.666666716337204e-1, -4.967053879312289e-9), df_mul(r, p));     // 1/3!
  p = df_add_f(df_mul(r, p), 0.5);                                                       // 1/2!
  p = df_add_f(df_mul(r, p), 1.0);
  return df_mul(r, p);
}

// The argument clamped to +-90 (beyond, exp is selected as inf or 0 anyway; keeps k in range).
fn df_exp_arg(a: vec2<f32>) -> vec2<f32> {
  return select(a, vec2<f32>(clamp(a.x, -90.0, 90.0), 0.0), abs(a.x) > 90.0);
}

// exp(a): relative error about 2^-47 for results >= 2^-100; +inf for a > 88.72284, 0 for a < -87.33654.
fn df_exp(a: vec2<f32>) -> vec2<f32> {
  let x = df_exp_arg(a);
  let k = round(x.x * DF_INV_LN2);
  let v = df_ldexp(df_add_f(df_expm1_taylor(df_reduce_ln2(x, k)), 1.0), i32(k));
  return select(select(v, vec2<f32>(0.0), a.x < DF_EXP_UNDER), vec2<f32>(df_inf(), 0.0), a.x > DF_EXP_OVER);
}

// exp(a) - 1, accurate relative to the result also near 0 (k = 0: the Taylor value itself). With
// e = expm1(r): for k <= 0, 2^k e + (2^k - 1); for k > 0, 2^k (e + (1 - 2^-k)); the power-of-two terms are
// exact in df (two_sum) and never overflow. +inf for a > 88.72284, -1 for a < -87.33654.
fn df_expm1(a: vec2<f32>) -> vec2<f32> {
  let x = df_exp_arg(a);
  let k = round(x.x * DF_INV_LN2);
  let e = df_expm1_taylor(df_reduce_ln2(x, k));
  let kp = max(i32(k), 0);
  let kn = min(i32(k), 0);
  let up = df_ldexp(df_add(e, two_sum(1.0, -ldexp(1.0, -kp))), kp);
  let down = df_add(df_ldexp(e, kn), two_sum(ldexp(1.0, kn), -1.0));
  let v = select(down, up, kp > 0);
  return select(select(v, vec2<f32>(-1.0, 0.0), a.x < DF_EXP_UNDER), vec2<f32>(df_inf(), 0.0), a.x > DF_EXP_OVER);
}

// ---- cos ----------------------------------------------------------------------------------------------
// cos(a) = cos(k pi/2 + r), k = round(a * 2/pi), |r| <= pi/4 (+ a hair from the f32 rounding of a * 2/pi).
// pi/2 is a triple-f32 constant; for |a| <= 64, |k| <= 41 and the reduction is as in df_reduce_ln2.
// sin r and cos r by their Taylor series in z = r^2 (to r^15 and r^16; the next terms are below 2^-54): the
// terms below 2^-24 (from z^5 on) in f32, the rest in df; the quadrant k mod 4 selects +-cos r or +-sin r.

const DF_PIO2_1: f32 = 1.5707963705062866;
const DF_PIO2_2: f32 = -4.371138828673793e-8;
const DF_PIO2_3: f32 = -1.7151245100058819e-15;
const DF_2OPI: f32 = 0.6366197466850281;

// cos(r) for |r| <= pi/4 + 2^-10, given z = r^2.
fn df_cos_taylor(z: vec2<f32>) -> vec2<f32> {
  let x = z.x;
  // -1/10! + z/12! - z^2/14! + z^3/16!, f32.
  let tail = -2.755731998149713e-7 + x * (2.0876755879584152e-9 + x * (-1.147074536050896e-11
    + x * 4.7794772561329454e-14));
  var p = df_add_f(vec2<f32>(2.4801587642286904e-5, -3.40699609366682e-13), x * tail); // 1/8!
  p = df_add(vec2<f32>(-1.3888889225199819e-3, 3.3631094437103215e-11), df_mul(z, p)); // -1/6!
  p = df_add(vec2<f32>(4.16666679084301e-2, -1.2417634698280722e-9), df_mul(z, p));    // 1/4!
  p = df_add_f(df_mul(z, p), -0.5);
  return df_add_f(df_mul(z, p), 1.0);
}

// sin(r) for |r| <= pi/4 + 2^-10, given z = r^2.
fn df_sin_taylor(r: vec2<f32>, z: vec2<f32>) -> vec2<f32> {
  let x = z.x;
  // -1/11! + z/13! - z^2/15!, f32.
  let tail = -2.5052107943679403e-8 + x * (1.6059044372074283e-10 + x * -7.647163609812713e-13);
  var p = df_add_f(vec2<f32>(2.7557318844628753e-6, 3.793571224297229e-14), x * tail);  // 1/9!
  p = df_add(vec2<f32>(-1.9841270113829523e-4, 2.725596874933456e-12), df_mul(z, p));  // -1/7!
  p = df_add(vec2<f32>(8.333333767950535e-3, -4.34617203337595e-10), df_mul(z, p));    // 1/5!
  p = df_add(vec2<f32>(-1.666666716337204e-1, 4.967053879312289e-9), df_mul(z, p));    // -1/3!
  p = df_add_f(df_mul(z, p), 1.0);
  return df_mul(r, p);
}

// cos(a) for |a| <= 64: absolute error a few u^2 (about 2^-47 measured).
fn df_cos(a: vec2<f32>) -> vec2<f32> {
  let k = round(a.x * DF_2OPI);
  let r = df_add_f(df_sub(df_sub(a, two_prod(k, DF_PIO2_1)), two_prod(k, DF_PIO2_2)), -k * DF_PIO2_3);
  let z = df_mul(r, r);
  let c = df_cos_taylor(z);
  let s = df_sin_taylor(r, z);
  let q = i32(k) & 3;  // two's complement: also right for negative k
  let v = select(c, s, (q & 1) == 1);
  return select(v, -v, (q == 1) | (q == 2));
}

// ---- tanh ---------------------------------------------------------------------------------------------

// tanh(clamp(a, -20, 20)) as the f32 kernels' tanh_safe: with m = expm1(-2|x|), tanh|x| = -m / (2 + m), which
// has no cancellation anywhere (expm1 is accurate near 0, 2 + m is in [1, 2]). Relative error about 2^-46.
fn df_tanh_safe(a: vec2<f32>) -> vec2<f32> {
  let x = df_min(df_max(a, vec2<f32>(-20.0, 0.0)), vec2<f32>(20.0, 0.0));
  let m = df_expm1(-2.0 * df_abs(x));
  let t = df_div(-m, df_add_f(m, 2.0));
  return select(t, -t, x.x < 0.0);
}

// ---- Atrial activation --------------------------------------------------------------------------------
// activation.ts wrappingCosine (ClosedLoopHeartAndPulmonary, Sankaran 2012) in df, with the f64 function's
// operations, order and comparisons:
//   Tsa = T tsaFrac, tp = T / tpwaveDiv
//   tc <= tp                          : 0.5 (1 - cos(2 pi (tc - tp + Tsa) / Tsa))
//   tc >= T - Tsa + tp and tc < T     : 0.5 (1 - cos(2 pi (tc - tp - (T - Tsa)) / Tsa))
//   otherwise                         : 0
// Branch-free: the branch selects the cosine's argument, then one df_cos.

const DF_2PI_HI: f32 = 6.2831854820251465;
const DF_2PI_LO: f32 = -1.7484555314695172e-7;

// The cosine argument (xy, df) and the branch taken (z: 1 for tc <= tp, 2 for the wrapped beat, 0: none).
fn df_wrapping_cosine_phase(tc: vec2<f32>, T: vec2<f32>, tsaFrac: vec2<f32>, tpwaveDiv: vec2<f32>) -> vec3<f32> {
  let Tsa = df_mul(T, tsaFrac);
  let tp = df_div(T, tpwaveDiv);
  let TmTsa = df_sub(T, Tsa);
  let early = df_le(tc, tp);
  let late = df_ge(tc, df_add(TmTsa, tp)) & df_lt(tc, T);
  let d = df_sub(tc, tp);
  let num = select(df_sub(d, TmTsa), df_add(d, Tsa), early);
  let theta = df_div(df_mul(vec2<f32>(DF_2PI_HI, DF_2PI_LO), num), Tsa);
  return vec3<f32>(theta, select(select(0.0, 2.0, late), 1.0, early));
}

fn df_wrapping_cosine(tc: vec2<f32>, T: vec2<f32>, tsaFrac: vec2<f32>, tpwaveDiv: vec2<f32>) -> vec2<f32> {
  let phase = df_wrapping_cosine_phase(tc, T, tsaFrac, tpwaveDiv);
  let v = 0.5 * df_sub(vec2<f32>(1.0, 0.0), df_cos(phase.xy));
  return select(vec2<f32>(0.0), v, phase.z != 0.0);
}
