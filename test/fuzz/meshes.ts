// Mesh and surface reader fuzz targets (issue 11): Gmsh MSH 4.1 (ASCII and binary: readMsh), VTK XML
// UnstructuredGrid (.vtu: ascii, inline base64, appended raw and base64, zlib: readVtu) and the surface readers
// (STL ascii/binary, OBJ, PLY ascii/binary, VTP: readStl, readObj, readPly, readVtp). Seeded with the fixture
// meshes and small meshes written by io's writers; mutated byte-wise, number-token-wise (counts, node tags,
// element types, indices, coordinates set to -1, 2^32, 1e400, nan, ...) and word-wise (binary counts, sizes, zlib
// block headers set to hostile integers and floats), plus recipes (inverted tets, out-of-range node indices, NaN
// coordinates, huge declared counts and block sizes).
import { readFileSync, readdirSync } from 'node:fs';
import fc from 'fast-check';
import { validateSurfaceMesh, validateTetMesh } from '@physiotwin/core';
import type { SurfaceMesh, TetMesh } from '@physiotwin/core';
import { readMsh, readObj, readPly, readStl, readVtp, readVtu, writeMsh, writeObj, writePly, writeStl, writeVtp, writeVtu } from '@physiotwin/io';
import { toQuadraticTets } from '@physiotwin/mesh';
import type { FuzzResult, FuzzTarget } from './harness.js';
import { byteMutations, mutateBytes, mutateTokens, mutateWords, tokenMutations, wordMutations } from './mutate.js';
import type { ByteMutation, TokenMutation, WordMutation } from './mutate.js';

/** A unit cube of 10 mm cut into 6 tets (Kuhn), region 1, faces x = 0 (label 1) and x = 10 (label 2). */
export function tinyTetMesh(): TetMesh {
  const positions = new Float64Array(24);
  for (let i = 0; i < 8; i++) positions.set([10 * (i & 1), 5 * ((i >> 1) & 1), 4 * ((i >> 2) & 1)], 3 * i);
  const tets = [
    [0, 1, 3, 7],
    [0, 1, 5, 7],
    [0, 2, 3, 7],
    [0, 2, 6, 7],
    [0, 4, 5, 7],
    [0, 4, 6, 7],
  ].map((t) => (signedVolume(positions, t) < 0 ? [t[0]!, t[2]!, t[1]!, t[3]!] : t));
  return {
    positions,
    tets: Uint32Array.from(tets.flat()),
    nodesPerTet: 4,
    regions: new Int32Array(6).fill(1),
    boundaryFaces: Uint32Array.from([0, 4, 6, 0, 6, 2, 1, 3, 7, 1, 7, 5]),
    boundaryLabels: Int32Array.from([1, 1, 2, 2]),
  };
}

function signedVolume(p: Float64Array, t: readonly number[]): number {
  const d = (k: number, j: number) => p[3 * t[k]! + j]! - p[3 * t[0]! + j]!;
  return d(1, 0) * (d(2, 1) * d(3, 2) - d(2, 2) * d(3, 1)) - d(1, 1) * (d(2, 0) * d(3, 2) - d(2, 2) * d(3, 0)) + d(1, 2) * (d(2, 0) * d(3, 1) - d(2, 1) * d(3, 0));
}

/** The tiny mesh with its first tet inverted (two nodes swapped): a reader must read it as it is or refuse it. */
function invertedFirstTet(m: TetMesh): TetMesh {
  const tets = m.tets.slice();
  [tets[1], tets[2]] = [tets[2]!, tets[1]!];
  return { ...m, tets };
}

/** A tetrahedron's surface (4 outward triangles) in mm. */
function tinySurface(): SurfaceMesh {
  return { positions: Float32Array.from([0, 0, 0, 10, 0, 0, 0, 10, 0, 0, 0, 10]), triangles: Uint32Array.from([0, 2, 1, 0, 1, 3, 0, 3, 2, 1, 2, 3]) };
}

/** Most bytes a result may hold: its input times the largest zlib expansion (1032), and at least 1 MiB. */
const boundFor = (input: Uint8Array) => Math.max(1 << 20, 1032 * input.length);

function arraysBytes(arrays: Record<string, { values: ArrayBufferView }> | undefined): number {
  return Object.values(arrays ?? {}).reduce((n, a) => n + a.values.byteLength, 0);
}

/** Re-throws a broken invariant of a returned mesh as a plain Error (a reader's typed error is not the result's). */
function invariant(check: () => void): void {
  try {
    check();
  } catch (e) {
    throw new Error(`the reader returned an invalid mesh: ${(e as Error).message}`);
  }
}

