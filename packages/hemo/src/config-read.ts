import { PhysiotwinError } from '@physiotwin/core';

/**
 * Typed readers of the parsed svZeroDSolver JSON: each checks one value and throws `CONFIG_INVALID` with the
 * JSON path of the offending entry, so that no input can reach the solver as a raw TypeError or RangeError.
 */

/** Longest block name accepted (characters): names become unknown names and output rows. */
export const MAX_NAME_LENGTH = 1000;

/** A `CONFIG_INVALID` error at `jsonPath`. */
export function invalid(message: string, jsonPath: string): PhysiotwinError {
  return new PhysiotwinError('CONFIG_INVALID', message, { location: { jsonPath } });
}

/** True for a plain JSON object (not null, not an array). */
export function isObj(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** A JSON object. @throws PhysiotwinError `CONFIG_INVALID` */
export function obj(v: unknown, path: string): Record<string, unknown> {
  if (!isObj(v)) throw invalid(`expected an object, got ${describe(v)}`, path);
  return v;
}

/** A JSON array. @throws PhysiotwinError `CONFIG_INVALID` */
export function arr(v: unknown, path: string): unknown[] {
  if (!Array.isArray(v)) throw invalid(`expected an array, got ${describe(v)}`, path);
  return v;
}

/** A non-empty string. @throws PhysiotwinError `CONFIG_INVALID` */
export function str(v: unknown, path: string): string {
  if (typeof v !== 'string' || v.length === 0) throw invalid(`expected a non-empty string, got ${describe(v)}`, path);
  return v;
}

/** A block name: a non-empty string of at most {@link MAX_NAME_LENGTH} characters. @throws PhysiotwinError `CONFIG_INVALID` */
export function name(v: unknown, path: string): string {
  const s = str(v, path);
  if (s.length > MAX_NAME_LENGTH) throw invalid(`a name of ${s.length} characters (at most ${MAX_NAME_LENGTH})`, path);
  return s;
}

/** A finite number. @throws PhysiotwinError `CONFIG_INVALID` */
export function num(v: unknown, path: string): number {
  if (typeof v !== 'number' || !Number.isFinite(v)) throw invalid(`expected a finite number, got ${describe(v)}`, path);
  return v;
}

/** true or false. @throws PhysiotwinError `CONFIG_INVALID` */
export function bool(v: unknown, path: string): boolean {
  if (typeof v !== 'boolean') throw invalid(`expected true or false, got ${describe(v)}`, path);
  return v;
}

/** An integer >= min. @throws PhysiotwinError `CONFIG_INVALID` */
export function int(v: unknown, path: string, min: number): number {
  const n = num(v, path);
  if (!Number.isInteger(n) || n < min) throw invalid(`expected an integer >= ${min}, got ${n}`, path);
  return n;
}

/** A short description of a JSON value for messages (never the whole of a large value). */
export function describe(v: unknown): string {
  if (v === undefined) return 'nothing';
  if (v === null) return 'null';
  if (Array.isArray(v)) return `an array of ${v.length}`;
  if (typeof v === 'object') return 'an object';
  const s = typeof v === 'string' ? JSON.stringify(v.length > 40 ? `${v.slice(0, 40)}...` : v) : String(v);
  return s;
}
