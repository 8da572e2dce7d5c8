// Regression tests for what the mesh and surface fuzz targets (test/fuzz/meshes.ts, issue 11) found: each input is
// the minimal reproducer of one violation (a raw RangeError, a non-finite coordinate accepted) or a recipe the fix
// covers, and must now give a typed error.
import { readFileSync } from 'node:fs';
import { isPhysiotwinError } from '@physiotwin/core';
import type { TetMesh } from '@physiotwin/core';
import { describe, expect, it } from 'vitest';
import { readMsh, readObj, readPly, readVtp, readVtu, writeMsh, writeVtu } from './index.js';

const surfaceFixture = (name: string) => new Uint8Array(readFileSync(new URL(`../../../fixtures/surface/${name}`, import.meta.url)));

/** One tet of 10 mm. */
const tet = (): TetMesh => ({ positions: Float64Array.from([0, 0, 0, 10, 0, 0, 0, 10, 0, 0, 0, 10]), tets: Uint32Array.from([0, 1, 2, 3]), nodesPerTet: 4 });

const text = (b: Uint8Array) => new TextDecoder().decode(b);
const bytes = (s: string) => new TextEncoder().encode(s);

/** The error code a read throws (a raw error fails the test). */
function code(read: () => unknown): string {
  try {
    read();
  } catch (e) {
    if (isPhysiotwinError(e)) return e.code;
    throw e;
  }
  return 'ok';
}

describe('hostile meshes (fuzz reproducers)', () => {
  it('MSH binary: a NaN coordinate is IO_INVALID (it was returned as NaN)', () => {
    const b = writeMsh(tet(), { binary: true });
    // The node x = 10 is the only double 10.0 in the file (entity boxes hold the bounds 0..10 too: patch the last).
    const ten = new Uint8Array(new Float64Array([10]).buffer);
    let at = -1;
    for (let i = 0; i + 8 <= b.length; i++) if (ten.every((v, k) => b[i + k] === v)) at = i;
    expect(at).toBeGreaterThan(0);
    new DataView(b.buffer, b.byteOffset).setFloat64(at, Number.NaN, true);
    expect(code(() => readMsh(b))).toBe('IO_INVALID');
  });

  it('MSH: tetrahedron blocks of zero elements are IO_UNSUPPORTED (an empty mesh was returned)', () => {
    const ascii = text(writeMsh(tet()));
    // The $Elements section: 'blocks total min max', then per block 'dim entity type count'; the tet block's count
    // (type 4) set to 0 and its one element line dropped.
    const edited = ascii.replace(/\n3 (\d+) 4 1\n[^\n]*\n/, '\n3 $1 4 0\n');
    expect(edited).not.toBe(ascii);
    expect(() => readMsh(bytes(edited))).toThrow(/IO_UNSUPPORTED.*tetrahedron blocks are empty/);
  });

  it('VTU ascii: a NaN or 1e400 coordinate is IO_INVALID (it was returned as NaN/Infinity)', () => {
    const ascii = text(writeVtu(tet(), { format: 'ascii' }));
    for (const bad of ['nan', '1e400']) {
      const edited = ascii.replace(/(<Points><DataArray[^>]*>\s*0 0 0 )10 /, `$1${bad} `);
      expect(edited).not.toBe(ascii);
      expect(code(() => readVtu(bytes(edited)))).toBe('IO_INVALID');
    }
  });

  it('VTU ascii: a negative or decreasing cell offset is IO_INVALID (-2147483648 threw RangeError: Invalid typed array length)', () => {
    const ascii = text(writeVtu(tet(), { format: 'ascii', faces: false }));
    const edited = ascii.replace(/(Name="offsets"[^>]*>\s*)4/, '$1-2147483648');
    expect(edited).not.toBe(ascii);
    expect(code(() => readVtu(bytes(edited)))).toBe('IO_INVALID');
  });

  it('VTU appended zlib: a block declaring more than deflate can expand to is IO_INVALID before allocating', () => {
    const b = writeVtu(tet(), { format: 'appended', compress: true });
    // The first array's header right after the '_' marker: [blocks, blockSize, lastSize, compressed size], UInt64
    // (writeVtu's header_type): one block declared 2^32 - 1 bytes.
    const at = text(b).indexOf('_', text(b).indexOf('<AppendedData')) + 1;
    const view = new DataView(b.buffer, b.byteOffset);
    expect(view.getBigUint64(at, true)).toBe(1n);
    view.setBigUint64(at + 8, 0xffffffffn, true);
    view.setBigUint64(at + 16, 0n, true);
    // Refused by the ratio check (before it, a 4 GiB output buffer was allocated for the block).
    expect(() => readVtu(b)).toThrow(/IO_INVALID.*deflate expands at most 1032:1/);
  });

  it('VTP: an appended offset past the data is IO_TRUNCATED (2147483647 threw RangeError: Invalid typed array length)', () => {
    const src = text(surfaceFixture('sphere-appended-raw.vtp'));
    // The Points array's offset (the fuzz input set one offset to 2^31 - 1).
    const edited = src.replace(/(Name="Points"[^>]*offset=")\d+"/, '$12147483647"');
    expect(edited).not.toBe(src);
    expect(() => readVtp(bytes(edited))).toThrow(/IO_TRUNCATED.*past the AppendedData/);
  });

  it('VTP ascii: 2^31 - 1 declared points is IO_INVALID (the array was allocated before the values were counted)', () => {
    const src = text(surfaceFixture('sphere-ascii.vtp'));
    const edited = src.replace(/NumberOfPoints="\d+"/, 'NumberOfPoints="2147483647"');
    expect(edited).not.toBe(src);
    expect(code(() => readVtp(bytes(edited)))).toBe('IO_INVALID');
  });

  it('PLY: 2^31 - 1 declared vertices is IO_TRUNCATED (RangeError: Invalid typed array length: 6442450941)', () => {
    const src = text(surfaceFixture('sphere-ascii.ply'));
    const edited = src.replace(/element vertex \d+/, 'element vertex 2147483647');
    expect(edited).not.toBe(src);
    expect(code(() => readPly(bytes(edited)))).toBe('IO_TRUNCATED');
  });

  it('PLY: an element without properties declaring 1e20 items reads at once (the reader looped over them for hours)', () => {
    // The long fuzz run's input (seed 1159464542), reduced: an extra element before the vertices.
    const ply = 'ply\nformat ascii 1.0\nelement junk 99999999999999999999\nelement vertex 3\nproperty float x\nproperty float y\nproperty float z\nelement face 1\nproperty list uchar int vertex_indices\nend_header\n0 0 0\n1 0 0\n0 1 0\n3 0 1 2\n';
    const t0 = performance.now();
    expect(readPly(bytes(ply)).triangles).toEqual(Uint32Array.from([0, 1, 2]));
    // Reading four lines takes microseconds; 1 s leaves room for a loaded machine and still fails the loop.
    expect(performance.now() - t0).toBeLessThan(1000);
  });

  it('OBJ and PLY: a coordinate beyond float32 (1e308) is IO_INVALID (it was returned as Infinity)', () => {
    expect(code(() => readObj(bytes('v 1e308 0 0\nv 0 1 0\nv 0 0 1\nf 1 2 3\n')))).toBe('IO_INVALID');
    const ply = 'ply\nformat ascii 1.0\nelement vertex 3\nproperty float x\nproperty float y\nproperty float z\nelement face 1\nproperty list uchar int vertex_indices\nend_header\n1e308 0 0\n0 1 0\n0 0 1\n3 0 1 2\n';
    expect(code(() => readPly(bytes(ply)))).toBe('IO_INVALID');
  });
});
