import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { PhysiotwinError, isPhysiotwinError } from '@physiotwin/core';
import { loadVolume } from '@physiotwin/dicom';
import type { SpacingPolicy } from '@physiotwin/dicom';
import { scanDicomPaths } from '@physiotwin/dicom/node';
import { encodeVolumeFile } from '@physiotwin/io/node';
import type { Command } from '../command.js';
import { EXIT, UsageError, manifestJson, prepareOutputs, printJson, progressPrinter } from '../command.js';

const FORMATS = ['nii', 'nii.gz', 'mha'] as const;
const SPACINGS = ['error', 'report', 'resample'] as const;

/** A file-name-safe version of a series description. */
function slug(text: string): string {
  return text.replace(/[^A-Za-z0-9._-]+/g, '_').replace(/^_+|_+$/g, '').slice(0, 60) || 'series';
}

export const dicomConvert: Command = {
  name: 'dicom convert',
  summary: 'convert DICOM series to NIfTI or MetaImage volumes, one file per group',
  usage: [
    '<paths...> -o <out-dir> [--series UID] [--tilt-correct] [--spacing error|report|resample] [--format nii|nii.gz|mha] [--force] [--json]',
    '  paths           files, folders (recursive) or DICOMDIR files',
    '  -o, --out       output folder (created if missing)',
    '  --series UID    convert only this SeriesInstanceUID',
    '  --tilt-correct  resample gantry-tilted stacks onto an orthogonal grid',
    "  --spacing       uneven slice spacing: 'error' (default) fails that group, 'report' keeps the slices,",
    "                  'resample' interpolates onto an even grid",
    '  --format        nii.gz (default), nii or mha; NIfTI sform is RAS as dcm2niix writes it',
    '  --force         overwrite existing output files (without it, an existing file refuses the run before',
    '                  any conversion, and nothing is written)',
    '  --json          print what was written as JSON',
  ].join('\n'),
  async run(args, io) {
    const { values, positionals } = parseArgs({
      args,
      options: {
        out: { type: 'string', short: 'o' },
        series: { type: 'string' },
        'tilt-correct': { type: 'boolean', default: false },
        spacing: { type: 'string', default: 'error' },
        format: { type: 'string', default: 'nii.gz' },
        force: { type: 'boolean', default: false },
        json: { type: 'boolean', default: false },
      },
      allowPositionals: true,
      strict: true,
    });
    if (positionals.length === 0) throw new UsageError('give at least one file, folder or DICOMDIR');
    if (!values.out) throw new UsageError('-o <out-dir> is required');
    if (!(SPACINGS as readonly string[]).includes(values.spacing)) throw new UsageError(`--spacing must be one of ${SPACINGS.join(', ')}`);
    if (!(FORMATS as readonly string[]).includes(values.format)) throw new UsageError(`--format must be one of ${FORMATS.join(', ')}`);
    const outDir = resolve(io.cwd, values.out);
    const paths = positionals.map((p) => resolve(io.cwd, p));
    // Write path: outputs are checked before the scan (manifest.json) and before any conversion (every file),
    // staged beside their names as groups convert, and committed together at the end (see prepareOutputs).
    const manifestPath = join(outDir, 'manifest.json');
    await prepareOutputs([manifestPath], values.force, { folder: outDir });
    const progress = values.json ? undefined : progressPrinter(io);
    const scan = await scanDicomPaths(paths, { onProgress: progress });
    const groups = values.series ? scan.groups.filter((g) => g.seriesInstanceUid === values.series) : scan.groups;
    if (groups.length === 0) {
      throw new PhysiotwinError('INVALID_ARGUMENT', values.series ? `no series ${values.series} in the input` : 'no DICOM image series found in the input');
    }
    const used = new Set<string>();
    const planned = groups.map((g) => {
      let base = `${slug(g.modality)}_${slug(g.seriesDescription)}`;
      for (let n = 2; used.has(base); n++) base = `${slug(g.modality)}_${slug(g.seriesDescription)}_${n}`;
      used.add(base);
      return { g, base, file: join(outDir, `${base}.${values.format}`) };
    });
    const outputs = await prepareOutputs([...planned.map((p) => p.file), manifestPath], values.force, { folder: outDir });
    const written: { file: string; seriesInstanceUid: string; dims: number[]; warnings: string[] }[] = [];
    const failed: { seriesInstanceUid: string; seriesDescription: string; code: string; message: string }[] = [];
    const usedSources = new Set<number>();
    try {
      for (const { g, base, file } of planned) {
        let loaded;
        try {
          loaded = await loadVolume(g, scan.sources, {
            spacing: values.spacing as SpacingPolicy,
            tiltCorrect: values['tilt-correct'],
            onProgress: progress,
          });
        } catch (e) {
          if (!isPhysiotwinError(e)) throw e;
          failed.push({ seriesInstanceUid: g.seriesInstanceUid, seriesDescription: g.seriesDescription, code: e.code, message: e.message });
          io.stderr(`${base}: not converted: ${e.message}\n`);
          continue;
        }
        const { volume, geometry } = loaded;
        for (const [path, bytes] of encodeVolumeFile(file, volume)) await outputs.stage(path, bytes);
        written.push({ file, seriesInstanceUid: g.seriesInstanceUid, dims: volume.dims, warnings: geometry.warnings });
        for (const f of g.frames) usedSources.add(f.sourceIndex);
        if (!values.json) for (const w of geometry.warnings) io.stderr(`${base}: warning: ${w}\n`);
      }
      const manifest = await manifestJson({
        tool: 'physiotwin dicom convert',
        inputs: [...usedSources].sort((a, b) => a - b).map((i) => scan.sources[i]!.name),
        parameters: { series: values.series ?? null, tiltCorrect: values['tilt-correct'], spacing: values.spacing, format: values.format },
        backend: { backend: 'cpu' },
      });
      await outputs.stage(manifestPath, manifest);
      await outputs.commit();
    } catch (e) {
      outputs.discard();
      throw e;
    }
    if (values.json) printJson(io, { written, failed, skipped: scan.skipped });
    else for (const w of written) io.stdout(`${w.file}  ${w.dims.join(' x ')}\n`);
    return failed.length > 0 || written.length === 0 ? EXIT.failed : EXIT.ok;
  },
};
