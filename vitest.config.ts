import { readdirSync, existsSync } from 'node:fs';
import { defineConfig } from 'vitest/config';
import { buildShaders } from './scripts/build-shaders.mjs';

// WGSL sources become TypeScript modules before any test imports them, so a plain
// `npx vitest` never runs against stale shaders.
buildShaders();

const packages = readdirSync('packages').filter((p) => existsSync(`packages/${p}/package.json`));

export default defineConfig({
  resolve: {
    // Workspace packages resolve to their TypeScript sources in tests (see each exports map);
    // test/smoke-built.mjs checks the built output separately.
    conditions: ['@physiotwin/source'],
  },
  test: {
    // Dawn (the `webgpu` addon) is safest in child processes, not worker threads.
    pool: 'forks',
    maxWorkers: 2,
    testTimeout: 60_000,
    hookTimeout: 60_000,
    projects: [
      ...packages.map((name) => ({ extends: true, test: { name, root: `packages/${name}` } })),
      { extends: true, test: { name: 'integration', root: 'test', include: ['**/*.test.ts'] } },
    ],
  },
});
