// A vitest reporter that ends every run with the test time per project (package), so the suite's budget is
// visible in `npm test` output: which package costs what, and its slowest file. Times are the sum over files of
// collection (imports) and test execution, i.e. worker time, not wall time (two workers run files in parallel).
import type { Reporter, TestModule } from 'vitest/node';

interface Row {
  files: number;
  tests: number;
  seconds: number;
  slowest: { file: string; seconds: number };
}

export default class PackageTimesReporter implements Reporter {
  onTestRunEnd(modules: ReadonlyArray<TestModule>): void {
    const rows = new Map<string, Row>();
    for (const m of modules) {
      const d = m.diagnostic();
      const seconds = (d.collectDuration + d.duration) / 1000;
      const name = m.project.name || 'root';
      const row = rows.get(name) ?? { files: 0, tests: 0, seconds: 0, slowest: { file: '', seconds: -1 } };
      row.files++;
      row.tests += Array.from(m.children.allTests()).length;
      row.seconds += seconds;
      if (seconds > row.slowest.seconds) row.slowest = { file: m.relativeModuleId, seconds };
      rows.set(name, row);
    }
    if (rows.size === 0) return;
    const sorted = [...rows.entries()].sort((a, b) => b[1].seconds - a[1].seconds);
    const total = sorted.reduce((s, [, r]) => s + r.seconds, 0);
    const lines = ['', 'Test time per package (worker seconds: imports + tests, summed over files)'];
    lines.push(`${'package'.padEnd(12)} ${'files'.padStart(5)} ${'tests'.padStart(6)} ${'seconds'.padStart(8)}  slowest file`);
    for (const [name, r] of sorted) {
      lines.push(`${name.padEnd(12)} ${String(r.files).padStart(5)} ${String(r.tests).padStart(6)} ${r.seconds.toFixed(1).padStart(8)}  ${r.slowest.file} (${r.slowest.seconds.toFixed(1)} s)`);
    }
    lines.push(`${'total'.padEnd(12)} ${' '.repeat(12)} ${total.toFixed(1).padStart(8)}`, '');
    process.stdout.write(lines.join('\n') + '\n');
  }
}
