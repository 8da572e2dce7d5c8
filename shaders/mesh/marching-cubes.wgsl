// Marching cubes in three data-parallel passes around two prefix sums (scan.wgsl), with the CPU's numbering:
// the vertex of edge (point p, axis a) is number voffset[p] + (crossed axes of p before a), the triangles of
// cell p start at toffset[p]. `classify` counts, `vertices` and `triangles` write. Classification compares
// f32 values with `iso_bound`, the f32 that selects exactly the values the CPU's f64 comparison selects.
struct Params {
  nx: u32, ny: u32, nz: u32, row_threads: u32,
  iso_bound: f32, iso: f32, sign: f32, flip: u32,
  m0: vec4f, m1: vec4f, m2: vec4f,
}
@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> values: array<f32>;
@group(0) @binding(2) var<storage, read_write> voffset: array<u32>;
@group(0) @binding(3) var<storage, read_write> toffset: array<u32>;
@group(0) @binding(4) var<storage, read> case_start: array<u32>;
@group(0) @binding(5) var<storage, read> case_edges: array<u32>;
@group(0) @binding(6) var<storage, read_write> positions: array<f32>;
@group(0) @binding(7) var<storage, read_write> triangles: array<u32>;

// Must equal EDGE_CLAMP of marching-cubes.cpu.ts.
const CLAMP = 1e-3;

fn inside(p: u32) -> bool {
  let v = values[p];
  if (params.sign > 0.0) { return v >= params.iso_bound; }
  return v <= params.iso_bound;
}

fn step_of(axis: u32) -> u32 {
  if (axis == 0u) { return 1u; }
  if (axis == 1u) { return params.nx; }
  return params.nx * params.ny;
}

fn in_bounds(c: vec3u, axis: u32) -> bool {
  if (axis == 0u) { return c.x + 1u < params.nx; }
  if (axis == 1u) { return c.y + 1u < params.ny; }
  return c.z + 1u < params.nz;
}

fn coords(p: u32) -> vec3u {
  return vec3u(p % params.nx, (p / params.nx) % params.ny, p / (params.nx * params.ny));
}

fn crossed(p: u32, c: vec3u, axis: u32) -> bool {
  return in_bounds(c, axis) && inside(p + step_of(axis)) != inside(p);
}

fn cube_of(p: u32) -> u32 {
  let nx = params.nx;
  let nxy = params.nx * params.ny;
  var cube = 0u;
  for (var c = 0u; c < 8u; c++) {
    let q = p + (c & 1u) + nx * ((c >> 1u) & 1u) + nxy * ((c >> 2u) & 1u);
    if (inside(q)) { cube |= 1u << c; }
  }
  return cube;
}

fn is_cell(c: vec3u) -> bool {
  return c.x + 1u < params.nx && c.y + 1u < params.ny && c.z + 1u < params.nz;
}

fn index_of(gid: vec3u) -> u32 { return gid.x + gid.y * params.row_threads; }

@compute @workgroup_size(256)
fn classify(@builtin(global_invocation_id) gid: vec3u) {
  let p = index_of(gid);
  if (p >= params.nx * params.ny * params.nz) { return; }
  let c = coords(p);
  var count = 0u;
  for (var a = 0u; a < 3u; a++) { if (crossed(p, c, a)) { count++; } }
  voffset[p] = count;
  var tris = 0u;
  if (is_cell(c)) {
    let cube = cube_of(p);
    tris = case_start[cube + 1u] - case_start[cube];
  }
  toffset[p] = tris;
}

@compute @workgroup_size(256)
fn vertices(@builtin(global_invocation_id) gid: vec3u) {
  let p = index_of(gid);
  if (p >= params.nx * params.ny * params.nz) { return; }
  let c = coords(p);
  var out = voffset[p];
  for (var a = 0u; a < 3u; a++) {
    if (!crossed(p, c, a)) { continue; }
    let v0 = values[p];
    let v1 = values[p + step_of(a)];
    var t = (params.iso - v0) / (v1 - v0);
    t = select(CLAMP, select(1.0 - CLAMP, t, t < 1.0 - CLAMP), t > CLAMP);
    var idx = vec3f(c);
    idx[a] = idx[a] + t;
    let h = vec4f(idx, 1.0);
    positions[3u * out] = dot(params.m0, h);
    positions[3u * out + 1u] = dot(params.m1, h);
    positions[3u * out + 2u] = dot(params.m2, h);
    out++;
  }
}

@compute @workgroup_size(256)
fn triangles_main(@builtin(global_invocation_id) gid: vec3u) {
  let p = index_of(gid);
  if (p >= params.nx * params.ny * params.nz) { return; }
  let c = coords(p);
  if (!is_cell(c)) { return; }
  let cube = cube_of(p);
  let t0 = case_start[cube];
  let t1 = case_start[cube + 1u];
  var out = toffset[p];
  let nx = params.nx;
  let nxy = params.nx * params.ny;
  for (var t = t0; t < t1; t++) {
    var ids = vec3u(0u);
    for (var k = 0u; k < 3u; k++) {
      let e = case_edges[3u * t + k];
      let axis = e >> 2u;
      let a = e & 1u;
      let b = (e >> 1u) & 1u;
      var d = vec3u(0u, a, b);
      if (axis == 1u) { d = vec3u(a, 0u, b); }
      if (axis == 2u) { d = vec3u(a, b, 0u); }
      let q = p + d.x + nx * d.y + nxy * d.z;
      let cq = c + d;
      var rank = 0u;
      for (var a2 = 0u; a2 < axis; a2++) { if (crossed(q, cq, a2)) { rank++; } }
      ids[k] = voffset[q] + rank;
    }
    if (params.flip == 1u) { ids = vec3u(ids.x, ids.z, ids.y); }
    triangles[3u * out] = ids.x;
    triangles[3u * out + 1u] = ids.y;
    triangles[3u * out + 2u] = ids.z;
    out++;
  }
}
