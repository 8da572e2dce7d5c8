// The dependency rules of docs/design.md, checked on every package's sources and manifest:
// - a package imports only packages below it in the order (tests may also import one at the same level, as a
//   devDependency, e.g. dicom's test reads NIfTI with io), never one above;
// - package.json tells the truth: every @physiotwin package a source file imports is a dependency, one only tests
//   import is a devDependency, and every declared @physiotwin dependency is imported;
// - there is no import cycle between packages, nor between the files of a package;
// - the web app (packages/viewer/app/src) counts as a development part of viewer: it may import every package (viewer
//   too) and those only it imports are devDependencies; no package imports viewer; only viewer imports cornerstone
//   and vtk.js (dicom's optional WASM codecs, @cornerstonejs/codec-*, are not cornerstone's viewer).
// Packages not yet written (fem, pipeline, ...) are simply absent; a package missing from LEVELS fails.
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';

const ROOT = resolve(import.meta.dirname, '..');

/** The order of docs/design.md: a package may import only packages of a lower level. */
const LEVELS: Record<string, number> = {
  core: 0,
  gpu: 1,
  io: 2,
  dicom: 2,
  segment: 3,
  mesh: 4,
  fem: 5,
  hemo: 5,
  fhir: 5,
  pipeline: 6,
  workers: 7,
  viewer: 8,
  cli: 9,
};

/**
 * Import cycles between the files of a package that are known and being removed; each names where. The coordinator
 * empties an entry when the branch that breaks the cycle is merged.
 */
const KNOWN_FILE_CYCLES: Record<string, string> = {};

interface SourceFile {
  path: string;
  /** A test, test helper or the web app: may import its own level; its imports are devDependencies. */
  test: boolean;
  /** Every bare specifier (packages and their subpaths). */
  specifiers: string[];
  /** Relative imports, resolved to files of the same package. */
  local: string[];
  /** @physiotwin packages imported (subpath entries map to their package). */
  packages: string[];
}

function walk(dir: string): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir).flatMap((name) => {
    const p = join(dir, name);
    if (name === 'generated' || name === 'node_modules' || name === 'dist') return [];
    return statSync(p).isDirectory() ? walk(p) : /\.(ts|mts|js|mjs)$/.test(name) && !name.endsWith('.d.ts') ? [p] : [];
  });
}

