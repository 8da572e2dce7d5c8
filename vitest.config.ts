import { readdirSync, existsSync } from 'node:fs';
import { defaultServerConditions } from 'vite';
import { defineConfig } from 'vitest/config';
import { buildShaders } from './scripts/build-shaders.mjs';

// WGSL sources become TypeScript modules before any test imports them, so a plain
// `npx vitest` never runs against stale shaders.
buildShaders();

const packages = readdirSync('packages').filter((p) => existsSync(`packages/${p}/package.json`));

export default defineConfig({
  // Workspace packages resolve to their TypeScript sources in tests (the '@physiotwin/source' condition of
  // each exports map), so a test never runs against a stale dist/; test/smoke-built.mjs checks the built
  // output separately. Tests run in Vite's server (SSR) environment, whose conditions are set under `ssr`.
  ssr: {
    resolve: {
      conditions: ['@physiotwin/source', ...defaultServerConditions],
    },
  },
  test: {
    // Dawn (the `webgpu` addon) is safest in child processes, not worker threads.
    pool: 'forks',
    maxWorkers: 2,
    testTimeout: 60_000,
    // The default output, then the time per package (test/package-times-reporter.ts).
    reporters: ['default', './test/package-times-reporter.ts'],
    hookTimeout: 60_000,
    projects: [
      ...packages.map((name) => ({ extends: true, test: { name, root: `packages/${name}` } })),
      { extends: true, test: { name: 'integration', root: 'test', include: ['**/*.test.ts'] } },
    ],
  },
});
