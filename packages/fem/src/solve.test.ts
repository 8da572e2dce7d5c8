import { readFileSync } from 'node:fs';
import { isPhysiotwinError } from '@physiotwin/core';
import type { TetMesh } from '@physiotwin/core';
import { readMsh } from '@physiotwin/io';
import { describeBackends } from '@physiotwin/gpu/testing';
import { describe, expect, it } from 'vitest';
import { cantilever, lameCylinder, lameSphere, patchTest, relativeL2Error, solve } from './index.js';
import type { FemProblem } from './index.js';
import { TET_FACES, selectNodes, topology } from './select.js';

// Meshes made by Gmsh (fixtures/fem/make.sh); references are closed forms (see verify.ts).
const load = (name: string): TetMesh => readMsh(readFileSync(new URL(`../../../fixtures/fem/${name}.msh`, import.meta.url))).mesh;

async function code(p: Promise<unknown>): Promise<string> {
  try {
    await p;
    return 'none';
  } catch (e) {
    return isPhysiotwinError(e) ? `${e.code}${e.location?.jsonPath ? ` ${e.location.jsonPath}` : ''}` : String(e);
  }
}

/** Mean radial displacement of the corner nodes of the faces tagged 1 (the inner surface). */
function innerRadialDisplacement(mesh: TetMesh, u: Float64Array, dims: 2 | 3): number {
  const nodes = new Set<number>();
  for (let f = 0; f < mesh.boundaryLabels!.length; f++) if (mesh.boundaryLabels![f] === 1) for (let i = 0; i < 3; i++) nodes.add(mesh.boundaryFaces![3 * f + i]!);
  let sum = 0;
  for (const v of nodes) {
    const x = [0, 1, 2].map((d) => (d < dims ? mesh.positions[3 * v + d]! : 0));
    sum += (u[3 * v]! * x[0]! + u[3 * v + 1]! * x[1]! + u[3 * v + 2]! * x[2]!) / Math.hypot(...x);
  }
  return sum / nodes.size;
}

describe('3D patch test (MacNeal-Harder displacements, E = 1e6, nu = 0.25)', () => {
  const cases: Array<[string, 'T4' | 'T10']> = [['cube-t4', 'T4'], ['cube-t4', 'T10'], ['cube-t10', 'T10']];
  for (const [name, element] of cases) {
    it(`${name} as ${element}: stress 2000 normal and 400 shear at every quadrature point, to 1e-10`, async () => {
      const mesh = load(name);
      // The T4 mesh solved as T10 is promoted inside solve; its boundary nodes include the new mid-edge nodes,
      // so pick them on the promoted mesh (same promotion: toQuadraticTets is deterministic).
      const { toQuadraticTets } = await import('@physiotwin/mesh');
      const solved = element === 'T10' ? toQuadraticTets(mesh) : mesh;
      const boundary: number[] = [];
      for (let v = 0; v < solved.positions.length / 3; v++) {
        const x = [0, 1, 2].map((d) => solved.positions[3 * v + d]!);
        if (Math.min(...x) < 1e-12 || Math.max(...x) > 1 - 1e-12) boundary.push(v);
      }
      const { problem, exact } = patchTest(solved, element, boundary);
      const r = await solve(problem, { backend: 'cpu' });
      expect(r.mesh.nodesPerTet).toBe(element === 'T4' ? 4 : 10);
      let worst = 0;
      for (let q = 0; q < r.gaussStress.length / 6; q++) {
        for (let c = 0; c < 6; c++) worst = Math.max(worst, Math.abs(r.gaussStress[6 * q + c]! - (c < 3 ? 2000 : 400)) / 2000);
      }
      // CG to 1e-14 relative residual in f64: the stresses of the linear field come out exact to rounding.
      expect(worst).toBeLessThan(1e-10);
      let uWorst = 0;
      for (let v = 0; v < r.mesh.positions.length / 3; v++) {
        const e = exact(r.mesh.positions[3 * v]!, r.mesh.positions[3 * v + 1]!, r.mesh.positions[3 * v + 2]!);
        for (let d = 0; d < 3; d++) uWorst = Math.max(uWorst, Math.abs(r.displacement[3 * v + d]! - e[d]!) / 2e-3);
      }
      expect(uWorst).toBeLessThan(1e-10);
      expect(Math.max(...r.vonMises) - Math.min(...r.vonMises)).toBeLessThan(1e-6);
      // Principal stresses of [[2000,400,400],[400,2000,400],[400,400,2000]]: 2800, 1600, 1600.
      // The closed-form eigenvalues lose half the digits at a repeated root (error ~ sqrt(eps) relative).
      expect(Math.abs(r.principal[0]! - 2800)).toBeLessThan(2800 * 5e-8);
      expect(Math.abs(r.principal[1]! - 1600)).toBeLessThan(2800 * 5e-8);
      expect(Math.abs(r.principal[2]! - 1600)).toBeLessThan(2800 * 5e-8);
    });
  }
});

