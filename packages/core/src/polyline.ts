import { PhysiotwinError } from './errors.js';
import type { DataArray } from './mesh.js';

/**
 * A set of polylines in world millimetres (LPS): VTK's `Lines` cells (centerlines, paths).
 * Line c runs through points `connectivity[offsets[c - 1] .. offsets[c] - 1]` (`offsets[-1]` = 0): VTK's
 * offsets, each the end of its line in `connectivity`.
 */
export interface Polylines {
  /** xyz per point, mm. */
  positions: Float32Array;
  /** Point indices of every line, one line after another. */
  connectivity: Uint32Array;
  /** End (exclusive) of each line in `connectivity`, non-decreasing; the last equals its length. */
  offsets: Uint32Array;
  pointData?: Record<string, DataArray> | undefined;
  /** One entry per line. */
  cellData?: Record<string, DataArray> | undefined;
}

/** Checks a polyline set's invariants. @throws PhysiotwinError `INVALID_ARGUMENT` naming the broken one. */
export function validatePolylines(p: Polylines): void {
  const bad = (msg: string) => new PhysiotwinError('INVALID_ARGUMENT', `invalid polylines: ${msg}`);
  if (p.positions.length % 3 !== 0) throw bad('positions length is not a multiple of 3');
  const n = p.positions.length / 3;
  for (let i = 0; i < p.connectivity.length; i++) if (p.connectivity[i]! >= n) throw bad(`connectivity[${i}] references point ${p.connectivity[i]} of ${n}`);
  let previous = 0;
  for (let c = 0; c < p.offsets.length; c++) {
    const o = p.offsets[c]!;
    if (o < previous + 2) throw bad(`line ${c} has ${o - previous} points; a line needs at least 2`);
    previous = o;
  }
  if (previous !== p.connectivity.length) throw bad(`the last offset is ${previous}, connectivity has ${p.connectivity.length} entries`);
  for (const [what, arrays, count] of [['point', p.pointData, n], ['cell', p.cellData, p.offsets.length]] as const) {
    for (const [name, a] of Object.entries(arrays ?? {})) {
      if (a.values.length !== count * a.components) throw bad(`${what} array '${name}' has ${a.values.length} values, expected ${count * a.components}`);
    }
  }
}
