// Long fuzz run of @physiotwin/dicom's read path: `npx tsx scripts/fuzz-dicom.ts [runsPerFile=2000] [seed]`.
// Mutates every file of the corpus (truncation, flipped bytes, overwritten bytes, absurd element lengths, bad
// VRs) and requires: only PhysiotwinErrors, under 2 s per input, decoded allocations within the bound the file
// size allows. Prints a summary (outcomes by error code, slowest input) and exits 1 on the first failure, with
// the fast-check counterexample and seed to reproduce it.
import fc from 'fast-check';
import { readFileSync } from 'node:fs';
import { FUZZ_CORPUS, allocationBound, elementOffsets, mutate, mutationArb, readPath } from '../packages/dicom/src/fuzz-util.js';

const runs = Number(process.argv[2] ?? 2000);
const seed = Number(process.argv[3] ?? Date.now() % 2 ** 31);
console.log(`fuzz-dicom: ${runs} runs per file, seed ${seed}`);
const codes = new Map<string, number>();
let slowest = { ms: 0, file: '' };
let total = 0;
const t0 = performance.now();
for (const rel of FUZZ_CORPUS) {
  const bytes = new Uint8Array(readFileSync(new URL(`../fixtures/dicom/${rel}`, import.meta.url)));
  const elements = elementOffsets(bytes);
  try {
    await fc.assert(
      fc.asyncProperty(mutationArb(bytes.length, elements.length), async (mutations) => {
        const input = mutate(bytes, elements, mutations);
        const r = await readPath(input);
        total++;
        const key = r.ok ? 'ok' : r.code!;
        codes.set(key, (codes.get(key) ?? 0) + 1);
        if (r.ms > slowest.ms) slowest = { ms: r.ms, file: rel };
        if (r.ms >= 2000) throw new Error(`took ${r.ms.toFixed(0)} ms`);
        if (r.decodedBytes > allocationBound(input.length)) throw new Error(`decoded ${r.decodedBytes} bytes from ${input.length}`);
      }),
      { numRuns: runs, seed },
    );
  } catch (e) {
    console.error(`FAIL ${rel}\n${(e as Error).message}\ncause: ${String((e as Error).cause)}`);
    process.exit(1);
  }
  console.log(`${rel}: ok`);
}
console.log(`${total} inputs in ${((performance.now() - t0) / 1000).toFixed(1)} s; outcomes ${JSON.stringify(Object.fromEntries(codes))}; slowest ${slowest.ms.toFixed(0)} ms (${slowest.file})`);