describe('Lame thick cylinder, plane strain (a = 1, b = 2 mm, p = 1 MPa, E = 1000 MPa)', () => {
  for (const [nu, bound] of [[0.3, 0.005], [0.49, 0.01]] as const) {
    it(`T10 inner-surface radial displacement within ${bound * 100}% at nu = ${nu} (coarsest mesh, h = 0.5 mm)`, async () => {
      const vp = lameCylinder(load('cylinder-t10-0.5'), 'T10', nu);
      const r = await solve(vp.problem);
      const ref = vp.exact(1, 0, 0)[0];
      expect(Math.abs(innerRadialDisplacement(r.mesh, r.displacement, 2) - ref) / ref).toBeLessThan(bound);
    });
  }

  it('observed L2 displacement orders near 2 (T4) and 3 (T10), h = 0.25 -> 0.125 mm', async () => {
    const order = async (element: 'T4' | 'T10') => {
      const errors: number[] = [];
      for (const h of ['0.25', '0.125']) {
        const vp = lameCylinder(load(`cylinder-${element.toLowerCase()}-${h}`), element, 0.3);
        const r = await solve(vp.problem);
        errors.push(relativeL2Error(r.mesh, r.displacement, vp.exact));
      }
      return Math.log2(errors[0]! / errors[1]!);
    };
    // Unstructured meshes of nominal size h: orders scatter around the asymptotic 2 and 3 (measured 1.89, 2.77).
    const t4 = await order('T4');
    const t10 = await order('T10');
    expect(t4).toBeGreaterThan(1.7);
    expect(t4).toBeLessThan(2.4);
    expect(t10).toBeGreaterThan(2.5);
    expect(t10).toBeLessThan(3.5);
  });
});

describe('Lame thick sphere and cantilever', () => {
  it('thick sphere T10 (h = 0.35 mm, nu = 0.3): inner radial displacement within 0.5%', async () => {
    const vp = lameSphere(load('sphere-t10-0.35'), 'T10', 0.3);
    const r = await solve(vp.problem);
    const ref = vp.exact(1, 0, 0)[0];
    expect(Math.abs(innerRadialDisplacement(r.mesh, r.displacement, 3) - ref) / ref).toBeLessThan(0.005);
  });

  it('cantilever T10 (h = 0.5 mm): tip deflection within 2% of Timoshenko; reactions balance the load', async () => {
    const vp = cantilever(load('cantilever-t10-0.5'), 'T10');
    vp.problem.solver = { tolerance: 1e-12, preconditioner: 'multilevel' };
    const r = await solve(vp.problem);
    let w = 0;
    let n = 0;
    let rz = 0;
    for (let v = 0; v < r.mesh.positions.length / 3; v++) {
      if (Math.abs(r.mesh.positions[3 * v]! - 10) < 1e-9) {
        w += r.displacement[3 * v + 2]!;
        n++;
      }
      rz += r.reactions[3 * v + 2]!;
    }
    expect(Math.abs(-w / n - vp.tipDeflection) / vp.tipDeflection).toBeLessThan(0.02);
    // Equilibrium: the clamp carries the whole tip force P = 0.01 N (CG tolerance 1e-12).
    expect(Math.abs(rz - 0.01) / 0.01).toBeLessThan(1e-8);
    expect(r.convergence.preconditioner).toBe('multilevel');
  });
});

