import { describe, expect, it } from 'vitest';
import { conversionFactor, isPhysiotwinError } from '@physiotwin/core';
import { aorticInflow, zeroDModelFromCenterlines, type CenterlineTree } from './from-centerlines.js';
import { resultTable } from './output.js';
import { simulate } from './solver.js';

/**
 * A Y tree in mm: a 100 mm parent of radius 10 along x, two 80 mm daughters of radius 6 at +-30 degrees, the
 * first with a cosine stenosis to `throat` of its radius over 20 mm centred 40 mm from the bifurcation; points
 * every mm, each branch's first point its parent's last.
 */
function yTree(throat = 0.5): CenterlineTree & { stenosis: (s: number) => number } {
  const stenosis = (s: number) => (Math.abs(s - 40) < 10 ? 6 * (1 - ((1 - throat) * (1 + Math.cos((Math.PI * (s - 40)) / 10))) / 2) : 6);
  const points: number[] = [], radius: number[] = [];
  const add = (x: number, y: number, r: number) => (points.push(x, y, 0), radius.push(r));
  for (let s = 0; s <= 100; s++) add(s, 0, 10);
  for (const [sign, profile] of [[1, stenosis], [-1, () => 6]] as const) {
    for (let s = 0; s <= 80; s++) add(100 + s * Math.cos(Math.PI / 6), sign * s * Math.sin(Math.PI / 6), profile(s));
  }
  return {
    points: Float64Array.from(points),
    radius: Float64Array.from(radius),
    branches: [
      { start: 0, count: 101, parent: -1, children: [1, 2], endsAtOutlet: false },
      { start: 101, count: 81, parent: 0, children: [], endsAtOutlet: true },
      { start: 182, count: 81, parent: 0, children: [], endsAtOutlet: true },
    ],
    stenosis,
  };
}

const MMHG = conversionFactor('mmHg', 'dyn/cm^2');

/** Mean of each vessel's columns over the last cycle, and the per-time rows. */
async function summarise(config: Record<string, unknown>) {
  const table = resultTable(await simulate(config), false);
  const rows = new Map<string, number[]>();
  table.name.forEach((n, i) => rows.set(n, [...(rows.get(n) ?? []), i]));
  const mean = (name: string, column: string) => {
    const r = rows.get(name)!;
    const t = table.time, v = table.values[column]!;
    let integral = 0;
    for (let k = 1; k < r.length; k++) integral += 0.5 * (v[r[k]!]! + v[r[k - 1]!]!) * (t[r[k]!]! - t[r[k - 1]!]!);
    return integral / (t[r.at(-1)!]! - t[r[0]!]!);
  };
  return { table, rows, mean };
}

// Keys svZeroDSolver reads (its README's block tables and tests/cases): anything else would be unknown to it.
const KNOWN = {
  top: ['simulation_parameters', 'boundary_conditions', 'junctions', 'vessels'],
  simulation: ['number_of_cardiac_cycles', 'number_of_time_pts_per_cardiac_cycle'],
  vessel: ['vessel_id', 'vessel_name', 'vessel_length', 'zero_d_element_type', 'zero_d_element_values', 'boundary_conditions'],
  vesselValues: ['R_poiseuille', 'C', 'L', 'stenosis_coefficient'],
  junction: ['junction_name', 'junction_type', 'inlet_vessels', 'outlet_vessels'],
  bc: ['bc_name', 'bc_type', 'bc_values'],
  FLOW: ['Q', 't'],
  RCR: ['Rp', 'C', 'Rd', 'Pd'],
};

