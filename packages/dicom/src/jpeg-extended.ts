import { PhysiotwinError } from '@physiotwin/core';
import { EntropyReader, JpegCodestream, isRestartCode, skipToMarker } from './jpeg-common.js';
import type { HuffmanTable, JpegImage } from './jpeg-common.js';

/**
 * Decoder for sequential Huffman DCT JPEG (ITU T.81 SOF0/SOF1) with 8- or 12-bit samples: DICOM JPEG Extended
 * (1.2.840.10008.1.2.4.51), whose 12-bit form no optional WASM codec decodes. The inverse DCT and the output range
 * limiting reproduce the IJG library's `jpeg_idct_islow` (jidctint.c) and `prepare_range_limit_table` (jdmaster.c)
 * integer arithmetic exactly, so results match IJG-based decoders (GDCM, DCMTK) bit for bit.
 * Components must all have the same sampling factors (no chroma upsampling).
 */

const ZIGZAG = new Uint8Array([
  0, 1, 8, 16, 9, 2, 3, 10, 17, 24, 32, 25, 18, 11, 4, 5, 12, 19, 26, 33, 40, 48, 41, 34, 27, 20, 13, 6, 7, 14, 21, 28, 35, 42, 49,
  56, 57, 50, 43, 36, 29, 22, 15, 23, 30, 37, 44, 51, 58, 59, 52, 45, 38, 31, 39, 46, 53, 60, 61, 54, 47, 55, 62, 63,
]);

/** Output of {@link decodeJpegExtended}. */
export type DctImage = JpegImage;

// jidctint.c constants (CONST_BITS = 13)
const CONST_BITS = 13;
const F_0_298 = 2446, F_0_390 = 3196, F_0_541 = 4433, F_0_765 = 6270, F_0_899 = 7373, F_1_175 = 9633;
const F_1_501 = 12299, F_1_847 = 15137, F_1_961 = 16069, F_2_053 = 16819, F_2_562 = 20995, F_3_072 = 25172;

/** IJG's post-IDCT range limit table (jdmaster.c), indexed by (value & RANGE_MASK). */
function rangeLimitTable(precision: number): Uint16Array {
  const max = (1 << precision) - 1;
  const center = 1 << (precision - 1);
  const t = new Uint16Array(4 * (max + 1));
  for (let i = 0; i < t.length; i++) {
    if (i < center) t[i] = i + center;
    else if (i < 2 * (max + 1)) t[i] = max;
    else if (i < 4 * (max + 1) - center) t[i] = 0;
    else t[i] = i - (4 * (max + 1) - center);
  }
  return t;
}

const descale = (x: number, n: number) => (x + (1 << (n - 1))) >> n;

