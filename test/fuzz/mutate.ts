// Mutations shared by the fuzz targets: bytes (any format), binary header fields (NIfTI), text lines (MetaImage)
// and JSON trees (hemo configs, samples). Each is a plain value fast-check can generate, shrink and print.
import fc from 'fast-check';

/** One mutation of a byte string. */
export type ByteMutation =
  | { kind: 'truncate'; at: number }
  | { kind: 'flip'; at: number; xor: number }
  | { kind: 'bytes'; at: number; data: number[] }
  | { kind: 'insert'; at: number; data: number[] }
  | { kind: 'delete'; at: number; length: number };

/** Mutations at positions within a file of `size` bytes (1 to 4 of them). */
export function byteMutations(size: number): fc.Arbitrary<ByteMutation[]> {
  const at = fc.nat({ max: Math.max(0, size - 1) });
  const data = fc.array(fc.integer({ min: 0, max: 255 }), { minLength: 1, maxLength: 16 });
  return fc.array(
    fc.oneof(
      at.map((a) => ({ kind: 'truncate' as const, at: a })),
      fc.record({ kind: fc.constant('flip' as const), at, xor: fc.integer({ min: 1, max: 255 }) }),
      fc.record({ kind: fc.constant('bytes' as const), at, data }),
      fc.record({ kind: fc.constant('insert' as const), at, data }),
      fc.record({ kind: fc.constant('delete' as const), at, length: fc.integer({ min: 1, max: 64 }) }),
    ),
    { minLength: 1, maxLength: 4 },
  );
}

/** Applies byte mutations to a copy of `bytes`. */
export function mutateBytes(bytes: Uint8Array, mutations: readonly ByteMutation[]): Uint8Array {
  let b: Uint8Array = bytes.slice();
  for (const m of mutations) {
    if (m.kind === 'truncate') b = b.slice(0, Math.min(m.at, b.length));
    else if (m.kind === 'flip') {
      if (m.at < b.length) b[m.at] = b[m.at]! ^ m.xor;
    } else if (m.kind === 'bytes') {
      for (let i = 0; i < m.data.length && m.at + i < b.length; i++) b[m.at + i] = m.data[i]!;
    } else if (m.kind === 'insert') {
      const at = Math.min(m.at, b.length);
      b = concat(b.subarray(0, at), Uint8Array.from(m.data), b.subarray(at));
    } else {
      const at = Math.min(m.at, b.length);
      b = concat(b.subarray(0, at), b.subarray(Math.min(b.length, at + m.length)));
    }
  }
  return b;
}

