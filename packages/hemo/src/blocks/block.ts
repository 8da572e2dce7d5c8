import type { Parameter } from '../parameter.js';
import type { DaeSystem } from '../system.js';

/**
 * The 0D blocks. Each block type lives in its own file of this folder with the three things that define it:
 * its equations (a {@link Block} subclass implementing the svZeroDSolver block of the same name, written as rows of
 * `E ydot + F y + C = 0`), its config reader (a {@link BlockDefinition}: parameters and how its values object
 * becomes a block), and its generator for the ensemble kernels ({@link KernelGenerator}: the same time- and
 * solution-dependent terms written once as f32 WGSL expressions). `blocks/index.ts` lists them.
 * Unknowns of a block, in order: (pressure, flow) of each inlet node, of each outlet node, then its internal variables.
 */

/** A connection between two blocks: one pressure and one flow unknown. */
export interface BlockNode {
  name: string;
  flowDof: number;
  presDof: number;
}

/** Broad role of a block (which config section it came from). */
export type BlockClass = 'vessel' | 'junction' | 'boundary_condition' | 'closed_loop' | 'valve' | 'chamber';

/** Time and model data a block sees while being assembled. */
export interface AssemblyContext {
  /** Current parameter values, indexed by the model's parameter ids. */
  p: Float64Array;
  /** Evaluation time (s): t_n + alpha_f dt during a step. */
  time: number;
  /** Cardiac period (s). */
  period: number;
  /** True during the steady start. */
  steady: boolean;
}

/** How a block connects: one connection (a boundary condition), one inlet and one outlet, or a junction. */
export type PortRule = 'one' | 'through' | 'junction';

/** Base class: unknown and equation bookkeeping plus the assembly hooks. */
export abstract class Block {
  readonly inlets: BlockNode[] = [];
  readonly outlets: BlockNode[] = [];
  /** Global unknown ids: inlet (P,Q)..., outlet (P,Q)..., internal variables. */
  v: number[] = [];
  /** Global equation ids. */
  e: number[] = [];
  /** Slot ids (into {@link DaeSystem} value arrays), registered in {@link setup}. */
  protected s: number[] = [];
  /**
   * Listed in vessel-based output (svZeroDSolver `csv_writer.cpp`: BloodVessel, BloodVesselCRL, ChamberSphere,
   * LinearElastanceChamber, PiecewiseValve).
   */
  readonly isVessel: boolean = false;
  /** Joins the inlet junction of a ClosedLoopHeartAndPulmonary block (closed-loop outlets). */
  joinsHeart = false;

  constructor(
    readonly name: string,
    readonly type: string,
    readonly cls: BlockClass,
    /** Parameter ids into the model parameter table, by parameter name. */
    readonly pid: Readonly<Record<string, number>>,
  ) {}

  /** Names of internal variables (registered as `<name>:<block>`). */
  internals(): string[] {
    return [];
  }

  /** Number of equations the block contributes. */
  abstract numEquations(): number;

  /** Registers the matrix entries the block ever writes: pairs (local equation, local unknown). */
  protected abstract entries(): Array<[number, number]>;

  /** Connections the block needs. */
  ports(): PortRule {
    return this.cls === 'boundary_condition' ? 'one' : this.cls === 'junction' ? 'junction' : 'through';
  }

  /**
   * Links the block to others once unknowns are numbered (e.g. a coronary to its heart); returns a message
   * when it cannot.
   */
  link(_blocks: readonly Block[]): string | undefined {
    return undefined;
  }

  /** Registers slots with the system; called once after unknowns and equations are numbered. */
  setup(sys: DaeSystem): void {
    this.s = this.entries().map(([i, j]) => sys.slot(this.e[i]!, this.v[j]!));
  }

  /** Terms that depend on neither time nor solution (re-stamped when the steady start begins or ends). */
  constant(_sys: DaeSystem, _c: AssemblyContext): void {}
  /** Time-dependent terms. */
  time(_sys: DaeSystem, _c: AssemblyContext): void {}
  /** Solution-dependent terms (C and its derivatives). */
  solution(_sys: DaeSystem, _c: AssemblyContext, _y: Float64Array, _yd: Float64Array): void {}
  /** Post-Newton-update hook on the new solution. */
  postSolve(_y: Float64Array): void {}
  /** Parameters that depend on the initial (or steady-start) state. */
  initialState(_y: Float64Array, _yd: Float64Array, _c: AssemblyContext): void {}
  /** True when the block reads this parameter name. */
  hasParam(name: string): boolean {
    return name in this.pid;
  }
  protected par(c: AssemblyContext, name: string): number {
    return c.p[this.pid[name]!]!;
  }
}

/** Spec of one block parameter. */
export interface ParamSpec {
  name: string;
  /** Default when absent (undefined: mandatory). */
  def?: number;
  /** May be a time series with `t` (or, for the one a FLOW/PRESSURE block leaves out, an `fn` expression). */
  series?: boolean;
}

/** A scalar parameter spec, optionally with a default. */
export const scalar = (name: string, def?: number): ParamSpec => ({ name, ...(def !== undefined ? { def } : {}) });
/** A parameter that may be a time series. */
export const series = (name: string, def?: number): ParamSpec => ({ ...scalar(name, def), series: true });

