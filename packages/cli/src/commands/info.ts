import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { dtypeOf } from '@physiotwin/core';
import type { Mat3, Rescale, Vec3, VolumeDtype } from '@physiotwin/core';
// io/node, not io's main entry: the main entry also loads every mesh and surface format (start-up, issue #11).
import { readVolumeFile, volumeFormatFromName } from '@physiotwin/io/node';
// The statistics module alone, not segment's index (its filters and segmenters): start-up cost (issue #11).
import { volumeStatistics } from '@physiotwin/segment/stats';
import type { Command } from '../command.js';
import { EXIT, UsageError, printJson } from '../command.js';

/** What `physiotwin info --json` prints (a contract: keys are only ever added). */
export interface InfoReport {
  file: string;
  format: 'nifti' | 'metaimage' | null;
  /** Voxels along i, j, k. */
  dims: Vec3;
  /** Voxel size along i, j, k in mm. */
  spacing: Vec3;
  /** World position (LPS, mm) of voxel (0, 0, 0). */
  origin: Vec3;
  /** 3x3, column-major: the unit i, j, k axes in LPS (as `Volume.direction`). */
  direction: Mat3;
  dtype: VolumeDtype;
  components: number;
  /** Stored-to-physical mapping, null when the file has none. */
  rescale: Rescale | null;
  /** Smallest and largest physical value (stored value x rescale), NaNs excluded; null when every value is NaN. */
  min: number | null;
  max: number | null;
}

/** Reads a volume file and summarises it. */
export async function infoReport(path: string): Promise<InfoReport> {
  const volume = await readVolumeFile(path);
  const stats = await volumeStatistics(volume, { backend: 'cpu' });
  return {
    file: path,
    format: volumeFormatFromName(path) ?? null,
    dims: volume.dims,
    spacing: volume.spacing,
    origin: volume.origin,
    direction: volume.direction.map((x) => x + 0) as Mat3, // no "-0" in the output
    dtype: dtypeOf(volume.data),
    components: volume.components,
    rescale: volume.rescale ?? null,
    min: stats.count > 0 ? stats.min : null,
    max: stats.count > 0 ? stats.max : null,
  };
}

export const info: Command = {
  name: 'info',
  summary: 'describe a volume file (NIfTI-1 .nii/.nii.gz, MetaImage .mha/.mhd): size, geometry, type, value range',
  usage: '<volume-file> [--json]\n  --json  print {file, format, dims, spacing, origin, direction, dtype, components, rescale, min, max} as JSON',
  async run(args, io) {
    const { values, positionals } = parseArgs({ args, options: { json: { type: 'boolean', default: false } }, allowPositionals: true, strict: true });
    if (positionals.length !== 1) throw new UsageError(`expected one volume file, got ${positionals.length}`);
    const report = await infoReport(resolve(io.cwd, positionals[0]!));
    if (values.json) {
      printJson(io, report);
      return EXIT.ok;
    }
    const d = report.direction;
    const rows = [0, 1, 2].map((r) => [d[r], d[r + 3], d[r + 6]].join(' ')).join('; ');
    io.stdout(
      [
        `${positionals[0]}: ${report.format === 'nifti' ? 'NIfTI-1' : report.format === 'metaimage' ? 'MetaImage' : 'volume'}, ${report.dims.join(' x ')} voxels, ${report.dtype}${report.components > 1 ? ` x ${report.components} components` : ''}`,
        `spacing  ${report.spacing.join(' x ')} mm`,
        `origin   (${report.origin.join(', ')}) mm, LPS`,
        `direction [${rows}] (columns are the i, j, k axes)`,
        `rescale  ${report.rescale ? `stored x ${report.rescale.slope} + ${report.rescale.intercept}` : 'none'}`,
        `values   ${report.min ?? 'NaN'} .. ${report.max ?? 'NaN'}`,
        '',
      ].join('\n'),
    );
    return EXIT.ok;
  },
};
