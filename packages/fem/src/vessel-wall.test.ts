import { createVolume } from '@physiotwin/core';
import type { TetMesh } from '@physiotwin/core';
import { toQuadraticTets, vesselWall, WALL_TAG_LUMEN, WALL_TAG_OUTER } from '@physiotwin/mesh';
import { describe, expect, it } from 'vitest';
import { gatherCoordinates } from './assemble.js';
import { TET_RULE_4, elementScratch, physicalGradients, tetShape } from './element.js';
import { solve } from './index.js';
import type { FemProblem, Vec3 } from './index.js';

// Issue 12 acceptance: a wall grown from a voxel lumen, loaded by 100 mmHg, against Lame's thick-walled cylinder.
// The lumen: radius 10 mm along z at 0.5 mm voxels, axis on x = y = 0, leaving the image at both ends.
// Length 5 mm (11 slices): the ends are fixed in z only (frictionless), so the exact solution is plane strain
// everywhere, uniform in z, with no end effects to decay; a longer tube only adds unknowns (10 mm measured: 17k
// tets, hoop error -0.91% over |z - L/2| < 2.5 mm against -0.96% here, solve 29 s). maxEdgeMm 1 (the default would be 0.5 mm: 61k tets, too slow for a
// timed test) gives 8.8k T10 tets, 50k unknowns, about 10 s on 2 loaded cores.
const r = 10, s = 0.5, thickness = 1.5, nz = 11, h = 1;
const n = Math.round((2 * (r + 4)) / s) + 1, c = (n - 1) / 2;
const data = new Uint8Array(n * n * nz);
for (let k = 0; k < nz; k++) for (let j = 0; j < n; j++) for (let i = 0; i < n; i++) if (((i - c) * s) ** 2 + ((j - c) * s) ** 2 <= r * r) data[i + n * (j + n * k)] = 1;
const lumen = createVolume({ data, dims: [n, n, nz], spacing: [s, s, s], origin: [-c * s, -c * s, 0] });
const L = (nz - 1) * s;
/** 100 mmHg in MPa. */
const p = 0.013332;
// In-plane Lame stresses do not depend on E or nu; nu = 0.45 is a nearly incompressible wall (T10 does not lock).
const E = 1, nu = 0.45;

/** Mean distance to the axis of the corner nodes on faces with this tag. */
function meanRadius(mesh: TetMesh, tag: number): number {
  const nodes = new Set<number>();
  mesh.boundaryLabels!.forEach((l, f) => {
    if (l === tag) for (let q = 0; q < 3; q++) nodes.add(mesh.boundaryFaces![3 * f + q]!);
  });
  let sum = 0;
  for (const v of nodes) sum += Math.hypot(mesh.positions[3 * v]!, mesh.positions[3 * v + 1]!);
  return sum / nodes.size;
}

