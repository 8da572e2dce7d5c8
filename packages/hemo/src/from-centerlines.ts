import type { OperationOptions } from '@physiotwin/core';
import { conversionFactor, PhysiotwinError, progressReporter } from '@physiotwin/core';
import type { SvZeroDConfig } from './settings.js';
import { resultTable } from './output.js';
import { simulate } from './solver.js';

/**
 * The centerline tree a 0D model is built from: what `extractCenterlines` (@physiotwin/mesh) returns, or any
 * object with these fields. Branch b holds points `start .. start + count - 1`; a child branch's first point is
 * its parent's last (the bifurcation).
 */
export interface CenterlineTree {
  /** xyz per point, mm. */
  points: ArrayLike<number>;
  /** Maximal inscribed sphere radius per point, mm. */
  radius: ArrayLike<number>;
  /** Cross-section area per point, mm^2; absent: pi radius^2. */
  area?: ArrayLike<number> | undefined;
  branches: readonly { start: number; count: number; parent: number; children: readonly number[]; endsAtOutlet: boolean }[];
}

/** Options of {@link zeroDModelFromCenterlines}; CGS units inside the model (cm, g, s, dyn). */
export interface ZeroDModelOptions extends OperationOptions {
  /** Target mean inlet pressure, mmHg. @default 93 */
  meanPressureMmHg?: number | undefined;
  /** Cardiac output (the inflow's mean), L/min. @default 5 */
  cardiacOutputLPerMin?: number | undefined;
  /** Heart rate, beats/min: the period of the inflow. @default 75 */
  heartRate?: number | undefined;
  /** Inflow waveform over one period (t in s from 0 to the period, q in any unit: it is scaled to the cardiac output). @default a half-sine ejection, see {@link aorticInflow} */
  inflow?: { t: readonly number[]; q: readonly number[] } | undefined;
  /** Blood density, g/cm^3. @default 1.06 */
  density?: number | undefined;
  /** Blood dynamic viscosity, poise (dyn s/cm^2). @default 0.04 */
  viscosity?: number | undefined;
  /** Wall Young's modulus, dyn/cm^2. @default 8.65e6 (0.865 MPa: with h = r / 10, Olufsen's large-artery stiffness Eh/r = 8.65e5 dyn/cm^2) */
  youngsModulus?: number | undefined;
  /** Wall thickness, mm; absent: `wallThicknessRatio` times the local radius. */
  wallThicknessMm?: number | undefined;
  /** Wall thickness over radius where no fixed thickness is given. @default 0.1 */
  wallThicknessRatio?: number | undefined;
  /** A branch is split into vessels where the radius departs from its segment's mean by more than this fraction. @default 0.1 */
  segmentRadiusChange?: number | undefined;
  /** A narrowing gets a stenosis coefficient when its area is below (1 - this) times the unobstructed area. @default 0.2 */
  stenosisAreaReduction?: number | undefined;
  /** How the outlets share the mean flow: in proportion to outlet area, or to radius^3 (Murray's law). @default 'area' */
  outletSplit?: 'area' | 'murray' | undefined;
  /** Total arterial compliance, mL/mmHg: the vessels' own plus the outlets' (shared as the flow). @default 1.0 */
  totalComplianceMlPerMmHg?: number | undefined;
  /** Proximal share Rp / (Rp + Rd) of each outlet's RCR. @default 0.1 */
  proximalFraction?: number | undefined;
  /** Cardiac cycles simulated (svZeroDSolver `number_of_cardiac_cycles`). @default 8 */
  cycles?: number | undefined;
  /** Time points per cycle (svZeroDSolver `number_of_time_pts_per_cardiac_cycle`). @default 101 */
  pointsPerCycle?: number | undefined;
  /**
   * Simulations for tuning the outlet resistances: each but the last corrects them; the last measures the
   * returned model (0: the mean-flow estimate only, not simulated). Stops early once the mean inlet pressure is
   * within 0.1% of the target. @default 4
   */
  tuningIterations?: number | undefined;
}

