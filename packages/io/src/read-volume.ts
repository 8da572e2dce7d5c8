import { PhysiotwinError } from '@physiotwin/core';
import type { Volume } from '@physiotwin/core';
import { asSource, isGzip, optionalFile, readPrefix } from './binary.js';
import type { ByteSource } from './binary.js';
import { readMetaImage } from './metaimage.js';
import { readNifti } from './nifti.js';

/** Volume file formats physiotwin reads and writes. */
export type VolumeFormat = 'nifti' | 'metaimage';

/**
 * The format a file name's extension names (.nii, .nii.gz, .mha, .mhd; case-insensitive), else undefined.
 * @throws nothing: undefined for a name no volume reader claims.
 */
export function volumeFormatFromName(name: string): VolumeFormat | undefined {
  const lower = name.toLowerCase();
  if (lower.endsWith('.nii') || lower.endsWith('.nii.gz')) return 'nifti';
  if (lower.endsWith('.mha') || lower.endsWith('.mhd')) return 'metaimage';
  return undefined;
}

/** The format the first bytes show: gzip or sizeof_hdr 348 (either byte order) for NIfTI, a "Key =" text line for MetaImage. */
function volumeFormatFromBytes(bytes: Uint8Array): VolumeFormat | undefined {
  if (isGzip(bytes)) return 'nifti';
  if (bytes.length >= 4) {
    const view = new DataView(bytes.buffer, bytes.byteOffset, 4);
    if (view.getInt32(0, true) === 348 || view.getInt32(0, false) === 348) return 'nifti';
  }
  const start = new TextDecoder('utf-8').decode(bytes.subarray(0, 64));
  if (/^\s*[A-Za-z][A-Za-z0-9_]*\s*=/.test(start)) return 'metaimage';
  return undefined;
}

/** Options of {@link readVolume}. */
export interface ReadVolumeOptions {
  /** File name: its extension picks the format (else the first bytes do) and it appears in error messages. */
  name: string;
  /** Resolves an .mhd header's separate data file; see {@link readMetaImage}. */
  readDataFile?: ((fileName: string) => Uint8Array | ByteSource) | undefined;
  /** Most bytes the decoded voxels may take; see {@link readNifti}. @default 2 GiB */
  maxDecodedBytes?: number | undefined;
}

/**
 * Reads a NIfTI-1 (.nii, .nii.gz) or MetaImage (.mha, .mhd) volume, choosing the format from the file name's
 * extension, or from the bytes when the extension is not one of those. The input is the file's bytes, or a
 * {@link ByteSource} from which only what the header declares is read.
 * @example
 * ```ts
 * const volume = readVolume(bytes, { name: 'scan.nii.gz' });
 * ```
 * @throws PhysiotwinError `IO_UNSUPPORTED` when neither the name nor the bytes identify a format, and whatever
 *   {@link readNifti} or {@link readMetaImage} throw.
 */
export function readVolume(input: Uint8Array | ByteSource, options: ReadVolumeOptions): Volume {
  const source = asSource(input);
  const format = volumeFormatFromName(options.name) ?? volumeFormatFromBytes(readPrefix(source, 64));
  if (format === 'nifti') return readNifti(source, { name: options.name, maxDecodedBytes: options.maxDecodedBytes });
  if (format === 'metaimage') {
    return readMetaImage(source, { name: options.name, readDataFile: options.readDataFile, maxDecodedBytes: options.maxDecodedBytes });
  }
  throw new PhysiotwinError('IO_UNSUPPORTED', 'unrecognised volume format: expected NIfTI-1 (.nii, .nii.gz) or MetaImage (.mha, .mhd)', {
    location: optionalFile(options.name),
  });
}