describe('vessel wall under 100 mmHg against Lame (issue 12)', () => {
  it('mid-length hoop stress within 5% of the thick-wall value, over the wall and over each half of it', async () => {
    const wall = vesselWall(lumen, { thicknessMm: thickness, maxEdgeMm: h });
    const mesh = toQuadraticTets(wall.mesh, { snap: wall.snapEdge });
    expect(wall.ends).toHaveLength(2);
    const zero: Vec3 = [0, 0, 0];
    const problem: FemProblem = {
      mesh,
      materials: [{ region: 1, E, nu }],
      constraints: [
        // Plane strain: w = 0 on both cut ends; symmetry planes x = 0 (u_x = 0) and y = 0 (u_y = 0) remove the
        // rigid in-plane motion without restraining the radial expansion (u_x = u_r x / r vanishes there).
        ...wall.ends.map((e) => ({ nodes: { faceTag: e.tag }, components: ['z' as const], displacement: zero })),
        { nodes: { plane: { point: zero, normal: [1, 0, 0] } }, components: ['x'], displacement: zero },
        { nodes: { plane: { point: zero, normal: [0, 1, 0] } }, components: ['y'], displacement: zero },
      ],
      loads: [{ faces: { faceTag: WALL_TAG_LUMEN }, pressure: p }],
      // 1e-8 on the residual moves the stresses far below the 5% compared (1e-10 gives the same errors to the 0.01% printed).
      solver: { tolerance: 1e-8 },
    };
    const res = await solve(problem, { backend: 'cpu' });
    // The meshed radii (the voxelised circle smoothed), not the nominal 10 and 11.5 mm, define the reference.
    const a = meanRadius(mesh, WALL_TAG_LUMEN), b = meanRadius(mesh, WALL_TAG_OUTER);
    const lame = (rho: number) => ((p * a * a) / (b * b - a * a)) * (1 + (b * b) / (rho * rho));

    // Volume-weighted means over the Gauss points within 1.5 mm of mid-length, of the FE hoop stress (Cauchy
    // tensor rotated to the point's angle) and of Lame's at the same points' radii: over the whole wall (the
    // hoop resultant, nearly fixed by statics) and over its inner and outer halves (the 1/r^2 gradient).
    const sums = { all: [0, 0, 0], inner: [0, 0, 0], outer: [0, 0, 0] };
    let zz = 0;
    const sc = elementScratch();
    const x = [0, 0, 0];
    for (let e = 0; e < mesh.tets.length / 10; e++) {
      gatherCoordinates(mesh, e, sc.x);
      for (let q = 0; q < 4; q++) {
        tetShape(10, TET_RULE_4.points[3 * q]!, TET_RULE_4.points[3 * q + 1]!, TET_RULE_4.points[3 * q + 2]!, sc.n, sc.dn);
        const w = TET_RULE_4.weights[q]! * physicalGradients(10, sc.x, sc.dn, sc.grad);
        x.fill(0);
        for (let i = 0; i < 10; i++) for (let d = 0; d < 3; d++) x[d] = x[d]! + sc.n[i]! * sc.x[3 * i + d]!;
        if (Math.abs(x[2]! - L / 2) > 1.5) continue;
        const rho = Math.hypot(x[0]!, x[1]!), cs = x[0]! / rho, sn = x[1]! / rho;
        const g = res.gaussStress, o = (4 * e + q) * 6; // xx yy zz xy yz xz
        const hoop = g[o]! * sn * sn + g[o + 1]! * cs * cs - 2 * g[o + 3]! * sn * cs;
        for (const acc of [sums.all, rho < (a + b) / 2 ? sums.inner : sums.outer]) {
          acc[0] = acc[0]! + w;
          acc[1] = acc[1]! + w * hoop;
          acc[2] = acc[2]! + w * lame(rho);
        }
        zz += w * g[o + 2]!;
      }
    }
    const error = (acc: number[]) => acc[1]! / acc[2]! - 1;
    // Plane strain: sigma_zz = nu (sigma_rr + sigma_tt) = 2 nu p a^2 / (b^2 - a^2), constant.
    const zzError = zz / sums.all[0]! / ((2 * nu * p * a * a) / (b * b - a * a)) - 1;
    console.info(
      `vessel wall: ${mesh.tets.length / 10} T10 tets, ${res.dofs} dofs, ${res.convergence.iterations} CG iterations; ` +
        `a = ${a.toFixed(4)} mm, b = ${b.toFixed(4)} mm; mean hoop ${(sums.all[1]! / sums.all[0]!).toFixed(5)} MPa vs Lame ` +
        `${(sums.all[2]! / sums.all[0]!).toFixed(5)}: error ${(100 * error(sums.all)).toFixed(2)}% (inner half ` +
        `${(100 * error(sums.inner)).toFixed(2)}%, outer half ${(100 * error(sums.outer)).toFixed(2)}%); sigma_zz ${(100 * zzError).toFixed(2)}%`,
    );
    // The meshed radii sit within a tenth of a voxel of the nominal ones (as the mesh package's test asserts).
    expect(Math.abs(a - r)).toBeLessThan(0.05);
    expect(Math.abs(b - r - thickness)).toBeLessThan(0.05);
    // 5% as the issue asks: T10 at h = 1 mm (1.5 elements across the wall) on a lumen whose surface follows the
    // voxelised circle's +-0.2 mm ripple; measured -1.0% (wall), -1.5% (inner half), -0.4% (outer half).
    expect(Math.abs(error(sums.all))).toBeLessThan(0.05);
    expect(Math.abs(error(sums.inner))).toBeLessThan(0.05);
    expect(Math.abs(error(sums.outer))).toBeLessThan(0.05);
    expect(Math.abs(zzError)).toBeLessThan(0.05);
  }, 60_000);
});
