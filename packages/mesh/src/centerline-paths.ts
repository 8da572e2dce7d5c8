import type { Vec3 } from '@physiotwin/core';

/**
 * The lumen on its voxel grid: `inside` (1 in the lumen), `dt` the Euclidean distance (mm) from each lumen voxel
 * centre to the nearest background voxel centre (0 in the background). Outside the image is not background, so a
 * vessel cut by the image border keeps its full distance up to the border.
 */
export interface LumenGrid {
  dims: Vec3;
  spacing: Vec3;
  inside: Uint8Array;
  dt: Float64Array;
}

/** The 26 neighbour offsets (flat index) and their lengths (mm) on a grid. */
function neighbours(g: LumenGrid): { di: Int32Array; dj: Int32Array; dk: Int32Array; len: Float64Array } {
  const di: number[] = [], dj: number[] = [], dk: number[] = [], len: number[] = [];
  for (let k = -1; k <= 1; k++) for (let j = -1; j <= 1; j++) for (let i = -1; i <= 1; i++) {
    if (i === 0 && j === 0 && k === 0) continue;
    di.push(i);
    dj.push(j);
    dk.push(k);
    len.push(Math.hypot(i * g.spacing[0], j * g.spacing[1], k * g.spacing[2]));
  }
  return { di: Int32Array.from(di), dj: Int32Array.from(dj), dk: Int32Array.from(dk), len: Float64Array.from(len) };
}

/** Binary min-heap of (key, id) with lazy deletion: a popped id whose key is stale is skipped by the caller. */
class MinHeap {
  private keys = new Float64Array(1024);
  private ids = new Int32Array(1024);
  size = 0;

  push(key: number, id: number): void {
    if (this.size === this.keys.length) {
      const keys = new Float64Array(2 * this.size);
      const ids = new Int32Array(2 * this.size);
      keys.set(this.keys);
      ids.set(this.ids);
      this.keys = keys;
      this.ids = ids;
    }
    let i = this.size++;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (this.keys[parent]! <= key) break;
      this.keys[i] = this.keys[parent]!;
      this.ids[i] = this.ids[parent]!;
      i = parent;
    }
    this.keys[i] = key;
    this.ids[i] = id;
  }

  /** Removes the smallest entry; its key and id are left in `topKey` / `topId`. */
  topKey = 0;
  topId = 0;
  pop(): void {
    this.topKey = this.keys[0]!;
    this.topId = this.ids[0]!;
    const key = this.keys[--this.size]!;
    const id = this.ids[this.size]!;
    let i = 0;
    for (;;) {
      let c = 2 * i + 1;
      if (c >= this.size) break;
      if (c + 1 < this.size && this.keys[c + 1]! < this.keys[c]!) c++;
      if (this.keys[c]! >= key) break;
      this.keys[i] = this.keys[c]!;
      this.ids[i] = this.ids[c]!;
      i = c;
    }
    this.keys[i] = key;
    this.ids[i] = id;
  }
}

/** The cost per mm of a path through each lumen voxel, 1 / dt^exponent (0 in the background). */
export function pathWeights(g: LumenGrid, exponent: number): Float64Array {
  const w = new Float64Array(g.dt.length);
  for (let v = 0; v < w.length; v++) if (g.inside[v]) w[v] = 1 / Math.pow(g.dt[v]!, exponent);
  return w;
}

/** Minimal-cost paths from one voxel: cost, predecessor (-1 at the source and where unreached), length (mm). */
export interface PathField {
  source: number;
  cost: Float64Array;
  pred: Int32Array;
  /** Length (mm) of the minimal-cost path from the source. */
  length: Float64Array;
}

/**
 * Dijkstra over the 26-connected lumen from `source`, each step costing its length times the mean of `weight`
 * (1 / dt^p, see {@link pathWeights}) at its two ends: minimal-cost paths keep to the medial axis, as VMTK's
 * paths on the Voronoi diagram weighted by the inverse inscribed radius do. `tick` is called every 65536 settled
 * voxels.
 */
