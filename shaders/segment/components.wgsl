// Connected components by label propagation. labels[i] = 0 for background, else (index of a voxel of the same
// component) + 1; starting from i + 1 it only decreases, and converges to (smallest index of the component) + 1.
// `propagate` takes the minimum over the neighbourhood and hooks the old root onto it (atomicMin), `jump`
// shortcuts labels to their target's label (pointer jumping); `changed` is set when propagate lowered a label.
struct Params { nx: u32, ny: u32, nz: u32, row_threads: u32, connectivity: u32 }
@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read_write> labels: array<atomic<u32>>;
@group(0) @binding(2) var<storage, read_write> changed: array<atomic<u32>, 1>;

fn voxel(gid: vec3u) -> u32 { return gid.x + gid.y * params.row_threads; }

@compute @workgroup_size(256)
fn propagate(@builtin(global_invocation_id) gid: vec3u) {
  let i = voxel(gid);
  let nxy = params.nx * params.ny;
  if (i >= nxy * params.nz) { return; }
  let own = atomicLoad(&labels[i]);
  if (own == 0u) { return; }
  let x = i32(i % params.nx);
  let y = i32((i / params.nx) % params.ny);
  let z = i32(i / nxy);
  var m = own;
  for (var dz = -1; dz <= 1; dz++) {
    for (var dy = -1; dy <= 1; dy++) {
      for (var dx = -1; dx <= 1; dx++) {
        let order = u32(abs(dx) + abs(dy) + abs(dz));
        if (order == 0u || (params.connectivity == 6u && order > 1u) || (params.connectivity == 18u && order > 2u)) { continue; }
        let xx = x + dx;
        let yy = y + dy;
        let zz = z + dz;
        if (xx < 0 || yy < 0 || zz < 0 || xx >= i32(params.nx) || yy >= i32(params.ny) || zz >= i32(params.nz)) { continue; }
        let l = atomicLoad(&labels[u32(xx) + params.nx * (u32(yy) + params.ny * u32(zz))]);
        if (l != 0u && l < m) { m = l; }
      }
    }
  }
  if (m < own) {
    atomicMin(&labels[i], m);
    atomicMin(&labels[own - 1u], m);
    atomicStore(&changed[0], 1u);
  }
}

@compute @workgroup_size(256)
fn jump(@builtin(global_invocation_id) gid: vec3u) {
  let i = voxel(gid);
  if (i >= params.nx * params.ny * params.nz) { return; }
  let own = atomicLoad(&labels[i]);
  if (own == 0u) { return; }
  let next = atomicLoad(&labels[own - 1u]);
  if (next < own) { atomicMin(&labels[i], next); }
}
