// inflateBounded has two paths in Node: zlib's native inflater for ordinary streams, fflate's streaming one for
// everything else (and for every stream in browsers). Both must give the same bytes and the same typed errors.
import { createHash } from 'node:crypto';
import * as zlibNode from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { isPhysiotwinError } from '@physiotwin/core';
import { platformInflate } from '#zlib-platform';
import { gzipWithTrailingZeros } from '../test-support/hostile.js';
import { VERIFY_TAIL, bytesSource, inflateBounded, inflateStreaming } from './binary.js';
import type { InflateRequest } from './binary.js';

const digest = (bytes: Uint8Array) => `${bytes.length} bytes, sha256 ${createHash('sha256').update(bytes).digest('hex').slice(0, 16)}`;

/** The bytes' digest, or the error code (a raw error fails the test: both paths must type every failure). */
function outcome(run: () => Uint8Array): string {
  try {
    return digest(run());
  } catch (e) {
    if (!isPhysiotwinError(e)) throw e;
    return e.code;
  }
}

/** A 4-byte length header, then that many bytes: like NIfTI, the stream says how much of it is wanted. */
function framed(payload: Uint8Array): Uint8Array {
  const out = new Uint8Array(4 + payload.length);
  new DataView(out.buffer).setUint32(0, payload.length, true);
  out.set(payload, 4);
  return out;
}

const request = (format: 'gzip' | 'zlib', maxBytes?: number): InflateRequest => ({
  format,
  what: 'test stream',
  verify: true,
  maxBytes,
  needed: (prefix) => (prefix.length < 4 ? undefined : 4 + new DataView(prefix.buffer, prefix.byteOffset, 4).getUint32(0, true)),
});

/** Both paths on the same input: equal outcomes, returned for further checks. */
function agree(input: Uint8Array, format: 'gzip' | 'zlib', maxBytes?: number): string {
  const fast = outcome(() => inflateBounded(input, request(format, maxBytes)));
  const streaming = outcome(() => inflateStreaming(input, request(format, maxBytes)));
  expect(fast).toBe(streaming);
  return fast;
}

const payload = new Uint8Array(20_000).map((_, i) => (i * 7919) % 251);
const plain = framed(payload);
const expected = digest(plain);
const gz = new Uint8Array(zlibNode.gzipSync(plain));
const zl = new Uint8Array(zlibNode.deflateSync(plain));
const concat = (...parts: Uint8Array[]) => new Uint8Array(Buffer.concat(parts));
const flip = (bytes: Uint8Array, at: number) => {
  const copy = bytes.slice();
  copy[at]! ^= 0x5a;
  return copy;
};

