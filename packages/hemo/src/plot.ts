import { convertUnit, PhysiotwinError } from '@physiotwin/core';
import type { ResultTable } from './output.js';

/** Options of {@link resultToSvg}. */
export interface PlotOptions {
  /** Unit of pressures in the table (mathjs name). @default 'dyn/cm^2' (CGS, as svZeroDSolver) */
  pressureUnitIn?: string;
  /** Unit pressures are drawn in. @default 'mmHg' */
  pressureUnit?: string;
  /** Unit of flows in the table. @default 'mL/s' */
  flowUnitIn?: string;
  /** Unit flows are drawn in. @default 'mL/s' */
  flowUnit?: string;
}

interface Panel {
  title: string;
  unit: string;
  series: Array<{ label: string; t: Float64Array; v: Float64Array }>;
}

const COLORS = ['#1f77b4', '#d62728', '#2ca02c', '#ff7f0e', '#9467bd', '#8c564b', '#e377c2', '#17becf'];

function esc(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}

function niceTicks(lo: number, hi: number, n = 5): number[] {
  if (!(hi > lo)) {
    const d = Math.abs(lo) > 0 ? Math.abs(lo) * 0.1 : 1;
    lo -= d;
    hi += d;
  }
  const raw = (hi - lo) / n;
  const mag = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 5, 10].map((m) => m * mag).find((s) => s >= raw) ?? 10 * mag;
  const out: number[] = [];
  for (let v = Math.ceil(lo / step) * step; v <= hi + 1e-9 * step; v += step) out.push(Number(v.toPrecision(12)));
  return out;
}

/**
 * Pressure and flow waveforms per block as an SVG document: vessel-based results get a pressure and a flow
 * panel per vessel (inlet and outlet curves), variable-based ones a panel of all pressures and one of all
 * flows. Axes are labelled with time (s) and the chosen units.
 * @throws PhysiotwinError `IO_INVALID` when the table has no pressure or flow column
 */
