import type { RcrProblem, RcrStats } from './ensemble.js';

/** Variants advanced together: independent recurrences let the CPU overlap their latency chains. */
const CHUNK = 256;

/**
 * Batched RCR ensemble on the CPU (f64). Per variant, generalized-alpha for
 * C dPc/dt = Q - (Pc - Pd)/Rd with Q given (algebraic) reduces to the exact solve of one linear equation
 * for a = dPc/dt at t_{n+1}:
 *   a = (Rd Q_af + Pd - Pc_n - k1 dPc_n) / k0,  k0 = alpha_f gamma dt + Rd C alpha_m,
 *   k1 = alpha_f (1 - gamma) dt + Rd C (1 - alpha_m),  Pc_{n+1} = Pc_n + dt ((1 - gamma) dPc_n + gamma a),
 * then P_out = Pc + Rp Q and P_in = P_out + R Q. The steady start uses C = 0 and dt = T/10.
 * Variants run in chunks of 256, structure of arrays, time steps outermost: each step's recurrence is a
 * serial chain per variant, so interleaving variants keeps the floating-point units busy.
 * Returns statistics of P_in, P_out, Pc over the last cycle: sum, min, max (stride 9).
 */
export function rcrEnsembleCpu(p: RcrProblem): RcrStats {
  const { n, params, qAf, qNext, alphaM, alphaF, gamma } = p;
  const stats = new Float64Array(n * 9);
  const g1 = 1 - gamma;
  const from = p.firstSummaryStep;
  const off = p.steadySteps;
  const steps = p.steps;
  const dt = p.dt;
  const h = p.dtSteady;
  const pc = new Float64Array(CHUNK);
  const pcd = new Float64Array(CHUNK);
  const Rd = new Float64Array(CHUNK);
  const Pd = new Float64Array(CHUNK);
  const R = new Float64Array(CHUNK);
  const Rp = new Float64Array(CHUNK);
  const inv = new Float64Array(CHUNK);
  const k1 = new Float64Array(CHUNK);
  const st = new Float64Array(CHUNK * 9);
  const k0s = 1 / (alphaF * gamma * h);
  const k1s = alphaF * g1 * h;
  for (let c0 = 0; c0 < n; c0 += CHUNK) {
    const m = Math.min(CHUNK, n - c0);
    for (let j = 0; j < m; j++) {
      const b = (c0 + j) * 5;
      R[j] = params[b]!;
      Rp[j] = params[b + 1]!;
      Rd[j] = params[b + 3]!;
      Pd[j] = params[b + 4]!;
      const RdC = params[b + 3]! * params[b + 2]!;
      inv[j] = 1 / (alphaF * gamma * dt + RdC * alphaM);
      k1[j] = alphaF * g1 * dt + RdC * (1 - alphaM);
      pc[j] = p.pc0;
      pcd[j] = p.pcDot0;
    }
    // Steady start: C = 0.
    for (let s = 0; s < off; s++) {
      const qa = qAf[s]!;
      for (let j = 0; j < m; j++) {
        const a = (Rd[j]! * qa + Pd[j]! - pc[j]! - k1s * pcd[j]!) * k0s;
        pc[j] = pc[j]! + h * (g1 * pcd[j]! + gamma * a);
        pcd[j] = a;
      }
    }
    for (let j = 0; j < m; j++) {
      const o = 9 * j;
      if (from === 0) {
        const q = p.q0;
        const po = pc[j]! + Rp[j]! * q;
        const pi = po + R[j]! * q;
        st[o] = st[o + 1] = st[o + 2] = pi;
        st[o + 3] = st[o + 4] = st[o + 5] = po;
        st[o + 6] = st[o + 7] = st[o + 8] = pc[j]!;
      } else {
        st[o] = st[o + 3] = st[o + 6] = 0;
        st[o + 1] = st[o + 4] = st[o + 7] = Infinity;
        st[o + 2] = st[o + 5] = st[o + 8] = -Infinity;
      }
    }
    const first = Math.max(1, from);
    // Transient steps: no statistics.
    for (let i = 1; i < first; i++) {
      const qa = qAf[off + i - 1]!;
      for (let j = 0; j < m; j++) {
        const a = (Rd[j]! * qa + Pd[j]! - pc[j]! - k1[j]! * pcd[j]!) * inv[j]!;
        pc[j] = pc[j]! + dt * (g1 * pcd[j]! + gamma * a);
        pcd[j] = a;
      }
    }
    for (let i = first; i <= steps; i++) {
      const k = off + i - 1;
      const qa = qAf[k]!;
      const q = qNext[k]!;
      for (let j = 0; j < m; j++) {
        const a = (Rd[j]! * qa + Pd[j]! - pc[j]! - k1[j]! * pcd[j]!) * inv[j]!;
        const x = pc[j]! + dt * (g1 * pcd[j]! + gamma * a);
        pc[j] = x;
        pcd[j] = a;
        const po = x + Rp[j]! * q;
        const pi = po + R[j]! * q;
        const o = 9 * j;
        st[o] = st[o]! + pi;
        st[o + 1] = Math.min(st[o + 1]!, pi);
        st[o + 2] = Math.max(st[o + 2]!, pi);
        st[o + 3] = st[o + 3]! + po;
        st[o + 4] = Math.min(st[o + 4]!, po);
        st[o + 5] = Math.max(st[o + 5]!, po);
        st[o + 6] = st[o + 6]! + x;
        st[o + 7] = Math.min(st[o + 7]!, x);
        st[o + 8] = Math.max(st[o + 8]!, x);
      }
    }
    stats.set(st.subarray(0, 9 * m), 9 * c0);
  }
  return { stats, count: steps - Math.max(1, from) + 1 + (from === 0 ? 1 : 0) };
}
