import { existsSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

// `physiotwin info` start-up (issue #11): what Node loads before the command runs. The graph follows static
// imports only (an `import()` loads on demand), across workspace packages through their source entries, and
// through "#" imports under the "node" condition (the one the CLI runs under).
const PACKAGES = fileURLToPath(new URL('../../../', import.meta.url));

interface PackageJson {
  exports?: Record<string, { '@physiotwin/source'?: string }>;
  imports?: Record<string, { '@physiotwin/source'?: string | Record<string, string> }>;
}

function packageJson(dir: string): PackageJson {
  return JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as PackageJson;
}

/** The package directory that holds `file`. */
function packageDir(file: string): string {
  let dir = dirname(file);
  while (!existsSync(join(dir, 'package.json'))) dir = dirname(dir);
  return dir;
}

/** Runtime specifiers of a module: `import type` / `export type` are erased (verbatimModuleSyntax), `import()` is not static. */
function staticImports(file: string): string[] {
  const text = readFileSync(file, 'utf8')
    .replace(/\/\*[\s\S]*?\*\//g, '')
    .replace(/^\s*\/\/.*$/gm, '');
  return [...text.matchAll(/^\s*(import|export)\s+(?!type\s)(?:[^'";]*?\sfrom\s+)?['"]([^'"]+)['"]/gm)].map((m) => m[2]!);
}

/** Every module the given ones load statically, and the bare (third-party or node:) specifiers loaded on the way. */
function loadGraph(roots: string[]): { files: Set<string>; bare: Set<string> } {
  const files = new Set<string>();
  const bare = new Set<string>();
  const visit = (file: string) => {
    if (files.has(file)) return;
    files.add(file);
    for (const spec of staticImports(file)) {
      if (spec.startsWith('.')) {
        visit(resolve(dirname(file), spec).replace(/\.js$/, '.ts'));
      } else if (spec.startsWith('#')) {
        const dir = packageDir(file);
        const target = packageJson(dir).imports?.[spec]?.['@physiotwin/source'];
        expect(target, `${file}: ${spec} is not mapped for @physiotwin/source`).toBeDefined();
        visit(join(dir, typeof target === 'string' ? target : target!.node ?? target!.default!));
      } else if (spec.startsWith('@physiotwin/')) {
        bare.add(spec);
        const [, name, sub] = /^@physiotwin\/([^/]+)(\/.*)?$/.exec(spec)!;
        const dir = join(PACKAGES, name!);
        const entry = packageJson(dir).exports?.[`.${sub ?? ''}`]?.['@physiotwin/source'];
        expect(entry, `${file}: ${spec} has no @physiotwin/source entry`).toBeDefined();
        visit(join(dir, entry!));
      } else {
        bare.add(spec);
      }
    }
  };
  for (const r of roots) visit(r);
  return { files, bare };
}

describe('physiotwin info start-up (issue #11)', () => {
  const cli = join(PACKAGES, 'cli/src/');
  // main.ts runs run.ts, which imports command.ts for every command and then loads the command's module.
  const { files, bare } = loadGraph([`${cli}main.ts`, `${cli}command.ts`, `${cli}commands/info.ts`]);

  it('the graph is the one the command runs (reading the file, computing its statistics)', () => {
    expect(bare).toContain('@physiotwin/core');
    expect(bare).toContain('@physiotwin/io/node');
    expect(bare).toContain('@physiotwin/segment/stats');
    expect([...files].some((f) => f.endsWith('segment/src/stats.cpu.ts'))).toBe(true);
  });

  it('loads neither @physiotwin/gpu, segment\'s main entry, ndarray, gl-matrix nor mathjs', () => {
    // gpu: segment/stats imports it only for a backend other than 'cpu'; run.ts only when it was loaded.
    // ndarray and gl-matrix: core loads them on first use under Node (volume-deps.node.ts); mathjs likewise.
    const heavy = [...bare].filter((s) => /^(@physiotwin\/gpu|@physiotwin\/segment$|ndarray|gl-matrix|mathjs)/.test(s));
    expect(heavy).toEqual([]);
    const gpuFiles = [...files].filter((f) => f.includes('/gpu/src/'));
    expect(gpuFiles).toEqual([]);
  });
});

describe('physiotwin dicom convert start-up (issue #11)', () => {
  const cli = join(PACKAGES, 'cli/src/');
  const { files, bare } = loadGraph([`${cli}main.ts`, `${cli}command.ts`, `${cli}commands/dicom-convert.ts`]);

  it("loads dicom/node, not dicom's main entry: no de-identifier (and its table) and no DICOM writers", () => {
    expect(bare).toContain('@physiotwin/dicom/node');
    expect(bare).not.toContain('@physiotwin/dicom');
    expect([...files].some((f) => f.endsWith('dicom/src/volume.ts'))).toBe(true);
    const unneeded = [...files].filter((f) => /dicom\/src\/(deid|dicom-writer|volume-writer|dicom-elements|write)\.ts$|dicom\/src\/data\//.test(f));
    expect(unneeded).toEqual([]);
  });
});
