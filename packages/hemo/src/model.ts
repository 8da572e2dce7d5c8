import { blockDefinition, sectionTypes } from './blocks/index.js';
import type { Block, BlockNode, BlockReader, ParamSpec, Section, SectionEntry } from './blocks/block.js';
import { Junction } from './blocks/junction.js';
import { WindkesselBC } from './blocks/rcr.js';
import { arr, bool, invalid, isObj, name as blockName, num, obj, str } from './config-read.js';
import { compileTimeFunction } from './expression.js';
import { Parameter } from './parameter.js';
import type { SimulationSettings, SvZeroDConfig } from './settings.js';

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
  /** `block.param` of each parameter id. */
  paramNames: string[];
  /** Cardiac period (s). */
  period: number;
  /** Largest RCR time constant Rd*C (s), 0 without RCR blocks. */
  largestWindkesselTau: number;
  hasWindkessel: boolean;
  /** Blocks of the `vessels` section, in config order (the caps of the cycle-to-cycle check). */
  vessels: Block[];
  /** Blocks listed in vessel-based output ({@link Block.isVessel}), in block order as upstream writes them. */
  outputVessels: Block[];
}

const TOP_KEYS = ['description', 'simulation_parameters', 'vessels', 'junctions', 'boundary_conditions', 'external_solver_coupling_blocks', 'valves', 'chambers', 'closed_loop_blocks', 'initial_condition', 'initial_condition_d'];

/** Blocks an external coupling block may feed at their inlet / draw from at their outlet (upstream `create_external_coupling`). */
const COUPLING_INLET_TYPES = ['RESISTANCE', 'RCR', 'ClosedLoopRCR', 'CORONARY', 'ClosedLoopCoronaryLeft', 'ClosedLoopCoronaryRight', 'BloodVessel'];
const COUPLING_OUTLET_TYPES = ['ClosedLoopRCR', 'ClosedLoopHeartAndPulmonary', 'BloodVessel'];

/** A connection ordered as upstream creates it: the outlet of `from` joins the inlet of `to`. */
interface Connection {
  from: string;
  to: string;
  path: string;
}

/** The model being read: parameters, blocks, connections and the cardiac period as far as known. */
class ModelReader {
  readonly parameters: Parameter[] = [];
  readonly paramIds = new Map<string, number>();
  readonly paramNames: string[] = [];
  readonly blocks: Block[] = [];
  readonly byName = new Map<string, Block>();
  readonly blockPath = new Map<string, string>();
  readonly connections: Connection[] = [];
  seriesPeriod: number | undefined;
  seriesPeriodPath = '';
  /** Whether time series being read are periodic (external coupling blocks may say `periodic: false`). */
  periodic = true;
  private modelPeriod: number | undefined;

  addParam(block: string, key: string, prm: Parameter): number {
    this.parameters.push(prm);
    this.paramNames.push(`${block}.${key}`);
    this.paramIds.set(`${block}.${key}`, this.parameters.length - 1);
    return this.parameters.length - 1;
  }

  period(): number {
    if (this.modelPeriod === undefined) throw new Error('internal: the cardiac period is read before the chambers');
    return this.modelPeriod;
  }

  setPeriod(period: number): void {
    this.modelPeriod = period;
  }

  register(block: Block, path: string): void {
    if (this.byName.has(block.name)) throw invalid(`duplicate block name '${block.name}' (also at ${this.blockPath.get(block.name)})`, path);
    this.byName.set(block.name, block);
    this.blockPath.set(block.name, path);
    this.blocks.push(block);
  }

  connect(from: string, to: string, path: string): void {
    this.connections.push({ from, to, path });
  }

