import { readFileSync } from 'node:fs';
import { readFile, stat, writeFile } from 'node:fs/promises';
import { basename, dirname, extname, resolve } from 'node:path';
import { PhysiotwinError } from '@physiotwin/core';
import type { Volume } from '@physiotwin/core';
import { writeMetaImage } from './metaimage.js';
import { writeNifti } from './nifti.js';
import { readVolume, volumeFormatFromName } from './read-volume.js';

function errnoCode(e: unknown): string | undefined {
  return (e as NodeJS.ErrnoException | undefined)?.code;
}

/** Node's file errors as typed errors: a missing file is `IO_NOT_FOUND`, others pass through. */
function fileError(e: unknown, path: string): unknown {
  const code = errnoCode(e);
  if (code === 'ENOENT') return new PhysiotwinError('IO_NOT_FOUND', 'no such file', { location: { file: path }, cause: e });
  if (code === 'EISDIR') return new PhysiotwinError('IO_INVALID', 'expected a file, found a directory', { location: { file: path }, cause: e });
  if (code === 'EEXIST') return new PhysiotwinError('IO_EXISTS', 'file exists (pass overwrite to replace it)', { location: { file: path }, cause: e });
  return e;
}

/**
 * Reads a volume file: NIfTI-1 (.nii, .nii.gz) or MetaImage (.mha, or .mhd with its data file resolved next to
 * the header).
 * @example
 * ```ts
 * const volume = await readVolumeFile('fixtures/mesh/vmtk-aorta/aorta.mha');
 * ```
 * @throws PhysiotwinError `IO_NOT_FOUND` when the file (or an .mhd's data file) is missing, and whatever
 *   `readVolume` throws for its contents.
 */
export async function readVolumeFile(path: string): Promise<Volume> {
  let bytes: Uint8Array;
  try {
    bytes = await readFile(path);
  } catch (e) {
    throw fileError(e, path);
  }
  const readDataFile = (name: string) => {
    const dataPath = resolve(dirname(path), name);
    try {
      return readFileSync(dataPath);
    } catch (e) {
      throw fileError(e, dataPath);
    }
  };
  return readVolume(bytes, { name: path, readDataFile });
}

/** Options of {@link writeVolumeFile}. */
export interface WriteVolumeFileOptions {
  /** Replace existing files. @default false (an existing file is an `IO_EXISTS` error) */
  overwrite?: boolean;
  /**
   * Compress: MetaImage data gets zlib (CompressedData = True; an .mhd's data file is then named .zraw, else .raw).
   * For NIfTI the extension decides (.nii.gz is gzipped); `gzip: true` with a plain .nii is refused.
   * @default false
   */
  gzip?: boolean;
}

/**
 * Writes a volume to a file whose extension picks the format: .nii, .nii.gz, .mha, or .mhd (plus a data file
 * next to it with the same base name and .raw, or .zraw when compressed).
 * @example
 * ```ts
 * await writeVolumeFile('out/segmentation.nii.gz', labels);
 * ```
 * @throws PhysiotwinError `IO_EXISTS` when a target exists and `overwrite` is not set (nothing is written then),
 *   `IO_UNSUPPORTED` for another extension, `INVALID_ARGUMENT` for `gzip: true` with .nii or an invalid volume.
 */
export async function writeVolumeFile(path: string, volume: Volume, options: WriteVolumeFileOptions = {}): Promise<void> {
  const format = volumeFormatFromName(path);
  const lower = path.toLowerCase();
  const files: Array<[string, Uint8Array]> = [];
  if (format === 'nifti') {
    const gzipped = lower.endsWith('.gz');
    if (options.gzip && !gzipped) throw new PhysiotwinError('INVALID_ARGUMENT', `gzip requested but ${path} is a plain .nii: name it .nii.gz`);
    files.push([path, writeNifti(volume, { gzip: gzipped })]);
  } else if (format === 'metaimage' && lower.endsWith('.mha')) {
    files.push([path, writeMetaImage(volume, { compress: options.gzip ?? false }).header]);
  } else if (format === 'metaimage') {
    const dataName = basename(path, extname(path)) + (options.gzip ? '.zraw' : '.raw');
    const { header, data } = writeMetaImage(volume, { compress: options.gzip ?? false, dataFileName: dataName });
    files.push([path, header], [resolve(dirname(path), dataName), data!]);
  } else {
    throw new PhysiotwinError('IO_UNSUPPORTED', 'unknown volume file extension: expected .nii, .nii.gz, .mha or .mhd', { location: { file: path } });
  }
  if (!options.overwrite) {
    // Check every target first so that a refusal leaves nothing half-written.
    for (const [target] of files) {
      const exists = await stat(target).then(
        () => true,
        (e: unknown) => {
          if (errnoCode(e) === 'ENOENT') return false;
          throw e;
        },
      );
      if (exists) throw new PhysiotwinError('IO_EXISTS', 'file exists (pass overwrite to replace it)', { location: { file: target } });
    }
  }
  for (const [target, bytes] of files) {
    try {
      // 'wx' closes the race between the check above and the write.
      await writeFile(target, bytes, { flag: options.overwrite ? 'w' : 'wx' });
    } catch (e) {
      throw fileError(e, target);
    }
  }
}
export { writeRunProvenance, verifyRun, PROVENANCE_FILES } from './provenance-node.js';
export type { VerifiedFile, RunVerification } from './provenance-node.js';
