import { createHash } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { isPhysiotwinError } from '@physiotwin/core';
import type { ErrorCode } from '@physiotwin/core';
import { open } from 'node:fs/promises';
import { afterAll, describe, expect, it, vi } from 'vitest';
import { abandonPendingWrites, AtomicOutputs, checkFolderCreatable, checkOutputs, writeFileAtomic } from './atomic-write.js';

const root = mkdtempSync(join(tmpdir(), 'physiotwin-atomic-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));
let n = 0;
const freshDir = () => {
  const d = join(root, `d${n++}`);
  mkdirSync(d);
  return d;
};

async function codeOf(promise: Promise<unknown>): Promise<ErrorCode | 'ok'> {
  try {
    await promise;
    return 'ok';
  } catch (e) {
    if (!isPhysiotwinError(e)) throw e;
    return e.code;
  }
}

describe('atomic writes', () => {
  it('stages parts as one file (no concatenation by the caller) and returns its SHA-256 when asked', async () => {
    const dir = freshDir();
    const parts = [new Uint8Array([1, 2, 3]), new Uint8Array(0), new Uint8Array(70000).fill(9), new Uint8Array([4])];
    const whole = Buffer.concat(parts);
    const out = new AtomicOutputs();
    const staged = await out.stage(join(dir, 'v.nii'), parts, { sha256: true });
    const text = await out.stage(join(dir, 'v.json'), '{"é": 1}\n', { sha256: true });
    expect(await out.stage(join(dir, 'plain.txt'), 'x')).toEqual({ bytes: 1 });
    await out.commit();
    expect(readFileSync(join(dir, 'v.nii')).equals(whole)).toBe(true);
    expect(staged).toEqual({ bytes: whole.length, sha256: createHash('sha256').update(whole).digest('hex') });
    const json = readFileSync(join(dir, 'v.json'));
    expect(text).toEqual({ bytes: json.length, sha256: createHash('sha256').update(json).digest('hex') });
  });

  it('a file over the hash slice (8 MiB) from views into larger buffers: the same bytes and SHA-256', async () => {
    const dir = freshDir();
    const big = new Uint8Array(20 * 1024 * 1024 + 5);
    for (let i = 0; i < big.length; i += 4096) big[i] = i % 251;
    const backing = new Uint8Array(300).fill(7);
    const parts = [backing.subarray(10, 290), big.subarray(3), backing.subarray(299)];
    const whole = Buffer.concat(parts);
    const out = new AtomicOutputs();
    const staged = await out.stage(join(dir, 'big.nii'), parts, { sha256: true });
    await out.commit();
    expect(readFileSync(join(dir, 'big.nii')).equals(whole)).toBe(true);
    expect(staged).toEqual({ bytes: whole.length, sha256: createHash('sha256').update(whole).digest('hex') });
  });

  it('short writes (a file system that takes fewer bytes than asked) are continued where they stopped', async () => {
    const dir = freshDir();
    const probe = await open(dir, 'r');
    const proto = Object.getPrototypeOf(probe) as { writev: (buffers: Uint8Array[], position: number) => Promise<{ bytesWritten: number }> };
    await probe.close();
    const original = proto.writev;
    let calls = 0;
    // at most 1000 bytes per call, cut inside a part
    const spy = vi.spyOn(proto, 'writev').mockImplementation(async function (this: unknown, buffers: Uint8Array[], position: number) {
      calls++;
      const take: Uint8Array[] = [];
      let room = 1000;
      for (const b of buffers) {
        if (room === 0) break;
        take.push(b.subarray(0, Math.min(room, b.byteLength)));
        room -= take[take.length - 1]!.byteLength;
      }
      return original.call(this, take, position);
    });
    try {
      const parts = [new Uint8Array(352).fill(1), new Uint8Array(0), new Uint8Array(2500).map((_, i) => i % 256), new Uint8Array([5])];
      const out = new AtomicOutputs();
      await out.stage(join(dir, 'short.bin'), parts);
      await out.commit();
      expect(readFileSync(join(dir, 'short.bin')).equals(Buffer.concat(parts))).toBe(true);
      expect(calls).toBe(3); // 2853 bytes, 1000 a call
    } finally {
      spy.mockRestore();
    }
  });

  /** Holds every FileHandle.sync until `release()` (FileHandle is not exported: its prototype from a handle). */
  async function gateSyncs(dir: string) {
    const probe = await open(dir, 'r');
    const proto = Object.getPrototypeOf(probe) as { sync: () => Promise<void> };
    await probe.close();
    let release!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    const counter = { synced: 0 };
    const original = proto.sync;
    const spy = vi.spyOn(proto, 'sync').mockImplementation(async function (this: unknown) {
      await gate;
      await original.call(this);
      counter.synced++;
    });
    return { release, spy, counter };
  }

  it('fsyncs run on after stage returns; commit waits for them, and a failed fsync renames nothing and leaves nothing', async () => {
    const dir = freshDir();
    writeFileSync(join(dir, 'old.txt'), 'old');
    const { release, spy, counter } = await gateSyncs(dir);
    try {
      const out = new AtomicOutputs({ overwrite: true });
      await out.stage(join(dir, 'a.bin'), new Uint8Array(100).fill(1));
      await out.stage(join(dir, 'old.txt'), 'new');
      expect(counter.synced).toBe(0); // both staged while their fsyncs wait
      const committing = out.commit();
      await new Promise((r) => setTimeout(r, 20));
      expect(existsSync(join(dir, 'a.bin'))).toBe(false); // no rename before the fsyncs
      release();
      await committing;
      expect(counter.synced).toBe(3); // the two files, then their folder
      expect(readFileSync(join(dir, 'old.txt'), 'utf8')).toBe('new');

      spy.mockImplementation(async () => {
        throw Object.assign(new Error('EIO: i/o error, fsync'), { code: 'EIO' });
      });
      const failing = new AtomicOutputs({ overwrite: true });
      await failing.stage(join(dir, 'b.bin'), new Uint8Array(10));
      await failing.stage(join(dir, 'old.txt'), 'newer');
      expect(await codeOf(failing.commit())).toBe('IO_WRITE_FAILED');
      expect(readdirSync(dir).sort()).toEqual(['a.bin', 'old.txt']);
      expect(readFileSync(join(dir, 'old.txt'), 'utf8')).toBe('new');
    } finally {
      spy.mockRestore();
    }
  });

  it('at most 16 fsyncs pending (open files): the 17th stage waits for the first one\'s fsync', async () => {
    const dir = freshDir();
    const { release, spy } = await gateSyncs(dir);
    try {
      const out = new AtomicOutputs();
      for (let i = 0; i < 16; i++) await out.stage(join(dir, `f${i}.txt`), `${i}`);
      let returned = false;
      const last = out.stage(join(dir, 'f16.txt'), '16').then(() => (returned = true));
      await new Promise((r) => setTimeout(r, 20));
      expect(returned).toBe(false);
      release();
      await last;
      await out.commit();
      expect(readdirSync(dir)).toHaveLength(17);
    } finally {
      spy.mockRestore();
    }
  });

  it('writes a file; refuses an existing one (IO_EXISTS, untouched, no temporary file left); overwrite replaces it', async () => {
    const dir = freshDir();
    const path = join(dir, 'a.csv');
    await writeFileAtomic(path, 'one');
    expect(readFileSync(path, 'utf8')).toBe('one');
    expect(await codeOf(writeFileAtomic(path, 'two'))).toBe('IO_EXISTS');
    expect(readFileSync(path, 'utf8')).toBe('one');
    await writeFileAtomic(path, new TextEncoder().encode('three'), { overwrite: true });
    expect(readFileSync(path, 'utf8')).toBe('three');
    expect(readdirSync(dir)).toEqual(['a.csv']);
  });

  it('eight concurrent writers of one path without overwrite: exactly one wins, the others get IO_EXISTS', async () => {
    const dir = freshDir();
    const path = join(dir, 'race.csv');
    const results = await Promise.all(Array.from({ length: 8 }, (_, i) => codeOf(writeFileAtomic(path, `writer ${i}\n`.repeat(10000)))));
    expect(results.filter((r) => r === 'ok')).toHaveLength(1);
    expect(results.filter((r) => r === 'IO_EXISTS')).toHaveLength(7);
    const winner = results.indexOf('ok');
    expect(readFileSync(path, 'utf8')).toBe(`writer ${winner}\n`.repeat(10000));
    expect(readdirSync(dir)).toEqual(['race.csv']);
  });

  it('a set commits all or nothing: a taken name undoes the files the commit had created', async () => {
    const dir = freshDir();
    const out = new AtomicOutputs();
    await out.stage(join(dir, 'volume.nii'), 'volume');
    await out.stage(join(dir, 'volume.nii.manifest.json'), '{}');
    writeFileSync(join(dir, 'volume.nii.manifest.json'), 'someone else');
    expect(await codeOf(out.commit())).toBe('IO_EXISTS');
    expect(readdirSync(dir)).toEqual(['volume.nii.manifest.json']);
    expect(readFileSync(join(dir, 'volume.nii.manifest.json'), 'utf8')).toBe('someone else');
  });

  it('abandonPendingWrites (the signal handler) removes staged temporary files and leaves the old file', async () => {
    const dir = freshDir();
    writeFileSync(join(dir, 'keep.csv'), 'old');
    const out = new AtomicOutputs({ overwrite: true });
    await out.stage(join(dir, 'keep.csv'), 'new');
    expect(readdirSync(dir)).toHaveLength(2);
    abandonPendingWrites();
    expect(readdirSync(dir)).toEqual(['keep.csv']);
    expect(readFileSync(join(dir, 'keep.csv'), 'utf8')).toBe('old');
  });

  it('checkOutputs refuses before any work: existing file, missing folder, parent that is a file, target that is a folder', async () => {
    const dir = freshDir();
    writeFileSync(join(dir, 'exists.csv'), 'x');
    writeFileSync(join(dir, 'file'), 'x');
    mkdirSync(join(dir, 'folder.csv'));
    expect(await codeOf(checkOutputs([join(dir, 'new.csv'), join(dir, 'exists.csv')]))).toBe('IO_EXISTS');
    expect(await codeOf(checkOutputs([join(dir, 'exists.csv')], { overwrite: true }))).toBe('ok');
    expect(await codeOf(checkOutputs([join(dir, 'missing', 'a.csv')]))).toBe('IO_NOT_FOUND');
    expect(await codeOf(checkOutputs([join(dir, 'file', 'a.csv')]))).toBe('IO_WRITE_FAILED');
    expect(await codeOf(checkOutputs([join(dir, 'folder.csv')], { overwrite: true }))).toBe('IO_WRITE_FAILED');
    expect(await codeOf(checkFolderCreatable(join(dir, 'file', 'sub')))).toBe('IO_WRITE_FAILED');
    expect(await codeOf(checkFolderCreatable(join(dir, 'new', 'sub')))).toBe('ok');
    expect(existsSync(join(dir, 'new'))).toBe(false);
    // The checks leave nothing behind (the writability probe is removed).
    expect(readdirSync(dir).sort()).toEqual(['exists.csv', 'file', 'folder.csv']);
    // And the writers map the same errors when called without a check.
    expect(await codeOf(writeFileAtomic(join(dir, 'file', 'a.csv'), 'x'))).toBe('IO_WRITE_FAILED');
    expect(await codeOf(writeFileAtomic(join(dir, 'missing', 'a.csv'), 'x'))).toBe('IO_NOT_FOUND');
  });

  // Permission bits do not stop root (these tests may run as root): a folder in sysfs refuses new files to every
  // user; a chmod 555 folder refuses them to everyone but root.
  it.runIf(process.platform === 'linux' && existsSync('/sys/kernel'))('an unwritable folder is IO_PERMISSION (sysfs)', async () => {
    expect(await codeOf(checkOutputs(['/sys/kernel/physiotwin-test.csv']))).toBe('IO_PERMISSION');
    expect(await codeOf(writeFileAtomic('/sys/kernel/physiotwin-test.csv', 'x'))).toBe('IO_PERMISSION');
  });

  it.runIf(process.platform !== 'win32' && process.getuid?.() !== 0)('an unwritable folder is IO_PERMISSION (chmod 555, not root)', async () => {
    const dir = freshDir();
    chmodSync(dir, 0o555);
    try {
      expect(await codeOf(checkOutputs([join(dir, 'a.csv')]))).toBe('IO_PERMISSION');
    } finally {
      chmodSync(dir, 0o755);
    }
  });
});
