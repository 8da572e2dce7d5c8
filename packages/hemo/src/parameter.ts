import type { TimeFunction } from './expression.js';

/**
 * Block parameters: constants, periodic piecewise-linear time series or expressions of time, as
 * svZeroDSolver's `src/model/Parameter.cpp` (linear interpolation inside `fmod(t, t_last - t_first)`;
 * an `fn` expression is evaluated at the absolute time, not folded into the period; the steady start
 * replaces a series by the mean of its samples and an expression, which has no samples, by 0: upstream's
 * results for the expression cases (timeDep_Flow, timeDep_Pressure) start from the zero state).
 */
export class Parameter {
  /** Sample times (s) of a time-dependent parameter; empty for a constant. */
  readonly times: Float64Array;
  /** Sample values of a time-dependent parameter; empty for a constant. */
  readonly values: Float64Array;
  /** Period of the series (t_last - t_first), s; NaN for a constant. */
  readonly period: number;
  private constValue: number;
  private steadyMode = false;
  private readonly mean: number;
  private fn: TimeFunction | undefined;

  /** A parameter given as an expression of the time (svZeroDSolver `fn`). */
  static fromFunction(fn: TimeFunction): Parameter {
    const prm = new Parameter(0);
    prm.fn = fn;
    return prm;
  }

  /**
   * False for a series that is not repeated (an external coupling block with `periodic: false`): it is
   * interpolated at the absolute time and extrapolated linearly past its ends.
   */
  readonly periodic: boolean;

  constructor(value: number);
  constructor(times: ArrayLike<number>, values: ArrayLike<number>, periodic?: boolean);
  constructor(a: number | ArrayLike<number>, b?: ArrayLike<number>, periodic = true) {
    this.periodic = periodic;
    if (typeof a === 'number' || b === undefined || b.length === 1) {
      this.constValue = typeof a === 'number' ? a : b![0]!;
      this.times = new Float64Array(0);
      this.values = new Float64Array(0);
      this.period = Number.NaN;
      this.mean = this.constValue;
    } else {
      this.times = Float64Array.from(a);
      this.values = Float64Array.from(b);
      this.period = this.times[this.times.length - 1]! - this.times[0]!;
      let s = 0;
      for (let i = 0; i < this.values.length; i++) s += this.values[i]!;
      this.mean = s / this.values.length;
      this.constValue = Number.NaN;
    }
  }

  /** True for a single value (or while the steady start holds the series at its mean). */
  get isConstant(): boolean {
    return !this.isSeries || this.steadyMode;
  }

  /** True for a time-dependent parameter: a series of two or more samples or an expression (whatever the steady mode). */
  get isSeries(): boolean {
    return this.times.length > 0 || this.fn !== undefined;
  }

  /** Replaces the constant value (ensembles override parameters this way). */
  setConstant(value: number): void {
    this.constValue = value;
    this.fn = undefined;
    (this as { times: Float64Array }).times = new Float64Array(0);
  }

  /** Steady start: hold a series at the mean of its samples, an expression at 0 (svZeroDSolver `Parameter::to_steady`). */
  setSteady(on: boolean): void {
    this.steadyMode = on && this.isSeries;
  }

  /** Value at time `t` (s): periodic linear interpolation for a series, the expression at `t` itself. */
  get(t: number): number {
    if (this.steadyMode) return this.fn ? 0 : this.mean;
    if (this.fn) return this.fn(t);
    if (this.times.length === 0) return this.constValue;
    const times = this.times;
    const values = this.values;
    const n = times.length;
    const rt = this.periodic ? t % this.period : t;
    // lower_bound: first index with times[k] >= rt
    let lo = 0;
    let hi = n;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (times[mid]! < rt) lo = mid + 1;
      else hi = mid;
    }
    let k = lo;
    if (k === n) k = n - 1;
    else if (times[k] === rt) return values[k]!;
    const m = k > 0 ? k - 1 : 1;
    return values[m]! + ((values[k]! - values[m]!) / (times[k]! - times[m]!)) * (rt - times[m]!);
  }
}