  /** {@link BlockReader.params} for this model. */
  readParams(type: string, blockName: string, specs: readonly ParamSpec[], values: Record<string, unknown>, path: string, extra: readonly string[] = []): Record<string, number> {
    const allowed = new Set([...specs.map((q) => q.name), ...extra]);
    if (specs.some((q) => q.series)) allowed.add('t');
    // `fn` is the inflow or pressure of a boundary condition as a formula of time (README); elsewhere it could
    // silently stand for a parameter the solver treats as constant or holds at its steady mean (RCR C).
    if (type === 'FLOW' || type === 'PRESSURE') allowed.add('fn');
    else if (values.fn !== undefined) throw invalid(`'fn' (a time expression) is accepted for FLOW and PRESSURE boundary conditions only, not for ${type} block '${blockName}'`, `${path}.fn`);
    for (const k of Object.keys(values)) if (!k.startsWith('_') && !allowed.has(k)) throw invalid(`unknown parameter '${k.slice(0, 100)}' for ${type} block '${blockName}'`, `${path}.${k.slice(0, 100)}`);
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
        else prm = this.series(arr(values.t, `${path}.t`).map((x, i) => num(x, `${path}.t[${i}]`)), vals, spec.name, path);
      } else prm = new Parameter(num(v, vp));
      ids[spec.name] = this.addParam(blockName, spec.name, prm);
    }
    return ids;
  }

  private series(t: number[], vals: number[], what: string, path: string): Parameter {
    if (t.length !== vals.length) throw invalid(`'t' has ${t.length} samples but '${what}' has ${vals.length}`, `${path}.t`);
    for (let i = 1; i < t.length; i++) if (!(t[i]! > t[i - 1]!)) throw invalid('time samples must increase strictly', `${path}.t[${i}]`);
    const prm = new Parameter(t, vals, this.periodic);
    if (!this.periodic) return prm;
    if (!(prm.period > 0 && Number.isFinite(prm.period))) throw invalid(`the series spans ${prm.period} s`, `${path}.t`);
    if (this.seriesPeriod !== undefined && prm.period !== this.seriesPeriod) {
      throw invalid(`Inconsistent cardiac cycle period: this series spans ${prm.period} s but ${this.seriesPeriodPath} spans ${this.seriesPeriod} s`, `${path}.t`);
    }
    this.seriesPeriod = prm.period;
    this.seriesPeriodPath = `${path}.t`;
    return prm;
  }
}

/** Reads one block of a section: its type must be one the section allows. */
function readBlock(r: ModelReader, section: Section, typePath: string, type: string, name: string, values: Record<string, unknown>, valuesPath: string, entry: SectionEntry): Block {
  const def = blockDefinition(type);
  if (!def || !def.sections.includes(section)) {
    const what = { vessels: 'vessel block', boundary_conditions: 'boundary condition', junctions: 'junction', closed_loop_blocks: 'closed-loop block', valves: 'valve', chambers: 'chamber', external_solver_coupling_blocks: 'external coupling block' }[section];
    throw invalid(`unknown ${what} type '${type.slice(0, 100)}' (known: ${sectionTypes(section).join(', ')})`, typePath);
  }
  const reader: BlockReader = { params: (...a) => r.readParams(...a), addParam: (b, k, p) => r.addParam(b, k, p), period: () => r.period() };
  return def.read(reader, name, values, valuesPath, entry);
}

/** Entries of an optional array section, with their JSON paths. */
function entries(config: SvZeroDConfig, key: string): Array<[Record<string, unknown>, string]> {
  if (config[key] === undefined) return [];
  return arr(config[key], `$.${key}`).map((raw, i) => [obj(raw, `$.${key}[${i}]`), `$.${key}[${i}]`]);
}

/** 1. vessels (`vessels`: id, name, element type and values, optional inlet/outlet boundary conditions). */
function readVessels(r: ModelReader, config: SvZeroDConfig, vesselIds: Map<number, string>): Block[] {
  return entries(config, 'vessels').map(([vc, path]) => {
    const vname = blockName(vc.vessel_name, `${path}.vessel_name`);
    const id = num(vc.vessel_id, `${path}.vessel_id`);
    const type = str(vc.zero_d_element_type, `${path}.zero_d_element_type`);
    if (vesselIds.has(id)) throw invalid(`duplicate vessel_id ${id}`, `${path}.vessel_id`);
    vesselIds.set(id, vname);
    const vp = `${path}.zero_d_element_values`;
    const block = readBlock(r, 'vessels', `${path}.zero_d_element_type`, type, vname, obj(vc.zero_d_element_values, vp), vp, { entry: vc, path, inlets: 1, outlets: 1 });
    r.register(block, path);
    if (vc.boundary_conditions !== undefined) {
      const bcs = obj(vc.boundary_conditions, `${path}.boundary_conditions`);
      for (const k of Object.keys(bcs)) if (k !== 'inlet' && k !== 'outlet') throw invalid(`unknown key '${k.slice(0, 100)}' (expected inlet or outlet)`, `${path}.boundary_conditions.${k.slice(0, 100)}`);
      if (bcs.inlet !== undefined) r.connect(str(bcs.inlet, `${path}.boundary_conditions.inlet`), vname, `${path}.boundary_conditions.inlet`);
      if (bcs.outlet !== undefined) r.connect(vname, str(bcs.outlet, `${path}.boundary_conditions.outlet`), `${path}.boundary_conditions.outlet`);
    }
    return block;
  });
}

