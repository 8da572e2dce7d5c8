import { EntropyReader, JpegCodestream, isRestartCode, skipToMarker } from './jpeg-common.js';
import type { HuffmanTable, JpegImage } from './jpeg-common.js';

/** Output of {@link decodeJpegLossless}. */
export type LosslessImage = JpegImage;

/**
 * Decodes a lossless JPEG (ITU T.81 process 14, SOF3: DICOM .57 and .70) codestream. Handles all seven predictors,
 * point transform, restart intervals and interleaved components.
 * @throws PhysiotwinError `DICOM_INVALID` for a malformed or non-lossless stream, `DICOM_TRUNCATED` when it ends early.
 */
export function decodeJpegLossless(bytes: Uint8Array, source = '<bytes>'): LosslessImage {
  const js = new JpegCodestream(bytes, 'JPEG lossless', source);
  let p = js.start();
  const tables: (HuffmanTable | undefined)[] = [];
  let width = 0;
  let height = 0;
  let precision = 0;
  let compIds: number[] = [];
  let restart = 0;
  let out: Uint16Array | undefined;
  for (;;) {
    const segment = js.segmentAt(p);
    if (!segment) break;
    const { marker, seg, end: segEnd } = segment;
    if (marker === 0xffc3) {
      precision = bytes[seg]!;
      height = js.u16(seg + 1);
      width = js.u16(seg + 3);
      const nc = bytes[seg + 5]!;
      if (precision < 2 || precision > 16 || width === 0 || height === 0 || nc === 0 || nc > 4 || seg + 6 + nc * 3 > segEnd) {
        throw js.invalid(`bad SOF3 (precision ${precision}, ${width}x${height}, ${nc} components)`);
      }
      compIds = [];
      for (let i = 0; i < nc; i++) compIds.push(bytes[seg + 6 + i * 3]!);
      // Every sample costs at least one Huffman bit: refuse sizes the stream cannot hold before allocating.
      if (width * height * nc > js.n * 8) throw js.invalid(`${width}x${height}x${nc} samples cannot fit in ${js.n} bytes`);
      out = new Uint16Array(width * height * nc);
    } else if ((marker >= 0xffc0 && marker <= 0xffcf) && marker !== 0xffc4 && marker !== 0xffc8 && marker !== 0xffcc) {
      throw js.invalid(`frame type SOF${marker - 0xffc0} is not lossless (SOF3)`);
    } else if (marker === 0xffc4) {
      js.readDht(seg, segEnd, (_tc, th, table) => {
        tables[th] = table;
      });
    } else if (marker === 0xffdd) {
      restart = js.u16(seg);
    } else if (marker === 0xffda) {
      if (!out) throw js.invalid('SOS before SOF3');
      const ns = bytes[seg]!;
      const compIndex: number[] = [];
      const compTable: HuffmanTable[] = [];
      for (let i = 0; i < ns; i++) {
        const ci = compIds.indexOf(bytes[seg + 1 + i * 2]!);
        const table = tables[bytes[seg + 2 + i * 2]! >> 4];
        if (ci < 0 || !table) throw js.invalid('scan references an unknown component or Huffman table');
        compIndex.push(ci);
        compTable.push(table);
      }
      const predictor = bytes[seg + 1 + ns * 2]!;
      const pt = bytes[seg + 3 + ns * 2]! & 0x0f;
      if (predictor < 1 || predictor > 7) throw js.invalid(`predictor ${predictor} is not 1..7`);
      p = decodeScan(bytes, segEnd, out, width, height, compIds.length, compIndex, compTable, predictor, precision, pt, restart, js);
      continue;
    }
    p = segEnd;
  }
  if (!out) throw js.invalid('no SOF3 frame header');
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
  compTable: HuffmanTable[],
  predictor: number,
  precision: number,
  pt: number,
  restart: number,
  js: JpegCodestream,
): number {
  const n = bytes.length;
  const r = new EntropyReader(bytes, start, false, 'JPEG lossless', 'pixels', js.loc);
  const receiveExtend = (s: number): number => {
    if (s === 0) return 0;
    if (s === 16) return 32768; // T.81 H.1.2.2: SSSS 16 has no additional bits
    let v = 0;
    for (let i = 0; i < s; i++) v = (v << 1) | r.readBit();
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
        r.bits = 0;
        const p = r.p;
        if (p + 1 < n && bytes[p] === 0xff && isRestartCode(bytes[p + 1]!)) r.p = p + 2;
        else throw js.invalid('missing restart marker');
        resetPending = true;
      }
      const reset = resetPending;
      if (reset) {
        resetPending = false;
        resetRow = y;
      }
      for (let c = 0; c < ns; c++) {
        const ci = compIndex[c]!;
        const diff = receiveExtend(r.decodeHuffman(compTable[c]!));
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
  return skipToMarker(bytes, r.p);
}
