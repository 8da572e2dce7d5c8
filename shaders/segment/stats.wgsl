// Volume statistics and histogram: two entry points over the same raw voxel words.
//   reduce:               per-workgroup (min, max, sum, nanCount) of stored values
//   deviation_histogram:  per-workgroup sum of squared deviations from the mean, and bin counts
// Stored values are read from packed 32-bit words; DTYPE selects the unpacking (pipeline constant).
// Each workgroup covers WG * ITEMS consecutive elements; partial results are combined in f64 on the host,
// which keeps f32 rounding to a workgroup's worth of additions.

override DTYPE: u32 = 3u; // 0 uint8, 1 int8, 2 uint16, 3 int16, 4 float32

const WG: u32 = 256u;
const ITEMS: u32 = 16u;
const LOCAL_BINS: u32 = 2048u;
const F32_MAX: f32 = 0x1.fffffep+127f;

struct Params {
  count: u32,         // elements in this chunk
  groups: u32,        // workgroups this chunk needs (the 2D dispatch may launch a few more)
  partialOffset: u32, // this chunk's first slot in `partials`
  bins: u32,          // 0: no histogram
  localHist: u32,     // 1: bins <= LOCAL_BINS, count in workgroup memory first
  sign: f32,          // +1, or -1 when the rescale slope is negative
  mean: f32,          // stored-value mean, for the deviations
}

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> words: array<u32>;
@group(0) @binding(2) var<storage, read_write> partials: array<vec4f>;
// bins + 1 thresholds in s' = sign * stored: entries 0..bins-1 rounded up to f32, entry bins rounded down,
// so that f32 comparisons decide exactly what the host's f64 thresholds decide.
@group(0) @binding(3) var<storage, read> thresholds: array<f32>;
// bins counts, then underflow, then overflow.
@group(0) @binding(4) var<storage, read_write> hist: array<atomic<u32>>;

var<workgroup> red: array<vec4f, WG>;
var<workgroup> localHist: array<atomic<u32>, LOCAL_BINS>;

fn load(i: u32) -> f32 {
  if (DTYPE == 0u) { return f32((words[i >> 2u] >> ((i & 3u) * 8u)) & 0xffu); }
  if (DTYPE == 1u) { return f32(bitcast<i32>(words[i >> 2u] << (24u - (i & 3u) * 8u)) >> 24u); }
  if (DTYPE == 2u) { return f32((words[i >> 1u] >> ((i & 1u) * 16u)) & 0xffffu); }
  if (DTYPE == 3u) { return f32(bitcast<i32>(words[i >> 1u] << (16u - (i & 1u) * 16u)) >> 16u); }
  return bitcast<f32>(words[i]);
}

// NaN test on the bits: WGSL lets compilers assume floats are never NaN, so `v != v` is not reliable.
fn isNan(i: u32) -> bool {
  if (DTYPE != 4u) { return false; }
  let b = words[i];
  return (b & 0x7f800000u) == 0x7f800000u && (b & 0x007fffffu) != 0u;
}

fn groupIndex(wg: vec3u, nwg: vec3u) -> u32 {
  return wg.x + wg.y * nwg.x;
}

@compute @workgroup_size(WG)
fn reduce(@builtin(workgroup_id) wg: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_index) lid: u32) {
  let group = groupIndex(wg, nwg);
  if (group >= params.groups) { return; }
  let base = group * WG * ITEMS;
  var acc = vec4f(F32_MAX, -F32_MAX, 0.0, 0.0);
  for (var k = 0u; k < ITEMS; k++) {
    let i = base + k * WG + lid;
    if (i < params.count) {
      if (isNan(i)) {
        acc.w += 1.0;
      } else {
        let v = load(i);
        acc.x = min(acc.x, v);
        acc.y = max(acc.y, v);
        acc.z += v;
      }
    }
  }
  red[lid] = acc;
  workgroupBarrier();
  for (var stride = WG / 2u; stride > 0u; stride >>= 1u) {
    if (lid < stride) {
      let a = red[lid];
      let b = red[lid + stride];
      red[lid] = vec4f(min(a.x, b.x), max(a.y, b.y), a.z + b.z, a.w + b.w);
    }
    workgroupBarrier();
  }
  if (lid == 0u) { partials[params.partialOffset + group] = red[0]; }
}

fn binOf(s: f32) -> i32 {
  let n = params.bins;
  let t0 = thresholds[0];
  let tn = thresholds[n];
  if (s < t0) { return -1; }
  if (s > tn) { return i32(n); }
  var b = clamp(i32(floor((s - t0) / (tn - t0) * f32(n))), 0, i32(n) - 1);
  loop {
    if (b > 0 && s < thresholds[b]) { b -= 1; } else { break; }
  }
  loop {
    if (b < i32(n) - 1 && s >= thresholds[b + 1]) { b += 1; } else { break; }
  }
  return b;
}

@compute @workgroup_size(WG)
fn deviation_histogram(@builtin(workgroup_id) wg: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_index) lid: u32) {
  let group = groupIndex(wg, nwg);
  if (group >= params.groups) { return; }
  let n = params.bins;
  let local = params.localHist == 1u;
  if (local) {
    for (var b = lid; b < n; b += WG) { atomicStore(&localHist[b], 0u); }
  }
  workgroupBarrier();
  let base = group * WG * ITEMS;
  var ss = 0.0;
  for (var k = 0u; k < ITEMS; k++) {
    let i = base + k * WG + lid;
    if (i < params.count && !isNan(i)) {
      let v = load(i);
      let d = v - params.mean;
      ss += d * d;
      if (n > 0u) {
        let b = binOf(params.sign * v);
        if (b < 0) {
          atomicAdd(&hist[n], 1u);
        } else if (u32(b) >= n) {
          atomicAdd(&hist[n + 1u], 1u);
        } else if (local) {
          atomicAdd(&localHist[b], 1u);
        } else {
          atomicAdd(&hist[b], 1u);
        }
      }
    }
  }
  red[lid] = vec4f(ss, 0.0, 0.0, 0.0);
  workgroupBarrier();
  if (local) {
    for (var b = lid; b < n; b += WG) {
      let c = atomicLoad(&localHist[b]);
      if (c > 0u) { atomicAdd(&hist[b], c); }
    }
  }
  for (var stride = WG / 2u; stride > 0u; stride >>= 1u) {
    if (lid < stride) { red[lid].x += red[lid + stride].x; }
    workgroupBarrier();
  }
  if (lid == 0u) { partials[params.partialOffset + group] = red[0]; }
}
