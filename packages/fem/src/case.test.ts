// parseFemCase on hostile values the FE case fuzz target (test/fuzz/fem.ts, issue 11) found or aims at: each is
// CONFIG_INVALID with the JSON path of the value, before any solve.
import { isPhysiotwinError } from '@physiotwin/core';
import { describe, expect, it } from 'vitest';
import { parseFemCase } from './index.js';

const base = () => ({
  mesh: 'cube.msh',
  element: 'T4',
  materials: [{ region: 1, E: 1000, nu: 0.3 }],
  constraints: [{ nodes: { faceTag: 1 }, displacement: [0, 0, 0] }],
  loads: [{ faces: { faceTag: 2 }, pressure: 1 }],
  solver: { tolerance: 1e-10, maxIterations: 100 },
});

/** The JSON path of the CONFIG_INVALID a case gives (a raw error or another code fails). */
function pathOf(json: unknown): string | undefined {
  try {
    parseFemCase(json);
  } catch (e) {
    if (isPhysiotwinError(e) && e.code === 'CONFIG_INVALID') return e.location?.jsonPath;
    throw e;
  }
  return undefined;
}

describe('parseFemCase: hostile values', () => {
  it('a prescribed displacement of 1e308 mm is refused (it made every stress of the solve Infinity)', () => {
    const c = base();
    c.constraints[0]!.displacement = [1e308, 0, 0];
    expect(pathOf(c)).toBe('$.constraints[0].displacement[0]');
  });

  it('magnitudes past 1e12 and an E below 1e-12 MPa are refused; the bounds themselves pass', () => {
    const huge = base();
    huge.loads[0]!.pressure = -1e13;
    expect(pathOf(huge)).toBe('$.loads[0].pressure');
    const soft = base();
    soft.materials[0]!.E = 5e-324;
    expect(pathOf(soft)).toBe('$.materials[0].E');
    const edge = base();
    edge.materials[0]!.E = 1e-12;
    edge.loads[0]!.pressure = 1e12;
    expect(pathOf(edge)).toBeUndefined();
  });

  it('a tolerance below 1e-15 is refused (1e-300 ended T10 solves of a well-posed cube in SOLVER_SINGULAR)', () => {
    for (const tolerance of [1e-300, 5e-324, 1e-16, 0]) {
      const c = base();
      c.solver.tolerance = tolerance;
      expect(pathOf(c)).toBe('$.solver.tolerance');
    }
    const c = base();
    c.solver.tolerance = 1e-15;
    expect(pathOf(c)).toBeUndefined();
  });

  it('nu = 0.5, maxIterations 1e12.5 and NaN are refused with their paths', () => {
    const nu = base();
    nu.materials[0]!.nu = 0.5;
    expect(pathOf(nu)).toBe('$.materials[0].nu');
    const it = base();
    it.solver.maxIterations = 1e12 + 0.5;
    expect(pathOf(it)).toBe('$.solver.maxIterations');
    const nan = base();
    nan.constraints[0]!.displacement = [0, Number.NaN, 0];
    expect(pathOf(nan)).toBe('$.constraints[0].displacement[1]');
  });
});
