import { createHash } from 'node:crypto';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { describe, expect, it } from 'vitest';

const DICOM = join(__dirname, '../fixtures/dicom');

function files(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const p = join(dir, name);
    return statSync(p).isDirectory() ? files(p) : [p];
  });
}

describe('fixtures/dicom/MANIFEST.tsv', () => {
  const rows = readFileSync(join(DICOM, 'MANIFEST.tsv'), 'utf8').trim().split('\n').slice(1).map((l) => l.split('\t'));

  it('gives the size and SHA-256 of every file it lists', () => {
    const wrong = rows.filter(([path, bytes, sha]) => {
      const data = readFileSync(join(DICOM, path!));
      return data.length !== Number(bytes) || createHash('sha256').update(data).digest('hex') !== sha;
    });
    expect(wrong.map((r) => r[0])).toEqual([]);
  });

  it('lists every fixture file (READMEs, licences and the manifest itself aside)', () => {
    const listed = new Set(rows.map((r) => r[0]));
    const unlisted = files(DICOM)
      .map((p) => relative(DICOM, p))
      .filter((p) => p !== 'MANIFEST.tsv' && !/(^|\/)(README\.md|LICEN[CS]E[^/]*)$/i.test(p) && !listed.has(p));
    expect(unlisted).toEqual([]);
  });
});
