import type { Vec3 } from '@physiotwin/core';
import type { BinaryVr, DicomDataset, TagKey } from './parse.js';
import { parseCsaHeader } from './csa.js';

/**
 * Where a diffusion gradient vector is expressed: `'patient'` = the DICOM patient frame (LPS), as the standard's
 * (0018,9089), Siemens, Philips and Canon/Toshiba store it; `'ge-image'` = the frequency/phase/slice frame of GE's
 * (0019,10BB-BD); `'image'` = components along the image's row direction, column direction and slice normal
 * (row x column), as dcm2niix reads United Imaging's (0065,1037). {@link diffusionVectorLps} turns them into LPS.
 */
export type GradientSpace = 'patient' | 'ge-image' | 'image';

/** The diffusion weighting of an image. */
export interface Diffusion {
  /** b-value, s/mm^2, as stored (float32 for vendors that store it so). */
  bValue: number;
  /** Gradient direction as stored (not normalised), or undefined for b = 0 images that carry none. */
  vector?: Vec3 | undefined;
  space: GradientSpace;
  /**
   * GE: weighted (b > 0) without a direction, and nothing in the header says trace (see {@link readFrameAcquisition}):
   * a b = 0 image when its series has directional images, else a trace image ({@link scanDicom} decides).
   */
  b0IfDirectional?: boolean | undefined;
}

/**
 * What varies between the images of one series (per frame for Enhanced objects). Undefined when the file does
 * not say. Times in ms, as DICOM stores them.
 */
export interface FrameAcquisition {
  /** EchoNumbers (0018,0086). */
  echoNumber?: number | undefined;
  /** EchoTime (0018,0081) or EffectiveEchoTime (0018,9082), ms. */
  echoTime?: number | undefined;
  /**
   * ImageType value 3 (M, P, R, I...; upper case), GE (0043,102F) as M/P/R/I, or for Enhanced MR frames
   * ComplexImageComponent (MAGNITUDE, PHASE, REAL, IMAGINARY, MIXED) else FrameType value 3.
   */
  imageType?: string | undefined;
  /** TemporalPositionIdentifier (0020,0100) or TemporalPositionIndex (0020,9128). */
  temporalPosition?: number | undefined;
  /** AcquisitionNumber (0020,0012) or FrameAcquisitionNumber (0020,9156). */
  acquisitionNumber?: number | undefined;
  /** TriggerTime (0018,1060) or NominalCardiacTriggerDelayTime (0020,9153), ms. */
  triggerTime?: number | undefined;
  diffusion?: Diffusion | undefined;
  /**
   * Acquisition order of the volume this image belongs to, when the vendor records it: Philips DiffusionOrder
   * (2005,1596), else Philips BValueNumber (2005,1412) and GradientOrientationNumber (2005,1413) (the orders
   * dcm2niix sorts Philips classic diffusion volumes by).
   */
  volumeOrder?: number[] | undefined;
}

/** Series-level acquisition facts for sidecars (BIDS names; times in ms as stored). */
export interface SeriesAcquisition {
  manufacturer?: string | undefined;
  manufacturersModelName?: string | undefined;
  magneticFieldStrength?: number | undefined;
  repetitionTime?: number | undefined;
  flipAngle?: number | undefined;
  seriesNumber?: number | undefined;
  protocolName?: string | undefined;
  seriesTime?: string | undefined;
  studyDate?: string | undefined;
  patientId?: string | undefined;
  patientPosition?: string | undefined;
  /** InPlanePhaseEncodingDirection (0018,1312): 'ROW' or 'COL'. */
  inPlanePhaseEncodingDirection?: string | undefined;
  /** ImageType (0008,0008), all values. */
  imageType: string[];
  /** Slice acquisition times relative to the first, ms (Siemens CSA MosaicRefAcqTimes). */
  mosaicSliceTimes?: number[] | undefined;
  /**
   * Phase encoding runs along the positive row/column direction (Siemens CSA PhaseEncodingDirectionPositive, United
   * Imaging (0065,1058) = 0, GE EPI's polarity "unflipped" in (0043,102A)).
   */
  phaseEncodingPositive?: boolean | undefined;
}

const creatorCache = new WeakMap<DicomDataset, Map<string, string>>();

