// Isoparametric T4 and T10 tetrahedra (VTK node order): shape-function gradients, stiffness, strain and stress,
// and the 3- and 6-node triangles their faces are. Pure functions over flat arrays writing into caller scratch.

/** Local corner pairs of the T10 mid-edge nodes 4..9 (VTK order). */
export const TET_EDGES: ReadonlyArray<readonly [number, number]> = [[0, 1], [1, 2], [0, 2], [0, 3], [1, 3], [2, 3]];

/** Local mid-edge node (4..9) of the edge between corners a and b of a T10. */
export function edgeNode(a: number, b: number): number {
  const lo = Math.min(a, b);
  const hi = Math.max(a, b);
  for (let e = 0; e < 6; e++) if (TET_EDGES[e]![0] === lo && TET_EDGES[e]![1] === hi) return 4 + e;
  return -1;
}

/** Barycentric quadrature points (L1, L2, L3; L0 = 1 - sum) and weights (summing to 1/6) on the unit tet. */
export interface TetRule {
  points: Float64Array;
  weights: Float64Array;
}

const GA = 0.5854101966249685;
const GB = 0.1381966011250105;
/** 1-point rule (exact for degree 1): T4 stiffness is constant per element. */
export const TET_RULE_1: TetRule = { points: new Float64Array([0.25, 0.25, 0.25]), weights: new Float64Array([1 / 6]) };
/** 4-point rule (exact for degree 2): T10 stiffness on straight-sided elements, stresses at these points. */
export const TET_RULE_4: TetRule = {
  points: new Float64Array([GB, GB, GB, GA, GB, GB, GB, GA, GB, GB, GB, GA]),
  weights: new Float64Array([1 / 24, 1 / 24, 1 / 24, 1 / 24]),
};

/** The rule that integrates the stiffness of an element with `nodes` nodes. */
export function stiffnessRule(nodes: 4 | 10): TetRule {
  return nodes === 4 ? TET_RULE_1 : TET_RULE_4;
}

/**
 * Shape functions and their reference derivatives at barycentric (l1, l2, l3) into `n` (nodes) and `dn`
 * (3 per node: d/dxi, d/deta, d/dzeta).
 */
export function tetShape(nodes: 4 | 10, l1: number, l2: number, l3: number, n: Float64Array, dn: Float64Array): void {
  const l = [1 - l1 - l2 - l3, l1, l2, l3];
  // dL_i/dxi_k: L0 = 1 - xi - eta - zeta, L1 = xi, L2 = eta, L3 = zeta.
  const dl = (i: number, k: number) => (i === 0 ? -1 : i === k + 1 ? 1 : 0);
  if (nodes === 4) {
    for (let i = 0; i < 4; i++) {
      n[i] = l[i]!;
      for (let k = 0; k < 3; k++) dn[3 * i + k] = dl(i, k);
    }
    return;
  }
  for (let i = 0; i < 4; i++) {
    n[i] = l[i]! * (2 * l[i]! - 1);
    for (let k = 0; k < 3; k++) dn[3 * i + k] = (4 * l[i]! - 1) * dl(i, k);
  }
  for (let e = 0; e < 6; e++) {
    const [a, b] = TET_EDGES[e]!;
    n[4 + e] = 4 * l[a]! * l[b]!;
    for (let k = 0; k < 3; k++) dn[3 * (4 + e) + k] = 4 * (l[b]! * dl(a, k) + l[a]! * dl(b, k));
  }
}

/**
 * Physical gradients of the shape functions (3 per node into `grad`) from reference derivatives `dn` and the
 * element's node coordinates `x` (3 per node); returns det J (6 x volume for a straight T4).
 */
