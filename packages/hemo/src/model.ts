import { PhysiotwinError } from '@physiotwin/core';
import { ACTIVATION_PARAMS, Activation, type ActivationType } from './activation.js';
import type { Block } from './blocks.js';
import {
  BloodVessel,
  BloodVesselCRL,
  BloodVesselJunction,
  BloodVesselRC,
  ChamberSphere,
  ClosedLoopCoronaryBC,
  ClosedLoopHeart,
  ClosedLoopRCR,
  ElastanceChamber,
  FlowBC,
  Junction,
  OpenLoopCoronaryBC,
  PiecewiseValve,
  PressureBC,
  ResistanceBC,
  ValveTanh,
  WindkesselBC,
  type BlockNode,
} from './blocks.js';
import { compileTimeFunction } from './expression.js';
import { Parameter } from './parameter.js';

/** A svZeroDSolver input file (JSON), as parsed. Sections other than these are rejected. */
export type SvZeroDConfig = Record<string, unknown>;

/** Simulation settings (svZeroDSolver `simulation_parameters`), with upstream defaults applied. */
export interface SimulationSettings {
  numberOfCycles: number;
  ptsPerCycle: number;
  /** Newton stops when max |residual| < absoluteTolerance. @default 1e-8 */
  absoluteTolerance: number;
  /** @default 30 */
  maxNonlinearIterations: number;
  /** @default true */
  steadyInitial: boolean;
  /** Spectral radius of generalized-alpha. @default 0.5 */
  rhoInfinity: number;
  outputVariableBased: boolean;
  outputInterval: number;
  outputMeanOnly: boolean;
  outputDerivative: boolean;
  outputAllCycles: boolean;
  /** Period from `cardiac_period`, when given (s). */
  cardiacPeriod: number | undefined;
  useCycleToCycleError: boolean;
  /** Relative tolerance for the cycle-to-cycle check (fraction, from the percent value). @default 0.01 */
  cycleToCycleError: number;
}

/** Spec of one block parameter. */
interface ParamSpec {
  name: string;
  /** Default when absent (undefined: mandatory). */
  def?: number;
  /** May be a time series with `t`. */
  series?: boolean;
}

const p = (name: string, def?: number, series?: boolean): ParamSpec => ({ name, ...(def !== undefined ? { def } : {}), ...(series ? { series } : {}) });
const s = (name: string, def?: number): ParamSpec => p(name, def, true);

/** Parameters per block type (names as in the svZeroDSolver JSON). */
const SPECS: Record<string, readonly ParamSpec[]> = {
  BloodVessel: [p('R_poiseuille'), p('C', 0), p('L', 0), p('stenosis_coefficient', 0)],
  BloodVesselCRL: [p('R_poiseuille'), p('C', 0), p('L', 0), p('stenosis_coefficient', 0)],
  BloodVesselRC: [p('Rpd'), p('Cp')],
  ChamberSphere: ['rho', 'thick0', 'radius0', 'W1', 'W2', 'eta', 'sigma_max', 'alpha_max', 'alpha_min', 'tsys', 'tdias', 'steepness'].map((n) => p(n)),
  FLOW: [s('Q')],
  PRESSURE: [s('P')],
  RESISTANCE: [s('R'), s('Pd')],
  RCR: [s('Rp'), s('C'), s('Rd'), s('Pd', 0)],
  CORONARY: [s('Ra1'), s('Ra2'), s('Rv1'), s('Ca'), s('Cc'), s('Pim'), s('P_v')],
  CORONARY_VAR_RES: [p('Ra1'), p('Rv1'), p('Ca'), p('Cc'), s('Pim'), p('P_v'), p('Ra2_min'), p('Ra2_max'), p('T_vc'), p('T_vr')],
  ClosedLoopRCR: [p('Rp'), p('C'), p('Rd')],
  ClosedLoopCoronaryLeft: [p('Ra'), p('Ram'), p('Rv'), p('Ca'), p('Cim')],
  ClosedLoopCoronaryRight: [p('Ra'), p('Ram'), p('Rv'), p('Ca'), p('Cim')],
  ValveTanh: [p('Rmax'), p('Rmin'), p('Steepness')],
  PiecewiseValve: [p('Rmax'), p('Rmin')],
  ChamberElastanceInductor: [p('Emax'), p('Emin'), p('Vrd'), p('Vrs'), p('Impedance')],
  ChamberElastanceInductorExponential: [p('Impedance'), p('Emax'), p('Kxp'), p('Kxv'), p('Vaso')],
  LinearElastanceChamber: [p('Emax'), p('Epass'), p('Vrest')],
  ClosedLoopHeartAndPulmonary: [
    'Tsa', 'tpwave', 'Erv_s', 'Elv_s', 'iml', 'imr', 'Lra_v', 'Rra_v', 'Lrv_a', 'Rrv_a', 'Lla_v', 'Rla_v', 'Llv_a', 'Rlv_ao',
    'Vrv_u', 'Vlv_u', 'Rpd', 'Cp', 'Cpa', 'Kxp_ra', 'Kxv_ra', 'Kxp_la', 'Kxv_la', 'Emax_ra', 'Emax_la', 'Vaso_ra', 'Vaso_la',
  ].map((n) => p(n)),
};

