// Our readers against files VTK wrote (fixtures/surface, made by make_surface_fixtures.py with python3-vtk9).
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { REPO_ROOT } from '../test-support/volumes.js';
import { decodeSurface, surfaceFormatFromPath } from './surface.js';

const dir = join(REPO_ROOT, 'fixtures', 'surface');
const expected = JSON.parse(readFileSync(join(dir, 'expected.json'), 'utf8')) as { positions: number[]; triangles: number[]; radius: number[] };
const read = (name: string) => decodeSurface(new Uint8Array(readFileSync(join(dir, name))), surfaceFormatFromPath(name), { file: name });

describe('surface readers on files VTK wrote', () => {
  // VTK writes ascii coordinates with 17 significant digits of the f32 value, so every format gives back the f32
  // points exactly: the comparisons are exact.
  it.each(['sphere-ascii.vtp', 'sphere-binary.vtp', 'sphere-binary-zlib-uint64.vtp', 'sphere-appended-raw.vtp', 'sphere-appended-raw-zlib.vtp', 'sphere-appended-base64-zlib.vtp'])(
    '%s: the points, triangles, point and cell arrays VTK held',
    (name) => {
      const mesh = read(name);
      expect(Array.from(mesh.positions)).toEqual(expected.positions);
      expect(Array.from(mesh.triangles)).toEqual(expected.triangles);
      expect(Array.from(mesh.pointData!.radius!.values)).toEqual(expected.radius);
      expect(Array.from(mesh.cellData!.cellId!.values)).toEqual(expected.triangles.map((_, i) => i).filter((i) => i % 3 === 0).map((i) => i / 3));
    },
  );

  it.each(['sphere-binary.ply', 'sphere-ascii.ply', 'sphere.obj'])('%s: the points and triangles VTK held', (name) => {
    const mesh = read(name);
    expect(Array.from(mesh.positions)).toEqual(expected.positions);
    expect(Array.from(mesh.triangles)).toEqual(expected.triangles);
  });

  // STL stores triangle soup: after merging, the points are renumbered in order of first use, so compare each
  // triangle's corner coordinates (same triangle order, same corner order).
  it.each(['sphere-binary.stl', 'sphere-ascii.stl'])('%s: the triangles VTK held, corner by corner, with shared points merged', (name) => {
    const mesh = read(name);
    expect(mesh.positions.length / 3).toBe(expected.positions.length / 3);
    const corners = (positions: ArrayLike<number>, triangles: ArrayLike<number>) => Array.from(triangles, (p) => [positions[3 * p]!, positions[3 * p + 1]!, positions[3 * p + 2]!]);
    expect(corners(mesh.positions, mesh.triangles)).toEqual(corners(expected.positions, expected.triangles));
  });
});
