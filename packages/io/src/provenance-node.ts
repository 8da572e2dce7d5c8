import { createHash } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import { isAbsolute, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { PhysiotwinError, fhirProvenance, isPhysiotwinError, runCrate, verifyManifest } from '@physiotwin/core';
import { readRegularFile } from './regular-file.js';
import type { CrateEntity, ProvenanceOptions, RoCrate, RunManifest, RunOutput } from '@physiotwin/core';

/** File names of the provenance records in an output folder. */
export const PROVENANCE_FILES = { manifest: 'manifest.json', crate: 'ro-crate-metadata.json', fhir: 'provenance.fhir.json' } as const;

/** SHA-256 of a file with node:crypto (the same digest as core's WebCrypto sha256Hex, several times faster here). */
async function hashFile(path: string): Promise<{ sha256: string; bytes: number }> {
  // a regular file only: a crate may name any path as an input, /dev/zero or a FIFO too
  const data = readRegularFile(path);
  return { sha256: createHash('sha256').update(data).digest('hex'), bytes: data.byteLength };
}

/** Options of {@link writeRunProvenance}. */
export interface RunProvenanceOptions extends ProvenanceOptions {
  /**
   * Digests the caller already has (from `AtomicOutputs.stage` with `sha256`), by output name as in
   * `outputs`: those files are not read again. The caller vouches that they are what was committed.
   */
  digests?: ReadonlyMap<string, { sha256: string; bytes: number }> | undefined;
}

/**
 * Writes a run's provenance into its output folder: `ro-crate-metadata.json` (Workflow Run RO-Crate, Process Run
 * Crate profile) and `provenance.fhir.json` (FHIR R4 Provenance), hashing each output file (paths relative to
 * `outDir`). The manifest itself (`manifest.json`) is the caller's to write.
 * @returns The outputs as recorded.
 * @throws PhysiotwinError `IO_NOT_FOUND` for an output that does not exist.
 * @example
 * ```ts
 * await writeRunProvenance('out', manifest, ['CT_head.nii.gz']);
 * ```
 */
export async function writeRunProvenance(outDir: string, manifest: RunManifest, outputs: string[], options: RunProvenanceOptions = {}): Promise<RunOutput[]> {
  const recorded: RunOutput[] = [];
  for (const name of [...outputs].sort()) {
    const known = options.digests?.get(name);
    if (known) {
      recorded.push({ name, sha256: known.sha256, bytes: known.bytes });
      continue;
    }
    try {
      recorded.push({ name, ...(await hashFile(join(outDir, name))) });
    } catch (e) {
      throw new PhysiotwinError('IO_NOT_FOUND', `output ${name} is not in ${outDir}`, { location: { file: join(outDir, name) }, cause: e });
    }
  }
  const endTime = options.endTime ?? new Date().toISOString();
  await writeFile(join(outDir, PROVENANCE_FILES.crate), JSON.stringify(runCrate(manifest, recorded, { endTime }), null, 2) + '\n');
  await writeFile(join(outDir, PROVENANCE_FILES.fhir), JSON.stringify(fhirProvenance(manifest, recorded, { endTime }), null, 2) + '\n');
  return recorded;
}

/** One file's state in {@link verifyRun}. */
export interface VerifiedFile {
  role: 'input' | 'output';
  name: string;
  /** ok: same SHA-256; changed: different bytes; missing: not found. */
  status: 'ok' | 'changed' | 'missing';
}

/** Result of {@link verifyRun}. */
export interface RunVerification {
  runId: string;
  /** The manifest's runId matches its content, and the crate records the same run. */
  manifestIntact: boolean;
  files: VerifiedFile[];
  /** True when the manifest is intact and every file is ok. */
  ok: boolean;
}

/**
 * Re-checks an output folder against its provenance: recomputes the manifest's runId, and the SHA-256 of every
 * input (its recorded path: absolute, `file://`, or relative to `cwd`) and every output (relative to `outDir`)
 * listed in `ro-crate-metadata.json`.
 * @throws PhysiotwinError `IO_NOT_FOUND` when the folder lacks manifest.json or ro-crate-metadata.json; `IO_INVALID`
 * when they are not the JSON physiotwin writes.
 */
export async function verifyRun(outDir: string, cwd: string = process.cwd()): Promise<RunVerification> {
  const read = async (name: string): Promise<unknown> => {
    let text: string;
    try {
      text = readRegularFile(join(outDir, name)).toString('utf8');
    } catch (e) {
      if (!isPhysiotwinError(e, 'IO_NOT_FOUND')) throw e;
      throw new PhysiotwinError('IO_NOT_FOUND', `${outDir} has no ${name}: not a physiotwin output folder`, { location: { file: join(outDir, name) }, cause: e });
    }
    try {
      return JSON.parse(text);
    } catch (e) {
      throw new PhysiotwinError('IO_INVALID', `${name} is not JSON: ${(e as Error).message}`, { location: { file: join(outDir, name) }, cause: e });
    }
  };
  const manifest = (await read(PROVENANCE_FILES.manifest)) as RunManifest;
  const crate = (await read(PROVENANCE_FILES.crate)) as RoCrate;
  const graph = Array.isArray(crate['@graph']) ? crate['@graph'] : [];
  const action = graph.find((e) => e['@type'] === 'CreateAction');
  if (!action || typeof manifest.runId !== 'string') throw new PhysiotwinError('IO_INVALID', `${PROVENANCE_FILES.crate} has no CreateAction, or manifest.json no runId`, { location: { file: outDir } });
  const byId = new Map(graph.map((e) => [e['@id'], e]));
  const refs = (v: unknown): CrateEntity[] => (Array.isArray(v) ? v : v ? [v] : []).map((r: { '@id': string }) => byId.get(r['@id'])).filter((e): e is CrateEntity => e?.['@type'] === 'File');
  const files: VerifiedFile[] = [];
  const check = async (role: 'input' | 'output', e: CrateEntity, path: string): Promise<void> => {
    let status: VerifiedFile['status'];
    try {
      status = (await hashFile(path)).sha256 === e.sha256 ? 'ok' : 'changed';
    } catch {
      status = 'missing';
    }
    files.push({ role, name: String(e.name ?? e['@id']), status });
  };
  for (const e of refs(action.object)) {
    const id = e['@id'];
    const path = id.startsWith('file:') ? fileURLToPath(id) : isAbsolute(String(e.name)) ? String(e.name) : resolve(cwd, decodeURI(id));
    await check('input', e, path);
  }
  for (const e of refs(action.result)) await check('output', e, join(outDir, decodeURI(e['@id'])));
  const manifestIntact = (await verifyManifest(manifest)) && action.identifier === manifest.runId;
  return { runId: manifest.runId, manifestIntact, files, ok: manifestIntact && files.every((f) => f.status === 'ok') };
}
