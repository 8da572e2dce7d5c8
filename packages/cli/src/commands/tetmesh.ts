import { extname, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import type { TetMesh } from '@physiotwin/core';
import { writeMsh, writeVtu } from '@physiotwin/io';
import type { PhysicalName } from '@physiotwin/io';
import { readVolumeFile } from '@physiotwin/io/node';
import type { TetMeshResult, WallEnd } from '@physiotwin/mesh';
import { tetMeshLabels, toQuadraticTets, vesselWall } from '@physiotwin/mesh';
import type { Command } from '../command.js';
import { EXIT, FLAGS, manifestJson, manifestPathFor, positiveFlag, prepareOutputs, printJson, progressPrinter, requiredOut, stopwatch, UsageError } from '../command.js';

/** Physical names for a .msh: regions (dimension 3) and the boundary labels' names (dimension 2). */
function physicalNames(mesh: TetMesh, wall: boolean): PhysicalName[] {
  const regions = [...new Set(mesh.regions ?? [])].sort((a, b) => a - b);
  const names: PhysicalName[] = regions.map((tag) => ({ dim: 3, tag, name: wall ? 'wall' : `label ${tag}` }));
  for (const [tag, name] of Object.entries(mesh.boundaryLabelNames ?? {})) names.push({ dim: 2, tag: Number(tag), name });
  return names;
}

export const tetmesh: Command = {
  name: 'tetmesh',
  summary: 'tetrahedral mesh of a labelmap (smooth boundaries, labels conforming) or of a vessel wall around a lumen',
  usage: [
    '<labels> -o <mesh.vtu|.msh> [--label N ...] [--wall-mm T] [--element T4|T10] [--max-edge-mm h] [--smooth-mm s]',
    '        [--report] [--force]',
    '  Isosurface stuffing of a body-centred cubic lattice: boundary nodes lie on the smoothed label surfaces.',
    '  --label N        labels to mesh (repeat); region id = label; default every non-zero label. Boundary faces',
    '                   carry tag 65536 max(a, b) + min(a, b) for the labels a, b they separate (0 = outside).',
    '                   With --wall-mm: the labels that make the lumen (default every non-zero voxel).',
    '  --wall-mm T      a vessel wall of thickness T mm grown outward from the lumen: face tags 1 lumen, 2 outer,',
    '                   3, 4, ... one per cut end where the vessel leaves the image (image face i-, i+, j-, j+, k-, k+,',
    '                   then by position); region 1',
    '  --element E      T4 (linear, default) or T10 (a node mid-edge; on the boundary moved onto the smooth surface,',
    '                   within the cut plane at the image edge)',
    '  --max-edge-mm h  lattice spacing (longest lattice edge), mm; default the largest voxel spacing (with',
    '                   --wall-mm: at most T / 2)',
    '  --smooth-mm s    smoothing of the label surfaces, mm; default the largest voxel spacing',
    '  --report         print the quality report as JSON (tets, nodes, volume mm^3, min/max dihedral degrees,',
    '                   radius ratios, inverted, tags with names and face counts, and the wall\'s ends)',
    '  Structures that reach the image edge are cut flat at the outermost voxel centres. Positions are LPS mm.',
    '  .vtu: VTK XML, zlib-compressed base64; boundary faces follow the tets as triangles, cell array `region`.',
    '  .msh: Gmsh 4.1 ASCII with physical names. <output>.manifest.json records the run; existing files are kept',
    '  unless --force.',
  ].join('\n'),
  async run(args, io) {
    const { values, positionals } = parseArgs({
      args,
      options: {
        out: FLAGS.out,
        label: { type: 'string', multiple: true, default: [] },
        'wall-mm': { type: 'string' },
        element: { type: 'string', default: 'T4' },
        'max-edge-mm': { type: 'string' },
        'smooth-mm': { type: 'string' },
        report: FLAGS.report,
        force: FLAGS.force,
      },
      allowPositionals: true,
      strict: true,
    });
    if (positionals.length !== 1) throw new UsageError('give exactly one labelmap');
    const out = requiredOut(values.out, '<mesh.vtu|.msh>');
    const format = extname(out).toLowerCase();
    if (format !== '.vtu' && format !== '.msh') throw new UsageError(`-o must end in .vtu or .msh, got '${out}'`);
    if (values.element !== 'T4' && values.element !== 'T10') throw new UsageError(`--element must be T4 or T10, got '${values.element}'`);
    const labels = values.label.map((text) => {
      const v = Number(text);
      if (text.trim() === '' || !Number.isInteger(v) || v <= 0) throw new UsageError(`--label takes a positive integer, got '${text}'`);
      return v;
    });
    const wallMm = positiveFlag(values['wall-mm'], '--wall-mm');
    const maxEdgeMm = positiveFlag(values['max-edge-mm'], '--max-edge-mm');
    const smoothMm = positiveFlag(values['smooth-mm'], '--smooth-mm');
    const input = resolve(io.cwd, positionals[0]!);
    const output = resolve(io.cwd, out);
    const manifestPath = manifestPathFor(output);
    const outputs = await prepareOutputs([output, manifestPath], values.force);
    const clock = stopwatch();
    const lap = clock.lap;
    const volume = await readVolumeFile(input);
    lap('read');
    const options = { onProgress: values.report ? undefined : progressPrinter(io) };
    const spec = { labels: labels.length ? labels : undefined, maxEdgeMm, smoothMm };
    let result: TetMeshResult;
    let ends: WallEnd[] | undefined;
    if (wallMm !== undefined) {
      const wall = vesselWall(volume, { ...spec, thicknessMm: wallMm }, options);
      ends = wall.ends;
      result = wall;
    } else {
      result = tetMeshLabels(volume, spec, options);
    }
    lap('tetmesh');
    const { quality } = result;
    let mesh = result.mesh;
    if (values.element === 'T10') {
      mesh = { ...toQuadraticTets(mesh, { snap: result.snapEdge }), boundaryLabelNames: mesh.boundaryLabelNames };
      lap('T10');
    }
    const bytes = format === '.vtu' ? writeVtu(mesh) : writeMsh(mesh, { physicalNames: physicalNames(mesh, wallMm !== undefined) });
    lap('encode');
    const faceCounts: Record<number, number> = {};
    for (const tag of mesh.boundaryLabels ?? []) faceCounts[tag] = (faceCounts[tag] ?? 0) + 1;
    const tags = Object.entries(mesh.boundaryLabelNames ?? {}).map(([tag, name]) => ({ tag: Number(tag), name, faces: faceCounts[Number(tag)] ?? 0 }));
    const manifest = await manifestJson({
      tool: 'physiotwin tetmesh',
      inputs: [input],
      parameters: { labels, wallMm: wallMm ?? null, element: values.element, maxEdgeMm: maxEdgeMm ?? null, smoothMm: smoothMm ?? null, format: format.slice(1), tags },
      backend: { backend: 'cpu' },
      timings: clock.timings,
    });
    await outputs.write([[output, bytes], [manifestPath, manifest]]);
    const { dihedralHistogram, ...summary } = quality;
    // The quality report is the corner (T4) mesh's; a T10 mesh adds its mid-edge nodes.
    const nodes = mesh.positions.length / 3;
    if (values.report) printJson(io, { ...summary, element: values.element, nodes, dihedralHistogram, tags, ...(ends ? { ends } : {}) });
    else io.stdout(`${output}: ${quality.tets} ${values.element} tets, ${nodes} nodes, ${quality.volume.toFixed(1)} mm^3, dihedral ${quality.minDihedralDeg.toFixed(1)}..${quality.maxDihedralDeg.toFixed(1)} deg\n`);
    return EXIT.ok;
  },
};
