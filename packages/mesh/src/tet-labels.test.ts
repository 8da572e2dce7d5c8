import { describe, expect, it } from 'vitest';
import type { Mat3, SurfaceMesh, TetMesh, Volume } from '@physiotwin/core';
import { createVolume, isPhysiotwinError } from '@physiotwin/core';
import { meshQuality } from './quality.js';
import { labelPairTag, tetMeshLabels } from './tet-labels.js';
import { toQuadraticTets } from './tet-quadratic.js';
import { tetFaceNeighbours } from './tet-quality.js';

/** Concentric balls on a grid of `spacing` mm: label `labels[i]` out to radius `radii[i]` (mm), centre on a voxel centre. */
function balls(radii: number[], labels: number[], spacing = 1, direction?: Mat3): Volume {
  const n = 2 * Math.ceil(radii.at(-1)! / spacing) + 7;
  const c = (n - 1) / 2;
  const data = new Uint8Array(n * n * n);
  for (let k = 0; k < n; k++) {
    for (let j = 0; j < n; j++) {
      for (let i = 0; i < n; i++) {
        const r = spacing * Math.hypot(i - c, j - c, k - c);
        const shell = radii.findIndex((R) => r <= R);
        if (shell >= 0) data[i + n * (j + n * k)] = labels[shell]!;
      }
    }
  }
  return createVolume({ data, dims: [n, n, n], spacing: [spacing, spacing, spacing], origin: [-c * spacing, -c * spacing, -c * spacing], direction });
}

/** The boundary faces with `tag` as a surface (for closedness and enclosed volume). */
function facesOf(mesh: TetMesh, tag: number): SurfaceMesh {
  const tri: number[] = [];
  for (let f = 0; f < mesh.boundaryLabels!.length; f++) if (mesh.boundaryLabels![f] === tag) tri.push(...mesh.boundaryFaces!.subarray(3 * f, 3 * f + 3));
  return { positions: Float32Array.from(mesh.positions), triangles: Uint32Array.from(tri) };
}

function regionVolume(mesh: TetMesh, region: number): number {
  const P = mesh.positions;
  let v = 0;
  for (let t = 0; t < mesh.regions!.length; t++) {
    if (mesh.regions![t] !== region) continue;
    const [a, b, c, d] = [0, 1, 2, 3].map((i) => 3 * mesh.tets[4 * t + i]!) as [number, number, number, number];
    const u = [P[b]! - P[a]!, P[b + 1]! - P[a + 1]!, P[b + 2]! - P[a + 2]!];
    const w = [P[c]! - P[a]!, P[c + 1]! - P[a + 1]!, P[c + 2]! - P[a + 2]!];
    const x = [P[d]! - P[a]!, P[d + 1]! - P[a + 1]!, P[d + 2]! - P[a + 2]!];
    v += (u[0]! * (w[1]! * x[2]! - w[2]! * x[1]!) + u[1]! * (w[2]! * x[0]! - w[0]! * x[2]!) + u[2]! * (w[0]! * x[1]! - w[1]! * x[0]!)) / 6;
  }
  return v;
}

