import { PhysiotwinError, validateTetMesh } from '@physiotwin/core';
import type { TetMesh } from '@physiotwin/core';
import { HOST_LITTLE_ENDIAN, concatBytes, optionalFile } from './binary.js';

// Gmsh MSH 4.1 (https://gmsh.info/doc/texinfo/gmsh.html#MSH-file-format), ASCII and binary. Tets become the mesh,
// the physical group of a tet's volume entity its region, triangles its boundary faces labelled with their surface
// entity's physical group (the entity tag where an entity has no physical group). Gmsh's 10-node tetrahedron lists
// the mid-edge nodes of edges (0,1) (1,2) (0,2) (0,3) (2,3) (1,3); VTK's (and TetMesh's) order swaps the last two.

/** Gmsh element type -> node count, for the types read; 3D types other than tets are refused. */
const ELEMENT_NODES: ReadonlyMap<number, number> = new Map([
  [15, 1], // point
  [1, 2], // 2-node line
  [8, 3], // 3-node line
  [2, 3], // 3-node triangle
  [9, 6], // 6-node triangle
  [4, 4], // 4-node tetrahedron
  [11, 10], // 10-node tetrahedron
]);
const GMSH_TET4 = 4;
const GMSH_TET10 = 11;
const GMSH_TRI3 = 2;
const GMSH_TRI6 = 9;
/** TetMesh (VTK) node k of a T10 is Gmsh node GMSH_T10_ORDER[k], and the same map works back (a swap). */
const GMSH_T10_ORDER = [0, 1, 2, 3, 4, 5, 6, 7, 9, 8];

/** A `$PhysicalNames` entry: dimension (2 faces, 3 regions), tag, name. */
export interface PhysicalName {
  dim: number;
  tag: number;
  name: string;
}

/** What {@link readMsh} returns: the mesh and the file's physical group names. */
export interface MshFile {
  mesh: TetMesh;
  physicalNames: PhysicalName[];
}

/** Options of {@link readMsh}. */
export interface ReadMshOptions {
  /** File name for error messages. */
  file?: string;
}

/** Options of {@link writeMsh}. */
export interface WriteMshOptions {
  /** Binary MSH 4.1 (little-endian) instead of ASCII. @default false */
  binary?: boolean;
  /** Names of physical groups, written as `$PhysicalNames`. @default [] */
  physicalNames?: PhysicalName[];
}

