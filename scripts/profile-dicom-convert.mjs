// Where `dicom convert`'s time goes, in one process: module imports, scan, assembly of every volume, the NIfTI
// write, and the manifest's hashing of the inputs (what the CLI does, step by step, without the CLI).
//   npm run build && node scripts/profile-dicom-convert.mjs <dicom folder>
import { mkdtempSync, rmSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const t0 = performance.now();
const { scanDicomPaths } = await import('../packages/dicom/dist/node.js');
const { harmonizeTimePoints, loadVolume, volumeGroups } = await import('../packages/dicom/dist/index.js');
const { writeVolumeFile } = await import('../packages/io/dist/node.js');
const { createManifest } = await import('../packages/core/dist/index.js');
const t1 = performance.now();
const scan = await scanDicomPaths([process.argv[2]]);
const t2 = performance.now();
const stacks = [];
for (const g of scan.groups) {
  const loaded = [];
  for (const v of volumeGroups(g)) loaded.push((await loadVolume(v, scan.sources, { spacing: 'report' })).volume);
  stacks.push(harmonizeTimePoints(loaded).volumes);
}
const t3 = performance.now();
const dir = mkdtempSync(join(tmpdir(), 'physiotwin-profile-'));
for (const [i, s] of stacks.entries()) await writeVolumeFile(join(dir, `${i}.nii`), s[0], { timePoints: s.slice(1) });
const t4 = performance.now();
const inputs = [];
for (const s of scan.sources) inputs.push({ name: s.name, data: new Uint8Array(await readFile(s.name)) });
await createManifest({ tool: 'profile', inputs, parameters: {}, packages: {}, backend: { backend: 'cpu' } });
const t5 = performance.now();
rmSync(dir, { recursive: true, force: true });
const ms = (x) => Math.round(x);
console.log(JSON.stringify({ files: scan.sources.length, groups: scan.groups.length, importsMs: ms(t1 - t0), scanMs: ms(t2 - t1), loadMs: ms(t3 - t2), writeMs: ms(t4 - t3), manifestMs: ms(t5 - t4) }));
process.exit(0);
