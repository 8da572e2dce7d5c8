import { readdirSync, existsSync } from 'node:fs';
import { defaultServerConditions } from 'vite';
import { relative } from 'node:path';
import { defineConfig } from 'vitest/config';
import { BaseSequencer, type TestSpecification } from 'vitest/node';
import { buildShaders } from './scripts/build-shaders.mjs';

// WGSL sources become TypeScript modules before any test imports them, so a plain
// `npx vitest` never runs against stale shaders.
buildShaders();

const packages = readdirSync('packages').filter((p) => existsSync(`packages/${p}/package.json`));

/**
 * Projects whose test files run one after another in a worker without a fresh module graph each (vitest's
 * `isolate: false`): their tests set no environment, mock nothing, register no process handlers and keep no state
 * in module scope but caches (compiled pipelines), so a file sees what it would alone; the workspace sources they
 * import are then evaluated once per worker, not once per file (about 0.35 s of CPU per file). The others keep a
 * fresh graph per file: gpu (loads Dawn, spawns processes), cli (process signal handlers, environment, the shared
 * device), dicom, fem, workers and viewer (their owners' call), integration (slurm, fuzz, browser).
 */
const SHARED_WORKER = new Set(['core', 'io', 'segment', 'mesh', 'hemo', 'fhir', 'pipeline']);

/**
 * Runs the files longest first across all projects (vitest's own order groups them by project, so a long file of
 * the last project, e.g. segment's, ran alone at the end while the other worker idled): failed files first, then
 * by the last run's duration (vitest's results cache), files without one (new, or a cold cache) before the others,
 * the larger first. The order changes only when files start, never what runs.
 */
class LongestFirstSequencer extends BaseSequencer {
  override sort(files: TestSpecification[]): Promise<TestSpecification[]> {
    const cache = this.ctx.cache;
    const key = (f: TestSpecification) => `${f.project.name}:${relative(this.ctx.config.root, f.moduleId)}`;
    const facts = new Map(files.map((f) => [f, { result: cache.getFileTestResults(key(f)), size: cache.getFileStats(key(f))?.size ?? 0 }]));
    return Promise.resolve([...files].sort((a, b) => {
      const groupOrder = a.project.config.sequence.groupOrder - b.project.config.sequence.groupOrder;
      if (groupOrder !== 0) return groupOrder;
      const fa = facts.get(a)!;
      const fb = facts.get(b)!;
      if (!fa.result || !fb.result) return fa.result ? 1 : fb.result ? -1 : fb.size - fa.size;
      if (fa.result.failed !== fb.result.failed) return fa.result.failed ? -1 : 1;
      return (fb.result.duration ?? 0) - (fa.result.duration ?? 0);
    }));
  }
}

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
    sequence: { sequencer: LongestFirstSequencer },
    testTimeout: 60_000,
    // The default output, then the time per package (test/package-times-reporter.ts).
    reporters: ['default', './test/package-times-reporter.ts'],
    hookTimeout: 60_000,
    projects: [
      ...packages.map((name) => ({ extends: true, test: { name, root: `packages/${name}`, ...(SHARED_WORKER.has(name) ? { isolate: false } : {}) } })),
      { extends: true, test: { name: 'integration', root: 'test', include: ['**/*.test.ts'] } },
    ],
  },
});
