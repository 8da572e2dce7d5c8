// Where `dicom convert`'s time goes, in one process, step by step as the CLI does it (without the CLI's flags and
// messages): module imports, the scan (hashing the files it reads whole), the load of every volume (hashing the
// files whose pixels it reads), encoding and staging the NIfTI (hashed while the pool writes it), the manifest, and
// the commit, which waits for the fsyncs. Wall and CPU (main thread plus workers) milliseconds per step.
//   npm run build && node scripts/profile-dicom-convert.mjs <dicom folder> [nii|nii.gz]
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const cpu = () => {
  const c = process.cpuUsage();
  return (c.user + c.system) / 1000;
};
const steps = [];
let last = { t: performance.now(), c: cpu() };
const step = (name) => {
  const now = { t: performance.now(), c: cpu() };
  steps.push([name, Math.round(now.t - last.t), Math.round(now.c - last.c)]);
  last = now;
};

const { fileDigest, harmonizeTimePoints, loadVolume, scanDicomPaths, volumeGroups } = await import('../packages/dicom/dist/node.js');
const { AtomicOutputs, encodeVolumeFileParts } = await import('../packages/io/dist/node.js');
const { createManifest } = await import('../packages/core/dist/index.js');
step('imports');
const scan = await scanDicomPaths([process.argv[2]], { digest: true });
step('scan');
const stacks = [];
for (const g of scan.groups) {
  const loaded = [];
  for (const v of volumeGroups(g)) loaded.push((await loadVolume(v, scan.sources, { spacing: 'report' })).volume);
  stacks.push(harmonizeTimePoints(loaded).volumes);
}
step('load');
const dir = mkdtempSync(join(tmpdir(), 'physiotwin-profile-'));
const out = new AtomicOutputs({ overwrite: true });
const format = process.argv[3] ?? 'nii';
for (const [i, s] of stacks.entries()) {
  const parts = encodeVolumeFileParts(join(dir, `${i}.${format}`), s[0], s.length > 1 ? { timePoints: s.slice(1) } : {});
  for (const [path, data] of parts) await out.stage(path, data, { sha256: true });
}
step('encode + stage (hash, write)');
const inputs = scan.sources.map((s) => ({ name: s.name, ...fileDigest(s) }));
const manifest = await createManifest({ tool: 'profile', inputs, parameters: {}, packages: {}, backend: { backend: 'cpu' } });
await out.stage(join(dir, 'manifest.json'), JSON.stringify(manifest, null, 2) + '\n', { sha256: true });
step('manifest');
await out.commit();
step('commit (fsync wait, rename)');
rmSync(dir, { recursive: true, force: true });
console.log(JSON.stringify({ files: scan.sources.length, groups: scan.groups.length, steps: Object.fromEntries(steps.map(([n, w, c]) => [n, { wallMs: w, cpuMs: c }])) }));
process.exit(0);
