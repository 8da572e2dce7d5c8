import { PhysiotwinError, progressReporter, throwIfAborted, validateTetMesh } from '@physiotwin/core';
import type { TetMesh } from '@physiotwin/core';
import type { AdapterDescription, ComputeOptions } from '@physiotwin/gpu';
import { chooseBackend } from '@physiotwin/gpu';
import { toQuadraticTets } from '@physiotwin/mesh';
import { addBodyForce, addFaceLoad, assembleStiffness, gatherCoordinates, tetMaterials } from './assemble.js';
import type { BsrMatrix } from './bsr.js';
import type { FemProblem, SolverSettings } from './case.js';
import { parseFemCase } from './case.js';
import { TET_RULE_1, TET_RULE_4, elementScratch, physicalGradients, principalStresses, stressFromGradients, tetShape, vonMises } from './element.js';
import { bsrKernel } from './bsr-wasm.js';
import { multilevel } from './multilevel.cpu.js';
import { pMultigrid } from './pmultigrid.cpu.js';
import { blockJacobi, pcg } from './pcg.cpu.js';
import type { PcgResult, Preconditioner } from './pcg.cpu.js';
import { orientedFaceNodes, selectFaces, selectNodes, topology } from './select.js';
import { checkRigidModes } from './rigid.js';

/** Options of {@link solve}. */
export interface SolveOptions extends ComputeOptions {
  /**
   * Threads of the CPU CG's matvec (and the T10 multigrid smoother's, on the same kernel): default 'auto', worker
   * threads on one shared memory from about 6e5 unknowns of T4 stiffness (one per 64 MB of upper-triangle
   * matrix), at most os.availableParallelism(); 1 forces the one-thread kernel; one thread in a browser page. The
   * workers stop when the solve returns, fails or is aborted.
   */
  threads?: number | 'auto';
}

/** Convergence record of the linear solve. */
export interface Convergence {
  iterations: number;
  /** ||r_k|| / ||b|| per iteration, starting with the initial residual. */
  residualHistory: number[];
  tolerance: number;
  preconditioner: 'jacobi' | 'multilevel';
  /** Seconds spent in CG (with preconditioner set-up). */
  solveSeconds: number;
}

/** The solution of a linear-elastic problem. Stresses are Cauchy stresses (xx, yy, zz, xy, yz, xz), MPa. */
export interface FemResult {
  /** The mesh solved (a T4 input promoted to T10 when the case asks for T10). */
  mesh: TetMesh;
  /** Displacement per node, mm (3 per node). */
  displacement: Float64Array;
  /** Stress at each tet's quadrature points (1 per T4, 4 per T10), 6 per point. */
  gaussStress: Float64Array;
  gaussPointsPerTet: number;
  /** Volume-weighted mean stress per tet, 6 per tet. */
  stress: Float64Array;
  /** von Mises stress of `stress`, per tet. */
  vonMises: Float64Array;
  /** Principal stresses of `stress`, descending, 3 per tet. */
  principal: Float64Array;
  /** Volume-weighted average of the tet stresses around each node, 6 per node. */
  nodalStress: Float64Array;
  /** von Mises stress of `nodalStress`, per node. */
  nodalVonMises: Float64Array;
  /** Reaction force on each constrained degree of freedom (N; 0 elsewhere), 3 per node. */
  reactions: Float64Array;
  /** 1 for constrained degrees of freedom. */
  constrained: Uint8Array;
  convergence: Convergence;
  /** Where CG ran. */
  backend: 'cpu' | 'webgpu';
  /** 'f64', or 'f32-refined': f32 device CG inside f64 iterative refinement (residuals in f64). */
  precision: 'f64' | 'f32-refined';
  /** The WebGPU adapter, when the device ran. */
  adapter?: AdapterDescription;
  dofs: number;
}

/** Defaults of the solver settings. */
export const SOLVER_DEFAULTS: Required<SolverSettings> = { tolerance: 1e-10, maxIterations: 20000, preconditioner: 'auto' };
/**
 * 'auto' runs on a hardware GPU from this many unknowns (below it, transfers and per-iteration dispatches cost
 * more than the CPU's matvec).
 */
