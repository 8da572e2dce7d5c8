// The boundary of a labelled tet mesh as a surface: the faces of the labels asked for, nodes compacted, nodal values
// carried along; and the outer surface of a real vesselWall (its label named 'outer').
import { describe, expect, it } from 'vitest';
import { createVolume } from '@physiotwin/core';
import { tetBoundarySurface } from './tet-boundary.js';
import { vesselWall, WALL_TAG_OUTER } from './vessel-wall.js';

describe('tetBoundarySurface', () => {
  it('cuts a labelled boundary out of a tet mesh, compacting its nodes and carrying their values', () => {
    // One tet (nodes 0..3) plus an unused node 4; faces labelled 1 (three) and 2 (the face 1-2-3).
    const positions = Float64Array.of(0, 0, 0, 1, 0, 0, 0, 1, 0, 0, 0, 1, 9, 9, 9);
    const boundaryFaces = Uint32Array.of(0, 2, 1, 0, 1, 3, 0, 3, 2, 1, 2, 3);
    const boundaryLabels = Int32Array.of(1, 1, 1, 2);
    const nodal = { name: 's', values: [10, 11, 12, 13, 14] };
    const outer = tetBoundarySurface({ positions, boundaryFaces, boundaryLabels }, nodal, [2]);
    expect(Array.from(outer.triangles)).toEqual([0, 1, 2]);
    expect(Array.from(outer.positions)).toEqual([1, 0, 0, 0, 1, 0, 0, 0, 1]);
    expect(Array.from(outer.pointData!.s!.values)).toEqual([11, 12, 13]);
    const all = tetBoundarySurface({ positions, boundaryFaces, boundaryLabels });
    expect(all.triangles.length).toBe(12);
    expect(all.positions.length).toBe(12); // node 4 is on no face
    expect(() => tetBoundarySurface({ positions }, undefined)).toThrow(expect.objectContaining({ code: 'INVALID_ARGUMENT' }) as Error);
    expect(() => tetBoundarySurface({ positions, boundaryFaces }, { name: 's', values: [1] })).toThrow(expect.objectContaining({ code: 'INVALID_ARGUMENT' }) as Error);
  });

  it("the outer surface of a vessel wall: every face labelled 'outer', and only those, with each point's own value", () => {
    // A straight tube along x (3 x 3 voxel cross-section), as in test/ops-contract.test.ts.
    const tube = createVolume({ data: new Uint8Array(12 * 5 * 5).map((_, i) => (Math.floor(i / 12) % 5 >= 1 && Math.floor(i / 12) % 5 <= 3 && Math.floor(i / 60) >= 1 && Math.floor(i / 60) <= 3 ? 1 : 0)), dims: [12, 5, 5], spacing: [1, 1, 1] });
    const { mesh } = vesselWall(tube, { thicknessMm: 1 });
    expect(mesh.boundaryLabelNames?.[WALL_TAG_OUTER]).toBe('outer');
    const faces = mesh.boundaryFaces!, labels = mesh.boundaryLabels!;
    const outerFaces = labels.filter((l) => l === WALL_TAG_OUTER).length;
    expect(outerFaces).toBeGreaterThan(0);
    // the node index as its value: each surface point carries the value of the node it came from
    const values = Float64Array.from({ length: mesh.positions.length / 3 }, (_, n) => n);
    const outer = tetBoundarySurface(mesh, { name: 'node', values }, [WALL_TAG_OUTER]);
    expect(outer.triangles.length).toBe(3 * outerFaces);
    const node = outer.pointData!.node!.values;
    // each corner of each outer face, in order: the node it came from, and its position as f32
    const fromNode: number[] = [], wantNode: number[] = [], gotPos: number[] = [], wantPos: number[] = [];
    let f = 0;
    for (let k = 0; k < labels.length; k++) {
      if (labels[k] !== WALL_TAG_OUTER) continue;
      for (let c = 0; c < 3; c++) {
        const p = outer.triangles[3 * f + c]!, n = faces[3 * k + c]!;
        fromNode.push(node[p]!);
        wantNode.push(n);
        for (let d = 0; d < 3; d++) {
          gotPos.push(outer.positions[3 * p + d]!);
          wantPos.push(Math.fround(mesh.positions[3 * n + d]!));
        }
      }
      f++;
    }
    expect(fromNode).toEqual(wantNode);
    expect(gotPos).toEqual(wantPos);
  });
});
