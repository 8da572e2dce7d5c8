import { PhysiotwinError } from '@physiotwin/core';
import type { DicomFile } from './parse.js';

/** One directory record of a DICOMDIR. */
export interface DirectoryRecord {
  /** DirectoryRecordType (0004,1430): PATIENT, STUDY, SERIES, IMAGE, ... */
  type: string;
  /** ReferencedFileID (0004,1500) split into path components, relative to the DICOMDIR's folder. */
  fileId?: string[] | undefined;
  seriesInstanceUid?: string | undefined;
  /** ReferencedSOPInstanceUIDInFile (0004,1511). */
  sopInstanceUid?: string | undefined;
}

/**
 * True when the file is a DICOMDIR (Media Storage Directory SOP class, or a DirectoryRecordSequence).
 * @throws nothing.
 */
export function isDicomdir(file: DicomFile): boolean {
  return file.meta.string('x00020002')?.trim() === '1.2.840.10008.1.3.10' || file.dataset.has('x00041220');
}

/**
 * Reads the directory records of a DICOMDIR, in file order (works whatever the record order or offsets,
 * since it walks the DirectoryRecordSequence rather than following offsets).
 * @throws PhysiotwinError `DICOM_INVALID` when the file has no DirectoryRecordSequence, or a ReferencedFileID
 * climbs out of the directory ('..').
 */
export function readDicomdir(file: DicomFile): DirectoryRecord[] {
  const ds = file.dataset;
  if (!ds.has('x00041220')) {
    throw new PhysiotwinError('DICOM_INVALID', 'not a DICOMDIR: no DirectoryRecordSequence (0004,1220)', { location: { file: ds.source, tag: '(0004,1220)' } });
  }
  return ds.items('x00041220').map((item) => {
    const ids = item.strings('x00041500').filter((s) => s !== '');
    if (ids.some((s) => s === '..' || s === '.' || s.includes('/'))) {
      throw new PhysiotwinError('DICOM_INVALID', `ReferencedFileID ${ids.join('\\')} leaves the DICOMDIR folder`, { location: { file: ds.source, tag: '(0004,1500)' } });
    }
    return {
      type: item.string('x00041430')?.trim() ?? '',
      fileId: ids.length ? ids : undefined,
      seriesInstanceUid: item.string('x0020000e')?.trim(),
      sopInstanceUid: item.string('x00041511')?.trim(),
    };
  });
}