/**
 * The element tag of private element `elem` (low byte) of `creator`'s block in `group`, or undefined. The private
 * creators of a data set are listed once (one pass over its elements) and cached.
 * @throws nothing
 */
export function privateTag(ds: DicomDataset, group: number, creator: string, elem: number): TagKey | undefined {
  let map = creatorCache.get(ds);
  if (!map) {
    map = new Map();
    for (const key in ds.raw.elements) {
      // private creators: odd group, element 0x0010..0x00FF
      const g = parseInt(key.slice(1, 5), 16);
      if (g % 2 === 1 && key.slice(5, 7) === '00' && key.slice(7, 9) >= '10') {
        const c = ds.string(key as TagKey)?.trim().toUpperCase();
        if (c) map.set(`${key.slice(1, 5)}|${c}`, key.slice(7, 9));
      }
    }
    creatorCache.set(ds, map);
  }
  const g = group.toString(16).padStart(4, '0');
  const block = map.get(`${g}|${creator}`);
  return block === undefined ? undefined : `x${g}${block}${elem.toString(16).padStart(2, '0')}`;
}

const finite = (v: number | undefined) => (v !== undefined && Number.isFinite(v) ? v : undefined);

function num(ds: DicomDataset | undefined, tag: TagKey | undefined, vr?: BinaryVr): number | undefined {
  return ds && tag ? finite(ds.number(tag, vr)) : undefined;
}

function vec(ds: DicomDataset | undefined, tag: TagKey | undefined, vr?: BinaryVr): Vec3 | undefined {
  if (!ds || !tag) return undefined;
  const v = ds.numbers(tag, vr);
  return v.length >= 3 && v.slice(0, 3).every(Number.isFinite) ? [v[0]!, v[1]!, v[2]!] : undefined;
}

/**
 * Upper-case manufacturer family: SIEMENS, GE, PHILIPS, CANON (Canon and Toshiba), UIH (United Imaging), or the
 * stored name.
 * @throws nothing
 */
export function manufacturerOf(ds: DicomDataset): string {
  const m = (ds.string('x00080070') ?? '').trim().toUpperCase();
  if (m.startsWith('SIEMENS')) return 'SIEMENS';
  if (m.startsWith('GE')) return 'GE';
  if (m.startsWith('PHILIPS')) return 'PHILIPS';
  if (m.startsWith('CANON') || m.startsWith('TOSHIBA')) return 'CANON';
  if (m.startsWith('UIH') || m.startsWith('UNITED IMAGING')) return 'UIH';
  return m;
}

const GE_IMAGE_TYPE = ['M', 'P', 'R', 'I'];

/**
 * Reads the acquisition attributes of a classic image, or of one frame of an Enhanced object (`frame`: its
 * per-frame functional group item, `shared`: the shared one), where the standard and the vendors keep them:
 * b-value and gradient from (0018,9087)/(0018,9089) (top level or in the MR Diffusion Sequence), Siemens
 * (0019,xx0C)/(0019,xx0E) or, for diffusion sequences without them, the CSA image header, GE (0043,1039) and
 * (0019,10BB-BD) (see {@link readFrameAcquisition}'s notes on GE trace images), Philips (2001,1003) and
 * (2005,10B0-B2), Canon/Toshiba (the standard ones), United Imaging (0065,1009) and (0065,1037) (these before the
 * standard ones, as dcm2niix reads them); magnitude/phase from ImageType value 3, Enhanced ComplexImageComponent or
 * GE (0043,102F).
 *
 * GE images weighted (b > 0) without a gradient direction are either isotropic (trace) images or b = 0 images that
 * GE labels with the nominal b-value (the T2 images of a tensor acquisition, VasCollapseFlag (0043,1030) 14, and
 * the zero rows of a tensor file in releases before 29.1, flag 16). They are read as trace images (b kept, no
 * direction) when the header says so: NumberOfDiffusionDirections (0019,10E0) 0 (an isotropic series), flag 19
 * (trace), or ImageType value 1 DERIVED. Otherwise they are marked `b0IfDirectional`: b = 0 images in a series
 * that has directional images (as dcm2niix v1.0.20220720 reads all of them), trace images in one that has none (an
 * isotropic DWI whose (0019,10E0) is missing; dcm2niix v1.0.20220720 writes b = 0 there too).
 * @throws nothing
 */
