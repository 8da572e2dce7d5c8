import type { OperationOptions, SurfaceMesh } from '@physiotwin/core';
import { PhysiotwinError, progressReporter, validateSurfaceMesh } from '@physiotwin/core';

/** Vertex neighbours (through triangle edges) in compressed rows: neighbours of v are adj[start[v] .. start[v + 1]). */
export function vertexNeighbours(mesh: SurfaceMesh): { start: Int32Array; adj: Int32Array } {
  const nv = mesh.positions.length / 3;
  const T = mesh.triangles;
  const deg = new Int32Array(nv + 1);
  for (let c = 0; c < T.length; c++) deg[T[c]! + 1]! += 2;
  for (let v = 0; v < nv; v++) deg[v + 1]! += deg[v]!;
  const fill = deg.slice(0, nv);
  const raw = new Int32Array(deg[nv]!);
  for (let t = 0; t < T.length; t += 3) {
    for (let c = 0; c < 3; c++) {
      const v = T[t + c]!;
      raw[fill[v]!++] = T[t + ((c + 1) % 3)]!;
      raw[fill[v]!++] = T[t + ((c + 2) % 3)]!;
    }
  }
  // Each neighbour appears twice in a closed fan: keep it once.
  const start = new Int32Array(nv + 1);
  const adj = new Int32Array(raw.length);
  let o = 0;
  for (let v = 0; v < nv; v++) {
    start[v] = o;
    const row = raw.subarray(deg[v]!, deg[v + 1]!).sort();
    for (let i = 0; i < row.length; i++) if (i === 0 || row[i] !== row[i - 1]) adj[o++] = row[i]!;
  }
  start[nv] = o;
  return { start, adj: adj.slice(0, o) };
}

/** Options of {@link smoothTaubin}. */
export interface TaubinSpec {
  /** Number of (lambda, mu) pass pairs. @default 20 */
  iterations?: number | undefined;
  /** Shrinking weight. @default 0.5 */
  lambda?: number | undefined;
  /**
   * Pass-band frequency k_PB = 1/lambda + 1/mu (mu is derived from it): lower keeps less of the
   * staircase. @default 0.1
   */
  passBand?: number | undefined;
}

/**
 * Taubin lambda/mu smoothing (Taubin 1995): alternating umbrella steps with a positive and a negative weight, a
 * low-pass filter that removes voxel staircases without the shrinkage of plain Laplacian smoothing. Topology is
 * unchanged; positions are computed in f64 and stored as f32. Returns a new mesh.
 * @throws PhysiotwinError `INVALID_ARGUMENT` for bad parameters or a malformed mesh, `ABORTED`.
 * @example
 * ```ts
 * const smooth = smoothTaubin(mesh, { iterations: 30 });
 * ```
 */
export function smoothTaubin(mesh: SurfaceMesh, spec: TaubinSpec = {}, options: OperationOptions = {}): SurfaceMesh {
  validateSurfaceMesh(mesh);
  const iterations = spec.iterations ?? 20;
  const lambda = spec.lambda ?? 0.5;
  const passBand = spec.passBand ?? 0.1;
  if (!(Number.isInteger(iterations) && iterations >= 0)) throw new PhysiotwinError('INVALID_ARGUMENT', `smoothing iterations must be an integer >= 0, got ${iterations}`);
  if (!(lambda > 0 && lambda < 1)) throw new PhysiotwinError('INVALID_ARGUMENT', `smoothing lambda must be in (0, 1), got ${lambda}`);
  if (!(passBand > 0 && passBand < 1 / lambda)) throw new PhysiotwinError('INVALID_ARGUMENT', `smoothing passBand must be in (0, 1/lambda), got ${passBand}`);
  const mu = 1 / (passBand - 1 / lambda);
  const { start, adj } = vertexNeighbours(mesh);
  const nv = mesh.positions.length / 3;
  let p = Float64Array.from(mesh.positions);
  let q = new Float64Array(p.length);
  const tick = progressReporter(options, 'smoothing', iterations);
  for (let it = 0; it < 2 * iterations; it++) {
    if (it % 2 === 0) tick(it / 2);
    const w = it % 2 === 0 ? lambda : mu;
    for (let v = 0; v < nv; v++) {
      const s = start[v]!;
      const e = start[v + 1]!;
      if (e === s) {
        q[3 * v] = p[3 * v]!;
        q[3 * v + 1] = p[3 * v + 1]!;
        q[3 * v + 2] = p[3 * v + 2]!;
        continue;
      }
      let x = 0, y = 0, z = 0;
      for (let n = s; n < e; n++) {
        const u = adj[n]!;
        x += p[3 * u]!;
        y += p[3 * u + 1]!;
        z += p[3 * u + 2]!;
      }
      const inv = 1 / (e - s);
      q[3 * v] = p[3 * v]! + w * (x * inv - p[3 * v]!);
      q[3 * v + 1] = p[3 * v + 1]! + w * (y * inv - p[3 * v + 1]!);
      q[3 * v + 2] = p[3 * v + 2]! + w * (z * inv - p[3 * v + 2]!);
    }
    [p, q] = [q, p];
  }
  return { positions: Float32Array.from(p), triangles: mesh.triangles.slice() };
}
