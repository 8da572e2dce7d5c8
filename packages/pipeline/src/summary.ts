// What the report and the checks read from a simulated 0D model: per-vessel means and extremes, the inlet's
// pressure and flow, junction flow conservation. Pure functions over the result table.
import { conversionFactor } from '@physiotwin/core';
import type { ResultTable, SvZeroDConfig } from '@physiotwin/hemo';

/** Pressure and flow of one place in the model over the simulated (last) cycle. */
export interface WaveformStats {
  /** Vessel name (`branch<b>_seg<s>`). */
  vessel: string;
  /** Boundary condition at this end (`INFLOW`, `RCR_<k>`). */
  boundary: string;
  /** Time-averaged, maximum (systolic) and minimum (diastolic) pressure, mmHg. */
  meanPressureMmHg: number;
  systolicMmHg: number;
  diastolicMmHg: number;
  /** Time-averaged flow, mL/s. */
  meanFlowMlPerS: number;
}

/** The 0D results the pipeline reports and checks. */
export interface HemoSummary {
  /** At the inflow: its mean pressure is the model's mean arterial pressure. */
  inlet: WaveformStats;
  /** One per outlet, in the order of the config's RCR boundary conditions. */
  outlets: WaveformStats[];
  /** Mean inflow in L/min: the cardiac output. */
  cardiacOutputLPerMin: number;
  /** Largest |sum of inflows - sum of outflows| over junctions and output times, relative to the mean inflow. */
  junctionImbalance: number;
  /** Peak inlet pressure, mmHg (loads the wall). */
  peakSystolicMmHg: number;
}

interface VesselRow {
  vessel_name: string;
  boundary_conditions?: { inlet?: string; outlet?: string };
}

/** Trapezoidal mean of a column over the rows of one vessel. */
function cycleMean(time: Float64Array, values: Float64Array, rows: readonly number[]): number {
  let integral = 0;
  for (let k = 1; k < rows.length; k++) integral += 0.5 * (values[rows[k]!]! + values[rows[k - 1]!]!) * (time[rows[k]!]! - time[rows[k - 1]!]!);
  return integral / (time[rows[rows.length - 1]!]! - time[rows[0]!]!);
}

/**
 * Means, extremes, cardiac output and junction conservation of a vessel-based result table of `config`.
 * @throws nothing for a table that `resultTable` made from `config` (every vessel has rows).
 */
export function summarizeHemo(config: SvZeroDConfig, table: ResultTable): HemoSummary {
  const rows = new Map<string, number[]>();
  table.name.forEach((n, i) => {
    const r = rows.get(n);
    if (r) r.push(i);
    else rows.set(n, [i]);
  });
  const mmHg = 1 / conversionFactor('mmHg', 'dyn/cm^2');
  const stats = (vessel: string, end: 'in' | 'out', boundary: string): WaveformStats => {
    const r = rows.get(vessel)!;
    const p = table.values[`pressure_${end}`]!, q = table.values[`flow_${end}`]!;
    let max = -Infinity, min = Infinity;
    for (const i of r) (max = Math.max(max, p[i]!)), (min = Math.min(min, p[i]!));
    return { vessel, boundary, meanPressureMmHg: cycleMean(table.time, p, r) * mmHg, systolicMmHg: max * mmHg, diastolicMmHg: min * mmHg, meanFlowMlPerS: cycleMean(table.time, q, r) };
  };
  const vessels = config.vessels as VesselRow[];
  const inletVessel = vessels.find((v) => v.boundary_conditions?.inlet)!;
  const inlet = stats(inletVessel.vessel_name, 'in', inletVessel.boundary_conditions!.inlet!);
  const outlets = vessels.filter((v) => v.boundary_conditions?.outlet).map((v) => stats(v.vessel_name, 'out', v.boundary_conditions!.outlet!));
  outlets.sort((a, b) => a.boundary.localeCompare(b.boundary, 'en', { numeric: true }));
  let worst = 0;
  const scale = Math.abs(inlet.meanFlowMlPerS);
  for (const j of (config.junctions ?? []) as { inlet_vessels: number[]; outlet_vessels: number[] }[]) {
    const rowsOf = (id: number) => rows.get(vessels[id]!.vessel_name)!;
    const n = rowsOf(j.inlet_vessels[0]!).length;
    for (let k = 0; k < n; k++) {
      const q = (ids: number[], column: string) => ids.reduce((s, id) => s + table.values[column]![rowsOf(id)[k]!]!, 0);
      worst = Math.max(worst, Math.abs(q(j.inlet_vessels, 'flow_out') - q(j.outlet_vessels, 'flow_in')) / scale);
    }
  }
  return {
    inlet,
    outlets,
    cardiacOutputLPerMin: inlet.meanFlowMlPerS * conversionFactor('mL/s', 'L/min'),
    junctionImbalance: worst,
    peakSystolicMmHg: inlet.systolicMmHg,
  };
}
