import { PhysiotwinError } from '@physiotwin/core';
import type { Mat3 } from '@physiotwin/core';
import type { SeriesGroup, VolumeLabel } from './series.js';

/** C's `%g` (6 significant digits, exponent form below 1e-4 and from 1e6), as dcm2niix prints .bval/.bvec values. * @throws nothing
 */
export function formatG(v: number): string {
  if (v === 0 || Object.is(v, -0)) return '0';
  const exp = Math.floor(Math.log10(Math.abs(Number(v.toPrecision(6)))));
  if (exp < -4 || exp >= 6) {
    const [m, e] = v.toExponential(5).split('e') as [string, string];
    const mant = m.includes('.') ? m.replace(/0+$/, '').replace(/\.$/, '') : m;
    const n = Number(e);
    return `${mant}e${n < 0 ? '-' : '+'}${String(Math.abs(n)).padStart(2, '0')}`;
  }
  return String(Number(v.toPrecision(6)));
}

/** The .bval and .bvec texts of a diffusion group (FSL layout: one line of b-values; three lines x, y, z). */
export interface DiffusionTables {
  bval: string;
  bvec: string;
  /** b-values, s/mm^2, in volume order. */
  bValues: number[];
  /** Gradient directions in the written image's voxel frame (FSL convention), one [x, y, z] per volume. */
  bVectors: [number, number, number][];
}

const det3 = (m: Mat3) =>
  m[0] * (m[4] * m[8] - m[7] * m[5]) - m[3] * (m[1] * m[8] - m[7] * m[2]) + m[6] * (m[1] * m[5] - m[4] * m[2]);

/**
 * The .bval/.bvec tables of a group whose volumes carry b-values, for an image written with `direction`
 * (columns: the i, j, k axes in LPS, as the volume's). Vectors follow FSL's convention, as dcm2niix writes
 * them for every vendor: components along the image's voxel axes, with x negated when the voxel-to-world matrix
 * has a positive determinant (FSL reads such images as if stored radiologically). b = 0 volumes get 0 0 0.
 * Values are b-values as stored (float32 for vendors that store float32) printed as C's `%g`, so that .bval
 * files equal dcm2niix's. Undefined when the group is not a diffusion series (no b-values, or a single volume
 * whose weighting does not vary, as dcm2niix decides).
 * @throws nothing
 */
export function diffusionTables(group: Pick<SeriesGroup, 'volumes'>, direction: Mat3): DiffusionTables | undefined {
  const labels: VolumeLabel[] = group.volumes.map((v) => v.label);
  if (labels.length === 0 || labels.some((l) => l.bValue === undefined)) return undefined;
  const b = labels.map((l) => l.bValue!);
  const varies = b.some((x) => x !== b[0]) || Math.min(...b) > 50 || labels.some((l) => (l.gradient ?? []).join() !== (labels[0]!.gradient ?? []).join());
  if (!varies) return undefined;
  const axes = [0, 1, 2].map((c) => {
    const a = [direction[3 * c]!, direction[3 * c + 1]!, direction[3 * c + 2]!];
    const l = Math.hypot(a[0]!, a[1]!, a[2]!);
    return a.map((x) => x / l);
  });
  const flipX = det3(direction) > 0;
  const bVectors = labels.map((l): [number, number, number] => {
    const g = l.gradient;
    if (!g || l.bValue! <= 1.1920929e-7) return [0, 0, 0];
    const v = axes.map((a) => a[0]! * g[0] + a[1]! * g[1] + a[2]! * g[2]) as [number, number, number];
    if (flipX) v[0] = -v[0];
    return v;
  });
  const f32 = (x: number) => formatG(Math.fround(x));
  return {
    bval: b.map(f32).join(' ') + '\n',
    bvec: [0, 1, 2].map((c) => bVectors.map((v) => formatG(v[c]!)).join(' ')).join('\n') + '\n',
    bValues: b,
    bVectors,
  };
}

/** What physiotwin did to a volume, for the sidecar. */
export interface ConversionRecord {
  /** The gantry tilt that was corrected, degrees. */
  tiltCorrectedDeg?: number | undefined;
  /** The stack was resampled onto an even grid of this step, mm. */
  resampledStepMm?: number | undefined;
  /** Gaps between consecutive slices as found, mm (reported when uneven). */
  sliceGapsMm?: number[] | undefined;
  /** Warnings of the conversion. */
  warnings?: string[] | undefined;
  /** physiotwin's version. */
  version?: string | undefined;
}

const ms = (v: number | undefined) => (v === undefined ? undefined : Number((v / 1000).toPrecision(6)));

