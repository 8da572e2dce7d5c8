import { PhysiotwinError } from '@physiotwin/core';

/**
 * Parts of ITU T.81 shared by the DCT (jpeg-extended.ts) and lossless (jpeg-lossless.ts) decoders: marker segment
 * walking, DHT parsing into Huffman decode tables, and the entropy-coded-segment bit reader with Huffman decoding.
 * Each decoder keeps its own frame/scan header semantics, restart handling and sample reconstruction.
 */

/** A decoded JPEG frame. */
export interface JpegImage {
  width: number;
  height: number;
  components: number;
  /** Sample precision P of the frame header, bits. */
  precision: number;
  /** Samples, component-interleaved, unsigned (0 .. 2^precision - 1). */
  data: Uint16Array;
}

/** Huffman decode table in the form of ITU T.81 F.2.2.3 (maxcode / valptr / mincode per code length). */
export interface HuffmanTable {
  /** Largest code of each length 1..16 (-1 when none); index 17 is a sentinel above every code. */
  maxcode: Int32Array;
  valptr: Int32Array;
  mincode: Int32Array;
  values: Uint8Array;
}

/** Builds the T.81 F.2.2.3 decode table from a DHT's 16 code-length counts and its symbol values. */
export function buildHuffmanTable(counts: Uint8Array, values: Uint8Array): HuffmanTable {
  const maxcode = new Int32Array(18).fill(-1);
  const valptr = new Int32Array(17);
  const mincode = new Int32Array(17);
  let code = 0;
  let k = 0;
  for (let len = 1; len <= 16; len++) {
    const n = counts[len - 1]!;
    valptr[len] = k;
    mincode[len] = code;
    code += n;
    k += n;
    maxcode[len] = n > 0 ? code - 1 : -1;
    code <<= 1;
  }
  maxcode[17] = 0x7fffffff;
  return { maxcode, valptr, mincode, values };
}

/** One marker segment: `seg` is the first byte after the length field, `end` the first byte after the segment. */
export interface JpegSegment {
  marker: number;
  seg: number;
  end: number;
}

/** Bounds-checked reading of a JPEG codestream's marker segments; errors are located at the DICOM pixel data. */
export class JpegCodestream {
  readonly n: number;
  readonly loc: { location: { file: string; tag: string } };

  /**
   * @param bytes the codestream, starting at SOI.
   * @param label message prefix naming the decoder ('JPEG', 'JPEG lossless').
   * @param source file name used in error locations.
   */
  constructor(readonly bytes: Uint8Array, readonly label: string, source: string) {
    this.n = bytes.length;
    this.loc = { location: { file: source, tag: '(7FE0,0010)' } };
  }

  /** A `DICOM_INVALID` error with the decoder's prefix. */
  invalid(message: string): PhysiotwinError {
    return new PhysiotwinError('DICOM_INVALID', `${this.label}: ${message}`, this.loc);
  }

  /**
   * Big-endian 16-bit value at byte `at`.
   * @throws PhysiotwinError `DICOM_TRUNCATED` when the stream ends before `at + 2`.
   */
  u16(at: number): number {
    const bytes = this.bytes;
    if (at + 2 > this.n) throw new PhysiotwinError('DICOM_TRUNCATED', `${this.label} stream ends inside a marker segment`, this.loc);
    return (bytes[at]! << 8) | bytes[at + 1]!;
  }

  /**
   * Checks the SOI marker and returns the offset of the first segment.
   * @throws PhysiotwinError `DICOM_INVALID` without SOI.
   */
  start(): number {
    if (this.u16(0) !== 0xffd8) throw this.invalid('no SOI marker');
    return 2;
  }

  /**
   * Reads the marker segment at `p` (after skipping 0xFF fill bytes); `undefined` at EOI.
   * @throws PhysiotwinError `DICOM_INVALID` when no marker is at `p`, `DICOM_TRUNCATED` when the segment runs past the end.
   */
  segmentAt(p: number): JpegSegment | undefined {
    const bytes = this.bytes;
    const n = this.n;
    while (p < n && bytes[p] === 0xff && bytes[p + 1] === 0xff) p++;
    const marker = this.u16(p);
    p += 2;
    if (marker === 0xffd9) return undefined;
    if ((marker & 0xff00) !== 0xff00) throw this.invalid(`expected a marker at byte ${p - 2}`);
    const len = this.u16(p);
    if (len < 2 || p + len > n) throw new PhysiotwinError('DICOM_TRUNCATED', `${this.label} segment at byte ${p} runs past the end`, this.loc);
    return { marker, seg: p + 2, end: p + len };
  }