describe('selectors and errors', () => {
  const cube = load('cube-t4');
  const base = (): FemProblem => ({
    mesh: cube,
    element: 'T4',
    materials: [{ region: 1, E: 1000, nu: 0.3 }],
    constraints: [{ nodes: { plane: { point: [0, 0, 0], normal: [0, 0, 1] } }, displacement: [0, 0, 0] }],
    loads: [{ faces: { plane: { point: [0, 0, 1], normal: [0, 0, 1] } }, pressure: 1 }],
  });

  it('selectors pick the nodes their geometry says', () => {
    const topo = topology(cube);
    const count = (m: Uint8Array) => m.reduce((s, v) => s + v, 0);
    const p = cube.positions;
    const expected = (f: (x: number, y: number, z: number) => boolean) => {
      let c = 0;
      for (let v = 0; v < p.length / 3; v++) if (f(p[3 * v]!, p[3 * v + 1]!, p[3 * v + 2]!)) c++;
      return c;
    };
    expect(count(selectNodes(topo, { plane: { point: [0.5, 0, 0], normal: [2, 0, 0] }, tolerance: 1e-9 }, '$'))).toBe(expected((x) => Math.abs(x - 0.5) <= 1e-9));
    expect(count(selectNodes(topo, { box: { min: [0, 0, 0], max: [0.5, 0.5, 1] } }, '$'))).toBe(expected((x, y) => x <= 0.5 + 1e-6 * Math.sqrt(3) && y <= 0.5 + 1e-6 * Math.sqrt(3)));
    expect(count(selectNodes(topo, { sphere: { center: [0.5, 0.5, 0.5], radius: 0.4 } }, '$'))).toBe(expected((x, y, z) => Math.hypot(x - 0.5, y - 0.5, z - 0.5) <= 0.4 + 1e-6 * Math.sqrt(3)));
    expect(count(selectNodes(topo, { cylinder: { point: [0, 0, 0], axis: [0, 0, 3], radius: 0.5 } }, '$'))).toBe(expected((x, y) => Math.hypot(x, y) <= 0.5 + 1e-6 * Math.sqrt(3)));
    expect(count(selectNodes(topo, { region: 1 }, '$'))).toBe(p.length / 3);
    expect(count(selectNodes(topo, { faceTag: 1 }, '$'))).toBe(expected((x, y, z) => Math.min(x, y, z) === 0 || Math.max(x, y, z) === 1));
  });

  it('the face table finds every tet face by its corners in any order, and the exterior ones', () => {
    const topo = topology(cube);
    const faces = topo.faces();
    const { tets } = cube;
    // Count each face by a sorted-corner string key (the slow, obvious way) to compare with the hash table.
    const uses = new Map<string, number>();
    const key = (c: number[]) => [...c].sort((x, y) => x - y).join(',');
    const cornersOf = (code: number) => TET_FACES[code & 3]!.map((i) => tets[4 * (code >> 2) + i]!);
    for (let t = 0; t < topo.nTets; t++) {
      for (let f = 0; f < 4; f++) {
        const c = cornersOf(4 * t + f);
        uses.set(key(c), (uses.get(key(c)) ?? 0) + 1);
        for (const [a, b, d] of [[0, 1, 2], [2, 0, 1], [1, 2, 0], [2, 1, 0]] as const) {
          const owner = faces.owner(c[a]!, c[b]!, c[d]!);
          expect(key(cornersOf(owner))).toBe(key(c));
        }
      }
    }
    const exterior = faces.exterior();
    expect(exterior.length).toBe([...uses.values()].filter((n) => n === 1).length);
    for (const code of exterior) expect(uses.get(key(cornersOf(code)))).toBe(1);
    // Corner triples that are no face: a repeated node, nodes the mesh does not have.
    expect(faces.owner(0, 0, 0)).toBe(-1);
    expect(faces.owner(topo.nNodes, topo.nNodes + 1, topo.nNodes + 2)).toBe(-1);
  });

  it('a pressure on the top pushes it down (positive into the solid)', async () => {
    const r = await solve(base());
    let top = 0;
    for (let v = 0; v < cube.positions.length / 3; v++) if (cube.positions[3 * v + 2] === 1) top = Math.min(top, r.displacement[3 * v + 2]!);
    expect(top).toBeLessThan(0);
  });

  it('bad cases fail with typed errors and JSON paths', async () => {
    const bad = base();
    bad.materials[0]!.E = -1;
    expect(await code(solve(bad))).toBe('CONFIG_INVALID $.materials[0].E');
    const empty = base();
    empty.constraints.push({ nodes: { box: { min: [5, 5, 5], max: [6, 6, 6] } }, displacement: [0, 0, 0] });
    expect(await code(solve(empty))).toBe('CONFIG_INVALID $.constraints[1].nodes');
    const noMaterial = base();
    noMaterial.materials[0]!.region = 2;
    expect(await code(solve(noMaterial))).toBe('CONFIG_INVALID $.materials');
    const twoKinds = base() as unknown as { constraints: Array<{ nodes: object }> } & FemProblem;
    twoKinds.constraints[0]!.nodes = { region: 1, faceTag: 1 };
    expect(await code(solve(twoKinds))).toBe('CONFIG_INVALID $.constraints[0].nodes');
    const free = base();
    free.constraints = [{ nodes: { plane: { point: [0, 0, 0], normal: [0, 0, 1] } }, components: ['z'], displacement: [0, 0, 0] }];
    expect(await code(solve(free))).toBe('SOLVER_SINGULAR');
    const inverted = base();
    const tets = cube.tets.slice();
    [tets[0], tets[1]] = [tets[1]!, tets[0]!];
    inverted.mesh = { ...cube, tets };
    expect(await code(solve(inverted))).toBe('MESH_INVALID');
    expect(await code(solve(base(), { backend: 'gpu' as 'cpu' }))).toBe('INVALID_ARGUMENT');
    const controller = new AbortController();
    controller.abort();
    expect(await code(solve(base(), { signal: controller.signal }))).toBe('ABORTED');
    const capped = base();
    capped.solver = { maxIterations: 2, preconditioner: 'jacobi' };
    expect(await code(solve(capped))).toBe('SOLVER_NOT_CONVERGED');
  });
});

