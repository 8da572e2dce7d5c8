import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join, relative, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { PhysiotwinError, createManifest, isPhysiotwinError } from '@physiotwin/core';
import { loadVolume } from '@physiotwin/dicom';
import type { SpacingPolicy } from '@physiotwin/dicom';
import { scanDicomPaths } from '@physiotwin/dicom/node';
import { writeRunProvenance, writeVolumeFile } from '@physiotwin/io/node';
import type { Command } from '../command.js';
import { EXIT, UsageError, printJson, progressPrinter } from '../command.js';
import { VERSION } from '../version.js';

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
    '  --force         overwrite existing output files',
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
    const progress = values.json ? undefined : progressPrinter(io);
    const scan = await scanDicomPaths(paths, { onProgress: progress });
    const groups = values.series ? scan.groups.filter((g) => g.seriesInstanceUid === values.series) : scan.groups;
    if (groups.length === 0) {
      throw new PhysiotwinError('INVALID_ARGUMENT', values.series ? `no series ${values.series} in the input` : 'no DICOM image series found in the input');
    }
    await mkdir(outDir, { recursive: true });
    const written: { file: string; seriesInstanceUid: string; dims: number[]; warnings: string[] }[] = [];
    const failed: { seriesInstanceUid: string; seriesDescription: string; code: string; message: string }[] = [];
    const used = new Set<string>();
    const usedSources = new Set<number>();
    for (const g of groups) {
      let base = `${slug(g.modality)}_${slug(g.seriesDescription)}`;
      for (let n = 2; used.has(base); n++) base = `${slug(g.modality)}_${slug(g.seriesDescription)}_${n}`;
      used.add(base);
      const file = join(outDir, `${base}.${values.format}`);
      try {
        const { volume, geometry } = await loadVolume(g, scan.sources, {
          spacing: values.spacing as SpacingPolicy,
          tiltCorrect: values['tilt-correct'],
          onProgress: progress,
        });
        await writeVolumeFile(file, volume, { overwrite: values.force });
        written.push({ file, seriesInstanceUid: g.seriesInstanceUid, dims: volume.dims, warnings: geometry.warnings });
        for (const f of g.frames) usedSources.add(f.sourceIndex);
        if (!values.json) for (const w of geometry.warnings) io.stderr(`${base}: warning: ${w}\n`);
      } catch (e) {
        if (!isPhysiotwinError(e) || e.code === 'IO_EXISTS') throw e;
        failed.push({ seriesInstanceUid: g.seriesInstanceUid, seriesDescription: g.seriesDescription, code: e.code, message: e.message });
        io.stderr(`${base}: not converted: ${e.message}\n`);
      }
    }
    const manifestPath = join(outDir, 'manifest.json');
    const inputs = [];
    for (const i of [...usedSources].sort((a, b) => a - b)) {
      const name = scan.sources[i]!.name;
      inputs.push({ name, data: new Uint8Array(await readFile(name)) });
    }
    const manifest = await createManifest({
      tool: 'physiotwin dicom convert',
      inputs,
      parameters: { series: values.series ?? null, tiltCorrect: values['tilt-correct'], spacing: values.spacing, format: values.format },
      packages: { '@physiotwin/cli': VERSION },
      backend: { backend: 'cpu' },
    });
    await writeFile(manifestPath, JSON.stringify(manifest, null, 2) + '\n', { flag: values.force ? 'w' : 'wx' }).catch((e: NodeJS.ErrnoException) => {
      if (e.code === 'EEXIST') throw new PhysiotwinError('IO_EXISTS', `${manifestPath} exists: pass --force to overwrite`, { location: { file: manifestPath } });
      throw e;
    });
    await writeRunProvenance(outDir, manifest, [...written.map((w) => relative(outDir, w.file)), 'manifest.json']);
    if (values.json) printJson(io, { written, failed, skipped: scan.skipped });
    else for (const w of written) io.stdout(`${w.file}  ${w.dims.join(' x ')}\n`);
    return failed.length > 0 || written.length === 0 ? EXIT.failed : EXIT.ok;
  },
};
