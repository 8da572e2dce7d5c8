import { progressReporter, throwIfAborted, type OperationOptions } from '@physiotwin/core';

/** How long (ms) a loop runs before it yields to the event loop, so that an abort or a timer can run. */
const SLICE_MS = 25;

const now = (): number => (typeof performance !== 'undefined' ? performance.now() : Date.now());

/** Lets queued events (an abort, a timer) run: setImmediate where there is one (Node), else a zero timeout. */
function yieldToEventLoop(): Promise<void> {
  const g = globalThis as { setImmediate?: (f: () => void) => unknown };
  return new Promise((resolve) => (g.setImmediate ? g.setImmediate(resolve) : setTimeout(resolve, 0)));
}

/**
 * The cancellation and progress hook of a long loop: `await tick(done)` between units of work reports
 * `{ stage, done, total }` (at most about 100 times), throws `ABORTED` once `options.signal` has fired, and every
 * {@link SLICE_MS} ms yields to the event loop so that the abort can arrive while the loop runs. Cheap enough to
 * call every few dozen solver steps.
 */
export function workTicker(options: OperationOptions, stage: string, total: number): (done: number) => Promise<void> | undefined {
  const report = progressReporter(options, stage, total);
  let last = now();
  return (done) => {
    report(done);
    const t = now();
    if (t - last < SLICE_MS) return undefined;
    return yieldToEventLoop().then(() => {
      last = now();
      throwIfAborted(options.signal, stage);
    });
  };
}