describe('zeroDModelFromCenterlines', () => {
  it('builds a tuned svZeroDSolver model: mean pressure and cardiac output on target, flow conserved at every junction', async () => {
    const tree = yTree();
    const model = await zeroDModelFromCenterlines(tree);
    // JSON round trip: what `physiotwin hemo run` reads
    const config = JSON.parse(JSON.stringify(model.config)) as Record<string, unknown>;
    const { table, rows, mean } = await summarise(config);
    const vessels = config.vessels as { vessel_name: string; vessel_id: number; zero_d_element_values: Record<string, number> }[];
    const inlet = vessels[0]!.vessel_name;
    const pressure = mean(inlet, 'pressure_in') / MMHG;
    const output = (mean(inlet, 'flow_in') * 60) / 1000;
    console.info(`Y model: ${vessels.length} vessels, ${model.iterations} simulations, mean inlet pressure ${pressure.toFixed(3)} mmHg, cardiac output ${output.toFixed(4)} L/min`);
    // Targets within 5% (the issue); the tuning stops within 0.1%, and the inflow's mean is exact by construction.
    expect(Math.abs(pressure / 93 - 1)).toBeLessThan(0.05);
    expect(Math.abs(output / 5 - 1)).toBeLessThan(0.05);
    expect(Math.abs(pressure / 93 - 1)).toBeLessThan(1e-3);
    expect(model.meanInletPressureMmHg).toBeCloseTo(pressure, 9);
    // Flow conservation at every junction and time: the solver enforces it to its Newton tolerance (1e-8 of
    // residuals of order the flow), so 1e-6 relative to the cardiac output's scale.
    const scale = (5 * 1000) / 60;
    let worst = 0;
    for (const j of config.junctions as { inlet_vessels: number[]; outlet_vessels: number[] }[]) {
      const name = (id: number) => vessels[id]!.vessel_name;
      const rowsOf = (id: number) => rows.get(name(id))!;
      for (let k = 0; k < rowsOf(j.inlet_vessels[0]!).length; k++) {
        const inflow = j.inlet_vessels.reduce((s, id) => s + table.values.flow_out![rowsOf(id)[k]!]!, 0);
        const outflow = j.outlet_vessels.reduce((s, id) => s + table.values.flow_in![rowsOf(id)[k]!]!, 0);
        worst = Math.max(worst, Math.abs(inflow - outflow) / scale);
      }
    }
    expect(worst).toBeLessThan(1e-6);
    // Outlets share the flow by area (equal outlet radii: half each), within the tuning tolerance.
    const outletFlows = model.outlets.map((o) => {
      const last = vessels.filter((v) => v.vessel_name.startsWith(`branch${o.branch}_`)).at(-1)!;
      return mean(last.vessel_name, 'flow_out') / scale;
    });
    for (const f of outletFlows) expect(f).toBeCloseTo(0.5, 2);
    // Only blocks and keys svZeroDSolver knows.
    expect(Object.keys(config).every((k) => KNOWN.top.includes(k))).toBe(true);
    expect(Object.keys(config.simulation_parameters as object).every((k) => KNOWN.simulation.includes(k))).toBe(true);
    for (const v of vessels) {
      expect(Object.keys(v).every((k) => KNOWN.vessel.includes(k))).toBe(true);
      expect(Object.keys(v.zero_d_element_values).every((k) => KNOWN.vesselValues.includes(k))).toBe(true);
    }
    for (const j of config.junctions as object[]) expect(Object.keys(j).every((k) => KNOWN.junction.includes(k))).toBe(true);
    for (const b of config.boundary_conditions as { bc_type: 'FLOW' | 'RCR'; bc_values: object }[]) {
      expect(Object.keys(b).every((k) => KNOWN.bc.includes(k))).toBe(true);
      expect(Object.keys(b.bc_values).every((k) => KNOWN[b.bc_type].includes(k))).toBe(true);
    }
  });

  it('computes Poiseuille, inertance, compliance and the Young-Tsai stenosis coefficient from the geometry', async () => {
    const tree = yTree(0.5);
    const model = await zeroDModelFromCenterlines(tree, { tuningIterations: 0, wallThicknessMm: 1, youngsModulus: 4e6 });
    const vessels = model.config.vessels as { vessel_name: string; vessel_length: number; zero_d_element_values: Record<string, number> }[];
    // The parent is uniform: one vessel, 10 cm of radius 1 cm.
    const parent = vessels.filter((v) => v.vessel_name.startsWith('branch0_'));
    expect(parent).toHaveLength(1);
    const p = parent[0]!;
    expect(p.vessel_length).toBeCloseTo(10, 12);
    expect(p.zero_d_element_values.R_poiseuille).toBeCloseTo((8 * 0.04 * 10) / Math.PI, 10);
    expect(p.zero_d_element_values.L).toBeCloseTo((1.06 * 10) / Math.PI, 10);
    expect(p.zero_d_element_values.C).toBeCloseTo((3 * 10 * Math.PI) / (2 * 4e6 * 0.1), 15);
    expect(p.zero_d_element_values.stenosis_coefficient).toBe(0);
    // The stenosed daughter is split where its radius changes by more than 10%; the throat's segment carries
    // K_t rho / (2 A0^2) (A0 / As - 1)^2 with A0 = pi 0.6^2 and As = pi 0.3^2 cm^2 (A0 / As = 4).
    const stenosed = vessels.filter((v) => v.vessel_name.startsWith('branch1_'));
    expect(stenosed.length).toBeGreaterThan(3);
    const A0 = Math.PI * 0.36;
    const coefficients = stenosed.map((v) => v.zero_d_element_values.stenosis_coefficient!);
    expect(coefficients.filter((c) => c > 0)).toHaveLength(1);
    expect(Math.max(...coefficients)).toBeCloseTo(((1.52 * 1.06) / (2 * A0 * A0)) * 9, 10);
    // The segments' lengths add up to the branch (8 cm) and their resistance to the integral of 8 mu / (pi r^4).
    expect(stenosed.reduce((s, v) => s + v.vessel_length, 0)).toBeCloseTo(8, 10);
    let exact = 0;
    for (let s = 0; s < 80; s += 0.001) exact += (8 * 0.04 * 0.0001) / (Math.PI * (tree.stenosis(s + 0.0005) / 10) ** 4);
    // midpoint radii per 1 mm step vs the exact integral: second order in the step, under 1% here
    expect(Math.abs(stenosed.reduce((s, v) => s + v.zero_d_element_values.R_poiseuille!, 0) / exact - 1)).toBeLessThan(0.01);
    // Murray's law shares by radius^3; area by radius^2: equal outlets either way here.
    expect(model.outlets.map((o) => o.share)).toEqual([0.5, 0.5]);
  });

  it("splits outlet flow by area or by Murray's law", async () => {
    const tree = yTree();
    // widen the second daughter's outlet point: radius 6 -> 9 at its last point
    const radius = Float64Array.from(tree.radius as Float64Array);
    radius[262] = 9;
    const wide = { ...tree, radius };
    const byArea = (await zeroDModelFromCenterlines(wide, { tuningIterations: 0 })).outlets.map((o) => o.share);
    const byMurray = (await zeroDModelFromCenterlines(wide, { tuningIterations: 0, outletSplit: 'murray' })).outlets.map((o) => o.share);
    expect(byArea[1]! / byArea[0]!).toBeCloseTo(81 / 36, 12);
    expect(byMurray[1]! / byMurray[0]!).toBeCloseTo(729 / 216, 12);
  });

  it('uses a half-sine ejection scaled to the cardiac output as the default inflow', () => {
    const { t, q } = aorticInflow(100, 75, 201);
    expect(t.at(-1)).toBeCloseTo(0.8, 12);
    let integral = 0;
    for (let i = 1; i < t.length; i++) integral += 0.5 * (q[i]! + q[i - 1]!) * (t[i]! - t[i - 1]!);
    expect(integral / 0.8).toBeCloseTo(100, 10);
    // ejection 413 - 1.7 * 75 = 285.5 ms; no flow after it
    expect(q.every((x, i) => (t[i]! >= 0.2855 ? x === 0 : x >= 0))).toBe(true);
  });

  it('rejects malformed trees and options with INVALID_ARGUMENT', async () => {
    const tree = yTree();
    const cases: [CenterlineTree, object][] = [
      [{ ...tree, branches: [] }, {}],
      [{ ...tree, branches: tree.branches.map((b) => ({ ...b, parent: -1 })) }, {}],
      [{ ...tree, radius: Float64Array.from(tree.radius as Float64Array, (r, i) => (i === 5 ? 0 : r)) }, {}],
      [tree, { meanPressureMmHg: -1 }],
      [tree, { outletSplit: 'volume' }],
      [tree, { meanPressureMmHg: 0.001 }],
      [tree, { totalComplianceMlPerMmHg: 1e-9 }],
    ];
    for (const [t, o] of cases) {
      let error: unknown;
      try {
        await zeroDModelFromCenterlines(t, { tuningIterations: 0, ...o });
      } catch (e) {
        error = e;
      }
      expect(isPhysiotwinError(error, 'INVALID_ARGUMENT'), String(error)).toBe(true);
    }
  });
});
