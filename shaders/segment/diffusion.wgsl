// One explicit step of gradient anisotropic (Perona-Malik) diffusion, one voxel per thread:
//   dst[x] = src[x] + dt * sum over the 6 face neighbours n of g(d) * d / h,  d = (src[n] - src[x]) / h,
// with g(d) = exp(-q^2), q = d / K (computed as d * inv_k, as the CPU step does: 1 / K^2 overflowed f32 for
// K < 5.4e-20, and 0 * inf made NaN where neighbours were equal) and h the spacing along that neighbour's axis. A missing neighbour (image border)
// contributes nothing (zero flux). The flux between two voxels is computed from the same operands in both, with
// opposite signs, so the scheme conserves the sum up to f32 rounding.
struct Params { nx: u32, ny: u32, nz: u32, row_threads: u32, dt: f32, inv_k: f32, inv_hx: f32, inv_hy: f32, inv_hz: f32 }
@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> src: array<f32>;
@group(0) @binding(2) var<storage, read_write> dst: array<f32>;

fn flux(c: f32, n: f32, inv_h: f32) -> f32 {
  let d = (n - c) * inv_h;
  let q = d * params.inv_k;
  return exp(-q * q) * d * inv_h;
}

@compute @workgroup_size(256)
fn main(@builtin(global_invocation_id) gid: vec3u) {
  let i = gid.x + gid.y * params.row_threads;
  let nxy = params.nx * params.ny;
  if (i >= nxy * params.nz) { return; }
  let x = i % params.nx;
  let y = (i / params.nx) % params.ny;
  let z = i / nxy;
  let c = src[i];
  var s = 0.0;
  if (x > 0u) { s += flux(c, src[i - 1u], params.inv_hx); }
  if (x + 1u < params.nx) { s += flux(c, src[i + 1u], params.inv_hx); }
  if (y > 0u) { s += flux(c, src[i - params.nx], params.inv_hy); }
  if (y + 1u < params.ny) { s += flux(c, src[i + params.nx], params.inv_hy); }
  if (z > 0u) { s += flux(c, src[i - nxy], params.inv_hz); }
  if (z + 1u < params.nz) { s += flux(c, src[i + nxy], params.inv_hz); }
  dst[i] = c + params.dt * s;
}