/** What a block's reader gets from the model being built. */
export interface BlockReader {
  /**
   * Reads the parameters `specs` of block `name` from `values` at JSON path `path` (unknown keys other than
   * `extraKeys` and `_comments` are refused); returns parameter ids by name.
   * @throws PhysiotwinError `CONFIG_INVALID`
   */
  params(type: string, name: string, specs: readonly ParamSpec[], values: Record<string, unknown>, path: string, extraKeys?: readonly string[]): Record<string, number>;
  /** Adds a parameter under `block.key` and returns its id (list parameters of junctions). */
  addParam(block: string, key: string, prm: Parameter): number;
  /** The cardiac period (s); known once series, heart and settings have been read (chambers come last). */
  period(): number;
}

/** Config sections a block type may appear in. */
export type Section = 'vessels' | 'boundary_conditions' | 'junctions' | 'closed_loop_blocks' | 'valves' | 'chambers' | 'external_solver_coupling_blocks';

/** The section entry a block is read from, and the connections a junction lists. */
export interface SectionEntry {
  entry: Record<string, unknown>;
  path: string;
  inlets: number;
  outlets: number;
}

/** One block type: where it may appear, how its values become a block, and its ensemble-kernel generator. */
export interface BlockDefinition {
  /** The type name in the config (`zero_d_element_type`, `bc_type`, `junction_type`, `type`, ...). */
  type: string;
  sections: readonly Section[];
  /**
   * Reads one block from its values object (`zero_d_element_values`, `bc_values`, `junction_values`, `params`,
   * `values`, `parameters`) at `path`; `entry` is the whole section entry (chambers read their activation
   * function there).
   * @throws PhysiotwinError `CONFIG_INVALID`
   */
  read(r: BlockReader, name: string, values: Record<string, unknown>, path: string, entry: SectionEntry): Block;
  /** Generator for the ensemble kernels; absent: the type runs on the full CPU solver only. */
  kernel?: KernelGenerator;
}

/**
 * What a block's kernel generator writes into (implemented by the kernel builder, ensemble-general.codegen.ts).
 * Local indices as in the block class: (equation i, unknown j). Expressions are f32 WGSL on scalars; double-float
 * and JavaScript kernels get them rewritten.
 */
export interface KernelScope {
  /** Parameter value (WGSL expression). */
  p(name: string): string;
  /** Parameter by model id (for parameters a block reads from another block). */
  pid(id: number): string;
  zero(name: string): boolean;
  /** y and ydot at the generalized-alpha evaluation point; `yAt` for a global unknown. */
  ya(j: number): string;
  yda(j: number): string;
  yAt(dof: number): string;
  /** The current Newton iterate of a local unknown (assignable in postSolve). */
  y(j: number): string;
  /** Emits `target = expr;` (a real-valued assignment, e.g. to `y(j)` in postSolve). */
  assign(target: string, expr: string): void;
  /** Cycle time t mod T at the evaluation point; a shared drive value computed on the host. */
  tc(): string;
  drive(key: string, value: (t: number) => number): string;
  /** Emits `let <name> = expr;` under a block-unique name and returns the name. */
  let(name: string, expr: string): string;
  /** The block-unique name of a `let` emitted earlier (in the time section, for the solution section). */
  scopeName(name: string): string;
  /** Cardiac period T (s). */
  period: number;
  E(i: number, j: number, expr: string): void;
  F(i: number, j: number, expr: string): void;
  Dy(i: number, j: number, expr: string): void;
  Dd(i: number, j: number, expr: string): void;
  /**
   * C entry of equation i; `scale` (WGSL, >= 0) is the magnitude its f32 evaluation rounds at when that
   * exceeds |C| (a difference of nearly equal terms), for the convergence test. @default |C|
   */
  C(i: number, expr: string, scale?: string): void;
  /** WGSL boolean: true during the steady start. */
  steady: string;
  /** Unit roundoff of the kernel's arithmetic (2^-24, 2^-48 or 2^-53). */
  roundoff: number;
  /**
   * Exact-loop kernels (double-float, f64): a boolean expression that, true at convergence, marks a
   * decision taken within the kernel's rounding; the variant is then handed to the full f64 solver (code 3).
   */
  marginal(cond: string): void;
}

/**
 * A block type's ensemble-kernel code: its time- and solution-dependent terms (the terms that depend on
 * parameters only, `Block.constant`, are evaluated on the host in f64 by the block itself). Blocks whose terms
 * are all constant have an empty generator.
 */
export interface KernelGenerator {
  time?(g: KernelScope, b: Block): void;
  solution?(g: KernelScope, b: Block): void;
  postSolve?(g: KernelScope, b: Block): void;
  /** When Newton has converged, on the state it keeps (f32 kernels only: double-float ones keep the f64 scheme). */
  converged?(g: KernelScope, b: Block): void;
  /** Exact-loop kernels, at convergence: conditions under which the next decision is not certain (`g.marginal`). */
  marginal?(g: KernelScope, b: Block): void;
  /**
   * Why this block's results depend on values below f32 resolution, so that only a double-float kernel
   * reproduces the f64 solver within 1e-3 ('auto' precision then chooses double-float).
   */
  needsDoubleFloat?: string;
}

/** Stenosis terms -S|q|q of a resistive branch (equation i, flow unknown j), as a kernel generator writes them. */
export function stenosisKernel(g: KernelScope, S: string, i: number, j: number): void {
  const q = g.ya(j);
  const a = g.let(`aq${i}`, `${S} * abs(${q})`);
  g.C(i, `-${a} * ${q}`);
  g.Dy(i, j, `-2.0 * ${a}`);
}
