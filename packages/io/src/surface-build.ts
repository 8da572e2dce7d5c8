import type { DataArray, SurfaceMesh } from '@physiotwin/core';
import { PhysiotwinError } from '@physiotwin/core';
import { optionalFile } from './binary.js';

/** Cells as VTK stores them: the points of cell c are connectivity[offsets[c - 1] .. offsets[c]). */
interface Cells {
  connectivity: ArrayLike<number>;
  offsets: ArrayLike<number>;
}

/**
 * Builds a triangle surface from polygons (fan-triangulated) and triangle strips, checking every index; cell arrays
 * (one tuple per polygon, then per strip) are repeated for each triangle a cell becomes.
 * @throws PhysiotwinError `IO_INVALID` for offsets that decrease, cells of fewer than 3 points, indices out of
 *   range, or non-finite coordinates or normals (NaN, or a value beyond float32's range stored as Infinity).
 */
export function triangulatedSurface(
  positions: Float32Array,
  cells: { polygons?: Cells | undefined; strips?: Cells | undefined },
  extra: { normals?: Float32Array | undefined; pointData?: Record<string, DataArray>; cellData?: Record<string, DataArray> },
  file: string | undefined,
): SurfaceMesh {
  const points = positions.length / 3;
  for (const [what, values] of [['point', positions], ['normal', extra.normals]] as const) {
    for (let i = 0; values && i < values.length; i++) {
      if (!Number.isFinite(values[i])) {
        throw new PhysiotwinError('IO_INVALID', `${what} ${Math.floor(i / 3)} has a non-finite (or beyond float32) component ${values[i]}`, { location: optionalFile(file) });
      }
    }
  }
  const tris: number[] = [];
  const cellOf: number[] = [];
  let cell = 0;
  const each = (c: Cells | undefined, what: string, emit: (ids: ArrayLike<number>, start: number, size: number) => void) => {
    if (!c) return;
    let start = 0;
    for (let i = 0; i < c.offsets.length; i++, cell++) {
      const end = c.offsets[i]!;
      const size = end - start;
      if (!(Number.isInteger(end) && size >= 3 && end <= c.connectivity.length)) {
        throw new PhysiotwinError('IO_INVALID', `${what} ${i} has offsets ${start}..${end}: need at least 3 points within ${c.connectivity.length}`, { location: optionalFile(file) });
      }
      for (let k = start; k < end; k++) {
        const p = c.connectivity[k]!;
        if (!(Number.isInteger(p) && p >= 0 && p < points)) {
          throw new PhysiotwinError('IO_INVALID', `${what} ${i} references point ${p} of ${points}`, { location: optionalFile(file) });
        }
      }
      emit(c.connectivity, start, size);
      start = end;
    }
  };
  each(cells.polygons, 'polygon', (ids, s, size) => {
    for (let k = 1; k + 1 < size; k++) {
      tris.push(ids[s]!, ids[s + k]!, ids[s + k + 1]!);
      cellOf.push(cell);
    }
  });
  each(cells.strips, 'triangle strip', (ids, s, size) => {
    for (let k = 0; k + 2 < size; k++) {
      // Every other triangle of a strip is flipped to keep one orientation.
      if (k % 2 === 0) tris.push(ids[s + k]!, ids[s + k + 1]!, ids[s + k + 2]!);
      else tris.push(ids[s + k + 1]!, ids[s + k]!, ids[s + k + 2]!);
      cellOf.push(cell);
    }
  });
  const mesh: SurfaceMesh = { positions, triangles: Uint32Array.from(tris) };
  if (extra.normals) mesh.normals = extra.normals;
  if (extra.pointData && Object.keys(extra.pointData).length) mesh.pointData = extra.pointData;
  const cellData = extra.cellData ?? {};
  if (Object.keys(cellData).length) {
    mesh.cellData = {};
    for (const [name, a] of Object.entries(cellData)) {
      const values = new (a.values.constructor as new (n: number) => DataArray['values'])(cellOf.length * a.components);
      cellOf.forEach((c, t) => values.set(a.values.subarray(c * a.components, (c + 1) * a.components), t * a.components));
      mesh.cellData[name] = { values, components: a.components };
    }
  }
  return mesh;
}

/**
 * Builds an indexed surface from triangle soup (9 coordinates per triangle, as STL stores it), merging vertices
 * with bit-identical coordinates, numbered in order of first use.
 */
export function mergedSurface(soup: Float32Array): SurfaceMesh {
  const index = new Map<string, number>();
  const positions: number[] = [];
  const triangles = new Uint32Array(soup.length / 3);
  for (let v = 0; v < soup.length / 3; v++) {
    const x = soup[3 * v]!;
    const y = soup[3 * v + 1]!;
    const z = soup[3 * v + 2]!;
    // -0 and 0 are one point.
    const key = `${x + 0},${y + 0},${z + 0}`;
    let id = index.get(key);
    if (id === undefined) {
      id = positions.length / 3;
      index.set(key, id);
      positions.push(x, y, z);
    }
    triangles[v] = id;
  }
  return { positions: Float32Array.from(positions), triangles };
}
