import { PhysiotwinError, createVolume, isPhysiotwinError } from '@physiotwin/core';
import type { Volume, VolumeData, VolumeInit } from '@physiotwin/core';
import { optionalFile } from './binary.js';

/**
 * Builds a volume from what a file header said. A geometry that core rejects (non-finite or zero spacing, a
 * singular direction, a grid that reaches past core's coordinate limit) stays `GEOMETRY_INVALID`, other
 * inconsistencies become `IO_INVALID`: both are faults of the file, so both name it.
 */
export function volumeFromFile<T extends VolumeData>(init: VolumeInit<T>, format: string, file: string | undefined): Volume<T> {
  try {
    return createVolume(init);
  } catch (e) {
    if (isPhysiotwinError(e, 'GEOMETRY_INVALID')) {
      throw new PhysiotwinError('GEOMETRY_INVALID', `${format} header describes an invalid geometry: ${e.message}`, { location: optionalFile(file), cause: e });
    }
    if (!isPhysiotwinError(e, 'INVALID_ARGUMENT')) throw e;
    throw new PhysiotwinError('IO_INVALID', `${format} header describes an invalid volume: ${e.message}`, { location: optionalFile(file), cause: e });
  }
}
