import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { readVolumeFile } from '@physiotwin/io/node';
import { encodeSurface, surfaceFormatFromPath } from '@physiotwin/io';
import { meshQuality, surfaceFromVolume } from '@physiotwin/mesh';
import type { MeshQuality } from '@physiotwin/mesh';
import type { Command } from '../command.js';
import { backendFlag, EXIT, FLAGS, manifestJson, manifestPathFor, numberFlag, prepareOutputs, printJson, requiredOut, stopwatch, UsageError } from '../command.js';

const INSIDE = ['above', 'below'] as const;

/** The `--report` JSON: the contract keys first (vertices .. volume), then the rest of the quality report. */
export function reportJson(q: MeshQuality): Record<string, unknown> {
  const { vertices, triangles, closed, manifold, oriented, euler, genus, components, area, volume, ...rest } = q;
  return { vertices, triangles, closed, manifold, oriented, euler, genus, components, area, volume, ...rest };
}

export const mesh: Command = {
  name: 'mesh',
  summary: 'surface mesh of a volume (isosurface) or labelmap (one label) in world millimetres, with a quality report',
  usage: [
    '<volume|labels> -o <surface.vtp|.stl|.obj|.ply> [--iso V [--inside above|below] | --label N] [--smooth N]',
    '        [--decimate ratio] [--backend auto|cpu|webgpu] [--report] [--force]',
    '  --iso V          isosurface at physical value V',
    '  --inside         which side of V is inside: above (default: values >= V, a bright lumen) or below (values',
    '                   <= V: a level set or signed distance map, negative inside, as VMTK and ITK write them)',
    '  --label N        boundary of the voxels equal to N (default: --label 1 when neither is given)',
    '  --smooth N       N iterations of Taubin smoothing (volume-preserving low-pass)',
    '  --decimate r     keep a fraction r in (0, 1] of the triangles (quadric edge collapse; stays closed, manifold,',
    '                   same genus)',
    '  --report         print the quality report as JSON (vertices, triangles, closed, manifold, oriented,',
    '                   euler, genus, components, area, volume, ...)',
    '  The surface is capped where the object leaves the volume, so it is closed; normals point outward.',
    '  Positions are LPS mm. <output>.manifest.json records the run. The folder of -o must exist; existing',
    '  files are kept unless --force.',
  ].join('\n'),
  async run(args, io) {
    const { values, positionals } = parseArgs({
      args,
      options: {
        out: FLAGS.out,
        iso: { type: 'string' },
        inside: { type: 'string' },
        label: { type: 'string' },
        smooth: { type: 'string' },
        decimate: { type: 'string' },
        backend: FLAGS.backend,
        report: FLAGS.report,
        force: FLAGS.force,
      },
      allowPositionals: true,
      strict: true,
    });
    if (positionals.length !== 1) throw new UsageError('give exactly one input volume or labelmap');
    const out = requiredOut(values.out, '<surface.vtp|.stl|.obj|.ply>');
    if (values.iso !== undefined && values.label !== undefined) throw new UsageError('--iso and --label exclude each other');
    const backend = backendFlag(values.backend);
    if (values.inside !== undefined && !(INSIDE as readonly string[]).includes(values.inside)) throw new UsageError(`--inside must be one of ${INSIDE.join(', ')}`);
    const iso = numberFlag(values.iso, '--iso');
    if (values.inside !== undefined && iso === undefined) throw new UsageError('--inside goes with --iso');
    const inside = values.inside as (typeof INSIDE)[number] | undefined;
    const label = iso === undefined ? (numberFlag(values.label, '--label') ?? 1) : undefined;
    const smooth = numberFlag(values.smooth, '--smooth');
    if (smooth !== undefined && !(Number.isInteger(smooth) && smooth >= 0)) throw new UsageError(`--smooth takes an integer >= 0, got ${smooth}`);
    const decimate = numberFlag(values.decimate, '--decimate');
    if (decimate !== undefined && !(decimate > 0 && decimate <= 1)) throw new UsageError(`--decimate takes a ratio in (0, 1], got ${decimate}`);
    const format = surfaceFormatFromPath(out);
    const input = resolve(io.cwd, positionals[0]!);
    const output = resolve(io.cwd, out);
    const outputs = await prepareOutputs([output, manifestPathFor(output)], values.force);
    const clock = stopwatch();
    const volume = await readVolumeFile(input);
    clock.lap('read');
    const result = await surfaceFromVolume(volume, { iso, inside, label, capBoundary: true, smooth, decimate }, { backend });
    clock.add(result.timings);
    const surface = result.mesh;
    const manifest = await manifestJson({
      tool: 'physiotwin mesh',
      inputs: [input],
      parameters: { iso: iso ?? null, inside: iso === undefined ? null : (inside ?? 'above'), label: label ?? null, smooth: smooth ?? 0, decimate: decimate ?? 1, format },
      backend: { backend: result.backend, adapter: result.adapter },
      timings: clock.timings,
    });
    await outputs.write([[output, encodeSurface(surface, format)], [manifestPathFor(output), manifest]]);
    if (values.report) printJson(io, reportJson(meshQuality(surface)));
    else io.stdout(`${output}: ${surface.positions.length / 3} vertices, ${surface.triangles.length / 3} triangles (${result.backend})\n`);
    return EXIT.ok;
  },
};
