import type { SurfaceMesh } from '@physiotwin/core';
import { PhysiotwinError, validateSurfaceMesh } from '@physiotwin/core';

/** Options of {@link cleanMesh}. */
export interface CleanSpec {
  /** Vertices closer than this (mm, per coordinate on a grid of this size) are merged. 0 merges exact duplicates. @default 0 */
  mergeTolerance?: number | undefined;
  /** Make orientation consistent across each component, and outward (positive volume) for closed ones. @default true */
  orient?: boolean | undefined;
  /** Keep only the component with the most triangles. @default false */
  largestComponent?: boolean | undefined;
}

/**
 * Cleans a triangle surface: merges coincident vertices, removes degenerate (repeated vertex or zero area) and
 * duplicate triangles, makes the orientation consistent (breadth-first over edges shared by two triangles) and
 * outward for closed components, optionally keeps the largest component, and drops unused vertices.
 * @throws PhysiotwinError `INVALID_ARGUMENT` for a negative tolerance or a malformed mesh.
 * @example
 * ```ts
 * const tidy = cleanMesh(imported, { mergeTolerance: 1e-4, largestComponent: true });
 * ```
 */
export function cleanMesh(mesh: SurfaceMesh, spec: CleanSpec = {}): SurfaceMesh {
  validateSurfaceMesh(mesh);
  const tol = spec.mergeTolerance ?? 0;
  if (!(tol >= 0)) throw new PhysiotwinError('INVALID_ARGUMENT', `cleanMesh: mergeTolerance must be >= 0, got ${tol}`);
  const P = mesh.positions;
  const nv = P.length / 3;
  // 1. Merge: vertices with the same (snapped) coordinates share the first one's index.
  const merged = new Int32Array(nv);
  const seen = new Map<string, number>();
  for (let v = 0; v < nv; v++) {
    const key = tol > 0 ? `${Math.round(P[3 * v]! / tol)},${Math.round(P[3 * v + 1]! / tol)},${Math.round(P[3 * v + 2]! / tol)}` : `${P[3 * v]},${P[3 * v + 1]},${P[3 * v + 2]}`;
    const first = seen.get(key);
    if (first === undefined) {
      seen.set(key, v);
      merged[v] = v;
    } else merged[v] = first;
  }
  // 2. Drop degenerate and duplicate triangles.
  const tris: number[] = [];
  const faces = new Set<string>();
  const T = mesh.triangles;
  for (let t = 0; t < T.length; t += 3) {
    const a = merged[T[t]!]!, b = merged[T[t + 1]!]!, c = merged[T[t + 2]!]!;
    if (a === b || b === c || a === c) continue;
    const ux = P[3 * b]! - P[3 * a]!, uy = P[3 * b + 1]! - P[3 * a + 1]!, uz = P[3 * b + 2]! - P[3 * a + 2]!;
    const wx = P[3 * c]! - P[3 * a]!, wy = P[3 * c + 1]! - P[3 * a + 1]!, wz = P[3 * c + 2]! - P[3 * a + 2]!;
    if (uy * wz - uz * wy === 0 && uz * wx - ux * wz === 0 && ux * wy - uy * wx === 0) continue;
    const key = [a, b, c].sort((x, y) => x - y).join(',');
    if (faces.has(key)) continue;
    faces.add(key);
    tris.push(a, b, c);
  }
  const nt = tris.length / 3;
  // Edge -> triangles (for orientation and components).
  const edgeTris = new Map<number, number[]>();
  const edgeKey = (a: number, b: number) => Math.min(a, b) * nv + Math.max(a, b);
  for (let t = 0; t < nt; t++) {
    for (let c = 0; c < 3; c++) {
      const k = edgeKey(tris[3 * t + c]!, tris[3 * t + ((c + 1) % 3)]!);
      const list = edgeTris.get(k);
      if (list) list.push(t);
      else edgeTris.set(k, [t]);
    }
  }
  // 3. Components by breadth-first search; orientation fixed on the way (across manifold edges only).
  const component = new Int32Array(nt).fill(-1);
  const sizes: number[] = [];
  const orient = spec.orient ?? true;
  const directed = (t: number, a: number, b: number) => {
    for (let c = 0; c < 3; c++) if (tris[3 * t + c] === a && tris[3 * t + ((c + 1) % 3)] === b) return true;
    return false;
  };
  for (let s = 0; s < nt; s++) {
    if (component[s] !== -1) continue;
    const id = sizes.length;
    sizes.push(0);
    component[s] = id;
    const queue = [s];
    for (let head = 0; head < queue.length; head++) {
      const t = queue[head]!;
      sizes[id]!++;
      for (let c = 0; c < 3; c++) {
        const a = tris[3 * t + c]!;
        const b = tris[3 * t + ((c + 1) % 3)]!;
        const list = edgeTris.get(edgeKey(a, b))!;
        for (const u of list) {
          if (component[u] !== -1) continue;
          component[u] = id;
          // A consistent neighbour runs the shared edge the other way (b -> a); flip it if it does not.
          if (orient && list.length === 2 && directed(u, a, b)) {
            const tmp = tris[3 * u + 1]!;
            tris[3 * u + 1] = tris[3 * u + 2]!;
            tris[3 * u + 2] = tmp;
          }
          queue.push(u);
        }
      }
    }
  }
  // Outward: a component with negative enclosed volume is flipped (meaningful for closed components).
  if (orient) {
    const volume = new Float64Array(sizes.length);
    for (let t = 0; t < nt; t++) {
      const [a, b, c] = [tris[3 * t]!, tris[3 * t + 1]!, tris[3 * t + 2]!];
      volume[component[t]!]! +=
        P[3 * a]! * (P[3 * b + 1]! * P[3 * c + 2]! - P[3 * b + 2]! * P[3 * c + 1]!) +
        P[3 * a + 1]! * (P[3 * b + 2]! * P[3 * c]! - P[3 * b]! * P[3 * c + 2]!) +
        P[3 * a + 2]! * (P[3 * b]! * P[3 * c + 1]! - P[3 * b + 1]! * P[3 * c]!);
    }
    for (let t = 0; t < nt; t++) {
      if (volume[component[t]!]! >= 0) continue;
      const tmp = tris[3 * t + 1]!;
      tris[3 * t + 1] = tris[3 * t + 2]!;
      tris[3 * t + 2] = tmp;
    }
  }
  let keep = -1;
  if (spec.largestComponent) {
    let best = -1;
    sizes.forEach((s, i) => {
      if (s > best) {
        best = s;
        keep = i;
      }
    });
  }
  // 4. Compact.
  const remap = new Int32Array(nv).fill(-1);
  const outP: number[] = [];
  const outT: number[] = [];
  for (let t = 0; t < nt; t++) {
    if (keep >= 0 && component[t] !== keep) continue;
    for (let c = 0; c < 3; c++) {
      const v = tris[3 * t + c]!;
      if (remap[v] === -1) {
        remap[v] = outP.length / 3;
        outP.push(P[3 * v]!, P[3 * v + 1]!, P[3 * v + 2]!);
      }
      outT.push(remap[v]!);
    }
  }
  return { positions: Float32Array.from(outP), triangles: Uint32Array.from(outT) };
}
