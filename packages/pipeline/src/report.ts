// report.html: one self-contained page (inline SVG and CSS, no script, no external resource) that opens from the
// file system and shows what the pipeline made and how far each number can be trusted.
import type { ResultTable } from '@physiotwin/hemo';
import { resultToSvg } from '@physiotwin/hemo';
import { decimate, WALL_TAG_OUTER } from '@physiotwin/mesh';
import type { PipelineResult } from './pipeline.js';
import type { View } from './render.js';
import { meshToSvg, threeViews } from './render.js';
import { WALL_POISSON, WALL_YOUNGS_MODULUS_MPA } from './wall.js';

/** What each solver was checked against (docs/validation.md holds the figures and the tests that assert them). */
const VALIDATION: readonly [string, string][] = [
  ['segmentation (segmentVessel)', 'the VMTK aorta CT: the three VMTK seeds in one lumen, labels in every slice, aorta 15-25 mm and iliacs 8-12 mm equivalent diameter; CPU and WebGPU labelmaps identical'],
  ['surface (marching cubes + Taubin)', 'all 256 cube cases closed and manifold; sampled sphere volume error of order 2; CPU and WebGPU positions within 1e-5 relative'],
  ['centerlines (extractCenterlines)', "VMTK's own centerline of this scan: median radii within 10% (7.2 mm aorta, 4.2-4.4 mm iliacs); analytic tubes and helices"],
  ['0D solver (simulate)', '32 svZeroDSolver cases against its reference outputs; RCR step response against the analytic solution (order 2.00 in dt)'],
  ['wall mesh (vesselWall)', 'isosurface stuffing: no inverted tet, dihedral angle bounds, the wall volume against the lumen surface area times the thickness'],
  ['FE solver (solve)', "MacNeal-Harder patch test (exact stresses); Lame's thick cylinder and sphere and a Timoshenko cantilever (analytic displacements, convergence with h); WebGPU f32 CG with f64 refinement against the CPU"],
];

/** Triangles per picture of a surface. */
const PICTURE_TRIANGLES = 6000;

function esc(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}

function n(v: number, digits = 1): string {
  return Number.isFinite(v) ? v.toFixed(digits) : 'n/a';
}

/** The rows of `table` whose vessel is one of `names`: the inlet and outlet vessels of a large model. */
function subTable(table: ResultTable, names: ReadonlySet<string>): ResultTable {
  const keep: number[] = [];
  table.name.forEach((name, i) => names.has(name) && keep.push(i));
  const values: Record<string, Float64Array> = {};
  for (const [k, col] of Object.entries(table.values)) values[k] = Float64Array.from(keep, (i) => col[i]!);
  return { columns: table.columns, name: keep.map((i) => table.name[i]!), time: Float64Array.from(keep, (i) => table.time[i]!), values };
}

/** The SVG document's markup for inlining in HTML (the XML prolog, if any, dropped). */
function inline(svg: string): string {
  return svg.replace(/^<\?xml[^>]*>\s*/, '');
}

function table(head: readonly string[], rows: readonly (readonly string[])[]): string {
  return `<table><thead><tr>${head.map((h) => `<th>${esc(h)}</th>`).join('')}</tr></thead><tbody>${rows.map((r) => `<tr>${r.map((c) => `<td>${esc(c)}</td>`).join('')}</tr>`).join('')}</tbody></table>`;
}

/** Centerline branches as polylines (xyz per point). */
function branchLines(r: PipelineResult): Float64Array[] {
  const c = r.centerlines;
  return c.branches.map((b) => c.points.subarray(3 * b.start, 3 * (b.start + b.count)));
}

/** The histogram of the tets' von Mises stress (kPa) as an SVG bar chart with axes. */
function histogramSvg(values: Float64Array, bins = 30): string {
  const kpa = Float64Array.from(values, (v) => v * 1000);
  let hi = 0;
  for (const v of kpa) hi = Math.max(hi, v);
  const counts = new Array<number>(bins).fill(0);
  for (const v of kpa) counts[Math.min(bins - 1, Math.floor((v / (hi || 1)) * bins))]!++;
  const top = Math.max(...counts);
  const W = 520, H = 240, L = 60, R = 10, T = 10, B = 40;
  const out = [`<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" font-family="sans-serif" font-size="10">`, '<rect width="100%" height="100%" fill="white"/>'];
  const bw = (W - L - R) / bins;
  counts.forEach((c, i) => out.push(`<rect x="${(L + i * bw).toFixed(1)}" y="${(H - B - ((H - B - T) * c) / top).toFixed(1)}" width="${(bw - 1).toFixed(1)}" height="${(((H - B - T) * c) / top).toFixed(1)}" fill="#3b528b"/>`));
  out.push(`<rect x="${L}" y="${T}" width="${W - L - R}" height="${H - B - T}" fill="none" stroke="#333"/>`);
  for (let k = 0; k <= 5; k++) {
    const x = L + ((W - L - R) * k) / 5;
    out.push(`<text x="${x.toFixed(1)}" y="${H - B + 14}" text-anchor="middle" fill="#333">${Number(((hi * k) / 5).toPrecision(3))}</text>`);
  }
  out.push(`<text x="${L}" y="${T + 8}" dx="-4" text-anchor="end" fill="#333">${top}</text><text x="${L}" y="${H - B}" dx="-4" text-anchor="end" fill="#333">0</text>`);
  out.push(`<text x="${(L + W - R) / 2}" y="${H - 6}" text-anchor="middle" fill="#333">von Mises stress per tet (kPa)</text>`);
  out.push(`<text transform="translate(14 ${(T + H - B) / 2}) rotate(-90)" text-anchor="middle" fill="#333">tets</text></svg>`);
  return out.join('\n');
}

