// The public API of @physiotwin/fhir: FHIR R4 in (observations -> model targets) and out (results, report, provenance).
export { targetsFromBundle, LOINC, LOINC_SYSTEM, UCUM_SYSTEM } from './fhir-in.js';
export type { FhirTargets, Measure } from './fhir-in.js';
export { resultsBundle, fhirBundleJson, RESULT_CODE_SYSTEM } from './fhir-out.js';
export type { ResultQuantity, ResultsBundleOptions } from './fhir-out.js';