/**
 * 2. external solver coupling blocks (upstream `create_external_coupling`, read before the boundary conditions):
 * a FLOW or PRESSURE block with given `values` over `t` (periodic unless `periodic: false`) at the `inlet` or
 * `outlet` of `connected_block` (a vessel, a boundary condition, or `ClosedLoopHeartAndPulmonary`, whose
 * `outlet_blocks` then list it). Run standalone, as svZeroDSolver runs such configs.
 */
function readCoupling(r: ModelReader, config: SvZeroDConfig, vesselIds: Map<number, string>): void {
  const bcTypes = new Map<string, string>();
  for (const [bc] of entries(config, 'boundary_conditions')) if (typeof bc.bc_name === 'string' && typeof bc.bc_type === 'string') bcTypes.set(bc.bc_name, bc.bc_type);
  const vesselNames = new Set(vesselIds.values());
  for (const [cc, path] of entries(config, 'external_solver_coupling_blocks')) {
    const cname = blockName(cc.name, `${path}.name`);
    const type = str(cc.type, `${path}.type`);
    const location = str(cc.location, `${path}.location`);
    if (location !== 'inlet' && location !== 'outlet') throw invalid(`location must be 'inlet' or 'outlet', got ${JSON.stringify(location.slice(0, 40))}`, `${path}.location`);
    const connected = str(cc.connected_block, `${path}.connected_block`);
    r.periodic = cc.periodic === undefined ? true : bool(cc.periodic, `${path}.periodic`);
    try {
      r.register(readBlock(r, 'external_solver_coupling_blocks', `${path}.type`, type, cname, obj(cc.values, `${path}.values`), `${path}.values`, { entry: cc, path, inlets: 0, outlets: 0 }), path);
    } finally {
      r.periodic = true;
    }
    for (const k of Object.keys(cc)) if (!k.startsWith('_') && !['name', 'type', 'location', 'connected_block', 'values', 'periodic'].includes(k)) throw invalid(`unknown key '${k.slice(0, 100)}'`, path);
    const connectedType = connected === 'ClosedLoopHeartAndPulmonary' ? connected : (bcTypes.get(connected) ?? (vesselNames.has(connected) ? 'BloodVessel' : undefined));
    if (connectedType === undefined) throw invalid(`connected_block '${connected.slice(0, 100)}' is no vessel, boundary condition or ClosedLoopHeartAndPulmonary`, `${path}.connected_block`);
    const allowed = location === 'inlet' ? COUPLING_INLET_TYPES : COUPLING_OUTLET_TYPES;
    if (!allowed.includes(connectedType)) throw invalid(`an ${location} coupling block connects to ${allowed.join(', ')} (vessels of any type), not to ${connectedType}`, `${path}.connected_block`);
    if (location === 'inlet') r.connect(cname, connected, `${path}.connected_block`);
    // The heart's outlet_blocks list the coupling block (upstream connects it there).
    else if (connectedType !== 'ClosedLoopHeartAndPulmonary') r.connect(connected, cname, `${path}.connected_block`);
  }
}

/** 3. boundary conditions. */
function readBoundaryConditions(r: ModelReader, config: SvZeroDConfig): Block[] {
  if (config.boundary_conditions === undefined) throw invalid('define at least one boundary condition', '$.boundary_conditions');
  return entries(config, 'boundary_conditions').map(([bc, path]) => {
    const vp = `${path}.bc_values`;
    const block = readBlock(r, 'boundary_conditions', `${path}.bc_type`, str(bc.bc_type, `${path}.bc_type`), blockName(bc.bc_name, `${path}.bc_name`), obj(bc.bc_values, vp), vp, { entry: bc, path, inlets: 0, outlets: 0 });
    r.register(block, path);
    return block;
  });
}

