import { readFile, writeFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { createManifest } from '@physiotwin/core';
import { readVolumeFile } from '@physiotwin/io/node';
import { encodeSurface, surfaceFormatFromPath } from '@physiotwin/io';
import { decimate as decimateMesh, marchingCubes, meshQuality, smoothTaubin } from '@physiotwin/mesh';
import type { MeshQuality } from '@physiotwin/mesh';
import type { Command } from '../command.js';
import { EXIT, printJson, UsageError } from '../command.js';
import { VERSION } from '../version.js';
import { checkWritable } from './hemo-run.js';
import { writeManifestBeside } from './segment.js';

const BACKENDS = ['auto', 'cpu', 'webgpu'] as const;

/** The `--report` JSON: the contract keys first (vertices .. volume), then the rest of the quality report. */
export function reportJson(q: MeshQuality): Record<string, unknown> {
  const { vertices, triangles, closed, manifold, oriented, euler, genus, components, area, volume, ...rest } = q;
  return { vertices, triangles, closed, manifold, oriented, euler, genus, components, area, volume, ...rest };
}

export const mesh: Command = {
  name: 'mesh',
  summary: 'surface mesh of a volume (isosurface) or labelmap (one label) in world millimetres, with a quality report',
  usage: [
    '<volume|labels> -o <surface.vtp|.stl|.obj|.ply> [--iso V | --label N] [--smooth N] [--decimate ratio]',
    '        [--backend auto|cpu|webgpu] [--report] [--force]',
    '  --iso V          isosurface at physical value V (values >= V inside)',
    '  --label N        boundary of the voxels equal to N (default: --label 1 when neither is given)',
    '  --smooth N       N iterations of Taubin smoothing (volume-preserving low-pass)',
    '  --decimate r     keep a fraction r in (0, 1] of the triangles (quadric edge collapse; stays closed, manifold,',
    '                   same genus)',
    '  --report         print the quality report as JSON (vertices, triangles, closed, manifold, oriented,',
    '                   euler, genus, components, area, volume, ...)',
    '  The surface is capped where the object leaves the volume, so it is closed. Positions are LPS mm.',
    '  <output>.manifest.json records the run. Existing files are kept unless --force.',
  ].join('\n'),
  async run(args, io) {
    const { values, positionals } = parseArgs({
      args,
      options: {
        out: { type: 'string', short: 'o' },
        iso: { type: 'string' },
        label: { type: 'string' },
        smooth: { type: 'string' },
        decimate: { type: 'string' },
        backend: { type: 'string', default: 'auto' },
        report: { type: 'boolean', default: false },
        force: { type: 'boolean', default: false },
      },
      allowPositionals: true,
      strict: true,
    });
    if (positionals.length !== 1) throw new UsageError('give exactly one input volume or labelmap');
    if (!values.out) throw new UsageError('-o <surface.vtp|.stl|.obj|.ply> is required');
    if (values.iso !== undefined && values.label !== undefined) throw new UsageError('--iso and --label exclude each other');
    if (!(BACKENDS as readonly string[]).includes(values.backend)) throw new UsageError(`--backend must be one of ${BACKENDS.join(', ')}`);
    const num = (text: string | undefined, flag: string) => {
      if (text === undefined) return undefined;
      const v = Number(text);
      if (text.trim() === '' || !Number.isFinite(v)) throw new UsageError(`${flag} takes a number, got '${text}'`);
      return v;
    };
    const iso = num(values.iso, '--iso');
    const label = iso === undefined ? (num(values.label, '--label') ?? 1) : undefined;
    const smooth = num(values.smooth, '--smooth');
    if (smooth !== undefined && !(Number.isInteger(smooth) && smooth >= 0)) throw new UsageError(`--smooth takes an integer >= 0, got ${smooth}`);
    const decimate = num(values.decimate, '--decimate');
    if (decimate !== undefined && !(decimate > 0 && decimate <= 1)) throw new UsageError(`--decimate takes a ratio in (0, 1], got ${decimate}`);
    const format = surfaceFormatFromPath(values.out);
    const input = resolve(io.cwd, positionals[0]!);
    const output = resolve(io.cwd, values.out);
    checkWritable(output, values.force);
    checkWritable(`${output}.manifest.json`, values.force);
    const timings: Record<string, number> = {};
    let t = performance.now();
    const lap = (stage: string) => {
      const now = performance.now();
      timings[stage] = Math.round(now - t);
      t = now;
    };
    const volume = await readVolumeFile(input);
    lap('read');
    const result = await marchingCubes(volume, { iso, label, capBoundary: true }, { backend: values.backend as (typeof BACKENDS)[number] });
    lap('marchingCubes');
    let surface = result.mesh;
    if (smooth) {
      surface = smoothTaubin(surface, { iterations: smooth });
      lap('smooth');
    }
    if (decimate !== undefined && decimate < 1) {
      surface = decimateMesh(surface, { ratio: decimate });
      lap('decimate');
    }
    await writeFile(output, encodeSurface(surface, format));
    lap('write');
    const manifest = await createManifest({
      tool: 'physiotwin mesh',
      inputs: [{ name: input, data: new Uint8Array(await readFile(input)) }],
      parameters: { iso: iso ?? null, label: label ?? null, smooth: smooth ?? 0, decimate: decimate ?? 1, format },
      packages: { '@physiotwin/cli': VERSION },
      backend: { backend: result.backend, adapter: result.adapter },
      timings,
    });
    await writeManifestBeside(output, manifest, values.force);
    if (values.report) printJson(io, reportJson(meshQuality(surface)));
    else io.stdout(`${output}: ${surface.positions.length / 3} vertices, ${surface.triangles.length / 3} triangles (${result.backend})\n`);
    return EXIT.ok;
  },
};
