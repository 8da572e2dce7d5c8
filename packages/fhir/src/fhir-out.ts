import type { Bundle, BundleEntry, DiagnosticReport, Observation, Provenance, Reference } from '@medplum/fhirtypes';
import { PhysiotwinError, fhirProvenance, sha256Hex } from '@physiotwin/core';
import type { RunManifest, RunOutput } from '@physiotwin/core';
import { UCUM_SYSTEM } from './fhir-in.js';

/** The code system of physiotwin's result quantities (no LOINC code exists for model outputs such as wall stress). */
export const RESULT_CODE_SYSTEM = 'https://physiotwin.dev/fhir/CodeSystem/results';

/** One result quantity of a run. */
export interface ResultQuantity {
  /** Stable code in {@link RESULT_CODE_SYSTEM}, e.g. `peak-wall-stress`, `mean-pressure-outlet-1`. */
  code: string;
  /** Human-readable name, e.g. 'Peak wall stress'. */
  display: string;
  value: number;
  /** UCUM unit code, e.g. 'kPa', 'mm[Hg]', 'mL/s'. */
  ucum: string;
}

/** Options of {@link resultsBundle}. */
export interface ResultsBundleOptions {
  manifest: RunManifest;
  results: ResultQuantity[];
  /** The run's output files (for the Provenance's targets by hash). @default [] */
  outputs?: RunOutput[];
  /** The inputs the results derive from: FHIR references (e.g. the input Observations from targetsFromBundle). Input files are added by their SHA-256. @default [] */
  derivedFrom?: Observation['derivedFrom'];
  /** Subject of the report, e.g. `{ reference: 'Patient/123' }`. @default none */
  subject?: Observation['subject'];
  /**
   * When the results were issued (an ISO 8601 instant): the Bundle's `timestamp`, each Observation's and the
   * DiagnosticReport's `issued` and the Provenance's `recorded`. @default none: the bundle is a pure function of the
   * manifest, results and references (the same run gives the same bytes); the optional times are left out and the
   * Provenance's `recorded` (required) carries a data-absent-reason extension instead of a value
   */
  issued?: string | undefined;
}

/** FHIR's data-absent-reason extension: why a required element has no value (here: no time was given). */
const TIME_NOT_GIVEN = { extension: [{ url: 'http://hl7.org/fhir/StructureDefinition/data-absent-reason', valueCode: 'unknown' }] };

/** An ISO 8601 instant as FHIR's `instant` requires it (date, time with seconds, and a zone). */
const INSTANT = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$/;

/** A urn:uuid derived from a hash (version-4 layout, so validators accept it): stable for a run and a name. */
async function uuidFrom(seed: string): Promise<string> {
  const h = await sha256Hex(seed);
  return `urn:uuid:${h.slice(0, 8)}-${h.slice(8, 12)}-4${h.slice(13, 16)}-${((parseInt(h[16]!, 16) & 3) | 8).toString(16)}${h.slice(17, 20)}-${h.slice(20, 32)}`;
}

/**
 * A run's results as a FHIR R4 `collection` Bundle: one Observation per result quantity (status final, code in
 * {@link RESULT_CODE_SYSTEM}, valueQuantity with UCUM, `derivedFrom` the inputs: the given references and each input
 * file by its SHA-256), a DiagnosticReport (status final) whose `result` lists them, and the run's Provenance
 * (core's fhirProvenance) whose targets are the report, the observations and the output files. Entry fullUrls are
 * urn:uuids derived from the runId, and no time is written unless `issued` gives one (FHIR R4 requires only the
 * Provenance's `recorded`, which then says its value is absent), so the same run gives the same bytes.
 * @throws PhysiotwinError `INVALID_ARGUMENT` for a non-finite result value, an empty result list or an `issued`
 *   that is not an ISO 8601 instant.
 * @example
 * ```ts
 * const bundle = await resultsBundle({ manifest, results: [{ code: 'peak-wall-stress', display: 'Peak wall stress', value: 412.5, ucum: 'kPa' }] });
 * ```
 */
export async function resultsBundle(options: ResultsBundleOptions): Promise<Bundle> {
  const { manifest, results } = options;
  if (results.length === 0) throw new PhysiotwinError('INVALID_ARGUMENT', 'a results bundle needs at least one result quantity');
  const issued = options.issued;
  if (issued !== undefined && !(INSTANT.test(issued) && Number.isFinite(Date.parse(issued)))) {
    throw new PhysiotwinError('INVALID_ARGUMENT', `issued '${issued}' is not an ISO 8601 instant with seconds and a zone (e.g. 2026-01-01T12:00:00Z)`);
  }
  const when = issued !== undefined ? { issued } : {};
  const fileRefs: NonNullable<Observation['derivedFrom']> = manifest.inputs.map((i) => ({ identifier: { system: 'urn:ietf:rfc:3986', value: `urn:sha256:${i.sha256}` }, display: i.name }));
  const derivedFrom = [...(options.derivedFrom ?? []), ...fileRefs];
  const entries: BundleEntry[] = [];
  const obsRefs: Reference<Observation>[] = [];
  for (const r of results) {
    if (!Number.isFinite(r.value)) throw new PhysiotwinError('INVALID_ARGUMENT', `result ${r.code} is ${r.value}: not a finite number`);
    const fullUrl = await uuidFrom(`${manifest.runId}/${r.code}`);
    const obs: Observation = {
      resourceType: 'Observation',
      status: 'final',
      code: { coding: [{ system: RESULT_CODE_SYSTEM, code: r.code, display: r.display }], text: r.display },
      ...when,
      valueQuantity: { value: r.value, unit: r.ucum, system: UCUM_SYSTEM, code: r.ucum },
      method: { text: `${manifest.tool} (run ${manifest.runId})` },
      ...(options.subject ? { subject: options.subject } : {}),
      ...(derivedFrom.length > 0 ? { derivedFrom } : {}),
    };
    entries.push({ fullUrl, resource: obs });
    obsRefs.push({ reference: fullUrl });
  }
  const reportUrl = await uuidFrom(`${manifest.runId}/report`);
  const report: DiagnosticReport = {
    resourceType: 'DiagnosticReport',
    status: 'final',
    code: { coding: [{ system: RESULT_CODE_SYSTEM, code: 'run-report', display: 'physiotwin run report' }], text: manifest.tool },
    issued,
    result: obsRefs,
    ...(options.subject ? { subject: options.subject } : {}),
  };
  entries.push({ fullUrl: reportUrl, resource: report });
  const { recorded, ...base } = fhirProvenance(manifest, options.outputs ?? [], { endTime: issued ?? '' });
  const provenance = { ...base, target: [{ reference: reportUrl }, ...obsRefs, ...base.target], ...(issued !== undefined ? { recorded } : { _recorded: TIME_NOT_GIVEN }) };
  // Provenance's TypeScript type has no `_recorded` (FHIR JSON's extension slot of a primitive element).
  entries.push({ fullUrl: await uuidFrom(`${manifest.runId}/provenance`), resource: provenance as unknown as Provenance });
  return { resourceType: 'Bundle', type: 'collection', ...(issued !== undefined ? { timestamp: issued } : {}), entry: entries };
}

/**
 * The content of `fhir-bundle.json`: {@link resultsBundle} as indented JSON with a final newline.
 * @throws as {@link resultsBundle}.
 */
export async function fhirBundleJson(options: ResultsBundleOptions): Promise<string> {
  return JSON.stringify(await resultsBundle(options), null, 2) + '\n';
}
