// A hang watchdog for fuzz runs. An input that loops synchronously blocks the thread that runs it, so neither the
// harness' timing (runCase measures after the input returns) nor a timer on that thread can report it: a long run
// stalled without saying which input (the PLY element of 1e20 items showed only because the run ran under
// `timeout`). A worker thread watches instead: the running thread writes when each input starts and a label for it
// (target, seed, input number) into shared memory; past `limitMs` the worker writes the label to stderr itself (a
// worker's console goes through the blocked thread) and kills the process, so the run ends with the input named.
import { Worker } from 'node:worker_threads';

/** What {@link startHangWatchdog} returns: the running thread's side. */
export interface HangWatchdog {
  /** An input starts: `label` says how to run it again (target, seed, input number). */
  started(label: string): void;
  /** The input returned (or threw). */
  ended(): void;
  /** Stops the worker (the process can then exit). */
  stop(): Promise<void>;
}

/** Bytes of a label kept (longer ones are cut). */
const LABEL_BYTES = 4096;

const WATCHER = `
const { workerData } = require('node:worker_threads');
const { writeSync } = require('node:fs');
const { limitMs, state, label } = workerData;
const s = new Float64Array(state);
const bytes = new Uint8Array(label);
const poll = Math.max(20, Math.min(1000, limitMs / 4));
setInterval(() => {
  const since = s[0];
  if (since === 0 || Date.now() - since <= limitMs) return;
  const text = Buffer.from(bytes.subarray(0, s[1])).toString('utf8');
  writeSync(2, '\\nfuzz watchdog: ' + text + ' has run ' + Math.round(Date.now() - since) + ' ms, past the ' + limitMs + ' ms hang limit (a synchronous hang): killing the run\\n');
  process.kill(process.pid, 'SIGKILL');
}, poll);
`;

/**
 * Starts the watchdog: an input running longer than `limitMs` kills the process after printing its label.
 * @example
 * ```ts
 * const dog = startHangWatchdog(60_000);
 * dog.started(`PLY, seed 5, input 17`); run(input); dog.ended();
 * await dog.stop();
 * ```
 */
export function startHangWatchdog(limitMs: number): HangWatchdog {
  // [0] Date.now() when the current input started, 0 between inputs; [1] the label's length in bytes
  const state = new Float64Array(new SharedArrayBuffer(16));
  const label = new Uint8Array(new SharedArrayBuffer(LABEL_BYTES));
  // execArgv: [] — the watcher needs no loader hooks (a parent's --import tsx would make it start slowly)
  const worker = new Worker(WATCHER, { eval: true, execArgv: [], workerData: { limitMs, state: state.buffer, label: label.buffer } });
  worker.unref();
  const encoder = new TextEncoder();
  return {
    started(text) {
      state[0] = 0; // no reading of a half-written label
      state[1] = encoder.encodeInto(text, label).written;
      state[0] = Date.now();
    },
    ended() {
      state[0] = 0;
    },
    async stop() {
      await worker.terminate();
    },
  };
}