/** Concatenates byte arrays. */
export function concat(...parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

/** A typed header field: where it is and how it is stored. */
export interface BinaryField {
  offset: number;
  type: 'i16' | 'i32' | 'f32';
}

/** Values that break headers: zero, signs, type limits, non-finite and huge floats. */
export const HOSTILE_NUMBERS = [0, 1, -1, 2, 7, 255, 32767, -32768, 65535, 2 ** 31 - 1, -(2 ** 31), 1e-38, 3e38, -3e38, 1e30, Number.NaN, Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY, 0.5, 348, 352];

/** Sets a field of a binary header to a hostile value. */
export type FieldMutation = { field: number; value: number; bigEndian: boolean };

export function fieldMutations(fields: readonly BinaryField[]): fc.Arbitrary<FieldMutation[]> {
  return fc.array(
    fc.record({ field: fc.nat({ max: fields.length - 1 }), value: fc.oneof(fc.constantFrom(...HOSTILE_NUMBERS), fc.integer({ min: -40000, max: 40000 })), bigEndian: fc.boolean() }),
    { minLength: 1, maxLength: 3 },
  );
}

export function mutateFields(bytes: Uint8Array, fields: readonly BinaryField[], mutations: readonly FieldMutation[]): Uint8Array {
  const b = bytes.slice();
  const view = new DataView(b.buffer);
  for (const m of mutations) {
    const f = fields[m.field]!;
    const le = !m.bigEndian;
    if (f.offset + 4 > b.length) continue;
    if (f.type === 'f32') view.setFloat32(f.offset, m.value, le);
    else if (f.type === 'i16') view.setInt16(f.offset, Number.isFinite(m.value) ? m.value : 0, le);
    else view.setInt32(f.offset, Number.isFinite(m.value) ? m.value : 0, le);
  }
  return b;
}

/** One change to a `Key = Value` text header. */
export type LineMutation = { kind: 'set'; key: string; value: string } | { kind: 'drop'; key: string } | { kind: 'raw'; line: string };

/** Line mutations drawn from a dictionary of keys and hostile values per key. */
export function lineMutations(dictionary: Readonly<Record<string, readonly string[]>>): fc.Arbitrary<LineMutation[]> {
  const keys = Object.keys(dictionary);
  const set = fc.constantFrom(...keys).chain((key) => fc.constantFrom(...dictionary[key]!).map((value) => ({ kind: 'set' as const, key, value })));
  const drop = fc.constantFrom(...keys).map((key) => ({ kind: 'drop' as const, key }));
  const raw = fc.string({ maxLength: 40 }).map((line) => ({ kind: 'raw' as const, line }));
  return fc.array(fc.oneof({ weight: 6, arbitrary: set }, { weight: 1, arbitrary: drop }, { weight: 1, arbitrary: raw }), { minLength: 1, maxLength: 4 });
}

/**
 * Applies line mutations to a header whose last line is `lastKey = ...` (MetaImage's ElementDataFile): a set
 * replaces the key's line or adds it before the last line; a raw line goes before the last line.
 */
export function mutateLines(text: string, lastKey: string, mutations: readonly LineMutation[]): string {
  const lines = text.split('\n').filter((l) => l !== '');
  const index = (key: string) => lines.findIndex((l) => l.split('=')[0]!.trim() === key);
  const beforeLast = () => Math.max(0, index(lastKey));
  for (const m of mutations) {
    const i = m.kind === 'raw' ? -1 : index(m.key);
    if (m.kind === 'set') {
      if (i >= 0) lines[i] = `${m.key} = ${m.value}`;
      else lines.splice(beforeLast(), 0, `${m.key} = ${m.value}`);
    } else if (m.kind === 'drop') {
      if (i >= 0) lines.splice(i, 1);
    } else lines.splice(beforeLast(), 0, m.line);
  }
  return lines.join('\n') + '\n';
}

/** Values that break JSON configs: wrong types, non-finite text, limits, huge strings and counts. */
export const HOSTILE_JSON: readonly unknown[] = [
  null,
  true,
  0,
  -1,
  1e-300,
  1e308,
  -1e308,
  1e7,
  1e9,
  2 ** 53,
  0.5,
  '',
  'x',
  'NaN',
  'Infinity',
  'sqrt(-1)',
  '0/0',
  '1/0',
  't*',
  'x'.repeat(100_000),
  [],
  [null],
  [1, 2],
  {},
  { a: null },
];

/** One change to a JSON tree: a value at a path (picked by index among all paths) replaced, removed or duplicated. */
export type JsonMutation = { kind: 'set'; path: number; value: number } | { kind: 'delete'; path: number } | { kind: 'copy'; path: number; to: number };

/** JSON mutations whose `set` values index `hostile` (default {@link HOSTILE_JSON}). */
export function jsonMutations(hostile: readonly unknown[] = HOSTILE_JSON): fc.Arbitrary<JsonMutation[]> {
  const path = fc.nat({ max: 10_000 });
  return fc.array(
    fc.oneof(
      { weight: 5, arbitrary: fc.record({ kind: fc.constant('set' as const), path, value: fc.nat({ max: hostile.length - 1 }) }) },
      { weight: 2, arbitrary: fc.record({ kind: fc.constant('delete' as const), path }) },
      { weight: 1, arbitrary: fc.record({ kind: fc.constant('copy' as const), path, to: path }) },
    ),
    { minLength: 1, maxLength: 4 },
  );
}

type Json = unknown;

/** Every [parent, key] in a JSON tree, depth first (the root has none). */
function slots(root: Json): Array<[Record<string, Json> | Json[], string | number]> {
  const out: Array<[Record<string, Json> | Json[], string | number]> = [];
  const walk = (node: Json) => {
    if (Array.isArray(node)) node.forEach((v, i) => (out.push([node, i]), walk(v)));
    else if (node !== null && typeof node === 'object') for (const [k, v] of Object.entries(node)) out.push([node as Record<string, Json>, k]), walk(v);
  };
  walk(root);
  return out;
}

/** Applies JSON mutations to a deep copy of `value` (`set` values from `hostile`, as generated). */
export function mutateJson(value: Json, mutations: readonly JsonMutation[], hostile: readonly unknown[] = HOSTILE_JSON): Json {
  const root = structuredClone(value);
  for (const m of mutations) {
    const all = slots(root);
    if (all.length === 0) break;
    const [parent, key] = all[m.path % all.length]!;
    if (m.kind === 'set') (parent as Record<string, Json>)[key] = structuredClone(hostile[m.value]);
    else if (m.kind === 'delete') {
      if (Array.isArray(parent)) parent.splice(key as number, 1);
      else delete parent[key as string];
    } else {
      const [toParent, toKey] = all[m.to % all.length]!;
      (toParent as Record<string, Json>)[toKey] = structuredClone((parent as Record<string, Json>)[key]);
    }
  }
  return root;
}

/** Text numbers that break text formats' counts, tags, indices and coordinates. */
export const HOSTILE_TOKENS: readonly string[] = ['0', '-1', '1', '2', '3', '4', '9', '10', '11', '-2147483648', '2147483647', '4294967295', '4294967296', '9007199254740993', '1e308', '-1e308', '1e400', 'nan', 'NaN', 'inf', '-inf', 'Infinity', '1.5', '0x10', '', '1e9', '99999999999999999999'];

/** One change to the numbers of a text file: the `index`-th numeric token (modulo their count) set to a hostile token. */
export type TokenMutation = { token: number; value: number };

export function tokenMutations(): fc.Arbitrary<TokenMutation[]> {
  return fc.array(fc.record({ token: fc.nat({ max: 100_000 }), value: fc.nat({ max: HOSTILE_TOKENS.length - 1 }) }), { minLength: 1, maxLength: 3 });
}

const NUMBER = /[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?/g;

/**
 * Applies token mutations to the text of `bytes` (latin1, so binary payloads after a text header survive): the
 * numeric tokens are found once, each mutation replaces one of them.
 */
export function mutateTokens(bytes: Uint8Array, mutations: readonly TokenMutation[]): Uint8Array {
  const text = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('latin1');
  const spans: Array<[number, number]> = [];
  for (const m of text.matchAll(NUMBER)) spans.push([m.index, m.index + m[0].length]);
  if (spans.length === 0) return bytes;
  const replace = new Map<number, string>();
  for (const m of mutations) replace.set(m.token % spans.length, HOSTILE_TOKENS[m.value]!);
  const parts: string[] = [];
  let at = 0;
  for (const [i, value] of [...replace].sort((a, b) => a[0] - b[0])) {
    const [s, e] = spans[i]!;
    parts.push(text.slice(at, s), value);
    at = e;
  }
  parts.push(text.slice(at));
  return new Uint8Array(Buffer.from(parts.join(''), 'latin1'));
}

/** Hostile integers for binary words (counts, tags, sizes, header words). */
export const HOSTILE_WORDS: readonly number[] = [0, 1, 2, 3, 4, 9, 10, 11, 0x7fffffff, 0x80000000, 0xffffffff, 0xfffffffe, 1 << 20, 1 << 30, 65536, 12, 16];

/** Sets a 4- or 8-byte little- or big-endian word at a 4-aligned offset (modulo the size) to a hostile value or float. */
export type WordMutation = { at: number; value: number; wide: boolean; float: boolean; bigEndian: boolean };

export function wordMutations(size: number): fc.Arbitrary<WordMutation[]> {
  return fc.array(
    fc.record({ at: fc.nat({ max: Math.max(0, size - 1) }), value: fc.nat({ max: HOSTILE_WORDS.length + HOSTILE_NUMBERS.length - 1 }), wide: fc.boolean(), float: fc.boolean(), bigEndian: fc.boolean() }),
    { minLength: 1, maxLength: 3 },
  );
}

export function mutateWords(bytes: Uint8Array, mutations: readonly WordMutation[]): Uint8Array {
  const b = bytes.slice();
  const view = new DataView(b.buffer);
  for (const m of mutations) {
    const width = m.wide ? 8 : 4;
    const at = m.at - (m.at % 4);
    if (at + width > b.length) continue;
    const v = m.value < HOSTILE_WORDS.length ? HOSTILE_WORDS[m.value]! : HOSTILE_NUMBERS[m.value - HOSTILE_WORDS.length]!;
    const le = !m.bigEndian;
    if (m.float) {
      if (m.wide) view.setFloat64(at, v, le);
      else view.setFloat32(at, v, le);
    } else if (m.wide) view.setBigUint64(at, BigInt.asUintN(64, BigInt(Number.isFinite(v) ? Math.trunc(v) : 0)), le);
    else view.setUint32(at, Number.isFinite(v) ? Math.trunc(v) >>> 0 : 0, le);
  }
  return b;
}