/** Non-numeric keys a block's value object may carry. */
const EXTRA_KEYS: Record<string, readonly string[]> = {
  ClosedLoopRCR: ['closed_loop_outlet', 'unsteady'],
  CORONARY_VAR_RES: ['closed_loop_outlet'],
  ValveTanh: ['upstream_block', 'downstream_block'],
  PiecewiseValve: ['upstream_block', 'downstream_block'],
};

const VESSEL_TYPES = ['BloodVessel', 'BloodVesselCRL', 'BloodVesselRC', 'ChamberSphere'];
const BC_TYPES = ['FLOW', 'PRESSURE', 'RESISTANCE', 'RCR', 'CORONARY', 'CORONARY_VAR_RES', 'ClosedLoopRCR', 'ClosedLoopCoronaryLeft', 'ClosedLoopCoronaryRight'];
const JUNCTION_TYPES = ['NORMAL_JUNCTION', 'BloodVesselJunction'];
const VALVE_TYPES = ['ValveTanh', 'PiecewiseValve'];
const CHAMBER_TYPES = ['ChamberElastanceInductor', 'ChamberElastanceInductorExponential', 'LinearElastanceChamber', 'ChamberSphere'];
const TOP_KEYS = ['description', 'simulation_parameters', 'vessels', 'junctions', 'boundary_conditions', 'valves', 'chambers', 'closed_loop_blocks', 'initial_condition', 'initial_condition_d'];

function invalid(message: string, jsonPath: string): PhysiotwinError {
  return new PhysiotwinError('CONFIG_INVALID', message, { location: { jsonPath } });
}