/** One outlet of the model. */
export interface ZeroDOutlet {
  /** Boundary condition name (`RCR_<k>`). */
  name: string;
  branch: number;
  /** Share of the cardiac output. */
  share: number;
  /** Rp, C, Rd of its RCR (dyn s/cm^5, cm^5/dyn). */
  Rp: number;
  C: number;
  Rd: number;
}

/** What {@link zeroDModelFromCenterlines} returns. */
export interface ZeroDModel {
  /** svZeroDSolver input (CGS), ready for `simulate` or `JSON.stringify`. */
  config: SvZeroDConfig;
  /** The branch and segment of each vessel (`branch<b>_seg<s>`), by vessel id. */
  vessels: { name: string; branch: number; segment: number; lengthCm: number; radiusCm: number }[];
  outlets: ZeroDOutlet[];
  /** The simulated mean inlet pressure (mmHg) after tuning; undefined with tuningIterations 0. */
  meanInletPressureMmHg: number | undefined;
  /** Simulations run. */
  iterations: number;
}

/** Young and Tsai's (1973) turbulent loss coefficient K_t, as svZeroDSolver's stenosis coefficient uses it. */
const KT = 1.52;

/**
 * A default aortic inflow over one beat: a half-sine ejection lasting the left-ventricular ejection time and no
 * flow in diastole, the idealised aortic flow of Westerhof, Stergiopulos and Noble, Snapshots of Hemodynamics
 * (2nd ed., Springer 2010). Ejection time from Weissler's regression, LVET = 413 - 1.7 HR ms (Weissler, Harris
 * and Schoenfeld, Circulation 1968;37:149), 285 ms at 75 beats/min. Sampled at `samples` times from 0 to the
 * period inclusive and scaled so the mean of the piecewise-linear waveform (what the solver interpolates) is
 * `meanFlow`.
 * @returns t (s) and q (mL/s)
 * @throws PhysiotwinError `INVALID_ARGUMENT` when the sampled waveform has no positive mean (a heart rate or sample count that leaves no ejection)
 */
export function aorticInflow(meanFlow: number, heartRate: number, samples = 201): { t: number[]; q: number[] } {
  const T = 60 / heartRate;
  const ejection = Math.min((413 - 1.7 * heartRate) / 1000, 0.6 * T);
  const t = Array.from({ length: samples }, (_, i) => (T * i) / (samples - 1));
  const q = t.map((x) => (x < ejection ? Math.sin((Math.PI * x) / ejection) : 0));
  return { t, q: scaleToMean(t, q, meanFlow) };
}

/** q scaled so its trapezoidal mean over t equals `mean`. */
function scaleToMean(t: readonly number[], q: readonly number[], mean: number): number[] {
  let integral = 0;
  for (let i = 1; i < t.length; i++) integral += 0.5 * (q[i]! + q[i - 1]!) * (t[i]! - t[i - 1]!);
  const current = integral / (t[t.length - 1]! - t[0]!);
  if (!(current > 0)) throw new PhysiotwinError('INVALID_ARGUMENT', 'the inflow waveform has no positive mean');
  return q.map((x) => (x * mean) / current);
}

function option(name: string, value: number | undefined, fallback: number, ok: (v: number) => boolean, rule: string): number {
  const v = value ?? fallback;
  if (!(Number.isFinite(v) && ok(v))) throw new PhysiotwinError('INVALID_ARGUMENT', `zeroDModelFromCenterlines: ${name} must be ${rule}, got ${value}`);
  return v;
}

/** Trapezoidal mean of one column over the rows of one vessel. */
function cycleMean(time: Float64Array, values: Float64Array, rows: readonly number[]): number {
  let integral = 0;
  for (let k = 1; k < rows.length; k++) integral += 0.5 * (values[rows[k]!]! + values[rows[k - 1]!]!) * (time[rows[k]!]! - time[rows[k - 1]!]!);
  return integral / (time[rows[rows.length - 1]!]! - time[rows[0]!]!);
}

