import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

// The main entry must not load the WebGPU solver (its WGSL and pipelines) until a device path runs: follow the
// static (non-type) relative imports and re-exports from index.ts and check the WebGPU modules are not reached.
const src = dirname(fileURLToPath(import.meta.url));

function staticLocalImports(file: string): string[] {
  const text = readFileSync(join(src, file), 'utf8');
  const out: string[] = [];
  for (const m of text.matchAll(/^(?:import|export)\s+(?!type\b)[^;]*?from\s+'(\.[^']+)';/gms)) out.push(m[1]!.replace(/^\.\//, '').replace(/\.js$/, '.ts'));
  return out;
}

describe('@physiotwin/fem main entry', () => {
  it('reaches the WebGPU solver only through dynamic imports', () => {
    const seen = new Set<string>();
    const queue = ['index.ts'];
    while (queue.length) {
      const f = queue.pop()!;
      if (seen.has(f)) continue;
      seen.add(f);
      queue.push(...staticLocalImports(f));
    }
    // The walk did find the entry's modules (the test can fail): the CPU solver is statically reachable.
    expect(seen.has('solve.ts') && seen.has('pcg.cpu.ts')).toBe(true);
    expect([...seen].filter((f) => f.includes('webgpu') || f.startsWith('generated/'))).toEqual([]);
  });
});
