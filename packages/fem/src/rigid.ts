import { PhysiotwinError } from '@physiotwin/core';
import type { TetMesh } from '@physiotwin/core';

/** Eigenvalues of a symmetric n x n matrix (row-major, overwritten) by cyclic Jacobi rotations. */
function symmetricEigenvalues(m: Float64Array, n: number): number[] {
  for (let sweep = 0; sweep < 50; sweep++) {
    let off = 0;
    for (let p = 0; p < n; p++) for (let q = p + 1; q < n; q++) off += m[p * n + q]! ** 2;
    if (off < 1e-30) break;
    for (let p = 0; p < n; p++) {
      for (let q = p + 1; q < n; q++) {
        const apq = m[p * n + q]!;
        if (Math.abs(apq) < 1e-300) continue;
        const theta = (m[q * n + q]! - m[p * n + p]!) / (2 * apq);
        const t = Math.sign(theta || 1) / (Math.abs(theta) + Math.sqrt(theta * theta + 1));
        const c = 1 / Math.sqrt(t * t + 1);
        const s = t * c;
        for (let k = 0; k < n; k++) {
          const akp = m[k * n + p]!, akq = m[k * n + q]!;
          m[k * n + p] = c * akp - s * akq;
          m[k * n + q] = s * akp + c * akq;
        }
        for (let k = 0; k < n; k++) {
          const apk = m[p * n + k]!, aqk = m[q * n + k]!;
          m[p * n + k] = c * apk - s * aqk;
          m[q * n + k] = s * apk + c * aqk;
        }
      }
    }
  }
  return Array.from({ length: n }, (_, i) => m[i * n + i]!);
}

/**
 * Checks that the constrained dofs of every connected part of the mesh remove all six rigid-body modes: the
 * Gram matrix of the modes (translations and rotations about the part's centroid, scaled by its size)
 * restricted to the constrained dofs must be nonsingular.
 * @throws PhysiotwinError `SOLVER_SINGULAR` naming the part and the number of free modes.
 */
export function checkRigidModes(mesh: TetMesh, used: Uint8Array, constrained: Uint8Array): void {
  const nNodes = used.length;
  const k = mesh.nodesPerTet;
  const parent = new Int32Array(nNodes).map((_, i) => i);
  const find = (i: number): number => {
    while (parent[i] !== i) {
      parent[i] = parent[parent[i]!]!;
      i = parent[i]!;
    }
    return i;
  };
  for (let t = 0; t < mesh.tets.length / k; t++) {
    const a = find(mesh.tets[t * k]!);
    for (let i = 1; i < k; i++) {
      const b = find(mesh.tets[t * k + i]!);
      if (a !== b) parent[b] = a;
    }
  }
  const parts = new Map<number, number[]>();
  for (let v = 0; v < nNodes; v++) {
    if (!used[v]) continue;
    const r = find(v);
    let list = parts.get(r);
    if (!list) parts.set(r, (list = []));
    list.push(v);
  }
  let index = 0;
  for (const nodes of parts.values()) {
    const p = mesh.positions;
    const c = [0, 0, 0];
    for (const v of nodes) for (let d = 0; d < 3; d++) c[d]! += p[3 * v + d]! / nodes.length;
    let size = 0;
    for (const v of nodes) size = Math.max(size, Math.hypot(p[3 * v]! - c[0]!, p[3 * v + 1]! - c[1]!, p[3 * v + 2]! - c[2]!));
    size ||= 1;
    const g = new Float64Array(36);
    const mode = new Float64Array(6);
    for (const v of nodes) {
      const x = (p[3 * v]! - c[0]!) / size, y = (p[3 * v + 1]! - c[1]!) / size, z = (p[3 * v + 2]! - c[2]!) / size;
      for (let d = 0; d < 3; d++) {
        if (!constrained[3 * v + d]) continue;
        // Mode values at this dof: translations e_d, rotations omega x r (component d).
        mode.fill(0);
        mode[d] = 1;
        if (d === 0) { mode[4] = z; mode[5] = -y; }
        if (d === 1) { mode[3] = -z; mode[5] = x; }
        if (d === 2) { mode[3] = y; mode[4] = -x; }
        for (let i = 0; i < 6; i++) for (let j = 0; j < 6; j++) g[6 * i + j]! += mode[i]! * mode[j]!;
      }
    }
    const eig = symmetricEigenvalues(g, 6);
    const max = Math.max(...eig, 0);
    const free = eig.filter((e) => !(e > 1e-10 * max) || max === 0).length;
    if (free > 0) {
      throw new PhysiotwinError('SOLVER_SINGULAR', `part ${index} of the mesh (${nodes.length} nodes) has ${free} unconstrained rigid-body mode${free > 1 ? 's' : ''}: add constraints`, { details: { part: index, freeModes: free } });
    }
    index++;
  }
}
