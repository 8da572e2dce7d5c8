// The fuzz hang watchdog (watchdog.ts): an input that loops synchronously is named on stderr and the run killed.
import { execFile } from 'node:child_process';
import { describe, expect, it } from 'vitest';

/** Runs a fuzz property in a child process whose third input never returns; the watchdog limit is 500 ms. */
const SCRIPT = `
import fc from 'fast-check';
import { Tally, property } from ${JSON.stringify(new URL('./harness.ts', import.meta.url).href)};
import { startHangWatchdog } from ${JSON.stringify(new URL('./watchdog.ts', import.meta.url).href)};
const dog = startHangWatchdog(500);
let n = 0;
const target = { name: 'looping', arbitrary: fc.integer(), run: () => { if (++n === 3) for (;;); return {}; } };
await fc.assert(property(target, new Tally(), { dog, run: 'target "looping", seed 11' }), { numRuns: 10, seed: 11 });
console.log('finished');
`;

describe('fuzz hang watchdog', () => {
  it('an input that never returns is named on stderr (target, seed, input number) and the run is killed', async () => {
    const t0 = performance.now();
    const { code, signal, stdout, stderr } = await new Promise<{ code: number | null; signal: string | null; stdout: string; stderr: string }>((resolve) => {
      const child = execFile(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', SCRIPT], { timeout: 60_000 }, (_err, stdout, stderr) => resolve({ code: child.exitCode, signal: child.signalCode, stdout, stderr }));
    });
    expect(stdout).not.toContain('finished');
    expect([code, signal]).toEqual([null, 'SIGKILL']);
    expect(stderr).toMatch(/fuzz watchdog: target "looping", seed 11, input 3 has run \d+ ms, past the 500 ms hang limit/);
    // tsx start-up takes 1-3 s on a loaded machine; without the watchdog the child runs into the 60 s timeout
    expect(performance.now() - t0).toBeLessThan(30_000);
  }, 60_000);

  it('inputs that return in time let the run finish and the process exit', async () => {
    const script = SCRIPT.replace('if (++n === 3) for (;;);', '++n;').replace("console.log('finished');", "console.log('finished', n); await dog.stop();");
    const stdout = await new Promise<string>((resolve, reject) => {
      execFile(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], { timeout: 60_000 }, (err, out, stderr) => (err ? reject(new Error(`${err.message}\n${stderr}`)) : resolve(out)));
    });
    expect(stdout.trim()).toBe('finished 10');
  }, 60_000);
});