const MIN_GPU_DOFS = 200_000;
/** 'auto' uses the multilevel preconditioner on T10 problems from this many unknowns (see solve). */
const MIN_MULTILEVEL_DOFS = 50_000;

/**
 * Solves a static linear-elastic problem (small strain, isotropic materials per region) on T4 or T10 tets.
 * Units: mm, N, MPa (t/mm^3 for density). Dirichlet conditions are imposed by elimination (rows and columns
 * of constrained dofs replaced by identity), the system solved by preconditioned CG: in f64 on the CPU, or on
 * WebGPU in f32 with block Jacobi inside f64 iterative refinement (same tolerance on the f64 residual).
 * @example
 * ```ts
 * const r = await solve({ mesh, materials: [{ region: 1, E: 1e3, nu: 0.3 }],
 *   constraints: [{ nodes: { faceTag: 3 }, displacement: [0, 0, 0] }], loads: [{ faces: { faceTag: 1 }, pressure: 0.016 }] });
 * ```
 * @throws PhysiotwinError `CONFIG_INVALID` (with a JSON path) for a bad case or an empty selection;
 *   `MESH_INVALID` for a malformed, inverted or degenerate mesh; `SOLVER_SINGULAR` when constraints leave a
 *   rigid-body mode; `SOLVER_DIVERGED` / `SOLVER_NOT_CONVERGED` with the residual history; `ABORTED`;
 *   `GPU_UNAVAILABLE` for backend 'webgpu' without a device; `WORKER_CRASHED` when a matvec worker thread fails.
 */
