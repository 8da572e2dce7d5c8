import { PhysiotwinError } from '@physiotwin/core';
import type { Vec3 } from '@physiotwin/core';
import type { DicomDataset, DicomFile, TagKey } from './parse.js';
import { readPixelInfo } from './pixels.js';
import type { PixelInfo } from './pixels.js';
import { parseCsaHeader } from './csa.js';
import { readFrameAcquisition } from './acquisition.js';
import type { FrameAcquisition } from './acquisition.js';
import { uihGrid } from './uih.js';

/** A rectangle of a stored frame that is one image (a Siemens mosaic or United Imaging grid tile), in pixels. */
export interface Tile {
  row0: number;
  col0: number;
}

/**
 * One 2D image of a series: a frame of a file, or a tile of a mosaic frame, with its geometry.
 * Geometry fields are undefined when the file does not carry them.
 */
export interface FrameDescriptor {
  /** Index of the source (file) in the scan. */
  sourceIndex: number;
  /** Frame within the file. */
  frameIndex: number;
  /** Mosaic tile inside the frame, when the frame is a Siemens mosaic or a United Imaging grid. */
  tile?: Tile | undefined;
  rows: number;
  columns: number;
  /** ImagePositionPatient (LPS mm) of the centre of the first transmitted pixel. */
  position?: Vec3 | undefined;
  /** ImageOrientationPatient: row direction cosines, then column direction cosines. */
  orientation?: [number, number, number, number, number, number] | undefined;
  /** PixelSpacing: [between rows (mm), between columns (mm)]. */
  pixelSpacing?: [number, number] | undefined;
  sliceThickness?: number | undefined;
  rescaleSlope: number;
  rescaleIntercept: number;
  /** Key of the stack this frame belongs to inside its series: the StackID (0020,9056) of Enhanced objects, else ''. */
  stackKey: string;
  /**
   * The volume this frame belongs to, when the file says so itself: the non-position dimension index values of
   * an Enhanced object, the file of a Siemens mosaic. Undefined for classic images (their volumes are told apart
   * by {@link FrameAcquisition} attributes).
   */
  volumeKey?: string | undefined;
  /** Order of this frame's volume among the series' volumes: Enhanced dimension index values, vendor orders. */
  volumeOrder?: number[] | undefined;
  /** What the acquisition of this frame was (echo, image type, time, diffusion...). */
  acquisition: FrameAcquisition;
  instanceNumber?: number | undefined;
  /** File offset of this frame's stored bytes when they can be read straight into a volume (see directPixelOffset). */
  directOffset?: number | undefined;
}

/** Series-level attributes of a file. */
export interface SeriesAttributes {
  seriesInstanceUid: string;
  modality: string;
  seriesDescription: string;
  transferSyntaxUid: string;
  pixel: PixelInfo;
}

const SEQ = {
  sharedFG: 'x52009229',
  perFrameFG: 'x52009230',
  planePosition: 'x00209113',
  planeOrientation: 'x00209116',
  pixelMeasures: 'x00289110',
  pixelValueTransformation: 'x00289145',
  frameContent: 'x00209111',
  dimensionIndex: 'x00209222',
} as const satisfies Record<string, TagKey>;

function triple(ds: DicomDataset, tag: TagKey): Vec3 | undefined {
  const v = ds.numbers(tag);
  return v.length >= 3 && v.slice(0, 3).every(Number.isFinite) ? [v[0]!, v[1]!, v[2]!] : undefined;
}

function orientationOf(ds: DicomDataset): FrameDescriptor['orientation'] {
  const v = ds.numbers('x00200037');
  if (v.length < 6 || !v.slice(0, 6).every(Number.isFinite)) return undefined;
  return [v[0]!, v[1]!, v[2]!, v[3]!, v[4]!, v[5]!];
}

function spacingOf(ds: DicomDataset): [number, number] | undefined {
  const v = ds.numbers('x00280030');
  return v.length >= 2 && v[0]! > 0 && v[1]! > 0 ? [v[0]!, v[1]!] : undefined;
}

/** The first item of a functional-group macro sequence in the per-frame item, else in the shared item. */
function macro(perFrame: DicomDataset | undefined, shared: DicomDataset | undefined, seq: TagKey): DicomDataset | undefined {
  return perFrame?.items(seq)[0] ?? shared?.items(seq)[0];
}

/** Reads the series-level attributes. @throws PhysiotwinError `DICOM_INVALID` when the image module is unusable. */
export function seriesAttributes(file: DicomFile): SeriesAttributes {
  const ds = file.dataset;
  return {
    seriesInstanceUid: ds.string('x0020000e')?.trim() ?? '',
    modality: ds.string('x00080060')?.trim() ?? '',
    seriesDescription: ds.string('x0008103e')?.trim() ?? '',
    transferSyntaxUid: file.transferSyntaxUid,
    pixel: readPixelInfo(file),
  };
}