/** Reads text words or binary values from an MSH file, whichever the file's mode is. */
class Cursor {
  pos = 0;
  binary = false;
  littleEndian = true;
  private readonly view: DataView;
  constructor(
    readonly bytes: Uint8Array,
    readonly file: string | undefined,
  ) {
    this.view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  }
  fail(code: 'IO_INVALID' | 'IO_TRUNCATED' | 'IO_UNSUPPORTED', message: string): never {
    throw new PhysiotwinError(code, message, { location: { ...optionalFile(this.file), offset: this.pos } });
  }
  /** The next line without its line ending, or undefined at the end. */
  line(): string | undefined {
    if (this.pos >= this.bytes.length) return undefined;
    let end = this.bytes.indexOf(10, this.pos);
    if (end < 0) end = this.bytes.length;
    const s = new TextDecoder().decode(this.bytes.subarray(this.pos, end)).replace(/\r$/, '');
    this.pos = end + 1;
    return s;
  }
  word(): string {
    const b = this.bytes;
    while (this.pos < b.length && b[this.pos]! <= 32) this.pos++;
    const start = this.pos;
    if (b[this.pos] === 34 /* '"' */) {
      const end = b.indexOf(34, this.pos + 1);
      if (end < 0) this.fail('IO_TRUNCATED', 'unterminated quoted name');
      this.pos = end + 1;
      return new TextDecoder().decode(b.subarray(start, this.pos));
    }
    while (this.pos < b.length && b[this.pos]! > 32) this.pos++;
    if (start === this.pos) this.fail('IO_TRUNCATED', 'file ends inside a section');
    return new TextDecoder().decode(b.subarray(start, this.pos));
  }
  private need(n: number): void {
    if (this.pos + n > this.bytes.length) this.fail('IO_TRUNCATED', 'file ends inside a binary section');
  }
  private number(integer: boolean): number {
    const w = this.word();
    const v = Number(w);
    if (!Number.isFinite(v) || (integer && !Number.isInteger(v))) this.fail('IO_INVALID', `'${w}' is not ${integer ? 'an integer' : 'a number'}`);
    return v;
  }
  int(): number {
    if (!this.binary) return this.number(true);
    this.need(4);
    const v = this.view.getInt32(this.pos, this.littleEndian);
    this.pos += 4;
    return v;
  }
  size(): number {
    if (!this.binary) {
      const v = this.number(true);
      if (v < 0) this.fail('IO_INVALID', `negative count or tag ${v}`);
      return v;
    }
    this.need(8);
    const v = Number(this.view.getBigUint64(this.pos, this.littleEndian));
    if (!Number.isSafeInteger(v)) this.fail('IO_INVALID', 'a size_t value exceeds 2^53');
    this.pos += 8;
    return v;
  }
  double(): number {
    if (!this.binary) return this.number(false);
    this.need(8);
    const v = this.view.getFloat64(this.pos, this.littleEndian);
    if (!Number.isFinite(v)) this.fail('IO_INVALID', `a coordinate is ${v}`);
    this.pos += 8;
    return v;
  }
  /** A count that must fit in what is left of the file (each item at least `minBytes` long), checked before allocating. */
  count(minBytes: number): number {
    const n = this.size();
    if (n * minBytes > this.bytes.length - this.pos) this.fail('IO_TRUNCATED', `a count of ${n} cannot fit in the rest of the file`);
    return n;
  }
  /** Skips to the line after `$End<name>`. */
  endSection(name: string): void {
    const marker = new TextEncoder().encode(`$End${name}`);
    outer: for (let i = this.pos; i + marker.length <= this.bytes.length; i++) {
      for (let j = 0; j < marker.length; j++) if (this.bytes[i + j] !== marker[j]) continue outer;
      this.pos = i;
      this.line();
      return;
    }
    this.fail('IO_TRUNCATED', `no $End${name}`);
  }
}

interface Entity {
  physical: number[];
}

/**
 * Reads a Gmsh MSH 4.1 file (ASCII or binary) holding linear (type 4) or quadratic (type 11) tetrahedra.
 * Regions come from the physical groups of the tets' volume entities, boundary faces from triangles (types 2
 * and 9, corner nodes) labelled with their surface's physical group; the entity tag stands in where an entity
 * has none. Nodes are renumbered 0..n-1 in file order; T10 nodes are put in VTK order.
 * @example
 * ```ts
 * const { mesh, physicalNames } = readMsh(await readFile('cylinder.msh'));
 * ```
 * @throws PhysiotwinError `IO_INVALID` (malformed), `IO_TRUNCATED` (cut short), `IO_UNSUPPORTED` (MSH
 *   versions other than 4.1, other 3D element types, mixed T4/T10, no tetrahedra).
 */
