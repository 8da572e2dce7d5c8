import { mkdir, readdir, realpath, stat } from 'node:fs/promises';
import { basename, dirname, join, relative, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { PhysiotwinError, isPhysiotwinError } from '@physiotwin/core';
import { DEID_OPTIONS, DEID_TABLE_EDITION, createDeidentifier } from '@physiotwin/dicom';
import type { DeidChange, DeidOption } from '@physiotwin/dicom';
import { isInsideFolder, writeError } from '@physiotwin/io/node';
import type { Command } from '../command.js';
import { EXIT, FLAGS, UsageError, prepareOutputs, progressPrinter, readInputFile, requiredOut } from '../command.js';

/** `deid-report.json` (a contract: keys are only ever added). No attribute values: only what was done where. */
export interface DeidReport {
  profile: string;
  options: DeidOption[];
  files: { input: string; output: string; sopInstanceUid: string; burnedIn: boolean; changes: DeidChange[] }[];
  /** DICOM inputs not written: burned-in annotation without --allow-burned-in, or not writable as Part 10. */
  refused: { input: string; code: string; message: string }[];
  /** Inputs that are not DICOM (or are truncated): not copied. */
  skipped: { input: string; code: string }[];
}

async function walk(path: string, out: string[]): Promise<void> {
  for (const e of await readdir(path, { withFileTypes: true })) {
    const p = join(path, e.name);
    if (e.isDirectory()) await walk(p, out);
    else if (e.isFile()) out.push(p);
  }
}

export const deid: Command = {
  name: 'deid',
  summary: 'de-identify DICOM files by the PS3.15 Annex E Basic Profile (Table E.1-1) into a new folder',
  usage: [
    '<paths...> -o <out-dir> --key-file <file> [--option <name> ...] [--allow-burned-in]',
    '  paths              DICOM files or folders (searched recursively; a DICOMDIR in them is rewritten too)',
    '  -o, --out          output folder: must not exist yet or be empty, and must not lie inside an input',
    '  --key-file         secret key (at least 16 bytes) of the UID hash: the same key maps UIDs the same way',
    `  --option           a profile option, repeatable: ${DEID_OPTIONS.join(', ')}`,
    '  --allow-burned-in  also de-identify images with BurnedInAnnotation = YES (their pixels are not cleaned)',
    'Writes the files under <out-dir>/<input name>/... and deid-report.json (tag, keyword, action per file; no values).',
    'Exit 0 when every file was written, 1 when some were refused (listed in the report).',
  ].join('\n'),
  async run(args, io) {
    const { values, positionals } = parseArgs({
      args,
      options: {
        out: FLAGS.out,
        'key-file': { type: 'string' },
        option: { type: 'string', multiple: true, default: [] },
        'allow-burned-in': { type: 'boolean', default: false },
      },
      allowPositionals: true,
      strict: true,
    });
    if (positionals.length === 0) throw new UsageError('give at least one DICOM file or folder');
    const outFlag = requiredOut(values.out, '<out-dir>');
    if (!values['key-file']) throw new UsageError('--key-file <file> is required');
    const options = values.option as DeidOption[];
    for (const o of options) if (!DEID_OPTIONS.includes(o)) throw new UsageError(`unknown --option '${o}' (known: ${DEID_OPTIONS.join(', ')})`);
    const out = resolve(io.cwd, outFlag);
    const inputs = positionals.map((p) => resolve(io.cwd, p));
    // typed errors, and a FIFO or a device refused before any read (a FIFO would block, /dev/zero never end)
    const key = new Uint8Array(readInputFile(resolve(io.cwd, values['key-file'])));
    const outReal = await realpath(dirname(out)).then((d) => join(d, basename(out)));
    const files: { input: string; rel: string }[] = [];
    for (const p of inputs) {
      let st;
      try {
        st = await stat(p);
      } catch (e) {
        throw new PhysiotwinError('IO_NOT_FOUND', `no such file or folder: ${p}`, { location: { file: p }, cause: e });
      }
      const real = await realpath(p);
      if (isInsideFolder(real, outReal) || isInsideFolder(outReal, real)) throw new UsageError(`the output folder ${out} must not be, contain or lie inside the input ${p}`);
      if (st.isDirectory()) {
        const list: string[] = [];
        await walk(p, list);
        for (const f of list.sort()) files.push({ input: f, rel: join(basename(p), relative(p, f)) });
      } else files.push({ input: p, rel: basename(p) });
    }
    const seen = new Set<string>();
    for (const f of files) {
      if (seen.has(f.rel)) throw new UsageError(`two inputs would both be written as ${f.rel}: give folders or files with different names`);
      seen.add(f.rel);
    }
    const existing = await readdir(out).catch(() => []);
    if (existing.length > 0) throw new PhysiotwinError('IO_EXISTS', `the output folder ${out} is not empty: de-identified files go to a new folder`, { location: { file: out } });
    // Every file is staged under a temporary name and fsynced; the commit at the end names them all (a kill leaves
    // no partial file under a final name; SIGINT removes the temporary ones).
    const outputs = await prepareOutputs([], false, { folder: out });
    const deidentifier = await createDeidentifier({ key, options, allowBurnedIn: values['allow-burned-in'] });
    const report: DeidReport = { profile: DEID_TABLE_EDITION, options, files: [], refused: [], skipped: [] };
    const progress = progressPrinter(io);
    try {
      for (const [i, f] of files.entries()) {
        progress({ stage: 'deid', done: i, total: files.length });
        let r;
        try {
          r = await deidentifier.deidentify(new Uint8Array(readInputFile(f.input)), f.rel);
        } catch (e) {
          if (!isPhysiotwinError(e)) throw e;
          if (e.code === 'DICOM_INVALID' || e.code === 'DICOM_TRUNCATED') report.skipped.push({ input: f.rel, code: e.code });
          else report.refused.push({ input: f.rel, code: e.code, message: e.message });
          continue;
        }
        const target = join(out, f.rel);
        try {
          await mkdir(dirname(target), { recursive: true });
        } catch (e) {
          throw writeError(e, target);
        }
        await outputs.stage(target, r.bytes);
        report.files.push({ input: f.rel, output: f.rel, sopInstanceUid: r.sopInstanceUid, burnedIn: r.burnedIn, changes: r.changes });
      }
      progress({ stage: 'deid', done: files.length, total: files.length });
      await outputs.stage(join(out, 'deid-report.json'), JSON.stringify(report, null, 2) + '\n');
      await outputs.commit();
    } catch (e) {
      outputs.discard();
      throw e;
    }
    io.stdout(`${report.files.length} file(s) de-identified into ${out}; ${report.refused.length} refused, ${report.skipped.length} not DICOM (see deid-report.json)\n`);
    return report.refused.length === 0 ? EXIT.ok : EXIT.failed;
  },
};
