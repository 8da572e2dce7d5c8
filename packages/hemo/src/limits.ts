import { PhysiotwinError } from '@physiotwin/core';

/**
 * Bounds on the work and memory one call may take, checked before anything large is allocated, so that a small
 * config cannot ask for hours or gigabytes (`number_of_cardiac_cycles: 1e9`). Each refusal names the option that
 * raises it. The defaults leave every svZeroDSolver case among the fixtures far inside them (the longest,
 * piecewise_Chamber_and_Valve, takes 20,640 steps; none sets maximum_nonlinear_iterations above the default 30).
 */
export interface SolverLimits {
  /**
   * Most generalized-alpha steps one simulation may take, steady start excluded (the configured cycles times
   * points per cycle less one, and the extra cycles of `use_cycle_to_cycle_error`). @default 5e6
   */
  maxSteps?: number | undefined;
  /** Largest `maximum_nonlinear_iterations` a config may set (Newton iterations per step). @default 1000 */
  maxNonlinearIterations?: number | undefined;
  /**
   * Most bytes the arrays of one call may take (estimated before they are allocated: result rows, kernel
   * buffers and summaries). @default 1 GiB
   */
  maxMemoryBytes?: number | undefined;
  /** Most variants of one ensemble. @default 1e6 */
  maxVariants?: number | undefined;
}

/** The default limits. */
export const DEFAULT_LIMITS: Readonly<Required<SolverLimits>> = { maxSteps: 5e6, maxNonlinearIterations: 1000, maxMemoryBytes: 2 ** 30, maxVariants: 1e6 };

/**
 * Bytes a typed array object takes besides its elements in V8 (the object and its buffer's header), rounded up: the
 * per-row cost of stored result rows, each a pair of Float64Arrays.
 */
export const TYPED_ARRAY_OVERHEAD = 160;

/** The limits in force: the caller's, else the defaults. @throws PhysiotwinError `INVALID_ARGUMENT` for a limit that is not a positive number */
export function resolveLimits(limits: SolverLimits): Required<SolverLimits> {
  const out = { ...DEFAULT_LIMITS };
  for (const k of Object.keys(DEFAULT_LIMITS) as Array<keyof SolverLimits>) {
    const v = limits[k];
    if (v === undefined) continue;
    if (typeof v !== 'number' || !(v > 0)) throw new PhysiotwinError('INVALID_ARGUMENT', `option ${k} must be a positive number, got ${String(v)}`);
    out[k] = v;
  }
  return out;
}

/** Refuses `value` above limit `key` with `LIMIT_EXCEEDED`, naming the option. @throws PhysiotwinError `LIMIT_EXCEEDED` */
export function checkLimit(limits: Required<SolverLimits>, key: Exclude<keyof SolverLimits, 'maxMemoryBytes'>, value: number, what: string, jsonPath?: string): void {
  if (value <= limits[key]) return;
  throw new PhysiotwinError('LIMIT_EXCEEDED', `${what}: ${value.toPrecision(4)} exceeds the limit of ${limits[key]} (raise it with the option ${key})`, {
    ...(jsonPath ? { location: { jsonPath } } : {}),
    details: { limit: key, value, max: limits[key] },
  });
}

/** Refuses an estimated allocation above `maxMemoryBytes` with `OUT_OF_MEMORY`, naming the option. @throws PhysiotwinError `OUT_OF_MEMORY` */
export function checkMemory(limits: Required<SolverLimits>, bytes: number, what: string): void {
  if (bytes <= limits.maxMemoryBytes) return;
  throw new PhysiotwinError('OUT_OF_MEMORY', `${what} would take about ${(bytes / 2 ** 20).toFixed(0)} MiB, above the limit of ${(limits.maxMemoryBytes / 2 ** 20).toFixed(0)} MiB (raise it with the option maxMemoryBytes)`, {
    details: { limit: 'maxMemoryBytes', bytes, max: limits.maxMemoryBytes },
  });
}

/**
 * Runs `allocate` (synchronous or async), mapping the platform's allocation failure (a RangeError from a typed
 * array, an ArrayBuffer or an array too large for this platform, even within the estimate) to `OUT_OF_MEMORY`.
 * @throws PhysiotwinError `OUT_OF_MEMORY`
 */
export function allocating<T>(what: string, allocate: () => T): T {
  const map = (e: unknown): never => {
    if (e instanceof RangeError) throw new PhysiotwinError('OUT_OF_MEMORY', `${what}: ${e.message} (lower the work asked for, or raise the memory available)`, { cause: e });
    throw e;
  };
  try {
    const r = allocate();
    return (r instanceof Promise ? r.catch(map) : r) as T;
  } catch (e) {
    return map(e);
  }
}