export function minimalPaths(g: LumenGrid, source: number, weight: Float64Array, tick: () => void): PathField {
  const [nx, ny, nz] = g.dims;
  const n = g.inside.length;
  const cost = new Float64Array(n).fill(Infinity);
  const pred = new Int32Array(n).fill(-1);
  const length = new Float64Array(n).fill(Infinity);
  const nb = neighbours(g);
  const heap = new MinHeap();
  cost[source] = 0;
  length[source] = 0;
  heap.push(0, source);
  let settled = 0;
  while (heap.size > 0) {
    heap.pop();
    const u = heap.topId;
    if (heap.topKey > cost[u]!) continue;
    if ((++settled & 0xffff) === 0) tick();
    const i = u % nx, j = Math.floor(u / nx) % ny, k = Math.floor(u / (nx * ny));
    const wu = weight[u]!;
    for (let e = 0; e < 26; e++) {
      const a = i + nb.di[e]!, b = j + nb.dj[e]!, c = k + nb.dk[e]!;
      if (a < 0 || b < 0 || c < 0 || a >= nx || b >= ny || c >= nz) continue;
      const v = a + nx * (b + ny * c);
      if (!g.inside[v]) continue;
      const cv = cost[u]! + nb.len[e]! * 0.5 * (wu + weight[v]!);
      if (cv < cost[v]!) {
        cost[v] = cv;
        pred[v] = u;
        length[v] = length[u]! + nb.len[e]!;
        heap.push(cv, v);
      }
    }
  }
  return { source, cost, pred, length };
}

/** Grid-mm position (i sx, j sy, k sz) of voxel `v`, written into `out`. */
export function voxelMm(g: Pick<LumenGrid, 'dims' | 'spacing'>, v: number, out: Vec3): Vec3 {
  const nx = g.dims[0], ny = g.dims[1];
  out[0] = (v % nx) * g.spacing[0];
  out[1] = (Math.floor(v / nx) % ny) * g.spacing[1];
  out[2] = Math.floor(v / (nx * ny)) * g.spacing[2];
  return out;
}

/** Voxels from the source to `v` along the predecessors (source first). */
export function pathTo(field: PathField, v: number): number[] {
  const path: number[] = [];
  for (let u = v; u >= 0; u = field.pred[u]!) path.push(u);
  return path.reverse();
}

/** Options of {@link findEnds}. */
export interface EndSearch {
  /** Voxels within `ballScale` x dt + `ballMm` of a traced path are covered (TEASAR's invalidation ball). */
  ballScale: number;
  ballMm: number;
  /** A new branch is kept when its length from where it joins the tree is at least this times dt there. */
  minBranchRatio: number;
}

/**
 * The ends of the lumen's branches, as TEASAR (Sato et al. 2000) finds them: repeatedly take the uncovered voxel
 * farthest (along its minimal-cost path) from the source, trace its path back to the tree found so far, cover the
 * voxels within a ball around the path, and keep the branch when it is long for its parent's radius. Each end is
 * moved back from the wall it reaches to the centre of the largest inscribed sphere that touches it (the first
 * path voxel, walking back, at least its own dt away from the farthest voxel), so a vessel cut by the image border
 * ends at the cut's centre and a blind end at the sphere inscribed in its cap.
 * @returns end voxels, in the order found (the first is the farthest from the source)
 */