describe('tetMeshLabels (isosurface stuffing)', () => {
  it('meshes a 20 mm radius sphere at 1 mm voxels: volume within 1% of 4/3 pi r^3, dihedrals >= 10 deg, closed outward boundary', () => {
    const R = 20;
    const { mesh, quality } = tetMeshLabels(balls([R], [1]));
    // The acceptance figures: volume within 1%, no dihedral below 10 degrees.
    expect(Math.abs(quality.volume / ((4 / 3) * Math.PI * R ** 3) - 1)).toBeLessThan(0.01);
    expect(quality.minDihedralDeg).toBeGreaterThanOrEqual(10);
    expect(quality.inverted).toBe(0);
    const tag = labelPairTag(1, 0);
    expect(new Set(mesh.boundaryLabels)).toEqual(new Set([tag]));
    expect(mesh.boundaryLabelNames).toEqual({ [tag]: '1|0' });
    const s = meshQuality(facesOf(mesh, tag));
    expect([s.closed, s.manifold, s.oriented, s.genus]).toEqual([true, true, true, 0]);
    // Outward faces: the enclosed volume equals the tets' (positions are f32 in the surface: 1e-6 relative).
    expect(s.volume / quality.volume).toBeCloseTo(1, 5);
    // Boundary nodes lie on the smoothed surface: within half a voxel of the sphere.
    const b = mesh.boundaryFaces!;
    let worst = 0;
    for (let i = 0; i < b.length; i++) {
      const p = 3 * b[i]!;
      worst = Math.max(worst, Math.abs(Math.hypot(mesh.positions[p]!, mesh.positions[p + 1]!, mesh.positions[p + 2]!) - R));
    }
    expect(worst).toBeLessThan(0.5);
  });

  it('makes two labels share their interface nodes exactly (two-shell labelmap) and tags faces by label pair', () => {
    const vol = balls([6, 10], [1, 2]);
    const { mesh, quality } = tetMeshLabels(vol, { maxEdgeMm: 1 });
    expect(quality.inverted).toBe(0);
    const inner = labelPairTag(2, 1), outer = labelPairTag(2, 0);
    expect(new Set(mesh.boundaryLabels)).toEqual(new Set([inner, outer]));
    expect(mesh.boundaryLabelNames).toEqual({ [inner]: '2|1', [outer]: '2|0' });
    // Conforming: every tet face is shared by exactly two tets or lies on the outer surface (2|0).
    const nb = tetFaceNeighbours(mesh.tets, 4);
    const open = nb.filter((x) => x < 0).length;
    expect(open).toBe(mesh.boundaryLabels!.filter((t) => t === outer).length);
    // Each 2|1 face is a face of a label-2 tet and of a label-1 tet: the same three nodes on both sides.
    const r = mesh.regions!;
    let pairs = 0;
    for (let x = 0; x < nb.length; x++) if (nb[x]! >= 0 && r[x >> 2] === 2 && r[nb[x]! >> 2] === 1) pairs++;
    expect(pairs).toBe(mesh.boundaryLabels!.filter((t) => t === inner).length);
    // The 2|1 faces point out of label 2 (into label 1): as a surface they enclose label 1's volume negatively.
    const interfaceSurface = meshQuality(facesOf(mesh, inner));
    expect(interfaceSurface.closed).toBe(true);
    expect(-interfaceSurface.volume / regionVolume(mesh, 1)).toBeCloseTo(1, 5);
    // Region volumes: the voxelised balls' (radii 6 and 10 at 1 mm: the voxel staircase is a few % at r = 6).
    expect(regionVolume(mesh, 1) / ((4 / 3) * Math.PI * 6 ** 3)).toBeCloseTo(1, 1);
    expect(regionVolume(mesh, 2) / ((4 / 3) * Math.PI * (10 ** 3 - 6 ** 3))).toBeCloseTo(1, 1);
  });

  it('meshes two labels side by side (a triple line where both meet the outside) without slivers', () => {
    // A ball of radius 10 mm split by an oblique plane into labels 1 and 2.
    const R = 10, n = 2 * R + 7, c = (n - 1) / 2;
    const data = new Uint8Array(n * n * n);
    for (let k = 0; k < n; k++) {
      for (let j = 0; j < n; j++) {
        for (let i = 0; i < n; i++) if ((i - c) ** 2 + (j - c) ** 2 + (k - c) ** 2 <= R * R) data[i + n * (j + n * k)] = i < c + 0.3 * (j - c) ? 1 : 2;
      }
    }
    const { mesh, quality } = tetMeshLabels(createVolume({ data, dims: [n, n, n] }));
    // Label 2's boundary nodes on the triple line are label 1's and may not move: its surface is made to pass
    // through them instead of cutting next to them (that left 0.02 degree slivers).
    expect(quality.minDihedralDeg).toBeGreaterThan(10);
    expect(quality.inverted).toBe(0);
    const nb = tetFaceNeighbours(mesh.tets, 4);
    const outside = mesh.boundaryLabels!.filter((t) => t % 65536 === 0).length;
    expect(nb.filter((x) => x < 0).length).toBe(outside);
    expect(new Set(mesh.boundaryLabels)).toEqual(new Set([labelPairTag(1, 0), labelPairTag(2, 0), labelPairTag(2, 1)]));
  });

  it('cuts a label that leaves the image flat at the outermost voxel centres, with sharp edges', () => {
    // A rod of radius 6 mm along k through a 0.5 mm grid, 11 slices: the image box is 5 mm long.
    const s = 0.5, n = 31, nz = 11, c = (n - 1) / 2;
    const data = new Uint8Array(n * n * nz);
    let voxels = 0;
    for (let k = 0; k < nz; k++) {
      for (let j = 0; j < n; j++) {
        for (let i = 0; i < n; i++) {
          if (Math.hypot(i - c, j - c) * s > 6) continue;
          data[i + n * (j + n * k)] = 1;
          voxels++;
        }
      }
    }
    const { mesh, quality } = tetMeshLabels(createVolume({ data, dims: [n, n, nz], spacing: [s, s, s] }));
    const L = (nz - 1) * s;
    expect(quality.inverted).toBe(0);
    expect(quality.minDihedralDeg).toBeGreaterThan(10);
    // The labelmap's section (its voxel count per slice, 2.5% under pi r^2 at this grid-aligned radius) times L,
    // within 0.5% (what the smoothing and the chords change).
    expect(Math.abs(quality.volume / ((voxels / nz) * s * s * L) - 1)).toBeLessThan(0.005);
    // Every boundary node is on an end plane (exactly) or on the rod's side (within half a voxel of r = 6).
    const P = mesh.positions;
    let onPlanes = 0, worst = 0;
    for (const v of new Set(mesh.boundaryFaces)) {
      const z = P[3 * v + 2]!;
      if (z === 0 || z === L) onPlanes++;
      else worst = Math.max(worst, Math.abs(Math.hypot(P[3 * v]! - c * s, P[3 * v + 1]! - c * s) - 6));
    }
    expect(onPlanes).toBeGreaterThan(100);
    expect(worst).toBeLessThan(0.25);
    const surface = meshQuality(facesOf(mesh, labelPairTag(1, 0)));
    expect([surface.closed, surface.manifold, surface.oriented, surface.genus]).toEqual([true, true, true, 0]);
  });

  it('keeps tets positive and volumes unchanged under a direction that flips handedness', () => {
    const flip: Mat3 = [-1, 0, 0, 0, -1, 0, 0, 0, -1];
    const a = tetMeshLabels(balls([5], [1], 1));
    const b = tetMeshLabels(balls([5], [1], 1, flip));
    expect(b.quality.inverted).toBe(0);
    expect(b.quality.volume).toBeCloseTo(a.quality.volume, 8);
    expect(meshQuality(facesOf(b.mesh, labelPairTag(1, 0))).volume).toBeGreaterThan(0);
  });

  it('gives T10 mid-edge nodes on the boundary on the smooth surface (toQuadraticTets with snapEdge)', () => {
    const R = 8;
    const { mesh, snapEdge } = tetMeshLabels(balls([R], [1]));
    const t10 = toQuadraticTets(mesh, { snap: snapEdge });
    const P = t10.positions;
    const n = mesh.positions.length / 3;
    const radius = (p: ArrayLike<number>, o = 0) => Math.hypot(p[o]!, p[o + 1]!, p[o + 2]!);
    const mid = new Map<number, number>();
    for (let t = 0; t < t10.tets.length / 10; t++) {
      for (const [e, i, j] of [[4, 0, 1], [5, 1, 2], [6, 0, 2], [7, 0, 3], [8, 1, 3], [9, 2, 3]] as const) {
        const a = t10.tets[10 * t + i]!, b = t10.tets[10 * t + j]!;
        mid.set(Math.min(a, b) * n + Math.max(a, b), t10.tets[10 * t + e]!);
      }
    }
    const F = mesh.boundaryFaces!;
    let corners = 0, snapped = 0, chords = 0, count = 0;
    for (let f = 0; f < F.length / 3; f++) {
      for (let q = 0; q < 3; q++) {
        const a = F[3 * f + q]!, b = F[3 * f + ((q + 1) % 3)]!;
        const m = mid.get(Math.min(a, b) * n + Math.max(a, b))!;
        const chord: [number, number, number] = [0, 1, 2].map((k) => (P[3 * a + k]! + P[3 * b + k]!) / 2) as [number, number, number];
        corners += (radius(P, 3 * a) + radius(P, 3 * b)) / 2;
        snapped += radius(P, 3 * m);
        chords += radius(chord);
        count++;
        // On the surface: snapping the snapped node again leaves it where it is (1e-6 mm: the Newton tolerance).
        const again = snapEdge([P[3 * m]!, P[3 * m + 1]!, P[3 * m + 2]!], a, b)!;
        expect(Math.hypot(again[0] - P[3 * m]!, again[1] - P[3 * m + 1]!, again[2] - P[3 * m + 2]!)).toBeLessThan(1e-6);
      }
    }
    // The chords sit inside the surface by h^2 / (8 R) on average (here 0.01 mm); the snapped nodes lie as far out
    // as the corners, to a tenth of that.
    expect((corners - chords) / count).toBeGreaterThan(0.005);
    expect(Math.abs(snapped - corners) / count).toBeLessThan(0.001);
  });

  it('rejects bad input with stable codes and honours the abort signal', () => {
    const vol = balls([4], [1]);
    const code = (f: () => unknown) => {
      try {
        f();
      } catch (e) {
        return isPhysiotwinError(e) ? e.code : 'raw';
      }
      return 'none';
    };
    expect(code(() => tetMeshLabels(vol, { labels: [3] }))).toBe('INVALID_ARGUMENT');
    expect(code(() => tetMeshLabels(vol, { maxEdgeMm: 0 }))).toBe('INVALID_ARGUMENT');
    expect(code(() => tetMeshLabels(vol, { smoothMm: -1 }))).toBe('INVALID_ARGUMENT');
    expect(code(() => tetMeshLabels(vol, { labels: [1.5] }))).toBe('INVALID_ARGUMENT');
    const controller = new AbortController();
    controller.abort();
    expect(code(() => tetMeshLabels(vol, {}, { signal: controller.signal }))).toBe('ABORTED');
    const stages = new Set<string>();
    tetMeshLabels(vol, {}, { onProgress: (e) => stages.add(e.stage) });
    expect([...stages]).toEqual(['tetmesh: lattice', 'tetmesh: stage 1 of 1: values', 'tetmesh: stage 1 of 1: cut points', 'tetmesh: stage 1 of 1: split']);
  });
});
