// General 0D ensemble: one variant per invocation, one dispatch per cardiac cycle (or the steady start).
// This file is the skeleton; packages/hemo/src/ensemble-general.codegen.ts fills the `// @insert` lines
// with code generated for one model (its unknowns, the block equations present, the Newton matrix pattern
// and a static pivot order), so every loop over unknowns, matrix entries and LU steps is unrolled into
// straight-line code on scalars. Reals are `R`: f32, or double-float pairs vec2<f32> (hi, lo) with the
// library of shaders/hemo/double-float.wgsl inserted as the prelude.
// Per step, the CPU solver's scheme (solver.ts, svZeroDSolver Integrator.cpp; differences in f32 kernels:
// the convergence test at each equation's rounding scale, at least one Newton update, closed ideal valves'
// leftover flow set to 0 at convergence, see ensemble-general.codegen.ts): predictor
// ydot = (1 - 1/gamma) ydot_n, y = y_n; Newton on the residual at t_n + alpha_f dt with y_af, ydot_am;
// J = alpha_m (E + dC/dydot) + alpha_f gamma dt (F + dC/dy); J dx = r; ydot += dx; y += gamma dt dx.

// @insert prelude

// Field order: KERNEL_PARAM_U32 then KERNEL_PARAM_REAL of packages/hemo/src/ensemble-schedule.ts.
struct Params {
  n: u32,           // variants
  steps: u32,       // steps in this dispatch
  stepOffset: u32,  // index of this dispatch's first step in the drive table (steady steps first)
  firstStep: u32,   // global 1-based unsteady step index of the first step (0 in the steady start)
  statsFrom: u32,   // first unsteady step whose state enters the statistics (0: the initial state too)
  steady: u32,      // 1: steady start (its constants, series at their means)
  maxIter: u32,     // Newton iterations (maximum_nonlinear_iterations)
  opaque: u32,      // always 0: the double-float library's fence value (unknown to the compiler)
  alphaM: R,
  alphaF: R,
  atol: R,          // absolute_tolerance
  period: R,        // cardiac period T (s)
  c0: R,            // 1 - 1/gamma (predictor), computed in f64 on the host as the CPU does
  yc: R,            // gamma dt
  jy: R,            // alpha_f gamma dt
};

@group(0) @binding(0) var<uniform> P: Params;
@group(0) @binding(1) var<storage, read> vpar: array<R>;           // per-variant parameter values
@group(0) @binding(2) var<storage, read> cst: array<R>;            // per-phase, per-variant constant E/F entries
@group(0) @binding(3) var<storage, read> drive: array<R>;          // per step: shared time-dependent values
@group(0) @binding(4) var<storage, read_write> state: array<R>;    // y then ydot, per variant
@group(0) @binding(5) var<storage, read_write> stats: array<R>;    // sum, min, max per output, then split sums
@group(0) @binding(6) var<storage, read_write> status: array<u32>; // code, step, row, |residual| bits

// Atrial activation of ClosedLoopHeartAndPulmonary (Sankaran 2012; activation.ts wrappingCosine), f32 kernels.
fn wrapping_cosine(tc: f32, T: f32, tsaFrac: f32, tpwaveDiv: f32) -> f32 {
  let Tsa = T * tsaFrac;
  let tp = T / tpwaveDiv;
  // Branch-free (selects, non-short-circuit &): SwiftShader compiles every branch of a loop body into
  // masked code for all live values, which makes branchy straight-line kernels very slow to compile.
  let early = 0.5 * (1.0 - cos(6.283185307179586 * (tc - tp + Tsa) / Tsa));
  let late = 0.5 * (1.0 - cos(6.283185307179586 * (tc - tp - (T - Tsa)) / Tsa));
  return select(select(0.0, late, (tc >= T - Tsa + tp) & (tc < T)), early, tc <= tp);
}

// f32 kernels: tanh on an argument clamped to [-20, 20]: tanh(20) rounds to 1 in f32, and some implementations
// evaluate tanh through exp and return NaN for large arguments (ValveTanh steepness * dP reaches 1e4).
fn tanh_safe(x: f32) -> f32 {
  return tanh(clamp(x, -20.0, 20.0));
}

// Records why a variant stopped; later dispatches skip it. code 1: Newton did not converge (or the
// residual is not finite); 2: the static pivot order failed (a zero pivot or a multiplier above 2^-6 / u);
// 3 (double-float): a decision the kernel cannot take as f64 would, within its rounding (a closed ideal
// valve's leftover flow). The host re-runs such a variant with the f64 CPU solver. `step` indexes the drive table; `res` is |r| (the
// high part in double-float).
fn fail(v: u32, code: u32, step: u32, row: u32, res: f32) {
  status[v * 4u] = code;
  status[v * 4u + 1u] = step;
  status[v * 4u + 2u] = row;
  status[v * 4u + 3u] = bitcast<u32>(res);
}

@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
  let v = gid.x;
  if (v >= P.n) { return; }
  if (status[v * 4u] != 0u) { return; }
  // @insert init
  let c0 = P.c0;
  let yc = P.yc;
  let jy = P.jy;
  // Only y, ydot and the statistics are carried across iterations and steps; every other value is a
  // `let` of the scope that computes it (far fewer loop-carried values to compile on SwiftShader).
  // @insert load
  if (P.steady == 0u && P.firstStep == 1u && P.statsFrom == 0u) {
    // @insert stats
  }
  var code = 0u;
  var fstep = 0u;
  var frow = 0u;
  var fres = 0.0;
  for (var i = 0u; i < P.steps; i++) {
    let k = P.stepOffset + i;
    // @insert time
    // @insert predictor
    for (var it = 0u; it < P.maxIter; it++) {
      // @insert newton
    }
    if (code != 0u) {
      fstep = k;
      break;
    }
    if (P.steady == 0u && P.firstStep + i >= P.statsFrom) {
      // @insert stats
    }
  }
  if (code != 0u) {
    fail(v, code, fstep, frow, fres);
    return;
  }
  // @insert store
}
