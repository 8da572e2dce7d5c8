import { execFileSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { isPhysiotwinError } from '@physiotwin/core';
import type { ErrorCode } from '@physiotwin/core';
import { afterAll, describe, expect, it } from 'vitest';
import { REPO_ROOT, bytesOf, randomVolume } from '../test-support/volumes.js';
import { writeNifti } from './nifti.js';
import { readVolumeFile, writeVolumeFile } from './node.js';

const dir = mkdtempSync(join(tmpdir(), 'physiotwin-io-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

async function expectCodeAsync(promise: Promise<unknown>, code: ErrorCode): Promise<Error> {
  const e = await promise.then(
    () => undefined,
    (err: unknown) => err,
  );
  if (!isPhysiotwinError(e)) throw new Error(`expected PhysiotwinError ${code}, got ${String(e)}`);
  expect(e.code, e.message).toBe(code);
  return e;
}

describe('@physiotwin/io/node', () => {
  const volume = randomVolume('int16', 300, { rescale: { slope: 2, intercept: -1024 } });

  for (const [name, gzip] of [['a.nii', false], ['a.nii.gz', false], ['a.mha', false], ['z.mha', true], ['a.mhd', false], ['z.mhd', true]] as const) {
    it(`writes and reads ${name}${gzip ? ' (compressed)' : ''}`, async () => {
      const path = join(dir, name);
      await writeVolumeFile(path, volume, { gzip });
      const back = await readVolumeFile(path);
      expect(Buffer.from(bytesOf(back)).equals(Buffer.from(bytesOf(volume)))).toBe(true);
      expect(back.dims).toEqual(volume.dims);
      expect(back.rescale).toEqual(volume.rescale);
    });
  }

  it('.nii.gz is gzipped; .mhd data goes to .raw, or .zraw when compressed', () => {
    expect([...readFileSync(join(dir, 'a.nii.gz')).subarray(0, 2)]).toEqual([0x1f, 0x8b]);
    expect(readFileSync(join(dir, 'a.mhd'), 'utf8')).toContain('ElementDataFile = a.raw');
    expect(existsSync(join(dir, 'a.raw'))).toBe(true);
    expect(readFileSync(join(dir, 'z.mhd'), 'utf8')).toContain('ElementDataFile = z.zraw');
    expect(existsSync(join(dir, 'z.zraw'))).toBe(true);
  });

  it('refuses to overwrite (IO_EXISTS, nothing written) unless overwrite is set', async () => {
    const path = join(dir, 'keep.nii');
    writeFileSync(path, 'precious');
    await expectCodeAsync(writeVolumeFile(path, volume), 'IO_EXISTS');
    expect(readFileSync(path, 'utf8')).toBe('precious');
    // .mhd: an existing data file blocks the header too.
    writeFileSync(join(dir, 'pair.raw'), 'precious');
    await expectCodeAsync(writeVolumeFile(join(dir, 'pair.mhd'), volume), 'IO_EXISTS');
    expect(existsSync(join(dir, 'pair.mhd'))).toBe(false);
    await writeVolumeFile(path, volume, { overwrite: true });
    expect((await readVolumeFile(path)).dims).toEqual(volume.dims);
  });

  it('missing files are IO_NOT_FOUND (the volume, or an .mhd data file)', async () => {
    await expectCodeAsync(readVolumeFile(join(dir, 'nope.nii')), 'IO_NOT_FOUND');
    await writeVolumeFile(join(dir, 'lonely.mhd'), volume);
    rmSync(join(dir, 'lonely.raw'));
    const e = await expectCodeAsync(readVolumeFile(join(dir, 'lonely.mhd')), 'IO_NOT_FOUND');
    expect(e.message).toContain('lonely.raw');
  });

  it('unknown extensions are IO_UNSUPPORTED; gzip with a plain .nii is INVALID_ARGUMENT', async () => {
    await expectCodeAsync(writeVolumeFile(join(dir, 'a.vtk'), volume), 'IO_UNSUPPORTED');
    await expectCodeAsync(writeVolumeFile(join(dir, 'b.nii'), volume, { gzip: true }), 'INVALID_ARGUMENT');
  });

  describe('an .mhd header is untrusted: its ElementDataFile is a regular file inside its folder, read in part', () => {
    const outside = mkdtempSync(join(tmpdir(), 'physiotwin-io-outside-'));
    const inside = join(dir, 'mhd');
    mkdirSync(inside);
    afterAll(() => rmSync(outside, { recursive: true, force: true }));
    // 8x8x1 uint8: 64 bytes of voxels.
    const mhd = (name: string, extra = '') =>
      `ObjectType = Image\nNDims = 3\nDimSize = 8 8 1\nElementType = MET_UCHAR\n${extra}ElementDataFile = ${name}\n`;
    const write = (file: string, text: string) => {
      writeFileSync(join(inside, file), text);
      return join(inside, file);
    };
    const secret = join(outside, 'secret.raw');
    writeFileSync(secret, new Uint8Array(64).fill(7));

    it('absolute paths, .. paths and links leading out -> IO_PERMISSION naming allowDataFileOutside; nothing read', async () => {
      for (const name of [secret, `../${relative(dir, outside)}/secret.raw`, '../../../../../../../../etc/passwd', 'sub/../../x.raw']) {
        const e = await expectCodeAsync(readVolumeFile(write('evil.mhd', mhd(name))), 'IO_PERMISSION');
        expect(e.message).toContain('allowDataFileOutside');
      }
      symlinkSync(secret, join(inside, 'link.raw'));
      expect((await expectCodeAsync(readVolumeFile(write('link.mhd', mhd('link.raw'))), 'IO_PERMISSION')).message).toContain('symbolic link');
      // The option widens it, for headers the caller trusts.
      const v = await readVolumeFile(write('trusted.mhd', mhd(secret)), { allowDataFileOutside: true });
      expect(v.data[0]).toBe(7);
    });

    it('a name inside the folder (also in a subfolder, also through a link that stays inside) is read', async () => {
      mkdirSync(join(inside, 'sub'));
      writeFileSync(join(inside, 'sub', 'v.raw'), new Uint8Array(64).fill(3));
      expect((await readVolumeFile(write('sub.mhd', mhd('sub/v.raw')))).data[63]).toBe(3);
      symlinkSync(join(inside, 'sub', 'v.raw'), join(inside, 'inner-link.raw'));
      expect((await readVolumeFile(write('inner.mhd', mhd('inner-link.raw')))).data[0]).toBe(3);
    });

    it.runIf(process.platform === 'linux')('devices, FIFOs and folders -> IO_INVALID at once (no read of /dev/zero, no wait on a FIFO)', async () => {
      symlinkSync('/dev/zero', join(inside, 'zero.raw'));
      await expectCodeAsync(readVolumeFile(write('zero.mhd', mhd('zero.raw')), { allowDataFileOutside: true }), 'IO_INVALID');
      execFileSync('mkfifo', [join(inside, 'fifo.raw')]);
      const t0 = performance.now();
      expect((await expectCodeAsync(readVolumeFile(write('fifo.mhd', mhd('fifo.raw'))), 'IO_INVALID')).message).toContain('FIFO');
      expect(performance.now() - t0).toBeLessThan(1000);
      await expectCodeAsync(readVolumeFile(write('dir.mhd', mhd('sub'))), 'IO_INVALID');
      // The volume file itself too.
      await expectCodeAsync(readVolumeFile(join(inside, 'fifo.raw')), 'IO_INVALID');
      await expectCodeAsync(readVolumeFile('/dev/zero'), 'IO_INVALID');
    });

    it('a 3 GiB data file behind an 8x8x1 header: only the 64 declared bytes are read (sparse file, no RangeError)', async () => {
      const big = join(inside, 'big.raw');
      writeFileSync(big, new Uint8Array(64).fill(9));
      truncateSync(big, 3 * 2 ** 30);
      const before = process.memoryUsage().rss;
      const v = await readVolumeFile(write('big.mhd', mhd('big.raw')));
      expect(v.data.length).toBe(64);
      expect(v.data[0]).toBe(9);
      // HeaderSize = -1 takes the last 64 bytes (zeros of the sparse tail).
      expect((await readVolumeFile(write('big-tail.mhd', mhd('big.raw', 'HeaderSize = -1\n')))).data[0]).toBe(0);
      expect(process.memoryUsage().rss - before).toBeLessThan(256 * 2 ** 20);
    });

    it('a 3 GiB .mha or .nii behind a small header: only the header and the declared voxels are read', async () => {
      const mha = join(inside, 'big.mha');
      writeFileSync(mha, `${mhd('LOCAL')}${'\x05'.repeat(64)}`);
      truncateSync(mha, 3 * 2 ** 30);
      const nii = join(inside, 'big.nii');
      writeFileSync(nii, writeNifti(volume));
      truncateSync(nii, 3 * 2 ** 30);
      const before = process.memoryUsage().rss;
      expect((await readVolumeFile(mha)).data[63]).toBe(5);
      expect(Buffer.from(bytesOf(await readVolumeFile(nii))).equals(Buffer.from(bytesOf(volume)))).toBe(true);
      expect(process.memoryUsage().rss - before).toBeLessThan(256 * 2 ** 20);
    });

    it.runIf(process.platform !== 'win32' && process.getuid?.() !== 0)('an unreadable data file -> IO_PERMISSION', async () => {
      const locked = join(inside, 'locked.raw');
      writeFileSync(locked, new Uint8Array(64));
      chmodSync(locked, 0);
      await expectCodeAsync(readVolumeFile(write('locked.mhd', mhd('locked.raw'))), 'IO_PERMISSION');
    });
  });

  it('reads the aorta fixture', async () => {
    const v = await readVolumeFile(join(REPO_ROOT, 'fixtures/mesh/vmtk-aorta/aorta.mha'));
    expect(v.dims).toEqual([157, 393, 34]);
    expect(v.direction).toEqual([-1, 0, 0, 0, -1, 0, 0, 0, 1]);
  });
});
