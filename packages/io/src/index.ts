export { readNifti, readNiftiHeader, writeNifti, NIFTI1_HEADER_SIZE } from './nifti.js';
export type { NiftiHeader, ReadNiftiOptions, WriteNiftiOptions } from './nifti.js';
export { readMetaImage, writeMetaImage, parseMetaImageHeader } from './metaimage.js';
export type { MetaImageHeader, ReadMetaImageOptions, WriteMetaImageOptions } from './metaimage.js';
export { readVolume, volumeFormatFromName } from './read-volume.js';
export type { ReadVolumeOptions, VolumeFormat } from './read-volume.js';
export { DEFAULT_MAX_DECODED_BYTES } from './binary.js';
export type { ByteSource } from './binary.js';
