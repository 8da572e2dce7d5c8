import { describe, expect, it } from 'vitest';
import {
  PhysiotwinError,
  canonicalJson,
  convertUnit,
  createManifest,
  createRng,
  isPhysiotwinError,
  progressReporter,
  sha256Hex,
  throwIfAborted,
  validateSurfaceMesh,
  validateTetMesh,
  verifyManifest,
} from './index.js';

describe('PhysiotwinError', () => {
  it('carries a stable code and the location in its message', () => {
    const e = new PhysiotwinError('IO_TRUNCATED', 'header ends early', { location: { file: 'a.nii', offset: 120 } });
    expect(e.code).toBe('IO_TRUNCATED');
    expect(e.message).toBe('IO_TRUNCATED: header ends early (file a.nii, byte 120)');
    expect(isPhysiotwinError(e, 'IO_TRUNCATED')).toBe(true);
    expect(isPhysiotwinError(new Error('x'))).toBe(false);
  });
});

describe('progress and cancellation', () => {
  it('reports at most maxReports times plus the end, and throws ABORTED once cancelled', () => {
    const events: number[] = [];
    const ac = new AbortController();
    const report = progressReporter({ onProgress: (e) => events.push(e.done), signal: ac.signal }, 'work', 1000, 10);
    for (let i = 1; i <= 1000; i++) report(i);
    expect(events.length).toBeLessThanOrEqual(11);
    expect(events.at(-1)).toBe(1000);
    ac.abort();
    expect(() => report(1)).toThrow(PhysiotwinError);
    expect(() => throwIfAborted(ac.signal)).toThrow(/ABORTED/);
  });
});

describe('seeded RNG', () => {
  it('is reproducible, seed-dependent and uniform', () => {
    const a = createRng(42);
    const b = createRng(42);
    const xs = Array.from({ length: 1000 }, () => a.nextUint32());
    expect(Array.from({ length: 1000 }, () => b.nextUint32())).toEqual(xs);
    expect(createRng(43).nextUint32()).not.toBe(xs[0]);
    const r = createRng(7);
    const n = 100_000;
    let sum = 0;
    let sq = 0;
    for (let i = 0; i < n; i++) {
      const u = r.next();
      sum += u;
      sq += u * u;
    }
    // Uniform[0,1): mean 1/2, variance 1/12; the sample mean's standard error is sqrt(1/12/n) = 9e-4: allow 5 sigma.
    expect(Math.abs(sum / n - 0.5)).toBeLessThan(5 * Math.sqrt(1 / 12 / n));
    expect(Math.abs(sq / n - (sum / n) ** 2 - 1 / 12)).toBeLessThan(0.002);
    let ns = 0;
    let nsq = 0;
    for (let i = 0; i < n; i++) {
      const z = r.normal();
      ns += z;
      nsq += z * z;
    }
    expect(Math.abs(ns / n)).toBeLessThan(5 / Math.sqrt(n));
    expect(Math.abs(nsq / n - 1)).toBeLessThan(5 * Math.sqrt(2 / n));
    expect(() => createRng(-1)).toThrow(/INVALID_ARGUMENT/);
  });
});

describe('units', () => {
  it('converts through mathjs with the conventional mmHg', () => {
    // 1 mmHg = 13.5951 g/cm^3 * 980.665 cm/s^2 * 0.1 cm = 1333.22387415 dyn/cm^2.
    expect(convertUnit(1, 'mmHg', 'dyn/cm^2')).toBeCloseTo(1333.22387415, 8);
    expect(convertUnit(120, 'mmHg', 'Pa')).toBeCloseTo(15998.6864898, 6);
    expect(convertUnit(5, 'L/min', 'mL/s')).toBeCloseTo(83.3333333333, 9);
    expect(convertUnit(1, 'mL/s', 'cm^3/s')).toBeCloseTo(1, 14);
    expect(() => convertUnit(1, 'mmHg', 'mL/s')).toThrow(/INVALID_ARGUMENT/);
    expect(() => convertUnit(1, 'degC', 'K')).toThrow(/offset/);
  });
});

describe('run manifest', () => {
  it('canonical JSON sorts keys and rejects non-JSON', () => {
    expect(canonicalJson({ b: [1, { d: 2, c: 'x' }], a: null, u: undefined })).toBe('{"a":null,"b":[1,{"c":"x","d":2}]}');
    expect(() => canonicalJson({ x: Number.NaN })).toThrow(/\$\.x/);
  });

  it('hashes with SHA-256 (FIPS 180-2 test vector)', async () => {
    expect(await sha256Hex('abc')).toBe('ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad');
  });

  it('gives the same runId for the same run whatever the timings, another for other parameters', async () => {
    const base = {
      tool: 'physiotwin test',
      inputs: [{ name: 'a.bin', data: new Uint8Array([1, 2, 3]) }],
      parameters: { bins: 256, range: [0, 1] },
      packages: { '@physiotwin/core': '0.1.0' },
      backend: { backend: 'cpu' as const },
      seed: 42,
    };
    const a = await createManifest({ ...base, timings: { total: 1 } });
    const b = await createManifest({ ...base, parameters: { range: [0, 1], bins: 256 }, timings: { total: 99 } });
    const c = await createManifest({ ...base, parameters: { bins: 128, range: [0, 1] } });
    expect(a.runId).toBe(b.runId);
    expect(c.runId).not.toBe(a.runId);
    expect(a.inputs[0]).toEqual({ name: 'a.bin', bytes: 3, sha256: await sha256Hex(new Uint8Array([1, 2, 3])) });
    expect(await verifyManifest(a)).toBe(true);
    expect(await verifyManifest({ ...a, seed: 1 })).toBe(false);
  });
});

describe('mesh validation', () => {
  it('accepts a tetrahedron and rejects out-of-range indices and bad array sizes', () => {
    const positions = new Float32Array([0, 0, 0, 1, 0, 0, 0, 1, 0, 0, 0, 1]);
    validateSurfaceMesh({ positions, triangles: new Uint32Array([0, 2, 1, 0, 1, 3, 0, 3, 2, 1, 2, 3]) });
    expect(() => validateSurfaceMesh({ positions, triangles: new Uint32Array([0, 1, 4]) })).toThrow(/INVALID_ARGUMENT/);
    expect(() => validateSurfaceMesh({ positions, triangles: new Uint32Array([0, 1]) })).toThrow(/multiple of 3/);
    validateTetMesh({ positions: Float64Array.from(positions), tets: new Uint32Array([0, 1, 2, 3]), nodesPerTet: 4 });
    expect(() => validateTetMesh({ positions: Float64Array.from(positions), tets: new Uint32Array([0, 1, 2, 3]), nodesPerTet: 4, regions: new Int32Array(2) })).toThrow(/regions/);
  });
});