/** 4. junctions (`inlet_vessels`/`outlet_vessels` by vessel id, or `inlet_blocks`/`outlet_blocks` by name). */
function readJunctions(r: ModelReader, config: SvZeroDConfig, vesselIds: Map<number, string>): void {
  for (const [jc, path] of entries(config, 'junctions')) {
    const jname = blockName(jc.junction_name, `${path}.junction_name`);
    const ends = (key: string, byId: boolean): Array<[string, string]> =>
      arr(jc[key], `${path}.${key}`).map((v, k) => {
        const p = `${path}.${key}[${k}]`;
        if (!byId) return [str(v, p), p];
        const id = num(v, p);
        const vname = vesselIds.get(id);
        if (vname === undefined) throw invalid(`no vessel with vessel_id ${id}`, p);
        return [vname, p];
      });
    let ins: Array<[string, string]>;
    let outs: Array<[string, string]>;
    if (jc.inlet_vessels !== undefined || jc.outlet_vessels !== undefined) [ins, outs] = [ends('inlet_vessels', true), ends('outlet_vessels', true)];
    else if (jc.inlet_blocks !== undefined || jc.outlet_blocks !== undefined) [ins, outs] = [ends('inlet_blocks', false), ends('outlet_blocks', false)];
    else throw invalid('a junction needs inlet_vessels/outlet_vessels or inlet_blocks/outlet_blocks', path);
    const vp = `${path}.junction_values`;
    const values = jc.junction_values === undefined ? {} : obj(jc.junction_values, vp);
    r.register(readBlock(r, 'junctions', `${path}.junction_type`, str(jc.junction_type, `${path}.junction_type`), jname, values, vp, { entry: jc, path, inlets: ins.length, outlets: outs.length }), path);
    for (const [b, bp] of ins) r.connect(b, jname, bp);
    for (const [b, bp] of outs) r.connect(jname, b, bp);
  }
}

/** 5. the ClosedLoopHeartAndPulmonary block `CLH` with its inlet and outlet junctions; returns its period (s). */
function readClosedLoop(r: ModelReader, config: SvZeroDConfig): number | undefined {
  let heartPeriod: number | undefined;
  for (const [cl, path] of entries(config, 'closed_loop_blocks')) {
    const type = str(cl.closed_loop_type, `${path}.closed_loop_type`);
    if (heartPeriod !== undefined) throw invalid('only one ClosedLoopHeartAndPulmonary block is allowed', path);
    const period = num(cl.cardiac_cycle_period, `${path}.cardiac_cycle_period`);
    if (!(period > 0)) throw invalid('cardiac_cycle_period must be > 0', `${path}.cardiac_cycle_period`);
    if (r.seriesPeriod !== undefined && r.seriesPeriod !== period) throw invalid(`Inconsistent cardiac cycle period: ${period} s here, ${r.seriesPeriod} s at ${r.seriesPeriodPath}`, `${path}.cardiac_cycle_period`);
    heartPeriod = period;
    const pp = `${path}.parameters`;
    const heart = readBlock(r, 'closed_loop_blocks', `${path}.closed_loop_type`, type, 'CLH', obj(cl.parameters, pp), pp, { entry: cl, path, inlets: 1, outlets: 1 });
    r.register(heart, path);
    r.connect('J_heart_inlet', 'CLH', path);
    r.register(new Junction('J_heart_inlet', 'NORMAL_JUNCTION', 'junction', {}), path);
    for (const b of r.blocks) if (b.joinsHeart) r.connect(b.name, 'J_heart_inlet', path);
    r.connect('CLH', 'J_heart_outlet', path);
    r.register(new Junction('J_heart_outlet', 'NORMAL_JUNCTION', 'junction', {}), path);
    arr(cl.outlet_blocks, `${path}.outlet_blocks`).forEach((b, k) => r.connect('J_heart_outlet', str(b, `${path}.outlet_blocks[${k}]`), `${path}.outlet_blocks[${k}]`));
  }
  return heartPeriod;
}

/** 6. valves (`params` with `upstream_block` and `downstream_block`). */
function readValves(r: ModelReader, config: SvZeroDConfig): void {
  for (const [vc, path] of entries(config, 'valves')) {
    const vname = blockName(vc.name, `${path}.name`);
    const pp = `${path}.params`;
    const values = obj(vc.params, pp);
    r.register(readBlock(r, 'valves', `${path}.type`, str(vc.type, `${path}.type`), vname, values, pp, { entry: vc, path, inlets: 1, outlets: 1 }), path);
    r.connect(str(values.upstream_block, `${pp}.upstream_block`), vname, `${pp}.upstream_block`);
    r.connect(vname, str(values.downstream_block, `${pp}.downstream_block`), `${pp}.downstream_block`);
  }
}

