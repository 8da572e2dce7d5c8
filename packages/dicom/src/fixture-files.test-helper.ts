// The fixture DICOM files, for tests that go over all of them.
import { readdirSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { isPhysiotwinError } from '@physiotwin/core';
import { parseDicom } from './parse.js';
import type { DicomFile } from './parse.js';
import { fixture, readFixture } from './test-util.js';

const NOT_DICOM = /\.(json|gz|md|tsv|log|txt|py|mjs|sh|nii)$|LICENSE|README/;

/** Every file under fixtures/dicom that physiotwin's parser reads, as paths relative to fixtures/dicom. */
export function fixtureDicomFiles(): { rel: string; file: DicomFile }[] {
  const root = fixture('');
  const out: { rel: string; file: DicomFile }[] = [];
  const walk = (dir: string): void => {
    for (const name of readdirSync(dir).sort()) {
      const p = join(dir, name);
      if (statSync(p).isDirectory()) walk(p);
      else if (!NOT_DICOM.test(name)) {
        const rel = relative(root, p);
        try {
          out.push({ rel, file: parseDicom(readFixture(rel), { source: rel }) });
        } catch (e) {
          if (!isPhysiotwinError(e)) throw e; // truncated or malformed fixtures are the parser's tests
        }
      }
    }
  };
  walk(root);
  return out;
}

