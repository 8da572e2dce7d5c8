import { readFile, writeFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import type { Vec3, Volume } from '@physiotwin/core';
import { createManifest, PhysiotwinError } from '@physiotwin/core';
import { readVolumeFile, writeVolumeFile } from '@physiotwin/io/node';
import type { MaskResult } from '@physiotwin/segment';
import { adaptiveConnected, anisotropicDiffusion, autoVesselParams, connectedThreshold, fillHoles, largestComponent, morphology, threshold } from '@physiotwin/segment';
import type { Command } from '../command.js';
import { EXIT, parseTriple, printJson, UsageError } from '../command.js';
import { VERSION } from '../version.js';
import { checkWritable } from './hemo-run.js';

const BACKENDS = ['auto', 'cpu', 'webgpu'] as const;

/** Parses a finite number flag. */
function numberFlag(text: string | undefined, flag: string): number | undefined {
  if (text === undefined) return undefined;
  const v = Number(text);
  if (text.trim() === '' || !Number.isFinite(v)) throw new UsageError(`${flag} takes a number, got '${text}'`);
  return v;
}

/** Writes `<output>.manifest.json` next to an output file (refusing to overwrite without --force). */
export async function writeManifestBeside(output: string, manifest: unknown, force: boolean): Promise<string> {
  const path = `${output}.manifest.json`;
  checkWritable(path, force);
  await writeFile(path, JSON.stringify(manifest, null, 2) + '\n');
  return path;
}

export const segment: Command = {
  name: 'segment',
  summary: 'segment a volume: seeded region growing (fixed range or --auto), components, closing, hole filling',
  usage: [
    '<volume> -o <labels.nii|.nii.gz|.mha> --seed i,j,k [--seed i,j,k ...] [--lower L --upper U | --auto]',
    '        [--largest] [--fill-holes] [--close-mm r] [--backend auto|cpu|webgpu] [--force] [--json]',
    '  --seed i,j,k     seed voxel (0-based index); repeat for several seeds',
    '  --lower/--upper  inclusive intensity range (physical units): the region connected to the seeds',
    '                   (without --seed: every voxel in the range)',
    '  --auto           a contrast-filled lumen from the seeds, its brightness allowed to drift along the',
    '                   vessel: edge-preserving smoothing (5 steps of Perona-Malik diffusion, K = 2 sd / min',
    '                   spacing, sd of the 5x5x5 voxels around the seeds), then adaptive region growing: a voxel',
    '                   joins where it is at least the local half maximum between the mean of the region\'s core',
    '                   (deeper than 2 mm) and the mean outside it, over a +-15 mm window; the result is a solid',
    '                   lumen: --auto implies --fill-holes. No upper bound: range is [lowest local threshold, null];',
    '                   --json adds auto: { conductance, diffusionSteps, rounds, converged, thresholds: [min, max] }',
    '  --close-mm r     morphological closing with a ball of radius r mm (spacing-aware)',
    '  --fill-holes     fill cavities not connected to the image border',
    '  --largest        keep only the largest 6-connected component',
    '  Steps run in this order: smoothing (--auto only), region growing, closing, hole filling, largest component.',
    '  The labelmap is uint8 (1 inside, 0 outside) on the input geometry; <output>.manifest.json records',
    '  the run. Existing files are kept unless --force.',
  ].join('\n'),
  async run(args, io) {
    const { values, positionals } = parseArgs({
      args,
      options: {
        out: { type: 'string', short: 'o' },
        seed: { type: 'string', multiple: true, default: [] },
        lower: { type: 'string' },
        upper: { type: 'string' },
        auto: { type: 'boolean', default: false },
        largest: { type: 'boolean', default: false },
        'fill-holes': { type: 'boolean', default: false },
        'close-mm': { type: 'string' },
        backend: { type: 'string', default: 'auto' },
        force: { type: 'boolean', default: false },
        json: { type: 'boolean', default: false },
      },
      allowPositionals: true,
      strict: true,
    });
    if (positionals.length !== 1) throw new UsageError('give exactly one input volume');
    if (!values.out) throw new UsageError('-o <labels.nii|.nii.gz|.mha> is required');
    if (!/\.(nii|nii\.gz|mha|mhd)$/i.test(values.out)) throw new UsageError(`-o must end in .nii, .nii.gz, .mha or .mhd, got '${values.out}'`);
    if (!(BACKENDS as readonly string[]).includes(values.backend)) throw new UsageError(`--backend must be one of ${BACKENDS.join(', ')}`);
    const seeds = values.seed.map((s) => parseTriple(s, '--seed') as Vec3);
    const lower = numberFlag(values.lower, '--lower');
    const upper = numberFlag(values.upper, '--upper');
    const closeMm = numberFlag(values['close-mm'], '--close-mm');
    if (values.auto && (lower !== undefined || upper !== undefined)) throw new UsageError('--auto and --lower/--upper exclude each other');
    if (!values.auto && lower === undefined && upper === undefined) throw new UsageError('give --lower and/or --upper, or --auto');
    if (values.auto && seeds.length === 0) throw new UsageError('--auto needs at least one --seed');
    if (closeMm !== undefined && !(closeMm >= 0)) throw new UsageError(`--close-mm must be >= 0, got ${closeMm}`);
    const input = resolve(io.cwd, positionals[0]!);
    const output = resolve(io.cwd, values.out);
    checkWritable(output, values.force);
    checkWritable(`${output}.manifest.json`, values.force);
    const options = { backend: values.backend as (typeof BACKENDS)[number] };
    const timings: Record<string, number> = {};
    let t = performance.now();
    const lap = (stage: string) => {
      const now = performance.now();
      timings[stage] = Math.round(now - t);
      t = now;
    };
    const volume: Volume = await readVolumeFile(input);
    lap('read');
    let result: MaskResult;
    let range: [number, number] | undefined;
    let auto: { conductance: number; diffusionSteps: number; rounds: number; converged: boolean; thresholds: [number, number] } | undefined;
    let growing: object | undefined;
    if (values.auto) {
      const params = autoVesselParams(volume, seeds);
      const smooth = params.diffusion ? (await anisotropicDiffusion(volume, params.diffusion, options)).volume : volume;
      lap('smooth');
      const r = await adaptiveConnected(smooth, seeds, params.growing, options);
      growing = params.growing;
      // no smoothing (a noise-free seed neighbourhood) reports conductance 0 and 0 steps
      if (!r.converged) io.stderr(`warning: adaptive growth stopped after ${r.iterations} rounds without converging\n`);
      auto = { conductance: params.diffusion?.conductance ?? 0, diffusionSteps: params.diffusion?.iterations ?? 0, rounds: r.iterations, converged: r.converged, thresholds: [r.thresholdMin, r.thresholdMax] };
      range = [r.thresholdMin, Infinity];
      result = r;
    } else {
      range = [lower ?? -Infinity, upper ?? Infinity];
      result = seeds.length ? await connectedThreshold(volume, seeds, { lower, upper }, options) : await threshold(volume, { lower, upper }, options);
    }
    lap('region');
    let mask = result.mask;
    if (closeMm) mask = (await morphology(mask, { operation: 'close', radiusMm: closeMm }, options)).mask;
    // --auto implies hole filling: a vessel lumen has no internal voids, and the local threshold can leave a
    // speckle of the lumen below it (noise, an inflow artefact) as a cavity.
    const fill = values['fill-holes'] || values.auto;
    if (fill) mask = fillHoles(mask).mask;
    if (values.largest) mask = (await largestComponent(mask, {}, options)).mask;
    lap('postprocess');
    let voxels = 0;
    for (let i = 0; i < mask.data.length; i++) voxels += mask.data[i]!;
    if (voxels === 0) throw new PhysiotwinError('INVALID_ARGUMENT', 'the segmentation is empty: check the seeds and the range');
    await writeVolumeFile(output, mask, { overwrite: values.force });
    lap('write');
    const [sx, sy, sz] = volume.spacing;
    const summary = {
      output,
      voxels,
      volumeMm3: voxels * sx * sy * sz,
      range: range.map((x) => (Number.isFinite(x) ? x : null)),
      seeds,
      ...(auto ? { auto } : {}),
      backend: result.backend,
    };
    const manifest = await createManifest({
      tool: 'physiotwin segment',
      inputs: [{ name: input, data: new Uint8Array(await readFile(input)) }],
      parameters: { seeds, lower: lower ?? null, upper: upper ?? null, auto: values.auto, largest: values.largest, fillHoles: fill, closeMm: closeMm ?? null, autoPipeline: auto ? { diffusionSteps: auto.diffusionSteps, conductance: auto.conductance, ...growing } : null },
      packages: { '@physiotwin/cli': VERSION },
      backend: { backend: result.backend, adapter: result.adapter },
      timings,
    });
    await writeManifestBeside(output, manifest, values.force);
    if (values.json) printJson(io, summary);
    else {
      const how = auto ? `local thresholds [${auto.thresholds.map((x) => x.toFixed(1)).join(', ')}] (${auto.rounds} rounds)` : `range [${summary.range.join(', ')}]`;
      io.stdout(`${output}: ${voxels} voxels (${summary.volumeMm3.toFixed(1)} mm^3), ${how}, ${result.backend}\n`);
    }
    return EXIT.ok;
  },
};
