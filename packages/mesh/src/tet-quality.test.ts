import { describe, expect, it } from 'vitest';
import { isPhysiotwinError } from '@physiotwin/core';
import { assertValidTets, tetFaceNeighbours, tetQuality } from './tet-quality.js';

// The regular tet with edge 2 sqrt 2 (alternate corners of a cube of side 2): dihedral acos(1/3) = 70.53 deg,
// radius ratio 1, volume 8/3.
const regular = new Float64Array([1, 1, 1, 1, -1, -1, -1, 1, -1, -1, -1, 1]);

describe('tet quality', () => {
  it('measures the regular tet exactly', () => {
    const q = tetQuality({ positions: regular, tets: new Uint32Array([0, 1, 2, 3]), nodesPerTet: 4 });
    const positive = q.volume > 0 ? q : tetQuality({ positions: regular, tets: new Uint32Array([0, 2, 1, 3]), nodesPerTet: 4 });
    expect(positive.volume).toBeCloseTo(8 / 3, 12);
    expect(positive.minDihedralDeg).toBeCloseTo((Math.acos(1 / 3) * 180) / Math.PI, 10);
    expect(positive.maxDihedralDeg).toBeCloseTo((Math.acos(1 / 3) * 180) / Math.PI, 10);
    expect(positive.minRadiusRatio).toBeCloseTo(1, 12);
    expect(positive.inverted).toBe(0);
    expect(positive.dihedralHistogram[7]).toBe(6);
  });

  it('measures the corner tet of a unit cube (dihedrals 90, 90, 90, 54.74 x 3) and counts an inverted tet', () => {
    const positions = new Float64Array([0, 0, 0, 1, 0, 0, 0, 1, 0, 0, 0, 1]);
    const q = tetQuality({ positions, tets: new Uint32Array([0, 1, 2, 3, 0, 2, 1, 3]), nodesPerTet: 4 });
    expect(q.inverted).toBe(1);
    expect(q.volume).toBeCloseTo(0, 14); // +1/6 - 1/6
    const one = tetQuality({ positions, tets: new Uint32Array([0, 1, 2, 3]), nodesPerTet: 4 });
    expect(one.minDihedralDeg).toBeCloseTo((Math.acos(1 / Math.sqrt(3)) * 180) / Math.PI, 10);
    expect(one.maxDihedralDeg).toBeCloseTo(90, 10);
    // r_in = 1 / (3 + sqrt 3), R = sqrt 3 / 2: 3 r / R = 2 sqrt 3 / (3 + sqrt 3)
    expect(one.minRadiusRatio).toBeCloseTo((2 * Math.sqrt(3)) / (3 + Math.sqrt(3)), 12);
    let error: unknown;
    try {
      assertValidTets({ positions, tets: new Uint32Array([0, 2, 1, 3]), nodesPerTet: 4 });
    } catch (e) {
      error = e;
    }
    expect(isPhysiotwinError(error, 'MESH_INVALID')).toBe(true);
  });

  it('pairs the faces two tets share and rejects a face shared by three', () => {
    const nb = tetFaceNeighbours(new Uint32Array([0, 1, 2, 3, 4, 2, 1, 3]), 4);
    // tet 0's face opposite node 0 is (1, 2, 3) = tet 1's face opposite node 4 (its corner 0)
    expect(nb[0]).toBe(4);
    expect(nb[4]).toBe(0);
    expect([...nb].filter((x) => x < 0)).toHaveLength(6);
    expect(() => tetFaceNeighbours(new Uint32Array([0, 1, 2, 3, 4, 2, 1, 3, 4, 1, 2, 3]), 4)).toThrow(/more than two/);
  });
});
