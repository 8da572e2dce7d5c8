// inflateBounded has two paths in Node: zlib's native inflater for ordinary streams, fflate's streaming one for
// everything else (and for every stream in browsers). Both must give the same bytes and the same typed errors.
import { createHash } from 'node:crypto';
import * as zlibNode from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { isPhysiotwinError } from '@physiotwin/core';
import { platformInflate } from '#zlib-platform';
import { inflateBounded, inflateStreaming } from './binary.js';
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
