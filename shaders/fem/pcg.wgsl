// Preconditioned CG on the device, f32, for A d = r with A in 3x3 block CSR and a block-Jacobi preconditioner
// (inverse diagonal blocks). The host runs one entry point per step; scalars live in `s` so no step needs a
// read-back: s[0] = r.z, s[1] = p.Ap, s[2] = new r.z, s[3] = r.r, s[4] = iteration count, s[8 + k] = r.r
// after iteration k (the host reads these every few iterations to test convergence).

struct Params {
  nodes: u32,   // block rows
  dofs: u32,    // 3 * nodes
  slot: u32,    // reduce: where the sum goes
  groups: u32,  // dot: workgroups launched (the partial sums to add)
}

const WG: u32 = 256u;
const HISTORY: u32 = 8u;

@group(0) @binding(0) var<uniform> P: Params;
@group(0) @binding(1) var<storage, read> rowPtr: array<u32>;
@group(0) @binding(2) var<storage, read> cols: array<u32>;
@group(0) @binding(3) var<storage, read> vals: array<f32>;
@group(0) @binding(4) var<storage, read_write> va: array<f32>;
@group(0) @binding(5) var<storage, read_write> vb: array<f32>;
@group(0) @binding(6) var<storage, read_write> vc: array<f32>;
@group(0) @binding(7) var<storage, read_write> vd: array<f32>;
@group(0) @binding(8) var<storage, read_write> s: array<f32>;
@group(0) @binding(9) var<storage, read_write> partials: array<f32>;

var<workgroup> red: array<f32, WG>;

// vb = A va, one thread per block row.
@compute @workgroup_size(64)
fn matvec(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let i = gid.x + gid.y * nwg.x * 64u;
  if (i >= P.nodes) { return; }
  var y = vec3f(0.0);
  for (var k = rowPtr[i]; k < rowPtr[i + 1u]; k++) {
    let j = 3u * cols[k];
    let x = vec3f(va[j], va[j + 1u], va[j + 2u]);
    let o = 9u * k;
    y += vec3f(dot(vec3f(vals[o], vals[o + 1u], vals[o + 2u]), x),
               dot(vec3f(vals[o + 3u], vals[o + 4u], vals[o + 5u]), x),
               dot(vec3f(vals[o + 6u], vals[o + 7u], vals[o + 8u]), x));
  }
  vb[3u * i] = y.x;
  vb[3u * i + 1u] = y.y;
  vb[3u * i + 2u] = y.z;
}

// vb = Dinv va (vals holds the inverse diagonal blocks).
@compute @workgroup_size(64)
fn precond(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let i = gid.x + gid.y * nwg.x * 64u;
  if (i >= P.nodes) { return; }
  let x = vec3f(va[3u * i], va[3u * i + 1u], va[3u * i + 2u]);
  let o = 9u * i;
  vb[3u * i] = dot(vec3f(vals[o], vals[o + 1u], vals[o + 2u]), x);
  vb[3u * i + 1u] = dot(vec3f(vals[o + 3u], vals[o + 4u], vals[o + 5u]), x);
  vb[3u * i + 2u] = dot(vec3f(vals[o + 6u], vals[o + 7u], vals[o + 8u]), x);
}

// The sum of every invocation's `acc` over the workgroup (a tree in `red`); called in uniform control flow.
fn workgroupSum(l: u32, acc: f32) -> f32 {
  red[l] = acc;
  workgroupBarrier();
  for (var step = WG / 2u; step > 0u; step >>= 1u) {
    if (l < step) { red[l] += red[l + step]; }
    workgroupBarrier();
  }
  return red[0];
}

// partials[w] = sum over the grid-stride slice of workgroup w of va * vb.
@compute @workgroup_size(WG)
fn dotPartial(@builtin(local_invocation_id) lid: vec3u, @builtin(workgroup_id) wid: vec3u) {
  var acc = 0.0;
  for (var i = wid.x * WG + lid.x; i < P.dofs; i += P.groups * WG) { acc += va[i] * vb[i]; }
  let total = workgroupSum(lid.x, acc);
  if (lid.x == 0u) { partials[wid.x] = total; }
}

// partials[w] = the same for va * va (a writable buffer may be bound only once per bind group).
@compute @workgroup_size(WG)
fn normPartial(@builtin(local_invocation_id) lid: vec3u, @builtin(workgroup_id) wid: vec3u) {
  var acc = 0.0;
  for (var i = wid.x * WG + lid.x; i < P.dofs; i += P.groups * WG) { acc += va[i] * va[i]; }
  let total = workgroupSum(lid.x, acc);
  if (lid.x == 0u) { partials[wid.x] = total; }
}

// s[P.slot] = sum of the P.groups partials (one workgroup).
@compute @workgroup_size(WG)
fn reduce(@builtin(local_invocation_id) lid: vec3u) {
  var acc = 0.0;
  for (var i = lid.x; i < P.groups; i += WG) { acc += partials[i]; }
  let total = workgroupSum(lid.x, acc);
  if (lid.x == 0u) { s[P.slot] = total; }
}

// x (va) += alpha p (vb); r (vc) -= alpha q (vd); alpha = r.z / p.Ap, or 0 once p.Ap is 0: the residual reached
// exactly 0 inside a batch (a problem CG solves in fewer iterations than the batch) and the rest of it must leave
// x alone instead of dividing 0 by 0.
@compute @workgroup_size(WG)
fn axpy(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let i = gid.x + gid.y * nwg.x * WG;
  if (i >= P.dofs) { return; }
  let alpha = select(0.0, s[0] / s[1], s[1] != 0.0);
  va[i] += alpha * vb[i];
  vc[i] -= alpha * vd[i];
}

// p (va) = z (vb) + beta p; beta = new r.z / r.z (0 once r.z is 0, as above).
@compute @workgroup_size(WG)
fn updateP(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let i = gid.x + gid.y * nwg.x * WG;
  if (i >= P.dofs) { return; }
  va[i] = vb[i] + select(0.0, s[2] / s[0], s[0] != 0.0) * va[i];
}

// After an iteration: r.z <- new r.z, record r.r.
@compute @workgroup_size(1)
fn finish() {
  let k = u32(s[4]);
  s[HISTORY + k] = s[3];
  s[4] = s[4] + 1.0;
  s[0] = s[2];
}
