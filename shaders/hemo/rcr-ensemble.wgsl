// RCR ensemble: one variant per invocation, f32 state, one dispatch per cardiac cycle (or steady start).
// Per step (generalized-alpha, exact solve of the linear Pc equation, see ensemble-rcr.cpu.ts):
//   a = (Rd Q_af + Pd - Pc - k1 dPc) / k0;  Pc += dt ((1 - gamma) dPc + gamma a);  dPc = a
// and, from step `statsFrom` on, sums/min/max of P_in = Pc + (Rp + R) Q, P_out = Pc + Rp Q, Pc.

struct Params {
  n: u32,
  driveOffset: u32,   // index of this dispatch's first step in the drive arrays
  steps: u32,         // steps in this dispatch
  firstStep: u32,     // global (1-based) unsteady step index of the first step; 0 in the steady start
  statsFrom: u32,     // first global step whose state enters the statistics (0xffffffff: none)
  steady: u32,        // 1: steady start (C = 0)
  dt: f32,
  alphaM: f32,
  alphaF: f32,
  gamma: f32,
};

@group(0) @binding(0) var<uniform> P: Params;
@group(0) @binding(1) var<storage, read> variant: array<f32>;   // R, Rp, C, Rd, Pd per variant
@group(0) @binding(2) var<storage, read> drive: array<f32>;     // Q_af, Q_next per step
@group(0) @binding(3) var<storage, read_write> state: array<f32>; // Pc, dPc per variant
@group(0) @binding(4) var<storage, read_write> stats: array<f32>; // 9 per variant

@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
  let v = gid.x;
  if (v >= P.n) { return; }
  let R = variant[v * 5u];
  let Rp = variant[v * 5u + 1u];
  var C = variant[v * 5u + 2u];
  let Rd = variant[v * 5u + 3u];
  let Pd = variant[v * 5u + 4u];
  if (P.steady == 1u) { C = 0.0; }
  let g1 = 1.0 - P.gamma;
  let RdC = Rd * C;
  let inv = 1.0 / (P.alphaF * P.gamma * P.dt + RdC * P.alphaM);
  let k1 = P.alphaF * g1 * P.dt + RdC * (1.0 - P.alphaM);
  var pc = state[v * 2u];
  var pcd = state[v * 2u + 1u];
  let o = v * 9u;
  var sIn = stats[o]; var lIn = stats[o + 1u]; var hIn = stats[o + 2u];
  var sOut = stats[o + 3u]; var lOut = stats[o + 4u]; var hOut = stats[o + 5u];
  var sC = stats[o + 6u]; var lC = stats[o + 7u]; var hC = stats[o + 8u];
  for (var i = 0u; i < P.steps; i++) {
    let k = P.driveOffset + i;
    let a = (Rd * drive[2u * k] + Pd - pc - k1 * pcd) * inv;
    pc = pc + P.dt * (g1 * pcd + P.gamma * a);
    pcd = a;
    if (P.steady == 0u && P.firstStep + i >= P.statsFrom) {
      let q = drive[2u * k + 1u];
      let po = pc + Rp * q;
      let pi = po + R * q;
      sIn += pi; lIn = min(lIn, pi); hIn = max(hIn, pi);
      sOut += po; lOut = min(lOut, po); hOut = max(hOut, po);
      sC += pc; lC = min(lC, pc); hC = max(hC, pc);
    }
  }
  state[v * 2u] = pc;
  state[v * 2u + 1u] = pcd;
  stats[o] = sIn; stats[o + 1u] = lIn; stats[o + 2u] = hIn;
  stats[o + 3u] = sOut; stats[o + 4u] = lOut; stats[o + 5u] = hOut;
  stats[o + 6u] = sC; stats[o + 7u] = lC; stats[o + 8u] = hC;
}
