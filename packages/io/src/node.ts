import { readFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { basename, dirname, extname, resolve } from 'node:path';
import { PhysiotwinError } from '@physiotwin/core';
import type { Volume } from '@physiotwin/core';
import { AtomicOutputs, checkOutputs } from './atomic-write.js';
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
  /**
   * Replace existing files, each only by a complete new one (see {@link AtomicOutputs}).
   * @default false (an existing file is an `IO_EXISTS` error and nothing is written)
   */
  overwrite?: boolean;
  /**
   * Compress: MetaImage data gets zlib (CompressedData = True; an .mhd's data file is then named .zraw, else .raw).
   * For NIfTI the extension decides (.nii.gz is gzipped); `gzip: true` with a plain .nii is refused.
   * @default false
   */
  gzip?: boolean;
  /** Further volumes of a 4D NIfTI (see `writeNifti`'s `timePoints`); refused for MetaImage. @default [] */
  timePoints?: readonly Volume[];
  /** Seconds between time points (NIfTI pixdim[4]). @default 1 */
  timeStep?: number;
}

/**
 * The files {@link writeVolumeFile} writes for `path`: the file itself, and for .mhd the data file beside it (same
 * base name, .raw or, compressed, .zraw). For checking the outputs before the work that makes the volume.
 * @throws PhysiotwinError `IO_UNSUPPORTED` for an extension other than .nii, .nii.gz, .mha and .mhd,
 *   `INVALID_ARGUMENT` for `gzip: true` with .nii.
 */
export function volumeFilePaths(path: string, options: Pick<WriteVolumeFileOptions, 'gzip'> = {}): string[] {
  const format = volumeFormatFromName(path);
  const lower = path.toLowerCase();
  if (format === 'nifti') {
    if (options.gzip && !lower.endsWith('.gz')) throw new PhysiotwinError('INVALID_ARGUMENT', `gzip requested but ${path} is a plain .nii: name it .nii.gz`);
    return [path];
  }
  if (format === 'metaimage' && lower.endsWith('.mha')) return [path];
  if (format === 'metaimage') return [path, resolve(dirname(path), basename(path, extname(path)) + (options.gzip ? '.zraw' : '.raw'))];
  throw new PhysiotwinError('IO_UNSUPPORTED', 'unknown volume file extension: expected .nii, .nii.gz, .mha or .mhd', { location: { file: path } });
}

/**
 * Encodes a volume as the files {@link writeVolumeFile} writes: [path, bytes] for each of {@link volumeFilePaths}.
 * For writers that stage a volume with other outputs in one {@link AtomicOutputs}.
 * @throws as {@link volumeFilePaths}, `INVALID_ARGUMENT` for an invalid volume, `IO_UNSUPPORTED` for time points in
 *   a MetaImage.
 */
export function encodeVolumeFile(path: string, volume: Volume, options: Pick<WriteVolumeFileOptions, 'gzip' | 'timePoints' | 'timeStep'> = {}): Array<[string, Uint8Array]> {
  const [target, dataPath] = volumeFilePaths(path, options);
  const { timePoints, timeStep } = options;
  if (volumeFormatFromName(path) === 'nifti') {
    return [[target!, writeNifti(volume, { gzip: path.toLowerCase().endsWith('.gz'), ...(timePoints ? { timePoints } : {}), ...(timeStep !== undefined ? { timeStep } : {}) })]];
  }
  if (timePoints && timePoints.length > 0) throw new PhysiotwinError('IO_UNSUPPORTED', '4D volumes are written as NIfTI only (.nii or .nii.gz)', { location: { file: path } });
  if (!dataPath) return [[target!, writeMetaImage(volume, { compress: options.gzip ?? false }).header]];
  const { header, data } = writeMetaImage(volume, { compress: options.gzip ?? false, dataFileName: basename(dataPath) });
  return [[target!, header], [dataPath, data!]];
}

/**
 * Writes a volume to a file whose extension picks the format: .nii, .nii.gz, .mha, or .mhd (plus a data file
 * next to it with the same base name and .raw, or .zraw when compressed). Atomic (see {@link AtomicOutputs}): a
 * kill or an error never leaves a partial file under the name, and an existing file is replaced only with
 * `overwrite`, by a complete new one. The folder must exist.
 * @example
 * ```ts
 * await writeVolumeFile('out/segmentation.nii.gz', labels);
 * ```
 * @throws PhysiotwinError `IO_EXISTS` when a target exists and `overwrite` is not set (nothing is written then),
 *   `IO_UNSUPPORTED` for another extension, `INVALID_ARGUMENT` for `gzip: true` with .nii or an invalid volume,
 *   `IO_NOT_FOUND` (missing folder), `IO_PERMISSION`, `IO_WRITE_FAILED`.
 */
export async function writeVolumeFile(path: string, volume: Volume, options: WriteVolumeFileOptions = {}): Promise<void> {
  const files = encodeVolumeFile(path, volume, options);
  // Check every target first so that a refusal leaves nothing half-written; the commit settles a race.
  await checkOutputs(files.map(([target]) => target), options);
  const out = new AtomicOutputs(options);
  for (const [target, bytes] of files) await out.stage(target, bytes);
  await out.commit();
}

export { abandonPendingWrites, AtomicOutputs, checkFolderCreatable, checkOutputs, writeError, writeFileAtomic } from './atomic-write.js';
export type { AtomicWriteOptions } from './atomic-write.js';