export function physicalGradients(nodes: number, x: Float64Array, dn: Float64Array, grad: Float64Array): number {
  let j00 = 0, j01 = 0, j02 = 0, j10 = 0, j11 = 0, j12 = 0, j20 = 0, j21 = 0, j22 = 0;
  for (let i = 0; i < nodes; i++) {
    const x0 = x[3 * i]!, x1 = x[3 * i + 1]!, x2 = x[3 * i + 2]!;
    const d0 = dn[3 * i]!, d1 = dn[3 * i + 1]!, d2 = dn[3 * i + 2]!;
    j00 += x0 * d0; j01 += x0 * d1; j02 += x0 * d2;
    j10 += x1 * d0; j11 += x1 * d1; j12 += x1 * d2;
    j20 += x2 * d0; j21 += x2 * d1; j22 += x2 * d2;
  }
  const c00 = j11 * j22 - j12 * j21, c01 = j12 * j20 - j10 * j22, c02 = j10 * j21 - j11 * j20;
  const det = j00 * c00 + j01 * c01 + j02 * c02;
  const inv = 1 / det;
  // (J^-1)^T rows: dxi_k/dx_d = invJ[k][d].
  const i00 = c00 * inv, i01 = (j02 * j21 - j01 * j22) * inv, i02 = (j01 * j12 - j02 * j11) * inv;
  const i10 = c01 * inv, i11 = (j00 * j22 - j02 * j20) * inv, i12 = (j02 * j10 - j00 * j12) * inv;
  const i20 = c02 * inv, i21 = (j01 * j20 - j00 * j21) * inv, i22 = (j00 * j11 - j01 * j10) * inv;
  for (let i = 0; i < nodes; i++) {
    const d0 = dn[3 * i]!, d1 = dn[3 * i + 1]!, d2 = dn[3 * i + 2]!;
    grad[3 * i] = d0 * i00 + d1 * i10 + d2 * i20;
    grad[3 * i + 1] = d0 * i01 + d1 * i11 + d2 * i21;
    grad[3 * i + 2] = d0 * i02 + d1 * i12 + d2 * i22;
  }
  return det;
}

/** Lame parameters of an isotropic material: [lambda, mu] from Young's modulus and Poisson's ratio. */
export function lame(E: number, nu: number): [number, number] {
  return [(E * nu) / ((1 + nu) * (1 - 2 * nu)), E / (2 * (1 + nu))];
}

/** Scratch one element computation needs (sized for T10). */
export interface ElementScratch {
  x: Float64Array;
  n: Float64Array;
  dn: Float64Array;
  grad: Float64Array;
}

/** Scratch arrays for {@link elementStiffness} and {@link elementStress}. */
export function elementScratch(): ElementScratch {
  return { x: new Float64Array(30), n: new Float64Array(10), dn: new Float64Array(30), grad: new Float64Array(30) };
}

/**
 * Element stiffness (3n x 3n, row-major, node-major dofs) of an isotropic element with coordinates `s.x`, into
 * `ke`. K_ab[i][j] = sum_q w detJ (lambda g_a[i] g_b[j] + mu g_a[j] g_b[i] + mu delta_ij g_a.g_b).
 * Returns the smallest det J over the quadrature points (<= 0: inverted or degenerate).
 */
export function elementStiffness(nodes: 4 | 10, lambda: number, mu: number, s: ElementScratch, ke: Float64Array): number {
  const rule = stiffnessRule(nodes);
  const m = 3 * nodes;
  ke.fill(0, 0, m * m);
  let minDet = Infinity;
  for (let q = 0; q < rule.weights.length; q++) {
    tetShape(nodes, rule.points[3 * q]!, rule.points[3 * q + 1]!, rule.points[3 * q + 2]!, s.n, s.dn);
    const det = physicalGradients(nodes, s.x, s.dn, s.grad);
    minDet = Math.min(minDet, det);
    const w = rule.weights[q]! * det;
    const g = s.grad;
    for (let a = 0; a < nodes; a++) {
      const ga0 = g[3 * a]!, ga1 = g[3 * a + 1]!, ga2 = g[3 * a + 2]!;
      for (let b = 0; b < nodes; b++) {
        const gb0 = g[3 * b]!, gb1 = g[3 * b + 1]!, gb2 = g[3 * b + 2]!;
        const dot = mu * (ga0 * gb0 + ga1 * gb1 + ga2 * gb2);
        const r = 3 * a * m + 3 * b;
        ke[r] = ke[r]! + w * (lambda * ga0 * gb0 + mu * ga0 * gb0 + dot);
        ke[r + 1] = ke[r + 1]! + w * (lambda * ga0 * gb1 + mu * ga1 * gb0);
        ke[r + 2] = ke[r + 2]! + w * (lambda * ga0 * gb2 + mu * ga2 * gb0);
        ke[r + m] = ke[r + m]! + w * (lambda * ga1 * gb0 + mu * ga0 * gb1);
        ke[r + m + 1] = ke[r + m + 1]! + w * (lambda * ga1 * gb1 + mu * ga1 * gb1 + dot);
        ke[r + m + 2] = ke[r + m + 2]! + w * (lambda * ga1 * gb2 + mu * ga2 * gb1);
        ke[r + 2 * m] = ke[r + 2 * m]! + w * (lambda * ga2 * gb0 + mu * ga0 * gb2);
        ke[r + 2 * m + 1] = ke[r + 2 * m + 1]! + w * (lambda * ga2 * gb1 + mu * ga1 * gb2);
        ke[r + 2 * m + 2] = ke[r + 2 * m + 2]! + w * (lambda * ga2 * gb2 + mu * ga2 * gb2 + dot);
      }
    }
  }
  return minDet;
}