export function readFrameAcquisition(ds: DicomDataset, frame?: DicomDataset, shared?: DicomDataset): FrameAcquisition {
  const maker = manufacturerOf(ds);
  const enhanced = frame !== undefined || shared !== undefined;
  const fg = (seq: TagKey) => frame?.items(seq)[0] ?? shared?.items(seq)[0];
  const echoMacro = fg('x00189114');
  const content = frame?.items('x00209111')[0];
  const cardiac = fg('x00189118');
  const frameTypeMacro = fg('x00189226');
  const frameType = frameTypeMacro?.strings('x00089007');
  // Enhanced MR: ComplexImageComponent (0008,9208) says magnitude/phase/real/imaginary; FrameType value 3 may not.
  const complex = frameTypeMacro?.string('x00089208')?.trim().toUpperCase();
  const out: FrameAcquisition = {
    echoNumber: num(ds, 'x00180086'),
    echoTime: num(echoMacro, 'x00189082', 'FD') ?? num(ds, 'x00180081'),
    temporalPosition: num(content, 'x00209128', 'UL') ?? num(ds, 'x00200100'),
    acquisitionNumber: num(content, 'x00209156', 'US') ?? num(ds, 'x00200012'),
    triggerTime: num(cardiac, 'x00209153', 'FD') ?? num(ds, 'x00181060'),
  };
  const type3 = (frameType && frameType.length >= 3 ? frameType : ds.strings('x00080008'))[2]?.toUpperCase();
  const geType = maker === 'GE' ? num(ds, privateTag(ds, 0x0043, 'GEMS_PARM_01', 0x2f) ?? 'x0043102f', 'SS') : undefined;
  out.imageType = geType !== undefined && GE_IMAGE_TYPE[geType] ? GE_IMAGE_TYPE[geType] : complex || type3 || undefined;
  out.diffusion = readDiffusion(ds, maker, enhanced, fg('x00189117'), frameType ?? ds.strings('x00080008'));
  if (maker === 'PHILIPS' && !enhanced) {
    const order = num(ds, privateTag(ds, 0x2005, 'PHILIPS MR IMAGING DD 005', 0x96) ?? 'x20051596');
    const bNumber = num(ds, privateTag(ds, 0x2005, 'PHILIPS MR IMAGING DD 004', 0x12) ?? 'x20051412');
    const gNumber = num(ds, privateTag(ds, 0x2005, 'PHILIPS MR IMAGING DD 004', 0x13) ?? 'x20051413');
    if (order !== undefined) out.volumeOrder = [order];
    else if (bNumber !== undefined && gNumber !== undefined) out.volumeOrder = [bNumber, gNumber];
  }
  return out;
}

function readDiffusion(ds: DicomDataset, maker: string, enhanced: boolean, macro: DicomDataset | undefined, imageType: string[]): Diffusion | undefined {
  // United Imaging's private elements first: dcm2niix reads those (and leaves a standard direction out).
  if (maker === 'UIH' && !enhanced) {
    const uih = vendorDiffusion(ds, maker, enhanced, imageType);
    if (uih) return uih;
  }
  // Standard attributes: in the MR Diffusion macro (Enhanced, and XA "interoperability" classic images) or at the top.
  const mdSeq = macro ?? ds.items('x00189117')[0];
  let standard: Diffusion | undefined;
  for (const where of [mdSeq, ds]) {
    const b = num(where, 'x00189087', 'FD');
    if (b === undefined) continue;
    const dir = where?.items('x00189076')[0];
    const v = vec(dir, 'x00189089', 'FD') ?? vec(where, 'x00189089', 'FD');
    // The standard's direction is in the patient frame for every vendor (dcm2niix reads classic Canon's so too).
    standard = { bValue: b, vector: v, space: 'patient' };
    break;
  }
  // A standard b-value without a direction (GE writes one): the vendor's private elements may have both.
  if (standard?.vector || (standard && b0(standard.bValue))) return standard;
  return vendorDiffusion(ds, maker, enhanced, imageType) ?? standard;
}

const b0 = (b: number) => b <= 1.1920929e-7;

const isZero = (v: Vec3 | undefined) => !v || Math.hypot(v[0], v[1], v[2]) <= 1.1920929e-7;

