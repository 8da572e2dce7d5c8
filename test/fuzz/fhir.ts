// The FHIR input fuzz target (issue 11): the Bundle a user gives `physiotwin pipeline --fhir-in`, read by
// targetsFromBundle, mutated (wrong types, nulls, missing and non-array fields, prototype keys and hostile unit
// codes, out-of-range and non-finite values). The outcome is FHIR_INVALID or targets that are finite numbers.
import fc from 'fast-check';
import { LOINC, LOINC_SYSTEM, UCUM_SYSTEM, targetsFromBundle } from '@physiotwin/fhir';
import type { FuzzTarget } from './harness.js';
import { HOSTILE_JSON, jsonMutations, mutateJson } from './mutate.js';
import type { JsonMutation } from './mutate.js';

/** The FHIR R4 Bundle type targetsFromBundle takes. */
type Bundle = Parameters<typeof targetsFromBundle>[0];

const HOSTILE_FHIR: readonly unknown[] = [
  ...HOSTILE_JSON,
  '__proto__',
  'toString',
  'constructor',
  'hasOwnProperty',
  'valueOf',
  'mm[Hg]',
  'kPa',
  '/min',
  'L/min',
  'mL/s',
  '[lb_av]',
  'm',
  'Observation',
  'Bundle',
  LOINC_SYSTEM,
  UCUM_SYSTEM,
  ...Object.values(LOINC),
  1e-320,
  -0,
  [{}],
  [{ resource: null }],
  { resourceType: 'Observation' },
  { coding: null },
  { coding: [null] },
];

const quantity = (value: number, code: string) => ({ value, unit: code, system: UCUM_SYSTEM, code });
const observation = (id: string, code: string, value: number, unit: string) => ({
  resourceType: 'Observation',
  id,
  status: 'final',
  code: { coding: [{ system: LOINC_SYSTEM, code }] },
  valueQuantity: quantity(value, unit),
});

/** Seed bundles: a blood pressure panel with vitals; separate systolic and diastolic in kPa with a MAP. */
const BUNDLES: Record<string, unknown> = {
  'panel and vitals': {
    resourceType: 'Bundle',
    type: 'collection',
    entry: [
      {
        fullUrl: 'urn:uuid:1',
        resource: {
          resourceType: 'Observation',
          id: 'bp',
          status: 'final',
          code: { coding: [{ system: LOINC_SYSTEM, code: LOINC.bpPanel }] },
          component: [
            { code: { coding: [{ system: LOINC_SYSTEM, code: LOINC.systolic }] }, valueQuantity: quantity(120, 'mm[Hg]') },
            { code: { coding: [{ system: LOINC_SYSTEM, code: LOINC.diastolic }] }, valueQuantity: quantity(80, 'mm[Hg]') },
          ],
        },
      },
      { resource: observation('hr', LOINC.heartRate, 72, '/min') },
      { resource: observation('co', LOINC.cardiacOutput, 5000, 'mL/min') },
      { resource: observation('h', LOINC.bodyHeight, 1.8, 'm') },
      { resource: observation('w', LOINC.bodyWeight, 170, '[lb_av]') },
    ],
  },
  'separate observations in kPa with MAP': {
    resourceType: 'Bundle',
    type: 'collection',
    entry: [
      { resource: observation('sys', LOINC.systolic, 16, 'kPa') },
      { resource: observation('dia', LOINC.diastolic, 10.7, 'kPa') },
      { resource: observation('map', LOINC.meanArterialPressure, 93, 'mm[Hg]') },
      { resource: observation('hr', LOINC.heartRate, 1.2, '/s') },
    ],
  },
};
const NAMES = Object.keys(BUNDLES);

type FhirInput = { seed: number; mutations: JsonMutation[] };

export function fhirTarget(): FuzzTarget<FhirInput> {
  return {
    name: 'FHIR input Bundle (targetsFromBundle)',
    arbitrary: fc.record({ seed: fc.nat({ max: NAMES.length - 1 }), mutations: jsonMutations(HOSTILE_FHIR) }),
    recipes: { all: NAMES, of: ({ seed }) => [NAMES[seed]!] },
    // The first unit conversion loads mathjs' unit tables (about 1 s on a loaded machine): not an input's cost.
    async warmUp() {
      for (const name of NAMES) targetsFromBundle(BUNDLES[name] as Bundle);
    },
    run({ seed, mutations }) {
      const t = targetsFromBundle(mutateJson(BUNDLES[NAMES[seed]!], mutations, HOSTILE_FHIR) as Bundle);
      const numbers = [t.meanPressure, t.cardiacOutput, t.heartPeriod, ...Object.values(t.measurements)].filter((v) => v !== undefined);
      if (!numbers.every((v) => typeof v === 'number' && Number.isFinite(v))) throw new Error(`targets that are not finite numbers: ${JSON.stringify(t)}`);
      return {};
    },
  };
}
