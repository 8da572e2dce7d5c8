import type { SurfaceMesh } from '@physiotwin/core';
import { PhysiotwinError } from '@physiotwin/core';
import { readObj, writeObj } from './obj.js';
import { readPly, writePly } from './ply.js';
import { readStl, writeStl } from './stl.js';
import type { ReadSurfaceOptions } from './vtp.js';
import { readVtp, writeVtp } from './vtp.js';

/** Surface file formats read and written here. */
export type SurfaceFormat = 'stl' | 'obj' | 'ply' | 'vtp';

/**
 * The format named by a file extension (.stl, .obj, .ply, .vtp; any case).
 * @throws PhysiotwinError `IO_UNSUPPORTED` for another extension.
 */
export function surfaceFormatFromPath(path: string): SurfaceFormat {
  const m = /\.(stl|obj|ply|vtp)$/i.exec(path);
  if (!m) throw new PhysiotwinError('IO_UNSUPPORTED', `surface files must end in .stl, .obj, .ply or .vtp, got '${path}'`, { location: { file: path } });
  return m[1]!.toLowerCase() as SurfaceFormat;
}

/**
 * Encodes a surface in `format` (binary STL, OBJ, binary little-endian PLY, VTP with inline base64 data).
 * @throws PhysiotwinError `INVALID_ARGUMENT` for a malformed mesh, `IO_UNSUPPORTED` for an unknown format.
 */
export function encodeSurface(mesh: SurfaceMesh, format: SurfaceFormat): Uint8Array {
  switch (format) {
    case 'stl':
      return writeStl(mesh);
    case 'obj':
      return writeObj(mesh);
    case 'ply':
      return writePly(mesh);
    case 'vtp':
      return writeVtp(mesh);
    default:
      throw new PhysiotwinError('IO_UNSUPPORTED', `unknown surface format ${JSON.stringify(format)}`);
  }
}

/**
 * Decodes a surface file in `format` (see {@link readStl}, {@link readObj}, {@link readPly}, {@link readVtp}).
 * @throws PhysiotwinError as the format's reader; `IO_UNSUPPORTED` for an unknown format.
 * @example
 * ```ts
 * const mesh = decodeSurface(bytes, surfaceFormatFromPath(name), { file: name });
 * ```
 */
export function decodeSurface(bytes: Uint8Array, format: SurfaceFormat, options: ReadSurfaceOptions = {}): SurfaceMesh {
  switch (format) {
    case 'stl':
      return readStl(bytes, options);
    case 'obj':
      return readObj(bytes, options);
    case 'ply':
      return readPly(bytes, options);
    case 'vtp':
      return readVtp(bytes, options);
    default:
      throw new PhysiotwinError('IO_UNSUPPORTED', `unknown surface format ${JSON.stringify(format)}`);
  }
}
