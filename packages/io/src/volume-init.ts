import { PhysiotwinError, createVolume, isPhysiotwinError } from '@physiotwin/core';
import type { Volume, VolumeData, VolumeInit } from '@physiotwin/core';
import { optionalFile } from './binary.js';

/**
 * Builds a volume from what a file header said; a geometry that core rejects (singular direction, zero spacing)
 * is a fault of the file, so it becomes `IO_INVALID` naming the file.
 */
export function volumeFromFile<T extends VolumeData>(init: VolumeInit<T>, format: string, file: string | undefined): Volume<T> {
  try {
    return createVolume(init);
  } catch (e) {
    if (!isPhysiotwinError(e, 'INVALID_ARGUMENT')) throw e;
    throw new PhysiotwinError('IO_INVALID', `${format} header describes an invalid volume: ${e.message}`, { location: optionalFile(file), cause: e });
  }
}
