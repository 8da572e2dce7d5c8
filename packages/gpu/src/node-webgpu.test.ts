import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';

const dir = mkdtempSync(join(tmpdir(), 'physiotwin-stderr-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

// A child that writes to descriptor 2 directly (as Dawn and the Vulkan loader do from C++, past process.stderr)
// inside and around quietNativeStderr.
const script = join(dir, 'noise.mts');
writeFileSync(
  script,
  [
    "import { writeSync } from 'node:fs';",
    `import { quietNativeStderr } from ${JSON.stringify(fileURLToPath(new URL('./node-webgpu.ts', import.meta.url)))};`,
    "writeSync(2, 'before\\n');",
    "quietNativeStderr(() => writeSync(2, 'native noise\\n'));",
    "writeSync(2, 'after\\n');",
    "process.stderr.write('js after\\n');",
  ].join('\n'),
);
/** Runs the child through sh with `redirect` applied to its stderr; returns what sh printed on stdout. */
const run = (redirect: string, env: Record<string, string> = {}) =>
  execFileSync('sh', ['-c', `"${process.execPath}" --conditions=@physiotwin/source --import tsx "${script}" ${redirect}`], { encoding: 'utf8', env: { ...process.env, PHYSIOTWIN_GPU_LOG: '', ...env } });

describe.runIf(process.platform === 'linux')('quietNativeStderr', () => {
  it('hides what native code writes to fd 2 when stderr is a pipe, and restores fd 2 afterwards', () => {
    expect(run('2>&1 | cat')).toBe('before\nafter\njs after\n');
  });

  it('lets it through with PHYSIOTWIN_GPU_LOG=show (physiotwin --verbose), and into a log file (whose offset it must not disturb)', () => {
    expect(run('2>&1 | cat', { PHYSIOTWIN_GPU_LOG: 'show' })).toBe('before\nnative noise\nafter\njs after\n');
    const log = join(dir, 'log.txt');
    run(`> "${log}" 2>&1`);
    expect(readFileSync(log, 'utf8')).toBe('before\nnative noise\nafter\njs after\n');
  });
});
