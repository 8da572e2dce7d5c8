import { PhysiotwinError } from '@physiotwin/core';

/** Output of {@link decodeJpegLossless}. */
export interface LosslessImage {
  width: number;
  height: number;
  components: number;
  precision: number;
  /** Samples, component-interleaved, unsigned (0 .. 2^precision - 1). */
  data: Uint16Array;
}

interface Huffman {
  /** (length << 16 | code) lookup: maxcode per length, valptr and values as in ITU T.81 F.2.2.3. */
  maxcode: Int32Array;
  valptr: Int32Array;
  mincode: Int32Array;
  values: Uint8Array;
}

function buildHuffman(counts: Uint8Array, values: Uint8Array): Huffman {
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

/**
 * Decodes a lossless JPEG (ITU T.81 process 14, SOF3: DICOM .57 and .70) codestream. Handles all seven predictors,
 * point transform, restart intervals and interleaved components.
 * @throws PhysiotwinError `DICOM_INVALID` for a malformed or non-lossless stream, `DICOM_TRUNCATED` when it ends early.
 */
export function decodeJpegLossless(bytes: Uint8Array, source = '<bytes>'): LosslessImage {
  const loc = { location: { file: source, tag: '(7FE0,0010)' } };
  const bad = (m: string) => new PhysiotwinError('DICOM_INVALID', `JPEG lossless: ${m}`, loc);
  const n = bytes.length;
  let p = 0;
  const u16 = (at: number) => {
    if (at + 2 > n) throw new PhysiotwinError('DICOM_TRUNCATED', 'JPEG lossless stream ends inside a marker segment', loc);
    return (bytes[at]! << 8) | bytes[at + 1]!;
  };
  if (u16(0) !== 0xffd8) throw bad('no SOI marker');
  p = 2;
  const tables: (Huffman | undefined)[] = [];
  let width = 0;
  let height = 0;
  let precision = 0;
  let compIds: number[] = [];
  let restart = 0;
  let out: Uint16Array | undefined;
  for (;;) {
    // skip fill bytes
    while (p < n && bytes[p] === 0xff && bytes[p + 1] === 0xff) p++;
    const marker = u16(p);
    p += 2;
    if (marker === 0xffd9) break;
    if ((marker & 0xff00) !== 0xff00) throw bad(`expected a marker at byte ${p - 2}`);
    const len = u16(p);
    if (len < 2 || p + len > n) throw new PhysiotwinError('DICOM_TRUNCATED', `JPEG lossless segment at byte ${p} runs past the end`, loc);
    const seg = p + 2;
    const segEnd = p + len;
    if (marker === 0xffc3) {
      precision = bytes[seg]!;
      height = u16(seg + 1);
      width = u16(seg + 3);
      const nc = bytes[seg + 5]!;
      if (precision < 2 || precision > 16 || width === 0 || height === 0 || nc === 0 || nc > 4 || seg + 6 + nc * 3 > segEnd) {
        throw bad(`bad SOF3 (precision ${precision}, ${width}x${height}, ${nc} components)`);
      }
      compIds = [];
      for (let i = 0; i < nc; i++) compIds.push(bytes[seg + 6 + i * 3]!);
      // Every sample costs at least one Huffman bit: refuse sizes the stream cannot hold before allocating.
      if (width * height * nc > n * 8) throw bad(`${width}x${height}x${nc} samples cannot fit in ${n} bytes`);
      out = new Uint16Array(width * height * nc);
    } else if ((marker >= 0xffc0 && marker <= 0xffcf) && marker !== 0xffc4 && marker !== 0xffc8 && marker !== 0xffcc) {
      throw bad(`frame type SOF${marker - 0xffc0} is not lossless (SOF3)`);
    } else if (marker === 0xffc4) {
      let q = seg;
      while (q < segEnd) {
        const id = bytes[q]! & 0x0f;
        const counts = bytes.subarray(q + 1, q + 17);
        if (q + 17 > segEnd) throw bad('truncated DHT');
        let total = 0;
        for (let i = 0; i < 16; i++) total += counts[i]!;
        if (q + 17 + total > segEnd) throw bad('truncated DHT values');
        tables[id] = buildHuffman(counts, bytes.subarray(q + 17, q + 17 + total));
        q += 17 + total;
      }
    } else if (marker === 0xffdd) {
      restart = u16(seg);
    } else if (marker === 0xffda) {
      if (!out) throw bad('SOS before SOF3');
      const ns = bytes[seg]!;
      const compIndex: number[] = [];
      const compTable: Huffman[] = [];
      for (let i = 0; i < ns; i++) {
        const ci = compIds.indexOf(bytes[seg + 1 + i * 2]!);
        const table = tables[bytes[seg + 2 + i * 2]! >> 4];
        if (ci < 0 || !table) throw bad('scan references an unknown component or Huffman table');
        compIndex.push(ci);
        compTable.push(table);
      }
      const predictor = bytes[seg + 1 + ns * 2]!;
      const pt = bytes[seg + 3 + ns * 2]! & 0x0f;
      if (predictor < 1 || predictor > 7) throw bad(`predictor ${predictor} is not 1..7`);
      p = decodeScan(bytes, segEnd, out, width, height, compIds.length, compIndex, compTable, predictor, precision, pt, restart, source);
      continue;
    }
    p = segEnd;
  }
  if (!out) throw bad('no SOF3 frame header');
  return { width, height, components: compIds.length, precision, data: out };
}

function decodeScan(
  bytes: Uint8Array,
  start: number,
  out: Uint16Array,
  width: number,
  height: number,
  nc: number,
  compIndex: number[],
  compTable: Huffman[],
  predictor: number,
  precision: number,
  pt: number,
  restart: number,
  source: string,
): number {
  const n = bytes.length;
  let p = start;
  let bitBuf = 0;
  let bitCount = 0;
  let hitMarker = false;
  const loc = { location: { file: source, tag: '(7FE0,0010)' } };
  const readBit = (): number => {
    if (bitCount === 0) {
      if (hitMarker || p >= n) {
        throw new PhysiotwinError('DICOM_TRUNCATED', 'JPEG lossless scan ends before all pixels are decoded', loc);
      }
      const b = bytes[p]!;
      if (b === 0xff) {
        const next = bytes[p + 1];
        if (next === 0x00) p += 2;
        else {
          hitMarker = true;
          throw new PhysiotwinError('DICOM_TRUNCATED', 'JPEG lossless scan hits a marker before all pixels are decoded', loc);
        }
      } else p += 1;
      bitBuf = b;
      bitCount = 8;
    }
    bitCount--;
    return (bitBuf >> bitCount) & 1;
  };
  const decodeHuff = (h: Huffman): number => {
    let code = readBit();
    let len = 1;
    while (code > h.maxcode[len]!) {
      code = (code << 1) | readBit();
      len++;
      if (len > 16) throw new PhysiotwinError('DICOM_INVALID', 'JPEG lossless: bad Huffman code', loc);
    }
    const idx = h.valptr[len]! + code - h.mincode[len]!;
    if (idx >= h.values.length) throw new PhysiotwinError('DICOM_INVALID', 'JPEG lossless: Huffman code out of table', loc);
    return h.values[idx]!;
  };
  const receiveExtend = (s: number): number => {
    if (s === 0) return 0;
    if (s === 16) return 32768;
    let v = 0;
    for (let i = 0; i < s; i++) v = (v << 1) | readBit();
    return v < 1 << (s - 1) ? v - (1 << s) + 1 : v;
  };
  const ns = compIndex.length;
  const mask = (1 << (precision - pt)) - 1; // modulo 2^16 arithmetic per T.81 H.1.2.1, limited to the sample range
  const initial = 1 << (precision - pt - 1);
  let mcuCount = 0;
  // T.81 H.1.1: the first sample of the scan, and of each restart interval, is predicted by 2^(P-Pt-1);
  // the rest of that line by Ra; the first sample of other lines by Rb; everything else by the chosen predictor.
  let resetPending = true;
  let resetRow = 0;
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      if (restart > 0 && mcuCount > 0 && mcuCount % restart === 0) {
        bitCount = 0;
        if (p + 1 < n && bytes[p] === 0xff && bytes[p + 1]! >= 0xd0 && bytes[p + 1]! <= 0xd7) p += 2;
        else throw new PhysiotwinError('DICOM_INVALID', 'JPEG lossless: missing restart marker', loc);
        resetPending = true;
      }
      const reset = resetPending;
      if (reset) {
        resetPending = false;
        resetRow = y;
      }
      for (let c = 0; c < ns; c++) {
        const ci = compIndex[c]!;
        const diff = receiveExtend(decodeHuff(compTable[c]!));
        const i = (y * width + x) * nc + ci;
        let pred: number;
        if (reset) pred = initial;
        else if (y === resetRow) pred = out[i - nc]!;
        else if (x === 0) pred = out[i - width * nc]!;
        else {
          const ra = out[i - nc]!;
          const rb = out[i - width * nc]!;
          const rc = out[i - width * nc - nc]!;
          switch (predictor) {
            case 1: pred = ra; break;
            case 2: pred = rb; break;
            case 3: pred = rc; break;
            case 4: pred = ra + rb - rc; break;
            case 5: pred = ra + ((rb - rc) >> 1); break;
            case 6: pred = rb + ((ra - rc) >> 1); break;
            default: pred = (ra + rb) >> 1;
          }
        }
        out[i] = (pred + diff) & mask;
      }
      mcuCount++;
    }
  }
  if (pt > 0) for (let i = 0; i < out.length; i++) out[i] = out[i]! << pt;
  // find the next marker after the scan
  while (p + 1 < n && !(bytes[p] === 0xff && bytes[p + 1] !== 0x00 && !(bytes[p + 1]! >= 0xd0 && bytes[p + 1]! <= 0xd7))) p++;
  return p;
}