function vendorDiffusion(ds: DicomDataset, maker: string, enhanced: boolean, imageType: string[]): Diffusion | undefined {
  // Vendors' private places (classic images; Enhanced objects use the standard macro).
  if (enhanced) return undefined;
  if (maker === 'SIEMENS') {
    const b = num(ds, privateTag(ds, 0x0019, 'SIEMENS MR HEADER', 0x0c));
    if (b !== undefined) return { bValue: b, vector: vec(ds, privateTag(ds, 0x0019, 'SIEMENS MR HEADER', 0x0e), 'FD'), space: 'patient' };
    // Without (0019,xx0C), the CSA image header of a diffusion sequence (names like "*ep_b1000#1") has them.
    if (/ep_b/i.test(ds.string('x00180024') ?? '')) {
      const csa = siemensCsa(ds);
      const cb = Number(csa?.get('B_value')?.[0]);
      if (csa && Number.isFinite(cb)) {
        const cv = csa.get('DiffusionGradientDirection')?.map(Number);
        const v: Vec3 | undefined = cv && cv.length === 3 && cv.every(Number.isFinite) ? [cv[0]!, cv[1]!, cv[2]!] : undefined;
        return { bValue: cb, vector: v, space: 'patient' };
      }
    }
  }
  if (maker === 'GE') {
    const bTag = privateTag(ds, 0x0043, 'GEMS_PARM_01', 0x39) ?? 'x00431039';
    const raw = num(ds, bTag);
    if (raw !== undefined) {
      // GE adds 1e9 to the b-value in some software versions (dcm2niix drops it the same way).
      const b = raw >= 1e9 ? raw % 1e9 : raw;
      const at = (e: number) => num(ds, privateTag(ds, 0x0019, 'GEMS_ACQU_01', e) ?? (`x001910${e.toString(16)}` as TagKey));
      const x = at(0xbb);
      const y = at(0xbc);
      const z = at(0xbd);
      const v: Vec3 | undefined = x !== undefined && y !== undefined && z !== undefined ? [x, y, z] : undefined;
      if (!b0(b) && isZero(v) && !geTrace(ds, imageType)) return { bValue: b, vector: v, space: 'ge-image', b0IfDirectional: true };
      return { bValue: b, vector: v, space: 'ge-image' };
    }
  }
  if (maker === 'PHILIPS') {
    const b = num(ds, privateTag(ds, 0x2001, 'PHILIPS IMAGING DD 001', 0x03) ?? 'x20011003', 'FL');
    if (b !== undefined) {
      const at = (e: number) => num(ds, privateTag(ds, 0x2005, 'PHILIPS MR IMAGING DD 001', e) ?? (`x200510${e.toString(16)}` as TagKey), 'FL');
      const x = at(0xb0);
      const y = at(0xb1);
      const z = at(0xb2);
      return { bValue: b, vector: x !== undefined && y !== undefined && z !== undefined ? [x, y, z] : undefined, space: 'patient' };
    }
  }
  if (maker === 'UIH') {
    // (0065,1009) BActualValue FD, else (0065,100A) BUserValue; (0065,1037) MRDiffusionGradOrientation FD x3
    // (United Imaging's table in dcm2niix's UIH notes). dcm2niix v1.0.20220720 writes the direction to .bvec
    // whatever the image orientation: components along the image axes.
    const b = num(ds, 'x00651009', 'FD') ?? num(ds, 'x0065100a', 'FD');
    if (b !== undefined) return { bValue: b, vector: vec(ds, 'x00651037', 'FD'), space: 'image' };
  }
  return undefined;
}

/**
 * Whether a GE image weighted without a direction is a trace (isotropic) image by its header (see
 * {@link readFrameAcquisition}): (0019,10E0) 0, (0043,1030) 19 or ImageType DERIVED.
 */
function geTrace(ds: DicomDataset, imageType: string[]): boolean {
  const directions = num(ds, privateTag(ds, 0x0019, 'GEMS_ACQU_01', 0xe0) ?? 'x001910e0');
  const vas = num(ds, privateTag(ds, 0x0043, 'GEMS_PARM_01', 0x30) ?? 'x00431030', 'SS');
  return directions === 0 || vas === 19 || imageType[0]?.trim().toUpperCase() === 'DERIVED';
}

