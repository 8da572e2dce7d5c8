import { PhysiotwinError } from './errors.js';

/** One progress report: `done` of `total` units of work in the named stage. */
export interface ProgressEvent {
  stage: string;
  done: number;
  total: number;
}

/** Options every long-running operation accepts. */
export interface OperationOptions {
  /** Cancels the operation; it then throws a `PhysiotwinError` with code `ABORTED`. */
  signal?: AbortSignal | undefined;
  /** Called as work proceeds. Must be cheap: it may be called thousands of times. */
  onProgress?: ((event: ProgressEvent) => void) | undefined;
}

/**
 * Throws `ABORTED` if the signal has fired. Call between units of work.
 * @throws PhysiotwinError `ABORTED` when the signal has fired.
 */
export function throwIfAborted(signal: AbortSignal | undefined, stage = 'operation'): void {
  if (signal?.aborted) {
    throw new PhysiotwinError('ABORTED', `${stage} was cancelled`, { cause: signal.reason });
  }
}

/**
 * Reports progress for `total` units of work, at most `maxReports` times, and checks for cancellation
 * on each step. Returns a function to call with the number of units done so far.
 * @throws nothing itself; the returned function throws PhysiotwinError `ABORTED` once the signal has fired.
 */
export function progressReporter(
  options: OperationOptions,
  stage: string,
  total: number,
  maxReports = 100,
): (done: number) => void {
  const every = Math.max(1, Math.floor(total / maxReports));
  let next = 0;
  return (done: number) => {
    throwIfAborted(options.signal, stage);
    if (options.onProgress && (done >= next || done === total)) {
      next = done + every;
      options.onProgress({ stage, done, total });
    }
  };
}
