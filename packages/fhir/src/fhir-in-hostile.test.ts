// Regression tests for what the FHIR input fuzz target (test/fuzz/fhir.ts, issue 11) found: a bundle a user gives
// `--fhir-in` is parsed JSON of any shape, and each of these threw a raw TypeError (or read Object.prototype's
// members as a unit) before targetsFromBundle checked the types of the fields it reads.
import type { Bundle } from '@medplum/fhirtypes';
import { isPhysiotwinError } from '@physiotwin/core';
import { describe, expect, it } from 'vitest';
import { LOINC, LOINC_SYSTEM, UCUM_SYSTEM, targetsFromBundle } from './index.js';

const hr = (valueQuantity: unknown) => ({ resourceType: 'Observation', id: 'hr', code: { coding: [{ system: LOINC_SYSTEM, code: LOINC.heartRate }] }, valueQuantity });

function code(bundle: unknown): string {
  try {
    targetsFromBundle(bundle as Bundle);
  } catch (e) {
    if (isPhysiotwinError(e)) return e.code;
    throw e;
  }
  return 'ok';
}

describe('targetsFromBundle on hostile bundles (fuzz reproducers)', () => {
  it('entry that is not an array, null entries, null resources: FHIR_INVALID or ignored, never a TypeError', () => {
    expect(code({ resourceType: 'Bundle', entry: true })).toBe('FHIR_INVALID'); // (bundle.entry ?? []).forEach is not a function
    expect(code({ resourceType: 'Bundle', entry: [null] })).toBe('FHIR_INVALID');
    expect(code({ resourceType: 'Bundle', entry: [{ resource: null }] })).toBe('ok');
  });

  it('code, coding, component and valueQuantity of the wrong type are FHIR_INVALID', () => {
    const obs = hr({ value: 72, system: UCUM_SYSTEM, code: '/min' });
    expect(code({ resourceType: 'Bundle', entry: [{ resource: { ...obs, code: { coding: true } } }] })).toBe('FHIR_INVALID');
    expect(code({ resourceType: 'Bundle', entry: [{ resource: { ...obs, code: null } }] })).toBe('FHIR_INVALID');
    expect(code({ resourceType: 'Bundle', entry: [{ resource: { ...obs, code: { coding: [null, 1] } } }] })).toBe('ok');
    expect(code({ resourceType: 'Bundle', entry: [{ resource: hr([72]) }] })).toBe('FHIR_INVALID');
    const panel = { resourceType: 'Observation', code: { coding: [{ system: LOINC_SYSTEM, code: LOINC.bpPanel }] } };
    expect(code({ resourceType: 'Bundle', entry: [{ resource: { ...panel, component: {} } }] })).toBe('FHIR_INVALID');
    expect(code({ resourceType: 'Bundle', entry: [{ resource: { ...panel, component: [null] } }] })).toBe('FHIR_INVALID');
  });

  it('a unit code naming an Object.prototype member ("toString", "__proto__", "constructor") is not a unit', () => {
    for (const unit of ['toString', '__proto__', 'constructor', 'hasOwnProperty']) {
      expect(code({ resourceType: 'Bundle', entry: [{ resource: hr({ value: 72, system: UCUM_SYSTEM, code: unit }) }] })).toBe('FHIR_INVALID');
    }
    expect(code({ resourceType: 'Bundle', entry: [{ resource: hr({ value: 72, system: UCUM_SYSTEM, code: 7 }) }] })).toBe('FHIR_INVALID');
  });

  it('a valid bundle still gives its targets', () => {
    const t = targetsFromBundle({ resourceType: 'Bundle', type: 'collection', entry: [{ resource: hr({ value: 75, system: UCUM_SYSTEM, code: '/min' }) }] } as Bundle);
    // 60 / 75 per minute = 0.8 s, exact in binary to within one ulp.
    expect(t.heartPeriod).toBeCloseTo(0.8, 15);
    expect(t.sources).toEqual([{ reference: 'Observation/hr' }]);
  });
});