function isObj(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function obj(v: unknown, path: string): Record<string, unknown> {
  if (!isObj(v)) throw invalid(`expected an object`, path);
  return v;
}

function arr(v: unknown, path: string): unknown[] {
  if (!Array.isArray(v)) throw invalid(`expected an array`, path);
  return v;
}

function str(v: unknown, path: string): string {
  if (typeof v !== 'string' || v.length === 0) throw invalid(`expected a non-empty string`, path);
  return v;
}

function num(v: unknown, path: string): number {
  if (typeof v !== 'number' || !Number.isFinite(v)) throw invalid(`expected a finite number, got ${JSON.stringify(v)}`, path);
  return v;
}

function bool(v: unknown, path: string): boolean {
  if (typeof v !== 'boolean') throw invalid(`expected true or false, got ${JSON.stringify(v)}`, path);
  return v;
}

function int(v: unknown, path: string, min: number): number {
  const n = num(v, path);
  if (!Number.isInteger(n) || n < min) throw invalid(`expected an integer >= ${min}, got ${n}`, path);
  return n;
}

/**
 * Reads and validates `simulation_parameters` (svZeroDSolver defaults).
 * @throws PhysiotwinError `CONFIG_INVALID` with the JSON path of the offending entry
 */
export function readSimulationSettings(config: SvZeroDConfig): SimulationSettings {
  const base = '$.simulation_parameters';
  const sp = obj(config.simulation_parameters, base);
  // Unknown keys are ignored, as upstream does (its own configs carry optional flags such as max_iter_warning).
  if (sp.coupled_simulation === true) throw invalid('coupled (external solver) simulations are not supported', `${base}.coupled_simulation`);
  const opt = <T>(k: string, f: (v: unknown, path: string) => T, d: T): T => (sp[k] === undefined ? d : f(sp[k], `${base}.${k}`));
  if (sp.number_of_cardiac_cycles === undefined) throw invalid('number_of_cardiac_cycles is mandatory', `${base}.number_of_cardiac_cycles`);
  if (sp.number_of_time_pts_per_cardiac_cycle === undefined) throw invalid('number_of_time_pts_per_cardiac_cycle is mandatory', `${base}.number_of_time_pts_per_cardiac_cycle`);
  const settings: SimulationSettings = {
    numberOfCycles: int(sp.number_of_cardiac_cycles, `${base}.number_of_cardiac_cycles`, 1),
    ptsPerCycle: int(sp.number_of_time_pts_per_cardiac_cycle, `${base}.number_of_time_pts_per_cardiac_cycle`, 2),
    absoluteTolerance: opt('absolute_tolerance', num, 1e-8),
    maxNonlinearIterations: opt('maximum_nonlinear_iterations', (v, q) => int(v, q, 1), 30),
    steadyInitial: opt('steady_initial', bool, true),
    rhoInfinity: opt('rho_infty', num, 0.5),
    outputVariableBased: opt('output_variable_based', bool, false),
    outputInterval: opt('output_interval', (v, q) => int(v, q, 1), 1),
    outputMeanOnly: opt('output_mean_only', bool, false),
    outputDerivative: opt('output_derivative', bool, false),
    outputAllCycles: opt('output_all_cycles', bool, false),
    cardiacPeriod: sp.cardiac_period === undefined ? undefined : num(sp.cardiac_period, `${base}.cardiac_period`),
    useCycleToCycleError: opt('use_cycle_to_cycle_error', bool, false),
    cycleToCycleError: opt('sim_cycle_to_cycle_percent_error', num, 1) / 100,
  };
  if (!(settings.absoluteTolerance > 0)) throw invalid('absolute_tolerance must be > 0', `${base}.absolute_tolerance`);
  if (!(settings.rhoInfinity >= 0 && settings.rhoInfinity <= 1)) throw invalid('rho_infty must lie in [0, 1]', `${base}.rho_infty`);
  if (settings.cardiacPeriod !== undefined && !(settings.cardiacPeriod > 0)) throw invalid('cardiac_period must be > 0', `${base}.cardiac_period`);
  if (settings.useCycleToCycleError && settings.numberOfCycles < 2) throw invalid('use_cycle_to_cycle_error needs at least 2 cardiac cycles', `${base}.number_of_cardiac_cycles`);
  if (!(settings.cycleToCycleError > 0)) throw invalid('sim_cycle_to_cycle_percent_error must be > 0', `${base}.sim_cycle_to_cycle_percent_error`);
  return settings;
}

/** A connection ordered as upstream creates it. */
interface Connection {
  from: string;
  to: string;
  path: string;
}

/** The assembled lumped-parameter model: blocks, unknowns, parameters. */
export interface Model {
  blocks: Block[];
  /** Blocks by name. */
  byName: Map<string, Block>;
  nodes: BlockNode[];
  /** Unknown names (`flow:a:b`, `pressure:a:b`, `<internal>:<block>`), in unknown order. */
  dofNames: string[];
  /** Block that owns each equation. */
  eqOwner: Block[];
  params: Parameter[];
  /** `block.param` -> parameter id (for ensembles; list entries as `block.R_poiseuille[0]`). */
  paramIds: Map<string, number>;
  /** Cardiac period (s). */
  period: number;
  /** Largest RCR time constant Rd*C (s), 0 without RCR blocks. */
  largestWindkesselTau: number;
  hasWindkessel: boolean;
  /** Vessel blocks (outputs of the vessel-based layout), in config order. */
  vessels: Block[];
}

/**
 * Builds the DAE model of a svZeroDSolver config, numbering unknowns exactly as svZeroDSolver does
 * (`src/solve/SimulationParameters.cpp`: vessels, boundary conditions, junctions, closed-loop blocks,
 * valves, chambers; nodes in connection order, each with flow then pressure; then internal variables).
 * @throws PhysiotwinError `CONFIG_INVALID` (unknown block or parameter, missing parameter, dangling
 *   connection, inconsistent cardiac period, ...) with the JSON path
 */
export function buildModel(config: SvZeroDConfig, settings: SimulationSettings): Model {
  if (!isObj(config)) throw invalid('the configuration must be a JSON object', '$');
  for (const k of Object.keys(config)) if (!k.startsWith('_') && !TOP_KEYS.includes(k)) throw invalid(`unknown section '${k}'`, `$.${k}`);
  if (config.boundary_conditions === undefined) throw invalid('define at least one boundary condition', '$.boundary_conditions');

  const params: Parameter[] = [];
  const paramIds = new Map<string, number>();
  const blocks: Block[] = [];
  const byName = new Map<string, Block>();
  const blockPath = new Map<string, string>();
  const connections: Connection[] = [];
  let seriesPeriod: number | undefined;
  let seriesPeriodPath = '';
  let largestTau = 0;
  let hasWindkessel = false;

  const addParam = (block: string, name: string, prm: Parameter): number => {
    params.push(prm);
    paramIds.set(`${block}.${name}`, params.length - 1);
    return params.length - 1;
  };

  /** Reads the parameters of `type` from `values` at `path`; returns name -> parameter id. */
  const readParams = (type: string, blockName: string, values: Record<string, unknown>, path: string, extra: readonly string[] = []): Record<string, number> => {
    const specs = SPECS[type]!;
    const allowed = new Set([...specs.map((q) => q.name), ...(EXTRA_KEYS[type] ?? []), ...extra]);
    const hasSeries = specs.some((q) => q.series);
    if (hasSeries) allowed.add('t');
    // `fn` is the inflow or pressure of a boundary condition as a formula of time (README); elsewhere it could
    // silently stand for a parameter the solver treats as constant or holds at its steady mean (RCR C).
    if (type === 'FLOW' || type === 'PRESSURE') allowed.add('fn');
    else if (values.fn !== undefined) throw invalid(`'fn' (a time expression) is accepted for FLOW and PRESSURE boundary conditions only, not for ${type} block '${blockName}'`, `${path}.fn`);
    for (const k of Object.keys(values)) if (!k.startsWith('_') && !allowed.has(k)) throw invalid(`unknown parameter '${k}' for ${type} block '${blockName}'`, `${path}.${k}`);
    // An `fn` expression stands for the one time-dependent parameter the values leave out (Q of FLOW,
    // P of PRESSURE); with none or several left out it would be ambiguous.
    let fnParam: string | undefined;
    if (values.fn !== undefined) {
      const open = specs.filter((q) => q.series && values[q.name] === undefined).map((q) => q.name);
      if (open.length !== 1) throw invalid(`'fn' must stand for exactly one time-dependent parameter of ${type} block '${blockName}', but ${open.length === 0 ? 'all are given' : `${open.join(', ')} are all left out`}`, `${path}.fn`);
      fnParam = open[0];
    }
    const ids: Record<string, number> = {};
    for (const spec of specs) {
      const v = values[spec.name];
      const vp = `${path}.${spec.name}`;
      let prm: Parameter;
      if (spec.name === fnParam) prm = Parameter.fromFunction(compileTimeFunction(str(values.fn, `${path}.fn`), `${path}.fn`));
      else if (v === undefined) {
        if (spec.def === undefined) throw invalid(`missing parameter '${spec.name}' of ${type} block '${blockName}'`, vp);
        prm = new Parameter(spec.def);
      } else if (Array.isArray(v)) {
        if (!spec.series) throw invalid(`parameter '${spec.name}' of ${type} must be a number, not a time series`, vp);
        const vals = v.map((x, i) => num(x, `${vp}[${i}]`));
        if (vals.length === 0) throw invalid('empty time series', vp);
        if (vals.length === 1) prm = new Parameter(vals[0]!);
        else {
          const t = arr(values.t, `${path}.t`).map((x, i) => num(x, `${path}.t[${i}]`));
          if (t.length !== vals.length) throw invalid(`'t' has ${t.length} samples but '${spec.name}' has ${vals.length}`, `${path}.t`);
          for (let i = 1; i < t.length; i++) if (!(t[i]! > t[i - 1]!)) throw invalid('time samples must increase strictly', `${path}.t[${i}]`);
          prm = new Parameter(t, vals);
          if (seriesPeriod !== undefined && prm.period !== seriesPeriod) {
            throw invalid(`Inconsistent cardiac cycle period: this series spans ${prm.period} s but ${seriesPeriodPath} spans ${seriesPeriod} s`, `${path}.t`);
          }
          seriesPeriod = prm.period;
          seriesPeriodPath = `${path}.t`;
        }
      } else prm = new Parameter(num(v, vp));
      ids[spec.name] = addParam(blockName, spec.name, prm);
    }
    return ids;
  };

  const register = (block: Block, path: string): void => {
    if (byName.has(block.name)) throw invalid(`duplicate block name '${block.name}' (also at ${blockPath.get(block.name)})`, path);
    byName.set(block.name, block);
    blockPath.set(block.name, path);
    blocks.push(block);
  };

  const makeVesselLike = (type: string, name: string, values: Record<string, unknown>, path: string): Block => {
    const ids = readParams(type, name, values, path);
    switch (type) {
      case 'BloodVessel':
        return new BloodVessel(name, type, 'vessel', ids);
      case 'BloodVesselCRL':
        return new BloodVesselCRL(name, type, 'vessel', ids);
      case 'BloodVesselRC':
        return new BloodVesselRC(name, type, 'vessel', ids);
      default:
        return new ChamberSphere(name, type, 'vessel', ids);
    }
  };

  // 1. vessels
  const vesselIdMap = new Map<number, string>();
  const vessels: Block[] = [];
  if (config.vessels !== undefined) {
    arr(config.vessels, '$.vessels').forEach((raw, i) => {
      const path = `$.vessels[${i}]`;
      const vc = obj(raw, path);
      const name = str(vc.vessel_name, `${path}.vessel_name`);
      const id = num(vc.vessel_id, `${path}.vessel_id`);
      const type = str(vc.zero_d_element_type, `${path}.zero_d_element_type`);
      if (!VESSEL_TYPES.includes(type)) throw invalid(`unknown vessel block type '${type}' (known: ${VESSEL_TYPES.join(', ')})`, `${path}.zero_d_element_type`);
      if (vesselIdMap.has(id)) throw invalid(`duplicate vessel_id ${id}`, `${path}.vessel_id`);
      vesselIdMap.set(id, name);
      const block = makeVesselLike(type, name, obj(vc.zero_d_element_values, `${path}.zero_d_element_values`), `${path}.zero_d_element_values`);
      register(block, path);
      vessels.push(block);
      if (vc.boundary_conditions !== undefined) {
        const bcs = obj(vc.boundary_conditions, `${path}.boundary_conditions`);
        for (const k of Object.keys(bcs)) if (k !== 'inlet' && k !== 'outlet') throw invalid(`unknown key '${k}' (expected inlet or outlet)`, `${path}.boundary_conditions.${k}`);
        if (bcs.inlet !== undefined) connections.push({ from: str(bcs.inlet, `${path}.boundary_conditions.inlet`), to: name, path: `${path}.boundary_conditions.inlet` });
        if (bcs.outlet !== undefined) connections.push({ from: name, to: str(bcs.outlet, `${path}.boundary_conditions.outlet`), path: `${path}.boundary_conditions.outlet` });
      }
    });
  }

  // 2. boundary conditions
  const closedLoopBcs: string[] = [];
  const coronaries: ClosedLoopCoronaryBC[] = [];
  arr(config.boundary_conditions, '$.boundary_conditions').forEach((raw, i) => {
    const path = `$.boundary_conditions[${i}]`;
    const bc = obj(raw, path);
    const name = str(bc.bc_name, `${path}.bc_name`);
    const type = str(bc.bc_type, `${path}.bc_type`);
    if (!BC_TYPES.includes(type)) throw invalid(`unknown boundary condition type '${type}' (known: ${BC_TYPES.join(', ')})`, `${path}.bc_type`);
    const vp = `${path}.bc_values`;
    const values = obj(bc.bc_values, vp);
    const ids = readParams(type, name, values, vp);
    let block: Block;
    switch (type) {
      case 'FLOW':
        block = new FlowBC(name, type, 'boundary_condition', ids);
        break;
      case 'PRESSURE':
        block = new PressureBC(name, type, 'boundary_condition', ids);
        break;
      case 'RESISTANCE':
        block = new ResistanceBC(name, type, 'boundary_condition', ids);
        break;
      case 'RCR': {
        block = new WindkesselBC(name, type, 'boundary_condition', ids);
        hasWindkessel = true;
        largestTau = Math.max(largestTau, params[ids.Rd!]!.get(0) * params[ids.C!]!.get(0));
        break;
      }
      case 'CORONARY':
      case 'CORONARY_VAR_RES':
        block = new OpenLoopCoronaryBC(name, type, ids, type === 'CORONARY_VAR_RES');
        break;
      case 'ClosedLoopRCR': {
        block = new ClosedLoopRCR(name, type, 'boundary_condition', ids);
        const clo = values.closed_loop_outlet === undefined ? false : bool(values.closed_loop_outlet, `${vp}.closed_loop_outlet`);
        if (clo) closedLoopBcs.push(name);
        break;
      }
      default: {
        const cor = new ClosedLoopCoronaryBC(name, type, 'closed_loop', ids);
        coronaries.push(cor);
        block = cor;
        closedLoopBcs.push(name);
      }
    }
    register(block, path);
  });

  // 3. junctions
  if (config.junctions !== undefined) {
    arr(config.junctions, '$.junctions').forEach((raw, i) => {
      const path = `$.junctions[${i}]`;
      const jc = obj(raw, path);
      const name = str(jc.junction_name, `${path}.junction_name`);
      const type = str(jc.junction_type, `${path}.junction_type`);
      if (!JUNCTION_TYPES.includes(type)) throw invalid(`unknown junction type '${type}' (known: ${JUNCTION_TYPES.join(', ')})`, `${path}.junction_type`);
      const ins: Array<[string, string]> = [];
      const outs: Array<[string, string]> = [];
      if (jc.inlet_vessels !== undefined || jc.outlet_vessels !== undefined) {
        arr(jc.inlet_vessels, `${path}.inlet_vessels`).forEach((v, k) => ins.push([vesselName(vesselIdMap, v, `${path}.inlet_vessels[${k}]`), `${path}.inlet_vessels[${k}]`]));
        arr(jc.outlet_vessels, `${path}.outlet_vessels`).forEach((v, k) => outs.push([vesselName(vesselIdMap, v, `${path}.outlet_vessels[${k}]`), `${path}.outlet_vessels[${k}]`]));
      } else if (jc.inlet_blocks !== undefined || jc.outlet_blocks !== undefined) {
        arr(jc.inlet_blocks, `${path}.inlet_blocks`).forEach((v, k) => ins.push([str(v, `${path}.inlet_blocks[${k}]`), `${path}.inlet_blocks[${k}]`]));
        arr(jc.outlet_blocks, `${path}.outlet_blocks`).forEach((v, k) => outs.push([str(v, `${path}.outlet_blocks[${k}]`), `${path}.outlet_blocks[${k}]`]));
      } else throw invalid('a junction needs inlet_vessels/outlet_vessels or inlet_blocks/outlet_blocks', path);
      let block: Block;
      if (type === 'NORMAL_JUNCTION') {
        if (jc.junction_values !== undefined && Object.keys(obj(jc.junction_values, `${path}.junction_values`)).some((k) => !k.startsWith('_'))) {
          throw invalid('NORMAL_JUNCTION takes no junction_values', `${path}.junction_values`);
        }
        block = new Junction(name, type, 'junction', {});
      } else {
        if (ins.length !== 1) throw invalid('BloodVesselJunction supports exactly one inlet', path);
        const vp = `${path}.junction_values`;
        const values = obj(jc.junction_values, vp);
        const ids: Record<string, number> = {};
        for (const key of Object.keys(values)) if (!key.startsWith('_') && !['R_poiseuille', 'L', 'stenosis_coefficient'].includes(key)) throw invalid(`unknown parameter '${key}' for BloodVesselJunction`, `${vp}.${key}`);
        for (const key of ['R_poiseuille', 'L', 'stenosis_coefficient']) {
          const list = values[key] === undefined && key === 'stenosis_coefficient' ? outs.map(() => 0) : arr(values[key], `${vp}.${key}`);
          if (list.length !== outs.length) throw invalid(`'${key}' needs one value per outlet (${outs.length}), got ${list.length}`, `${vp}.${key}`);
          list.forEach((x, k) => (ids[`${key}[${k}]`] = addParam(name, `${key}[${k}]`, new Parameter(num(x, `${vp}.${key}[${k}]`)))));
        }
        block = new BloodVesselJunction(name, type, 'junction', ids);
      }
      register(block, path);
      for (const [b, bp] of ins) connections.push({ from: b, to: name, path: bp });
      for (const [b, bp] of outs) connections.push({ from: name, to: b, path: bp });
    });
  }

  // 4. closed-loop blocks
  let heart: ClosedLoopHeart | undefined;
  let heartPeriod: number | undefined;
  if (config.closed_loop_blocks !== undefined) {
    arr(config.closed_loop_blocks, '$.closed_loop_blocks').forEach((raw, i) => {
      const path = `$.closed_loop_blocks[${i}]`;
      const cl = obj(raw, path);
      const type = str(cl.closed_loop_type, `${path}.closed_loop_type`);
      if (type !== 'ClosedLoopHeartAndPulmonary') throw invalid(`unknown closed-loop block type '${type}'`, `${path}.closed_loop_type`);
      if (heart) throw invalid('only one ClosedLoopHeartAndPulmonary block is allowed', path);
      heartPeriod = num(cl.cardiac_cycle_period, `${path}.cardiac_cycle_period`);
      if (!(heartPeriod > 0)) throw invalid('cardiac_cycle_period must be > 0', `${path}.cardiac_cycle_period`);
      if (seriesPeriod !== undefined && seriesPeriod !== heartPeriod) throw invalid(`Inconsistent cardiac cycle period: ${heartPeriod} s here, ${seriesPeriod} s at ${seriesPeriodPath}`, `${path}.cardiac_cycle_period`);
      const ids = readParams(type, 'CLH', obj(cl.parameters, `${path}.parameters`), `${path}.parameters`);
      heart = new ClosedLoopHeart('CLH', type, 'closed_loop', ids);
      register(heart, path);
      connections.push({ from: 'J_heart_inlet', to: 'CLH', path });
      register(new Junction('J_heart_inlet', 'NORMAL_JUNCTION', 'junction', {}), path);
      for (const b of closedLoopBcs) connections.push({ from: b, to: 'J_heart_inlet', path });
      connections.push({ from: 'CLH', to: 'J_heart_outlet', path });
      register(new Junction('J_heart_outlet', 'NORMAL_JUNCTION', 'junction', {}), path);
      arr(cl.outlet_blocks, `${path}.outlet_blocks`).forEach((b, k) => connections.push({ from: 'J_heart_outlet', to: str(b, `${path}.outlet_blocks[${k}]`), path: `${path}.outlet_blocks[${k}]` }));
    });
  }

  // 5. valves
  if (config.valves !== undefined) {
    arr(config.valves, '$.valves').forEach((raw, i) => {
      const path = `$.valves[${i}]`;
      const vc = obj(raw, path);
      const name = str(vc.name, `${path}.name`);
      const type = str(vc.type, `${path}.type`);
      if (!VALVE_TYPES.includes(type)) throw invalid(`unknown valve type '${type}' (known: ${VALVE_TYPES.join(', ')})`, `${path}.type`);
      const values = obj(vc.params, `${path}.params`);
      const ids = readParams(type, name, values, `${path}.params`);
      register(type === 'ValveTanh' ? new ValveTanh(name, type, 'valve', ids) : new PiecewiseValve(name, type, 'valve', ids), path);
      connections.push({ from: str(values.upstream_block, `${path}.params.upstream_block`), to: name, path: `${path}.params.upstream_block` });
      connections.push({ from: name, to: str(values.downstream_block, `${path}.params.downstream_block`), path: `${path}.params.downstream_block` });
    });
  }

  // Cardiac period: series, heart block and simulation_parameters.cardiac_period must agree.
  let modelPeriod = seriesPeriod ?? heartPeriod;
  if (settings.cardiacPeriod !== undefined) {
    if (modelPeriod !== undefined && modelPeriod !== settings.cardiacPeriod) {
      throw invalid(`Inconsistent cardiac cycle period: cardiac_period is ${settings.cardiacPeriod} s but the model's time series span ${modelPeriod} s (${seriesPeriodPath || 'closed_loop_blocks'})`, '$.simulation_parameters.cardiac_period');
    }
    modelPeriod = settings.cardiacPeriod;
  }
  const period = modelPeriod ?? 1;

  // 6. chambers (activation functions need the period)
  if (config.chambers !== undefined) {
    arr(config.chambers, '$.chambers').forEach((raw, i) => {
      const path = `$.chambers[${i}]`;
      const cc = obj(raw, path);
      const name = str(cc.name, `${path}.name`);
      const type = str(cc.type, `${path}.type`);
      if (!CHAMBER_TYPES.includes(type)) throw invalid(`unknown chamber type '${type}' (known: ${CHAMBER_TYPES.join(', ')})`, `${path}.type`);
      const vp = `${path}.values`;
      const values = obj(cc.values, vp);
      if (type === 'ChamberSphere') {
        register(makeVesselLike(type, name, values, vp), path);
        return;
      }
      // Older configs give the half-cosine times among the values.
      const legacy = cc.activation_function === undefined && values.t_active !== undefined;
      const ids = readParams(type, name, values, vp, legacy ? ['t_active', 't_twitch'] : []);
      let act: Activation;
      if (legacy) act = new Activation('half_cosine', { t_active: num(values.t_active, `${vp}.t_active`), t_twitch: num(values.t_twitch, `${vp}.t_twitch`) }, period, vp);
      else {
        const ap = `${path}.activation_function`;
        const af = obj(cc.activation_function, ap);
        const at = str(af.type, `${ap}.type`) as ActivationType;
        const names = ACTIVATION_PARAMS[at];
        if (!names) throw invalid(`unknown activation function '${at}' (known: ${Object.keys(ACTIVATION_PARAMS).join(', ')})`, `${ap}.type`);
        for (const k of Object.keys(af)) if (k !== 'type' && !k.startsWith('_') && !names.includes(k)) throw invalid(`unknown parameter '${k}' of ${at} activation`, `${ap}.${k}`);
        const ap2: Record<string, number> = {};
        for (const k of names) {
          if (af[k] === undefined) throw invalid(`missing parameter '${k}' of ${at} activation`, `${ap}.${k}`);
          ap2[k] = num(af[k], `${ap}.${k}`);
        }
        act = new Activation(at, ap2, period, ap);
      }
      register(new ElastanceChamber(name, type as 'ChamberElastanceInductor', ids, act), path);
    });
  }

  // Nodes in connection order: each joins the outlet of `from` to the inlet of `to`.
  const nodes: BlockNode[] = [];
  const dofNames: string[] = [];
  for (const c of connections) {
    const a = byName.get(c.from);
    const b = byName.get(c.to);
    if (!a) throw invalid(`connection refers to unknown block '${c.from}'`, c.path);
    if (!b) throw invalid(`connection refers to unknown block '${c.to}'`, c.path);
    const node: BlockNode = { name: `${a.name}:${b.name}`, flowDof: dofNames.length, presDof: dofNames.length + 1 };
    dofNames.push(`flow:${node.name}`, `pressure:${node.name}`);
    nodes.push(node);
    a.outlets.push(node);
    b.inlets.push(node);
  }
  // Port counts each block type needs.
  for (const b of blocks) {
    const path = blockPath.get(b.name)!;
    const nIn = b.inlets.length;
    const nOut = b.outlets.length;
    const isBc = b.cls === 'boundary_condition' && !(b instanceof ClosedLoopRCR) && !(b instanceof ClosedLoopCoronaryBC);
    if (isBc) {
      if (nIn + nOut !== 1) throw invalid(`boundary condition '${b.name}' must be connected to exactly one block (it has ${nIn + nOut} connections)`, path);
    } else if (b instanceof Junction || b instanceof BloodVesselJunction) {
      if (nIn < 1 || nOut < 1) throw invalid(`junction '${b.name}' needs at least one inlet and one outlet`, path);
    } else if (nIn !== 1 || nOut !== 1) {
      throw invalid(`block '${b.name}' (${b.type}) needs exactly one inlet and one outlet connection (has ${nIn} and ${nOut})`, path);
    }
  }
  for (const b of blocks) {
    const v: number[] = [];
    for (const nd of b.inlets) v.push(nd.presDof, nd.flowDof);
    for (const nd of b.outlets) v.push(nd.presDof, nd.flowDof);
    for (const iname of b.internals()) {
      v.push(dofNames.length);
      dofNames.push(`${iname}:${b.name}`);
    }
    b.v = v;
  }
  const eqOwner: Block[] = [];
  for (const b of blocks) {
    b.e = [];
    for (let k = 0; k < b.numEquations(); k++) {
      b.e.push(eqOwner.length);
      eqOwner.push(b);
    }
  }
  if (eqOwner.length !== dofNames.length) {
    throw invalid(`the model has ${eqOwner.length} equations for ${dofNames.length} unknowns: check the connections of boundary conditions and junctions`, '$');
  }
  for (const cor of coronaries) {
    if (!heart) throw invalid(`${cor.type} '${cor.name}' needs a ClosedLoopHeartAndPulmonary block`, blockPath.get(cor.name)!);
    const left = cor.type === 'ClosedLoopCoronaryLeft';
    cor.ventricleDof = heart.v[left ? 13 : 6]!;
    cor.imParam = heart.pid[left ? 'iml' : 'imr']!;
  }
  return { blocks, byName, nodes, dofNames, eqOwner, params, paramIds, period, largestWindkesselTau: largestTau, hasWindkessel, vessels };
}

function vesselName(map: Map<number, string>, v: unknown, path: string): string {
  const id = num(v, path);
  const name = map.get(id);
  if (name === undefined) throw invalid(`no vessel with vessel_id ${id}`, path);
  return name;
}