/** jpeg_idct_islow on one dequantized... coefficient block (natural order), written to `out` with `stride`. */
function idctIslow(coef: Int32Array, q: Int32Array, ws: Int32Array, out: Uint16Array, at: number, stride: number, limit: Uint16Array, pass1: number): void {
  const mask = limit.length - 1;
  for (let c = 0; c < 8; c++) {
    if (coef[8 + c] === 0 && coef[16 + c] === 0 && coef[24 + c] === 0 && coef[32 + c] === 0 && coef[40 + c] === 0 && coef[48 + c] === 0 && coef[56 + c] === 0) {
      const dc = Math.imul(coef[c]!, q[c]!) << pass1;
      for (let r = 0; r < 8; r++) ws[r * 8 + c] = dc;
      continue;
    }
    let z2 = Math.imul(coef[16 + c]!, q[16 + c]!);
    let z3 = Math.imul(coef[48 + c]!, q[48 + c]!);
    let z1 = Math.imul(z2 + z3, F_0_541);
    let tmp2 = z1 + Math.imul(z3, -F_1_847);
    let tmp3 = z1 + Math.imul(z2, F_0_765);
    z2 = Math.imul(coef[c]!, q[c]!);
    z3 = Math.imul(coef[32 + c]!, q[32 + c]!);
    let tmp0 = (z2 + z3) << CONST_BITS;
    let tmp1 = (z2 - z3) << CONST_BITS;
    const tmp10 = tmp0 + tmp3, tmp13 = tmp0 - tmp3, tmp11 = tmp1 + tmp2, tmp12 = tmp1 - tmp2;
    tmp0 = Math.imul(coef[56 + c]!, q[56 + c]!);
    tmp1 = Math.imul(coef[40 + c]!, q[40 + c]!);
    tmp2 = Math.imul(coef[24 + c]!, q[24 + c]!);
    tmp3 = Math.imul(coef[8 + c]!, q[8 + c]!);
    z1 = tmp0 + tmp3; z2 = tmp1 + tmp2; z3 = tmp0 + tmp2;
    let z4 = tmp1 + tmp3;
    const z5 = Math.imul(z3 + z4, F_1_175);
    tmp0 = Math.imul(tmp0, F_0_298); tmp1 = Math.imul(tmp1, F_2_053); tmp2 = Math.imul(tmp2, F_3_072); tmp3 = Math.imul(tmp3, F_1_501);
    z1 = Math.imul(z1, -F_0_899); z2 = Math.imul(z2, -F_2_562); z3 = Math.imul(z3, -F_1_961); z4 = Math.imul(z4, -F_0_390);
    z3 += z5; z4 += z5;
    tmp0 += z1 + z3; tmp1 += z2 + z4; tmp2 += z2 + z3; tmp3 += z1 + z4;
    const s = CONST_BITS - pass1;
    ws[c] = descale(tmp10 + tmp3, s); ws[56 + c] = descale(tmp10 - tmp3, s);
    ws[8 + c] = descale(tmp11 + tmp2, s); ws[48 + c] = descale(tmp11 - tmp2, s);
    ws[16 + c] = descale(tmp12 + tmp1, s); ws[40 + c] = descale(tmp12 - tmp1, s);
    ws[24 + c] = descale(tmp13 + tmp0, s); ws[32 + c] = descale(tmp13 - tmp0, s);
  }
  const s2 = CONST_BITS + pass1 + 3;
  for (let r = 0; r < 8; r++) {
    const w = r * 8;
    const o = at + r * stride;
    if (ws[w + 1] === 0 && ws[w + 2] === 0 && ws[w + 3] === 0 && ws[w + 4] === 0 && ws[w + 5] === 0 && ws[w + 6] === 0 && ws[w + 7] === 0) {
      const v = limit[descale(ws[w]!, pass1 + 3) & mask]!;
      for (let k = 0; k < 8; k++) out[o + k] = v;
      continue;
    }
    let z2 = ws[w + 2]!;
    let z3 = ws[w + 6]!;
    let z1 = Math.imul(z2 + z3, F_0_541);
    let tmp2 = z1 + Math.imul(z3, -F_1_847);
    let tmp3 = z1 + Math.imul(z2, F_0_765);
    let tmp0 = (ws[w]! + ws[w + 4]!) << CONST_BITS;
    let tmp1 = (ws[w]! - ws[w + 4]!) << CONST_BITS;
    const tmp10 = tmp0 + tmp3, tmp13 = tmp0 - tmp3, tmp11 = tmp1 + tmp2, tmp12 = tmp1 - tmp2;
    tmp0 = ws[w + 7]!; tmp1 = ws[w + 5]!; tmp2 = ws[w + 3]!; tmp3 = ws[w + 1]!;
    z1 = tmp0 + tmp3; z2 = tmp1 + tmp2; z3 = tmp0 + tmp2;
    let z4 = tmp1 + tmp3;
    const z5 = Math.imul(z3 + z4, F_1_175);
    tmp0 = Math.imul(tmp0, F_0_298); tmp1 = Math.imul(tmp1, F_2_053); tmp2 = Math.imul(tmp2, F_3_072); tmp3 = Math.imul(tmp3, F_1_501);
    z1 = Math.imul(z1, -F_0_899); z2 = Math.imul(z2, -F_2_562); z3 = Math.imul(z3, -F_1_961); z4 = Math.imul(z4, -F_0_390);
    z3 += z5; z4 += z5;
    tmp0 += z1 + z3; tmp1 += z2 + z4; tmp2 += z2 + z3; tmp3 += z1 + z4;
    out[o] = limit[descale(tmp10 + tmp3, s2) & mask]!;
    out[o + 7] = limit[descale(tmp10 - tmp3, s2) & mask]!;
    out[o + 1] = limit[descale(tmp11 + tmp2, s2) & mask]!;
    out[o + 6] = limit[descale(tmp11 - tmp2, s2) & mask]!;
    out[o + 2] = limit[descale(tmp12 + tmp1, s2) & mask]!;
    out[o + 5] = limit[descale(tmp12 - tmp1, s2) & mask]!;
    out[o + 3] = limit[descale(tmp13 + tmp0, s2) & mask]!;
    out[o + 4] = limit[descale(tmp13 - tmp0, s2) & mask]!;
  }
}