  /**
   * Parses a DHT segment body [seg, end), calling `onTable` with each table's class (Tc: 0 DC/lossless, 1 AC),
   * its 4-bit destination (Th) and the built decode table.
   * @throws PhysiotwinError `DICOM_INVALID` for a table that runs past the segment.
   */
  readDht(seg: number, end: number, onTable: (tc: number, th: number, table: HuffmanTable) => void): void {
    const bytes = this.bytes;
    let q = seg;
    while (q < end) {
      if (q + 17 > end) throw this.invalid('truncated DHT');
      const counts = bytes.subarray(q + 1, q + 17);
      let total = 0;
      for (let i = 0; i < 16; i++) total += counts[i]!;
      if (q + 17 + total > end) throw this.invalid('truncated DHT values');
      onTable(bytes[q]! >> 4, bytes[q]! & 0x0f, buildHuffmanTable(counts, bytes.subarray(q + 17, q + 17 + total)));
      q += 17 + total;
    }
  }
}

/** True for the restart markers RST0..RST7 given the byte after 0xFF. */
export function isRestartCode(b: number): boolean {
  return b >= 0xd0 && b <= 0xd7;
}

/** Offset of the next marker other than a stuffed byte (0xFF00) or RSTn at or after `p`: where a scan ends. */
export function skipToMarker(bytes: Uint8Array, p: number): number {
  const n = bytes.length;
  while (p + 1 < n && !(bytes[p] === 0xff && bytes[p + 1] !== 0x00 && !isRestartCode(bytes[p + 1]!))) p++;
  return p;
}

/**
 * MSB-first bit reader over an entropy-coded segment (T.81 F.2.2.5), removing 0xFF00 byte stuffing, with Huffman
 * decoding (F.2.2.3). Decoders reset `bits` to 0 and move `p` past RSTn themselves at restart boundaries.
 */
export class EntropyReader {
  /** Next byte to load. */
  p: number;
  /** Bits left in `buf`. */
  bits = 0;
  private buf = 0;
  private readonly n: number;

  /**
   * @param bytes the codestream.
   * @param start offset of the first entropy-coded byte.
   * @param zeroFillAtMarker when a marker is reached: true feeds zero bits (as IJG does, so the last codes of a
   * DCT scan can complete), false throws `DICOM_TRUNCATED`.
   * @param label message prefix naming the decoder.
   * @param unit what the scan was decoding, for the truncation message ('blocks', 'pixels').
   * @param loc error location.
   */
  constructor(
    private readonly bytes: Uint8Array,
    start: number,
    private readonly zeroFillAtMarker: boolean,
    private readonly label: string,
    private readonly unit: string,
    private readonly loc: { location: { file: string; tag: string } },
  ) {
    this.p = start;
    this.n = bytes.length;
  }

  /**
   * Next bit of the entropy-coded data.
   * @throws PhysiotwinError `DICOM_TRUNCATED` at the end of the data, or at a marker unless `zeroFillAtMarker`.
   */
  readBit(): number {
    if (this.bits === 0) {
      const p = this.p;
      if (p >= this.n) throw new PhysiotwinError('DICOM_TRUNCATED', `${this.label} scan ends before all ${this.unit} are decoded`, this.loc);
      const b = this.bytes[p]!;
      if (b !== 0xff) {
        this.p = p + 1;
        this.buf = b;
      } else if (this.bytes[p + 1] === 0x00) {
        this.p = p + 2;
        this.buf = b;
      } else if (this.zeroFillAtMarker) {
        this.buf = 0;
      } else {
        throw new PhysiotwinError('DICOM_TRUNCATED', `${this.label} scan hits a marker before all ${this.unit} are decoded`, this.loc);
      }
      this.bits = 8;
    }
    return (this.buf >> --this.bits) & 1;
  }

  /**
   * Decodes one Huffman symbol with table `h`.
   * @throws PhysiotwinError `DICOM_INVALID` for a code longer than 16 bits or outside the table.
   */
  decodeHuffman(h: HuffmanTable): number {
    const maxcode = h.maxcode;
    let code = this.readBit();
    let len = 1;
    while (code > maxcode[len]!) {
      code = (code << 1) | this.readBit();
      if (++len > 16) throw new PhysiotwinError('DICOM_INVALID', `${this.label}: bad Huffman code`, this.loc);
    }
    const i = h.valptr[len]! + code - h.mincode[len]!;
    if (i >= h.values.length) throw new PhysiotwinError('DICOM_INVALID', `${this.label}: Huffman code outside its table`, this.loc);
    return h.values[i]!;
  }
}
