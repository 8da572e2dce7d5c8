import { describe, expect, it } from 'vitest';
import { createVolume, isPhysiotwinError } from '@physiotwin/core';
import { meshQuality } from './quality.js';
import { surfaceNets } from './surface-nets.js';

// Label 1: voxels x 1..3, y 1..4, z 1..5 (3 x 4 x 5); label 2: x 4..5 on the same y, z (2 x 4 x 5), touching it.
const dims: [number, number, number] = [8, 7, 8];
const data = new Uint8Array(8 * 7 * 8);
for (let k = 1; k <= 5; k++) for (let j = 1; j <= 4; j++) for (let i = 1; i <= 5; i++) data[i + 8 * (j + 7 * k)] = i <= 3 ? 1 : 2;
const spacing: [number, number, number] = [0.5, 1, 2];
const labels = createVolume({ data, dims, spacing, origin: [10, -4, 7] });

describe('surface nets', () => {
  it('wraps a box label exactly (voxel faces: area and volume of the box in mm), closed, manifold, outward', () => {
    const q = meshQuality(surfaceNets(labels, { label: 1 }));
    const [a, b, c] = [3 * 0.5, 4 * 1, 5 * 2];
    expect(q.area).toBeCloseTo(2 * (a * b + b * c + c * a), 4);
    expect(q.volume).toBeCloseTo(a * b * c, 4);
    expect([q.closed, q.manifold, q.oriented, q.genus]).toEqual([true, true, true, 0]);
  });

  it('gives neighbouring labels one shared boundary, listed once in the multi-label surface', () => {
    const all = surfaceNets(labels);
    const pairs = all.cellData!.labels!.values;
    let shared = 0;
    for (let t = 0; t < pairs.length / 2; t++) {
      const [back, front] = [pairs[2 * t]!, pairs[2 * t + 1]!];
      expect(back).not.toBe(front);
      if ((back === 1 && front === 2) || (back === 2 && front === 1)) shared++;
    }
    // The 4 x 5 voxel faces between the labels, two triangles each.
    expect(shared).toBe(2 * 4 * 5);
    // Label 1's and label 2's own surfaces use the same vertices on the interface plane.
    const one = surfaceNets(labels, { label: 1 });
    const two = surfaceNets(labels, { label: 2 });
    const key = (p: Float32Array, v: number) => `${p[3 * v]},${p[3 * v + 1]},${p[3 * v + 2]}`;
    const set1 = new Set(Array.from({ length: one.positions.length / 3 }, (_, v) => key(one.positions, v)));
    let common = 0;
    for (let v = 0; v < two.positions.length / 3; v++) if (set1.has(key(two.positions, v))) common++;
    expect(common).toBe(5 * 6); // the (4 + 1) x (5 + 1) grid points of the interface
    expect(meshQuality(two).closed).toBe(true);
  });

  it('relaxes a sphere labelmap towards the sphere while staying closed and oriented', () => {
    const n = 28;
    const ball = new Uint8Array(n * n * n);
    for (let k = 0; k < n; k++) for (let j = 0; j < n; j++) for (let i = 0; i < n; i++) if ((i - 13.6) ** 2 + (j - 13.3) ** 2 + (k - 13.5) ** 2 <= 100) ball[i + n * (j + n * k)] = 1;
    const vol = createVolume({ data: ball, dims: [n, n, n] });
    const raw = meshQuality(surfaceNets(vol, { label: 1 }));
    const relaxed = meshQuality(surfaceNets(vol, { label: 1, relax: 10 }));
    const area = 4 * Math.PI * 100;
    // Voxel faces overestimate a sphere's area by about 50% (the staircase); relaxation removes most of it.
    expect(raw.area / area).toBeGreaterThan(1.3);
    expect(Math.abs(relaxed.area / area - 1)).toBeLessThan(0.1);
    expect([relaxed.closed, relaxed.oriented]).toEqual([true, true]);
  });

  it('rejects a bad relax count with INVALID_ARGUMENT', () => {
    let error: unknown;
    try {
      surfaceNets(labels, { relax: -2 });
    } catch (e) {
      error = e;
    }
    expect(isPhysiotwinError(error, 'INVALID_ARGUMENT')).toBe(true);
  });
});