export async function solve(problem: FemProblem, options: SolveOptions = {}): Promise<FemResult> {
  const spec = parseFemCase({ ...problem, mesh: 'in memory' });
  try {
    validateTetMesh(problem.mesh);
  } catch (e) {
    throw new PhysiotwinError('MESH_INVALID', (e as Error).message, { cause: e });
  }
  for (let i = 0; i < problem.mesh.positions.length; i++) {
    if (!Number.isFinite(problem.mesh.positions[i])) throw new PhysiotwinError('MESH_INVALID', `node ${Math.floor(i / 3)} has a non-finite coordinate`);
  }
  const element = spec.element ?? 'T10';
  if (element === 'T4' && problem.mesh.nodesPerTet === 10) throw new PhysiotwinError('CONFIG_INVALID', 'element "T4" on a 10-node mesh', { location: { jsonPath: '$.element' } });
  const mesh = element === 'T10' ? toQuadraticTets(problem.mesh) : problem.mesh;
  const topo = topology(mesh);
  const { nNodes, nTets } = topo;
  const byRegion = new Map(spec.materials.map((m) => [m.region, m]));
  for (let t = 0; t < nTets; t++) {
    if (!byRegion.has(topo.regions[t]!)) throw new PhysiotwinError('CONFIG_INVALID', `region ${topo.regions[t]} (tet ${t}) has no material`, { location: { jsonPath: '$.materials' } });
  }
  const lameByTet = tetMaterials(topo.regions, byRegion);

  const assemblyProgress = progressReporter(options, 'assemble', nTets);
  const a = assembleStiffness(mesh, lameByTet, (t) => (t & 1023) === 0 && assemblyProgress(t));
  throwIfAborted(options.signal, 'fem assembly');

  const n = 3 * nNodes;
  const f = new Float64Array(n);
  const faceNodes = new Uint32Array(6);
  (spec.loads ?? []).forEach((load, i) => {
    const path = `$.loads[${i}]`;
    if (load.faces) {
      for (const code of selectFaces(topo, load.faces, `${path}.faces`)) {
        const count = orientedFaceNodes(mesh, code >> 2, code & 3, faceNodes);
        addFaceLoad(mesh, faceNodes, count, load.traction, load.pressure ?? 0, f);
      }
    } else if (load.nodes) {
      const mask = selectNodes(topo, load.nodes, `${path}.nodes`);
      for (let v = 0; v < nNodes; v++) if (mask[v]) for (let d = 0; d < 3; d++) f[3 * v + d] = f[3 * v + d]! + load.force![d]!;
    } else {
      let hit = 0;
      for (let t = 0; t < nTets; t++) {
        if (load.region !== undefined && topo.regions[t] !== load.region) continue;
        addBodyForce(mesh, t, load.bodyForce!, f);
        hit++;
      }
      if (hit === 0) throw new PhysiotwinError('CONFIG_INVALID', `region ${load.region} has no tets`, { location: { jsonPath: `${path}.region` } });
    }
  });

  const constrained = new Uint8Array(n);
  const prescribed = new Float64Array(n);
  spec.constraints.forEach((c, i) => {
    const path = `$.constraints[${i}]`;
    const mask = selectNodes(topo, c.nodes, `${path}.nodes`);
    const comps = (c.components ?? ['x', 'y', 'z']).map((s) => 'xyz'.indexOf(s));
    for (let v = 0; v < nNodes; v++) {
      if (!mask[v]) continue;
      for (const d of comps) {
        const dof = 3 * v + d;
        if (constrained[dof] && prescribed[dof] !== c.displacement[d]) {
          throw new PhysiotwinError('CONFIG_INVALID', `node ${v} component ${'xyz'[d]} is prescribed ${prescribed[dof]} and ${c.displacement[d]}`, { location: { jsonPath: `${path}.displacement` } });
        }
        constrained[dof] = 1;
        prescribed[dof] = c.displacement[d]!;
      }
    }
  });
  // Nodes no tet uses carry no stiffness: hold them at zero (they are not part of the solid).
  const used = new Uint8Array(nNodes);
  for (let i = 0; i < mesh.tets.length; i++) used[mesh.tets[i]!] = 1;
  checkRigidModes(mesh, used, constrained);
  const reactionRows = saveConstrainedRows(a, constrained, f);
  const x = new Float64Array(n);
  applyDirichlet(a, f, constrained, prescribed, used, x);

  const settings = { ...SOLVER_DEFAULTS, ...spec.solver };
  const resolved = await chooseBackend(options, { op: 'fem solve', work: n, minWorkForGpu: MIN_GPU_DOFS });
  // The device solver has block Jacobi only; the multilevel preconditioner runs on the CPU.
  // 'auto' is block Jacobi below MIN_MULTILEVEL_DOFS unknowns or on T4, the multilevel preconditioner on larger
  // T10 problems (benchmarks/fem.bench.ts; the T10 cube at 108k unknowns: 28 vs 577 iterations and about 0.8x
  // Jacobi's time at nu = 0.3, 125 vs 2028 iterations and 0.4x at nu = 0.49; at 15k unknowns Jacobi is still faster).
  const kind =
    resolved.backend === 'webgpu' ? 'jacobi'
    : settings.preconditioner !== 'auto' ? settings.preconditioner
    : mesh.nodesPerTet === 10 && n >= MIN_MULTILEVEL_DOFS ? 'multilevel' : 'jacobi';
  const started = performance.now();
  const pcgOptions = { tolerance: settings.tolerance, maxIterations: settings.maxIterations, signal: options.signal, onProgress: options.onProgress };
  let result: PcgResult;
  if (resolved.backend === 'webgpu') {
    const { pcgWebgpu } = await import('./pcg.webgpu.js');
    result = await pcgWebgpu(resolved.gpu, a, f, x, pcgOptions);
  } else {
    // Multilevel: T10 through p-multigrid to T4, then smoothed aggregation; the finest level's products run on
    // the second vector pair of CG's kernel (one copy of the matrix).
    const kernel = bsrKernel(a, 'symmetric', { pairs: kind === 'multilevel' ? 2 : 1, threads: options.threads ?? 'auto' });
    try {
      const m: Preconditioner = kind === 'jacobi' ? blockJacobi(a) : mesh.nodesPerTet === 10 ? pMultigrid(a, kernel, mesh.tets, mesh.positions, constrained) : multilevel(a, mesh.positions, constrained, kernel.pair(1));
      result = pcg(a, f, x, m, pcgOptions, kernel);
    } finally {
      kernel.dispose();
    }
  }
  const solveSeconds = (performance.now() - started) / 1000;
  for (let i = 0; i < n; i++) if (!Number.isFinite(x[i])) throw new PhysiotwinError('SOLVER_DIVERGED', `displacement ${i} is not finite`, { details: { residualHistory: result.residualHistory } });

  const reactions = reactionForces(reactionRows, x, n);
  // Reactions: K_original u - f_external on constrained dofs; f was overwritten by the elimination, so rebuild
  // the external part there from the loads applied before it.
  for (let i = 0; i < n; i++) if (constrained[i]) reactions[i] = reactions[i]! - reactionRows.externalLoad[i]!;
  const stresses = computeStresses(mesh, lameByTet, x);
  // Finite displacements can still overflow in the stresses or reactions (issue 11: never a non-finite result).
  for (const [what, a] of [['stress', stresses.stress], ['nodal stress', stresses.nodalStress], ['reaction', reactions]] as const) {
    if (!a.every(Number.isFinite)) throw new PhysiotwinError('SOLVER_DIVERGED', `a ${what} is not finite (the case's magnitudes overflow double precision)`, { details: { residualHistory: result.residualHistory } });
  }
  return {
    mesh,
    displacement: x,
    ...stresses,
    reactions,
    constrained,
    convergence: { iterations: result.iterations, residualHistory: result.residualHistory, tolerance: settings.tolerance, preconditioner: kind, solveSeconds },
    backend: resolved.backend,
    precision: resolved.backend === 'webgpu' ? 'f32-refined' : 'f64',
    ...(resolved.backend === 'webgpu' ? { adapter: resolved.gpu.adapter } : {}),
    dofs: n,
  };
}

