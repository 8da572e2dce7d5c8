// Helpers for this package's tests only (excluded from the build in tsconfig.json).
import { readFileSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { fileURLToPath } from 'node:url';

/** Absolute path of fixtures/dicom/<rel>. */
export function fixture(rel: string): string {
  return fileURLToPath(new URL(`../../../fixtures/dicom/${rel}`, import.meta.url));
}

export function readFixture(rel: string): Uint8Array {
  return new Uint8Array(readFileSync(fixture(rel)));
}

export function sha256(a: ArrayBufferView): string {
  return createHash('sha256').update(new Uint8Array(a.buffer, a.byteOffset, a.byteLength)).digest('hex');
}

export function readJson<T = unknown>(rel: string): T {
  return JSON.parse(readFileSync(fixture(rel), 'utf8')) as T;
}
