import type { RcrProblem, RcrStats } from './ensemble.js';

/**
 * Batched RCR ensemble on the CPU (f64). Per variant, generalized-alpha for
 * C dPc/dt = Q - (Pc - Pd)/Rd with Q given (algebraic) reduces to the exact solve of one linear equation
 * for a = dPc/dt at t_{n+1}:
 *   a = (Rd Q_af + Pd - Pc_n - k1 dPc_n) / k0,  k0 = alpha_f gamma dt + Rd C alpha_m,
 *   k1 = alpha_f (1 - gamma) dt + Rd C (1 - alpha_m),  Pc_{n+1} = Pc_n + dt ((1 - gamma) dPc_n + gamma a),
 * then P_out = Pc + Rp Q and P_in = P_out + R Q. The steady start uses C = 0 and dt = T/10.
 * Statistics of P_in, P_out, Pc over the last cycle: sum, min, max (stride 9).
 */
export function rcrEnsembleCpu(p: RcrProblem): RcrStats {
  const { n, params, qAf, qNext, alphaM, alphaF, gamma } = p;
  const stats = new Float64Array(n * 9);
  const g1 = 1 - gamma;
  const from = p.firstSummaryStep;
  const off = p.steadySteps;
  const steps = p.steps;
  const dt = p.dt;
  for (let v = 0; v < n; v++) {
    const R = params[v * 5]!;
    const Rp = params[v * 5 + 1]!;
    const C = params[v * 5 + 2]!;
    const Rd = params[v * 5 + 3]!;
    const Pd = params[v * 5 + 4]!;
    let pc = p.pc0;
    let pcd = p.pcDot0;
    if (off > 0) {
      const h = p.dtSteady;
      const k0 = alphaF * gamma * h;
      const k1 = alphaF * g1 * h;
      for (let s = 0; s < off; s++) {
        const a = (Rd * qAf[s]! + Pd - pc - k1 * pcd) / k0;
        pc += h * (g1 * pcd + gamma * a);
        pcd = a;
      }
    }
    const RdC = Rd * C;
    const inv = 1 / (alphaF * gamma * dt + RdC * alphaM);
    const k1 = alphaF * g1 * dt + RdC * (1 - alphaM);
    let sIn = 0;
    let sOut = 0;
    let sC = 0;
    let lIn = Infinity;
    let lOut = Infinity;
    let lC = Infinity;
    let hIn = -Infinity;
    let hOut = -Infinity;
    let hC = -Infinity;
    if (from === 0) {
      const q = p.q0;
      const po = pc + Rp * q;
      const pi = po + R * q;
      sIn = lIn = hIn = pi;
      sOut = lOut = hOut = po;
      sC = lC = hC = pc;
    }
    // Transient steps: no statistics.
    const last = Math.max(1, from);
    for (let i = 1; i < last; i++) {
      const a = (Rd * qAf[off + i - 1]! + Pd - pc - k1 * pcd) * inv;
      pc += dt * (g1 * pcd + gamma * a);
      pcd = a;
    }
    for (let i = last; i <= steps; i++) {
      const k = off + i - 1;
      const a = (Rd * qAf[k]! + Pd - pc - k1 * pcd) * inv;
      pc += dt * (g1 * pcd + gamma * a);
      pcd = a;
      const q = qNext[k]!;
      const po = pc + Rp * q;
      const pi = po + R * q;
      sIn += pi;
      sOut += po;
      sC += pc;
      if (pi < lIn) lIn = pi;
      if (pi > hIn) hIn = pi;
      if (po < lOut) lOut = po;
      if (po > hOut) hOut = po;
      if (pc < lC) lC = pc;
      if (pc > hC) hC = pc;
    }
    const o = v * 9;
    stats[o] = sIn;
    stats[o + 1] = lIn;
    stats[o + 2] = hIn;
    stats[o + 3] = sOut;
    stats[o + 4] = lOut;
    stats[o + 5] = hOut;
    stats[o + 6] = sC;
    stats[o + 7] = lC;
    stats[o + 8] = hC;
  }
  return { stats, count: steps - Math.max(1, from) + 1 + (from === 0 ? 1 : 0) };
}
