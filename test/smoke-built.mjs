// Smoke test of the BUILT packages in plain Node (no vitest, no TypeScript sources): every entry point of
// every package imports, the main path works end to end, and the `physiotwin` bin runs.
// Run by `npm test` after `tsc --build`.
import { execFileSync } from 'node:child_process';
import { readFileSync, readdirSync } from 'node:fs';
import assert from 'node:assert/strict';

const failures = [];
async function check(name, fn) {
  try {
    await fn();
    console.log(`ok   ${name}`);
  } catch (e) {
    failures.push(name);
    console.log(`FAIL ${name}: ${e.stack ?? e}`);
  }
}

for (const dir of readdirSync('packages').sort()) {
  const pkg = JSON.parse(readFileSync(`packages/${dir}/package.json`, 'utf8'));
  for (const [entry, target] of Object.entries(pkg.exports)) {
    // ./testing needs a running vitest; the CLI's main entry is checked through its bin below.
    if (entry === './testing') continue;
    const specifier = entry === '.' ? pkg.name : `${pkg.name}/${entry.slice(2)}`;
    await check(`import ${specifier} -> ${target.default}`, async () => {
      const mod = await import(specifier);
      assert.ok(Object.keys(mod).length > 0, 'no exports');
    });
  }
}

await check('volume -> NIfTI bytes -> volume -> statistics (built code)', async () => {
  const { createVolume } = await import('@physiotwin/core');
  const { readNifti, writeNifti } = await import('@physiotwin/io');
  const { volumeStatistics } = await import('@physiotwin/segment');
  const v = createVolume({ data: Int16Array.from({ length: 24 }, (_, i) => i - 4), dims: [4, 3, 2], spacing: [0.5, 0.5, 2] });
  const back = readNifti(writeNifti(v, { gzip: true }));
  assert.deepEqual(Array.from(back.data), Array.from(v.data));
  const s = await volumeStatistics(back, { backend: 'cpu' });
  assert.deepEqual([s.min, s.max, s.mean], [-4, 19, 7.5]);
});

await check('physiotwin --version and info --json on the aorta fixture (the bin, as installed)', () => {
  const version = execFileSync('npx', ['--no-install', 'physiotwin', '--version'], { encoding: 'utf8' }).trim();
  assert.equal(version, JSON.parse(readFileSync('packages/cli/package.json', 'utf8')).version);
  const info = JSON.parse(execFileSync('npx', ['--no-install', 'physiotwin', 'info', 'fixtures/mesh/vmtk-aorta/aorta.mha', '--json'], { encoding: 'utf8' }));
  assert.deepEqual(info.dims, [157, 393, 34]);
});

console.log(`${failures.length ? 'smoke test failed' : 'smoke test passed'}: ${failures.length} failed`);
process.exit(failures.length ? 1 : 0);