const SPECIFIER = /(?:^|[\s;])(?:import|export)\s(?:[^'";]*?\sfrom\s)?['"]([^'"]+)['"]|import\(\s*['"]([^'"]+)['"]\s*\)/g;

function readSource(path: string): SourceFile {
  const text = readFileSync(path, 'utf8').replace(/\/\*[\s\S]*?\*\//g, '').replace(/^\s*\/\/.*$/gm, '');
  const local: string[] = [];
  const packages: string[] = [];
  const specifiers: string[] = [];
  for (const m of text.matchAll(SPECIFIER)) {
    const spec = m[1] ?? m[2]!;
    if (!spec.startsWith('.')) specifiers.push(spec);
    const pkg = /^@physiotwin\/([^/]+)/.exec(spec);
    if (pkg) packages.push(pkg[1]!);
    else if (spec.startsWith('.')) {
      const target = resolve(dirname(path), spec).replace(/\.js$/, '.ts');
      local.push(existsSync(target) ? target : resolve(dirname(path), spec));
    }
  }
  const test = /\.test\.ts$|\.test-helper\.ts$|test-support|testing\.ts$|test-util\.ts$|fuzz-util\.ts$|[\\/]viewer[\\/]app[\\/]src[\\/]/.test(path);
  return { path, test, local, packages, specifiers };
}

const packages = readdirSync(join(ROOT, 'packages')).filter((p) => existsSync(join(ROOT, 'packages', p, 'package.json')));
const sources = new Map(packages.map((p) => [p, [...walk(join(ROOT, 'packages', p, 'src')), ...walk(join(ROOT, 'packages', p, 'bin')), ...walk(join(ROOT, 'packages', p, 'test-support')), ...walk(join(ROOT, 'packages', p, 'app', 'src'))].map(readSource)]));

function manifest(p: string): { dependencies: Record<string, string>; devDependencies: Record<string, string> } {
  const m = JSON.parse(readFileSync(join(ROOT, 'packages', p, 'package.json'), 'utf8')) as Record<string, Record<string, string> | undefined>;
  return { dependencies: m.dependencies ?? {}, devDependencies: m.devDependencies ?? {} };
}

/** The first cycle found in a directed graph, as a list of nodes, or undefined. */
function findCycle(edges: Map<string, Set<string>>): string[] | undefined {
  const state = new Map<string, 'open' | 'done'>();
  const stack: string[] = [];
  const visit = (n: string): string[] | undefined => {
    state.set(n, 'open');
    stack.push(n);
    for (const m of edges.get(n) ?? []) {
      if (state.get(m) === 'open') return [...stack.slice(stack.indexOf(m)), m];
      if (!state.has(m)) {
        const c = visit(m);
        if (c) return c;
      }
    }
    stack.pop();
    state.set(n, 'done');
    return undefined;
  };
  for (const n of edges.keys()) {
    if (!state.has(n)) {
      const c = visit(n);
      if (c) return c;
    }
  }
  return undefined;
}

describe('dependency direction', () => {
  it.each(packages)('%s is in the order of docs/design.md', (p) => {
    expect(LEVELS[p], `add ${p} to LEVELS (test/dependency-direction.test.ts) and to docs/design.md`).toBeDefined();
  });

  it.each(packages)('%s imports only packages below it (tests: at most its level)', (p) => {
    const wrong: string[] = [];
    for (const f of sources.get(p)!) {
      for (const q of f.packages) {
        if (q === p) continue;
        const ok = f.test ? LEVELS[q]! <= LEVELS[p]! : LEVELS[q]! < LEVELS[p]!;
        if (LEVELS[q] === undefined || !ok) wrong.push(`${relative(ROOT, f.path)} imports @physiotwin/${q}`);
      }
    }
    expect(wrong).toEqual([]);
  });

  it.each(packages)('%s/package.json declares exactly the @physiotwin packages it imports', (p) => {
    const { dependencies, devDependencies } = manifest(p);
    const runtime = new Set(sources.get(p)!.filter((f) => !f.test).flatMap((f) => f.packages).filter((q) => q !== p));
    const testOnly = new Set(sources.get(p)!.filter((f) => f.test).flatMap((f) => f.packages).filter((q) => q !== p && !runtime.has(q)));
    const declared = (deps: Record<string, string>) => Object.keys(deps).filter((d) => d.startsWith('@physiotwin/')).map((d) => d.slice(12)).sort();
    expect({ dependencies: declared(dependencies), devDependencies: declared(devDependencies) }).toEqual({ dependencies: [...runtime].sort(), devDependencies: [...testOnly].sort() });
  });

  it('no package imports viewer (only its web app does); only viewer imports cornerstone and vtk.js', () => {
    const wrong: string[] = [];
    for (const [p, files] of sources) {
      for (const f of files) {
        if (p !== 'viewer' && f.packages.includes('viewer')) wrong.push(`${relative(ROOT, f.path)} imports @physiotwin/viewer`);
        const viewerOnly = f.specifiers.filter((s) => (/^@cornerstonejs\//.test(s) && !/^@cornerstonejs\/codec-/.test(s)) || /^@kitware\/vtk\.js/.test(s));
        if (p !== 'viewer' && !f.test && viewerOnly.length) wrong.push(`${relative(ROOT, f.path)} imports ${viewerOnly.join(', ')}`);
      }
    }
    expect(wrong).toEqual([]);
  });

  it('no import cycle between packages (tests included)', () => {
    const edges = new Map(packages.map((p) => [p, new Set(sources.get(p)!.flatMap((f) => f.packages).filter((q) => q !== p))]));
    expect(findCycle(edges)).toBeUndefined();
  });

  it.each(packages)('no import cycle between the files of %s', (p) => {
    const edges = new Map(sources.get(p)!.map((f) => [f.path, new Set(f.local)]));
    const cycle = findCycle(edges)?.map((f) => relative(ROOT, f));
    if (KNOWN_FILE_CYCLES[p]) {
      // Still there, or the entry must go (so the exemption cannot outlive the cycle).
      expect(cycle, `${p} has no file cycle any more: remove it from KNOWN_FILE_CYCLES`).toBeDefined();
      return;
    }
    expect(cycle).toBeUndefined();
  });
});
