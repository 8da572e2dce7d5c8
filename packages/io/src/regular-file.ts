// Node-only: opening input files only when they are regular files (FIFOs block, devices never end).
import { closeSync, constants, fstatSync, openSync, readSync } from 'node:fs';
import { isAbsolute, relative, sep } from 'node:path';
import { fileReadError, notRegularFileError } from '@physiotwin/core';
import type { ByteSource } from './binary.js';

/** Largest read handed to the OS in one call (Node refuses lengths over 2 GiB - 1). */
const MAX_READ = 1 << 30;

/**
 * Opens a file for reading only if it is a regular file. O_NONBLOCK makes opening a FIFO return at once (instead of
 * waiting for a writer) so that fstat can refuse it, like devices (/dev/zero) and sockets.
 */
export function openRegularFile(path: string, noFollow: boolean): { fd: number; source: ByteSource } {
  let fd: number;
  try {
    fd = openSync(path, constants.O_RDONLY | (constants.O_NONBLOCK ?? 0) | (noFollow ? (constants.O_NOFOLLOW ?? 0) : 0));
  } catch (e) {
    throw fileReadError(e, path);
  }
  try {
    const st = fstatSync(fd);
    if (!st.isFile()) throw notRegularFileError(st, path);
    const source: ByteSource = {
      size: st.size,
      readInto(position, target) {
        let done = 0;
        try {
          while (done < target.length) {
            const n = readSync(fd, target, done, Math.min(MAX_READ, target.length - done), position + done);
            if (n === 0) break;
            done += n;
          }
        } catch (e) {
          throw fileReadError(e, path);
        }
        return done;
      },
    };
    return { fd, source };
  } catch (e) {
    closeSync(fd);
    throw e;
  }
}

/** True when `path` lies inside `folder` (both absolute, normalised). */
/**
 * Reads a regular file whole: FIFOs, devices, sockets and folders are refused before any read (a FIFO would block
 * until a writer came, /dev/zero would never end).
 * @throws PhysiotwinError `IO_NOT_FOUND`, `IO_PERMISSION`, `IO_INVALID` (not a regular file, a read failure).
 */
export function readRegularFile(path: string): Buffer {
  const { fd, source } = openRegularFile(path, false);
  try {
    const bytes = Buffer.allocUnsafe(source.size);
    const n = source.readInto(0, bytes);
    return n < bytes.length ? bytes.subarray(0, n) : bytes;
  } finally {
    closeSync(fd);
  }
}

/**
 * True when `path` is `folder` or lies inside it (lexically: resolve symbolic links first where they matter). For
 * names that come from untrusted files (an .mhd's data file, a manifest's outputs): `..` and absolute paths lead out.
 * @throws nothing
 * @example
 * ```ts
 * isInsideFolder('/data/run', '/data/run/a/b.nii'); // true
 * isInsideFolder('/data/run', '/data/run/../x');    // false
 * ```
 */
export function isInsideFolder(folder: string, path: string): boolean {
  const rel = relative(folder, path);
  return !isAbsolute(rel) && rel !== '..' && !rel.startsWith(`..${sep}`);
}
