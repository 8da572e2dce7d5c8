import { describe, expect, it } from 'vitest';
import { createVolume, isPhysiotwinError } from '@physiotwin/core';
import { marchingCubes } from './marching-cubes.js';
import { meshQuality } from './quality.js';
import { smoothTaubin } from './smooth.js';

/** Binary labelmap of a ball of radius r mm on 1 mm voxels, centre off the grid symmetry. */
function labelSphere(r: number) {
  const n = 2 * r + 8;
  const c = [n / 2 + 0.3, n / 2 - 0.2, n / 2 + 0.1];
  const data = new Uint8Array(n * n * n);
  for (let k = 0; k < n; k++) for (let j = 0; j < n; j++) for (let i = 0; i < n; i++) {
    if ((i - c[0]!) ** 2 + (j - c[1]!) ** 2 + (k - c[2]!) ** 2 <= r * r) data[i + n * (j + n * k)] = 1;
  }
  return createVolume({ data, dims: [n, n, n] });
}

describe('Taubin smoothing', () => {
  it('brings a binary labelmap sphere (r = 20 mm) to within 1% of the true area and volume, topology unchanged', async () => {
    const r = 20;
    const { mesh } = await marchingCubes(labelSphere(r), { label: 1 }, { backend: 'cpu' });
    const before = meshQuality(mesh);
    const smooth = smoothTaubin(mesh, { iterations: 30 });
    const after = meshQuality(smooth);
    const area = 4 * Math.PI * r * r;
    const volume = (4 / 3) * Math.PI * r ** 3;
    console.info(`labelmap sphere area error before ${(before.area / area - 1).toFixed(4)}, after ${(after.area / area - 1).toFixed(4)}; volume change ${(after.volume / before.volume - 1).toFixed(5)}`);
    expect(Math.abs(after.area / area - 1)).toBeLessThan(0.01);
    expect(Math.abs(after.volume / before.volume - 1)).toBeLessThan(0.01);
    expect(Math.abs(after.volume / volume - 1)).toBeLessThan(0.01);
    expect([after.closed, after.manifold, after.oriented, after.genus]).toEqual([true, true, true, 0]);
    // The staircase made the area several percent too large before smoothing.
    expect(before.area / area - 1).toBeGreaterThan(0.03);
  });

  it('rejects bad parameters with INVALID_ARGUMENT', () => {
    const m = { positions: new Float32Array(9), triangles: Uint32Array.from([0, 1, 2]) };
    expect(() => smoothTaubin(m, { iterations: -1 })).toThrow(/iterations/);
    let error: unknown;
    try {
      smoothTaubin(m, { lambda: 2 });
    } catch (e) {
      error = e;
    }
    expect(isPhysiotwinError(error, 'INVALID_ARGUMENT')).toBe(true);
  });
});