export function readMsh(bytes: Uint8Array, options: ReadMshOptions = {}): MshFile {
  const c: Cursor = new Cursor(bytes, options.file);
  const physicalNames: PhysicalName[] = [];
  const entities: Array<Map<number, Entity>> = [new Map(), new Map(), new Map(), new Map()];
  const nodeIndex = new Map<number, number>();
  const coords: number[] = [];
  let tetBlocks: Array<{ entity: number; type: number; nodes: number[] }> = [];
  const faceBlocks: Array<{ entity: number; nodes: number[]; stride: number }> = [];
  let sawFormat = false;
  let sawNodes = false;
  let sawElements = false;
  for (let line = c.line(); line !== undefined; line = c.line()) {
    const section = line.trim();
    if (section === '') continue;
    if (!section.startsWith('$')) c.fail('IO_INVALID', `expected a section header, found '${section.slice(0, 40)}'`);
    const name = section.slice(1);
    if (name === 'MeshFormat') {
      const [version, fileType, dataSize] = (c.line() ?? '').trim().split(/\s+/);
      if (version !== '4.1') c.fail('IO_UNSUPPORTED', `MSH version ${version} (only 4.1 is read; save with -format msh41)`);
      if (dataSize !== '8') c.fail('IO_UNSUPPORTED', `MSH data-size ${dataSize} (only 8)`);
      c.binary = fileType === '1';
      if (c.binary) {
        if (c.pos + 4 > bytes.length) c.fail('IO_TRUNCATED', 'binary MeshFormat lacks its endianness int');
        const one = new DataView(bytes.buffer, bytes.byteOffset + c.pos, 4);
        if (one.getInt32(0, true) === 1) c.littleEndian = true;
        else if (one.getInt32(0, false) === 1) c.littleEndian = false;
        else c.fail('IO_INVALID', 'binary MeshFormat endianness int is not 1');
        c.pos += 4;
      }
      sawFormat = true;
      c.endSection(name);
    } else if (!sawFormat) {
      c.fail('IO_INVALID', 'not a Gmsh MSH file (no $MeshFormat first)');
    } else if (name === 'PhysicalNames') {
      const n = Number((c.line() ?? '').trim());
      if (!Number.isInteger(n) || n < 0) c.fail('IO_INVALID', 'PhysicalNames count');
      for (let i = 0; i < n; i++) {
        const m = /^\s*(\d+)\s+(-?\d+)\s+"(.*)"\s*$/.exec(c.line() ?? '');
        if (!m) c.fail('IO_INVALID', `PhysicalNames entry ${i} is malformed`);
        physicalNames.push({ dim: Number(m[1]), tag: Number(m[2]), name: m[3]! });
      }
      c.endSection(name);
    } else if (name === 'Entities') {
      const counts = [c.size(), c.size(), c.size(), c.size()];
      for (let dim = 0; dim < 4; dim++) {
        for (let i = 0; i < counts[dim]!; i++) {
          const tag = c.int();
          for (let k = 0; k < (dim === 0 ? 3 : 6); k++) c.double();
          const nPhys = c.count(4);
          const physical: number[] = [];
          for (let k = 0; k < nPhys; k++) physical.push(c.int());
          if (dim > 0) {
            const nBound = c.count(4);
            for (let k = 0; k < nBound; k++) c.int();
          }
          entities[dim]!.set(tag, { physical });
        }
      }
      c.endSection(name);
    } else if (name === 'Nodes') {
      const blocks = c.size();
      c.count(0);
      c.size();
      c.size();
      for (let b = 0; b < blocks; b++) {
        const dim = c.int();
        c.int();
        const parametric = c.int();
        const n = c.count(c.binary ? 32 : 2);
        const tags: number[] = [];
        for (let i = 0; i < n; i++) tags.push(c.size());
        for (let i = 0; i < n; i++) {
          const tag = tags[i]!;
          if (nodeIndex.has(tag)) c.fail('IO_INVALID', `node tag ${tag} appears twice`);
          nodeIndex.set(tag, coords.length / 3);
          coords.push(c.double(), c.double(), c.double());
          for (let k = 0; k < (parametric ? dim : 0); k++) c.double();
        }
      }
      sawNodes = true;
      c.endSection(name);
    } else if (name === 'Elements') {
      const blocks = c.size();
      c.count(0);
      c.size();
      c.size();
      for (let b = 0; b < blocks; b++) {
        const dim = c.int();
        const entity = c.int();
        const type = c.int();
        const per = ELEMENT_NODES.get(type);
        const n = c.count(c.binary ? 16 : 4);
        if (per === undefined) {
          if (dim === 3) c.fail('IO_UNSUPPORTED', `Gmsh element type ${type}: only tetrahedra (4, 11) are read`);
          c.fail('IO_UNSUPPORTED', `Gmsh element type ${type} in a ${dim}D block`);
        }
        const nodes: number[] = new Array(n * per);
        for (let e = 0; e < n; e++) {
          c.size();
          for (let k = 0; k < per; k++) nodes[e * per + k] = c.size();
        }
        if (type === GMSH_TET4 || type === GMSH_TET10) tetBlocks.push({ entity, type, nodes });
        else if (type === GMSH_TRI3 || type === GMSH_TRI6) faceBlocks.push({ entity, nodes, stride: per });
      }
      sawElements = true;
      c.endSection(name);
    } else {
      c.endSection(name);
    }
  }
  if (!sawNodes || !sawElements) c.fail('IO_INVALID', 'the file has no $Nodes or no $Elements section');
  const types = new Set(tetBlocks.map((b) => b.type));
  if (types.size === 0) c.fail('IO_UNSUPPORTED', 'the file holds no tetrahedra');
  if (types.size > 1) c.fail('IO_UNSUPPORTED', 'the file mixes 4- and 10-node tetrahedra');
  const nodesPerTet = types.has(GMSH_TET4) ? 4 : 10;
  const index = (tag: number) => {
    const i = nodeIndex.get(tag);
    if (i === undefined) c.fail('IO_INVALID', `an element references node tag ${tag}, which $Nodes does not define`);
    return i;
  };
  const label = (dim: number, entity: number) => entities[dim]!.get(entity)?.physical[0] ?? entity;
  const nTets = tetBlocks.reduce((n, b) => n + b.nodes.length / nodesPerTet, 0);
  // Tet blocks of zero elements are no tetrahedra either (a block count set to 0 returned an empty mesh).
  if (nTets === 0) c.fail('IO_UNSUPPORTED', 'the file holds no tetrahedra (its tetrahedron blocks are empty)');
  const tets = new Uint32Array(nTets * nodesPerTet);
  const regions = new Int32Array(nTets);
  let t = 0;
  for (const block of tetBlocks) {
    const region = label(3, block.entity);
    for (let e = 0; e < block.nodes.length / nodesPerTet; e++, t++) {
      regions[t] = region;
      for (let k = 0; k < nodesPerTet; k++) {
        tets[t * nodesPerTet + k] = index(block.nodes[e * nodesPerTet + (nodesPerTet === 10 ? GMSH_T10_ORDER[k]! : k)]!);
      }
    }
  }
  tetBlocks = [];
  const nFaces = faceBlocks.reduce((n, b) => n + b.nodes.length / b.stride, 0);
  const mesh: TetMesh = { positions: Float64Array.from(coords), tets, nodesPerTet, regions };
  if (nFaces > 0) {
    const faces = new Uint32Array(nFaces * 3);
    const labels = new Int32Array(nFaces);
    let f = 0;
    for (const block of faceBlocks) {
      const l = label(2, block.entity);
      for (let e = 0; e < block.nodes.length / block.stride; e++, f++) {
        labels[f] = l;
        for (let k = 0; k < 3; k++) faces[3 * f + k] = index(block.nodes[e * block.stride + k]!);
      }
    }
    mesh.boundaryFaces = faces;
    mesh.boundaryLabels = labels;
  }
  try {
    validateTetMesh(mesh);
  } catch (e) {
    throw new PhysiotwinError('IO_INVALID', (e as Error).message, { location: optionalFile(options.file), cause: e });
  }
  return { mesh, physicalNames };
}