/** The Siemens CSA image header (0029,xx10), or undefined when absent or unreadable. */
function siemensCsa(ds: DicomDataset): Map<string, string[]> | undefined {
  const csaTag = privateTag(ds, 0x0029, 'SIEMENS CSA HEADER', 0x10);
  const bytes = csaTag ? ds.bytes(csaTag) : undefined;
  if (!bytes || bytes.length === 0) return undefined;
  try {
    return parseCsaHeader(bytes, ds.source);
  } catch {
    return undefined; // an unreadable CSA header gives nothing
  }
}

/**
 * GE EPI's phase-encoding polarity from the user-defined data block (0043,102A), read where dcm2niix reads it: the
 * block's own header starts at the uint16 stored at byte 24 and begins with a float32 version (5 to 40); from version
 * 25.002 on, its fields sit 0x4C bytes later and the view order 0x8C bytes earlier. Bit 0x800 of the uint16 at 0x3A
 * marks EPI; bit 4 of the uint16 at 0x30 is the polarity ("flipped"), inverted when the view order (uint16 at 0x394)
 * is 2 (bottom-up). True for flipped, false for unflipped, undefined when the block says nothing (not EPI, unknown
 * version, too short).
 */
function gePhaseFlipped(ds: DicomDataset): boolean | undefined {
  const b = ds.bytes(privateTag(ds, 0x0043, 'GEMS_PARM_01', 0x2a) ?? 'x0043102a');
  if (!b || b.length < 26) return undefined;
  const v = new DataView(b.buffer, b.byteOffset, b.byteLength);
  const start = v.getUint16(24, true);
  if (b.length < start + 0x394 + 2) return undefined;
  const version = v.getFloat32(start, true);
  if (!(version >= 5 && version <= 40)) return undefined;
  const base = version >= 25.002 ? start + 0x4c : start;
  const viewOrder = version >= 25.002 ? 0x394 - 0x8c : 0x394;
  if (base + Math.max(0x3a, viewOrder) + 2 > b.length) return undefined;
  if ((v.getUint16(base + 0x3a, true) & 0x800) === 0) return undefined; // not EPI
  const flipped = (v.getUint16(base + 0x30, true) & 0x4) !== 0;
  return v.getUint16(base + viewOrder, true) === 2 ? !flipped : flipped;
}

/** Series-level facts of a file for sidecars. * @throws nothing
 */
export function readSeriesAcquisition(ds: DicomDataset): SeriesAcquisition {
  const str = (t: TagKey) => ds.string(t)?.trim() || undefined;
  let mosaicSliceTimes: number[] | undefined;
  let phaseEncodingPositive: boolean | undefined;
  if (manufacturerOf(ds) === 'SIEMENS') {
    const csa = siemensCsa(ds);
    const t = csa?.get('MosaicRefAcqTimes')?.map(Number);
    if (t && t.length > 0 && t.every(Number.isFinite)) mosaicSliceTimes = t;
    const pe = csa?.get('PhaseEncodingDirectionPositive')?.[0];
    if (pe === '0' || pe === '1') phaseEncodingPositive = pe === '1';
  } else if (manufacturerOf(ds) === 'GE') {
    // dcm2niix v1.0.20220720 maps GE's "unflipped" to Siemens' PhaseEncodingDirectionPositive 1, "flipped" to 0
    const flipped = gePhaseFlipped(ds);
    if (flipped !== undefined) phaseEncodingPositive = !flipped;
  } else if (manufacturerOf(ds) === 'UIH') {
    // United Imaging (0065,1058): 1 for P->A, 0 for A->P encoding (dcm2niix issue 410), i.e. against / along the
    // column direction of an axial head-first-supine image; dcm2niix v1.0.20220720 reads it so.
    const pe = num(ds, 'x00651058');
    if (pe === 0 || pe === 1) phaseEncodingPositive = pe === 0;
  }
  return {
    manufacturer: str('x00080070'),
    manufacturersModelName: str('x00081090'),
    magneticFieldStrength: num(ds, 'x00180087'),
    repetitionTime: num(ds, 'x00180080') ?? num(ds.items('x52009229')[0]?.items('x00189112')[0], 'x00180080', 'FD'),
    flipAngle: num(ds, 'x00181314') ?? num(ds.items('x52009229')[0]?.items('x00189112')[0], 'x00181314', 'FD'),
    seriesNumber: num(ds, 'x00200011'),
    protocolName: str('x00181030'),
    seriesTime: str('x00080031'),
    studyDate: str('x00080020'),
    patientId: str('x00100020'),
    patientPosition: str('x00185100'),
    inPlanePhaseEncodingDirection: str('x00181312') ?? ds.items('x52009229')[0]?.items('x00189125')[0]?.string('x00181312')?.trim(),
    imageType: ds.strings('x00080008').map((s) => s.toUpperCase()),
    mosaicSliceTimes,
    phaseEncodingPositive,
  };
}

