// The wall stages: a tet mesh of the vessel wall around the lumen, and its linear-elastic deformation under the
// simulated peak systolic pressure, with the ends where the vessel leaves the image held fixed.
import type { TetMesh, Volume } from '@physiotwin/core';
import { conversionFactor } from '@physiotwin/core';
import type { FemResult } from '@physiotwin/fem';
import { solve } from '@physiotwin/fem';
import type { ComputeOptions } from '@physiotwin/gpu';
import type { WallEnd } from '@physiotwin/mesh';
import { vesselWall, WALL_TAG_LUMEN } from '@physiotwin/mesh';

/**
 * Wall material: Young's modulus 0.865 MPa, the 0D model's default (Olufsen's large-artery stiffness Eh/r = 8.65e5
 * dyn/cm^2 with h = r / 10), so the wall that stores the 0D compliance is the one that carries the stress.
 */
export const WALL_YOUNGS_MODULUS_MPA = 0.865;
/** Poisson's ratio 0.45: nearly incompressible tissue, kept below 0.5 where linear T4 elements lock. */
export const WALL_POISSON = 0.45;

/** The wall mesh and its solution. */
export interface WallResult {
  /** The wall tets (region 1), boundary faces tagged lumen (1), outer (2), cut ends (3, ...). */
  mesh: TetMesh;
  ends: WallEnd[];
  /** Displacement (mm, 3 per node), stress and von Mises stress per node and per tet (MPa). */
  fe: FemResult;
  /** The lumen pressure applied, mmHg (the simulated peak systolic inlet pressure) and MPa. */
  pressureMmHg: number;
  pressureMpa: number;
  /** Largest tet von Mises stress, and its 99th percentile over the tets, MPa. */
  peakVonMisesMpa: number;
  p99VonMisesMpa: number;
}

/**
 * Lattice spacing of the wall mesh: the wall thickness (one lattice cell across, whose stuffed tets put two to three
 * nodes through the wall). Membrane (hoop) stress dominates a pressurised tube, which linear tets across one cell
 * carry; the aorta's wall then solves in about 20 s on 2 cores (100k tets; at half this spacing 8 times as many).
 */
const CELLS_ACROSS = 1;

/**
 * Meshes the wall (thickness `wallMm`, outward from the lumen's smooth surface) and solves it.
 * @throws PhysiotwinError from `vesselWall` and `solve` (`INVALID_ARGUMENT`, `MESH_INVALID`, `LIMIT_EXCEEDED`,
 *   `SOLVER_NOT_CONVERGED`, `GPU_UNAVAILABLE`, `ABORTED`).
 */
export function meshWall(labelmap: Volume, wallMm: number, options: ComputeOptions): { mesh: TetMesh; ends: WallEnd[] } {
  const { mesh, ends } = vesselWall(labelmap, { thicknessMm: wallMm, labels: [1], maxEdgeMm: wallMm / CELLS_ACROSS }, { signal: options.signal, onProgress: options.onProgress });
  return { mesh, ends };
}

/**
 * The wall's linear-elastic solution under a uniform lumen pressure (linear T4 elements), ends fixed.
 * @throws PhysiotwinError as {@link meshWall}.
 */
export async function solveWall(wall: { mesh: TetMesh; ends: WallEnd[] }, pressureMmHg: number, options: ComputeOptions): Promise<WallResult> {
  const pressureMpa = pressureMmHg * conversionFactor('mmHg', 'MPa');
  const fe = await solve(
    {
      mesh: wall.mesh,
      element: 'T4',
      materials: [{ region: 1, E: WALL_YOUNGS_MODULUS_MPA, nu: WALL_POISSON }],
      constraints: wall.ends.map((e) => ({ nodes: { faceTag: e.tag }, displacement: [0, 0, 0] })),
      loads: [{ faces: { faceTag: WALL_TAG_LUMEN }, pressure: pressureMpa }],
      // the AMG V-cycle: 66 iterations on the aorta's wall where block Jacobi takes 6500 (same stresses)
      solver: { preconditioner: 'multilevel' },
    },
    options,
  );
  return { ...wall, fe, pressureMmHg, pressureMpa, peakVonMisesMpa: percentile(fe.vonMises, 1), p99VonMisesMpa: percentile(fe.vonMises, 0.99) };
}

/** The q-quantile of the values (nearest rank; q = 1: the largest). */
function percentile(values: Float64Array, q: number): number {
  const sorted = Float64Array.from(values).sort();
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]!;
}