/** Writes ASCII words or little-endian binary values, whichever the file's mode is. */
class Writer {
  private readonly parts: Uint8Array[] = [];
  private text: string[] = [];
  private bin: DataView | undefined;
  private binBytes: Uint8Array | undefined;
  private at = 0;
  constructor(readonly binary: boolean) {}
  /** A line of text (section markers, and every line of an ASCII file). */
  line(s: string): void {
    this.flushBinary();
    this.text.push(s + '\n');
    if (this.text.length > 4096) this.flushText();
  }
  private flushText(): void {
    if (this.text.length) this.parts.push(new TextEncoder().encode(this.text.join('')));
    this.text = [];
  }
  private flushBinary(): void {
    if (this.binBytes) this.parts.push(this.binBytes.subarray(0, this.at));
    this.binBytes = undefined;
    this.bin = undefined;
    this.at = 0;
  }
  /** Starts a binary run of at most `bytes` bytes (binary mode only). */
  reserve(bytes: number): void {
    this.flushText();
    this.flushBinary();
    this.binBytes = new Uint8Array(bytes);
    this.bin = new DataView(this.binBytes.buffer);
  }
  int(v: number): void {
    this.bin!.setInt32(this.at, v, true);
    this.at += 4;
  }
  size(v: number): void {
    this.bin!.setBigUint64(this.at, BigInt(v), true);
    this.at += 8;
  }
  double(v: number): void {
    this.bin!.setFloat64(this.at, v, true);
    this.at += 8;
  }
  /** Ends a binary run with the newline MSH puts before `$End...`. */
  endBinary(): void {
    this.flushBinary();
    this.text.push('\n');
  }
  result(): Uint8Array {
    this.flushBinary();
    this.flushText();
    return concatBytes(this.parts);
  }
}