interface Comp {
  id: number;
  h: number;
  v: number;
  tq: number;
  dc?: HuffmanTable | undefined;
  ac?: HuffmanTable | undefined;
  pred: number;
  /** Decoded samples of this component, padded to whole blocks. */
  plane: Uint16Array;
  bw: number;
  bh: number;
}

/**
 * Decodes a sequential (SOF0 / SOF1) Huffman JPEG with 8- or 12-bit precision.
 * @throws PhysiotwinError `DICOM_INVALID` for a malformed stream, `DICOM_UNSUPPORTED_TRANSFER_SYNTAX` for
 * progressive/arithmetic coding or chroma subsampling, `DICOM_TRUNCATED` when the data ends early.
 */
export function decodeJpegExtended(bytes: Uint8Array, source = '<bytes>'): DctImage {
  const js = new JpegCodestream(bytes, 'JPEG', source);
  const loc = js.loc;
  let p = js.start();
  const qt: Int32Array[] = [];
  const dcT: HuffmanTable[] = [];
  const acT: HuffmanTable[] = [];
  let comps: Comp[] = [];
  let width = 0;
  let height = 0;
  let precision = 0;
  let restart = 0;
  let hmax = 1;
  let vmax = 1;
  for (;;) {
    const segment = js.segmentAt(p);
    if (!segment) break;
    const { marker, seg, end } = segment;
    if (marker === 0xffc0 || marker === 0xffc1) {
      precision = bytes[seg]!;
      height = js.u16(seg + 1);
      width = js.u16(seg + 3);
      const nc = bytes[seg + 5]!;
      if ((precision !== 8 && precision !== 12) || !width || !height || !nc || nc > 4 || seg + 6 + 3 * nc > end) throw js.invalid('bad frame header');
      if (width * height * nc > js.n * 64 * 8) throw js.invalid(`${width}x${height}x${nc} samples cannot come from ${js.n} bytes`);
      comps = [];
      for (let i = 0; i < nc; i++) {
        const hv = bytes[seg + 7 + 3 * i]!;
        comps.push({ id: bytes[seg + 6 + 3 * i]!, h: hv >> 4, v: hv & 15, tq: bytes[seg + 8 + 3 * i]! & 3, pred: 0, plane: new Uint16Array(0), bw: 0, bh: 0 });
      }
      hmax = Math.max(...comps.map((c) => c.h));
      vmax = Math.max(...comps.map((c) => c.v));
      if (comps.some((c) => c.h !== hmax || c.v !== vmax || c.h < 1 || c.v < 1)) {
        throw new PhysiotwinError('DICOM_UNSUPPORTED_TRANSFER_SYNTAX', 'JPEG with chroma subsampling is not supported by the 12-bit decoder', loc);
      }
      for (const c of comps) {
        c.bw = Math.ceil(width / (8 * hmax)) * hmax;
        c.bh = Math.ceil(height / (8 * vmax)) * vmax;
        c.plane = new Uint16Array(c.bw * 8 * c.bh * 8);
      }
    } else if (marker >= 0xffc2 && marker <= 0xffcf && marker !== 0xffc4 && marker !== 0xffc8 && marker !== 0xffcc) {
      throw new PhysiotwinError('DICOM_UNSUPPORTED_TRANSFER_SYNTAX', `JPEG frame type SOF${marker - 0xffc0} (progressive, lossless or arithmetic) is not supported here`, loc);
    } else if (marker === 0xffdb) {
      let q = seg;
      while (q < end) {
        const pq = bytes[q]! >> 4;
        const id = bytes[q]! & 3;
        const t = new Int32Array(64);
        for (let i = 0; i < 64; i++) t[ZIGZAG[i]!] = pq ? js.u16(q + 1 + 2 * i) : bytes[q + 1 + i]!;
        qt[id] = t;
        q += 1 + (pq ? 128 : 64);
      }
    } else if (marker === 0xffc4) {
      js.readDht(seg, end, (tc, th, table) => {
        (tc ? acT : dcT)[th & 3] = table;
      });
    } else if (marker === 0xffdd) {
      restart = js.u16(seg);
    } else if (marker === 0xffda) {
      if (!comps.length) throw js.invalid('SOS before SOF');
      const ns = bytes[seg]!;
      const scan: Comp[] = [];
      for (let i = 0; i < ns; i++) {
        const c = comps.find((x) => x.id === bytes[seg + 1 + 2 * i]);
        const t = bytes[seg + 2 + 2 * i]!;
        if (!c) throw js.invalid('scan names an unknown component');
        c.dc = dcT[t >> 4];
        c.ac = acT[t & 15];
        if (!c.dc || !c.ac || !qt[c.tq]) throw js.invalid('scan uses a missing Huffman or quantization table');
        scan.push(c);
      }
      p = decodeScan(bytes, end, scan, qt, hmax, vmax, width, height, restart, precision, js);
      continue;
    }
    p = end;
  }
  if (!comps.length) throw js.invalid('no frame header');
  const nc = comps.length;
  const data = new Uint16Array(width * height * nc);
  for (let ci = 0; ci < nc; ci++) {
    const c = comps[ci]!;
    const pw = c.bw * 8;
    for (let y = 0; y < height; y++) for (let x = 0; x < width; x++) data[(y * width + x) * nc + ci] = c.plane[y * pw + x]!;
  }
  return { width, height, components: nc, precision, data };
}

