// The marching-cubes case table, generated (not typed in) from one rule so that every case is consistent:
// on each cube face the surface crosses the edges whose corners differ; on an ambiguous face (diagonal corners
// inside) the inside corners are kept apart. The rule depends on the face alone, so two cubes sharing a face
// always cut it the same way and the surface is closed; the inside is 6-connected (as the 6-connected
// components of @physiotwin/segment), the outside 18/26-connected. Each loop of crossed edges is oriented so
// its normal points from the inside corners to the outside ones, then fanned into triangles.
//
// Corner c = x + 2y + 4z. Edge e = 4 * axis + (the two other coordinates of its lower corner as bits).

/** Lower corner of each of the 12 edges. */
export const EDGE_BASE = new Uint8Array(12);
/** Axis (0 x, 1 y, 2 z) of each edge. */
export const EDGE_AXIS = new Uint8Array(12);
for (let e = 0; e < 12; e++) {
  const axis = e >> 2;
  const a = e & 1;
  const b = (e >> 1) & 1;
  EDGE_AXIS[e] = axis;
  EDGE_BASE[e] = axis === 0 ? 2 * a + 4 * b : axis === 1 ? a + 4 * b : a + 2 * b;
}
const AXIS_BIT = [1, 2, 4];

const cornerXyz = (c: number) => [c & 1, (c >> 1) & 1, (c >> 2) & 1];
const edgeOf = (c0: number, c1: number) => {
  const lo = Math.min(c0, c1);
  const axis = [1, 2, 4].indexOf(c0 ^ c1);
  const [x, y, z] = cornerXyz(lo);
  const others = axis === 0 ? [y, z] : axis === 1 ? [x, z] : [x, y];
  return 4 * axis + others[0]! + 2 * others[1]!;
};

/** The 6 faces as corner cycles. */
const FACES: number[][] = [];
for (let axis = 0; axis < 3; axis++) {
  const u = AXIS_BIT[(axis + 1) % 3]!;
  const v = AXIS_BIT[(axis + 2) % 3]!;
  for (let side = 0; side < 2; side++) {
    const base = side * AXIS_BIT[axis]!;
    FACES.push([base, base + u, base + u + v, base + v]);
  }
}
const FACE_EDGES = FACES.map((f) => f.map((c, i) => edgeOf(c, f[(i + 1) % 4]!)));
const shareFace = (e1: number, e2: number) => FACE_EDGES.some((f) => f.includes(e1) && f.includes(e2));

function edgeMidpoint(e: number): number[] {
  const p = cornerXyz(EDGE_BASE[e]!);
  p[EDGE_AXIS[e]!] = 0.5;
  return p;
}

function casePolygons(cube: number): number[][] {
  const inside = (c: number) => ((cube >> c) & 1) === 1;
  const partners: number[][] = Array.from({ length: 12 }, () => []);
  const link = (a: number, b: number) => {
    partners[a]!.push(b);
    partners[b]!.push(a);
  };
  FACES.forEach((f, fi) => {
    const edges = FACE_EDGES[fi]!;
    const crossed = [0, 1, 2, 3].filter((i) => inside(f[i]!) !== inside(f[(i + 1) % 4]!));
    if (crossed.length === 2) link(edges[crossed[0]!]!, edges[crossed[1]!]!);
    else if (crossed.length === 4) {
      // Ambiguous face: cut off each inside corner on its own. Edge i runs from corner i to i + 1, so the
      // edges at corner i are i - 1 and i.
      const first = inside(f[0]!) ? 0 : 1;
      link(edges[(first + 3) % 4]!, edges[first]!);
      link(edges[(first + 1) % 4]!, edges[(first + 2) % 4]!);
    }
  });
  const seen = new Array<boolean>(12).fill(false);
  const loops: number[][] = [];
  for (let start = 0; start < 12; start++) {
    if (seen[start] || partners[start]!.length === 0) continue;
    // Every crossed edge has exactly two partners (one per face it lies on): walk the cycle.
    const loop = [start];
    seen[start] = true;
    let prev = start;
    let cur = partners[start]![0]!;
    while (cur !== start) {
      loop.push(cur);
      seen[cur] = true;
      const [a, b] = partners[cur]!;
      const next = a === prev ? b! : a!;
      prev = cur;
      cur = next;
    }
    // Orientation: the loop's (Newell) normal must point from inside corners to outside corners.
    let nx = 0;
    let ny = 0;
    let nz = 0;
    for (let i = 0; i < loop.length; i++) {
      const a = edgeMidpoint(loop[i]!);
      const b = edgeMidpoint(loop[(i + 1) % loop.length]!);
      nx += (a[1]! - b[1]!) * (a[2]! + b[2]!);
      ny += (a[2]! - b[2]!) * (a[0]! + b[0]!);
      nz += (a[0]! - b[0]!) * (a[1]! + b[1]!);
    }
    let dot = 0;
    for (const e of loop) {
      const axis = EDGE_AXIS[e]!;
      // Outward along the edge: from its inside corner to its outside corner.
      const sign = inside(EDGE_BASE[e]!) ? 1 : -1;
      dot += sign * [nx, ny, nz][axis]!;
    }
    if (dot < 0) loop.reverse();
    loops.push(loop);
  }
  return loops;
}

function triangulate(loop: number[]): number[] {
  const n = loop.length;
  // Fan from the corner whose diagonals least often join two edges of one cube face: such a diagonal could
  // coincide with the neighbouring cube's and make an edge with four triangles.
  let best = 0;
  let bestBad = Infinity;
  for (let s = 0; s < n; s++) {
    let bad = 0;
    for (let d = 2; d <= n - 2; d++) if (shareFace(loop[s]!, loop[(s + d) % n]!)) bad++;
    if (bad < bestBad) {
      bestBad = bad;
      best = s;
    }
  }
  const tris: number[] = [];
  for (let d = 1; d + 1 < n; d++) tris.push(loop[best]!, loop[(best + d) % n]!, loop[(best + d + 1) % n]!);
  return tris;
}

/** CASE_START[c] .. CASE_START[c + 1] (in triangles) index the triangles of cube case c in CASE_EDGES. */
export const CASE_START = new Uint32Array(257);
/** Three edge ids per triangle, all cases back to back; outward (towards the outside corners) counter-clockwise. */
export let CASE_EDGES: Uint8Array;
{
  const all: number[] = [];
  for (let c = 0; c < 256; c++) {
    CASE_START[c] = all.length / 3;
    for (const loop of casePolygons(c)) all.push(...triangulate(loop));
  }
  CASE_START[256] = all.length / 3;
  CASE_EDGES = Uint8Array.from(all);
}
