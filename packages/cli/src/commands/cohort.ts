import { existsSync, readdirSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import type { Command } from '../command.js';
import { EXIT, prepareOutputs, readJsonFile, UsageError } from '../command.js';
import { readCohort, rowState } from '../cohort-table.js';

/** A CSV cell: quoted when it holds a comma, quote or line break. */
const cell = (v: unknown) => {
  const s = v === undefined || v === null ? '' : String(v);
  return /[",\n\r]/.test(s) ? `"${s.replaceAll('"', '""')}"` : s;
};

export const cohortSummary: Command = {
  name: 'cohort summary',
  summary: 'Gather the manifests and key results of every row of a cohort run into one CSV and a summary page',
  usage: `<out-root> [--cohort cohort.csv] [--force]

  Rows: the table's rows with --cohort (their output folders), else every folder under <out-root>. A
  row is done (manifest.json: its runId, tool, backend, seed and total time are listed, with the
  numbers of results.json when the row wrote one), failed (error.json: its error code and message,
  written by physiotwin pipeline --cohort) or missing. Writes <out-root>/cohort-summary.csv and
  <out-root>/cohort-summary.md (counts, then the failed and missing rows). Exit 0 when every row is
  done, 1 otherwise.`,
  async run(args, io) {
    const { values, positionals } = parseArgs({ args, allowPositionals: true, options: { cohort: { type: 'string' }, force: { type: 'boolean', default: false } } });
    if (positionals.length !== 1) throw new UsageError('expected the output root folder');
    const root = resolve(io.cwd, positionals[0]!);
    const csvPath = join(root, 'cohort-summary.csv');
    const mdPath = join(root, 'cohort-summary.md');
    const outputs = await prepareOutputs([csvPath, mdPath], values.force, { folder: root });
    const rows = values.cohort
      ? readCohort(resolve(io.cwd, values.cohort)).rows.map((r) => ({ id: r.id, output: r.output }))
      : (existsSync(root) ? readdirSync(root) : []).filter((f) => !f.startsWith('.') && statSync(join(root, f)).isDirectory() && f !== 'logs').sort().map((f) => ({ id: f, output: join(root, f) }));
    const records = rows.map((r) => {
      const st = rowState(r.output);
      const rec: Record<string, unknown> = { id: r.id, state: st.state, code: st.code, message: st.message, output: r.output };
      if (st.manifest) {
        const m = readJsonFile(st.manifest) as { runId?: string; tool?: string; backend?: { backend?: string }; seed?: number | null; timings?: Record<string, number> };
        Object.assign(rec, { runId: m.runId, tool: m.tool, backend: m.backend?.backend, seed: m.seed, total_ms: m.timings ? Object.values(m.timings).reduce((a, b) => a + b, 0) : undefined });
        const results = join(r.output, 'results.json');
        if (existsSync(results)) {
          const res = readJsonFile(results);
          if (typeof res === 'object' && res !== null) for (const [k, v] of Object.entries(res)) if (typeof v === 'number' || typeof v === 'string') rec[`result:${k}`] = v;
        }
      }
      return rec;
    });
    const cols = ['id', 'state', 'code', 'runId', 'tool', 'backend', 'seed', 'total_ms', ...new Set(records.flatMap((r) => Object.keys(r).filter((k) => k.startsWith('result:')))), 'message', 'output'];
    const csv = [cols.join(','), ...records.map((r) => cols.map((c) => cell(r[c])).join(','))].join('\n') + '\n';
    const count = (s: string) => records.filter((r) => r.state === s).length;
    const bad = records.filter((r) => r.state !== 'done');
    const md = [
      `# Cohort summary`,
      '',
      `${records.length} rows: ${count('done')} done, ${count('failed')} failed, ${count('missing')} missing.`,
      '',
      ...(bad.length ? ['| id | state | code | message |', '| --- | --- | --- | --- |', ...bad.map((r) => `| ${r.id} | ${r.state} | ${r.code ?? ''} | ${String(r.message ?? '').replaceAll('|', '\\|').replaceAll('\n', ' ')} |`)] : ['Every row is done.']),
      '',
    ].join('\n');
    await outputs.write([[csvPath, csv], [mdPath, md]]);
    io.stdout(`wrote ${csvPath} and ${mdPath}: ${records.length} rows, ${count('done')} done, ${count('failed')} failed, ${count('missing')} missing\n`);
    return bad.length ? EXIT.failed : EXIT.ok;
  },
};