export function resultToSvg(table: ResultTable, options: PlotOptions = {}): string {
  const pin = options.pressureUnitIn ?? 'dyn/cm^2';
  const pout = options.pressureUnit ?? 'mmHg';
  const fin = options.flowUnitIn ?? 'mL/s';
  const fout = options.flowUnit ?? 'mL/s';
  const pf = convertUnit(1, pin, pout);
  const ff = convertUnit(1, fin, fout);
  const groups = new Map<string, number[]>();
  table.name.forEach((n, i) => {
    const g = groups.get(n);
    if (g) g.push(i);
    else groups.set(n, [i]);
  });
  const pick = (rows: number[], col: string, f: number): { t: Float64Array; v: Float64Array } => ({
    t: Float64Array.from(rows, (i) => table.time[i]!),
    v: Float64Array.from(rows, (i) => table.values[col]![i]! * f),
  });
  const panels: Panel[] = [];
  if (table.values.pressure_in && table.values.flow_in) {
    for (const [name, rows] of groups) {
      panels.push({ title: `${name}: pressure`, unit: pout, series: [{ label: 'pressure_in', ...pick(rows, 'pressure_in', pf) }, { label: 'pressure_out', ...pick(rows, 'pressure_out', pf) }] });
      panels.push({ title: `${name}: flow`, unit: fout, series: [{ label: 'flow_in', ...pick(rows, 'flow_in', ff) }, { label: 'flow_out', ...pick(rows, 'flow_out', ff) }] });
    }
  } else if (table.values.y) {
    const pr: Panel = { title: 'pressures', unit: pout, series: [] };
    const fl: Panel = { title: 'flows', unit: fout, series: [] };
    for (const [name, rows] of groups) {
      if (name.startsWith('pressure')) pr.series.push({ label: name, ...pick(rows, 'y', pf) });
      else if (name.startsWith('flow')) fl.series.push({ label: name, ...pick(rows, 'y', ff) });
    }
    if (pr.series.length) panels.push(pr);
    if (fl.series.length) panels.push(fl);
  }
  if (panels.length === 0) throw new PhysiotwinError('IO_INVALID', 'the result has no pressure or flow columns to plot');
  const W = 560;
  const H = 260;
  const cols = 2;
  const rowsN = Math.ceil(panels.length / cols);
  const out: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${W * cols}" height="${H * rowsN}" viewBox="0 0 ${W * cols} ${H * rowsN}" font-family="sans-serif" font-size="11">`,
    `<rect width="100%" height="100%" fill="white"/>`,
  ];
  panels.forEach((panel, k) => {
    const ox = (k % cols) * W;
    const oy = Math.floor(k / cols) * H;
    const L = ox + 70;
    const R = ox + W - 20;
    const T = oy + 30;
    const B = oy + H - 45;
    let t0 = Infinity;
    let t1 = -Infinity;
    let v0 = Infinity;
    let v1 = -Infinity;
    for (const s of panel.series) {
      for (let i = 0; i < s.t.length; i++) {
        if (Number.isFinite(s.t[i]!)) {
          t0 = Math.min(t0, s.t[i]!);
          t1 = Math.max(t1, s.t[i]!);
        }
        v0 = Math.min(v0, s.v[i]!);
        v1 = Math.max(v1, s.v[i]!);
      }
    }
    if (!Number.isFinite(t0)) {
      t0 = 0;
      t1 = 1;
    }
    const yt = niceTicks(v0, v1);
    const xt = niceTicks(t0, t1);
    const ylo = Math.min(v0, yt[0]!);
    const yhi = Math.max(v1, yt[yt.length - 1]!);
    const xlo = t0;
    const xhi = t1 > t0 ? t1 : t0 + 1;
    const X = (t: number): number => L + ((t - xlo) / (xhi - xlo)) * (R - L);
    const Y = (v: number): number => B - ((v - ylo) / (yhi - ylo || 1)) * (B - T);
    out.push(`<text x="${(L + R) / 2}" y="${oy + 18}" text-anchor="middle" font-size="13">${esc(panel.title)}</text>`);
    out.push(`<rect x="${L}" y="${T}" width="${R - L}" height="${B - T}" fill="none" stroke="#333"/>`);
    for (const v of yt) {
      if (v < ylo || v > yhi) continue;
      out.push(`<line x1="${L - 4}" x2="${L}" y1="${Y(v).toFixed(1)}" y2="${Y(v).toFixed(1)}" stroke="#333"/><text x="${L - 6}" y="${(Y(v) + 4).toFixed(1)}" text-anchor="end">${v}</text>`);
    }
    for (const t of xt) {
      if (t < xlo || t > xhi) continue;
      out.push(`<line x1="${X(t).toFixed(1)}" x2="${X(t).toFixed(1)}" y1="${B}" y2="${B + 4}" stroke="#333"/><text x="${X(t).toFixed(1)}" y="${B + 16}" text-anchor="middle">${t}</text>`);
    }
    out.push(`<text x="${(L + R) / 2}" y="${B + 32}" text-anchor="middle">time (s)</text>`);
    out.push(`<text transform="translate(${ox + 16} ${(T + B) / 2}) rotate(-90)" text-anchor="middle">${esc(panel.title.endsWith('flow') || panel.title === 'flows' ? 'flow' : 'pressure')} (${esc(panel.unit)})</text>`);
    panel.series.forEach((s, j) => {
      const pts: string[] = [];
      for (let i = 0; i < s.t.length; i++) if (Number.isFinite(s.t[i]!)) pts.push(`${X(s.t[i]!).toFixed(2)},${Y(s.v[i]!).toFixed(2)}`);
      const color = COLORS[j % COLORS.length]!;
      out.push(`<polyline fill="none" stroke="${color}" stroke-width="1.5" points="${pts.join(' ')}"><title>${esc(s.label)}</title></polyline>`);
      if (j < 8) out.push(`<text x="${R - 4}" y="${T + 14 + 13 * j}" text-anchor="end" fill="${color}">${esc(s.label)}</text>`);
    });
  });
  out.push('</svg>');
  return out.join('\n') + '\n';
}
