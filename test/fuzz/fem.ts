// The FE case fuzz target (issue 11): `physiotwin fem`'s case JSON, mutated (wrong types, nulls, huge, negative and
// non-finite numbers, empty or giant arrays, bad selectors, nu = 0.5, E <= 0, maxIterations 1e12, tolerance 0 or
// 1e-300), read by parseFemCase and solved on the CPU on a 6-tet cube (T4, or promoted to T10), whose mesh is
// sometimes broken too (a NaN coordinate, a node index out of range, an inverted or flat tet). The outcome is a
// typed error (CONFIG_INVALID with a JSON path, MESH_INVALID, SOLVER_*, LIMIT_EXCEEDED) or a finite result.
import fc from 'fast-check';
import type { TetMesh } from '@physiotwin/core';
import { PhysiotwinError } from '@physiotwin/core';
import { parseFemCase, solve } from '@physiotwin/fem';
import type { FuzzTarget } from './harness.js';
import { HOSTILE_JSON, jsonMutations, mutateJson } from './mutate.js';
import type { JsonMutation } from './mutate.js';
import { tinyTetMesh } from './meshes.js';

/** The case file's hostile values: the JSON ones and the FE ones that sit at a check's edge. */
const HOSTILE_FEM: readonly unknown[] = [
  ...HOSTILE_JSON,
  0.5,
  0.49999999999,
  -1,
  -0.99999999,
  1e12,
  1e-300,
  5e-324,
  1 - 1e-16,
  'T4',
  'T10',
  'T20',
  'multilevel',
  'jacobi',
  'auto',
  ['x'],
  ['x', 'x', 'x', 'x'],
  [1e308, 1e308, 1e308],
  [0, 0, 0],
  [1e-300, 0, 0],
  Array.from({ length: 10_000 }, () => ({ nodes: { region: 1 }, displacement: [0, 0, 0] })),
  { faceTag: 1 },
  { region: 1 },
  { box: { min: [0, 0, 0], max: [0, 0, 0] } },
  { plane: { point: [0, 0, 0], normal: [1e-300, 0, 0] } },
];

/** Seed cases on the tiny cube (faces: 1 at x = 0, 2 at x = 10; region 1): every selector and load kind. */
const CASES: Record<string, unknown> = {
  'T4 faceTag pressure': {
    mesh: 'cube.msh',
    element: 'T4',
    materials: [{ region: 1, E: 1000, nu: 0.3 }],
    constraints: [{ nodes: { faceTag: 1 }, displacement: [0, 0, 0] }],
    loads: [{ faces: { faceTag: 2 }, pressure: 1 }],
  },
  'T10 box force body': {
    mesh: 'cube.msh',
    materials: [{ region: 1, E: 200000, nu: 0.49, density: 7.8e-9 }],
    constraints: [{ nodes: { box: { min: [0, 0, 0], max: [0, 5, 4] } }, components: ['x', 'y', 'z'], displacement: [0, 0, 0] }],
    loads: [
      { nodes: { plane: { point: [10, 0, 0], normal: [1, 0, 0] } }, force: [0, 0, -1] },
      { bodyForce: [0, 0, -1e-5], region: 1 },
    ],
    solver: { tolerance: 1e-8, maxIterations: 500, preconditioner: 'jacobi' },
  },
  'T4 sphere cylinder traction multilevel': {
    mesh: 'cube.msh',
    element: 'T4',
    materials: [{ region: 1, E: 1, nu: -0.5 }],
    constraints: [
      { nodes: { cylinder: { point: [0, 0, 0], axis: [0, 1, 0], radius: 0.5 }, tolerance: 0.01 }, displacement: [0, 0, 0] },
      { nodes: { sphere: { center: [10, 5, 4], radius: 1 } }, components: ['z'], displacement: [0, 0, 0.1] },
      { nodes: { region: 1 }, components: ['y'], displacement: [0, 0, 0] },
    ],
    loads: [{ faces: { faceTag: 2 }, traction: [1, 0, 0] }],
    solver: { preconditioner: 'multilevel' },
  },
  // The solver at its limits: the smallest tolerance and the most iterations a case may ask for.
  'T10 multilevel tolerance 1e-15 maxIterations 1e12': {
    mesh: 'cube.msh',
    materials: [{ region: 1, E: 1e-12, nu: 0.4999 }],
    constraints: [{ nodes: { faceTag: 1 }, displacement: [0, 0, 0] }],
    loads: [{ faces: { faceTag: 2 }, pressure: 1e12 }],
    solver: { tolerance: 1e-15, maxIterations: 1e12, preconditioner: 'multilevel' },
  },
};
const CASE_NAMES = Object.keys(CASES);

/** How the mesh is broken for an input. */
const MESH_DEFECTS = ['none', 'NaN coordinate', 'node index out of range', 'inverted tet', 'flat tet', 'no regions'] as const;

function brokenMesh(defect: (typeof MESH_DEFECTS)[number]): TetMesh {
  const m = tinyTetMesh();
  if (defect === 'NaN coordinate') m.positions[4] = Number.NaN;
  else if (defect === 'node index out of range') m.tets[5] = 99;
  else if (defect === 'inverted tet') [m.tets[1], m.tets[2]] = [m.tets[2]!, m.tets[1]!];
  else if (defect === 'flat tet') for (let i = 0; i < 8; i++) m.positions[3 * i + 2] = 0;
  else if (defect === 'no regions') m.regions = undefined;
  return m;
}

type FemInput = { seed: number; mutations: JsonMutation[]; defect: number };

export function femTarget(): FuzzTarget<FemInput> {
  return {
    name: 'FE case (parseFemCase + solve, CPU, 6-tet cube)',
    arbitrary: fc.record({
      seed: fc.nat({ max: CASE_NAMES.length - 1 }),
      mutations: fc.oneof({ weight: 1, arbitrary: fc.constant<JsonMutation[]>([]) }, { weight: 8, arbitrary: jsonMutations(HOSTILE_FEM) }),
      defect: fc.oneof({ weight: 6, arbitrary: fc.constant(0) }, { weight: 1, arbitrary: fc.nat({ max: MESH_DEFECTS.length - 1 }) }),
    }),
    recipes: { all: [...CASE_NAMES, ...MESH_DEFECTS], of: ({ seed, defect }) => [CASE_NAMES[seed]!, MESH_DEFECTS[defect]!] },
    async run({ seed, mutations, defect }) {
      const json = mutateJson(CASES[CASE_NAMES[seed]!], mutations, HOSTILE_FEM);
      let r;
      try {
        r = await solve({ ...parseFemCase(json), mesh: brokenMesh(MESH_DEFECTS[defect]!) }, { backend: 'cpu' });
      } catch (e) {
        // A CONFIG_INVALID must say where (issue 12: the JSON path of the problem).
        if (e instanceof PhysiotwinError && e.code === 'CONFIG_INVALID' && !e.location?.jsonPath) throw new Error(`CONFIG_INVALID without a JSON path: ${e.message}`);
        throw e;
      }
      for (const [name, a] of Object.entries({ displacement: r.displacement, stress: r.stress, vonMises: r.vonMises, reactions: r.reactions, nodalStress: r.nodalStress })) {
        if (!a.every(Number.isFinite)) throw new Error(`the result's ${name} holds non-finite values`);
      }
      return {};
    },
  };
}
