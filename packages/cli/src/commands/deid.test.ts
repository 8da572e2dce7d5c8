import { execFileSync } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { parseDicom, writeDicom } from '@physiotwin/dicom';
import { runCli } from '../run.js';
import { REPO_ROOT, capture } from '../capture-io.test-helper.js';
import type { DeidReport } from './deid.js';

const tmp = mkdtempSync(join(tmpdir(), 'physiotwin-cli-deid-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));
const keyFile = join(tmp, 'key');
writeFileSync(keyFile, 'a secret key of more than 16 bytes');
const study = join(tmp, 'in', 'TINY_ALPHA');
cpSync(join(REPO_ROOT, 'fixtures/dicom/pydicom/test_files/dicomdirtests/TINY_ALPHA'), study, { recursive: true });

describe('physiotwin deid', () => {
  it('de-identifies a folder with its DICOMDIR; the report names tag, keyword and action, never a value', async () => {
    const out = join(tmp, 'out');
    const io = capture(tmp);
    expect(await runCli(['deid', study, '-o', out, '--key-file', keyFile, '--option', 'retain-patient-characteristics'], io)).toBe(0);
    const report = JSON.parse(readFileSync(join(out, 'deid-report.json'), 'utf8')) as DeidReport;
    expect(report.options).toEqual(['retain-patient-characteristics']);
    expect(report.files.length).toBe(readdirSync(join(study, 'PT000000/ST000000/SE000000')).length + 1);
    expect(report.skipped.map((s) => s.input)).toEqual([join('TINY_ALPHA', 'README')]);
    const first = report.files.find((f) => f.input.endsWith('IM000000'))!;
    expect(first.changes).toContainEqual({ tag: '(0010,0010)', keyword: 'PatientName', action: 'Z', path: '' });
    // No original value in the report: names and UIDs of the input do not occur in it.
    const orig = parseDicom(new Uint8Array(readFileSync(join(study, 'PT000000/ST000000/SE000000/IM000000')))).dataset;
    const text = readFileSync(join(out, 'deid-report.json'), 'utf8');
    for (const v of [orig.string('x00100010'), orig.string('x00100020'), orig.string('x00080018'), orig.string('x0020000d')]) {
      expect(v).toBeTruthy();
      expect(text).not.toContain(v);
    }
    const dir = parseDicom(new Uint8Array(readFileSync(join(out, 'TINY_ALPHA', 'DICOMDIR')))).dataset;
    const rec = dir.items('x00041220').find((r) => r.strings('x00041500').at(-1) === 'IM000000')!;
    const image = parseDicom(new Uint8Array(readFileSync(join(out, 'TINY_ALPHA/PT000000/ST000000/SE000000/IM000000')))).dataset;
    expect(rec.string('x00041511')).toBe(image.string('x00080018'));
    expect(image.string('x00080018')).toBe(first.sopInstanceUid);
  });

  it('refuses an output inside the input (exit 2) and a non-empty output (exit 1)', async () => {
    expect(await runCli(['deid', study, '-o', join(study, 'deid'), '--key-file', keyFile], capture(tmp))).toBe(2);
    const busy = join(tmp, 'busy');
    mkdirSync(busy);
    writeFileSync(join(busy, 'x'), '');
    const io = capture(tmp);
    expect(await runCli(['deid', study, '-o', busy, '--key-file', keyFile], io)).toBe(1);
    expect(io.err).toMatch(/IO_EXISTS/);
    expect(await runCli(['deid', study, '-o', join(tmp, 'o3'), '--key-file', keyFile, '--option', 'nope'], capture(tmp))).toBe(2);
    const im = join(study, 'PT000000/ST000000/SE000000/IM000000');
    expect(await runCli(['deid', im, im, '-o', join(tmp, 'o4'), '--key-file', keyFile], capture(tmp))).toBe(2);
  });

  it('a FIFO or a device as input or key file is refused before any read (it blocked or never ended); files are staged, not written in place', async () => {
    const fifo = join(tmp, 'pipe');
    execFileSync('mkfifo', [fifo]);
    // as the key file: the command stops with a typed error, nothing written
    for (const bad of [fifo, '/dev/zero']) {
      const io = capture(tmp);
      expect(await runCli(['deid', study, '-o', join(tmp, 'o-key'), '--key-file', bad], io), bad).toBe(1);
      expect(io.err).toMatch(/IO_INVALID: expected a regular file, found a (FIFO|device)/);
    }
    expect(readdirSync(tmp)).not.toContain('o-key');
    // as inputs: each one refused and listed, the DICOM file beside them de-identified
    const out = join(tmp, 'o-fifo');
    const im = join(study, 'PT000000/ST000000/SE000000/IM000000');
    const io = capture(tmp);
    expect(await runCli(['deid', fifo, '/dev/zero', im, '-o', out, '--key-file', keyFile], io)).toBe(1);
    const report = JSON.parse(readFileSync(join(out, 'deid-report.json'), 'utf8')) as DeidReport;
    expect(report.refused.map((r) => [r.input, r.code])).toEqual([['pipe', 'IO_INVALID'], ['zero', 'IO_INVALID']]);
    expect(report.files.map((f) => f.input)).toEqual(['IM000000']);
    // committed under their names: no temporary file left beside them
    expect(readdirSync(out).sort()).toEqual(['IM000000', 'deid-report.json']);
  });

  it('burned-in annotation: refused (exit 1, listed) unless --allow-burned-in', async () => {
    const dir = join(tmp, 'burned');
    mkdirSync(dir);
    writeFileSync(join(dir, 'sc.dcm'), writeDicom([
      { tag: 0x00080016, vr: 'UI', value: '1.2.840.10008.5.1.4.1.1.7' },
      { tag: 0x00080018, vr: 'UI', value: '1.2.3.4.5' },
      { tag: 0x00280301, vr: 'CS', value: 'YES' },
    ]));
    expect(await runCli(['deid', dir, '-o', join(tmp, 'b1'), '--key-file', keyFile], capture(tmp))).toBe(1);
    const report = JSON.parse(readFileSync(join(tmp, 'b1', 'deid-report.json'), 'utf8')) as DeidReport;
    expect(report.refused.map((r) => r.code)).toEqual(['DEID_BURNED_IN']);
    expect(await runCli(['deid', dir, '-o', join(tmp, 'b2'), '--key-file', keyFile, '--allow-burned-in'], capture(tmp))).toBe(0);
  });
});
