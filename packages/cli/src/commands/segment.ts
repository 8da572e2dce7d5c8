import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import type { Volume } from '@physiotwin/core';
import { PhysiotwinError } from '@physiotwin/core';
import { encodeVolumeFile, readVolumeFile, volumeFilePaths } from '@physiotwin/io/node';
import type { PipelineMaskResult } from '@physiotwin/segment';
import { segmentRange, segmentVessel } from '@physiotwin/segment';
import type { Command } from '../command.js';
import { backendFlag, EXIT, FLAGS, manifestJson, manifestPathFor, numberFlag, prepareOutputs, printJson, requiredOut, seedOption, seedsFlag, stopwatch, UsageError } from '../command.js';

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
    '  the run. The folder of -o must exist; existing files are kept unless --force.',
  ].join('\n'),
  async run(args, io) {
    const { values, positionals } = parseArgs({
      args,
      options: {
        out: FLAGS.out,
        seed: seedOption(),
        lower: { type: 'string' },
        upper: { type: 'string' },
        auto: { type: 'boolean', default: false },
        largest: { type: 'boolean', default: false },
        'fill-holes': { type: 'boolean', default: false },
        'close-mm': { type: 'string' },
        backend: FLAGS.backend,
        force: FLAGS.force,
        json: FLAGS.json,
      },
      allowPositionals: true,
      strict: true,
    });
    if (positionals.length !== 1) throw new UsageError('give exactly one input volume');
    const out = requiredOut(values.out, '<labels.nii|.nii.gz|.mha>');
    if (!/\.(nii|nii\.gz|mha|mhd)$/i.test(out)) throw new UsageError(`-o must end in .nii, .nii.gz, .mha or .mhd, got '${out}'`);
    const backend = backendFlag(values.backend);
    const seeds = seedsFlag(values.seed);
    const lower = numberFlag(values.lower, '--lower');
    const upper = numberFlag(values.upper, '--upper');
    const closeMm = numberFlag(values['close-mm'], '--close-mm');
    if (values.auto && (lower !== undefined || upper !== undefined)) throw new UsageError('--auto and --lower/--upper exclude each other');
    if (!values.auto && lower === undefined && upper === undefined) throw new UsageError('give --lower and/or --upper, or --auto');
    if (values.auto && seeds.length === 0) throw new UsageError('--auto needs at least one --seed');
    if (closeMm !== undefined && !(closeMm >= 0)) throw new UsageError(`--close-mm must be >= 0, got ${closeMm}`);
    const input = resolve(io.cwd, positionals[0]!);
    const output = resolve(io.cwd, out);
    const outputFiles = [...volumeFilePaths(output), manifestPathFor(output)];
    const outputs = await prepareOutputs(outputFiles, values.force);
    const options = { backend };
    const clock = stopwatch();
    const volume: Volume = await readVolumeFile(input);
    clock.lap('read');
    const fill = values['fill-holes'] || values.auto;
    let result: PipelineMaskResult;
    let range: [number, number];
    let auto: { conductance: number; diffusionSteps: number; rounds: number; converged: boolean; thresholds: [number, number] } | undefined;
    let autoPipeline: Record<string, number> | null = null;
    if (values.auto) {
      const r = await segmentVessel(volume, seeds, { closeMm, largest: values.largest }, options);
      if (!r.converged) io.stderr(`warning: adaptive growth stopped after ${r.rounds} rounds without converging\n`);
      // no smoothing (a noise-free seed neighbourhood) reports conductance 0 and 0 steps
      const diffusion = r.params.diffusion;
      auto = { conductance: diffusion?.conductance ?? 0, diffusionSteps: diffusion?.iterations ?? 0, rounds: r.rounds, converged: r.converged, thresholds: [r.thresholdMin, r.thresholdMax] };
      autoPipeline = { diffusionSteps: auto.diffusionSteps, conductance: auto.conductance, ...r.params.growing };
      range = [r.thresholdMin, Infinity];
      result = r;
    } else {
      range = [lower ?? -Infinity, upper ?? Infinity];
      result = await segmentRange(volume, seeds, { lower, upper, closeMm, fillHoles: fill, largest: values.largest }, options);
    }
    clock.add(Object.fromEntries(result.steps.map((s) => [s.step, s.ms])));
    const { mask, voxels } = result;
    if (voxels === 0) throw new PhysiotwinError('INVALID_ARGUMENT', 'the segmentation is empty: check the seeds and the range');
    const files = encodeVolumeFile(output, mask);
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
    const manifest = await manifestJson({
      tool: 'physiotwin segment',
      inputs: [input],
      parameters: { seeds, lower: lower ?? null, upper: upper ?? null, auto: values.auto, largest: values.largest, fillHoles: fill, closeMm: closeMm ?? null, autoPipeline },
      backend: { backend: result.backend, adapter: result.adapter },
      timings: clock.timings,
    });
    await outputs.write([...files, [manifestPathFor(output), manifest]]);
    if (values.json) printJson(io, summary);
    else {
      const how = auto ? `local thresholds [${auto.thresholds.map((x) => x.toFixed(1)).join(', ')}] (${auto.rounds} rounds)` : `range [${summary.range.join(', ')}]`;
      io.stdout(`${output}: ${voxels} voxels (${summary.volumeMm3.toFixed(1)} mm^3), ${how}, ${result.backend}\n`);
    }
    return EXIT.ok;
  },
};
