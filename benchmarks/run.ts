// Runs every benchmarks/*.bench.ts (or those whose names contain an argument): `npm run bench [-- hemo]`.
// Each bench module's default export runs its cases and writes its report through harness.ts.
import { readdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const dir = dirname(fileURLToPath(import.meta.url));
const filters = process.argv.slice(2);
const files = readdirSync(dir)
  .filter((f) => f.endsWith('.bench.ts'))
  .filter((f) => filters.length === 0 || filters.some((x) => f.includes(x)))
  .sort();
if (files.length === 0) {
  console.error(`no benchmark matches ${filters.join(' ')}`);
  process.exit(2);
}
for (const file of files) {
  console.log(`\n== ${file}`);
  const mod = (await import(pathToFileURL(`${dir}/${file}`).href)) as { default: () => Promise<void> };
  await mod.default();
}
// A live WebGPU device keeps the process alive; benches release theirs, this makes sure.
const { releaseSharedGpu } = await import('@physiotwin/gpu');
await releaseSharedGpu();
process.exit(0);
