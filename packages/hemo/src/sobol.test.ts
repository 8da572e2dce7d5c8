import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { sobolPoints, SOBOL_MAX_DIMENSIONS } from './sobol.js';

const REF = JSON.parse(readFileSync(join(import.meta.dirname, '../../../fixtures/hemo/sobol/scipy-sobol-16d.json'), 'utf8')) as { points: Record<string, number[]> };

describe("Sobol' points", () => {
  it("equal scipy's unscrambled Joe-Kuo sequence in 16 dimensions, exactly, from any start", () => {
    const all = sobolPoints(16, 0, 2048);
    for (const [i, row] of Object.entries(REF.points)) {
      expect(Array.from(all.subarray(Number(i) * 16, Number(i) * 16 + 16)), `point ${i}`).toEqual(row);
      expect(Array.from(sobolPoints(16, Number(i), 1))).toEqual(row);
    }
    expect(sobolPoints(16, 999, 30)).toEqual(all.subarray(999 * 16, 1029 * 16));
  });

  it('a digital shift keeps the net (each of 2^m intervals holds one of the first 2^m points per dimension) and depends on the seed', () => {
    const s = sobolPoints(5, 0, 256, 7);
    for (let d = 0; d < 5; d++) {
      const cells = new Set(Array.from({ length: 256 }, (_, i) => Math.floor(s[i * 5 + d]! * 256)));
      expect(cells.size).toBe(256);
    }
    expect(sobolPoints(5, 0, 4, 7)).toEqual(s.subarray(0, 20));
    expect(sobolPoints(5, 0, 4, 8)).not.toEqual(s.subarray(0, 20));
  });

  it('rejects unsupported dimensions and ranges with INVALID_ARGUMENT', () => {
    expect(() => sobolPoints(SOBOL_MAX_DIMENSIONS + 1, 0, 1)).toThrow(/INVALID_ARGUMENT/);
    expect(() => sobolPoints(2, -1, 1)).toThrow(/INVALID_ARGUMENT/);
  });
});
