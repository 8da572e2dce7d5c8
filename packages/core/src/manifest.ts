import { PhysiotwinError } from './errors.js';

/** JSON values allowed in run parameters. */
export type JsonValue = null | boolean | number | string | JsonValue[] | { [key: string]: JsonValue };

/**
 * Canonical JSON: object keys sorted by code point, no whitespace, numbers as JavaScript prints
 * them (shortest round-trip form). Equal values give equal strings, so their hashes agree.
 * @throws PhysiotwinError `INVALID_ARGUMENT` for NaN, Infinity, undefined, functions or cycles.
 */
export function canonicalJson(value: unknown): string {
  const seen = new Set<object>();
  const walk = (v: unknown, path: string): string => {
    if (v === null) return 'null';
    switch (typeof v) {
      case 'boolean':
        return v ? 'true' : 'false';
      case 'number':
        if (!Number.isFinite(v)) throw new PhysiotwinError('INVALID_ARGUMENT', `non-finite number in canonical JSON`, { location: { jsonPath: path } });
        return JSON.stringify(v);
      case 'string':
        return JSON.stringify(v);
      case 'object': {
        if (seen.has(v)) throw new PhysiotwinError('INVALID_ARGUMENT', 'cycle in canonical JSON', { location: { jsonPath: path } });
        seen.add(v);
        let out: string;
        if (Array.isArray(v)) {
          out = '[' + v.map((x, i) => walk(x, `${path}[${i}]`)).join(',') + ']';
        } else if (ArrayBuffer.isView(v)) {
          out = '[' + Array.from(v as unknown as ArrayLike<number>, (x, i) => walk(x, `${path}[${i}]`)).join(',') + ']';
        } else {
          const keys = Object.keys(v).filter((k) => (v as Record<string, unknown>)[k] !== undefined).sort();
          out = '{' + keys.map((k) => JSON.stringify(k) + ':' + walk((v as Record<string, unknown>)[k], `${path}.${k}`)).join(',') + '}';
        }
        seen.delete(v);
        return out;
      }
      default:
        throw new PhysiotwinError('INVALID_ARGUMENT', `${typeof v} is not JSON`, { location: { jsonPath: path } });
    }
  };
  return walk(value, '$');
}

/**
 * SHA-256 of bytes or a UTF-8 string, as lowercase hex. Uses WebCrypto (browsers and Node 20+).
 * @throws nothing (WebCrypto is present in Node 20+ and in browsers).
 */
export async function sha256Hex(data: Uint8Array | string): Promise<string> {
  const bytes = typeof data === 'string' ? new TextEncoder().encode(data) : data;
  const digest = await globalThis.crypto.subtle.digest('SHA-256', bytes as Uint8Array<ArrayBuffer>);
  return Array.from(new Uint8Array(digest), (b) => b.toString(16).padStart(2, '0')).join('');
}

/** One input of a run: a name (file path or role) and the SHA-256 of its bytes. */
export interface ManifestInput {
  name: string;
  sha256: string;
  bytes: number;
}

/** Which backend computed a result, and on which adapter. */
export interface BackendRecord {
  backend: 'cpu' | 'webgpu';
  adapter?: { vendor: string; architecture: string; description: string; isFallback: boolean } | undefined;
}

/** The provenance of one run. Everything except `timings` feeds `runId`. */
export interface RunManifest {
  /** SHA-256 of the canonical JSON of this manifest without `runId` and `timings`. */
  runId: string;
  tool: string;
  inputs: ManifestInput[];
  parameters: JsonValue;
  /** Package name -> version, for every physiotwin package and peer that took part. */
  packages: Record<string, string>;
  backend: BackendRecord;
  seed: number | null;
  /** Stage name -> milliseconds. Excluded from runId: timings differ between identical runs. */
  timings: Record<string, number>;
}

/** What {@link createManifest} needs; inputs may be given as raw bytes and are hashed here. */
export interface ManifestInit {
  tool: string;
  inputs: Array<ManifestInput | { name: string; data: Uint8Array }>;
  parameters: JsonValue;
  packages: Record<string, string>;
  backend: BackendRecord;
  seed?: number | null;
  timings?: Record<string, number>;
}

/**
 * Builds a run manifest and its `runId`. Same inputs, parameters, versions, backend and seed give the
 * same runId, whatever the timings.
 * @throws PhysiotwinError `INVALID_ARGUMENT` when parameters or backend hold values JSON cannot represent (see {@link canonicalJson}).
 * @example
 * ```ts
 * const m = await createManifest({ tool: 'physiotwin info', inputs: [{ name: 'a.nii', data: bytes }],
 *   parameters: {}, packages: { '@physiotwin/core': '0.1.0' }, backend: { backend: 'cpu' } });
 * ```
 */
export async function createManifest(init: ManifestInit): Promise<RunManifest> {
  const inputs: ManifestInput[] = [];
  for (const input of init.inputs) {
    inputs.push('data' in input ? { name: input.name, sha256: await sha256Hex(input.data), bytes: input.data.byteLength } : input);
  }
  const body = {
    tool: init.tool,
    inputs,
    parameters: init.parameters,
    packages: init.packages,
    backend: init.backend,
    seed: init.seed ?? null,
  };
  const runId = await sha256Hex(canonicalJson(body));
  return { runId, ...body, timings: init.timings ?? {} };
}

/**
 * Recomputes a manifest's runId from its content; true when it matches the stored one.
 * @throws PhysiotwinError `INVALID_ARGUMENT` when the manifest holds values JSON cannot represent (see {@link canonicalJson}).
 */
export async function verifyManifest(m: RunManifest): Promise<boolean> {
  const { runId, timings: _timings, ...body } = m;
  return runId === (await sha256Hex(canonicalJson(body)));
}
