// Pictures of meshes as SVG, made without a GPU or native code: orthographic projection along a view axis,
// Lambert shading, triangles drawn back to front (painter's algorithm), optional per-vertex colour scale with a
// colour bar, optional polylines drawn on top.

/** A view direction in the patient frame (LPS): the picture looks along `look`, with `up` pointing up. */
export interface View {
  name: string;
  /** Unit vector the viewer looks along. */
  look: readonly [number, number, number];
  /** Unit vector shown upwards, normal to `look`. */
  up: readonly [number, number, number];
}

const AXIS_NAMES = ['R to L (+x)', 'A to P (+y)', 'I to S (+z)'];

/**
 * Three views along the patient axes that suit an object of these points: first along the axis of its smallest
 * extent (the broadest picture), then along the middle one, both with the longest axis upwards, then end-on along
 * the longest axis.
 * @throws nothing.
 */
export function threeViews(positions: ArrayLike<number>): View[] {
  const lo = [Infinity, Infinity, Infinity], hi = [-Infinity, -Infinity, -Infinity];
  for (let i = 0; i + 2 < positions.length; i += 3) {
    for (let a = 0; a < 3; a++) (lo[a] = Math.min(lo[a]!, positions[i + a]!)), (hi[a] = Math.max(hi[a]!, positions[i + a]!));
  }
  const order = [0, 1, 2].sort((a, b) => hi[a]! - lo[a]! - (hi[b]! - lo[b]!));
  const unit = (a: number): [number, number, number] => [a === 0 ? 1 : 0, a === 1 ? 1 : 0, a === 2 ? 1 : 0];
  const [small, middle, long] = order as [number, number, number];
  return [
    { name: `looking ${AXIS_NAMES[small]}`, look: unit(small), up: unit(long) },
    { name: `looking ${AXIS_NAMES[middle]}`, look: unit(middle), up: unit(long) },
    { name: `looking ${AXIS_NAMES[long]}`, look: unit(long), up: unit(middle) },
  ];
}

/** What {@link meshToSvg} draws. */
export interface MeshPicture {
  /** xyz per vertex, mm. */
  positions: ArrayLike<number>;
  /** Three vertex indices per triangle. */
  triangles: ArrayLike<number>;
  /** A scalar per vertex to colour by (e.g. von Mises stress); absent: uniform grey-blue. */
  values?: ArrayLike<number> | undefined;
  /** Colour scale range and label (with unit) for `values`. @default the values' min and max */
  range?: readonly [number, number] | undefined;
  label?: string | undefined;
  /** Polylines drawn over the surface (xyz per point), e.g. centerlines. */
  lines?: readonly ArrayLike<number>[] | undefined;
  /** Skip triangles facing away from the viewer (a closed surface with outward normals). @default false */
  cull?: boolean | undefined;
}

const SIZE = 300;
const MARGIN = 12;
const BAR = 100;

/** Viridis at 9 stops (matplotlib's), linearly interpolated. */
const VIRIDIS = [
  [68, 1, 84], [71, 44, 122], [59, 81, 139], [44, 113, 142], [33, 144, 141], [39, 173, 129], [92, 200, 99], [170, 220, 50], [253, 231, 37],
];

function colormap(t: number): [number, number, number] {
  const x = Math.min(1, Math.max(0, Number.isFinite(t) ? t : 0)) * (VIRIDIS.length - 1);
  const i = Math.min(VIRIDIS.length - 2, Math.floor(x));
  const f = x - i;
  const a = VIRIDIS[i]!, b = VIRIDIS[i + 1]!;
  return [0, 1, 2].map((c) => a[c]! + f * (b[c]! - a[c]!)) as [number, number, number];
}

function hex(rgb: readonly number[], shade: number): string {
  return '#' + rgb.map((c) => Math.round(Math.min(255, Math.max(0, c * shade))).toString(16).padStart(2, '0')).join('');
}

function cross(a: readonly number[], b: readonly number[]): [number, number, number] {
  return [a[1]! * b[2]! - a[2]! * b[1]!, a[2]! * b[0]! - a[0]! * b[2]!, a[0]! * b[1]! - a[1]! * b[0]!];
}

/** Engineering notation for colour bar ticks. */
function fmt(v: number): string {
  return Math.abs(v) >= 1e4 || (Math.abs(v) < 1e-2 && v !== 0) ? v.toExponential(2) : Number(v.toPrecision(3)).toString();
}

/**
 * One view of a mesh as a standalone SVG document (300 x 300 px plus a colour bar when coloured): the projection
 * along `view.look` scaled to fit, each triangle filled with its colour times |cos| of the angle between its
 * normal and the view, drawn from the farthest to the nearest (painter's algorithm; exact for the convex-ish
 * tubes drawn here, cycles of overlapping triangles are rare at this size), then the lines.
 * @throws nothing (empty meshes give an empty picture).
 */
