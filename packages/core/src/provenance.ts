import type { JsonValue, ManifestInput, RunManifest } from './manifest.js';

/** One file a run wrote: its path relative to the output folder, SHA-256 and size. */
export type RunOutput = ManifestInput;

/** The RO-Crate and Process Run Crate versions {@link runCrate} conforms to. */
export const RO_CRATE = { spec: 'https://w3id.org/ro/crate/1.1', context: 'https://w3id.org/ro/crate/1.1/context', processRun: 'https://w3id.org/ro/wfrun/process/0.5' } as const;

/** A JSON-LD entity of an RO-Crate `@graph`. */
export type CrateEntity = { '@id': string; '@type': string | string[] } & Record<string, JsonValue>;

/** An RO-Crate metadata document (`ro-crate-metadata.json`). */
export interface RoCrate {
  '@context': string;
  '@graph': CrateEntity[];
}

/** Options of {@link runCrate} and {@link fhirProvenance}. */
export interface ProvenanceOptions {
  /** When the run ended (ISO 8601). Not part of the runId. @default now */
  endTime?: string;
}

/** `file://` URI of an absolute path (inputs lie outside the crate), or the relative path as it is. */
function inputId(name: string): string {
  if (/^[a-z][a-z0-9+.-]*:/i.test(name) && !/^[a-z]:[\\/]/i.test(name)) return name;
  if (name.startsWith('/')) return `file://${encodeURI(name)}`;
  if (/^[a-z]:[\\/]/i.test(name)) return `file:///${encodeURI(name.replace(/\\/g, '/'))}`;
  return encodeURI(name);
}

/**
 * The run as a Workflow Run RO-Crate of the Process Run Crate profile (0.5, on RO-Crate 1.1): the root Dataset
 * (conformsTo the profile) mentions one CreateAction whose `instrument` is the physiotwin tool
 * (SoftwareApplication with its version), `object` the inputs (File entities with `sha256` and `contentSize`; a
 * path outside the output folder as a `file://` URI) and the parameters (PropertyValue), `result` the outputs
 * (paths relative to the output folder, which is the crate root). `identifier` is the manifest's runId.
 * @throws nothing.
 * @example
 * ```ts
 * const crate = runCrate(manifest, [{ name: 'CT_head.nii.gz', sha256, bytes }]);
 * ```
 */
export function runCrate(manifest: RunManifest, outputs: RunOutput[], options: ProvenanceOptions = {}): RoCrate {
  const tool = `#${manifest.tool.replace(/\s+/g, '-')}`;
  const inputs: CrateEntity[] = manifest.inputs.map((i) => ({ '@id': inputId(i.name), '@type': 'File', name: i.name, sha256: i.sha256, contentSize: i.bytes }));
  const results: CrateEntity[] = outputs.map((o) => ({ '@id': encodeURI(o.name), '@type': 'File', name: o.name, sha256: o.sha256, contentSize: o.bytes }));
  const params = manifest.parameters;
  const paramEntities: CrateEntity[] =
    params && typeof params === 'object' && !Array.isArray(params)
      ? Object.keys(params)
          .sort()
          .map((k) => ({ '@id': `#param-${k}`, '@type': 'PropertyValue', name: k, value: JSON.stringify(params[k]) }))
      : [];
  const versions = Object.entries(manifest.packages).map(([k, v]) => `${k}@${v}`).join(' ');
  const action: CrateEntity = {
    '@id': `#run-${manifest.runId}`,
    '@type': 'CreateAction',
    name: `${manifest.tool} run ${manifest.runId.slice(0, 12)}`,
    identifier: manifest.runId,
    instrument: { '@id': tool },
    object: [...inputs, ...paramEntities].map((e) => ({ '@id': e['@id'] })),
    result: results.map((e) => ({ '@id': e['@id'] })),
    endTime: options.endTime ?? new Date().toISOString(),
  };
  if (manifest.seed !== null) action.description = `seed ${manifest.seed}`;
  return {
    '@context': RO_CRATE.context,
    '@graph': [
      { '@id': 'ro-crate-metadata.json', '@type': 'CreativeWork', conformsTo: { '@id': RO_CRATE.spec }, about: { '@id': './' } },
      {
        '@id': './',
        '@type': 'Dataset',
        name: `${manifest.tool} output`,
        conformsTo: { '@id': RO_CRATE.processRun },
        datePublished: action.endTime as string,
        hasPart: results.map((e) => ({ '@id': e['@id'] })),
        mentions: { '@id': action['@id'] },
      },
      { '@id': RO_CRATE.processRun, '@type': 'CreativeWork', name: 'Process Run Crate', version: '0.5' },
      { '@id': tool, '@type': 'SoftwareApplication', name: manifest.tool, softwareVersion: versions, url: 'https://github.com/physiotwin/physiotwin' },
      action,
      ...inputs,
      ...paramEntities,
      ...results,
    ],
  };
}

/** A FHIR R4 Provenance resource as plain JSON (validated against the R4 StructureDefinitions in @physiotwin/fhir's tests). */
export interface FhirProvenanceJson {
  resourceType: 'Provenance';
  id: string;
  target: { identifier: { system: string; value: string }; display: string }[];
  recorded: string;
  activity: { coding: { system: string; code: string; display: string }[]; text: string };
  agent: { type: { coding: { system: string; code: string; display: string }[] }; who: { display: string } }[];
  entity: { role: 'source'; what: { identifier: { system: string; value: string }; display: string } }[];
}

const SHA256_URN = (hex: string): { system: string; value: string } => ({ system: 'urn:ietf:rfc:3986', value: `urn:sha256:${hex}` });

/**
 * The run as a FHIR R4 Provenance resource: `id` = runId; `target` = the outputs and `entity` (role source) = the
 * inputs, each a Reference by identifier `urn:sha256:<hex>` (files are not FHIR resources) with its name as
 * display; `agent` = the physiotwin tool and versions (type "performer"); `activity` = v3-DataOperation CREATE
 * with the tool name; `recorded` = `endTime`.
 * @throws nothing.
 * @example
 * ```ts
 * const provenance = fhirProvenance(manifest, outputs);
 * ```
 */
export function fhirProvenance(manifest: RunManifest, outputs: RunOutput[], options: ProvenanceOptions = {}): FhirProvenanceJson {
  const versions = Object.entries(manifest.packages).map(([k, v]) => `${k}@${v}`).join(' ');
  return {
    resourceType: 'Provenance',
    id: manifest.runId,
    target: outputs.map((o) => ({ identifier: SHA256_URN(o.sha256), display: o.name })),
    recorded: options.endTime ?? new Date().toISOString(),
    activity: { coding: [{ system: 'http://terminology.hl7.org/CodeSystem/v3-DataOperation', code: 'CREATE', display: 'create' }], text: manifest.tool },
    agent: [
      {
        type: { coding: [{ system: 'http://terminology.hl7.org/CodeSystem/provenance-participant-type', code: 'performer', display: 'Performer' }] },
        who: { display: `${manifest.tool} (${versions}; backend ${manifest.backend.backend})` },
      },
    ],
    entity: manifest.inputs.map((i) => ({ role: 'source', what: { identifier: SHA256_URN(i.sha256), display: i.name } })),
  };
}
