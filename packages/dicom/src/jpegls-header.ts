import { PhysiotwinError } from '@physiotwin/core';

/**
 * Checks a JPEG-LS (ITU-T T.87) frame before it goes to the CharLS codec: the marker segments up to the first
 * SOS (SOF55 sample precision, LSE preset MAXVAL, SOS NEAR and interleave mode) and the end of the codestream.
 * CharLS decodes a scan that runs off the end of its buffer without an EOI marker for tens of seconds in some
 * states (a 152-byte frame whose scan ends in two zero bytes: 24 s) before it fails, so a frame must end with EOI
 * (FFD9), followed at most by zero padding (DICOM pads fragments to an even length, PS3.5 A.4).
 * @param frame the concatenated fragments of one frame.
 * @param bitsAllocated BitsAllocated of the data set: the sample precision P may not exceed it.
 * @param lossless true for the lossless transfer syntax 1.2.840.10008.1.2.4.80, where NEAR must be 0.
 * @param source file name for the error's location.
 * @throws PhysiotwinError `DICOM_INVALID` naming the field that is wrong.
 */
export function checkJpegLsFrame(frame: Uint8Array, bitsAllocated: number, lossless: boolean, source: string): void {
  const fail = (msg: string): never => {
    throw new PhysiotwinError('DICOM_INVALID', `JPEG-LS frame: ${msg}`, { location: { file: source, tag: '(7FE0,0010)' } });
  };
  const b = frame;
  const u16 = (i: number) => (b[i]! << 8) | b[i + 1]!;
  if (b.length < 4 || b[0] !== 0xff || b[1] !== 0xd8) fail('does not start with SOI (FFD8)');
  let end = b.length;
  while (end > 0 && b[end - 1] === 0) end--;
  if (end < 4 || b[end - 2] !== 0xff || b[end - 1] !== 0xd9) fail('does not end with EOI (FFD9)');
  let precision = 0;
  let maxval = 0;
  let p = 2;
  for (;;) {
    if (p + 4 > end) fail(`marker segments run past the end at byte ${p}`);
    if (b[p] !== 0xff) fail(`byte ${p} is 0x${b[p]!.toString(16)}, not a marker`);
    const m = b[p + 1]!;
    if (m === 0xff) {
      p++;
      continue;
    }
    if (m === 0xd9) fail('EOI before any scan');
    const len = u16(p + 2);
    const seg = p + 4;
    if (len < 2 || p + 2 + len > end) fail(`segment 0xFF${m.toString(16).toUpperCase()} at byte ${p} has length ${len}, past the end`);
    if (m === 0xf7) {
      // SOF55: Lf P Y X Nf (C H/V Tq)*Nf
      if (len < 6) fail(`SOF55 length ${len} is too short`);
      precision = b[seg]!;
      if (precision < 2 || precision > 16) fail(`SOF55 sample precision P = ${precision} is outside 2..16 (T.87 C.2.2)`);
      if (precision > bitsAllocated) fail(`SOF55 sample precision P = ${precision} exceeds BitsAllocated ${bitsAllocated}`);
    } else if (m === 0xf8) {
      // LSE: Id, and for Id 1 (preset coding parameters) MAXVAL T1 T2 T3 RESET.
      if (len >= 13 && b[seg] === 1) maxval = u16(seg + 1);
    } else if (m === 0xda) {
      // SOS: Ls Ns (Ci Tmi)*Ns NEAR ILV Al/Ah
      if (precision === 0) fail('SOS before SOF55');
      const ns = b[seg] ?? 0;
      if (len !== 6 + 2 * ns) fail(`SOS length ${len} does not fit ${ns} components`);
      const near = b[seg + 1 + 2 * ns]!;
      const ilv = b[seg + 2 + 2 * ns]!;
      const range = maxval || 2 ** precision - 1;
      if (maxval >= 2 ** precision) fail(`LSE MAXVAL ${maxval} does not fit precision P = ${precision}`);
      if (lossless && near !== 0) fail(`NEAR = ${near} in the lossless transfer syntax`);
      if (near > Math.min(255, Math.floor(range / 2))) fail(`NEAR = ${near} exceeds min(255, MAXVAL / 2) for MAXVAL ${range} (T.87 C.2.3)`);
      if (ilv > 2) fail(`interleave mode ILV = ${ilv} is not 0, 1 or 2`);
      return;
    }
    p += 2 + len;
  }
}
