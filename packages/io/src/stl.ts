import type { SurfaceMesh } from '@physiotwin/core';
import { PhysiotwinError, validateSurfaceMesh } from '@physiotwin/core';
import { optionalFile } from './binary.js';
import { mergedSurface } from './surface-build.js';
import type { ReadSurfaceOptions } from './vtp.js';

const encoder = new TextEncoder();

/**
 * Binary STL: 80-byte header, triangle count, then per triangle its unit normal (from the vertex order), three
 * vertices (f32, mm) and a zero attribute word.
 * @throws PhysiotwinError `INVALID_ARGUMENT` for a malformed mesh.
 */
export function writeStl(mesh: SurfaceMesh, header = 'physiotwin binary STL, LPS millimetres'): Uint8Array {
  validateSurfaceMesh(mesh);
  const P = mesh.positions;
  const T = mesh.triangles;
  const nt = T.length / 3;
  const out = new Uint8Array(84 + 50 * nt);
  out.set(encoder.encode(header).subarray(0, 80));
  const view = new DataView(out.buffer);
  view.setUint32(80, nt, true);
  for (let t = 0; t < nt; t++) {
    const o = 84 + 50 * t;
    const [a, b, c] = [T[3 * t]!, T[3 * t + 1]!, T[3 * t + 2]!];
    const ux = P[3 * b]! - P[3 * a]!, uy = P[3 * b + 1]! - P[3 * a + 1]!, uz = P[3 * b + 2]! - P[3 * a + 2]!;
    const wx = P[3 * c]! - P[3 * a]!, wy = P[3 * c + 1]! - P[3 * a + 1]!, wz = P[3 * c + 2]! - P[3 * a + 2]!;
    let nx = uy * wz - uz * wy, ny = uz * wx - ux * wz, nz = ux * wy - uy * wx;
    const len = Math.hypot(nx, ny, nz) || 1;
    nx /= len;
    ny /= len;
    nz /= len;
    view.setFloat32(o, nx, true);
    view.setFloat32(o + 4, ny, true);
    view.setFloat32(o + 8, nz, true);
    [a, b, c].forEach((v, i) => {
      for (let d = 0; d < 3; d++) view.setFloat32(o + 12 + 12 * i + 4 * d, P[3 * v + d]!, true);
    });
  }
  return out;
}

/**
 * Reads an STL file, binary or ASCII (told apart by size: a binary file is exactly 84 + 50 x its triangle count
 * bytes). Vertices with bit-identical coordinates are merged, numbered in order of first use; the stored facet
 * normals are ignored (the vertex order defines orientation). Coordinates are as stored (f32).
 * @throws PhysiotwinError `IO_TRUNCATED` (shorter than its header or triangle count says), `IO_INVALID` (ASCII
 *   that is not `solid`/`facet`/`vertex` syntax, a facet without 3 vertices, non-finite coordinates).
 * @example
 * ```ts
 * const mesh = readStl(bytes, { file: 'vessel.stl' });
 * ```
 */
export function readStl(bytes: Uint8Array, options: ReadSurfaceOptions = {}): SurfaceMesh {
  const location = optionalFile(options.file);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const binaryCount = bytes.length >= 84 ? view.getUint32(80, true) : -1;
  const head = new TextDecoder('latin1').decode(bytes.subarray(0, Math.min(bytes.length, 512)));
  const exactBinary = binaryCount >= 0 && bytes.length === 84 + 50 * binaryCount;
  if (exactBinary || !/^\s*solid\b/.test(head)) {
    if (bytes.length < 84) throw new PhysiotwinError('IO_TRUNCATED', `a binary STL has at least 84 bytes, this one ${bytes.length}`, { location });
    if (bytes.length < 84 + 50 * binaryCount) {
      throw new PhysiotwinError('IO_TRUNCATED', `the STL header says ${binaryCount} triangles (${84 + 50 * binaryCount} bytes), the file has ${bytes.length} bytes`, { location });
    }
    const soup = new Float32Array(9 * binaryCount);
    for (let t = 0; t < binaryCount; t++) {
      for (let k = 0; k < 9; k++) soup[9 * t + k] = view.getFloat32(84 + 50 * t + 12 + 4 * k, true);
    }
    checkFinite(soup, options.file);
    return mergedSurface(soup);
  }
  const text = new TextDecoder('latin1').decode(bytes);
  const coords: number[] = [];
  let inFacet = 0;
  let line = 0;
  for (const raw of text.split('\n')) {
    line++;
    const words = raw.trim().split(/\s+/);
    const key = words[0]?.toLowerCase();
    if (key === 'vertex') {
      if (words.length !== 4) throw new PhysiotwinError('IO_INVALID', `line ${line}: a vertex needs 3 coordinates`, { location });
      coords.push(Number(words[1]), Number(words[2]), Number(words[3]));
      inFacet++;
    } else if (key === 'endfacet') {
      if (inFacet !== 3) throw new PhysiotwinError('IO_INVALID', `line ${line}: a facet has ${inFacet} vertices, STL facets have 3`, { location });
      inFacet = 0;
    } else if (key === 'facet') inFacet = 0;
  }
  if (coords.length % 9 !== 0) throw new PhysiotwinError('IO_TRUNCATED', 'the ASCII STL ends inside a facet', { location });
  const soup = Float32Array.from(coords);
  checkFinite(soup, options.file);
  return mergedSurface(soup);
}

function checkFinite(values: Float32Array, file: string | undefined): void {
  for (let i = 0; i < values.length; i++) {
    if (!Number.isFinite(values[i]!)) throw new PhysiotwinError('IO_INVALID', `coordinate ${i % 3} of vertex ${Math.floor(i / 3)} is ${values[i]}`, { location: optionalFile(file) });
  }
}