export function findEnds(g: LumenGrid, field: PathField, search: EndSearch, tick: () => void): number[] {
  const [nx, ny] = g.dims;
  const [sx, sy, sz] = g.spacing;
  const n = g.inside.length;
  const uncovered = new Uint8Array(n);
  const reached: number[] = [];
  for (let v = 0; v < n; v++) if (Number.isFinite(field.cost[v]!)) (uncovered[v] = 1, reached.push(v));
  const onTree = new Uint8Array(n);
  onTree[field.source] = 1;
  const ends: number[] = [];
  const p: Vec3 = [0, 0, 0], q: Vec3 = [0, 0, 0];
  const cover = (v: number, r: number) => {
    voxelMm(g, v, p);
    const i0 = Math.round(p[0] / sx), j0 = Math.round(p[1] / sy), k0 = Math.round(p[2] / sz);
    const ri = Math.ceil(r / sx), rj = Math.ceil(r / sy), rk = Math.ceil(r / sz);
    for (let k = Math.max(0, k0 - rk); k <= Math.min(g.dims[2] - 1, k0 + rk); k++) {
      for (let j = Math.max(0, j0 - rj); j <= Math.min(ny - 1, j0 + rj); j++) {
        for (let i = Math.max(0, i0 - ri); i <= Math.min(nx - 1, i0 + ri); i++) {
          if ((i - i0) ** 2 * sx * sx + (j - j0) ** 2 * sy * sy + (k - k0) ** 2 * sz * sz <= r * r) uncovered[i + nx * (j + ny * k)] = 0;
        }
      }
    }
  };
  for (;;) {
    tick();
    let far = -1;
    let farLength = -1;
    for (const v of reached) if (uncovered[v] && field.length[v]! > farLength) (far = v, farLength = field.length[v]!);
    if (far < 0) break;
    const branch: number[] = [];
    let junction = far;
    while (!onTree[junction]) {
      branch.push(junction);
      junction = field.pred[junction]!;
    }
    branch.reverse();
    // Cover around the traced path, one ball per quarter radius of travel.
    let last = -1, lastR = 0;
    for (const v of [junction, ...branch]) {
      const r = search.ballScale * g.dt[v]! + search.ballMm;
      if (last >= 0) {
        voxelMm(g, v, p);
        voxelMm(g, last, q);
        if (Math.hypot(p[0] - q[0], p[1] - q[1], p[2] - q[2]) < 0.25 * Math.min(r, lastR)) continue;
      }
      cover(v, r);
      last = v;
      lastR = r;
    }
    uncovered[far] = 0;
    // The end: walking back from the farthest voxel, the first voxel at least its own dt away from it.
    voxelMm(g, far, q);
    let endAt = -1;
    for (let t = branch.length - 1; t >= 0; t--) {
      voxelMm(g, branch[t]!, p);
      if (Math.hypot(p[0] - q[0], p[1] - q[1], p[2] - q[2]) >= g.dt[branch[t]!]!) {
        endAt = t;
        break;
      }
    }
    if (endAt < 0) continue;
    const end = branch[endAt]!;
    const branchLength = field.length[end]! - field.length[junction]!;
    if (ends.length > 0 && branchLength < search.minBranchRatio * g.dt[junction]!) continue;
    for (let t = 0; t <= endAt; t++) onTree[branch[t]!] = 1;
    ends.push(end);
  }
  return ends;
}

/** A branch of the voxel tree: its voxels from its first node to its last (both included). */
export interface VoxelBranch {
  voxels: number[];
  parent: number;
  children: number[];
  /** True when the branch ends at an end voxel (an outlet), false at a bifurcation. */
  endsAtOutlet: boolean;
}

/**
 * Splits the union of the minimal paths from the source to `ends` (which share their voxels up to where they
 * part: one predecessor tree) into branches at the voxels where paths part. Branches come out depth first,
 * parents before children.
 */
export function branchTree(field: PathField, ends: readonly number[]): VoxelBranch[] {
  const children = new Map<number, number[]>();
  for (const end of ends) {
    const path = pathTo(field, end);
    for (let t = 1; t < path.length; t++) {
      const list = children.get(path[t - 1]!) ?? [];
      if (!list.includes(path[t]!)) list.push(path[t]!);
      children.set(path[t - 1]!, list);
    }
  }
  const branches: VoxelBranch[] = [];
  const stack: { node: number; parent: number }[] = [{ node: field.source, parent: -1 }];
  while (stack.length > 0) {
    const { node, parent } = stack.pop()!;
    const starts = children.get(node) ?? [];
    for (let s = starts.length - 1; s >= 0; s--) {
      const voxels = [node];
      let v = starts[s]!;
      for (;;) {
        voxels.push(v);
        const next = children.get(v) ?? [];
        if (next.length !== 1) break;
        v = next[0]!;
      }
      const id = branches.length;
      const endsAtOutlet = (children.get(v) ?? []).length === 0;
      branches.push({ voxels, parent, children: [], endsAtOutlet });
      if (parent >= 0) branches[parent]!.children.push(id);
      if (!endsAtOutlet) stack.push({ node: v, parent: id });
    }
  }
  return branches;
}
