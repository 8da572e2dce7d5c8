// Reads the binary STL files the pipeline writes (lumen.stl) into triangle corners, and measures what a comparison
// of two surfaces needs: enclosed volume, area, largest coordinate and the largest corner-to-corner distance.

/** A binary STL's triangles: 9 float32 coordinates (3 corners) per triangle, in file order. */
export interface StlTriangles {
  count: number;
  corners: Float32Array;
}

/**
 * @throws Error for anything but a binary STL whose size matches its triangle count (what `writeStl` writes).
 */
export function readBinaryStl(bytes: Uint8Array): StlTriangles {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const count = bytes.length >= 84 ? view.getUint32(80, true) : -1;
  if (count < 0 || bytes.length !== 84 + 50 * count) throw new Error(`not a binary STL (${bytes.length} bytes, ${count} triangles in the header)`);
  const corners = new Float32Array(9 * count);
  for (let t = 0; t < count; t++) for (let c = 0; c < 9; c++) corners[9 * t + c] = view.getFloat32(84 + 50 * t + 12 + 4 * c, true);
  return { count, corners };
}

/** Enclosed (signed) volume by the divergence theorem, mm^3, and the area, mm^2, of a closed oriented surface. */
export function volumeAndArea(stl: StlTriangles): { volume: number; area: number; maxCoordinate: number } {
  const p = stl.corners;
  let volume = 0, area = 0, maxCoordinate = 0;
  for (let t = 0; t < stl.count; t++) {
    const o = 9 * t;
    const [ax, ay, az, bx, by, bz, cx, cy, cz] = [p[o]!, p[o + 1]!, p[o + 2]!, p[o + 3]!, p[o + 4]!, p[o + 5]!, p[o + 6]!, p[o + 7]!, p[o + 8]!];
    volume += (ax * (by * cz - bz * cy) + ay * (bz * cx - bx * cz) + az * (bx * cy - by * cx)) / 6;
    const [ux, uy, uz, vx, vy, vz] = [bx - ax, by - ay, bz - az, cx - ax, cy - ay, cz - az];
    area += Math.hypot(uy * vz - uz * vy, uz * vx - ux * vz, ux * vy - uy * vx) / 2;
    for (let c = 0; c < 9; c++) maxCoordinate = Math.max(maxCoordinate, Math.abs(p[o + c]!));
  }
  return { volume, area, maxCoordinate };
}

/**
 * The largest distance (per coordinate) between corresponding corners of two STLs with the same triangles.
 * @throws Error when the triangle counts differ.
 */
export function maxCornerDifference(a: StlTriangles, b: StlTriangles): number {
  if (a.count !== b.count) throw new Error(`${a.count} vs ${b.count} triangles`);
  let worst = 0;
  for (let i = 0; i < a.corners.length; i++) worst = Math.max(worst, Math.abs(a.corners[i]! - b.corners[i]!));
  return worst;
}