export function meshToSvg(picture: MeshPicture, view: View): string {
  const { positions: P, triangles: T, values } = picture;
  const right = cross(view.up, view.look);
  const nv = Math.floor(P.length / 3);
  const u = new Float64Array(nv), v = new Float64Array(nv), d = new Float64Array(nv);
  let umin = Infinity, umax = -Infinity, vmin = Infinity, vmax = -Infinity;
  for (let i = 0; i < nv; i++) {
    const x = P[3 * i]!, y = P[3 * i + 1]!, z = P[3 * i + 2]!;
    u[i] = x * right[0] + y * right[1] + z * right[2];
    v[i] = x * view.up[0] + y * view.up[1] + z * view.up[2];
    d[i] = x * view.look[0] + y * view.look[1] + z * view.look[2];
    umin = Math.min(umin, u[i]!), umax = Math.max(umax, u[i]!), vmin = Math.min(vmin, v[i]!), vmax = Math.max(vmax, v[i]!);
  }
  const scale = nv ? (SIZE - 2 * MARGIN) / Math.max(umax - umin, vmax - vmin, 1e-9) : 1;
  const ox = MARGIN + (SIZE - 2 * MARGIN - scale * (umax - umin)) / 2;
  const oy = MARGIN + (SIZE - 2 * MARGIN - scale * (vmax - vmin)) / 2;
  const sx = (a: number) => (ox + scale * (a - umin)).toFixed(1);
  const sy = (b: number) => (SIZE - oy - scale * (b - vmin)).toFixed(1);
  let lo = picture.range?.[0] ?? Infinity, hi = picture.range?.[1] ?? -Infinity;
  if (values && !picture.range) for (let i = 0; i < values.length; i++) (lo = Math.min(lo, values[i]!)), (hi = Math.max(hi, values[i]!));
  const nt = Math.floor(T.length / 3);
  const order = Array.from({ length: nt }, (_, t) => t);
  const depth = new Float64Array(nt);
  for (let t = 0; t < nt; t++) depth[t] = (d[T[3 * t]!]! + d[T[3 * t + 1]!]! + d[T[3 * t + 2]!]!) / 3;
  order.sort((a, b) => depth[b]! - depth[a]!);
  const width = SIZE + (values ? BAR : 0);
  const out = [`<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${SIZE}" viewBox="0 0 ${width} ${SIZE}" font-family="sans-serif" font-size="10">`, `<rect width="100%" height="100%" fill="white"/>`];
  for (const t of order) {
    const a = T[3 * t]!, b = T[3 * t + 1]!, c = T[3 * t + 2]!;
    const e1 = [P[3 * b]! - P[3 * a]!, P[3 * b + 1]! - P[3 * a + 1]!, P[3 * b + 2]! - P[3 * a + 2]!];
    const e2 = [P[3 * c]! - P[3 * a]!, P[3 * c + 1]! - P[3 * a + 1]!, P[3 * c + 2]! - P[3 * a + 2]!];
    const n = cross(e1, e2);
    const len = Math.hypot(n[0], n[1], n[2]) || 1;
    const facing = (n[0] * view.look[0] + n[1] * view.look[1] + n[2] * view.look[2]) / len;
    if (picture.cull && facing > 0) continue;
    const shade = 0.35 + 0.65 * Math.abs(facing);
    const base = values ? colormap(((values[a]! + values[b]! + values[c]!) / 3 - lo) / (hi - lo || 1)) : [200, 205, 225];
    const fill = hex(base, shade);
    out.push(`<polygon points="${sx(u[a]!)},${sy(v[a]!)} ${sx(u[b]!)},${sy(v[b]!)} ${sx(u[c]!)},${sy(v[c]!)}" fill="${fill}" stroke="${fill}" stroke-width="0.3"/>`);
  }
  for (const line of picture.lines ?? []) {
    const pts: string[] = [];
    for (let i = 0; i + 2 < line.length; i += 3) {
      const x = line[i]!, y = line[i + 1]!, z = line[i + 2]!;
      pts.push(`${sx(x * right[0] + y * right[1] + z * right[2])},${sy(x * view.up[0] + y * view.up[1] + z * view.up[2])}`);
    }
    out.push(`<polyline points="${pts.join(' ')}" fill="none" stroke="#d62728" stroke-width="1.6"/>`);
  }
  out.push(`<text x="6" y="${SIZE - 6}" fill="#333">${view.name}</text>`);
  if (values) {
    const x0 = SIZE + 10, y0 = 30, h = SIZE - 60, steps = 32;
    for (let k = 0; k < steps; k++) out.push(`<rect x="${x0}" y="${(y0 + (h * k) / steps).toFixed(1)}" width="14" height="${(h / steps + 0.5).toFixed(1)}" fill="${hex(colormap(1 - k / (steps - 1)), 1)}"/>`);
    out.push(`<rect x="${x0}" y="${y0}" width="14" height="${h}" fill="none" stroke="#333"/>`);
    for (let k = 0; k <= 4; k++) out.push(`<text x="${x0 + 18}" y="${(y0 + h - (h * k) / 4 + 3).toFixed(1)}" fill="#333">${fmt(lo + ((hi - lo) * k) / 4)}</text>`);
    if (picture.label) out.push(`<text x="${width - 4}" y="${y0 - 10}" text-anchor="end" fill="#333">${picture.label.replace(/&/g, '&amp;').replace(/</g, '&lt;')}</text>`);
  }
  out.push('</svg>');
  return out.join('\n');
}
