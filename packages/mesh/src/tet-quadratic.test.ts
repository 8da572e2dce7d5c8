import type { TetMesh } from '@physiotwin/core';
import { describe, expect, it } from 'vitest';
import { toQuadraticTets } from './index.js';

/** Two tets sharing face (1, 2, 3): 9 distinct edges, 7 faces on the boundary (all edges are boundary edges). */
function twoTets(): TetMesh {
  return {
    positions: new Float64Array([0, 0, 0, 1, 0, 0, 0, 1, 0, 0, 0, 1, 1, 1, 1]),
    tets: new Uint32Array([0, 1, 2, 3, 4, 3, 2, 1]),
    nodesPerTet: 4,
    regions: new Int32Array([1, 2]),
  };
}

describe('toQuadraticTets', () => {
  it('adds one node per edge at its midpoint, in VTK order, shared between tets', () => {
    const m = toQuadraticTets(twoTets());
    expect(m.nodesPerTet).toBe(10);
    expect(m.positions.length / 3).toBe(5 + 9);
    expect(m.regions).toEqual(new Int32Array([1, 2]));
    const edges = [[0, 1], [1, 2], [0, 2], [0, 3], [1, 3], [2, 3]];
    for (let t = 0; t < 2; t++) {
      edges.forEach(([a, b], e) => {
        const [na, nb, nm] = [m.tets[10 * t + a!]!, m.tets[10 * t + b!]!, m.tets[10 * t + 4 + e]!];
        for (let d = 0; d < 3; d++) expect(m.positions[3 * nm + d]).toBe((m.positions[3 * na + d]! + m.positions[3 * nb + d]!) / 2);
      });
    }
    // Shared edges (the three of face 1-2-3) map to the same node in both tets.
    const mid = (t: number, a: number, b: number) => {
      const e = edges.findIndex(([x, y]) => (m.tets[10 * t + x!] === a && m.tets[10 * t + y!] === b) || (m.tets[10 * t + x!] === b && m.tets[10 * t + y!] === a));
      return m.tets[10 * t + 4 + e];
    };
    expect(mid(0, 1, 2)).toBe(mid(1, 1, 2));
    expect(mid(0, 2, 3)).toBe(mid(1, 2, 3));
  });

  it('snaps boundary mid-edge nodes only, with the callback', () => {
    // Every edge of twoTets() lies on its boundary, so all 9 are offered.
    const calls: Array<[number, number]> = [];
    const m = toQuadraticTets(twoTets(), {
      snap: (p, a, b) => {
        calls.push([a, b]);
        return a === 0 && b === 1 ? [p[0], p[1] + 0.25, p[2]] : undefined;
      },
    });
    expect(calls.length).toBe(9);
    const e01 = m.tets[4]!;
    expect(Array.from(m.positions.subarray(3 * e01, 3 * e01 + 3))).toEqual([0.5, 0.25, 0]);
  });

  it('offers exactly the edges on the surface (Kuhn-split cube, 2^3 hexahedra: interior edges are skipped)', () => {
    const n = 2;
    const m = n + 1;
    const id = (i: number, j: number, k: number) => i + m * (j + m * k);
    const positions = new Float64Array(3 * m ** 3);
    for (let k = 0; k < m; k++) for (let j = 0; j < m; j++) for (let i = 0; i < m; i++) positions.set([i / n, j / n, k / n], 3 * id(i, j, k));
    const tets: number[] = [];
    for (let k = 0; k < n; k++) for (let j = 0; j < n; j++) for (let i = 0; i < n; i++) {
      for (const p of [[0, 1, 2], [0, 2, 1], [1, 0, 2], [1, 2, 0], [2, 0, 1], [2, 1, 0]]) {
        const c = [i, j, k];
        const v = [id(i, j, k)];
        for (const axis of p) {
          c[axis]!++;
          v.push(id(c[0]!, c[1]!, c[2]!));
        }
        tets.push(...v);
      }
    }
    let offered = 0;
    const q = toQuadraticTets({ positions, tets: Uint32Array.from(tets), nodesPerTet: 4 }, {
      snap: (p) => {
        offered++;
        expect(p.some((x) => x === 0 || x === 1)).toBe(true);
        return undefined;
      },
    });
    let onSurface = 0;
    for (let v = m ** 3; v < q.positions.length / 3; v++) if ([0, 1, 2].some((d) => q.positions[3 * v + d] === 0 || q.positions[3 * v + d] === 1)) onSurface++;
    expect(offered).toBe(onSurface);
    expect(onSurface).toBeLessThan(q.positions.length / 3 - m ** 3);
  });
});

describe('toQuadraticTets: curved elements that snapping would invert', () => {
  // One positively oriented unit tet; every edge is on the boundary, so every mid-edge node is offered.
  const tet = (): TetMesh => ({ positions: Float64Array.of(0, 0, 0, 1, 0, 0, 0, 1, 0, 0, 0, 1), tets: Uint32Array.of(0, 1, 2, 3), nodesPerTet: 4 });
  const edgeNode = (m: TetMesh, e: number) => Array.from(m.positions.subarray(3 * m.tets[4 + e]!, 3 * m.tets[4 + e]! + 3));

  it('keeps a mild snap (the curved Jacobian stays near the straight one)', () => {
    // Edge (0,1) midpoint bulged outward (-y) by 0.05: det J changes by O(0.2) of the straight value.
    const m = toQuadraticTets(tet(), { snap: (p, a, b) => (a === 0 && b === 1 ? [p[0], p[1] - 0.05, p[2]] : undefined) });
    expect(edgeNode(m, 0)).toEqual([0.5, -0.05, 0]);
  });

  it('puts back a snap that inverts the element at a quadrature point, and keeps the others', () => {
    // Edge (0,1) midpoint pulled through the element to (0.5, 0.6, 0.6): J at the points near corner 0/1 turns
    // negative. Edge (2,3) gets a mild snap that must survive.
    const m = toQuadraticTets(tet(), {
      snap: (p, a, b) => (a === 0 && b === 1 ? [0.5, 0.6, 0.6] : a === 2 && b === 3 ? [p[0] + 0.05, p[1] + 0.05, p[2]] : undefined),
    });
    expect(edgeNode(m, 0)).toEqual([0.5, 0, 0]);
    expect(edgeNode(m, 5)).toEqual([0.05, 0.55, 0.5]);
  });
});
