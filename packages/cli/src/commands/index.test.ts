import { describe, expect, it } from 'vitest';
import { capture } from '../capture-io.test-helper.js';
import { runCli } from '../run.js';
import { commands } from './index.js';

describe('the command list', () => {
  it('loads, for every entry, the command of that name; --help lists each with its summary', async () => {
    const io = capture();
    expect(await runCli(['--help'], io)).toBe(0);
    const width = Math.max(...commands.map((c) => c.name.length));
    for (const entry of commands) {
      const command = await entry.load();
      expect(command.name).toBe(entry.name);
      expect(io.out).toContain(`  ${command.name.padEnd(width)}  ${command.summary}\n`);
    }
  });

  it('an unknown command is a usage error that lists the commands', async () => {
    const io = capture();
    expect(await runCli(['frobnicate'], io)).toBe(2);
    expect(io.err).toMatch(/unknown command 'frobnicate'[\s\S]*dicom convert/);
  });
});
