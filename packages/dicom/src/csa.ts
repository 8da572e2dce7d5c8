import { PhysiotwinError } from '@physiotwin/core';

/**
 * Parses a Siemens CSA header (the "SIEMENS CSA HEADER" private elements (0029,xx10) / (0029,xx20)), in the
 * SV10 ("CSA2") layout, into name -> string values (item lengths of the older CSA1 layout are read the same way,
 * which holds for the elements used here). Unreadable headers raise DICOM_INVALID.
 * @throws PhysiotwinError `DICOM_INVALID` for a header that is too short or whose counts run past its end.
 */
export function parseCsaHeader(bytes: Uint8Array, source = '<bytes>'): Map<string, string[]> {
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const n = bytes.length;
  const bad = (m: string) => new PhysiotwinError('DICOM_INVALID', `Siemens CSA header: ${m}`, { location: { file: source, tag: '(0029,1010)' } });
  let p = 0;
  const csa2 = n >= 4 && bytes[0] === 0x53 && bytes[1] === 0x56 && bytes[2] === 0x31 && bytes[3] === 0x30; // "SV10"
  if (csa2) p = 8;
  if (p + 8 > n) throw bad('too short');
  const nTags = dv.getUint32(p, true);
  p += 8;
  if (nTags > 1000) throw bad(`${nTags} tags`);
  const out = new Map<string, string[]>();
  for (let t = 0; t < nTags; t++) {
    if (p + 84 > n) throw bad('tag runs past the end');
    let name = '';
    for (let i = 0; i < 64 && bytes[p + i] !== 0; i++) name += String.fromCharCode(bytes[p + i]!);
    const nItems = dv.getUint32(p + 76, true);
    p += 84;
    if (nItems > 1000) throw bad(`tag ${name} has ${nItems} items`);
    const values: string[] = [];
    for (let i = 0; i < nItems; i++) {
      if (p + 16 > n) throw bad('item runs past the end');
      const len = dv.getUint32(p + (csa2 ? 4 : 0), true);
      p += 16;
      if (p + len > n) throw bad(`item of ${len} bytes runs past the end`);
      if (len > 0) {
        let s = '';
        for (let k = 0; k < len && bytes[p + k] !== 0; k++) s += String.fromCharCode(bytes[p + k]!);
        values.push(s.trim());
      }
      p += Math.ceil(len / 4) * 4;
    }
    out.set(name, values);
  }
  return out;
}
