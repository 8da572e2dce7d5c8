// The inlet's pressure and flow over the simulated cycle, as two small SVG plots (no chart library).
import type { RunOutput } from './engine.js';

const SVG = 'http://www.w3.org/2000/svg';

function plot(title: string, unit: string, t: number[], y: number[], color: string): SVGSVGElement {
  const w = 360, h = 150, m = { l: 48, r: 8, t: 20, b: 26 };
  const svg = document.createElementNS(SVG, 'svg');
  svg.setAttribute('viewBox', `0 0 ${w} ${h}`);
  svg.setAttribute('width', String(w));
  svg.setAttribute('height', String(h));
  const t0 = Math.min(...t), t1 = Math.max(...t), y0 = Math.min(...y), y1 = Math.max(...y);
  const sx = (x: number) => m.l + ((x - t0) / (t1 - t0 || 1)) * (w - m.l - m.r);
  const sy = (v: number) => h - m.b - ((v - y0) / (y1 - y0 || 1)) * (h - m.t - m.b);
  const el = (name: string, attrs: Record<string, string>, text?: string) => {
    const e = document.createElementNS(SVG, name);
    for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, v);
    if (text !== undefined) e.textContent = text;
    svg.appendChild(e);
  };
  el('text', { x: String(m.l), y: '14', 'font-size': '12' }, `${title} (${unit})`);
  el('line', { x1: String(m.l), y1: String(h - m.b), x2: String(w - m.r), y2: String(h - m.b), stroke: '#888' });
  el('line', { x1: String(m.l), y1: String(m.t), x2: String(m.l), y2: String(h - m.b), stroke: '#888' });
  el('text', { x: '2', y: String(m.t + 8), 'font-size': '10' }, y1.toFixed(1));
  el('text', { x: '2', y: String(h - m.b), 'font-size': '10' }, y0.toFixed(1));
  el('text', { x: String(w - m.r - 40), y: String(h - 6), 'font-size': '10' }, `${(t1 - t0).toFixed(2)} s`);
  el('polyline', { points: t.map((x, i) => `${sx(x).toFixed(1)},${sy(y[i]!).toFixed(1)}`).join(' '), fill: 'none', stroke: color, 'stroke-width': '1.5' });
  return svg;
}

/** Draws the inlet pressure (mmHg) and flow (mL/s) of the last cycle into `host`. */
export function drawWaveforms(host: HTMLElement, w: RunOutput['inletWaveform']): void {
  if (w.time.length < 2) {
    host.textContent = 'no inlet waveform in the results';
    return;
  }
  host.replaceChildren(plot('inlet pressure', 'mmHg', w.time, w.pressureMmHg, '#c0392b'), plot('inlet flow', 'mL/s', w.time, w.flowMlPerS, '#2471a3'));
}
