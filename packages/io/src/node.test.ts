import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { isPhysiotwinError } from '@physiotwin/core';
import type { ErrorCode } from '@physiotwin/core';
import { afterAll, describe, expect, it } from 'vitest';
import { REPO_ROOT, bytesOf, randomVolume } from '../test-support/volumes.js';
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

  it('reads the aorta fixture', async () => {
    const v = await readVolumeFile(join(REPO_ROOT, 'fixtures/mesh/vmtk-aorta/aorta.mha'));
    expect(v.dims).toEqual([157, 393, 34]);
    expect(v.direction).toEqual([-1, 0, 0, 0, -1, 0, 0, 0, 1]);
  });
});
