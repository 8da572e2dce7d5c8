import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const SRC = fileURLToPath(new URL('./', import.meta.url));
const pkg = JSON.parse(readFileSync(`${SRC}../package.json`, 'utf8')) as {
  dependencies: Record<string, string>;
  imports: Record<string, { '@physiotwin/source': Record<'node' | 'default', string> }>;
};

/**
 * Every module reachable from `entry` through relative imports and the package's own "#" imports (the source files
 * the given conditions pick), with the bare specifiers each one imports.
 */
function importGraph(entry: string, conditions: Array<'node' | 'default'>): Map<string, string[]> {
  const seen = new Map<string, string[]>();
  const visit = (file: string) => {
    if (seen.has(file)) return;
    const source = readFileSync(`${SRC}${file}`, 'utf8');
    const specifiers = [...source.matchAll(/(?:import|export)[^'"]*?from\s+'([^']+)'/g)].map((m) => m[1]!);
    seen.set(file, specifiers.filter((s) => !s.startsWith('.') && !s.startsWith('#')));
    for (const s of specifiers.filter((s) => s.startsWith('./'))) visit(s.slice(2).replace(/\.js$/, '.ts'));
    for (const s of specifiers.filter((s) => s.startsWith('#'))) {
      const targets = pkg.imports[s]?.['@physiotwin/source'];
      expect(targets, `${file} imports ${s}, which package.json "imports" does not map`).toBeDefined();
      for (const c of conditions) visit(targets![c].replace(/^\.\/src\//, ''));
    }
  };
  visit(entry);
  return seen;
}

describe('package entries', () => {
  it('the main entry imports no node: modules (it must run in browsers; "#" imports take their default target)', () => {
    const graph = importGraph('index.ts', ['default']);
    expect(graph.has('zlib-platform.ts')).toBe(true);
    expect(graph.size).toBeGreaterThan(4);
    for (const [file, bare] of graph) expect(bare.filter((s) => s.startsWith('node:')), file).toEqual([]);
  });

  it('every package the sources import is a declared dependency', () => {
    const graph = importGraph('node.ts', ['node', 'default']);
    expect(graph.has('zlib-platform.node.ts') && graph.has('zlib-platform.ts')).toBe(true);
    for (const [file, bare] of graph) {
      for (const s of bare.filter((x) => !x.startsWith('node:'))) expect(Object.keys(pkg.dependencies), `${file} imports ${s}`).toContain(s);
    }
  });
});
