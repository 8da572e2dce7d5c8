import { describe, expect, it } from 'vitest';
import { createVolume, isPhysiotwinError } from '@physiotwin/core';
import { meshQuality } from './quality.js';
import { toQuadraticTets } from './tet-quadratic.js';
import { vesselWall, WALL_TAG_FIRST_END, WALL_TAG_LUMEN, WALL_TAG_OUTER } from './vessel-wall.js';

// A straight lumen along k: radius 10 mm at 0.5 mm voxels, 10 mm long (21 slices, so the image box is 10 mm), the
// vessel leaving the image at both ends.
const r = 10, s = 0.5, t = 1.5;
const n = Math.round((2 * (r + 4)) / s) + 1, nz = 21, c = (n - 1) / 2;
const data = new Uint8Array(n * n * nz);
for (let k = 0; k < nz; k++) for (let j = 0; j < n; j++) for (let i = 0; i < n; i++) if (((i - c) * s) ** 2 + ((j - c) * s) ** 2 <= r * r) data[i + n * (j + n * k)] = 1;
const lumen = createVolume({ data, dims: [n, n, nz], spacing: [s, s, s], origin: [-c * s, -c * s, 0] });
const L = (nz - 1) * s;

describe('vesselWall', () => {
  const wall = vesselWall(lumen, { thicknessMm: t });
  const { mesh, quality } = wall;

  it('grows a wall of the given thickness: volume within 2% of pi ((r + t)^2 - r^2) L, radii right at mid-length', () => {
    expect(quality.inverted).toBe(0);
    expect(quality.minDihedralDeg).toBeGreaterThan(10);
    // 2%: the voxelised circle's area differs from pi r^2 by well under 1% at 20 voxels per radius; the rest is
    // the faces' chords (h = 0.5 mm on a 10 mm radius: 0.1%).
    expect(Math.abs(quality.volume / (Math.PI * ((r + t) ** 2 - r * r) * L) - 1)).toBeLessThan(0.02);
    const radii: Record<number, number[]> = { [WALL_TAG_LUMEN]: [], [WALL_TAG_OUTER]: [] };
    const P = mesh.positions;
    mesh.boundaryLabels!.forEach((tag, f) => {
      for (let q = 0; q < 3; q++) {
        const p = 3 * mesh.boundaryFaces![3 * f + q]!;
        if (radii[tag] && P[p + 2]! > L / 4 && P[p + 2]! < (3 * L) / 4) radii[tag]!.push(Math.hypot(P[p]!, P[p + 1]!));
      }
    });
    const mean = (a: number[]) => a.reduce((x, y) => x + y, 0) / a.length;
    // Mean radii within 0.05 mm (a tenth of a voxel); single nodes follow the voxelised circle's ripple (+-0.2 mm).
    expect(Math.abs(mean(radii[WALL_TAG_LUMEN]!) - r)).toBeLessThan(0.05);
    expect(Math.abs(mean(radii[WALL_TAG_OUTER]!) - (r + t))).toBeLessThan(0.05);
    expect(Math.max(...radii[WALL_TAG_LUMEN]!.map((x) => Math.abs(x - r)))).toBeLessThan(0.25);
    expect(Math.max(...radii[WALL_TAG_OUTER]!.map((x) => Math.abs(x - r - t)))).toBeLessThan(0.25);
  });

  it('tags lumen, outer and one ring per cut end, names them, and the tagged faces close the wall', () => {
    expect(mesh.boundaryLabelNames).toEqual({ 1: 'lumen', 2: 'outer', 3: 'end1', 4: 'end2' });
    expect(wall.ends.map((e) => [e.tag, e.axis, e.side])).toEqual([[WALL_TAG_FIRST_END, 2, -1], [WALL_TAG_FIRST_END + 1, 2, 1]]);
    for (const e of wall.ends) {
      // The ring's area: its edges are chords of the two circles (0.1%), its radii the smoothed surfaces' (0.5%).
      expect(Math.abs(e.areaMm2 / (Math.PI * ((r + t) ** 2 - r * r)) - 1)).toBeLessThan(0.01);
      expect(Math.hypot(e.centroid[0], e.centroid[1])).toBeLessThan(0.1);
      expect(e.centroid[2]).toBeCloseTo(e.side < 0 ? 0 : L, 6);
    }
    const P = mesh.positions;
    mesh.boundaryLabels!.forEach((tag, f) => {
      if (tag < WALL_TAG_FIRST_END) return;
      for (let q = 0; q < 3; q++) expect(P[3 * mesh.boundaryFaces![3 * f + q]! + 2]).toBeCloseTo(tag === 3 ? 0 : L, 9);
    });
    const surface = meshQuality({ positions: Float32Array.from(P), triangles: mesh.boundaryFaces! });
    expect([surface.closed, surface.manifold, surface.oriented, surface.genus]).toEqual([true, true, true, 1]);
    expect(surface.volume / quality.volume).toBeCloseTo(1, 5);
  });

  it('gives T10 mid-edge nodes on the lumen and outer surfaces, and on the end planes at the creases', () => {
    const t10 = toQuadraticTets(mesh, { snap: wall.snapEdge });
    const P = t10.positions;
    const F = mesh.boundaryFaces!;
    const n = mesh.positions.length / 3;
    const mid = new Map<number, number>();
    for (let t = 0; t < t10.tets.length / 10; t++) {
      for (const [e, i, j] of [[4, 0, 1], [5, 1, 2], [6, 0, 2], [7, 0, 3], [8, 1, 3], [9, 2, 3]] as const) {
        const a = t10.tets[10 * t + i]!, b = t10.tets[10 * t + j]!;
        mid.set(Math.min(a, b) * n + Math.max(a, b), t10.tets[10 * t + e]!);
      }
    }
    const rho = (v: number) => Math.hypot(P[3 * v]!, P[3 * v + 1]!);
    let crease = 0, worst = 0, offPlane = 0;
    mesh.boundaryLabels!.forEach((tag, f) => {
      for (let q = 0; q < 3; q++) {
        const a = F[3 * f + q]!, b = F[3 * f + ((q + 1) % 3)]!;
        const m = mid.get(Math.min(a, b) * n + Math.max(a, b))!;
        if (tag === WALL_TAG_LUMEN || tag === WALL_TAG_OUTER) {
          // On the surface: as far from the axis as the edge's ends (the voxelised circle's variation along one
          // edge: 0.05 mm), not on the chord.
          worst = Math.max(worst, Math.abs(rho(m) - (rho(a) + rho(b)) / 2));
        }
        const z = [P[3 * a + 2]!, P[3 * b + 2]!];
        if ((z[0] === 0 && z[1] === 0) || (z[0] === L && z[1] === L)) {
          if (P[3 * m + 2] !== z[0]) offPlane++; // an edge in an end plane keeps its node in the plane
          if (tag !== WALL_TAG_LUMEN && tag !== WALL_TAG_OUTER) continue;
          crease++;
        }
      }
    });
    expect(worst).toBeLessThan(0.05);
    expect(offPlane).toBe(0);
    expect(crease).toBeGreaterThan(100);
  });

  it('rejects a bad thickness and an empty lumen', () => {
    const code = (f: () => unknown) => {
      try {
        f();
      } catch (e) {
        return isPhysiotwinError(e) ? e.code : 'raw';
      }
      return 'none';
    };
    expect(code(() => vesselWall(lumen, { thicknessMm: 0 }))).toBe('INVALID_ARGUMENT');
    expect(code(() => vesselWall(lumen, { thicknessMm: Number.NaN }))).toBe('INVALID_ARGUMENT');
    expect(code(() => vesselWall(lumen, { thicknessMm: 1, labels: [7] }))).toBe('INVALID_ARGUMENT');
  });
});
