// inflateBounded has two paths in Node: zlib's native inflater for ordinary streams, fflate's streaming one for
// everything else (and for every stream in browsers). Both must give the same bytes and the same typed errors.
import { createHash } from 'node:crypto';
import * as zlibNode from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { isPhysiotwinError } from '@physiotwin/core';
import { platformInflate } from '#zlib-platform';
import { gzipWithTrailingZeros } from '../test-support/hostile.js';
import { VERIFY_EXTRA, VERIFY_TAIL, bytesSource, inflateBounded, inflateStreaming } from './binary.js';
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

/** `bytes` with the gzip member footer that ends at `end` (default: the stream's end) altered: CRC-32 or ISIZE. */
const badFooter = (bytes: Uint8Array, field: 'crc' | 'isize', end = bytes.length) => flip(bytes, end - (field === 'crc' ? 8 : 4));
/** Deterministic incompressible bytes (a 32-bit LCG's high bytes). */
const noise = (n: number, seed: number) => {
  let x = seed >>> 0;
  return new Uint8Array(n).map(() => ((x = (Math.imul(x, 1664525) + 1013904223) >>> 0), x >>> 24));
};

describe('inflateBounded: every member and a stream that runs past the needed bytes are checked where it is cheap', () => {
  it('a corrupt member before the last one (its CRC-32 or ISIZE, or a byte of its data) is IO_INVALID on both paths', () => {
    // BGZF-like: the needed bytes in 4 kB members, then an empty member (bgzip's end-of-file marker).
    const members: Uint8Array[] = [];
    for (let at = 0; at < plain.length; at += 4096) members.push(new Uint8Array(zlibNode.gzipSync(plain.subarray(at, at + 4096), { level: 0 })));
    members.push(new Uint8Array(zlibNode.gzipSync(new Uint8Array(0))));
    const ends = members.map((_, k) => members.slice(0, k + 1).reduce((n, m) => n + m.length, 0));
    const whole = concat(...members);
    expect(agree(whole, 'gzip')).toBe(expected);
    expect(agree(badFooter(whole, 'crc', ends[1]), 'gzip')).toBe('IO_INVALID');
    expect(agree(badFooter(whole, 'isize', ends[2]), 'gzip')).toBe('IO_INVALID');
    // level 0: stored blocks, so a flipped data byte is still valid deflate and only the CRC-32 can tell
    expect(agree(flip(whole, ends[0]! + 100), 'gzip')).toBe('IO_INVALID');
    // the last member's footer, as for a single member
    expect(agree(badFooter(whole, 'crc'), 'gzip')).toBe('IO_INVALID');
    // cut inside a member's data: the stream ends early
    expect(agree(whole.subarray(0, ends[2]! - 100), 'gzip')).toBe('IO_TRUNCATED');
  });

  it(`data past the needed bytes but within VERIFY_EXTRA decompressed (${VERIFY_EXTRA} B): followed to the end, footer checked`, () => {
    // 300 kB of noise after the needed bytes: 300 kB compressed too, far more than VERIFY_TAIL (before, such a
    // stream stopped at the needed bytes and any footer passed)
    const longer = new Uint8Array(zlibNode.gzipSync(concat(plain, noise(300_000, 7))));
    expect(longer.length - gz.length).toBeGreaterThan(50 * VERIFY_TAIL);
    expect(agree(longer, 'gzip')).toBe(expected);
    expect(agree(badFooter(longer, 'crc'), 'gzip')).toBe('IO_INVALID');
    expect(agree(badFooter(longer, 'isize'), 'gzip')).toBe('IO_TRUNCATED');
    expect(agree(longer.subarray(0, longer.length - 8), 'gzip')).toBe('IO_TRUNCATED');
    expect(agree(longer.subarray(0, longer.length - 50_000), 'gzip')).toBe('IO_TRUNCATED');
    const zlibLonger = new Uint8Array(zlibNode.deflateSync(concat(plain, noise(300_000, 7))));
    expect(agree(zlibLonger, 'zlib')).toBe(expected);
    expect(agree(flip(zlibLonger, zlibLonger.length - 1), 'zlib')).toBe('IO_INVALID');
  });

  it('a stream that runs on past VERIFY_EXTRA is not followed: its end goes unchecked, at a bounded cost', () => {
    // 3 MiB of stored noise after the needed bytes, then a wrong CRC-32: only inflating all of it could tell
    const far = new Uint8Array(zlibNode.gzipSync(concat(plain, noise(3 << 20, 11)), { level: 0 }));
    const wrong = badFooter(far, 'crc');
    let read = 0;
    const source = { size: wrong.length, readInto: (at: number, target: Uint8Array) => ((read = Math.max(read, at + target.length)), bytesSource(wrong).readInto(at, target)) };
    expect(outcome(() => inflateStreaming(source, request('gzip')))).toBe(expected);
    // stored blocks are 1:1: about VERIFY_EXTRA past the needed bytes was read, plus at most one slice (64 kB)
    expect(read).toBeLessThan(plain.length + VERIFY_EXTRA + (1 << 16) + 1024);
    expect(agree(wrong, 'gzip')).toBe(expected);
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