/**
 * The BIDS JSON sidecar of a group's output, with dcm2niix's key names and units (seconds for times):
 * Modality, MagneticFieldStrength, Manufacturer (dcm2niix's short names), ManufacturersModelName, SeriesDescription, ProtocolName,
 * ImageType, SeriesNumber, SeriesInstanceUID, EchoTime, EchoNumber, RepetitionTime, FlipAngle, SliceTiming
 * (Siemens mosaics), PhaseEncodingDirection (for the written image's axes, where the polarity is known: Siemens' CSA
 * header, United Imaging's (0065,1058), GE EPI's (0043,102A), the latter also as PhaseEncodingPolarityGE) or else
 * PhaseEncodingAxis (the standard header has no polarity), ImageOrientationPatientDICOM, ConversionSoftware, and under `Physiotwin` what the conversion did
 * (4th axis, tilt correction, resampling, gaps, warnings). Keys whose value is unknown are left out.
 * @throws nothing
 */
export function bidsSidecar(group: SeriesGroup, record: ConversionRecord = {}): Record<string, unknown> {
  const a = group.acquisition;
  const label = group.volumes[0]?.label ?? {};
  const o = group.frames[0]?.orientation;
  const pe = a.inPlanePhaseEncodingDirection?.toUpperCase();
  const peAxis = pe === 'COL' ? 'j' : pe === 'ROW' ? 'i' : undefined;
  const out: Record<string, unknown> = {
    Modality: group.modality || undefined,
    MagneticFieldStrength: a.magneticFieldStrength,
    Manufacturer: bidsManufacturer(a.manufacturer),
    ManufacturersModelName: a.manufacturersModelName,
    PatientPosition: a.patientPosition,
    SeriesDescription: group.seriesDescription || undefined,
    ProtocolName: a.protocolName,
    // dcm2niix splits Philips-style compound values (M_SE) into their parts
    ImageType: a.imageType.length > 0 ? a.imageType.flatMap((t) => t.split('_')).filter((t) => t !== '') : undefined,
    SeriesNumber: a.seriesNumber,
    SeriesInstanceUID: group.seriesInstanceUid || undefined,
    AcquisitionNumber: group.volumes.length === 1 ? label.acquisitionNumber : undefined,
    SliceThickness: group.frames[0]?.sliceThickness,
    EchoTime: ms(label.echoTime),
    EchoNumber: label.echoNumber,
    RepetitionTime: ms(a.repetitionTime),
    FlipAngle: a.flipAngle,
    SliceTiming: a.mosaicSliceTimes?.map((t) => Number((t / 1000).toPrecision(6))),
    // The written image keeps DICOM's row and column order: columns run along i, rows along j. The polarity is
    // known from Siemens' CSA header, United Imaging's (0065,1058) and GE's (0043,102A) (dcm2niix, which flips rows,
    // writes the opposite sign for j).
    PhaseEncodingAxis: a.phaseEncodingPositive === undefined ? peAxis : undefined,
    PhaseEncodingDirection: a.phaseEncodingPositive !== undefined && peAxis ? `${peAxis}${a.phaseEncodingPositive ? '' : '-'}` : undefined,
    // dcm2niix's key for GE's own word (the same for both row orders: it describes the scanner's encoding)
    PhaseEncodingPolarityGE: bidsManufacturer(a.manufacturer) === 'GE' && a.phaseEncodingPositive !== undefined ? (a.phaseEncodingPositive ? 'Unflipped' : 'Flipped') : undefined,
    ImageOrientationPatientDICOM: o ? [...o] : undefined,
    ConversionSoftware: 'physiotwin',
    ConversionSoftwareVersion: record.version,
    Physiotwin: {
      Volumes: group.volumes.length,
      FourthAxis: group.fourthAxis.length > 0 ? group.fourthAxis : undefined,
      GantryTiltDeg: group.geometry.gantryTiltDeg > 0.01 ? group.geometry.gantryTiltDeg : undefined,
      TiltCorrected: record.tiltCorrectedDeg !== undefined,
      ResampledSliceStepMm: record.resampledStepMm,
      SliceGapsMm: record.sliceGapsMm,
      Warnings: record.warnings && record.warnings.length > 0 ? record.warnings : undefined,
    },
  };
  return JSON.parse(JSON.stringify(out)) as Record<string, unknown>;
}

/** The manufacturer as dcm2niix names it in sidecars (Siemens, GE, Philips, Canon, Toshiba), else as stored. */
function bidsManufacturer(m: string | undefined): string | undefined {
  const u = m?.toUpperCase() ?? '';
  for (const [prefix, name] of [['SIEMENS', 'Siemens'], ['GE', 'GE'], ['PHILIPS', 'Philips'], ['CANON', 'Canon'], ['TOSHIBA', 'Toshiba']] as const) {
    if (u.startsWith(prefix)) return name;
  }
  return m;
}