/** The Siemens CSA image header's NumberOfImagesInMosaic and SliceNormalVector, if this is a mosaic. */
function mosaicInfo(ds: DicomDataset): { count: number; normal?: Vec3 | undefined } | undefined {
  if (!ds.strings('x00080008').some((s) => s.toUpperCase() === 'MOSAIC')) return undefined;
  let block: string | undefined;
  for (let b = 0x10; b <= 0xff; b++) {
    const creator = ds.string(`x002900${b.toString(16).padStart(2, '0')}`);
    if (creator?.trim() === 'SIEMENS CSA HEADER') {
      block = b.toString(16).padStart(2, '0');
      break;
    }
  }
  const bytes = block ? ds.bytes(`x0029${block}10`) : undefined;
  if (!bytes) {
    throw new PhysiotwinError('DICOM_INVALID', 'ImageType says MOSAIC but there is no Siemens CSA image header', {
      location: { file: ds.source, tag: '(0029,1010)' },
    });
  }
  const csa = parseCsaHeader(bytes, ds.source);
  const count = Number(csa.get('NumberOfImagesInMosaic')?.[0]);
  if (!Number.isSafeInteger(count) || count < 1) {
    throw new PhysiotwinError('DICOM_INVALID', 'Siemens mosaic without a valid NumberOfImagesInMosaic in the CSA header', {
      location: { file: ds.source, tag: '(0029,1010)' },
    });
  }
  const nv = csa.get('SliceNormalVector')?.map(Number);
  const normal: Vec3 | undefined = nv && nv.length === 3 && nv.every(Number.isFinite) ? [nv[0]!, nv[1]!, nv[2]!] : undefined;
  return { count, normal };
}

/**
 * Lists the 2D images of a file with their geometry: one per frame for classic and Enhanced (functional groups)
 * objects, one per tile for Siemens mosaics (split like dcm2niix: NumberOfImagesInMosaic from the CSA header,
 * tiles of ceil(sqrt(n)) per row, position corrected to the tile's first pixel, slices stepped along
 * SliceNormalVector by SpacingBetweenSlices or SliceThickness), one per tile for United Imaging GRID files ((0065,1050)
 * slices tiled ceil(sqrt(n)) per row, positions from the VFrame Sequence (0065,1051)), one per frame for RT Dose
 * (GridFrameOffsetVector).
 * @throws PhysiotwinError `DICOM_INVALID` for inconsistent multi-frame metadata.
 */
export function describeFrames(file: DicomFile, sourceIndex: number, pixel: PixelInfo): FrameDescriptor[] {
  const ds = file.dataset;
  const src = ds.source;
  const slope0 = ds.number('x00281053') ?? 1;
  const intercept0 = ds.number('x00281052') ?? 0;
  const base: FrameDescriptor = {
    sourceIndex,
    frameIndex: 0,
    rows: pixel.rows,
    columns: pixel.columns,
    position: triple(ds, 'x00200032'),
    orientation: orientationOf(ds),
    pixelSpacing: spacingOf(ds),
    sliceThickness: ds.number('x00180050'),
    rescaleSlope: slope0 === 0 ? 1 : slope0,
    rescaleIntercept: intercept0,
    stackKey: '',
    instanceNumber: ds.number('x00200013'),
    acquisition: readFrameAcquisition(ds),
  };
  base.volumeOrder = base.acquisition.volumeOrder;
  const perFrame = ds.items(SEQ.perFrameFG);
  const shared = ds.items(SEQ.sharedFG)[0];
  if (perFrame.length > 0 || shared) {
    if (perFrame.length > 0 && perFrame.length !== pixel.numberOfFrames) {
      throw new PhysiotwinError('DICOM_INVALID', `${perFrame.length} per-frame functional groups for ${pixel.numberOfFrames} frames`, {
        location: { file: src, tag: '(5200,9230)' },
      });
    }
    // Which dimension index is the position in the stack: the other indices separate stacks (e.g. image types).
    const dims = ds.items(SEQ.dimensionIndex).map((d) => d.numbers('x00209165', 'AT'));
    const stackDim = dims.findIndex((p) => p.length >= 2 && ((p[0] === 0x0020 && p[1] === 0x9057) || (p[0] === 0x0020 && p[1] === 0x0032)));
    const frames: FrameDescriptor[] = [];
    for (let f = 0; f < pixel.numberOfFrames; f++) {
      const pf = perFrame[f];
      const pos = macro(pf, shared, SEQ.planePosition);
      const ori = macro(pf, shared, SEQ.planeOrientation);
      const meas = macro(pf, shared, SEQ.pixelMeasures);
      const pvt = macro(pf, shared, SEQ.pixelValueTransformation);
      const content = pf?.items(SEQ.frameContent)[0];
      const slope = pvt?.number('x00281053') ?? base.rescaleSlope;
      const dimValues = content?.numbers('x00209157', 'UL') ?? [];
      const otherDims = stackDim >= 0 ? dimValues.filter((_, i) => i !== stackDim) : [];
      const stackId = content?.string('x00209056')?.trim() ?? '';
      frames.push({
        ...base,
        frameIndex: f,
        position: (pos && triple(pos, 'x00200032')) ?? base.position,
        orientation: (ori && orientationOf(ori)) ?? base.orientation,
        pixelSpacing: (meas && spacingOf(meas)) ?? base.pixelSpacing,
        sliceThickness: meas?.number('x00180050') ?? base.sliceThickness,
        rescaleSlope: slope === 0 ? 1 : slope,
        rescaleIntercept: pvt?.number('x00281052') ?? base.rescaleIntercept,
        stackKey: stackId,
        volumeKey: otherDims.length > 0 ? otherDims.join(',') : undefined,
        volumeOrder: otherDims.length > 0 ? otherDims : base.volumeOrder,
        instanceNumber: content?.number('x00209057', 'UL') ?? base.instanceNumber,
        acquisition: readFrameAcquisition(ds, pf, shared),
      });
    }
    return frames;
  }
  const mosaic = mosaicInfo(ds);
  if (mosaic) return mosaicTiles(ds, base, mosaic, pixel);
  const grid = uihGrid(ds, pixel, base);
  if (grid) {
    // like a mosaic: each tile one slice, each file one volume
    return grid.tiles.map((t, i) => ({
      ...base,
      rows: grid.rows,
      columns: grid.columns,
      tile: { row0: t.row0, col0: t.col0 },
      position: t.position,
      instanceNumber: i + 1,
      volumeKey: `file#${base.sourceIndex}`,
      volumeOrder: [base.instanceNumber ?? base.sourceIndex],
    }));
  }
  if (pixel.numberOfFrames > 1) {
    const offsets = ds.numbers('x3004000c');
    const frames: FrameDescriptor[] = [];
    const o = base.orientation;
    const p = base.position;
    const useGrid = offsets.length === pixel.numberOfFrames && o && p && offsets.every(Number.isFinite);
    for (let f = 0; f < pixel.numberOfFrames; f++) {
      let position: Vec3 | undefined;
      if (useGrid) {
        const n = cross([o[0], o[1], o[2]], [o[3], o[4], o[5]]);
        const d = offsets[f]!;
        position = [p[0] + d * n[0], p[1] + d * n[1], p[2] + d * n[2]];
      }
      // Without GridFrameOffsetVector or functional groups, the frames of a classic multi-frame object have no
      // positions of their own: the group reports them as missing and assembly stacks them in frame order.
      frames.push({ ...base, frameIndex: f, position, instanceNumber: f + 1 });
    }
    return frames;
  }
  return [base];
}

