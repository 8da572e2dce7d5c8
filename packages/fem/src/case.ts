import { PhysiotwinError } from '@physiotwin/core';
import type { TetMesh } from '@physiotwin/core';

// The case file of `physiotwin fem` (issue 12, a contract): names are used as written. Units are consistent:
// lengths mm, forces N, stresses, pressures and E in MPa (N/mm^2), density t/mm^3, body force N/mm^3.

/** Three components (mm, N, MPa or N/mm^3 by context). */
export type Vec3 = [number, number, number];

/**
 * Picks nodes (or faces: those whose corners are all picked). Exactly one kind key, plus an optional `tolerance`
 * (mm; default 1e-6 of the mesh's bounding-box diagonal) for the geometric kinds:
 * - `faceTag`: nodes of boundary faces with this label;
 * - `region`: nodes of tets in this region;
 * - `box`: `min <= x <= max` per axis (widened by the tolerance);
 * - `plane`: distance to the plane through `point` with `normal` at most the tolerance;
 * - `sphere`: inside the ball (`|x - center| <= radius + tolerance`);
 * - `cylinder`: inside the infinite cylinder around the line through `point` along `axis`.
 */
export interface Selector {
  faceTag?: number;
  region?: number;
  box?: { min: Vec3; max: Vec3 };
  plane?: { point: Vec3; normal: Vec3 };
  sphere?: { center: Vec3; radius: number };
  cylinder?: { point: Vec3; axis: Vec3; radius: number };
  /** mm. @default 1e-6 x bounding-box diagonal */
  tolerance?: number;
}

/** An isotropic linear-elastic material for the tets of one region. */
export interface Material {
  region: number;
  /** Young's modulus, MPa (1e-12 to 1e12). */
  E: number;
  /** Poisson's ratio, in (-1, 0.5). */
  nu: number;
  /** Density, t/mm^3 (unused by static solves; kept for body loads by gravity later). */
  density?: number;
}

/** Fixed or prescribed displacement of some components (default all) of the selected nodes. */
export interface Constraint {
  nodes: Selector;
  /** @default ['x', 'y', 'z'] */
  components?: Array<'x' | 'y' | 'z'>;
  /** Prescribed displacement, mm (components not listed in `components` are ignored). */
  displacement: Vec3;
}

/**
 * A load: `pressure` (MPa, positive into the solid) or `traction` (MPa, a force per area vector) on the
 * selected faces; `force` (N, applied to each selected node); `bodyForce` (N/mm^3, on every tet, or on one
 * region's tets).
 */
export interface Load {
  faces?: Selector;
  pressure?: number;
  traction?: Vec3;
  nodes?: Selector;
  force?: Vec3;
  bodyForce?: Vec3;
  region?: number;
}

/** Linear solver settings. */
export interface SolverSettings {
  /** Relative residual ||r|| / ||b|| at which CG stops, in [1e-15, 1). @default 1e-10 */
  tolerance?: number;
  /** @default 20000 */
  maxIterations?: number;
  /**
   * 'jacobi' (3x3 block Jacobi), 'multilevel' (a V-cycle: on T10, p-multigrid to T4 with block-Jacobi smoothing,
   * then smoothed-aggregation AMG with the rigid-body modes; on T4, the AMG alone: iteration counts nearly
   * independent of h) or 'auto' (multilevel for T10 from 50 000 unknowns, where it is faster to solution; block
   * Jacobi otherwise).
   * @default 'auto'
   */
  preconditioner?: 'auto' | 'jacobi' | 'multilevel';
}

/** The case file as read: `mesh` is a path (or labelmap recipe) that the CLI resolves. */
export interface FemCase<M = unknown> {
  mesh: M;
  /** @default 'T10' */
  element?: 'T4' | 'T10';
  materials: Material[];
  constraints: Constraint[];
  loads?: Load[];
  solver?: SolverSettings;
}

