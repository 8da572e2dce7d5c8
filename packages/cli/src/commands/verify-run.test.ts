import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { RoCrate, RunManifest } from '@physiotwin/core';
import { runCli } from '../run.js';
import { capture } from '../capture-io.test-helper.js';

const tmp = mkdtempSync(join(tmpdir(), 'physiotwin-verify-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));
const INPUT = 'fixtures/dicom/physiotwin_tilt/dicom';

async function convert(out: string): Promise<RunManifest> {
  expect(await runCli(['dicom', 'convert', INPUT, '-o', out, '--format', 'nii'], capture())).toBe(0);
  return JSON.parse(readFileSync(join(out, 'manifest.json'), 'utf8')) as RunManifest;
}

describe('run provenance and physiotwin verify-run', () => {
  it('dicom convert writes a Process Run Crate and a FHIR Provenance; the same inputs and parameters give the same runId', async () => {
    const a = await convert(join(tmp, 'a'));
    const b = await convert(join(tmp, 'b'));
    expect(b.runId).toBe(a.runId);
    const crate = JSON.parse(readFileSync(join(tmp, 'a', 'ro-crate-metadata.json'), 'utf8')) as RoCrate;
    const root = crate['@graph'].find((e) => e['@id'] === './')!;
    expect(root.conformsTo).toEqual({ '@id': 'https://w3id.org/ro/wfrun/process/0.5' });
    const action = crate['@graph'].find((e) => e['@type'] === 'CreateAction')!;
    expect(action.identifier).toBe(a.runId);
    expect((action.object as unknown[]).length).toBeGreaterThanOrEqual(a.inputs.length);
    const fhir = JSON.parse(readFileSync(join(tmp, 'a', 'provenance.fhir.json'), 'utf8')) as { resourceType: string; id: string; entity: unknown[] };
    expect(fhir).toMatchObject({ resourceType: 'Provenance', id: a.runId });
    expect(fhir.entity.length).toBe(a.inputs.length);
  });

  it('verify-run: exit 0 when all match; 1 naming the output that changed', async () => {
    const io = capture();
    expect(await runCli(['verify-run', join(tmp, 'a'), '--json'], io)).toBe(0);
    const ok = JSON.parse(io.out) as { ok: boolean; files: { role: string; status: string }[] };
    expect(ok.ok).toBe(true);
    expect(ok.files.filter((f) => f.role === 'input').length).toBe(12);
    const crate = JSON.parse(readFileSync(join(tmp, 'b', 'ro-crate-metadata.json'), 'utf8')) as RoCrate;
    const output = crate['@graph'].find((e) => e['@type'] === 'File' && String(e['@id']).endsWith('.nii'))!;
    writeFileSync(join(tmp, 'b', String(output['@id'])), 'tampered');
    const bad = capture();
    expect(await runCli(['verify-run', join(tmp, 'b')], bad)).toBe(1);
    expect(bad.out).toContain(`output ${String(output.name)}: changed`);
  });

  it('a hostile crate naming /dev/zero as an input, and a manifest that is a FIFO: verify-run ends, typed (it read without end or blocked)', async () => {
    const out = join(tmp, 'hostile');
    await convert(out);
    const crate = JSON.parse(readFileSync(join(out, 'ro-crate-metadata.json'), 'utf8')) as RoCrate;
    const action = crate['@graph'].find((e) => e['@type'] === 'CreateAction')!;
    const input = crate['@graph'].find((e) => e['@id'] === (action.object as { '@id': string }[])[0]!['@id'])!;
    input['@id'] = 'file:///dev/zero';
    (action.object as { '@id': string }[])[0]!['@id'] = 'file:///dev/zero';
    writeFileSync(join(out, 'ro-crate-metadata.json'), JSON.stringify(crate));
    const io = capture();
    expect(await runCli(['verify-run', out, '--json'], io)).toBe(1);
    const r = JSON.parse(io.out) as { ok: boolean; files: { role: string; status: string }[] };
    expect(r.files.filter((f) => f.status !== 'ok').map((f) => [f.role, f.status])).toEqual([['input', 'missing']]);
    rmSync(join(out, 'manifest.json'));
    execFileSync('mkfifo', [join(out, 'manifest.json')]);
    const fifo = capture();
    expect(await runCli(['verify-run', out], fifo)).toBe(1);
    expect(fifo.err).toMatch(/IO_INVALID: expected a regular file, found a FIFO/);
  });

  it('a folder without provenance is a typed failure', async () => {
    const io = capture();
    expect(await runCli(['verify-run', tmp], io)).toBe(1);
    expect(io.err).toMatch(/IO_NOT_FOUND/);
  });
});