function mosaicTiles(
  ds: DicomDataset,
  base: FrameDescriptor,
  mosaic: { count: number; normal?: Vec3 | undefined },
  pixel: PixelInfo,
): FrameDescriptor[] {
  const perRow = Math.ceil(Math.sqrt(mosaic.count));
  if (pixel.rows % perRow !== 0 || pixel.columns % perRow !== 0) {
    throw new PhysiotwinError('DICOM_INVALID', `mosaic of ${pixel.columns}x${pixel.rows} cannot hold ${perRow}x${perRow} equal tiles`, {
      location: { file: ds.source, tag: '(0029,1010)' },
    });
  }
  const rows = pixel.rows / perRow;
  const cols = pixel.columns / perRow;
  const o = base.orientation;
  const ps = base.pixelSpacing;
  const p = base.position;
  let origin: Vec3 | undefined;
  let normal: Vec3 | undefined;
  if (o && ps && p) {
    // ImagePositionPatient of a mosaic is that of the whole mosaic image as if it were one slice; the first
    // tile's first pixel lies (mosaicSize - tileSize)/2 pixels further along rows and columns (nibabel, dcm2niix).
    const dc = ((pixel.columns - cols) / 2) * ps[1];
    const dr = ((pixel.rows - rows) / 2) * ps[0];
    origin = [p[0] + o[0] * dc + o[3] * dr, p[1] + o[1] * dc + o[4] * dr, p[2] + o[2] * dc + o[5] * dr];
    normal = mosaic.normal ?? cross([o[0], o[1], o[2]], [o[3], o[4], o[5]]);
  }
  const step = ds.number('x00180088') ?? base.sliceThickness;
  const tiles: FrameDescriptor[] = [];
  for (let t = 0; t < mosaic.count; t++) {
    let position: Vec3 | undefined;
    if (origin && normal && step !== undefined) {
      position = [origin[0] + t * step * normal[0], origin[1] + t * step * normal[1], origin[2] + t * step * normal[2]];
    }
    tiles.push({
      ...base,
      rows,
      columns: cols,
      tile: { row0: Math.floor(t / perRow) * rows, col0: (t % perRow) * cols },
      position,
      instanceNumber: t + 1,
      // Each mosaic file is one volume: files of a time series share positions.
      volumeKey: `file#${base.sourceIndex}`,
      volumeOrder: [base.instanceNumber ?? base.sourceIndex],
    });
  }
  return tiles;
}

/** a x b. */
export function cross(a: Vec3, b: Vec3): Vec3 {
  return [a[1] * b[2] - a[2] * b[1], a[2] * b[0] - a[0] * b[2], a[0] * b[1] - a[1] * b[0]];
}
