// report.html: one self-contained page (inline SVG and CSS, no script, no external resource) that opens from the
// file system and shows what the pipeline made and how far each number can be trusted.
import type { ResultTable } from '@physiotwin/hemo';
import { resultToSvg } from '@physiotwin/hemo';
import { decimate } from '@physiotwin/mesh';
import type { PipelineResult } from './pipeline.js';
import type { View } from './render.js';
import { meshToSvg, threeViews } from './render.js';

/** What each solver was checked against (docs/validation.md holds the figures and the tests that assert them). */
const VALIDATION: readonly [string, string][] = [
  ['segmentation (segmentVessel)', 'the VMTK aorta CT: the three VMTK seeds in one lumen, labels in every slice, aorta 15-25 mm and iliacs 8-12 mm equivalent diameter; CPU and WebGPU labelmaps identical'],
  ['surface (marching cubes + Taubin)', 'all 256 cube cases closed and manifold; sampled sphere volume error of order 2; CPU and WebGPU positions within 1e-5 relative'],
  ['centerlines (extractCenterlines)', "VMTK's own centerline of this scan: median radii within 10% (7.2 mm aorta, 4.2-4.4 mm iliacs); analytic tubes and helices"],
  ['0D solver (simulate)', '32 svZeroDSolver cases against its reference outputs; RCR step response against the analytic solution (order 2.00 in dt)'],
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

/** Optional sections a later stage contributes (the wall stress pictures), as HTML. */
export interface ReportExtras {
  sections?: readonly string[] | undefined;
  validation?: readonly (readonly [string, string])[] | undefined;
}

/**
 * The pipeline's report as one HTML document: inputs and their geometry report, warnings, pressure and flow
 * waveforms at the inlet and each outlet, a table of mean, systolic and diastolic pressure and mean flow per
 * outlet, the lumen surface with its centerlines from three views, each stage's time and backend, and what each
 * solver was validated against. Self-contained: inline SVG and CSS, no script, nothing fetched.
 * @param views the picture directions. @default {@link threeViews} of the lumen surface
 * The lumen pictures show the surface decimated to 6000 triangles.
 * @throws PhysiotwinError `IO_INVALID` from `resultToSvg` for a result table without pressure or flow columns.
 */
export function reportHtml(r: PipelineResult, extras: ReportExtras = {}, views: readonly View[] = threeViews(r.surface.positions)): string {
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
  const validation = [...VALIDATION, ...(extras.validation ?? [])];
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
${(extras.sections ?? []).join('\n')}
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
${table(['solver', 'checked against (docs/validation.md)'], validation.map(([a, b]) => [a, b]))}
</body></html>
`;
}