/** A valid tet mesh: core's invariants, finite coordinates, bounded size. */
export function checkedTetMesh(m: TetMesh, input: Uint8Array): FuzzResult {
  invariant(() => validateTetMesh(m));
  if (!m.positions.every(Number.isFinite)) throw new Error('the reader returned non-finite coordinates');
  if (m.tets.length === 0) throw new Error('the reader returned a mesh without tets');
  const allocated = m.positions.byteLength + m.tets.byteLength + (m.regions?.byteLength ?? 0) + (m.boundaryFaces?.byteLength ?? 0) + (m.boundaryLabels?.byteLength ?? 0) + arraysBytes(m.pointData) + arraysBytes(m.cellData);
  return { allocated, allocationBound: boundFor(input) };
}

function checkedSurface(m: SurfaceMesh, input: Uint8Array): FuzzResult {
  invariant(() => validateSurfaceMesh(m));
  if (!m.positions.every(Number.isFinite)) throw new Error('the reader returned non-finite coordinates');
  if (m.normals && !m.normals.every(Number.isFinite)) throw new Error('the reader returned non-finite normals');
  const allocated = m.positions.byteLength + m.triangles.byteLength + (m.normals?.byteLength ?? 0) + arraysBytes(m.pointData) + arraysBytes(m.cellData);
  return { allocated, allocationBound: boundFor(input) };
}

/** How one input is made from its seed: bytes, number tokens (text formats) or binary words changed. */
export type MeshInput = { seed: number; bytes: ByteMutation[]; tokens: TokenMutation[]; words: WordMutation[] };

/** A named seed file. */
export interface Seed {
  name: string;
  bytes: Uint8Array;
}

function meshArbitrary(seeds: readonly Seed[]): fc.Arbitrary<MeshInput> {
  return fc.nat({ max: seeds.length - 1 }).chain((seed) => {
    const size = seeds[seed]!.bytes.length;
    const none = { bytes: fc.constant<ByteMutation[]>([]), tokens: fc.constant<TokenMutation[]>([]), words: fc.constant<WordMutation[]>([]) };
    return fc.oneof(
      fc.record({ seed: fc.constant(seed), ...none, bytes: byteMutations(size) }),
      fc.record({ seed: fc.constant(seed), ...none, tokens: tokenMutations() }),
      fc.record({ seed: fc.constant(seed), ...none, words: wordMutations(size) }),
      fc.record({ seed: fc.constant(seed), bytes: byteMutations(size), tokens: tokenMutations(), words: none.words }),
    );
  });
}

/** The bytes of one input. */
export function meshInput(seeds: readonly Seed[], { seed, bytes, tokens, words }: MeshInput): Uint8Array {
  let b = seeds[seed]!.bytes;
  if (tokens.length > 0) b = mutateTokens(b, tokens);
  if (words.length > 0) b = mutateWords(b, words);
  if (bytes.length > 0) b = mutateBytes(b, bytes);
  return b;
}

function byteTarget(name: string, seeds: Seed[], read: (bytes: Uint8Array) => FuzzResult): FuzzTarget<MeshInput> {
  const names = seeds.map((s) => s.name);
  return {
    name,
    arbitrary: meshArbitrary(seeds),
    recipes: { all: names, of: ({ seed }) => [names[seed]!] },
    run: (input) => read(meshInput(seeds, input)),
  };
}

const fixture = (repoRoot: string, path: string): Seed => ({ name: path, bytes: new Uint8Array(readFileSync(`${repoRoot}fixtures/${path}`)) });

/** Small meshes written by io's writers: T4 and T10, the inverted-tet recipe. */
function writtenMeshes(): Array<[string, TetMesh]> {
  const tiny = tinyTetMesh();
  return [
    ['T4', tiny],
    ['T10', toQuadraticTets(tiny)],
    ['T4 inverted tet', invertedFirstTet(tiny)],
  ];
}

/** Text edits of a written ASCII MSH: NaN coordinates, a node index out of range, a huge node count. */
function mshRecipes(ascii: Uint8Array): Seed[] {
  const text = new TextDecoder().decode(ascii);
  const edit = (name: string, f: (t: string) => string): Seed => {
    const out = f(text);
    if (out === text) throw new Error(`MSH recipe '${name}' changed nothing`);
    return { name, bytes: new TextEncoder().encode(out) };
  };
  return [
    // The first node's coordinates (0 0 0) made NaN.
    edit('NaN coordinate', (t) => t.replace(/(\$Nodes\n[\s\S]*?\n)0 0 0\n/, '$1nan 0 0\n')),
    // The last element's last node tag set past every node.
    edit('node tag out of range', (t) => t.replace(/ \d+\n\$EndElements/, ' 99\n$EndElements')),
    // The $Nodes header and its first block declare 2^40 nodes.
    edit('huge node count', (t) => t.replace(/\$Nodes\n(\d+) \d+ (\d+) \d+\n(\d+ \d+ \d+) \d+/, '$Nodes\n$1 1099511627776 $2 1099511627776\n$3 1099511627776')),
  ];
}