/**
 * The reduced-order (0D) model SimVascular builds from centerlines, as a svZeroDSolver configuration: one
 * `BloodVessel` per branch segment (a branch is split where its radius, averaged over +-2 points, departs from
 * the segment's mean by more than `segmentRadiusChange`), with Poiseuille resistance R = 8 mu L / (pi r^4), inductance L = rho L / (pi r^2)
 * and compliance C = 3 L pi r^3 / (2 E h), each integrated along the segment's points with r = sqrt(area / pi);
 * a Young-Tsai stenosis coefficient K_t rho / (2 A0^2) (A0 / As - 1)^2 (K_t = 1.52) on the segment holding a
 * branch's narrowest point when it is narrower than (1 - stenosisAreaReduction) times the unobstructed area A0
 * (the smaller of the widest areas upstream and downstream of it in the branch); a `NORMAL_JUNCTION` between
 * consecutive segments and at each bifurcation; a `FLOW` inflow at the inlet (the default waveform:
 * {@link aorticInflow}, scaled to the cardiac output); an `RCR` at each outlet.
 *
 * The outlets share the mean flow by outlet area (or radius^3, Murray's law); each outlet's total resistance
 * Rp + Rd is first set so that at the mean flow the inlet pressure is the target (the target minus the
 * vessels' mean pressure drop along its path, over its flow), then corrected with simulated means (with
 * {@link simulate}: each round sets it to the target minus the simulated mean drop along its path, over its
 * target flow), which also accounts for the stenoses' quadratic losses. Its capacitance is its flow share of the
 * total compliance less the vessels'.
 * @throws PhysiotwinError `INVALID_ARGUMENT` (malformed tree: no single inlet branch, a branch with under two
 *   points, non-positive radius or area; bad options; vessels whose resistance alone exceeds the target
 *   pressure; vessel compliance above the total), `SOLVER_DIVERGED` from a tuning run, `ABORTED`.
 * @example
 * ```ts
 * const { config } = zeroDModelFromCenterlines(extractCenterlines(labels), { meanPressureMmHg: 90 });
 * const result = await simulate(config);
 * ```
 */