interface SavedRows {
  /** Original block rows of nodes with a constrained dof: node, then its blocks. */
  rows: Map<number, Array<{ col: number; block: Float64Array }>>;
  externalLoad: Float64Array;
}

function saveConstrainedRows(a: BsrMatrix, constrained: Uint8Array, f: Float64Array): SavedRows {
  const rows = new Map<number, Array<{ col: number; block: Float64Array }>>();
  for (let i = 0; i < a.n; i++) {
    if (!constrained[3 * i] && !constrained[3 * i + 1] && !constrained[3 * i + 2]) continue;
    const list: Array<{ col: number; block: Float64Array }> = [];
    for (let kk = a.rowPtr[i]!; kk < a.rowPtr[i + 1]!; kk++) list.push({ col: a.cols[kk]!, block: a.values.slice(9 * kk, 9 * kk + 9) });
    rows.set(i, list);
  }
  return { rows, externalLoad: f.slice() };
}

function reactionForces(saved: SavedRows, x: Float64Array, n: number): Float64Array {
  const out = new Float64Array(n);
  for (const [i, list] of saved.rows) {
    for (const { col, block } of list) {
      for (let r = 0; r < 3; r++) out[3 * i + r] = out[3 * i + r]! + block[3 * r]! * x[3 * col]! + block[3 * r + 1]! * x[3 * col + 1]! + block[3 * r + 2]! * x[3 * col + 2]!;
    }
  }
  return out;
}

/**
 * Elimination of prescribed dofs: f -= A[:, c] g, then row and column c become the identity and f[c] = g;
 * x starts at g there. Unused nodes are held at zero. Records the external loads on constrained dofs first.
 */
function applyDirichlet(a: BsrMatrix, f: Float64Array, constrained: Uint8Array, g: Float64Array, used: Uint8Array, x: Float64Array): void {
  for (let v = 0; v < used.length; v++) if (!used[v]) for (let d = 0; d < 3; d++) constrained[3 * v + d] = 1;
  const { rowPtr, cols, values } = a;
  for (let i = 0; i < a.n; i++) {
    for (let kk = rowPtr[i]!; kk < rowPtr[i + 1]!; kk++) {
      const j = cols[kk]!;
      for (let c = 0; c < 3; c++) {
        const dof = 3 * j + c;
        if (!constrained[dof]) continue;
        for (let r = 0; r < 3; r++) {
          const row = 3 * i + r;
          if (!constrained[row]) f[row] = f[row]! - values[9 * kk + 3 * r + c]! * g[dof]!;
        }
      }
    }
  }
  for (let i = 0; i < a.n; i++) {
    for (let kk = rowPtr[i]!; kk < rowPtr[i + 1]!; kk++) {
      const j = cols[kk]!;
      for (let r = 0; r < 3; r++) {
        for (let c = 0; c < 3; c++) {
          if (constrained[3 * i + r] || constrained[3 * j + c]) values[9 * kk + 3 * r + c] = i === j && r === c ? 1 : 0;
        }
      }
    }
  }
  for (let dof = 0; dof < f.length; dof++) {
    if (!constrained[dof]) continue;
    f[dof] = g[dof]!;
    x[dof] = g[dof]!;
  }
}