/** MSH seeds: written T4/T10 meshes (ASCII and binary), the recipes, and fixture files (CI: the small ones). */
function mshSeeds(repoRoot: string, long: boolean): Seed[] {
  const written = writtenMeshes().flatMap(([name, m]) => [
    { name: `written ${name} ASCII`, bytes: writeMsh(m, { physicalNames: [{ dim: 3, tag: 1, name: 'solid' }, { dim: 2, tag: 1, name: 'x0' }] }) },
    { name: `written ${name} binary`, bytes: writeMsh(m, { binary: true }) },
  ]);
  const files = readdirSync(`${repoRoot}fixtures/fem`)
    .filter((f) => f.endsWith('.msh'))
    .filter((f) => long || f === 'cylinder-t4-0.5.msh' || f === 'sphere-t10-0.5.msh')
    .map((f) => fixture(repoRoot, `fem/${f}`));
  return [...written, ...mshRecipes(written[0]!.bytes), ...files];
}

export function mshTarget(repoRoot: string, long = false): FuzzTarget<MeshInput> {
  return byteTarget('Gmsh MSH 4.1 ASCII and binary (readMsh)', mshSeeds(repoRoot, long), (b) => checkedTetMesh(readMsh(b, { file: 'fuzz.msh' }).mesh, b));
}

/** VTU seeds: written meshes in every encoding, and the fixture files (VTK's own writer). */
function vtuSeeds(repoRoot: string): Seed[] {
  const encodings: Array<[string, { format: 'ascii' | 'binary' | 'appended'; compress: boolean }]> = [
    ['ascii', { format: 'ascii', compress: false }],
    ['base64', { format: 'binary', compress: false }],
    ['base64 zlib', { format: 'binary', compress: true }],
    ['appended raw', { format: 'appended', compress: false }],
    ['appended zlib', { format: 'appended', compress: true }],
  ];
  const [t4, t10] = writtenMeshes();
  const written = encodings.map(([name, o]) => ({ name: `written T4 ${name}`, bytes: writeVtu(t4![1], o) }));
  written.push({ name: 'written T10 base64 zlib', bytes: writeVtu(t10![1], { format: 'binary', compress: true }) });
  const files = readdirSync(`${repoRoot}fixtures/fem`)
    .filter((f) => f.endsWith('.vtu'))
    .map((f) => fixture(repoRoot, `fem/${f}`));
  return [...written, ...files];
}

export function vtuTarget(repoRoot: string): FuzzTarget<MeshInput> {
  return byteTarget('VTK XML UnstructuredGrid .vtu (readVtu)', vtuSeeds(repoRoot), (b) => checkedTetMesh(readVtu(b, { file: 'fuzz.vtu' }), b));
}

/** Surface seeds of one format: fixtures/surface's files with that extension and the tiny surface written. */
function surfaceSeeds(repoRoot: string, ext: string, write: (m: SurfaceMesh) => Uint8Array): Seed[] {
  const files = readdirSync(`${repoRoot}fixtures/surface`)
    .filter((f) => f.endsWith(`.${ext}`))
    .map((f) => fixture(repoRoot, `surface/${f}`));
  return [{ name: `written ${ext}`, bytes: write(tinySurface()) }, ...files];
}

/** The surface reader targets: STL, OBJ, PLY, VTP. */
export function surfaceTargets(repoRoot: string): Array<FuzzTarget<MeshInput>> {
  const asciiStl = new TextEncoder().encode('solid t\nfacet normal 0 0 1\nouter loop\nvertex 0 0 0\nvertex 1 0 0\nvertex 0 1 0\nendloop\nendfacet\nendsolid t\n');
  return [
    byteTarget('STL ascii and binary (readStl)', [...surfaceSeeds(repoRoot, 'stl', writeStl), { name: 'one ascii facet', bytes: asciiStl }], (b) => checkedSurface(readStl(b, { file: 'fuzz.stl' }), b)),
    byteTarget('Wavefront OBJ (readObj)', surfaceSeeds(repoRoot, 'obj', writeObj), (b) => checkedSurface(readObj(b, { file: 'fuzz.obj' }), b)),
    byteTarget('PLY ascii and binary (readPly)', surfaceSeeds(repoRoot, 'ply', writePly), (b) => checkedSurface(readPly(b, { file: 'fuzz.ply' }), b)),
    byteTarget('VTK XML PolyData .vtp (readVtp)', surfaceSeeds(repoRoot, 'vtp', writeVtp), (b) => checkedSurface(readVtp(b, { file: 'fuzz.vtp' }), b)),
  ];
}