/**
 * The gradient direction of `d` in the patient frame (LPS): a unit vector for `'patient'` and `'image'` vectors
 * (`'image'`: x `row` + y `col` + z `n`), the stored length for `'ge-image'` ones (as dcm2niix keeps it), or
 * undefined for b = 0 images and images without a direction. `'ge-image'` vectors (GE: components along frequency, phase and slice) get the axis swaps and sign flips dcm2niix applies for head-first-supine scans (by the dominant axis
 * of the slice normal `n` and the phase-encoding direction), which give components along dcm2niix's image axes
 * (row, -column, normal); those are then taken to LPS. Validated on axial GE data (dcm_qa_ge_dwi), as dcm2niix's
 * own rule is. GE scales the vector by |g| when it scales the b-value: the effective b-value b |g|^2 is then
 * rounded to a multiple of 5 s/mm^2 as dcm2niix does, and returned in `bValue`.
 * @throws nothing
 */
export function diffusionVectorLps(
  d: Diffusion,
  row: Vec3,
  col: Vec3,
  n: Vec3,
  phaseEncoding: string | undefined,
): { bValue: number; vector?: Vec3 | undefined } {
  const v = d.vector;
  const len = v ? Math.hypot(v[0], v[1], v[2]) : 0;
  if (d.bValue <= 1.1920929e-7 || !v || len <= 1.1920929e-7) return { bValue: d.bValue };
  if (d.space === 'patient') return { bValue: d.bValue, vector: [v[0] / len, v[1] / len, v[2] / len] };
  if (d.space === 'image') {
    const u: Vec3 = [v[0] / len, v[1] / len, v[2] / len];
    const at = (a: 0 | 1 | 2) => u[0] * row[a] + u[1] * col[a] + u[2] * n[a];
    return { bValue: d.bValue, vector: [at(0), at(1), at(2)] };
  }
  let b = d.bValue;
  let x = v[0];
  let y = v[1];
  let z = v[2];
  if (len > 0.03 && len < 0.97) {
    // the b-value was scaled by |g|^2 and the vector by |g|: report the effective b, rounded to 5 s/mm^2
    const eff = b * len * len;
    b = eff > 0 && eff < 5 ? 5 : Math.floor((eff + 2.5) / 5) * 5;
  }
  if (phaseEncoding === 'ROW') [x, y] = [y, -x];
  // Dominant world axis of the slice normal (sagittal, coronal, axial; ties go to the later axis, as dcm2niix's).
  // dcm2niix also toggles the z flip when it stores slices against the normal, which its k axis then follows:
  // the world direction is the same either way, so the table for slices stored along +n is the one used here.
  const ax = [0, 1, 2].reduce((a, i) => (Math.abs(n[i]!) >= Math.abs(n[a]!) ? i : a), 0);
  const flip = ax === 0 ? [true, true, false] : ax === 1 ? [false, true, true] : [false, false, true];
  if (flip[0]) x = -x;
  if (flip[1]) y = -y;
  if (flip[2]) z = -z;
  // (x, -y, z), negated: the components along dcm2niix's image axes (row, -column, normal).
  const gi = -x;
  const gj = y;
  const gk = -z;
  const w: Vec3 = [
    gi * row[0] - gj * col[0] + gk * n[0],
    gi * row[1] - gj * col[1] + gk * n[1],
    gi * row[2] - gj * col[2] + gk * n[2],
  ];
  // Not normalised: dcm2niix writes GE vectors with the length they are stored with.
  return { bValue: b, vector: w };
}
