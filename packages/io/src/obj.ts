import type { SurfaceMesh } from '@physiotwin/core';
import { PhysiotwinError, validateSurfaceMesh } from '@physiotwin/core';
import { optionalFile } from './binary.js';
import { triangulatedSurface } from './surface-build.js';
import type { ReadSurfaceOptions } from './vtp.js';

const encoder = new TextEncoder();

/**
 * Wavefront OBJ (text): `v x y z` per vertex, `f a b c` (1-based) per triangle.
 * @throws PhysiotwinError `INVALID_ARGUMENT` for a malformed mesh.
 */
export function writeObj(mesh: SurfaceMesh): Uint8Array {
  validateSurfaceMesh(mesh);
  const P = mesh.positions;
  const T = mesh.triangles;
  const lines: string[] = ['# physiotwin surface, LPS millimetres'];
  for (let v = 0; v < P.length; v += 3) lines.push(`v ${P[v]} ${P[v + 1]} ${P[v + 2]}`);
  for (let t = 0; t < T.length; t += 3) lines.push(`f ${T[t]! + 1} ${T[t + 1]! + 1} ${T[t + 2]! + 1}`);
  return encoder.encode(lines.join('\n') + '\n');
}

/**
 * Reads the geometry of a Wavefront OBJ file: `v` (x y z; a fourth weight or vertex colours are ignored) and `f`
 * (1-based or negative relative indices, `v`, `v/vt`, `v//vn` or `v/vt/vn` forms; polygons fan-triangulated).
 * Texture coordinates, normals, groups and materials are skipped.
 * @throws PhysiotwinError `IO_INVALID` (a bad number, a face of fewer than 3 vertices or an index out of range),
 *   `IO_UNSUPPORTED` (`l` lines or `p` points, which are not a surface).
 * @example
 * ```ts
 * const mesh = readObj(bytes, { file: 'liver.obj' });
 * ```
 */
export function readObj(bytes: Uint8Array, options: ReadSurfaceOptions = {}): SurfaceMesh {
  const file = options.file;
  const text = new TextDecoder().decode(bytes);
  const positions: number[] = [];
  const connectivity: number[] = [];
  const offsets: number[] = [];
  let line = 0;
  const fail = (code: 'IO_INVALID' | 'IO_UNSUPPORTED', message: string) => new PhysiotwinError(code, `line ${line}: ${message}`, { location: optionalFile(file) });
  for (const raw of text.split('\n')) {
    line++;
    const words = raw.replace(/#.*/, '').trim().split(/\s+/);
    const key = words[0];
    if (key === 'v') {
      if (words.length < 4) throw fail('IO_INVALID', 'a vertex needs x y z');
      for (let d = 1; d <= 3; d++) {
        const x = Number(words[d]);
        if (!Number.isFinite(x)) throw fail('IO_INVALID', `${JSON.stringify(words[d])} is not a finite number`);
        positions.push(x);
      }
    } else if (key === 'f') {
      if (words.length < 4) throw fail('IO_INVALID', `a face has ${words.length - 1} vertices, at least 3 are needed`);
      const count = positions.length / 3;
      for (const w of words.slice(1)) {
        const i = Number(w.split('/')[0]);
        const index = i < 0 ? count + i : i - 1;
        if (!Number.isInteger(i) || i === 0 || index < 0 || index >= count) throw fail('IO_INVALID', `face vertex ${JSON.stringify(w)} is not one of the ${count} vertices defined so far`);
        connectivity.push(index);
      }
      offsets.push(connectivity.length);
    } else if (key === 'l' || key === 'p') {
      throw fail('IO_UNSUPPORTED', `'${key}' elements are lines or points, not a surface`);
    }
  }
  return triangulatedSurface(Float32Array.from(positions), { polygons: { connectivity, offsets } }, {}, file);
}
