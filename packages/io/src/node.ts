import { closeSync, realpathSync } from 'node:fs';
import { basename, dirname, extname, isAbsolute, resolve } from 'node:path';
import { PhysiotwinError, fileReadError } from '@physiotwin/core';
import type { Volume } from '@physiotwin/core';
import { AtomicOutputs, checkOutputs } from './atomic-write.js';
import { writeMetaImage } from './metaimage.js';
import { niftiParts, writeNifti } from './nifti.js';
import { readVolume, volumeFormatFromName } from './read-volume.js';
import type { ByteSource } from './binary.js';
import { isInsideFolder, openRegularFile } from './regular-file.js';

/** Options of {@link readVolumeFile}. */
export interface ReadVolumeFileOptions {
  /**
   * Let an .mhd header's ElementDataFile name a file outside the header's folder: an absolute path, a `..` path,
   * or a symbolic link that leads out. The header is untrusted input (it may come from anyone's archive), so this
   * is off unless you trust where it came from.
   * @default false
   */
  allowDataFileOutside?: boolean | undefined;
  /** Most bytes the decoded voxels may take; see `readNifti`. @default 2 GiB */
  maxDecodedBytes?: number | undefined;
}

/**
 * Where an .mhd header's ElementDataFile may be read from: inside the header's folder (after following symbolic
 * links), unless `allowOutside`. Returns the path to open and whether to refuse a symbolic link in its last part.
 * @throws PhysiotwinError `IO_PERMISSION` for a name that leads outside, `IO_NOT_FOUND` for a missing file.
 */
function resolveDataFile(headerPath: string, name: string, allowOutside: boolean): { path: string; noFollow: boolean } {
  const folder = dirname(resolve(headerPath));
  const target = resolve(folder, name);
  if (allowOutside) return { path: target, noFollow: false };
  const refuse = (how: string) =>
    new PhysiotwinError('IO_PERMISSION', `MetaImage ElementDataFile ${JSON.stringify(name)} ${how}; only files inside the header's folder are read (the allowDataFileOutside option widens this)`, {
      location: { file: headerPath },
      details: { field: 'ElementDataFile', option: 'allowDataFileOutside' },
    });
  if (isAbsolute(name) || !isInsideFolder(folder, target)) throw refuse('points outside the header\'s folder');
  let real: string;
  let realFolder: string;
  try {
    real = realpathSync(target);
    realFolder = realpathSync(folder);
  } catch (e) {
    throw fileReadError(e, target);
  }
  if (!isInsideFolder(realFolder, real)) throw refuse('leads outside the header\'s folder through a symbolic link');
  // The resolved path has no links left; O_NOFOLLOW refuses one swapped in between the check and the open.
  return { path: real, noFollow: true };
}

/**
 * Reads a volume file: NIfTI-1 (.nii, .nii.gz) or MetaImage (.mha, or .mhd with its data file).
 *
 * An .mhd header is untrusted input: its ElementDataFile must be a regular file inside the header's folder
 * (`allowDataFileOutside` widens this). The volume file itself must be a regular file too (not a FIFO or a device
 * such as /dev/zero). From either, only the header and the bytes it declares are read (and a compressed stream is
 * decompressed only that far), so a huge file behind a small header costs kilobytes.
 * @example
 * ```ts
 * const volume = await readVolumeFile('fixtures/mesh/vmtk-aorta/aorta.mha');
 * ```
 * @throws PhysiotwinError `IO_NOT_FOUND` when the file (or an .mhd's data file) is missing, `IO_PERMISSION` when
 *   it may not be read (file-system permissions, or a data file outside the header's folder), `IO_INVALID` when
 *   it is not a regular file, and whatever `readVolume` throws for its contents.
 */
export async function readVolumeFile(path: string, options: ReadVolumeFileOptions = {}): Promise<Volume> {
  const opened: number[] = [];
  try {
    const main = openRegularFile(path, false);
    opened.push(main.fd);
    const readDataFile = (name: string): ByteSource => {
      const where = resolveDataFile(path, name, options.allowDataFileOutside ?? false);
      const data = openRegularFile(where.path, where.noFollow);
      opened.push(data.fd);
      return data.source;
    };
    // Read on demand: only the header and what it declares come off the disk.
    return readVolume(main.source, { name: path, readDataFile, maxDecodedBytes: options.maxDecodedBytes });
  } finally {
    for (const fd of opened) closeSync(fd);
  }
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
 * {@link encodeVolumeFile} with each file's bytes in parts written one after the other (an uncompressed .nii: the
 * header, then views of the volumes' voxels on a little-endian host), so that a large volume is not copied into
 * one buffer before it is written: stage the parts with {@link AtomicOutputs.stage}. The parts share memory with
 * `volume` and `timePoints`: do not change them until the files are written.
 * @throws as {@link encodeVolumeFile}.
 */
export function encodeVolumeFileParts(path: string, volume: Volume, options: Pick<WriteVolumeFileOptions, 'gzip' | 'timePoints' | 'timeStep'> = {}): Array<[string, Uint8Array[]]> {
  const lower = path.toLowerCase();
  if (volumeFormatFromName(path) === 'nifti' && !lower.endsWith('.gz') && !options.gzip) {
    const [target] = volumeFilePaths(path, options);
    const { timePoints, timeStep } = options;
    return [[target!, niftiParts(volume, { ...(timePoints ? { timePoints } : {}), ...(timeStep !== undefined ? { timeStep } : {}) })]];
  }
  return encodeVolumeFile(path, volume, options).map(([target, bytes]) => [target, [bytes]]);
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
export type { AtomicWriteOptions, StageOptions, StagedFile } from './atomic-write.js';
export { writeRunProvenance, verifyRun, PROVENANCE_FILES } from './provenance-node.js';
export type { VerifiedFile, RunVerification, RunProvenanceOptions } from './provenance-node.js';
// Also here so that Node callers that only read volume files need not load the main entry's mesh and surface formats.
export { volumeFormatFromName } from './read-volume.js';
export { isInsideFolder, readRegularFile } from './regular-file.js';
