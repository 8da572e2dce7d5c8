// The Part 10 writer lives in dicom-writer.ts; this module keeps the name the package has exported from the start.
export { writeDicom, encodeDicom, formatDS } from './dicom-writer.js';
export type { DicomElementInit, WriteDicomOptions, EncodedDicom } from './dicom-writer.js';
