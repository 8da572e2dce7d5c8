import type { TetMesh } from '@physiotwin/core';
import type { Constraint, FemProblem } from './case.js';
import { gatherCoordinates } from './assemble.js';
import { TET_RULE_4, elementScratch, physicalGradients, tetShape } from './element.js';

// Verification problems with closed-form answers, shared by the tests and `physiotwin fem verify`. Each builds a
// case for a given mesh (the fixtures in fixtures/fem: meshes made by Gmsh with the tags named there) and knows
// its exact displacement field. Units: mm, N, MPa.

/** A verification problem: the case to solve and its exact displacement at a point. */
export interface VerificationProblem {
  problem: FemProblem;
  exact(x: number, y: number, z: number): [number, number, number];
}

/**
 * MacNeal-Harder 3D patch test: u = 1e-3 (2x + y + z)/2, v = 1e-3 (x + 2y + z)/2, w = 1e-3 (x + y + 2z)/2
 * prescribed on every boundary node of the mesh (faces tagged `boundaryTag`), E = 1e6, nu = 0.25. Exact
 * stresses: 2000 normal, 400 shear, everywhere.
 * @throws nothing
 */
export function patchTest(mesh: TetMesh, element: 'T4' | 'T10', boundaryNodes: Iterable<number>): VerificationProblem {
  const exact = (x: number, y: number, z: number): [number, number, number] => [(1e-3 * (2 * x + y + z)) / 2, (1e-3 * (x + 2 * y + z)) / 2, (1e-3 * (x + y + 2 * z)) / 2];
  const constraints: Constraint[] = [];
  // One tiny-sphere constraint per boundary node: each node gets its own prescribed displacement.
  for (const v of boundaryNodes) {
    const p = mesh.positions;
    const c: [number, number, number] = [p[3 * v]!, p[3 * v + 1]!, p[3 * v + 2]!];
    constraints.push({ nodes: { sphere: { center: c, radius: 1e-9 }, tolerance: 0 }, displacement: exact(...c) });
  }
  return {
    problem: { mesh, element, materials: [{ region: 1, E: 1e6, nu: 0.25 }], constraints, solver: { tolerance: 1e-14 } },
    exact,
  };
}

/**
 * Lame's thick cylinder in plane strain (inner radius a, outer b, internal pressure p) on the quarter-slab mesh
 * of fixtures/fem/cylinder.geo (faces: 1 inner, 3 x = 0, 4 y = 0, 5 z faces): symmetry on x = 0 and y = 0,
 * u_z = 0 on both z faces. u_r(r) = (1 + nu) p a^2 / (E (b^2 - a^2)) ((1 - 2 nu) r + b^2 / r).
 * @throws nothing
 */
export function lameCylinder(mesh: TetMesh, element: 'T4' | 'T10', nu: number, options: { a?: number; b?: number; E?: number; p?: number } = {}): VerificationProblem {
  const { a = 1, b = 2, E = 1000, p = 1 } = options;
  const c = ((1 + nu) * p * a * a) / (E * (b * b - a * a));
  return {
    problem: {
      mesh,
      element,
      materials: [{ region: 1, E, nu }],
      constraints: [
        { nodes: { faceTag: 3 }, components: ['x'], displacement: [0, 0, 0] },
        { nodes: { faceTag: 4 }, components: ['y'], displacement: [0, 0, 0] },
        { nodes: { faceTag: 5 }, components: ['z'], displacement: [0, 0, 0] },
      ],
      loads: [{ faces: { faceTag: 1 }, pressure: p }],
      solver: { tolerance: 1e-12 },
    },
    exact(x, y) {
      const r = Math.hypot(x, y);
      const ur = c * ((1 - 2 * nu) * r + (b * b) / r);
      return [(ur * x) / r, (ur * y) / r, 0];
    },
  };
}

/**
 * Lame's thick sphere (inner radius a, outer b, internal pressure p) on the octant mesh of
 * fixtures/fem/sphere.geo (face 1 inner): symmetry on the three coordinate planes.
 * u_r(r) = p a^3 / (E (b^3 - a^3)) ((1 - 2 nu) r + (1 + nu) b^3 / (2 r^2)).
 * @throws nothing
 */