/** A case with its mesh loaded: what {@link solve} takes. */
export type FemProblem = FemCase<TetMesh>;

function invalid(path: string, message: string): never {
  throw new PhysiotwinError('CONFIG_INVALID', message, { location: { jsonPath: path } });
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/**
 * Largest magnitude of any number in a case (mm, N, MPa, N/mm^3): 1e12 is far past any physical value (E of diamond
 * 1.2e6 MPa), and keeps the products the solver forms (E x strain x volume, load x area) inside double precision
 * (a displacement of 1e308 mm made every stress Infinity).
 */
const MAX_CASE_MAGNITUDE = 1e12;

/**
 * Smallest solver tolerance: double precision (eps 2.2e-16) cannot bring ||r|| / ||b|| much below it, and CG run past
 * that breaks down with misleading diagnoses (a tolerance of 1e-300 ended T10 solves of a well-posed cube in
 * SOLVER_SINGULAR).
 */
const MIN_TOLERANCE = 1e-15;

function finite(v: unknown, path: string, check?: (x: number) => string | undefined): number {
  if (typeof v !== 'number' || !Number.isFinite(v)) invalid(path, `expected a finite number, got ${JSON.stringify(v)?.slice(0, 80)}`);
  if (Math.abs(v) > MAX_CASE_MAGNITUDE) invalid(path, `|${v}| exceeds ${MAX_CASE_MAGNITUDE} (mm, N, MPa): an entry or unit error`);
  const why = check?.(v);
  if (why) invalid(path, why);
  return v;
}

function integer(v: unknown, path: string): number {
  return finite(v, path, (x) => (Number.isInteger(x) ? undefined : `expected an integer, got ${x}`));
}

function vec3(v: unknown, path: string): Vec3 {
  if (!Array.isArray(v) || v.length !== 3) invalid(path, `expected [x, y, z], got ${JSON.stringify(v)}`);
  return [finite(v[0], `${path}[0]`), finite(v[1], `${path}[1]`), finite(v[2], `${path}[2]`)];
}

function allowOnly(o: Record<string, unknown>, keys: string[], path: string): void {
  for (const k of Object.keys(o)) if (!keys.includes(k)) invalid(`${path}.${k}`, `unknown key '${k}' (expected one of ${keys.join(', ')})`);
}

const SELECTOR_KINDS = ['faceTag', 'region', 'box', 'plane', 'sphere', 'cylinder'] as const;

/** Checks a selector; returns it typed. @throws PhysiotwinError `CONFIG_INVALID` with the JSON path. */
export function checkSelector(v: unknown, path: string): Selector {
  if (!isObject(v)) invalid(path, 'expected a selector object');
  allowOnly(v, [...SELECTOR_KINDS, 'tolerance'], path);
  const kinds = SELECTOR_KINDS.filter((k) => v[k] !== undefined);
  if (kinds.length !== 1) invalid(path, `a selector names exactly one of ${SELECTOR_KINDS.join(', ')}; found ${kinds.length}`);
  const positive = (x: number) => (x > 0 ? undefined : `must be > 0, got ${x}`);
  const out: Selector = {};
  if (v.tolerance !== undefined) out.tolerance = finite(v.tolerance, `${path}.tolerance`, (x) => (x >= 0 ? undefined : `must be >= 0, got ${x}`));
  const kind = kinds[0]!;
  const p = `${path}.${kind}`;
  const body = v[kind];
  switch (kind) {
    case 'faceTag':
    case 'region':
      out[kind] = integer(body, p);
      break;
    case 'box': {
      if (!isObject(body)) invalid(p, 'expected { min, max }');
      allowOnly(body, ['min', 'max'], p);
      const min = vec3(body.min, `${p}.min`);
      const max = vec3(body.max, `${p}.max`);
      for (let d = 0; d < 3; d++) if (min[d]! > max[d]!) invalid(`${p}.min[${d}]`, `min ${min[d]} exceeds max ${max[d]}`);
      out.box = { min, max };
      break;
    }
    case 'plane': {
      if (!isObject(body)) invalid(p, 'expected { point, normal }');
      allowOnly(body, ['point', 'normal'], p);
      const normal = vec3(body.normal, `${p}.normal`);
      if (Math.hypot(...normal) === 0) invalid(`${p}.normal`, 'normal is zero');
      out.plane = { point: vec3(body.point, `${p}.point`), normal };
      break;
    }
    case 'sphere': {
      if (!isObject(body)) invalid(p, 'expected { center, radius }');
      allowOnly(body, ['center', 'radius'], p);
      out.sphere = { center: vec3(body.center, `${p}.center`), radius: finite(body.radius, `${p}.radius`, positive) };
      break;
    }
    case 'cylinder': {
      if (!isObject(body)) invalid(p, 'expected { point, axis, radius }');
      allowOnly(body, ['point', 'axis', 'radius'], p);
      const axis = vec3(body.axis, `${p}.axis`);
      if (Math.hypot(...axis) === 0) invalid(`${p}.axis`, 'axis is zero');
      out.cylinder = { point: vec3(body.point, `${p}.point`), axis, radius: finite(body.radius, `${p}.radius`, positive) };
      break;
    }
  }
  return out;
}

/**
 * Checks every field of a case except `mesh` (which the caller resolves) and returns it typed, with defaults
 * left unset. Unknown keys are errors (a misspelt key would otherwise be silently ignored).
 * @throws PhysiotwinError `CONFIG_INVALID` naming the JSON path of the first problem.
 */
export function parseFemCase(json: unknown): FemCase {
  if (!isObject(json)) invalid('$', 'a case is a JSON object');
  allowOnly(json, ['mesh', 'element', 'materials', 'constraints', 'loads', 'solver'], '$');
  if (json.mesh === undefined) invalid('$.mesh', 'mesh is required');
  const out: FemCase = { mesh: json.mesh, materials: [], constraints: [] };
  if (json.element !== undefined) {
    if (json.element !== 'T4' && json.element !== 'T10') invalid('$.element', `element must be "T4" or "T10", got ${JSON.stringify(json.element)}`);
    out.element = json.element;
  }
  if (!Array.isArray(json.materials) || json.materials.length === 0) invalid('$.materials', 'materials must be a non-empty array');
  const regions = new Set<number>();
  json.materials.forEach((m: unknown, i: number) => {
    const p = `$.materials[${i}]`;
    if (!isObject(m)) invalid(p, 'expected { region, E, nu }');
    allowOnly(m, ['region', 'E', 'nu', 'density'], p);
    const region = integer(m.region, `${p}.region`);
    if (regions.has(region)) invalid(`${p}.region`, `region ${region} has two materials`);
    regions.add(region);
    const mat: Material = {
      region,
      // E below 1e-12 MPa (1e-6 Pa, softer than any tissue or gel) is an entry or unit error, and loads over it overflow.
      E: finite(m.E, `${p}.E`, (x) => (x >= 1e-12 ? undefined : `E must be >= 1e-12 MPa, got ${x}`)),
      nu: finite(m.nu, `${p}.nu`, (x) => (x > -1 && x < 0.5 ? undefined : `nu must be in (-1, 0.5), got ${x}`)),
    };
    if (m.density !== undefined) mat.density = finite(m.density, `${p}.density`, (x) => (x >= 0 ? undefined : `density must be >= 0, got ${x}`));
    out.materials.push(mat);
  });
  if (!Array.isArray(json.constraints)) invalid('$.constraints', 'constraints must be an array');
  json.constraints.forEach((c: unknown, i: number) => {
    const p = `$.constraints[${i}]`;
    if (!isObject(c)) invalid(p, 'expected { nodes, displacement }');
    allowOnly(c, ['nodes', 'components', 'displacement'], p);
    const con: Constraint = { nodes: checkSelector(c.nodes, `${p}.nodes`), displacement: vec3(c.displacement, `${p}.displacement`) };
    if (c.components !== undefined) {
      if (!Array.isArray(c.components) || c.components.length === 0) invalid(`${p}.components`, 'components must be a non-empty array of "x", "y", "z"');
      c.components.forEach((k: unknown, j: number) => {
        if (k !== 'x' && k !== 'y' && k !== 'z') invalid(`${p}.components[${j}]`, `expected "x", "y" or "z", got ${JSON.stringify(k)}`);
      });
      con.components = c.components as Array<'x' | 'y' | 'z'>;
    }
    out.constraints.push(con);
  });
  if (json.loads !== undefined) {
    if (!Array.isArray(json.loads)) invalid('$.loads', 'loads must be an array');
    out.loads = json.loads.map((l: unknown, i: number) => {
      const p = `$.loads[${i}]`;
      if (!isObject(l)) invalid(p, 'expected a load object');
      allowOnly(l, ['faces', 'pressure', 'traction', 'nodes', 'force', 'bodyForce', 'region'], p);
      const load: Load = {};
      if (l.faces !== undefined) {
        load.faces = checkSelector(l.faces, `${p}.faces`);
        if ((l.pressure === undefined) === (l.traction === undefined)) invalid(p, 'a face load has exactly one of pressure, traction');
        if (l.pressure !== undefined) load.pressure = finite(l.pressure, `${p}.pressure`);
        if (l.traction !== undefined) load.traction = vec3(l.traction, `${p}.traction`);
        if (l.nodes !== undefined || l.force !== undefined || l.bodyForce !== undefined || l.region !== undefined) invalid(p, 'a face load takes faces with pressure or traction only');
      } else if (l.nodes !== undefined) {
        load.nodes = checkSelector(l.nodes, `${p}.nodes`);
        load.force = vec3(l.force, `${p}.force`);
        if (l.pressure !== undefined || l.traction !== undefined || l.bodyForce !== undefined || l.region !== undefined) invalid(p, 'a nodal load takes nodes with force only');
      } else if (l.bodyForce !== undefined) {
        load.bodyForce = vec3(l.bodyForce, `${p}.bodyForce`);
        if (l.region !== undefined) load.region = integer(l.region, `${p}.region`);
        if (l.pressure !== undefined || l.traction !== undefined || l.force !== undefined) invalid(p, 'a body load takes bodyForce (and region) only');
      } else {
        invalid(p, 'a load has faces (pressure or traction), nodes (force) or bodyForce');
      }
      return load;
    });
  }
  if (json.solver !== undefined) {
    const s = json.solver;
    if (!isObject(s)) invalid('$.solver', 'expected { tolerance, maxIterations, preconditioner }');
    allowOnly(s, ['tolerance', 'maxIterations', 'preconditioner'], '$.solver');
    const solver: SolverSettings = {};
    if (s.tolerance !== undefined) solver.tolerance = finite(s.tolerance, '$.solver.tolerance', (x) => (x >= MIN_TOLERANCE && x < 1 ? undefined : `tolerance must be in [${MIN_TOLERANCE}, 1), got ${x}`));
    if (s.maxIterations !== undefined) solver.maxIterations = finite(s.maxIterations, '$.solver.maxIterations', (x) => (Number.isInteger(x) && x >= 1 ? undefined : `maxIterations must be a positive integer, got ${x}`));
    if (s.preconditioner !== undefined) {
      if (s.preconditioner !== 'auto' && s.preconditioner !== 'jacobi' && s.preconditioner !== 'multilevel') invalid('$.solver.preconditioner', `expected "auto", "jacobi" or "multilevel", got ${JSON.stringify(s.preconditioner)}`);
      solver.preconditioner = s.preconditioner;
    }
    out.solver = solver;
  }
  return out;
}
