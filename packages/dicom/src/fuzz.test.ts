import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { FUZZ_CORPUS, allocationBound, elementOffsets, mutate, mutationArb, readPath } from './fuzz-util.js';
import { readFixture } from './test-util.js';

// CI-sized: a few runs per file (scripts/fuzz-dicom.ts runs thousands). Seeded, so failures reproduce.
const RUNS_PER_FILE = 12;

describe('fuzzing the read path with mutated real files (fast-check)', () => {
  it.each(FUZZ_CORPUS.map((f) => [f]))('%s: only typed errors, under 2 s, bounded allocation', async (rel) => {
    const bytes = readFixture(rel);
    const elements = elementOffsets(bytes);
    await fc.assert(
      fc.asyncProperty(mutationArb(bytes.length, elements.length), async (mutations) => {
        const input = mutate(bytes, elements, mutations);
        const r = await readPath(input); // a non-PhysiotwinError propagates and fails the property
        expect(r.ms).toBeLessThan(2000);
        expect(r.decodedBytes).toBeLessThanOrEqual(allocationBound(input.length));
      }),
      { numRuns: RUNS_PER_FILE, seed: 20261124 },
    );
  });
});