export function lameSphere(mesh: TetMesh, element: 'T4' | 'T10', nu: number, options: { a?: number; b?: number; E?: number; p?: number } = {}): VerificationProblem {
  const { a = 1, b = 2, E = 1000, p = 1 } = options;
  const c = (p * a ** 3) / (E * (b ** 3 - a ** 3));
  const plane = (normal: [number, number, number]) => ({ plane: { point: [0, 0, 0] as [number, number, number], normal } });
  return {
    problem: {
      mesh,
      element,
      materials: [{ region: 1, E, nu }],
      constraints: [
        { nodes: plane([1, 0, 0]), components: ['x'], displacement: [0, 0, 0] },
        { nodes: plane([0, 1, 0]), components: ['y'], displacement: [0, 0, 0] },
        { nodes: plane([0, 0, 1]), components: ['z'], displacement: [0, 0, 0] },
      ],
      loads: [{ faces: { faceTag: 1 }, pressure: p }],
      solver: { tolerance: 1e-12 },
    },
    exact(x, y, z) {
      const r = Math.hypot(x, y, z);
      const ur = c * ((1 - 2 * nu) * r + ((1 + nu) * b ** 3) / (2 * r * r));
      return [(ur * x) / r, (ur * y) / r, (ur * z) / r];
    },
  };
}

/**
 * Cantilever 10 x 1 x 1 mm (fixtures/fem/cantilever.geo: face 1 clamped, face 2 tip) under a uniform shear
 * traction on the tip giving total force P along -z. Timoshenko: w = P L^3 / (3 E I) + P L / (k G A) with
 * Cowper's k = 10 (1 + nu) / (12 + 11 nu) for a rectangle.
 * @throws nothing
 */
export function cantilever(mesh: TetMesh, element: 'T4' | 'T10', options: { E?: number; nu?: number; P?: number } = {}): VerificationProblem & { tipDeflection: number } {
  const { E = 1000, nu = 0.3, P = 0.01 } = options;
  const L = 10, A = 1, I = 1 / 12;
  const G = E / (2 * (1 + nu));
  const k = (10 * (1 + nu)) / (12 + 11 * nu);
  const tipDeflection = (P * L ** 3) / (3 * E * I) + (P * L) / (k * G * A);
  return {
    problem: {
      mesh,
      element,
      materials: [{ region: 1, E, nu }],
      constraints: [{ nodes: { faceTag: 1 }, displacement: [0, 0, 0] }],
      loads: [{ faces: { faceTag: 2 }, traction: [0, 0, -P / A] }],
      solver: { tolerance: 1e-12 },
    },
    exact: () => [0, 0, -tipDeflection],
    tipDeflection,
  };
}

/**
 * Relative L2 norm of the displacement error, ||u_h - u|| / ||u||, integrated with the 4-point rule over every
 * tet (isoparametric geometry).
 * @throws nothing
 */
export function relativeL2Error(mesh: TetMesh, u: Float64Array, exact: VerificationProblem['exact']): number {
  const k = mesh.nodesPerTet;
  const s = elementScratch();
  let err = 0;
  let ref = 0;
  for (let t = 0; t < mesh.tets.length / k; t++) {
    gatherCoordinates(mesh, t, s.x);
    for (let q = 0; q < 4; q++) {
      tetShape(k, TET_RULE_4.points[3 * q]!, TET_RULE_4.points[3 * q + 1]!, TET_RULE_4.points[3 * q + 2]!, s.n, s.dn);
      const w = TET_RULE_4.weights[q]! * physicalGradients(k, s.x, s.dn, s.grad);
      const xq = [0, 0, 0];
      const uq = [0, 0, 0];
      for (let i = 0; i < k; i++) {
        const node = mesh.tets[t * k + i]!;
        for (let d = 0; d < 3; d++) {
          xq[d]! += s.n[i]! * s.x[3 * i + d]!;
          uq[d]! += s.n[i]! * u[3 * node + d]!;
        }
      }
      const ue = exact(xq[0]!, xq[1]!, xq[2]!);
      for (let d = 0; d < 3; d++) {
        err += w * (uq[d]! - ue[d]!) ** 2;
        ref += w * ue[d]! ** 2;
      }
    }
  }
  return Math.sqrt(err / ref);
}
