// Binary dilation / erosion by a ball given as a list of voxel offsets (spacing-aware, chosen on the host).
// Masks are packed 4 voxels per u32 (byte b = voxel 4t + b); each thread writes one word.
// dilate: 1 where any in-image ball neighbour is foreground. erode: 1 where the voxel and every in-image ball
// neighbour are foreground (outside the image erodes nothing), as the CPU's distance-transform definition.
struct Params { nx: u32, ny: u32, nz: u32, row_threads: u32, offsets: u32, grow: u32 }
@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> ball: array<vec4i>;
@group(0) @binding(2) var<storage, read> src: array<u32>;
@group(0) @binding(3) var<storage, read_write> dst: array<u32>;

fn fg(i: u32) -> bool { return ((src[i >> 2u] >> (8u * (i & 3u))) & 0xffu) != 0u; }

@compute @workgroup_size(256)
fn main(@builtin(global_invocation_id) gid: vec3u) {
  let t = gid.x + gid.y * params.row_threads;
  let nxy = params.nx * params.ny;
  let n = nxy * params.nz;
  if (4u * t >= n) { return; }
  var word = 0u;
  for (var b = 0u; b < 4u; b++) {
    let i = 4u * t + b;
    if (i >= n) { break; }
    let x = i32(i % params.nx);
    let y = i32((i / params.nx) % params.ny);
    let z = i32(i / nxy);
    // grow: start false, any foreground neighbour sets it; shrink: start true, any background clears it.
    var result = params.grow == 0u;
    for (var o = 0u; o < params.offsets; o++) {
      let d = ball[o];
      let xx = x + d.x;
      let yy = y + d.y;
      let zz = z + d.z;
      if (xx < 0 || yy < 0 || zz < 0 || xx >= i32(params.nx) || yy >= i32(params.ny) || zz >= i32(params.nz)) { continue; }
      let f = fg(u32(xx) + params.nx * (u32(yy) + params.ny * u32(zz)));
      if (params.grow == 1u && f) { result = true; break; }
      if (params.grow == 0u && !f) { result = false; break; }
    }
    if (result) { word |= 1u << (8u * b); }
  }
  dst[t] = word;
}
