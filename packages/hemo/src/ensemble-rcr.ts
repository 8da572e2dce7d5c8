import { PhysiotwinError } from '@physiotwin/core';
import { BloodVessel } from './blocks/blood-vessel.js';
import { FlowBC } from './blocks/flow.js';
import { WindkesselBC } from './blocks/rcr.js';
import type { EnsembleSamples } from './ensemble-samples.js';
import type { EnsembleTimeGrid } from './ensemble-schedule.js';
import type { Model } from './model.js';
import type { PreparedSimulation } from './solver.js';

/** Drive and constants shared by every variant of an RCR ensemble (computed once in f64 on the host). */
export interface RcrProblem extends EnsembleTimeGrid {
  /** Per-variant R, Rp, C, Rd, Pd (stride 5). */
  params: Float64Array;
  /** Inflow at t_n + alpha_f dt and the new inflow Q_{n+1}, per step (steady steps first). */
  qAf: Float64Array;
  qNext: Float64Array;
  /** Initial Pc and dPc/dt. */
  pc0: number;
  pcDot0: number;
  /** Initial inflow (for the single-cycle case that also outputs the initial state). */
  q0: number;
}

/** Raw per-variant statistics of an RCR ensemble: for P_in, P_out, Pc: sum, min, max (stride 9), and count. */
export interface RcrStats {
  stats: Float64Array;
  count: number;
}

/** The three blocks of the FLOW -> BloodVessel (R only) -> RCR topology. */
export interface RcrTopology {
  vessel: BloodVessel;
  flow: FlowBC;
  rcr: WindkesselBC;
}

/** Recognises FLOW -> BloodVessel (R only) -> RCR, the topology of the specialised kernels. */
export function rcrTopology(model: Model): RcrTopology | undefined {
  if (model.blocks.length !== 3) return undefined;
  const vessel = model.blocks.find((b): b is BloodVessel => b instanceof BloodVessel);
  const flow = model.blocks.find((b): b is FlowBC => b instanceof FlowBC);
  const rcr = model.blocks.find((b): b is WindkesselBC => b instanceof WindkesselBC);
  if (!vessel || !flow || !rcr) return undefined;
  if (vessel.inlets[0]!.name !== `${flow.name}:${vessel.name}` || vessel.outlets[0]!.name !== `${vessel.name}:${rcr.name}`) return undefined;
  return { vessel, flow, rcr };
}

/**
 * Sets up the RCR kernels' problem on a prepared model: per-variant parameters and the shared inflow recurrence of
 * generalized-alpha (Q is algebraic: Q_{n+alpha_f} = Q(t_{n+alpha_f}), Q_{n+1} = Q_n + (Q_af - Q_n)/alpha_f).
 * Returns undefined when the model or the samples need the general solver.
 * @throws PhysiotwinError `SOLVER_DIVERGED` for an inflow that is not finite (an `fn` that evaluates to NaN)
 */
export function rcrProblem(prepared: PreparedSimulation, samples: EnsembleSamples): RcrProblem | undefined {
  const { model, settings, grid, init } = prepared;
  const topo = rcrTopology(model);
  if (!topo || settings.useCycleToCycleError) return undefined;
  const { vessel, flow, rcr } = topo;
  const varying = new Set(samples.names);
  for (const k of ['C', 'L', 'stenosis_coefficient']) {
    if (varying.has(`${vessel.name}.${k}`) || model.params[vessel.pid[k]!]!.get(0) !== 0) return undefined;
  }
  const keys = [`${vessel.name}.R_poiseuille`, `${rcr.name}.Rp`, `${rcr.name}.C`, `${rcr.name}.Rd`, `${rcr.name}.Pd`];
  const base = keys.map((k) => model.params[model.paramIds.get(k)!]!);
  for (let j = 0; j < keys.length; j++) if (base[j]!.isSeries && !varying.has(keys[j]!)) return undefined;
  for (const k of samples.names) if (!keys.includes(k)) return undefined;
  const P = samples.names.length;
  const n = samples.values.length / P;
  const params = new Float64Array(n * 5);
  const col = keys.map((k) => samples.names.indexOf(k));
  for (let v = 0; v < n; v++) for (let j = 0; j < 5; j++) params[v * 5 + j] = col[j]! >= 0 ? samples.values[v * P + col[j]!]! : base[j]!.get(0);
  const { alphaF, steadySteps, dtSteady, steps, dt } = grid;
  const qParam = model.params[flow.pid.Q!]!;
  const qAf = new Float64Array(steadySteps + steps);
  const qNext = new Float64Array(steadySteps + steps);
  let q = init.y[vessel.inlets[0]!.flowDof]!;
  const step = (k: number, t: number, h: number): void => {
    const qa = qParam.get(t + alphaF * h);
    if (!Number.isFinite(qa)) {
      throw new PhysiotwinError('SOLVER_DIVERGED', `non-finite value: parameter ${flow.name}.Q evaluates to ${qa} at t = ${t + alphaF * h} s`, { details: { time: t + alphaF * h, block: flow.name } });
    }
    const qn = q + (qa - q) / alphaF;
    qAf[k] = qa;
    qNext[k] = qn;
    q = qn;
  };
  qParam.setSteady(true);
  for (let i = 0; i < steadySteps; i++) step(i, dtSteady * i, dtSteady);
  qParam.setSteady(false);
  const q0 = q;
  for (let i = 1; i <= steps; i++) step(steadySteps + i - 1, dt * (i - 1), dt);
  const pcDof = rcr.v[2]!;
  return { ...grid, n, params, qAf, qNext, pc0: init.y[pcDof]!, pcDot0: init.ydot[pcDof]!, q0 };
}
