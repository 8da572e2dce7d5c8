import { readFileSync } from 'node:fs';
import { isPhysiotwinError } from '@physiotwin/core';
import type { TetMesh } from '@physiotwin/core';
import { describe, expect, it } from 'vitest';
import { readMsh, writeMsh } from './index.js';

const fixture = (name: string) => readFileSync(new URL(`../../../fixtures/fem/${name}`, import.meta.url));

/** Signed volume of tet t from its corner nodes (positive for Gmsh's and VTK's orientation). */
function tetVolume(m: TetMesh, t: number): number {
  const p = (k: number) => {
    const n = m.tets[t * m.nodesPerTet + k]!;
    return [m.positions[3 * n]!, m.positions[3 * n + 1]!, m.positions[3 * n + 2]!];
  };
  const [a, b, c, d] = [p(0), p(1), p(2), p(3)];
  const u = [b[0]! - a[0]!, b[1]! - a[1]!, b[2]! - a[2]!];
  const v = [c[0]! - a[0]!, c[1]! - a[1]!, c[2]! - a[2]!];
  const w = [d[0]! - a[0]!, d[1]! - a[1]!, d[2]! - a[2]!];
  return (u[0]! * (v[1]! * w[2]! - v[2]! * w[1]!) - u[1]! * (v[0]! * w[2]! - v[2]! * w[0]!) + u[2]! * (v[0]! * w[1]! - v[1]! * w[0]!)) / 6;
}

function expectCode(f: () => unknown, code: string): void {
  try {
    f();
  } catch (e) {
    expect(isPhysiotwinError(e) ? e.code : e).toBe(code);
    return;
  }
  throw new Error(`expected ${code}`);
}

describe('Gmsh MSH 4.1', () => {
  it('reads an ASCII T4 cube: positive volumes summing to 1, six unit faces under physical group 1', () => {
    const { mesh, physicalNames } = readMsh(fixture('cube-t4.msh'));
    expect(mesh.nodesPerTet).toBe(4);
    const n = mesh.tets.length / 4;
    let volume = 0;
    for (let t = 0; t < n; t++) {
      const v = tetVolume(mesh, t);
      expect(v).toBeGreaterThan(0);
      volume += v;
    }
    // Sum of exactly representable-ish small volumes: f64 rounding only.
    expect(volume).toBeCloseTo(1, 12);
    expect([...new Set(mesh.regions)]).toEqual([1]);
    expect([...new Set(mesh.boundaryLabels)]).toEqual([1]);
    expect(physicalNames).toEqual([{ dim: 2, tag: 1, name: 'boundary' }, { dim: 3, tag: 1, name: 'solid' }]);
  });

  it('reads a binary T10 mesh in VTK node order (straight cube edges: every mid-edge node at its edge midpoint)', () => {
    const { mesh } = readMsh(fixture('cube-t10.msh'));
    expect(mesh.nodesPerTet).toBe(10);
    const edges = [[0, 1], [1, 2], [0, 2], [0, 3], [1, 3], [2, 3]] as const;
    let worst = 0;
    for (let t = 0; t < mesh.tets.length / 10; t++) {
      edges.forEach(([a, b], e) => {
        const [na, nb, nm] = [mesh.tets[10 * t + a]!, mesh.tets[10 * t + b]!, mesh.tets[10 * t + 4 + e]!];
        for (let d = 0; d < 3; d++) worst = Math.max(worst, Math.abs(mesh.positions[3 * nm + d]! - (mesh.positions[3 * na + d]! + mesh.positions[3 * nb + d]!) / 2));
      });
    }
    // Gmsh places straight-edge mid nodes by interpolation: exact up to rounding of coordinates ~1.
    expect(worst).toBeLessThan(1e-12);
  });

  it('reads curved T10 boundaries (cylinder: inner-face nodes on r = 1) and face tags', () => {
    const { mesh, physicalNames } = readMsh(fixture('cylinder-t10-0.5.msh'));
    expect(physicalNames.find((p) => p.dim === 2 && p.tag === 1)?.name).toBe('inner');
    const inner = new Set<number>();
    for (let f = 0; f < mesh.boundaryLabels!.length; f++) if (mesh.boundaryLabels![f] === 1) for (let k = 0; k < 3; k++) inner.add(mesh.boundaryFaces![3 * f + k]!);
    expect(inner.size).toBeGreaterThan(3);
    for (const n of inner) expect(Math.hypot(mesh.positions[3 * n]!, mesh.positions[3 * n + 1]!)).toBeCloseTo(1, 9);
    expect(new Set(mesh.boundaryLabels)).toEqual(new Set([1, 2, 3, 4, 5]));
  });

  for (const binary of [false, true]) {
    it(`round-trips T4 and T10 through writeMsh (${binary ? 'binary' : 'ASCII'}) exactly`, () => {
      for (const name of ['cube-t4.msh', 'cylinder-t10-0.5.msh']) {
        const { mesh, physicalNames } = readMsh(fixture(name));
        const back = readMsh(writeMsh(mesh, { binary, physicalNames }));
        expect(back.physicalNames).toEqual(physicalNames);
        expect(back.mesh.nodesPerTet).toBe(mesh.nodesPerTet);
        expect(back.mesh.positions).toEqual(mesh.positions);
        expect(back.mesh.tets).toEqual(mesh.tets);
        expect(back.mesh.regions).toEqual(mesh.regions);
        // Faces come back grouped by label; compare as multisets of (label, nodes).
        const key = (m: TetMesh) => Array.from({ length: m.boundaryLabels!.length }, (_, f) => `${m.boundaryLabels![f]}:${m.boundaryFaces!.slice(3 * f, 3 * f + 3).join(',')}`).sort();
        expect(key(back.mesh)).toEqual(key(mesh));
      }
    });
  }

  it('refuses other versions, other 3D elements, truncation and garbage with typed errors', () => {
    const text = (s: string) => new TextEncoder().encode(s);
    expectCode(() => readMsh(text('$MeshFormat\n2.2 0 8\n$EndMeshFormat\n')), 'IO_UNSUPPORTED');
    expectCode(() => readMsh(text('hello\n')), 'IO_INVALID');
    const hex = '$MeshFormat\n4.1 0 8\n$EndMeshFormat\n$Nodes\n1 1 1 1\n3 1 0 1\n1\n0 0 0\n$EndNodes\n$Elements\n1 1 1 1\n3 1 5 1\n1 1 1 1 1 1 1 1 1\n$EndElements\n';
    expectCode(() => readMsh(text(hex)), 'IO_UNSUPPORTED');
    const bytes = fixture('cylinder-t10-0.5.msh');
    expectCode(() => readMsh(bytes.subarray(0, Math.floor(bytes.length / 2))), 'IO_TRUNCATED');
    const ascii = fixture('cube-t4.msh');
    expectCode(() => readMsh(ascii.subarray(0, Math.floor(ascii.length * 0.8))), 'IO_TRUNCATED');
  });
});
