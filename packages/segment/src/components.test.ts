import { describe, expect, it } from 'vitest';
import type { Vec3 } from '@physiotwin/core';
import { createRng, createVolume, isPhysiotwinError } from '@physiotwin/core';
import { describeBackends } from '@physiotwin/gpu/testing';
import { connectedComponents, largestComponent, seedComponent } from './components.js';
import type { Connectivity } from './volume-utils.js';

/** Reference labelling written independently of the library: breadth-first search from each unvisited voxel in raster order. */
function bfsLabels(mask: Uint8Array, [nx, ny, nz]: Vec3, connectivity: Connectivity): { labels: Uint32Array; count: number } {
  const labels = new Uint32Array(mask.length);
  let count = 0;
  for (let start = 0; start < mask.length; start++) {
    if (!mask[start] || labels[start]) continue;
    labels[start] = ++count;
    const queue = [start];
    while (queue.length) {
      const p = queue.shift()!;
      const i = p % nx;
      const j = Math.floor(p / nx) % ny;
      const k = Math.floor(p / (nx * ny));
      for (let dk = -1; dk <= 1; dk++) for (let dj = -1; dj <= 1; dj++) for (let di = -1; di <= 1; di++) {
        const order = Math.abs(di) + Math.abs(dj) + Math.abs(dk);
        if (order === 0 || (connectivity === 6 && order > 1) || (connectivity === 18 && order > 2)) continue;
        const [a, bb, c] = [i + di, j + dj, k + dk];
        if (a < 0 || bb < 0 || c < 0 || a >= nx || bb >= ny || c >= nz) continue;
        const q = a + nx * (bb + ny * c);
        if (mask[q] && !labels[q]) {
          labels[q] = count;
          queue.push(q);
        }
      }
    }
  }
  return { labels, count };
}

const rng = createRng(11);
const dims: Vec3 = [23, 17, 9];
const random = createVolume({ data: Uint8Array.from({ length: 23 * 17 * 9 }, () => (rng.next() < 0.35 ? 1 : 0)), dims });

describeBackends('connectedComponents', (b) => {
  for (const connectivity of [6, 18, 26] as const) {
    it(`matches a BFS labelling of a random mask, ${connectivity}-connectivity`, async () => {
      const r = await connectedComponents(random, { connectivity }, b.options());
      const ref = bfsLabels(random.data, dims, connectivity);
      expect(r.backend).toBe(b.backend);
      expect(r.count).toBe(ref.count);
      expect(r.count).toBeGreaterThan(1);
      expect(Array.from(r.labels.data)).toEqual(Array.from(ref.labels));
      let total = 0;
      for (let l = 1; l <= r.count; l++) total += r.sizes[l]!;
      expect(total).toBe(random.data.reduce((a, v) => a + v, 0));
    });
  }

  it('separates voxels touching by an edge (6) or a corner (6, 18)', async () => {
    const data = new Uint8Array(27);
    data[0] = 1; // (0,0,0)
    data[1 + 3] = 1; // (1,1,0): shares an edge with (0,0,0)
    data[2 + 3 * 2 + 9] = 1; // (2,2,1): shares a corner with (1,1,0)
    const m = createVolume({ data, dims: [3, 3, 3] });
    const counts = await Promise.all(([6, 18, 26] as const).map(async (c) => (await connectedComponents(m, { connectivity: c }, b.options())).count));
    expect(counts).toEqual([3, 2, 1]);
  });

  it('keeps the largest component and the seed-connected components', async () => {
    const largest = await largestComponent(random, { connectivity: 6 }, b.options());
    const ref = bfsLabels(random.data, dims, 6);
    const sizes = new Map<number, number>();
    for (const l of ref.labels) if (l) sizes.set(l, (sizes.get(l) ?? 0) + 1);
    const [bestLabel] = [...sizes.entries()].sort((x, y) => y[1] - x[1] || x[0] - y[0])[0]!;
    for (let i = 0; i < random.data.length; i++) expect(largest.mask.data[i]).toBe(ref.labels[i] === bestLabel ? 1 : 0);

    // Two seeds: one on a foreground voxel, one on background (selects nothing).
    const fg = random.data.indexOf(1, 500);
    const bg = random.data.indexOf(0, 10);
    const toIjk = (p: number): Vec3 => [p % 23, Math.floor(p / 23) % 17, Math.floor(p / (23 * 17))];
    const seeded = await seedComponent(random, [toIjk(fg), toIjk(bg)], { connectivity: 26 }, b.options());
    const ref26 = bfsLabels(random.data, dims, 26);
    for (let i = 0; i < random.data.length; i++) expect(seeded.mask.data[i]).toBe(ref26.labels[i] === ref26.labels[fg] ? 1 : 0);
  });
});

describe('component errors', () => {
  it('rejects a bad connectivity and seeds outside the volume with INVALID_ARGUMENT', async () => {
    await expect(connectedComponents(random, { connectivity: 8 as never }, { backend: 'cpu' })).rejects.toSatisfy((e) => isPhysiotwinError(e, 'INVALID_ARGUMENT'));
    await expect(seedComponent(random, [[23, 0, 0]], {}, { backend: 'cpu' })).rejects.toThrow(/seed 0 \(23, 0, 0\)/);
    await expect(seedComponent(random, [[1.5, 0, 0]], {}, { backend: 'cpu' })).rejects.toSatisfy((e) => isPhysiotwinError(e, 'INVALID_ARGUMENT'));
    await expect(seedComponent(random, [], {}, { backend: 'cpu' })).rejects.toSatisfy((e) => isPhysiotwinError(e, 'INVALID_ARGUMENT'));
  });
});
