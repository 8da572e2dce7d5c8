import { PhysiotwinError } from '@physiotwin/core';
import type { SimulationResult } from './solver.js';

/** A result table in column form (what pandas `DataFrame.to_json()` serialises). */
export interface ResultTable {
  columns: string[];
  /** name column (strings) */
  name: string[];
  /** time column (NaN for mean rows) */
  time: Float64Array;
  /** numeric columns by name */
  values: Record<string, Float64Array>;
}

/**
 * The result in svZeroDSolver's layout (`src/solve/csv_writer.cpp`): vessel-based
 * `name,time,flow_in,flow_out,pressure_in,pressure_out` (+ `d_*`) for the block types upstream lists there
 * (BloodVessel, BloodVesselCRL, ChamberSphere, LinearElastanceChamber, PiecewiseValve, in block order) or
 * variable-based `name,time,y` (+ `ydot`),
 * as the config's output options ask; `output_mean_only` gives one row per vessel/variable with an empty time.
 * @throws nothing.
 */
export function resultTable(r: SimulationResult, variableBased = r.settings.outputVariableBased): ResultTable {
  const { model, settings } = r;
  const mean = settings.outputMeanOnly;
  const deriv = settings.outputDerivative;
  const nT = r.times.length;
  const series: Array<{ name: string; dofs: number[] }> = variableBased
    ? model.dofNames.map((name, i) => ({ name, dofs: [i] }))
    : model.outputVessels.map((v) => ({ name: v.name, dofs: [v.inlets[0]!.flowDof, v.outlets[0]!.flowDof, v.inlets[0]!.presDof, v.outlets[0]!.presDof] }));
  const base = variableBased ? ['y'] : ['flow_in', 'flow_out', 'pressure_in', 'pressure_out'];
  const cols = [...base, ...(deriv ? (variableBased ? ['ydot'] : base.map((c) => `d_${c}`)) : [])];
  const rows = mean ? series.length : series.length * nT;
  const name: string[] = [];
  const time = new Float64Array(rows);
  const values: Record<string, Float64Array> = {};
  for (const c of cols) values[c] = new Float64Array(rows);
  let row = 0;
  for (const sr of series) {
    const nd = sr.dofs.length;
    if (mean) {
      name.push(sr.name);
      time[row] = Number.NaN;
      for (let k = 0; k < nd; k++) {
        let a = 0;
        let b = 0;
        for (let j = 0; j < nT; j++) {
          a += r.y[j]![sr.dofs[k]!]!;
          b += r.ydot[j]![sr.dofs[k]!]!;
        }
        values[cols[k]!]![row] = a / nT;
        if (deriv) values[cols[nd + k]!]![row] = b / nT;
      }
      row++;
      continue;
    }
    for (let j = 0; j < nT; j++) {
      name.push(sr.name);
      time[row] = r.times[j]!;
      for (let k = 0; k < nd; k++) {
        values[cols[k]!]![row] = r.y[j]![sr.dofs[k]!]!;
        if (deriv) values[cols[nd + k]!]![row] = r.ydot[j]![sr.dofs[k]!]!;
      }
      row++;
    }
  }
  return { columns: ['name', 'time', ...cols], name, time, values };
}

/** C's `%.16e`: 17 significant digits and an exponent of at least two digits. */
function fmt(x: number): string {
  if (!Number.isFinite(x)) return Number.isNaN(x) ? 'nan' : x > 0 ? 'inf' : '-inf';
  const s = x.toExponential(16);
  const i = s.indexOf('e');
  const exp = s.slice(i + 2);
  return `${s.slice(0, i)}e${s[i + 1]}${exp.length < 2 ? '0' + exp : exp}`;
}

/**
 * CSV text as svZeroDSolver writes it (`%.16e` numbers, empty time for mean rows).
 * @throws nothing.
 */
export function tableToCsv(t: ResultTable): string {
  const lines = [t.columns.join(',')];
  const cols = t.columns.slice(2);
  for (let i = 0; i < t.name.length; i++) {
    const tm = t.time[i]!;
    lines.push([t.name[i], Number.isNaN(tm) ? '' : fmt(tm), ...cols.map((c) => fmt(t.values[c]![i]!))].join(','));
  }
  return lines.join('\n') + '\n';
}

/**
 * JSON as pandas `DataFrame.to_json()` writes it: `{column: {row: value}}`, NaN as null.
 * @throws nothing.
 */
export function tableToPandasJson(t: ResultTable): string {
  const parts: string[] = [];
  const col = (c: string, get: (i: number) => string): void => {
    const cells: string[] = [];
    for (let i = 0; i < t.name.length; i++) cells.push(`"${i}":${get(i)}`);
    parts.push(`${JSON.stringify(c)}:{${cells.join(',')}}`);
  };
  const num = (x: number): string => (Number.isFinite(x) ? JSON.stringify(x) : 'null');
  col('name', (i) => JSON.stringify(t.name[i]));
  col('time', (i) => num(t.time[i]!));
  for (const c of t.columns.slice(2)) col(c, (i) => num(t.values[c]![i]!));
  return `{${parts.join(',')}}`;
}

/**
 * Reads a result table from svZeroDSolver CSV text or pandas JSON text (for plotting and comparison).
 * @throws PhysiotwinError `IO_INVALID` for JSON that does not parse or CSV whose header is not `name,time,...`, or a table without name and time columns.
 */
export function parseResultTable(text: string, source = 'result'): ResultTable {
  const trimmed = text.trimStart();
  if (trimmed.startsWith('{')) {
    let data: Record<string, Record<string, unknown>>;
    try {
      data = JSON.parse(trimmed) as Record<string, Record<string, unknown>>;
    } catch (e) {
      throw new PhysiotwinError('IO_INVALID', `not valid JSON: ${(e as Error).message}`, { location: { file: source } });
    }
    if (!data.name || !data.time) throw new PhysiotwinError('IO_INVALID', 'a result needs name and time columns', { location: { file: source } });
    const keys = Object.keys(data.name).sort((a, b) => Number(a) - Number(b));
    const cols = Object.keys(data).filter((c) => c !== 'name' && c !== 'time');
    const values: Record<string, Float64Array> = {};
    for (const c of cols) values[c] = Float64Array.from(keys, (k) => (typeof data[c]![k] === 'number' ? (data[c]![k] as number) : Number.NaN));
    return {
      columns: ['name', 'time', ...cols],
      name: keys.map((k) => String(data.name![k])),
      time: Float64Array.from(keys, (k) => (typeof data.time![k] === 'number' ? (data.time![k] as number) : Number.NaN)),
      values,
    };
  }
  const lines = text.split(/\r?\n/).filter((l) => l.length > 0);
  const header = lines[0]?.split(',') ?? [];
  if (header[0] !== 'name' || header[1] !== 'time') throw new PhysiotwinError('IO_INVALID', `expected a header starting 'name,time', got '${lines[0] ?? ''}'`, { location: { file: source } });
  const cols = header.slice(2);
  const n = lines.length - 1;
  const values: Record<string, Float64Array> = {};
  for (const c of cols) values[c] = new Float64Array(n);
  const name: string[] = [];
  const time = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    const cells = lines[i + 1]!.split(',');
    if (cells.length !== header.length) throw new PhysiotwinError('IO_INVALID', `row ${i + 2} has ${cells.length} cells, header has ${header.length}`, { location: { file: source } });
    name.push(cells[0]!);
    time[i] = cells[1] === '' ? Number.NaN : Number(cells[1]);
    cols.forEach((c, k) => (values[c]![i] = Number(cells[k + 2])));
  }
  return { columns: header, name, time, values };
}
