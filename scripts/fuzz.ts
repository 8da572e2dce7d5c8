// Long fuzz runs of the CI fuzz properties (test/fuzz): `npm run fuzz -- --minutes N [--target SUBSTRING]
// [--seed S] [--runs R] [--hang-seconds H]`. Runs every target in turn, in batches of R inputs with a fresh seed
// each, until N minutes have passed (at least one batch per target); uses the whole DICOM corpus. Prints outcomes per
// target and, on the first failure, the target, the seed and the counterexample (rerun it with --seed S --target
// NAME), exit code 1. An input still running after H seconds (default 60) is a hang: the watchdog prints the
// target, the seed and the input's number, and kills the run. Without --minutes it runs one batch per target (a
// smoke run).
import fc from 'fast-check';
import { Tally, property } from '../test/fuzz/harness.js';
import { fuzzTargets } from '../test/fuzz/targets.js';
import { startHangWatchdog } from '../test/fuzz/watchdog.js';

function option(name: string): string | undefined {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1] : undefined;
}

const minutes = Number(option('minutes') ?? 0);
const filter = option('target')?.toLowerCase();
const runs = Number(option('runs') ?? 2000);
const fixedSeed = option('seed') === undefined ? undefined : Number(option('seed'));
const hangSeconds = Number(option('hang-seconds') ?? 60);
if (!(minutes >= 0) || !(runs >= 1) || !(hangSeconds > 0)) {
  console.error('usage: npm run fuzz -- [--minutes N] [--target SUBSTRING] [--seed S] [--runs R] [--hang-seconds H]');
  process.exit(2);
}

const { entries, cleanup } = fuzzTargets(true);
const selected = entries.filter((e) => !filter || e.target.name.toLowerCase().includes(filter));
if (selected.length === 0) {
  console.error(`no target matches ${JSON.stringify(filter)}: ${entries.map((e) => e.target.name).join('; ')}`);
  process.exit(2);
}
const tallies = new Map(selected.map((e) => [e.target.name, new Tally()]));
for (const { target } of selected) await target.warmUp?.();
const dog = startHangWatchdog(hangSeconds * 1000);
const deadline = performance.now() + minutes * 60_000;
let failed = false;
let round = 0;
try {
  do {
    for (const { target, skip } of selected) {
      const seed = fixedSeed ?? (Date.now() ^ (Math.random() * 2 ** 31)) >>> 0;
      console.log(`round ${round}, ${target.name}: ${runs} inputs, seed ${seed}${skip ? ` (a known failure: ${skip})` : ''}`);
      const run = `target ${JSON.stringify(target.name)}, seed ${seed} (reproduce: npm run fuzz -- --target ${JSON.stringify(target.name)} --seed ${seed} --runs ${runs})`;
      const result = await fc.check(property(target, tallies.get(target.name)!, { dog, run }), { numRuns: runs, seed });
      if (result.failed) {
        console.error(`FAIL ${target.name}\nreproduce: npm run fuzz -- --target ${JSON.stringify(target.name)} --seed ${seed} --runs ${runs}`);
        console.error(fc.defaultReportMessage(result));
        console.error(`cause: ${String(result.errorInstance)}`);
        failed = true;
        if (!skip) break;
      }
    }
    round++;
  } while (!(failed && selected.every((e) => !e.skip)) && performance.now() < deadline && fixedSeed === undefined);
} finally {
  cleanup();
  await dog.stop();
}
for (const [name, tally] of tallies) console.log(`${name}: ${tally}`);
process.exit(failed ? 1 : 0);
