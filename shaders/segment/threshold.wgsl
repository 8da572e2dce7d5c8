// Binary threshold: each thread packs the masks of 4 consecutive voxels into one u32 (byte b = voxel 4t + b),
// which the host reads back as a Uint8Array. Bounds are the f32 values that select exactly the same stored
// values as the f64 comparison on the CPU.
struct Params { n: u32, row_threads: u32, lo: f32, hi: f32 }
@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> values: array<f32>;
@group(0) @binding(2) var<storage, read_write> out: array<u32>;

@compute @workgroup_size(256)
fn main(@builtin(global_invocation_id) gid: vec3u) {
  let t = gid.x + gid.y * params.row_threads;
  let base = 4u * t;
  if (base >= params.n) { return; }
  var word = 0u;
  for (var b = 0u; b < 4u; b++) {
    let i = base + b;
    if (i < params.n) {
      let v = values[i];
      if (v >= params.lo && v <= params.hi) { word |= 1u << (8u * b); }
    }
  }
  out[t] = word;
}