/** The wall section: von Mises stress on the outer surface from three views, the histogram and the peak. */
function wallSection(r: PipelineResult, views: readonly View[]): string {
  const { mesh, fe } = r.wall;
  const faces: number[] = [];
  const labels = mesh.boundaryLabels!, bf = mesh.boundaryFaces!;
  for (let f = 0; f < labels.length; f++) if (labels[f] === WALL_TAG_OUTER) faces.push(bf[3 * f]!, bf[3 * f + 1]!, bf[3 * f + 2]!);
  const kpa = Float64Array.from(fe.nodalVonMises, (v) => v * 1000);
  let hi = 0;
  for (const v of kpa) hi = Math.max(hi, v);
  const pictures = views.map((v) => inline(meshToSvg({ positions: mesh.positions, triangles: faces, values: kpa, range: [0, hi], label: 'von Mises (kPa)', cull: true }, v))).join('\n');
  const w = r.wall;
  return `<h2>Wall stress at peak systole</h2>
<p class="big">Peak wall von Mises stress ${n(w.peakVonMisesMpa, 3)} MPa (99th percentile over the tets ${n(w.p99VonMisesMpa, 3)} MPa) under the peak systolic inlet pressure ${n(w.pressureMmHg)} mmHg (${w.pressureMpa.toExponential(3)} MPa), wall ${n(r.targets.wallMm, 2)} mm; largest displacement ${n(maxDisplacement(fe.displacement), 3)} mm.</p>
<p>Linear elasticity (E ${WALL_YOUNGS_MODULUS_MPA} MPa, Poisson ${WALL_POISSON}), ${mesh.tets.length / mesh.nodesPerTet} linear tets, ${fe.dofs} unknowns, the ${w.ends.length} ends where the vessel leaves the image held fixed; CG ${fe.convergence.iterations} iterations (${fe.convergence.preconditioner}), ${fe.backend}, ${fe.precision}. Nodal stresses on the outer surface:</p>
<div class="figs">${pictures}</div>
${histogramSvg(fe.vonMises)}`;
}

function maxDisplacement(u: Float64Array): number {
  let m = 0;
  for (let i = 0; i + 2 < u.length; i += 3) m = Math.max(m, Math.hypot(u[i]!, u[i + 1]!, u[i + 2]!));
  return m;
}

/**
 * The pipeline's report as one HTML document: inputs and their geometry report, warnings, pressure and flow
 * waveforms at the inlet and each outlet, a table of mean, systolic and diastolic pressure and mean flow per
 * outlet, the lumen surface with its centerlines and the wall coloured by von Mises stress from three views, a
 * stress histogram and the peak wall stress, each stage's time and backend, and what each
 * solver was validated against. Self-contained: inline SVG and CSS, no script, nothing fetched.
 * @param views the picture directions. @default {@link threeViews} of the lumen surface
 * The lumen pictures show the surface decimated to 6000 triangles.
 * @throws PhysiotwinError `IO_INVALID` from `resultToSvg` for a result table without pressure or flow columns.
 */