/** Context of {@link outputName} that the group does not hold. */
export interface NameContext {
  /** Name of the input folder (%f). */
  folder?: string | undefined;
}

/** Letters of {@link outputName}'s template. */
export const NAME_LETTERS: Readonly<Record<string, string>> = {
  d: 'series description',
  e: 'echo number',
  f: 'input folder name',
  i: 'patient ID',
  j: 'SeriesInstanceUID',
  m: 'manufacturer (short)',
  p: 'protocol name',
  s: 'series number',
  t: 'study date and series time (YYYYMMDDHHMMSS)',
  u: 'acquisition number',
  v: 'vendor (manufacturer)',
  q: 'modality',
};

const safe = (t: string) => t.replace(/[^A-Za-z0-9._-]+/g, '_').replace(/^_+|_+$/g, '');

/**
 * A file base name for a group from a dcm2niix-style template: `%s` series number, `%d` description, `%p` protocol,
 * `%t` date and time, `%e` echo, `%i` patient ID, `%f` folder, `%j` SeriesInstanceUID, `%m` manufacturer,
 * `%u` acquisition number, `%v` vendor, `%q` modality (physiotwin's), `%%` a percent sign. Characters other than
 * letters, digits, `.`, `_` and `-` become `_`. As dcm2niix does, echoes of a multi-echo series get `_e<n>` and
 * phase, real and imaginary images `_ph`, `_real`, `_imaginary` unless the template already has `%e`, and the
 * isotropic images split from a Philips or GE diffusion series `_ADC`. The caller
 * makes names unique (see {@link uniqueName}).
 * @throws PhysiotwinError `INVALID_ARGUMENT` for an unknown letter.
 * @example
 * ```ts
 * outputName(group, '%s_%d'); // '7_DTI_Biobank'
 * ```
 */
export function outputName(group: SeriesGroup, template: string, context: NameContext = {}, echoes = 1): string {
  const a = group.acquisition;
  const label = group.volumes[0]?.label ?? {};
  const value = (letter: string): string => {
    switch (letter) {
      case 'd': return group.seriesDescription;
      case 'e': return label.echoNumber !== undefined ? String(label.echoNumber) : '';
      case 'f': return context.folder ?? '';
      case 'i': return a.patientId ?? '';
      case 'j': return group.seriesInstanceUid;
      case 'm': return (a.manufacturer ?? '').split(/\s+/)[0]?.slice(0, 2) ?? '';
      case 'p': return a.protocolName ?? '';
      case 's': return a.seriesNumber !== undefined ? String(a.seriesNumber) : '';
      case 't': return `${a.studyDate ?? ''}${(a.seriesTime ?? '').split('.')[0]}`;
      case 'u': return label.acquisitionNumber !== undefined ? String(label.acquisitionNumber) : '';
      case 'v': return a.manufacturer ?? '';
      case 'q': return group.modality;
      default:
        throw new PhysiotwinError('INVALID_ARGUMENT', `unknown name template letter %${letter}: use ${Object.keys(NAME_LETTERS).map((l) => `%${l}`).join(' ')} or %%`);
    }
  };
  let name = '';
  for (let i = 0; i < template.length; i++) {
    const c = template[i]!;
    if (c !== '%') {
      name += c;
      continue;
    }
    const letter = template[++i];
    if (letter === undefined) throw new PhysiotwinError('INVALID_ARGUMENT', 'name template ends with a lone %');
    name += letter === '%' ? '%' : safe(value(letter));
  }
  name = safe(name) || 'series';
  if (!template.includes('%e') && echoes > 1 && label.echoNumber !== undefined) name += `_e${label.echoNumber}`;
  if (group.isotropicDiffusion) name += '_ADC';
  // value 3 of ImageType: M/P/R/I (Siemens, GE), MAGNITUDE/PHASE... (Enhanced), M_FFE/P_SE... (Philips)
  const t = (label.imageType ?? '').split('_')[0];
  if (t === 'P' || t === 'PHASE') name += '_ph';
  else if (t === 'R' || t === 'REAL') name += '_real';
  else if (t === 'I' || t === 'IMAGINARY') name += '_imaginary';
  return name;
}

/** `base`, or `base_2`, `base_3`... whichever `used` does not hold yet; adds it to `used`. * @throws nothing
 */
export function uniqueName(base: string, used: Set<string>): string {
  let name = base;
  for (let n = 2; used.has(name); n++) name = `${base}_${n}`;
  used.add(name);
  return name;
}