function decodeScan(
  bytes: Uint8Array, start: number, scan: Comp[], qt: Int32Array[], hmax: number, vmax: number,
  width: number, height: number, restart: number, precision: number, js: JpegCodestream,
): number {
  const loc = js.loc;
  const n = bytes.length;
  const r = new EntropyReader(bytes, start, true, 'JPEG', 'blocks', loc);
  const receive = (s: number): number => {
    let v = 0;
    for (let i = 0; i < s; i++) v = (v << 1) | r.readBit();
    return v < 1 << (s - 1) ? v - (1 << s) + 1 : v;
  };
  const coef = new Int32Array(64);
  const ws = new Int32Array(64);
  const limit = rangeLimitTable(precision);
  const pass1 = precision === 8 ? 2 : 1;
  const block = (c: Comp, bx: number, by: number) => {
    coef.fill(0);
    const t = r.decodeHuffman(c.dc!);
    if (t > 16) throw new PhysiotwinError('DICOM_INVALID', 'JPEG: DC magnitude category above 16', loc);
    c.pred += t ? receive(t) : 0;
    coef[0] = c.pred;
    for (let k = 1; k < 64; ) {
      const rs = r.decodeHuffman(c.ac!);
      const run = rs >> 4;
      const s = rs & 15;
      if (s === 0) {
        if (run !== 15) break;
        k += 16;
        continue;
      }
      k += run;
      if (k > 63) throw new PhysiotwinError('DICOM_INVALID', 'JPEG: AC coefficient index past 63', loc);
      coef[ZIGZAG[k]!] = receive(s);
      k++;
    }
    const pw = c.bw * 8;
    if (bx < c.bw && by < c.bh) idctIslow(coef, qt[c.tq]!, ws, c.plane, by * 8 * pw + bx * 8, pw, limit, pass1);
  };
  const single = scan.length === 1;
  // Non-interleaved scans walk the component's own blocks (ceil(w/8) x ceil(h/8)); interleaved ones walk MCUs.
  const mcusX = single ? Math.ceil((width * scan[0]!.h) / hmax / 8) : Math.ceil(width / (8 * hmax));
  const mcusY = single ? Math.ceil((height * scan[0]!.v) / vmax / 8) : Math.ceil(height / (8 * vmax));
  let mcu = 0;
  for (const c of scan) c.pred = 0;
  for (let my = 0; my < mcusY; my++) {
    for (let mx = 0; mx < mcusX; mx++) {
      if (restart && mcu > 0 && mcu % restart === 0) {
        r.bits = 0;
        let p = r.p;
        while (p + 1 < n && !(bytes[p] === 0xff && isRestartCode(bytes[p + 1]!))) p++;
        if (p + 1 >= n) throw new PhysiotwinError('DICOM_TRUNCATED', 'JPEG: missing restart marker', loc);
        r.p = p + 2;
        for (const c of scan) c.pred = 0;
      }
      if (single) block(scan[0]!, mx, my);
      else for (const c of scan) for (let v = 0; v < c.v; v++) for (let h = 0; h < c.h; h++) block(c, mx * c.h + h, my * c.v + v);
      mcu++;
    }
  }
  return skipToMarker(bytes, r.p);
}