export function reportHtml(r: PipelineResult, views: readonly View[] = threeViews(r.surface.positions)): string {
  const { hemo, targets, input } = r;
  const ends = new Set([hemo.inlet.vessel, ...hemo.outlets.map((o) => o.vessel)]);
  const waves = inline(resultToSvg(subTable(r.results, ends)));
  const lines = branchLines(r);
  // Pictures of at most PICTURE_TRIANGLES triangles keep the page small (a few hundred kB per view).
  const triangles = r.surface.triangles.length / 3;
  const shown = triangles > PICTURE_TRIANGLES ? decimate(r.surface, { ratio: PICTURE_TRIANGLES / triangles }) : r.surface;
  const lumen = views.map((v) => inline(meshToSvg({ positions: shown.positions, triangles: shown.triangles, lines, cull: true }, v))).join('\n');
  const vol = input.volume;
  const geometry = input.geometry;
  const geometryRows: string[][] = [
    ['source', input.name ?? 'volume'],
    ['dims (voxels)', vol.dims.join(' x ')],
    ['spacing (mm)', vol.spacing.map((s) => s.toPrecision(6)).join(' x ')],
    ['origin (LPS mm)', vol.origin.map((s) => s.toPrecision(6)).join(', ')],
  ];
  if (geometry) {
    geometryRows.push(['slices', String(geometry.sliceCount)], ['gantry tilt (deg)', n(geometry.gantryTiltDeg, 2)], ['irregular spacing', String(geometry.irregularSpacing)], ['missing slices', String(geometry.missingSlices)]);
    if (geometry.irregularSpacing || geometry.missingSlices) geometryRows.push(['slice gaps (mm)', geometry.gaps.join(', ')]);
  } else geometryRows.push(['DICOM geometry report', 'none: the input was a volume file']);
  const stageRows = r.stages.map((s) => [s.stage, s.reused ? 'reused (--resume)' : `${n(s.ms / 1000, 2)} s`, s.backend + (s.adapter ? ` (${s.adapter.description || s.adapter.vendor})` : '')]);
  const outletRows = hemo.outlets.map((o) => [o.boundary, o.vessel, n(o.meanPressureMmHg), n(o.systolicMmHg), n(o.diastolicMmHg), n(o.meanFlowMlPerS, 2)]);
  const warnings = r.warnings.length ? `<ul>${r.warnings.map((w) => `<li>${esc(w)}</li>`).join('')}</ul>` : '<p>none</p>';
  return `<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'; img-src data:">
<title>physiotwin report: ${esc(input.name ?? 'volume')}</title>
<style>
body{font-family:system-ui,sans-serif;margin:1.5em auto;max-width:1100px;color:#222;padding:0 1em}
h1{font-size:1.5em}h2{font-size:1.2em;border-bottom:1px solid #ccc;margin-top:1.6em}
table{border-collapse:collapse;margin:.5em 0}td,th{border:1px solid #ccc;padding:.2em .6em;text-align:left}
th{background:#f3f3f3}.figs{display:flex;flex-wrap:wrap;gap:8px}.big{font-size:1.1em;font-weight:600}
.scroll{overflow-x:auto}
</style></head>
<body>
<h1>physiotwin: patient-specific aortic model</h1>
<p>Targets: mean arterial pressure ${n(targets.mapPressureMmHg)} mmHg, cardiac output ${n(targets.cardiacOutputLPerMin, 2)} L/min, wall thickness ${n(targets.wallMm, 2)} mm.
Seeds (voxel i,j,k): ${esc(input.seeds.map((s) => s.join(',')).join('; '))}.</p>
<p class="big">Model: mean inlet pressure ${n(hemo.inlet.meanPressureMmHg)} mmHg (${n(hemo.inlet.systolicMmHg)}/${n(hemo.inlet.diastolicMmHg)} mmHg), cardiac output ${n(hemo.cardiacOutputLPerMin, 3)} L/min,
worst junction flow imbalance ${hemo.junctionImbalance.toExponential(1)} of the mean inflow; lumen ${n(r.lumenVolumeMm3 / 1000, 1)} mL, ${r.centerlines.branches.length} centerline branches, ${hemo.outlets.length} outlets.</p>
<h2>Input</h2>
${table(['', ''], geometryRows)}
<h2>Warnings</h2>
${warnings}
<h2>Lumen surface and centerlines</h2>
<div class="figs">${lumen}</div>
${wallSection(r, views)}
<h2>Pressure and flow at the inlet and each outlet</h2>
<div class="scroll">${waves}</div>
<h2>Outlets over the last cardiac cycle</h2>
${table(['outlet', 'vessel', 'mean pressure (mmHg)', 'systolic (mmHg)', 'diastolic (mmHg)', 'mean flow (mL/s)'], [
    [hemo.inlet.boundary, hemo.inlet.vessel, n(hemo.inlet.meanPressureMmHg), n(hemo.inlet.systolicMmHg), n(hemo.inlet.diastolicMmHg), n(hemo.inlet.meanFlowMlPerS, 2)],
    ...outletRows,
  ])}
<h2>Stages</h2>
${table(['stage', 'time', 'backend'], stageRows)}
<h2>Validation status of each solver</h2>
${table(['solver', 'checked against (docs/validation.md)'], VALIDATION.map(([a, b]) => [a, b]))}
</body></html>
`;
}
