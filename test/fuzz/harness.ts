// The fuzz property shared by every target: an input gives a valid result or a typed PhysiotwinError, within
// MAX_MS, with its allocation bounded; anything else (a raw TypeError/RangeError, a slow input, an allocation
// past the bound) fails the property and fast-check prints the seed and the shrunk input.
import fc from 'fast-check';
import { PhysiotwinError } from '@physiotwin/core';
import type { HangWatchdog } from './watchdog.js';

/** What a valid result of one input reports, for the bounds. */
export interface FuzzResult {
  /** Bytes the result's big arrays take (decoded voxels). */
  allocated?: number;
  /** Most bytes this input may allocate. */
  allocationBound?: number;
}

/** A reader or parser under test, with the inputs to give it. */
export interface FuzzTarget<I> {
  name: string;
  arbitrary: fc.Arbitrary<I>;
  /** Runs one input; throws what the code under test throws; a valid result is checked by `run` itself. */
  run(input: I): Promise<FuzzResult> | FuzzResult;
  /** Runs the seeds once before timing starts, so one-time costs (loading a WASM codec) do not count as an input's. */
  warmUp?(): Promise<void>;
  /**
   * The target's recipes (seed files, modes, hostile values that matter most) and which of them an input uses: the CI
   * run checks that each got inputs, so fewer inputs still cover every recipe.
   */
  recipes?: { all: readonly string[]; of(input: I): readonly string[] };
}

/** Longest one input may take (issue 11: 2 s). */
export const MAX_MS = 2000;

/** How one input ended. */
export type Outcome = { code: string; ms: number };

/**
 * Runs one input under the property; returns its outcome (`ok` or the error code) or throws a plain Error that
 * says which rule it broke.
 */
export async function runCase<I>(target: FuzzTarget<I>, input: I): Promise<Outcome> {
  const t0 = performance.now();
  let code = 'ok';
  try {
    const r = await target.run(input);
    if (r.allocated !== undefined && r.allocationBound !== undefined && r.allocated > r.allocationBound) {
      throw new Error(`allocated ${r.allocated} bytes, over the bound ${r.allocationBound}`);
    }
  } catch (e) {
    if (!(e instanceof PhysiotwinError)) {
      const err = e as Error;
      throw new Error(`raw error, not a PhysiotwinError: ${err?.name}: ${err?.message}`, { cause: e });
    }
    code = e.code;
  }
  const ms = performance.now() - t0;
  if (ms > MAX_MS) throw new Error(`took ${ms.toFixed(0)} ms (limit ${MAX_MS} ms), outcome ${code}`);
  return { code, ms };
}

/** Counts of outcomes per code, and the slowest input, over a run. */
export class Tally {
  readonly codes = new Map<string, number>();
  /** Inputs per recipe of the target ({@link FuzzTarget.recipes}). */
  readonly recipes = new Map<string, number>();
  count = 0;
  slowestMs = 0;

  add(o: Outcome, recipes: readonly string[] = []): void {
    this.count++;
    this.codes.set(o.code, (this.codes.get(o.code) ?? 0) + 1);
    for (const r of recipes) this.recipes.set(r, (this.recipes.get(r) ?? 0) + 1);
    this.slowestMs = Math.max(this.slowestMs, o.ms);
  }

  /** The target's recipes no input used. */
  missing(target: FuzzTarget<never>): string[] {
    return (target.recipes?.all ?? []).filter((r) => !this.recipes.has(r));
  }

  toString(): string {
    const codes = [...this.codes].sort((a, b) => b[1] - a[1]).map(([c, n]) => `${c} ${n}`);
    return `${this.count} inputs, slowest ${this.slowestMs.toFixed(1)} ms; ${codes.join(', ')}`;
  }
}

/** A hang watchdog and what names the run to it (target and seed), for {@link property}. */
export interface Watched {
  dog: HangWatchdog;
  run: string;
}

/**
 * The property of a target, tallying outcomes. With `watched`, each input is announced to the hang watchdog as
 * "<run>, input <n>" (n counts from 1 in the order fast-check generates them, shrinking included), so that an input
 * that never returns is named before the watchdog ends the process.
 */
export function property<I>(target: FuzzTarget<I>, tally: Tally, watched?: Watched): fc.IAsyncProperty<[I]> {
  let n = 0;
  return fc.asyncProperty(target.arbitrary, async (input) => {
    watched?.dog.started(`${watched.run}, input ${++n}`);
    try {
      tally.add(await runCase(target, input), target.recipes?.of(input));
    } finally {
      watched?.dog.ended();
    }
  });
}
