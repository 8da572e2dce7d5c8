import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { describe, expect, it } from 'vitest';
import { backendFlag, FLAGS, positiveFlag, requiredOut, seedOption, seedsFlag } from './command.js';

describe('shared flag helpers (command.ts)', () => {
  it('parse and refuse flags with the messages the commands have always printed', () => {
    expect(backendFlag('webgpu')).toBe('webgpu');
    expect(() => backendFlag('gpu')).toThrow('INVALID_ARGUMENT: --backend must be one of auto, cpu, webgpu');
    expect(seedsFlag(['1,2,3', '0,0,4'])).toEqual([[1, 2, 3], [0, 0, 4]]);
    expect(() => seedsFlag(['1,2'])).toThrow("--seed takes three comma-separated numbers, got '1,2'");
    expect(requiredOut('a.vtu', '<mesh.vtu|.msh>')).toBe('a.vtu');
    expect(() => requiredOut(undefined, '<out-dir>')).toThrow('-o <out-dir> is required');
    expect(positiveFlag(undefined, '--wall-mm')).toBeUndefined();
    expect(positiveFlag('1.5', '--wall-mm')).toBe(1.5);
    expect(() => positiveFlag('0', '--wall-mm')).toThrow("--wall-mm takes a positive number, got '0'");
  });

  it('FLAGS and seedOption work as parseArgs options (defaults, -o, repeats; seed defaults not shared)', () => {
    const opts = { out: FLAGS.out, backend: FLAGS.backend, force: FLAGS.force, json: FLAGS.json, seed: seedOption() };
    const a = parseArgs({ args: ['-o', 'x', '--seed', '1,2,3', '--seed', '4,5,6', '--force'], options: opts });
    expect(a.values).toEqual({ out: 'x', backend: 'auto', force: true, json: false, seed: ['1,2,3', '4,5,6'] });
    const b = parseArgs({ args: [], options: opts });
    b.values.seed.push('7,8,9');
    expect(parseArgs({ args: [], options: { seed: seedOption() } }).values.seed).toEqual([]);
  });

  it('no command module imports another (shared code lives outside commands/)', () => {
    const dir = join(__dirname, 'commands');
    for (const f of readdirSync(dir).filter((n) => n.endsWith('.ts') && !n.endsWith('.test.ts') && n !== 'index.ts')) {
      const imports = [...readFileSync(join(dir, f), 'utf8').matchAll(/from '(\.\/[^']+)'/g)].map((m) => m[1]);
      expect(imports, f).toEqual([]);
    }
  });
});
