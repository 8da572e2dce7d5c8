import { basename, join, relative, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { PhysiotwinError, createManifest, isPhysiotwinError } from '@physiotwin/core';
import type { RunManifest } from '@physiotwin/core';
import type { ConversionRecord, SpacingPolicy, SplitAttribute } from '@physiotwin/dicom';
// from dicom/node, not the main entry: the same functions without loading the de-identifier and the DICOM writers
import { SPLIT_ATTRIBUTES, bidsSidecar, diffusionTables, fileDigest, harmonizeTimePoints, loadVolume, outputName, scanDicomPaths, uniqueName, volumeGroups } from '@physiotwin/dicom/node';
import { encodeVolumeFileParts, writeRunProvenance } from '@physiotwin/io/node';
import type { CliIO, Command } from '../command.js';
import { EXIT, UsageError, prepareOutputs, printJson, progressPrinter } from '../command.js';
import { VERSION } from '../version.js';

const FORMATS = ['nii', 'nii.gz', 'mha'] as const;
const SPACINGS = ['error', 'report', 'resample'] as const;
/** The default file name: modality and series description (dcm2niix letters plus physiotwin's %q, modality). */
const DEFAULT_NAME = '%q_%d';

/** What `dicom convert --json` prints (keys are only ever added). */
interface ConvertResult {
  written: { file: string; seriesInstanceUid: string; dims: number[]; volumes: number; fourthAxis: string[]; sidecars: string[]; warnings: string[] }[];
  failed: { seriesInstanceUid: string; seriesDescription: string; code: string; message: string }[];
  skipped: { name: string; code: string; message: string }[];
  error?: { code: string; message: string };
}

function splitList(text: string): SplitAttribute[] {
  const list = text.split(',').map((t) => t.trim()).filter((t) => t !== '');
  for (const a of list) {
    if (!(SPLIT_ATTRIBUTES as readonly string[]).includes(a)) throw new UsageError(`--split-by: unknown attribute ${JSON.stringify(a)} (use ${SPLIT_ATTRIBUTES.join(', ')})`);
  }
  return list as SplitAttribute[];
}

export const dicomConvert: Command = {
  name: 'dicom convert',
  summary: 'convert DICOM series to NIfTI or MetaImage volumes (4D for multi-volume series), with BIDS sidecars and .bval/.bvec',
  usage: [
    '<paths...> -o <out-dir> [--series UID] [--split-by LIST] [--no-4d] [--name TEMPLATE] [--tilt-correct]',
    '       [--spacing error|report|resample] [--format nii|nii.gz|mha] [--force] [--json]',
    '  paths           files, folders (recursive), DICOMDIR files; .dcm.gz files are read as they are',
    '  -o, --out       output folder (created if missing)',
    '  --series UID    convert only this SeriesInstanceUID',
    `  --split-by      attributes that make separate files: ${SPLIT_ATTRIBUTES.join(', ')}`,
    '                  (default echo,image-type; the others, when they vary, are the 4th axis of one file)',
    '  --no-4d         write every volume of a multi-volume series to its own file',
    `  --name          file name template (default '${DEFAULT_NAME}'), dcm2niix letters: %s series number,`,
    '                  %d description, %p protocol, %t date+time, %e echo, %i patient ID, %f input folder,',
    '                  %j series UID, %m manufacturer, %u acquisition number, %v vendor; %q modality',
    '  --tilt-correct  resample gantry-tilted stacks onto an orthogonal grid',
    "  --spacing       uneven slice spacing: 'error' (default) fails that group, 'report' keeps the slices,",
    "                  'resample' interpolates onto an even grid",
    '  --format        nii.gz (default), nii or mha; NIfTI sform is RAS as dcm2niix writes it; 4D needs NIfTI',
    '  --force         overwrite existing output files',
    '  --json          print what was written (and any error) as JSON on stdout',
    '  Beside each volume: <name>.json (BIDS sidecar, dcm2niix keys, seconds), and for diffusion series',
    '  <name>.bval/<name>.bvec (FSL convention, vectors in the written image\'s voxel frame).',
  ].join('\n'),
  async run(args, io) {
    const result: ConvertResult = { written: [], failed: [], skipped: [] };
    // --json: the result, error included, is on stdout whatever happens (bad flags too).
    const json = args.includes('--json');
    try {
      const { values, positionals } = parseArgs({
        args,
        options: {
          out: { type: 'string', short: 'o' },
          series: { type: 'string' },
          'split-by': { type: 'string' },
          'no-4d': { type: 'boolean', default: false },
          name: { type: 'string', default: DEFAULT_NAME },
          'tilt-correct': { type: 'boolean', default: false },
          spacing: { type: 'string', default: 'error' },
          format: { type: 'string', default: 'nii.gz' },
          force: { type: 'boolean', default: false },
          json: { type: 'boolean', default: false },
        },
        allowPositionals: true,
        strict: true,
      });
      return await convert(values, positionals, io, result);
    } catch (e) {
      if (json) {
        const parse = (e as { code?: unknown }).code;
        const code = isPhysiotwinError(e) ? e.code : typeof parse === 'string' && parse.startsWith('ERR_PARSE_ARGS') ? 'INVALID_ARGUMENT' : 'INTERNAL';
        result.error = { code, message: e instanceof Error ? e.message : String(e) };
        printJson(io, result);
      }
      throw e;
    }
  },
};

interface ConvertFlags {
  out?: string | undefined;
  series?: string | undefined;
  'split-by'?: string | undefined;
  'no-4d': boolean;
  name: string;
  'tilt-correct': boolean;
  spacing: string;
  format: string;
  force: boolean;
  json: boolean;
}

async function convert(values: ConvertFlags, positionals: string[], io: CliIO, result: ConvertResult): Promise<number> {
  if (positionals.length === 0) throw new UsageError('give at least one file, folder or DICOMDIR');
  if (!values.out) throw new UsageError('-o <out-dir> is required');
  if (!(SPACINGS as readonly string[]).includes(values.spacing)) throw new UsageError(`--spacing must be one of ${SPACINGS.join(', ')}`);
  if (!(FORMATS as readonly string[]).includes(values.format)) throw new UsageError(`--format must be one of ${FORMATS.join(', ')}`);
  const splitBy = values['split-by'] !== undefined ? splitList(values['split-by']) : undefined;
  const outDir = resolve(io.cwd, values.out);
  const paths = positionals.map((p) => resolve(io.cwd, p));
  // Write path: outputs are checked before the scan (manifest.json) and before any conversion (every volume and
  // its sidecar), staged beside their names as groups convert, and committed together at the end.
  const manifestPath = join(outDir, 'manifest.json');
  await prepareOutputs([manifestPath], values.force, { folder: outDir });
  const progress = values.json ? undefined : progressPrinter(io);
  const scan = await scanDicomPaths(paths, { digest: true, onProgress: progress, ...(splitBy ? { splitBy } : {}), fourD: !values['no-4d'] });
  result.skipped = scan.skipped;
  const groups = values.series ? scan.groups.filter((g) => g.seriesInstanceUid === values.series) : scan.groups;
  if (groups.length === 0) {
    throw new PhysiotwinError('INVALID_ARGUMENT', values.series ? `no series ${values.series} in the input` : 'no DICOM image series found in the input');
  }
  // Names first (a bad template fails before anything is written).
  const echoesOf = new Map<string, Set<string>>();
  for (const g of groups) {
    const set = echoesOf.get(g.seriesInstanceUid) ?? new Set<string>();
    set.add(String(g.volumes[0]?.label.echoNumber ?? ''));
    echoesOf.set(g.seriesInstanceUid, set);
  }
  const used = new Set<string>();
  const folder = basename(paths[0]!);
  const names = groups.map((g) => uniqueName(outputName(g, values.name, { folder }, echoesOf.get(g.seriesInstanceUid)!.size), used));
  const files = names.map((base) => join(outDir, `${base}.${values.format}`));
  const outputs = await prepareOutputs([...files, ...names.map((base) => join(outDir, `${base}.json`)), manifestPath], values.force, { folder: outDir });
  const usedSources = new Set<number>();
  let manifestText = '';
  // SHA-256 of every output, by name relative to outDir, hashed while it was written (the provenance records
  // them without reading 80 MB volumes back).
  const digests = new Map<string, { sha256: string; bytes: number }>();
  const stage = async (path: string, data: string | readonly Uint8Array[]) => {
    const { sha256, bytes } = await outputs.stage(path, data, { sha256: true });
    digests.set(relative(outDir, path), { sha256: sha256!, bytes });
  };
  try {
    for (const [gi, g] of groups.entries()) {
      const base = names[gi]!;
      const file = files[gi]!;
      try {
        const loaded = [];
        for (const v of volumeGroups(g)) {
          loaded.push(await loadVolume(v, scan.sources, { spacing: values.spacing as SpacingPolicy, tiltCorrect: values['tilt-correct'], onProgress: progress }));
        }
        const first = loaded[0]!;
        const stack = harmonizeTimePoints(loaded.map((l) => l.volume));
        const timePoints = stack.volumes.slice(1);
        const tr = g.acquisition.repetitionTime;
        const encoded = encodeVolumeFileParts(file, stack.volumes[0]!, timePoints.length > 0 ? { timePoints, timeStep: tr !== undefined ? tr / 1000 : 1 } : {});
        const warnings = [...new Set([...loaded.flatMap((l) => l.geometry.warnings), ...(stack.warning ? [stack.warning] : [])])];
        const record: ConversionRecord = {
          version: VERSION,
          warnings,
          ...(values['tilt-correct'] && g.geometry.gantryTiltDeg > 0.01 ? { tiltCorrectedDeg: g.geometry.gantryTiltDeg } : {}),
          ...(values.spacing === 'resample' && (g.geometry.irregularSpacing || g.geometry.missingSlices) ? { resampledStepMm: first.volume.spacing[2] } : {}),
          ...(g.geometry.irregularSpacing || g.geometry.missingSlices ? { sliceGapsMm: g.geometry.gaps } : {}),
        };
        const texts: [string, string][] = [[join(outDir, `${base}.json`), JSON.stringify(bidsSidecar(g, record), null, 2) + '\n']];
        const tables = diffusionTables(g, first.volume.direction);
        if (tables) texts.push([join(outDir, `${base}.bval`), tables.bval], [join(outDir, `${base}.bvec`), tables.bvec]);
        for (const [path, parts] of encoded) await stage(path, parts);
        for (const [path, text] of texts) await stage(path, text);
        const dims = timePoints.length > 0 ? [...first.volume.dims, loaded.length] : [...first.volume.dims];
        result.written.push({ file, seriesInstanceUid: g.seriesInstanceUid, dims, volumes: loaded.length, fourthAxis: g.fourthAxis, sidecars: texts.map(([path]) => path), warnings });
        for (const v of g.volumes) for (const f of v.frames) usedSources.add(f.sourceIndex);
        if (!values.json) for (const w of warnings) io.stderr(`${base}: warning: ${w}\n`);
      } catch (e) {
        if (!isPhysiotwinError(e) || e.code.startsWith('IO_')) throw e;
        result.failed.push({ seriesInstanceUid: g.seriesInstanceUid, seriesDescription: g.seriesDescription, code: e.code, message: e.message });
        io.stderr(`${base}: not converted: ${e.message}\n`);
      }
    }
    // The manifest as command.ts's manifestJson writes it, with the inputs' digests from the scan where it read
    // whole files (fileDigest): re-reading and hashing every input took longer than converting a 1440-file series.
    const manifest = await createManifest({
      tool: 'physiotwin dicom convert',
      inputs: [...usedSources].sort((a, b) => a - b).map((i) => ({ name: scan.sources[i]!.name, ...fileDigest(scan.sources[i]!) })),
      parameters: {
        series: values.series ?? null, tiltCorrect: values['tilt-correct'], spacing: values.spacing, format: values.format,
        splitBy: splitBy ?? null, fourD: !values['no-4d'], name: values.name,
      },
      packages: { '@physiotwin/cli': VERSION },
      backend: { backend: 'cpu' },
    });
    manifestText = JSON.stringify(manifest, null, 2) + '\n';
    await stage(manifestPath, manifestText);
    await outputs.commit();
  } catch (e) {
    outputs.discard();
    throw e;
  }
  // The run's RO-Crate and FHIR Provenance, hashing what was committed (verify-run checks them later).
  await writeRunProvenance(outDir, JSON.parse(manifestText) as RunManifest, [...result.written.flatMap((w) => [w.file, ...w.sidecars]).map((f) => relative(outDir, f)), 'manifest.json'], { digests });
  if (values.json) printJson(io, result);
  else for (const w of result.written) io.stdout(`${w.file}  ${w.dims.join(' x ')}\n`);
  return result.failed.length > 0 || result.written.length === 0 ? EXIT.failed : EXIT.ok;
}
