import type { RcrProblem, RcrStats } from './ensemble-rcr.js';

/**
 * Batched RCR ensemble on the CPU (f64). Per variant, generalized-alpha for
 * C dPc/dt = Q - (Pc - Pd)/Rd with Q given (algebraic) reduces to the exact solve of one linear equation
 * for a = dPc/dt at t_{n+1}:
 *   a = (Rd Q_af + Pd - Pc_n - k1 dPc_n) * inv,  inv = 1 / (alpha_f gamma dt + Rd C alpha_m),
 *   k1 = alpha_f (1 - gamma) dt + Rd C (1 - alpha_m),  Pc_{n+1} = Pc_n + dt ((1 - gamma) dPc_n + gamma a),
 * then P_out = Pc + Rp Q and P_in = P_out + R Q. The steady start uses C = 0 and dt = T/10.
 *
 * Each step is a serial chain of dependent floating-point operations, so one variant at a time is
 * latency-bound. The transient (every step before the summarised last cycle) advances four variants at
 * once in registers, which lets the CPU overlap their chains (measured about 2x per extra interleaved
 * variant on this machine); the summarised steps run per variant.
 * Returns statistics of P_in, P_out, Pc over the last cycle: sum, min, max (stride 9), written into `stats` for
 * variants `from` to `to` - 1 (the caller runs slices of variants between checks for cancellation).
 */
export function rcrEnsembleCpu(p: RcrProblem, stats = new Float64Array(p.n * 9), from = 0, to = p.n): RcrStats {
  const { params, qAf, qNext, alphaM, alphaF, gamma } = p;
  const g1 = 1 - gamma;
  const firstStat = p.firstSummaryStep;
  const off = p.steadySteps;
  const dt = p.dt;
  const h = p.dtSteady;
  const first = Math.max(1, firstStat);
  // State after the steady start and the transient, per variant of this slice (index v - from: the caller runs
  // slices of a few variants, and arrays of all n per slice made the run's allocations grow as n^2).
  const m = Math.max(0, to - from);
  const pcA = new Float64Array(m);
  const pcdA = new Float64Array(m);
  const invA = new Float64Array(m);
  const k1A = new Float64Array(m);
  for (let v = from; v < to; v++) {
    const RdC = params[v * 5 + 3]! * params[v * 5 + 2]!;
    invA[v - from] = 1 / (alphaF * gamma * dt + RdC * alphaM);
    k1A[v - from] = alphaF * g1 * dt + RdC * (1 - alphaM);
  }
  const k0s = 1 / (alphaF * gamma * h);
  const k1s = alphaF * g1 * h;
  // Steady start (C = 0) and transient for variants v..v+3 (lanes past `to` repeat the last variant).
  for (let v = from; v < to; v += 4) {
    const i0 = v;
    const i1 = Math.min(v + 1, to - 1);
    const i2 = Math.min(v + 2, to - 1);
    const i3 = Math.min(v + 3, to - 1);
    const rd0 = params[i0 * 5 + 3]!, rd1 = params[i1 * 5 + 3]!, rd2 = params[i2 * 5 + 3]!, rd3 = params[i3 * 5 + 3]!;
    const pd0 = params[i0 * 5 + 4]!, pd1 = params[i1 * 5 + 4]!, pd2 = params[i2 * 5 + 4]!, pd3 = params[i3 * 5 + 4]!;
    let x0 = p.pc0, x1 = p.pc0, x2 = p.pc0, x3 = p.pc0;
    let d0 = p.pcDot0, d1 = p.pcDot0, d2 = p.pcDot0, d3 = p.pcDot0;
    for (let s = 0; s < off; s++) {
      const qa = qAf[s]!;
      const a0 = (rd0 * qa + pd0 - x0 - k1s * d0) * k0s;
      const a1 = (rd1 * qa + pd1 - x1 - k1s * d1) * k0s;
      const a2 = (rd2 * qa + pd2 - x2 - k1s * d2) * k0s;
      const a3 = (rd3 * qa + pd3 - x3 - k1s * d3) * k0s;
      x0 += h * (g1 * d0 + gamma * a0);
      x1 += h * (g1 * d1 + gamma * a1);
      x2 += h * (g1 * d2 + gamma * a2);
      x3 += h * (g1 * d3 + gamma * a3);
      d0 = a0;
      d1 = a1;
      d2 = a2;
      d3 = a3;
    }
    const n0 = invA[i0 - from]!, n1 = invA[i1 - from]!, n2 = invA[i2 - from]!, n3 = invA[i3 - from]!;
    const c0 = k1A[i0 - from]!, c1 = k1A[i1 - from]!, c2 = k1A[i2 - from]!, c3 = k1A[i3 - from]!;
    for (let i = 1; i < first; i++) {
      const qa = qAf[off + i - 1]!;
      const a0 = (rd0 * qa + pd0 - x0 - c0 * d0) * n0;
      const a1 = (rd1 * qa + pd1 - x1 - c1 * d1) * n1;
      const a2 = (rd2 * qa + pd2 - x2 - c2 * d2) * n2;
      const a3 = (rd3 * qa + pd3 - x3 - c3 * d3) * n3;
      x0 += dt * (g1 * d0 + gamma * a0);
      x1 += dt * (g1 * d1 + gamma * a1);
      x2 += dt * (g1 * d2 + gamma * a2);
      x3 += dt * (g1 * d3 + gamma * a3);
      d0 = a0;
      d1 = a1;
      d2 = a2;
      d3 = a3;
    }
    // Lanes are written in reverse so that a duplicated last variant keeps its own (identical) values.
    pcA[i3 - from] = x3;
    pcdA[i3 - from] = d3;
    pcA[i2 - from] = x2;
    pcdA[i2 - from] = d2;
    pcA[i1 - from] = x1;
    pcdA[i1 - from] = d1;
    pcA[i0 - from] = x0;
    pcdA[i0 - from] = d0;
  }
  // Summarised steps, per variant.
  for (let v = from; v < to; v++) {
    const R = params[v * 5]!;
    const Rp = params[v * 5 + 1]!;
    const Rd = params[v * 5 + 3]!;
    const Pd = params[v * 5 + 4]!;
    const inv = invA[v - from]!;
    const k1 = k1A[v - from]!;
    let pc = pcA[v - from]!;
    let pcd = pcdA[v - from]!;
    let sIn = 0;
    let sOut = 0;
    let sC = 0;
    let lIn = Infinity;
    let lOut = Infinity;
    let lC = Infinity;
    let hIn = -Infinity;
    let hOut = -Infinity;
    let hC = -Infinity;
    if (firstStat === 0) {
      const q = p.q0;
      const po = pc + Rp * q;
      const pi = po + R * q;
      sIn = lIn = hIn = pi;
      sOut = lOut = hOut = po;
      sC = lC = hC = pc;
    }
    for (let i = first; i <= p.steps; i++) {
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
  return { stats, count: p.steps - first + 1 + (firstStat === 0 ? 1 : 0) };
}