/**
 * Cauchy stress (xx, yy, zz, xy, yz, xz) from the gradients in `s.grad` and element displacements `u`
 * (3 per node), into `out[at..at+5]`.
 */
export function stressFromGradients(nodes: number, lambda: number, mu: number, grad: Float64Array, u: Float64Array, out: Float64Array, at: number): void {
  let e00 = 0, e11 = 0, e22 = 0, e01 = 0, e12 = 0, e02 = 0;
  for (let a = 0; a < nodes; a++) {
    const g0 = grad[3 * a]!, g1 = grad[3 * a + 1]!, g2 = grad[3 * a + 2]!;
    const u0 = u[3 * a]!, u1 = u[3 * a + 1]!, u2 = u[3 * a + 2]!;
    e00 += u0 * g0;
    e11 += u1 * g1;
    e22 += u2 * g2;
    e01 += 0.5 * (u0 * g1 + u1 * g0);
    e12 += 0.5 * (u1 * g2 + u2 * g1);
    e02 += 0.5 * (u0 * g2 + u2 * g0);
  }
  const tr = lambda * (e00 + e11 + e22);
  out[at] = tr + 2 * mu * e00;
  out[at + 1] = tr + 2 * mu * e11;
  out[at + 2] = tr + 2 * mu * e22;
  out[at + 3] = 2 * mu * e01;
  out[at + 4] = 2 * mu * e12;
  out[at + 5] = 2 * mu * e02;
}

/** von Mises equivalent stress of a (xx, yy, zz, xy, yz, xz) tensor at `s[at..]`. */
export function vonMises(s: Float64Array, at: number): number {
  const a = s[at]!, b = s[at + 1]!, c = s[at + 2]!, xy = s[at + 3]!, yz = s[at + 4]!, xz = s[at + 5]!;
  return Math.sqrt(0.5 * ((a - b) ** 2 + (b - c) ** 2 + (c - a) ** 2) + 3 * (xy * xy + yz * yz + xz * xz));
}

/**
 * Principal stresses (descending) of the symmetric tensor at `s[at..]` into `out[o..o+2]`, by the trigonometric
 * closed form of the eigenvalues of a symmetric 3x3 matrix.
 */
export function principalStresses(s: Float64Array, at: number, out: Float64Array, o: number): void {
  const a = s[at]!, b = s[at + 1]!, c = s[at + 2]!, xy = s[at + 3]!, yz = s[at + 4]!, xz = s[at + 5]!;
  const p1 = xy * xy + yz * yz + xz * xz;
  const q = (a + b + c) / 3;
  const p2 = (a - q) ** 2 + (b - q) ** 2 + (c - q) ** 2 + 2 * p1;
  if (p2 <= 1e-30 * (q * q + 1e-300)) {
    out[o] = out[o + 1] = out[o + 2] = q;
    return;
  }
  const p = Math.sqrt(p2 / 6);
  const b00 = (a - q) / p, b11 = (b - q) / p, b22 = (c - q) / p, b01 = xy / p, b12 = yz / p, b02 = xz / p;
  const det = b00 * (b11 * b22 - b12 * b12) - b01 * (b01 * b22 - b12 * b02) + b02 * (b01 * b12 - b11 * b02);
  const r = Math.min(1, Math.max(-1, det / 2));
  const phi = Math.acos(r) / 3;
  const e1 = q + 2 * p * Math.cos(phi);
  const e3 = q + 2 * p * Math.cos(phi + (2 * Math.PI) / 3);
  out[o] = e1;
  out[o + 1] = 3 * q - e1 - e3;
  out[o + 2] = e3;
}

