import type { Bundle, Observation, Quantity, Reference } from '@medplum/fhirtypes';
import { PhysiotwinError, conversionFactor } from '@physiotwin/core';

/** LOINC codes read by {@link targetsFromBundle}. */
export const LOINC = {
  bpPanel: '85354-9',
  systolic: '8480-6',
  diastolic: '8462-4',
  meanArterialPressure: '8478-0',
  heartRate: '8867-4',
  cardiacOutput: '8741-1',
  bodyHeight: '8302-2',
  bodyWeight: '29463-7',
} as const;

/** The LOINC system URI. */
export const LOINC_SYSTEM = 'http://loinc.org';
/** The UCUM system URI (Quantity.system). */
export const UCUM_SYSTEM = 'http://unitsofmeasure.org';

/** A vital-sign quantity the bundle may carry. */
export type Measure = 'systolic' | 'diastolic' | 'meanArterialPressure' | 'heartRate' | 'cardiacOutput' | 'bodyHeight' | 'bodyWeight';

/**
 * Per quantity: the unit values are converted to (mathjs syntax), the UCUM codes accepted (code -> mathjs
 * expression) and the physiological range, in the target unit, outside which a value is refused (wide adult and
 * paediatric limits: a value outside is a unit or entry error, not a patient).
 */
const MEASURES: Record<Measure, { unit: string; ucum: Record<string, string>; range: [number, number] }> = {
  systolic: { unit: 'mmHg', ucum: { 'mm[Hg]': 'mmHg', kPa: 'kPa' }, range: [40, 300] },
  diastolic: { unit: 'mmHg', ucum: { 'mm[Hg]': 'mmHg', kPa: 'kPa' }, range: [15, 200] },
  meanArterialPressure: { unit: 'mmHg', ucum: { 'mm[Hg]': 'mmHg', kPa: 'kPa' }, range: [20, 250] },
  heartRate: { unit: 'min^-1', ucum: { '/min': 'min^-1', '{beats}/min': 'min^-1', '/s': 's^-1' }, range: [20, 300] },
  cardiacOutput: { unit: 'L/min', ucum: { 'L/min': 'L/min', 'mL/min': 'mL/min', 'mL/s': 'mL/s', 'L/s': 'L/s' }, range: [0.5, 30] },
  bodyHeight: { unit: 'cm', ucum: { cm: 'cm', m: 'm', mm: 'mm', '[in_i]': 'inch' }, range: [30, 250] },
  bodyWeight: { unit: 'kg', ucum: { kg: 'kg', g: 'g', '[lb_av]': 'lb' }, range: [0.5, 400] },
};

const MEASURE_OF_CODE = new Map<string, Measure>(Object.entries(LOINC).filter(([k]) => k !== 'bpPanel').map(([k, v]) => [v, k as Measure]));

/** What {@link targetsFromBundle} returns: the pipeline's targets and the measurements they came from. */
export interface FhirTargets {
  /** Mean arterial pressure, mmHg: the MAP observation, else diastolic + (systolic - diastolic) / 3. */
  meanPressure?: number;
  /** Cardiac output, L/min. */
  cardiacOutput?: number;
  /** Heart period, s: 60 / heart rate. */
  heartPeriod?: number;
  /** Every measurement read, in its target unit (mmHg, /min, L/min, cm, kg). */
  measurements: Partial<Record<Measure, number>>;
  /** References to the Observations used (`Observation/<id>`, or the entry's fullUrl), for `derivedFrom`. */
  sources: Reference[];
}

function invalid(message: string, path: string): PhysiotwinError {
  return new PhysiotwinError('FHIR_INVALID', `${path}: ${message}`, { location: { jsonPath: path } });
}