export async function zeroDModelFromCenterlines(tree: CenterlineTree, options: ZeroDModelOptions = {}): Promise<ZeroDModel> {
  const positive = (v: number) => v > 0;
  const map = option('meanPressureMmHg', options.meanPressureMmHg, 93, positive, 'positive');
  const co = option('cardiacOutputLPerMin', options.cardiacOutputLPerMin, 5, positive, 'positive');
  const heartRate = option('heartRate', options.heartRate, 75, (v) => v >= 20 && v <= 250, 'within 20..250 beats/min');
  const rho = option('density', options.density, 1.06, positive, 'positive');
  const mu = option('viscosity', options.viscosity, 0.04, positive, 'positive');
  const E = option('youngsModulus', options.youngsModulus, 8.65e6, positive, 'positive');
  const thicknessRatio = option('wallThicknessRatio', options.wallThicknessRatio, 0.1, positive, 'positive');
  const split = option('segmentRadiusChange', options.segmentRadiusChange, 0.1, positive, 'positive');
  const stenosisReduction = option('stenosisAreaReduction', options.stenosisAreaReduction, 0.2, (v) => v > 0 && v < 1, 'within (0, 1)');
  const complianceTotal = option('totalComplianceMlPerMmHg', options.totalComplianceMlPerMmHg, 1, positive, 'positive') * conversionFactor('mL/mmHg', 'cm^3/(dyn/cm^2)');
  const proximal = option('proximalFraction', options.proximalFraction, 0.1, (v) => v >= 0 && v < 1, 'within [0, 1)');
  const cycles = option('cycles', options.cycles, 8, (v) => Number.isInteger(v) && v >= 1, 'a positive integer');
  const pts = option('pointsPerCycle', options.pointsPerCycle, 101, (v) => Number.isInteger(v) && v >= 3, 'an integer >= 3');
  const rounds = option('tuningIterations', options.tuningIterations, 4, (v) => Number.isInteger(v) && v >= 0, 'a non-negative integer');
  const outletSplit = options.outletSplit ?? 'area';
  if (outletSplit !== 'area' && outletSplit !== 'murray') throw new PhysiotwinError('INVALID_ARGUMENT', `zeroDModelFromCenterlines: outletSplit must be 'area' or 'murray', got ${JSON.stringify(outletSplit)}`);
  const cm = conversionFactor('mm', 'cm');
  const dynPerMmHg = conversionFactor('mmHg', 'dyn/cm^2');
  const pressureTarget = map * dynPerMmHg;
  const flowTarget = co * conversionFactor('L/min', 'mL/s');
  const thickness = options.wallThicknessMm === undefined ? undefined : option('wallThicknessMm', options.wallThicknessMm, 0, positive, 'positive') * cm;

  // --- the tree
  const { branches } = tree;
  const bad = (msg: string) => new PhysiotwinError('INVALID_ARGUMENT', `zeroDModelFromCenterlines: ${msg}`);
  const nPoints = tree.radius.length;
  if (branches.length === 0) throw bad('the centerline tree has no branch');
  if (tree.points.length !== 3 * nPoints || (tree.area && tree.area.length !== nPoints)) throw bad('points, radius and area disagree in length');
  const roots = branches.filter((b) => b.parent < 0);
  if (roots.length !== 1) throw bad(`the tree must start from one inlet branch, it has ${roots.length}`);
  branches.forEach((b, id) => {
    if (!(Number.isInteger(b.start) && Number.isInteger(b.count) && b.count >= 2 && b.start >= 0 && b.start + b.count <= nPoints)) throw bad(`branch ${id} needs at least 2 points within the arrays`);
    if (b.parent >= branches.length || b.children.some((c) => !(c >= 0 && c < branches.length && branches[c]!.parent === id))) throw bad(`branch ${id}'s parent and children disagree`);
    if (b.endsAtOutlet !== (b.children.length === 0)) throw bad(`branch ${id} ${b.endsAtOutlet ? 'ends at an outlet but has children' : 'has no children but does not end at an outlet'}`);
  });
  const areaCm2 = (p: number) => {
    const a = tree.area ? tree.area[p]! : Math.PI * tree.radius[p]! ** 2;
    if (!(Number.isFinite(a) && a > 0)) throw bad(`point ${p} has area ${a} mm^2`);
    return a * cm * cm;
  };
  const at = (p: number, d: number) => {
    const v = tree.points[3 * p + d]!;
    if (!Number.isFinite(v)) throw bad(`point ${p} is not finite`);
    return v * cm;
  };

  // --- vessels: segments of each branch, in branch order
  interface Segment { branch: number; index: number; from: number; to: number; R: number; L: number; C: number; S: number; length: number; radius: number }
  const segments: Segment[] = [];
  const branchSegments: number[][] = [];
  branches.forEach((b, id) => {
    const first = b.start, last = b.start + b.count - 1;
    const r = (p: number) => Math.sqrt(areaCm2(p) / Math.PI);
    // Splits follow the radius averaged over +-2 points, so that a few % of noise per point (a voxelised
    // lumen's) does not cut a uniform branch into many vessels.
    const smooth = (p: number) => {
      let sum = 0, n = 0;
      for (let q = Math.max(first, p - 2); q <= Math.min(last, p + 2); q++) (sum += r(q)), n++;
      return sum / n;
    };
    const cuts = [first];
    let sum = smooth(first), n = 1;
    for (let p = first + 1; p < last; p++) {
      const mean = sum / n;
      if (Math.abs(smooth(p) / mean - 1) > split) {
        cuts.push(p);
        (sum = smooth(p)), (n = 1);
      } else (sum += smooth(p)), n++;
    }
    cuts.push(last);
    const ids: number[] = [];
    for (let k = 0; k + 1 < cuts.length; k++) {
      let R = 0, L = 0, C = 0, length = 0, rl = 0;
      for (let p = cuts[k]!; p < cuts[k + 1]!; p++) {
        const ds = Math.hypot(at(p + 1, 0) - at(p, 0), at(p + 1, 1) - at(p, 1), at(p + 1, 2) - at(p, 2));
        const rm = 0.5 * (r(p) + r(p + 1));
        const h = thickness ?? thicknessRatio * rm;
        R += (8 * mu * ds) / (Math.PI * rm ** 4);
        L += (rho * ds) / (Math.PI * rm * rm);
        C += (3 * Math.PI * rm ** 3 * ds) / (2 * E * h);
        length += ds;
        rl += rm * ds;
      }
      if (!(length > 0)) throw bad(`branch ${id} has coincident points`);
      ids.push(segments.length);
      segments.push({ branch: id, index: k, from: cuts[k]!, to: cuts[k + 1]!, R, L, C, S: 0, length, radius: rl / length });
    }
    // Young-Tsai stenosis at the branch's narrowest point, against the widest areas on both sides of it.
    let throat = first;
    for (let p = first; p <= last; p++) if (areaCm2(p) < areaCm2(throat)) throat = p;
    let up = 0, down = 0;
    for (let p = first; p < throat; p++) up = Math.max(up, areaCm2(p));
    for (let p = throat + 1; p <= last; p++) down = Math.max(down, areaCm2(p));
    const A0 = Math.min(up, down), As = areaCm2(throat);
    if (A0 > 0 && As < (1 - stenosisReduction) * A0) {
      const seg = segments[ids.find((s) => segments[s]!.to >= throat)!]!;
      seg.S += ((KT * rho) / (2 * A0 * A0)) * (A0 / As - 1) ** 2;
    }
    branchSegments.push(ids);
  });

  // --- outlets and their mean flows
  const outletBranches = branches.map((b, id) => (b.endsAtOutlet ? id : -1)).filter((id) => id >= 0);
  const weight = outletBranches.map((id) => {
    const b = branches[id]!;
    const a = areaCm2(b.start + b.count - 1);
    return outletSplit === 'area' ? a : Math.sqrt(a / Math.PI) ** 3;
  });
  const totalWeight = weight.reduce((x, y) => x + y, 0);
  const share = weight.map((w) => w / totalWeight);
  // mean flow through each branch: the sum of its outlets' flows
  const branchFlow = new Float64Array(branches.length);
  outletBranches.forEach((id, k) => {
    for (let b = id; b >= 0; b = branches[b]!.parent) branchFlow[b] = branchFlow[b]! + share[k]! * flowTarget;
  });
  const pathDrop = (id: number) => {
    let drop = 0;
    for (let b = id; b >= 0; b = branches[b]!.parent) {
      for (const s of branchSegments[b]!) drop += segments[s]!.R * branchFlow[b]! + segments[s]!.S * branchFlow[b]! ** 2;
    }
    return drop;
  };
  const totalR = outletBranches.map((id, k) => {
    const left = pressureTarget - pathDrop(id);
    if (!(left > 0)) throw bad(`the vessels alone drop ${(pathDrop(id) / dynPerMmHg).toFixed(1)} mmHg to outlet ${k} at its mean flow, more than the target mean pressure ${map} mmHg`);
    return left / (share[k]! * flowTarget);
  });
  const vesselC = segments.reduce((x, s) => x + s.C, 0);
  if (!(vesselC < complianceTotal)) throw bad(`the vessels' compliance ${vesselC.toExponential(3)} cm^5/dyn exceeds the total ${complianceTotal.toExponential(3)}: raise totalComplianceMlPerMmHg or the wall stiffness`);
  const outletC = share.map((s) => s * (complianceTotal - vesselC));

  // --- the configuration
  const inflow = options.inflow ? { t: [...options.inflow.t], q: scaleToMean(options.inflow.t, options.inflow.q, flowTarget) } : aorticInflow(flowTarget, heartRate);
  if (options.inflow) {
    const { t, q } = options.inflow;
    if (t.length !== q.length || t.length < 2 || t[0] !== 0 || t.some((x, i) => !Number.isFinite(x) || !Number.isFinite(q[i]!) || (i > 0 && !(x > t[i - 1]!)))) throw bad('inflow needs finite, increasing t from 0 with one q per t');
  }
  const vesselName = (s: Segment) => `branch${s.branch}_seg${s.index}`;
  const bcName = (k: number) => `RCR_${k}`;
  const rcr = (k: number) => ({ bc_name: bcName(k), bc_type: 'RCR', bc_values: { Rp: proximal * totalR[k]!, C: outletC[k]!, Rd: (1 - proximal) * totalR[k]!, Pd: 0 } });
  const vessels = segments.map((s, id) => {
    const b = branches[s.branch]!;
    const ids = branchSegments[s.branch]!;
    const bc: Record<string, string> = {};
    if (b.parent < 0 && ids[0] === id) bc.inlet = 'INFLOW';
    if (b.endsAtOutlet && ids[ids.length - 1] === id) bc.outlet = bcName(outletBranches.indexOf(s.branch));
    return {
      vessel_id: id,
      vessel_name: vesselName(s),
      vessel_length: s.length,
      zero_d_element_type: 'BloodVessel',
      zero_d_element_values: { R_poiseuille: s.R, C: s.C, L: s.L, stenosis_coefficient: s.S },
      ...(Object.keys(bc).length ? { boundary_conditions: bc } : {}),
    };
  });
  const junctions: object[] = [];
  branches.forEach((b, id) => {
    const ids = branchSegments[id]!;
    for (let k = 0; k + 1 < ids.length; k++) junctions.push({ junction_name: `J${junctions.length}`, junction_type: 'NORMAL_JUNCTION', inlet_vessels: [ids[k]], outlet_vessels: [ids[k + 1]] });
    if (b.children.length) junctions.push({ junction_name: `J${junctions.length}`, junction_type: 'NORMAL_JUNCTION', inlet_vessels: [ids[ids.length - 1]], outlet_vessels: b.children.map((c) => branchSegments[c]![0]) });
  });
  const boundaryConditions = [{ bc_name: 'INFLOW', bc_type: 'FLOW', bc_values: { Q: inflow.q, t: inflow.t } }, ...outletBranches.map((_, k) => rcr(k))];
  const config: SvZeroDConfig = {
    simulation_parameters: { number_of_cardiac_cycles: cycles, number_of_time_pts_per_cardiac_cycle: pts },
    boundary_conditions: boundaryConditions,
    junctions,
    vessels,
  };

  // --- tuning: each round puts the simulated mean path drops into the outlet resistances
  const report = progressReporter(options, 'zero-d model: tuning', rounds);
  const inletVessel = branchSegments[branches.indexOf(roots[0]!)]![0]!;
  let meanInlet: number | undefined;
  let iterations = 0;
  for (let round = 0; round < rounds; round++) {
    report(round);
    const table = resultTable(await simulate(config, { signal: options.signal }), false);
    const rows = new Map<string, number[]>();
    table.name.forEach((n, i) => rows.set(n, [...(rows.get(n) ?? []), i]));
    const mean = (vessel: number, column: string) => cycleMean(table.time, table.values[column]!, rows.get(vessels[vessel]!.vessel_name)!);
    meanInlet = mean(inletVessel, 'pressure_in');
    iterations = round + 1;
    // The last round only measures, so the pressure reported is the returned model's.
    if (Math.abs(meanInlet / pressureTarget - 1) < 1e-3 || round === rounds - 1) break;
    outletBranches.forEach((id, k) => {
      const ids = branchSegments[id]!;
      const drop = meanInlet! - mean(ids[ids.length - 1]!, 'pressure_out');
      const left = pressureTarget - drop;
      if (!(left > 0)) throw bad(`the vessels alone drop ${(drop / dynPerMmHg).toFixed(1)} mmHg to outlet ${k}, more than the target mean pressure ${map} mmHg`);
      totalR[k] = left / (share[k]! * flowTarget);
      boundaryConditions[k + 1] = rcr(k);
    });
  }
  report(rounds);
  return {
    config,
    vessels: segments.map((s) => ({ name: vesselName(s), branch: s.branch, segment: s.index, lengthCm: s.length, radiusCm: s.radius })),
    outlets: outletBranches.map((id, k) => {
      const v = rcr(k).bc_values;
      return { name: bcName(k), branch: id, share: share[k]!, Rp: v.Rp, C: v.C, Rd: v.Rd };
    }),
    meanInletPressureMmHg: meanInlet === undefined ? undefined : meanInlet / dynPerMmHg,
    iterations,
  };
}
