// Runs shell commands side by side and fails if any fails: `npm test`'s static checks (lint, the type-check of the
// tests, the API docs) are single-threaded, so on 2 cores running them together saves about their shortest time.
// Each command's output is printed whole when it ends, so logs do not interleave.
// Usage: node scripts/parallel.mjs "npm run lint" "npm run docs" ...
import { spawn } from 'node:child_process';

const commands = process.argv.slice(2);
const results = await Promise.all(
  commands.map(
    (command) =>
      new Promise((resolve) => {
        const started = performance.now();
        const child = spawn(command, { shell: true, stdio: ['ignore', 'pipe', 'pipe'] });
        const chunks = [];
        child.stdout.on('data', (d) => chunks.push(d));
        child.stderr.on('data', (d) => chunks.push(d));
        child.on('close', (code, signal) => {
          const seconds = ((performance.now() - started) / 1000).toFixed(1);
          process.stdout.write(`\n$ ${command}  (exit ${code ?? signal}, ${seconds} s)\n${Buffer.concat(chunks).toString()}`);
          resolve(code === 0);
        });
      }),
  ),
);
process.exit(results.every(Boolean) ? 0 : 1);