/** Stresses at quadrature points, per tet (volume-weighted), von Mises, principal, and nodal averages. */
export function computeStresses(mesh: TetMesh, lameByTet: Float64Array, u: Float64Array): Pick<FemResult, 'gaussStress' | 'gaussPointsPerTet' | 'stress' | 'vonMises' | 'principal' | 'nodalStress' | 'nodalVonMises'> {
  const k = mesh.nodesPerTet;
  const nTets = mesh.tets.length / k;
  const nNodes = mesh.positions.length / 3;
  const rule = k === 4 ? TET_RULE_1 : TET_RULE_4;
  const nq = rule.weights.length;
  const gaussStress = new Float64Array(nTets * nq * 6);
  const stress = new Float64Array(nTets * 6);
  const vm = new Float64Array(nTets);
  const principal = new Float64Array(nTets * 3);
  const nodal = new Float64Array(nNodes * 6);
  const weight = new Float64Array(nNodes);
  const s = elementScratch();
  const ue = new Float64Array(3 * k);
  for (let t = 0; t < nTets; t++) {
    gatherCoordinates(mesh, t, s.x);
    for (let i = 0; i < k; i++) for (let d = 0; d < 3; d++) ue[3 * i + d] = u[3 * mesh.tets[t * k + i]! + d]!;
    let volume = 0;
    for (let q = 0; q < nq; q++) {
      tetShape(k, rule.points[3 * q]!, rule.points[3 * q + 1]!, rule.points[3 * q + 2]!, s.n, s.dn);
      const w = rule.weights[q]! * physicalGradients(k, s.x, s.dn, s.grad);
      const at = (t * nq + q) * 6;
      stressFromGradients(k, lameByTet[2 * t]!, lameByTet[2 * t + 1]!, s.grad, ue, gaussStress, at);
      for (let c = 0; c < 6; c++) stress[6 * t + c] = stress[6 * t + c]! + w * gaussStress[at + c]!;
      volume += w;
    }
    for (let c = 0; c < 6; c++) stress[6 * t + c] = stress[6 * t + c]! / volume;
    vm[t] = vonMises(stress, 6 * t);
    principalStresses(stress, 6 * t, principal, 3 * t);
    for (let i = 0; i < k; i++) {
      const node = mesh.tets[t * k + i]!;
      weight[node] = weight[node]! + volume;
      for (let c = 0; c < 6; c++) nodal[6 * node + c] = nodal[6 * node + c]! + volume * stress[6 * t + c]!;
    }
  }
  const nodalVm = new Float64Array(nNodes);
  for (let v = 0; v < nNodes; v++) {
    if (weight[v]! > 0) for (let c = 0; c < 6; c++) nodal[6 * v + c] = nodal[6 * v + c]! / weight[v]!;
    nodalVm[v] = vonMises(nodal, 6 * v);
  }
  return { gaussStress, gaussPointsPerTet: nq, stress, vonMises: vm, principal, nodalStress: nodal, nodalVonMises: nodalVm };
}

/** The stiffness matrix of a problem (no boundary conditions), for benchmarks and external solvers. * @throws nothing
 */
export function stiffnessOf(problem: FemProblem): BsrMatrix {
  const spec = parseFemCase({ ...problem, mesh: 'in memory' });
  const mesh = (spec.element ?? 'T10') === 'T10' ? toQuadraticTets(problem.mesh) : problem.mesh;
  const topo = topology(mesh);
  const byRegion = new Map(spec.materials.map((m) => [m.region, m]));
  return assembleStiffness(mesh, tetMaterials(topo.regions, byRegion));
}