/**
 * Writes a tet mesh as Gmsh MSH 4.1 (ASCII, or binary little-endian), readable by Gmsh and meshio: one volume
 * entity per region (physical group = region id; none when the mesh has no regions), one surface entity per
 * boundary label holding the boundary faces as 3-node triangles, nodes numbered from 1, T10 in Gmsh's order.
 * @example
 * ```ts
 * await writeFile('wall.msh', writeMsh(mesh, { binary: true, physicalNames: [{ dim: 2, tag: 1, name: 'lumen' }] }));
 * ```
 * @throws PhysiotwinError `INVALID_ARGUMENT` for a malformed mesh.
 */
export function writeMsh(mesh: TetMesh, options: WriteMshOptions = {}): Uint8Array {
  validateTetMesh(mesh);
  if (!HOST_LITTLE_ENDIAN && options.binary) throw new PhysiotwinError('IO_UNSUPPORTED', 'binary MSH is written on little-endian hosts only');
  const binary = options.binary ?? false;
  const w = new Writer(binary);
  const k = mesh.nodesPerTet;
  const nTets = mesh.tets.length / k;
  const nNodes = mesh.positions.length / 3;
  const regionOf = (t: number) => mesh.regions?.[t] ?? 0;
  const regionIds = [...new Set(Array.from({ length: nTets }, (_, t) => regionOf(t)))].sort((a, b) => a - b);
  const faces = mesh.boundaryFaces;
  const nFaces = faces ? faces.length / 3 : 0;
  const labelOf = (f: number) => mesh.boundaryLabels?.[f] ?? 0;
  const labelIds = faces ? [...new Set(Array.from({ length: nFaces }, (_, f) => labelOf(f)))].sort((a, b) => a - b) : [];
  const physical = (v: number, has: boolean) => (has ? [v] : []);

  w.line('$MeshFormat');
  w.line(`4.1 ${binary ? 1 : 0} 8`);
  if (binary) {
    w.reserve(4);
    w.int(1);
    w.endBinary();
  }
  w.line('$EndMeshFormat');
  const names = options.physicalNames ?? [];
  if (names.length) {
    w.line('$PhysicalNames');
    w.line(String(names.length));
    for (const n of names) w.line(`${n.dim} ${n.tag} "${n.name.replace(/"/g, '')}"`);
    w.line('$EndPhysicalNames');
  }

  // Bounding box of the whole mesh for every entity (Gmsh recomputes it; readers only need it present).
  const lo = [Infinity, Infinity, Infinity];
  const hi = [-Infinity, -Infinity, -Infinity];
  for (let i = 0; i < nNodes; i++) {
    for (let d = 0; d < 3; d++) {
      lo[d] = Math.min(lo[d]!, mesh.positions[3 * i + d]!);
      hi[d] = Math.max(hi[d]!, mesh.positions[3 * i + d]!);
    }
  }
  const box = [...lo, ...hi];
  const surfaces = labelIds.map((l, i) => ({ tag: i + 1, phys: physical(l, mesh.boundaryLabels !== undefined) }));
  const volumes = regionIds.map((r, i) => ({ tag: i + 1, phys: physical(r, mesh.regions !== undefined) }));
  w.line('$Entities');
  if (binary) {
    w.reserve(32 + (surfaces.length + volumes.length) * (4 + 48 + 8 + 4 + 8));
    [0, 0, surfaces.length, volumes.length].forEach((n) => w.size(n));
    for (const e of [...surfaces, ...volumes]) {
      w.int(e.tag);
      box.forEach((v) => w.double(v));
      w.size(e.phys.length);
      e.phys.forEach((p) => w.int(p));
      w.size(0);
    }
    w.endBinary();
  } else {
    w.line(`0 0 ${surfaces.length} ${volumes.length}`);
    for (const e of [...surfaces, ...volumes]) w.line(`${e.tag} ${box.join(' ')} ${e.phys.length}${e.phys.map((p) => ` ${p}`).join('')} 0`);
  }
  w.line('$EndEntities');

  w.line('$Nodes');
  if (binary) {
    w.reserve(32 + 20 + nNodes * 32);
    [1, nNodes, nNodes ? 1 : 0, nNodes].forEach((n) => w.size(n));
    w.int(3);
    w.int(1);
    w.int(0);
    w.size(nNodes);
    for (let i = 0; i < nNodes; i++) w.size(i + 1);
    for (let i = 0; i < 3 * nNodes; i++) w.double(mesh.positions[i]!);
    w.endBinary();
  } else {
    w.line(`1 ${nNodes} ${nNodes ? 1 : 0} ${nNodes}`);
    w.line(`3 1 0 ${nNodes}`);
    for (let i = 0; i < nNodes; i++) w.line(String(i + 1));
    for (let i = 0; i < nNodes; i++) w.line(`${mesh.positions[3 * i]} ${mesh.positions[3 * i + 1]} ${mesh.positions[3 * i + 2]}`);
  }
  w.line('$EndNodes');

  const blocks: Array<{ dim: number; entity: number; type: number; per: number; rows: number[]; node: (row: number, j: number) => number }> = [];
  surfaces.forEach((s, i) => {
    const rows: number[] = [];
    for (let f = 0; f < nFaces; f++) if (labelOf(f) === labelIds[i]) rows.push(f);
    blocks.push({ dim: 2, entity: s.tag, type: GMSH_TRI3, per: 3, rows, node: (f, j) => faces![3 * f + j]! });
  });
  volumes.forEach((v, i) => {
    const rows: number[] = [];
    for (let t = 0; t < nTets; t++) if (regionOf(t) === regionIds[i]) rows.push(t);
    const order = k === 10 ? GMSH_T10_ORDER : [0, 1, 2, 3];
    blocks.push({ dim: 3, entity: v.tag, type: k === 10 ? GMSH_TET10 : GMSH_TET4, per: k, rows, node: (t, j) => mesh.tets[t * k + order[j]!]! });
  });
  const nElements = nFaces + nTets;
  w.line('$Elements');
  let tag = 1;
  if (binary) {
    w.reserve(32 + blocks.reduce((n, b) => n + 20 + b.rows.length * 8 * (1 + b.per), 0));
    [blocks.length, nElements, nElements ? 1 : 0, nElements].forEach((n) => w.size(n));
    for (const b of blocks) {
      w.int(b.dim);
      w.int(b.entity);
      w.int(b.type);
      w.size(b.rows.length);
      for (const r of b.rows) {
        w.size(tag++);
        for (let j = 0; j < b.per; j++) w.size(b.node(r, j) + 1);
      }
    }
    w.endBinary();
  } else {
    w.line(`${blocks.length} ${nElements} ${nElements ? 1 : 0} ${nElements}`);
    for (const b of blocks) {
      w.line(`${b.dim} ${b.entity} ${b.type} ${b.rows.length}`);
      for (const r of b.rows) {
        let s = String(tag++);
        for (let j = 0; j < b.per; j++) s += ` ${b.node(r, j) + 1}`;
        w.line(s);
      }
    }
  }
  w.line('$EndElements');
  return w.result();
}