/** 7. chambers (their activation functions need the period). */
function readChambers(r: ModelReader, config: SvZeroDConfig): void {
  for (const [cc, path] of entries(config, 'chambers')) {
    const vp = `${path}.values`;
    r.register(readBlock(r, 'chambers', `${path}.type`, str(cc.type, `${path}.type`), blockName(cc.name, `${path}.name`), obj(cc.values, vp), vp, { entry: cc, path, inlets: 1, outlets: 1 }), path);
  }
}

/**
 * Builds the DAE model of a svZeroDSolver config, numbering unknowns exactly as svZeroDSolver does
 * (`src/solve/SimulationParameters.cpp`: vessels, external coupling blocks, boundary conditions, junctions,
 * closed-loop blocks, valves, chambers; nodes in connection order, each with flow then pressure; then internal
 * variables). Each section has its reader below; each block type reads its own values (`blocks/`).
 * @throws PhysiotwinError `CONFIG_INVALID` (unknown block or parameter, missing parameter, dangling
 *   connection, inconsistent cardiac period, ...) with the JSON path
 */
export function buildModel(config: SvZeroDConfig, settings: SimulationSettings): Model {
  if (!isObj(config)) throw invalid('the configuration must be a JSON object', '$');
  for (const k of Object.keys(config)) if (!k.startsWith('_') && !TOP_KEYS.includes(k)) throw invalid(`unknown section '${k.slice(0, 100)}'`, `$.${k.slice(0, 100)}`);
  const r = new ModelReader();
  const vesselIds = new Map<number, string>();
  const vessels = readVessels(r, config, vesselIds);
  readCoupling(r, config, vesselIds);
  readBoundaryConditions(r, config);
  readJunctions(r, config, vesselIds);
  const heartPeriod = readClosedLoop(r, config);
  readValves(r, config);

  // Cardiac period: series, heart block and simulation_parameters.cardiac_period must agree.
  let modelPeriod = r.seriesPeriod ?? heartPeriod;
  if (settings.cardiacPeriod !== undefined) {
    if (modelPeriod !== undefined && modelPeriod !== settings.cardiacPeriod) {
      throw invalid(`Inconsistent cardiac cycle period: cardiac_period is ${settings.cardiacPeriod} s but the model's time series span ${modelPeriod} s (${r.seriesPeriodPath || 'closed_loop_blocks'})`, '$.simulation_parameters.cardiac_period');
    }
    modelPeriod = settings.cardiacPeriod;
  }
  const period = modelPeriod ?? 1;
  r.setPeriod(period);
  readChambers(r, config);

  const { blocks, byName, blockPath } = r;
  const nodes: BlockNode[] = [];
  const dofNames: string[] = [];
  for (const c of r.connections) {
    const a = byName.get(c.from);
    const b = byName.get(c.to);
    if (!a) throw invalid(`connection refers to unknown block '${c.from.slice(0, 100)}'`, c.path);
    if (!b) throw invalid(`connection refers to unknown block '${c.to.slice(0, 100)}'`, c.path);
    const node: BlockNode = { name: `${a.name}:${b.name}`, flowDof: dofNames.length, presDof: dofNames.length + 1 };
    dofNames.push(`flow:${node.name}`, `pressure:${node.name}`);
    nodes.push(node);
    a.outlets.push(node);
    b.inlets.push(node);
  }
  for (const b of blocks) {
    const path = blockPath.get(b.name)!;
    const nIn = b.inlets.length;
    const nOut = b.outlets.length;
    const rule = b.ports();
    if (rule === 'one') {
      if (nIn + nOut !== 1) throw invalid(`boundary condition '${b.name}' must be connected to exactly one block (it has ${nIn + nOut} connections)`, path);
    } else if (rule === 'junction') {
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
  for (const b of blocks) {
    const problem = b.link(blocks);
    if (problem) throw invalid(problem, blockPath.get(b.name)!);
  }
  let largestWindkesselTau = 0;
  const windkessels = blocks.filter((b) => b instanceof WindkesselBC);
  for (const b of windkessels) largestWindkesselTau = Math.max(largestWindkesselTau, r.parameters[b.pid.Rd!]!.get(0) * r.parameters[b.pid.C!]!.get(0));
  return {
    blocks,
    byName,
    nodes,
    dofNames,
    eqOwner,
    params: r.parameters,
    paramIds: r.paramIds,
    paramNames: r.paramNames,
    period,
    largestWindkesselTau,
    hasWindkessel: windkessels.length > 0,
    vessels,
    outputVessels: blocks.filter((b) => b.isVessel),
  };
}
