import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import type { SeriesGroup } from '@physiotwin/dicom';
import { scanDicomPaths } from '@physiotwin/dicom/node';
import type { Command } from '../command.js';
import { EXIT, UsageError, printJson, progressPrinter } from '../command.js';

/** One group as `dicom info --json` prints it (a contract: keys are only ever added). */
export interface DicomInfoGroup {
  seriesInstanceUid: string;
  modality: string;
  seriesDescription: string;
  /** [columns, rows, slices]. */
  dims: [number, number, number];
  /** mm: [column spacing, row spacing, slice step]. */
  spacing: [number, number, number];
  /** LPS mm of the first voxel. */
  origin: [number, number, number];
  /** Column-major 3x3: the i, j, k axes in LPS. */
  direction: number[];
  transferSyntaxes: string[];
  sliceCount: number;
  /** Positions along the slice normal, mm, sorted. */
  slicePositions: number[];
  gaps: number[];
  irregularSpacing: boolean;
  missingSlices: boolean;
  gantryTiltDeg: number;
  warnings: string[];
  photometricInterpretation: string;
  files: number;
  /** Volumes in the group (more than 1: a 4D series). */
  volumes: number;
  /** What varies along the 4th axis: diffusion, time, trigger, acquisition, echo, image-type or repetition. */
  fourthAxis: string[];
  /** b-values per volume (s/mm^2), when the images carry them. */
  bValues?: number[];
  /** Echo times of the group's volumes, ms (distinct values). */
  echoTimes?: number[];
  /** Echo numbers of the group's volumes (distinct values). */
  echoNumbers?: number[];
  /** Temporal positions of the volumes, when the images carry them. */
  timePoints?: number[];
  /** ImageType value 3 of the group (M, P, ...). */
  imageType?: string;
  /** Runs of constant slice spacing when the spacing changes along the stack. */
  spacingRegimes?: { gap: number; firstSlice: number; lastSlice: number }[];
}

function distinct<T>(values: (T | undefined)[]): T[] | undefined {
  const d = [...new Set(values.filter((v): v is T => v !== undefined))];
  return d.length > 0 ? d : undefined;
}

/** The JSON description of one group. */
export function describeGroup(g: SeriesGroup): DicomInfoGroup {
  const geo = g.geometry;
  const out: DicomInfoGroup = {
    seriesInstanceUid: g.seriesInstanceUid,
    modality: g.modality,
    seriesDescription: g.seriesDescription,
    dims: geo.dims,
    spacing: geo.spacing,
    origin: geo.origin,
    direction: geo.direction,
    transferSyntaxes: g.transferSyntaxes,
    sliceCount: geo.sliceCount,
    slicePositions: geo.slicePositions,
    gaps: geo.gaps,
    irregularSpacing: geo.irregularSpacing,
    missingSlices: geo.missingSlices,
    gantryTiltDeg: geo.gantryTiltDeg,
    warnings: geo.warnings,
    photometricInterpretation: g.pixel.photometricInterpretation,
    files: new Set(g.volumes.flatMap((v) => v.frames.map((f) => f.sourceIndex))).size,
    volumes: g.volumes.length,
    fourthAxis: g.fourthAxis,
  };
  const labels = g.volumes.map((v) => v.label);
  if (labels.every((l) => l.bValue !== undefined)) out.bValues = labels.map((l) => Number(Math.fround(l.bValue!).toPrecision(6)));
  const te = distinct(labels.map((l) => l.echoTime));
  if (te) out.echoTimes = te;
  const en = distinct(labels.map((l) => l.echoNumber));
  if (en) out.echoNumbers = en;
  // time points: when the temporal position separates the volumes (a diffusion series may repeat one value)
  if (labels.every((l) => l.temporalPosition !== undefined) && new Set(labels.map((l) => l.temporalPosition)).size > 1) out.timePoints = labels.map((l) => l.temporalPosition!);
  if (labels[0]?.imageType) out.imageType = labels[0].imageType;
  if (geo.spacingRegimes) out.spacingRegimes = geo.spacingRegimes;
  return out;
}

export const dicomInfo: Command = {
  name: 'dicom info',
  summary: 'list the series in DICOM files, folders or a DICOMDIR, with their geometry',
  usage: [
    '<paths...> [--json]',
    '  paths   files, folders (searched recursively) or DICOMDIR files',
    '  --json  print a JSON array of groups (seriesInstanceUid, modality, seriesDescription, dims, spacing,',
    '          origin, direction, transferSyntaxes, sliceCount, slicePositions, gaps, irregularSpacing,',
    '          missingSlices, gantryTiltDeg, warnings, volumes, fourthAxis, bValues, echoTimes, echoNumbers,',
    '          timePoints, imageType, spacingRegimes)',
  ].join('\n'),
  async run(args, io) {
    const { values, positionals } = parseArgs({ args, options: { json: { type: 'boolean', default: false } }, allowPositionals: true, strict: true });
    if (positionals.length === 0) throw new UsageError('give at least one file, folder or DICOMDIR');
    const paths = positionals.map((p) => resolve(io.cwd, p));
    const scan = await scanDicomPaths(paths, { onProgress: values.json ? undefined : progressPrinter(io) });
    const groups = scan.groups.map(describeGroup);
    if (values.json) {
      printJson(io, groups);
    } else {
      for (const g of groups) {
        io.stdout(`${g.modality} ${g.seriesDescription || '(no description)'}  ${g.seriesInstanceUid}\n`);
        const four = g.volumes > 1 ? ` x ${g.volumes} volumes (4th axis: ${g.fourthAxis.join(', ')})` : '';
        io.stdout(`  ${g.dims.join(' x ')} voxels${four}, spacing ${g.spacing.map((s) => +s.toFixed(4)).join(' x ')} mm, ${g.files} file(s), ${g.transferSyntaxes.join(' ')}\n`);
        const facts = [
          g.echoNumbers ? `echo ${g.echoNumbers.join(', ')}` : '',
          g.echoTimes ? `TE ${g.echoTimes.join(', ')} ms` : '',
          g.imageType ? `image type ${g.imageType}` : '',
          g.timePoints ? `${g.timePoints.length} time points` : '',
          g.bValues ? `b-values ${g.bValues.join(' ')} s/mm2` : '',
        ].filter((t) => t !== '');
        if (facts.length > 0) io.stdout(`  ${facts.join('; ')}\n`);
        if (g.irregularSpacing || g.missingSlices || g.gantryTiltDeg > 0.01) {
          io.stdout(`  gaps ${g.gaps.join(', ')} mm; tilt ${g.gantryTiltDeg} deg\n`);
        }
        for (const w of g.warnings) io.stdout(`  warning: ${w}\n`);
      }
    }
    for (const s of scan.skipped) io.stderr(`skipped ${s.name}: ${s.message}\n`);
    return groups.length > 0 ? EXIT.ok : EXIT.failed;
  },
};
