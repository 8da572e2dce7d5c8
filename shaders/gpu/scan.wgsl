// Exclusive prefix sum of u32 counts, one level of a multi-level scan: `scan_blocks` scans each block of 256
// in place and writes the block's total to `sums`; once `sums` is scanned (the next level), `add_offsets`
// adds each block's offset back. Blocks are numbered gid.x + gid.y * num_workgroups.x (2D dispatch).
struct Params { count: u32 }
@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read_write> data: array<u32>;
@group(0) @binding(2) var<storage, read_write> sums: array<u32>;

var<workgroup> tmp: array<u32, 256>;

@compute @workgroup_size(256)
fn scan_blocks(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_index) lid: u32) {
  let block = wid.x + wid.y * nwg.x;
  if (block * 256u >= params.count) { return; }
  let i = block * 256u + lid;
  var v = 0u;
  if (i < params.count) { v = data[i]; }
  tmp[lid] = v;
  workgroupBarrier();
  // Hillis-Steele inclusive scan in workgroup memory.
  for (var off = 1u; off < 256u; off = off << 1u) {
    var add = 0u;
    if (lid >= off) { add = tmp[lid - off]; }
    workgroupBarrier();
    tmp[lid] = tmp[lid] + add;
    workgroupBarrier();
  }
  if (i < params.count) { data[i] = tmp[lid] - v; }
  if (lid == 255u) { sums[block] = tmp[255]; }
}

@compute @workgroup_size(256)
fn add_offsets(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_index) lid: u32) {
  let block = wid.x + wid.y * nwg.x;
  let i = block * 256u + lid;
  if (i < params.count) { data[i] = data[i] + sums[block]; }
}