const TA = 0.445948490915965;
const TB = 0.091576213509771;
const WA = 0.223381589678011 / 2;
const WB = 0.109951743655322 / 2;
/** 6-point triangle rule (exact for degree 4; weights sum to 1/2): (s, t, w) triples. */
export const TRI_RULE_6 = new Float64Array([
  TA, TA, WA, 1 - 2 * TA, TA, WA, TA, 1 - 2 * TA, WA,
  TB, TB, WB, 1 - 2 * TB, TB, WB, TB, 1 - 2 * TB, WB,
]);

/**
 * Consistent nodal forces of a traction `t` (force per area, 3 components; `perArea` may instead be a
 * pressure `p` acting along -n for an outward normal n) on a 3- or 6-node triangle with coordinates `x`
 * (corners, then mid-edges (0,1), (1,2), (0,2)) ordered counter-clockwise seen from outside. Adds to `f`
 * (3 per node). Curved 6-node faces use their true (isoparametric) area element.
 */
export function faceLoad(nodes: 3 | 6, x: Float64Array, traction: readonly number[] | undefined, pressure: number, f: Float64Array): void {
  const n = new Float64Array(6);
  const ds = new Float64Array(6);
  const dt = new Float64Array(6);
  for (let q = 0; q < 6; q++) {
    const s = TRI_RULE_6[3 * q]!, t = TRI_RULE_6[3 * q + 1]!, w = TRI_RULE_6[3 * q + 2]!;
    const l0 = 1 - s - t;
    if (nodes === 3) {
      n[0] = l0; n[1] = s; n[2] = t;
      ds[0] = -1; ds[1] = 1; ds[2] = 0;
      dt[0] = -1; dt[1] = 0; dt[2] = 1;
    } else {
      n[0] = l0 * (2 * l0 - 1); n[1] = s * (2 * s - 1); n[2] = t * (2 * t - 1);
      n[3] = 4 * l0 * s; n[4] = 4 * s * t; n[5] = 4 * l0 * t;
      ds[0] = -(4 * l0 - 1); ds[1] = 4 * s - 1; ds[2] = 0; ds[3] = 4 * (l0 - s); ds[4] = 4 * t; ds[5] = -4 * t;
      dt[0] = -(4 * l0 - 1); dt[1] = 0; dt[2] = 4 * t - 1; dt[3] = -4 * s; dt[4] = 4 * s; dt[5] = 4 * (l0 - t);
    }
    let a0 = 0, a1 = 0, a2 = 0, b0 = 0, b1 = 0, b2 = 0;
    for (let i = 0; i < nodes; i++) {
      a0 += ds[i]! * x[3 * i]!; a1 += ds[i]! * x[3 * i + 1]!; a2 += ds[i]! * x[3 * i + 2]!;
      b0 += dt[i]! * x[3 * i]!; b1 += dt[i]! * x[3 * i + 1]!; b2 += dt[i]! * x[3 * i + 2]!;
    }
    // Outward area vector dA (its length is the area element).
    const c0 = a1 * b2 - a2 * b1, c1 = a2 * b0 - a0 * b2, c2 = a0 * b1 - a1 * b0;
    const area = Math.sqrt(c0 * c0 + c1 * c1 + c2 * c2);
    const t0 = traction ? traction[0]! * area : 0, t1 = traction ? traction[1]! * area : 0, t2 = traction ? traction[2]! * area : 0;
    for (let i = 0; i < nodes; i++) {
      const wn = w * n[i]!;
      f[3 * i] = f[3 * i]! + wn * (t0 - pressure * c0);
      f[3 * i + 1] = f[3 * i + 1]! + wn * (t1 - pressure * c1);
      f[3 * i + 2] = f[3 * i + 2]! + wn * (t2 - pressure * c2);
    }
  }
}