describe('inflateBounded: the native and streaming paths agree', () => {
  it('Node has the native inflater, and its small results are not views into a shared buffer pool', () => {
    expect(platformInflate).toBeDefined();
    const { output, consumed } = platformInflate!(new Uint8Array(zlibNode.gzipSync(Buffer.from('abc'))), 'gzip', 10, false);
    expect(Buffer.from(output).toString()).toBe('abc');
    expect(consumed).toBeGreaterThan(3);
    // A pooled Buffer has an 8 KiB ArrayBuffer behind its 3 bytes; the result must own its buffer alone.
    expect([output.byteOffset, output.buffer.byteLength]).toEqual([0, 3]);
  });

  it('ordinary gzip and zlib streams (either compressor) give the same bytes', () => {
    expect(agree(gz, 'gzip')).toBe(expected);
    expect(agree(zl, 'zlib')).toBe(expected);
    expect(agree(new Uint8Array(zlibNode.gzipSync(plain, { level: 0 })), 'gzip')).toBe(expected);
    // Two gzip members, the header in the first: what the second holds is past the needed bytes.
    const half = 2000;
    expect(agree(concat(zlibNode.gzipSync(plain.subarray(0, half)), zlibNode.gzipSync(plain.subarray(half))), 'gzip')).toBe(expected);
  });

  it(`every cut of the stream, and a flipped byte at every 17th position, give the same outcome`, () => {
    for (const [bytes, format] of [[gz, 'gzip'], [zl, 'zlib']] as const) {
      const codes = new Set<string>();
      for (let cut = 0; cut < bytes.length; cut += cut < 64 || cut > bytes.length - 64 ? 1 : 97) codes.add(agree(bytes.subarray(0, cut), format));
      // A cut stream is never read as valid: mostly IO_TRUNCATED (IO_INVALID where too little is left to be a header).
      expect(codes.has('IO_TRUNCATED')).toBe(true);
      for (const code of codes) expect(['IO_TRUNCATED', 'IO_INVALID']).toContain(code);
      for (let at = 0; at < bytes.length; at += 17) agree(flip(bytes, at), format);
    }
  });

  it('trailing data (short and long, zeros and garbage), more data than needed, and limits give the same outcome', () => {
    for (const tail of [1, 8, 4096, 5000, 70_000]) {
      agree(concat(gz, new Uint8Array(tail)), 'gzip');
      agree(concat(gz, new Uint8Array(tail).fill(0x41)), 'gzip');
      agree(concat(zl, new Uint8Array(tail).fill(0x41)), 'zlib');
    }
    // The stream holds more than its header asks for: only the needed bytes come back.
    const longer = concat(plain, new Uint8Array(100_000).fill(3));
    expect(agree(new Uint8Array(zlibNode.gzipSync(longer)), 'gzip')).toBe(expected);
    expect(agree(new Uint8Array(zlibNode.deflateSync(longer)), 'zlib')).toBe(expected);
    expect(agree(gz, 'gzip', 1000)).toBe('LIMIT_EXCEEDED');
    expect(agree(zl, 'zlib', plain.length)).toBe(expected);
  });
});

describe('inflateBounded: a bomb after the needed bytes', () => {
  it('stops within a bounded overshoot: the 16 MiB of zeros after the needed bytes are not inflated (issue 11, fuzz seeds 464651288 and 552131787)', () => {
    // 31 kB of numbered text rows (11 kB compressed, 3:1) whose length header asks for 64 KiB more than they hold,
    // then 16 MiB of zeros in 16 kB: the fuzz's .nii.gz bombs had this shape (a vox_offset raised by 32767 moves the
    // needed bytes into the zeros). Before the fix the slice that reached the needed bytes was sized from the 3:1 seen
    // so far and held the whole bomb: fflate inflated all 16 MiB, the footer (zeros) then failed (IO_TRUNCATED),
    // 2.3-2.7 s per input under load.
    const text = new TextEncoder().encode(Array.from({ length: 2_500 }, (_, i) => `row ${i * 7919}\n`).join(''));
    const data = framed(new Uint8Array(text.length + 65_536));
    data.set(text, 4);
    const bomb = gzipWithTrailingZeros(data.subarray(0, 4 + text.length), 16);
    let read = 0;
    const source = { size: bomb.length, readInto: (at: number, target: Uint8Array) => ((read = Math.max(read, at + target.length)), bytesSource(bomb).readInto(at, target)) };
    expect(outcome(() => inflateStreaming(source, request('gzip')))).toBe(digest(data));
    // Each 1 MiB of zeros takes about 1 kB compressed: reading at most 4 kB past the needed bytes (and 1 MiB more)
    // compressed means at most a few MiB inflated (MAX_OVERSHOOT is 1 MiB, plus the last slice), far from 16 MiB.
    const dataCompressed = gzipWithTrailingZeros(data, 1).length;
    expect(read).toBeLessThan(dataCompressed + 4096);
    expect(read).toBeLessThan(bomb.length - VERIFY_TAIL);
    // Both paths agree on it (the native one refuses a stream longer than the needed bytes and hands it over).
    expect(agree(bomb, 'gzip')).toBe(digest(data));
  });
});