/** The value of a Quantity in the measure's unit, checked. */
function readQuantity(q: Quantity | undefined, measure: Measure, path: string): number {
  const spec = MEASURES[measure];
  if (!isObject(q) || typeof q.value !== 'number' || !Number.isFinite(q.value)) throw invalid('no numeric valueQuantity.value', `${path}.value`);
  if (q.system !== undefined && q.system !== UCUM_SYSTEM) throw invalid(`unit system ${JSON.stringify(q.system)?.slice(0, 80)} is not UCUM (${UCUM_SYSTEM})`, `${path}.system`);
  const code: unknown = q.code ?? q.unit;
  // Own keys only: a code such as "toString" or "__proto__" must not find Object.prototype's members.
  const expr = typeof code === 'string' && Object.hasOwn(spec.ucum, code) ? spec.ucum[code] : undefined;
  const shown = typeof code === 'string' ? code.slice(0, 80) : code === undefined ? '(none)' : String(JSON.stringify(code)).slice(0, 80);
  if (!expr) throw invalid(`unit '${shown}' is not a UCUM unit of ${measure} (accepted: ${Object.keys(spec.ucum).join(', ')})`, `${path}.code`);
  const v = q.value * conversionFactor(expr, spec.unit);
  if (!(v >= spec.range[0] && v <= spec.range[1])) {
    throw invalid(`${measure} ${q.value} ${code} = ${+v.toPrecision(6)} ${spec.unit} is outside the physiological range [${spec.range[0]}, ${spec.range[1]}] ${spec.unit}`, `${path}.value`);
  }
  return v;
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** The array at `path`, or [] when absent. @throws PhysiotwinError `FHIR_INVALID` for anything else. */
function arrayAt(v: unknown, path: string): unknown[] {
  if (v === undefined) return [];
  if (!Array.isArray(v)) throw invalid(`expected an array, got ${JSON.stringify(v)?.slice(0, 80)}`, path);
  return v;
}

/** The LOINC codes of a CodeableConcept holder (an Observation or a component), checked as the JSON it came from. */
function loincOf(o: Record<string, unknown>, path: string): string[] {
  if (o.code === undefined) return [];
  if (!isObject(o.code)) throw invalid('expected a CodeableConcept object', `${path}.code`);
  return arrayAt(o.code.coding, `${path}.code.coding`)
    .filter((c): c is { system: string; code: string } => isObject(c) && c.system === LOINC_SYSTEM && typeof c.code === 'string' && c.code !== '')
    .map((c) => c.code);
}

/**
 * Reads a FHIR R4 Bundle of Observations (vital signs by LOINC code: blood pressure panel 85354-9 with systolic
 * 8480-6 and diastolic 8462-4 components, or those as Observations of their own; mean arterial pressure 8478-0;
 * heart rate 8867-4; cardiac output 8741-1; body height 8302-2; body weight 29463-7), converts each UCUM unit with
 * core's units (mathjs) and returns the model targets. Observations with other codes are ignored; for a code given
 * twice the later entry wins.
 * @throws PhysiotwinError `FHIR_INVALID` naming the resource and the path (e.g.
 * `Bundle.entry[2].resource(Observation/bp).component[0].valueQuantity.code`) for a bundle that is not one, a wrong or
 * unknown unit, a value outside its physiological range, or diastolic above systolic.
 * @example
 * ```ts
 * const { meanPressure, cardiacOutput, heartPeriod } = targetsFromBundle(JSON.parse(text));
 * ```
 */
export function targetsFromBundle(bundle: Bundle): FhirTargets {
  // The bundle is parsed JSON a user gave: every field is checked for its type before use.
  const b: unknown = bundle;
  if (!isObject(b) || b.resourceType !== 'Bundle') throw invalid('not a FHIR Bundle (resourceType must be "Bundle")', 'Bundle.resourceType');
  const measurements: Partial<Record<Measure, number>> = {};
  const sources: Reference[] = [];
  arrayAt(b.entry, 'Bundle.entry').forEach((entry, i) => {
    if (!isObject(entry)) throw invalid('expected an entry object', `Bundle.entry[${i}]`);
    const r = entry.resource;
    if (!isObject(r) || r.resourceType !== 'Observation') return;
    const o = r as unknown as Observation & Record<string, unknown>;
    if (o.id !== undefined && typeof o.id !== 'string') throw invalid('expected a string id', `Bundle.entry[${i}].resource.id`);
    const path = `Bundle.entry[${i}].resource(Observation/${o.id ?? '?'})`;
    let used = false;
    for (const code of loincOf(o, path)) {
      const m = MEASURE_OF_CODE.get(code);
      if (m) {
        measurements[m] = readQuantity(o.valueQuantity, m, `${path}.valueQuantity`);
        used = true;
      }
      if (code === LOINC.bpPanel) {
        arrayAt(o.component, `${path}.component`).forEach((c, j) => {
          if (!isObject(c)) throw invalid('expected a component object', `${path}.component[${j}]`);
          for (const cc of loincOf(c, `${path}.component[${j}]`)) {
            const cm = MEASURE_OF_CODE.get(cc);
            if (cm === 'systolic' || cm === 'diastolic') {
              measurements[cm] = readQuantity(c.valueQuantity as Quantity | undefined, cm, `${path}.component[${j}].valueQuantity`);
              used = true;
            }
          }
        });
      }
    }
    if (used) {
      const fullUrl = typeof entry.fullUrl === 'string' ? entry.fullUrl : undefined;
      sources.push(o.id ? { reference: `Observation/${o.id}` } : fullUrl !== undefined ? { reference: fullUrl } : {});
    }
  });
  const { systolic, diastolic } = measurements;
  if (systolic !== undefined && diastolic !== undefined && diastolic >= systolic) {
    throw invalid(`diastolic ${diastolic} mmHg is not below systolic ${systolic} mmHg`, 'Bundle (blood pressure)');
  }
  const out: FhirTargets = { measurements, sources };
  if (measurements.meanArterialPressure !== undefined) out.meanPressure = measurements.meanArterialPressure;
  else if (systolic !== undefined && diastolic !== undefined) out.meanPressure = diastolic + (systolic - diastolic) / 3;
  if (measurements.cardiacOutput !== undefined) out.cardiacOutput = measurements.cardiacOutput;
  if (measurements.heartRate !== undefined) out.heartPeriod = 60 / measurements.heartRate;
  return out;
}