describeBackends('fem solve on the device', (b) => {
  // The device runs f32 CG inside f64 iterative refinement to the same 1e-12 residual as the CPU, so the
  // displacements agree far inside the 1e-4 the issue asks; the patch-test stresses to 1e-5 (f32 device, f64
  // refinement: observed ~1e-12).
  const parity = async (problem: FemProblem) => {
    const cpu = await solve(problem, { backend: 'cpu' });
    const gpu = await solve(problem, b.options());
    expect(gpu.backend).toBe('webgpu');
    expect(gpu.precision).toBe('f32-refined');
    let diff = 0;
    let scale = 0;
    for (let i = 0; i < cpu.displacement.length; i++) {
      diff = Math.max(diff, Math.abs(gpu.displacement[i]! - cpu.displacement[i]!));
      scale = Math.max(scale, Math.abs(cpu.displacement[i]!));
    }
    expect(diff / scale).toBeLessThan(1e-4);
    return gpu;
  };

  it('patch test (T4): stresses to 1e-5, displacements as the CPU', async () => {
    const mesh = load('cube-t4');
    const boundary: number[] = [];
    for (let v = 0; v < mesh.positions.length / 3; v++) {
      const x = [0, 1, 2].map((d) => mesh.positions[3 * v + d]!);
      if (Math.min(...x) < 1e-12 || Math.max(...x) > 1 - 1e-12) boundary.push(v);
    }
    const { problem } = patchTest(mesh, 'T4', boundary);
    problem.solver = { tolerance: 1e-12 };
    const r = await parity(problem);
    let worst = 0;
    for (let q = 0; q < r.gaussStress.length; q++) worst = Math.max(worst, Math.abs(r.gaussStress[q]! - (q % 6 < 3 ? 2000 : 400)) / 2000);
    expect(worst).toBeLessThan(1e-5);
  });

  it('Lame cylinder T4 and T10, Lame sphere T4 (coarsest meshes): displacements within 1e-4 of the CPU', async () => {
    await parity(lameCylinder(load('cylinder-t4-0.5'), 'T4', 0.3).problem);
    await parity(lameCylinder(load('cylinder-t10-0.5'), 'T10', 0.3).problem);
    await parity(lameSphere(load('sphere-t4-0.5'), 'T4', 0.3).problem);
  }, 300_000);
}, { backends: ['webgpu'], reason: 'parity of the device solver against the CPU f64 reference (the CPU suites above are the reference)' });
