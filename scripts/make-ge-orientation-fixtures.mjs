// Synthetic GE (and one Canon, Siemens, Philips) classic diffusion series (8x8 pixels, 2 slices x 4 or 5 volumes) in several orientations, with the
// gradient in GE's private frequency/phase/slice elements, and dcm2niix's conversion of each, to check the
// GE gradient transform where the real QA data (axial only) cannot: an axial stack whose row x column normal points
// to the feet, coronal, sagittal, and row phase encoding.
//   npm run build && node scripts/make-ge-orientation-fixtures.mjs   (needs Debian's dcm2niix)
import { execFileSync } from 'node:child_process';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { writeDicom } from '../packages/dicom/dist/index.js';

const OUT = 'fixtures/dicom/dwi/ge_orient';
const CASES = {
  axial_feet: { iop: [1, 0, 0, 0, -1, 0], pe: 'COL' },
  coronal: { iop: [1, 0, 0, 0, 0, -1], pe: 'COL' },
  sagittal: { iop: [0, 1, 0, 0, 0, -1], pe: 'COL' },
  axial_row: { iop: [1, 0, 0, 0, 1, 0], pe: 'ROW' },
  // classic Canon images: the standard (0018,9087)/(0018,9089), the direction in the image frame as GE's
  canon_coronal: { iop: [1, 0, 0, 0, 0, -1], pe: 'COL', canon: true },
  // classic Siemens images: (0019,100C) b-value and (0019,100E) direction (patient frame), sagittal
  siemens_sagittal: { iop: [0, 1, 0, 0, 0, -1], pe: 'COL', siemens: true },
  // classic Philips images: (2001,1003) b-value, (2005,10B0-B2) direction; the 5th volume is the derived
  // isotropic image (b 1000 without a direction) that dcm2niix leaves out of the diffusion stack
  philips_iso: { iop: [1, 0, 0, 0, 1, 0], pe: 'COL', philips: true },
};
const GRAD = [[0, 0, 0], [0.6, 0.8, 0], [0, 0.6, -0.8], [-0.48, 0.6, 0.64], [0, 0, 0]];
const B = [0, 1000, 1000, 1000, 1000];
rmSync(OUT, { recursive: true, force: true });
for (const [name, c] of Object.entries(CASES)) {
  const dir = join(OUT, name, 'In');
  mkdirSync(dir, { recursive: true });
  const o = c.iop;
  const n = [o[1] * o[5] - o[2] * o[4], o[2] * o[3] - o[0] * o[5], o[0] * o[4] - o[1] * o[3]];
  const uid = `1.2.826.0.1.3680043.10.1099.90.${Object.keys(CASES).indexOf(name) + 1}`;
  let inst = 0;
  for (let v = 0; v < (c.philips ? 5 : 4); v++) {
    for (let k = 0; k < 2; k++) {
      inst++;
      const px = new Int16Array(64);
      for (let i = 0; i < 64; i++) px[i] = 100 * v + 10 * k + (i % 8);
      const bytes = writeDicom([
        { tag: 0x00080016, vr: 'UI', value: '1.2.840.10008.5.1.4.1.1.4' },
        { tag: 0x00080018, vr: 'UI', value: `${uid}.${inst}` },
        { tag: 0x00080060, vr: 'CS', value: 'MR' },
        { tag: 0x00080070, vr: 'LO', value: c.canon ? 'CANON_MEC' : c.siemens ? 'SIEMENS' : c.philips ? 'Philips Medical Systems' : 'GE MEDICAL SYSTEMS' },
        { tag: 0x0008103e, vr: 'LO', value: `dwi ${name}` },
        { tag: 0x00180020, vr: 'CS', value: ['EP', 'SE'] },
        { tag: 0x00180050, vr: 'DS', value: 4 },
        { tag: 0x00180080, vr: 'DS', value: 5000 },
        { tag: 0x00180081, vr: 'DS', value: 80 },
        { tag: 0x00181312, vr: 'CS', value: c.pe },
        { tag: 0x00185100, vr: 'CS', value: 'HFS' },
        ...(c.canon
          ? [{ tag: 0x00189087, vr: 'FD', value: B[v] }, { tag: 0x00189089, vr: 'FD', value: GRAD[v] }]
          : c.philips
          ? [
              { tag: 0x20010010, vr: 'LO', value: 'Philips Imaging DD 001' },
              { tag: 0x20011003, vr: 'FL', value: B[v] },
              { tag: 0x20050010, vr: 'LO', value: 'Philips MR Imaging DD 001' },
              { tag: 0x200510b0, vr: 'FL', value: GRAD[v][0] },
              { tag: 0x200510b1, vr: 'FL', value: GRAD[v][1] },
              { tag: 0x200510b2, vr: 'FL', value: GRAD[v][2] },
            ]
          : c.siemens
          ? [{ tag: 0x00190010, vr: 'LO', value: 'SIEMENS MR HEADER' }, { tag: 0x0019100c, vr: 'IS', value: B[v] }, { tag: 0x0019100e, vr: 'FD', value: GRAD[v] }]
          : [
              { tag: 0x00190010, vr: 'LO', value: 'GEMS_ACQU_01' },
              { tag: 0x001910bb, vr: 'DS', value: GRAD[v][0] },
              { tag: 0x001910bc, vr: 'DS', value: GRAD[v][1] },
              { tag: 0x001910bd, vr: 'DS', value: GRAD[v][2] },
            ]),
        { tag: 0x0020000e, vr: 'UI', value: uid },
        { tag: 0x00200011, vr: 'IS', value: 3 },
        { tag: 0x00200013, vr: 'IS', value: inst },
        { tag: 0x00200032, vr: 'DS', value: [n[0] * 4 * k - 16, n[1] * 4 * k - 16, n[2] * 4 * k + 10] },
        { tag: 0x00200037, vr: 'DS', value: o },
        { tag: 0x00280002, vr: 'US', value: 1 },
        { tag: 0x00280004, vr: 'CS', value: 'MONOCHROME2' },
        { tag: 0x00280010, vr: 'US', value: 8 },
        { tag: 0x00280011, vr: 'US', value: 8 },
        { tag: 0x00280030, vr: 'DS', value: [2, 2] },
        { tag: 0x00280100, vr: 'US', value: 16 },
        { tag: 0x00280101, vr: 'US', value: 16 },
        { tag: 0x00280102, vr: 'US', value: 15 },
        { tag: 0x00280103, vr: 'US', value: 1 },
        ...(c.canon || c.siemens || c.philips ? [] : [{ tag: 0x00430010, vr: 'LO', value: 'GEMS_PARM_01' }, { tag: 0x00431039, vr: 'IS', value: [B[v], 8, 0, 0] }]),
        { tag: 0x7fe00010, vr: 'OW', value: px },
      ]);
      writeFileSync(join(dir, `IM${inst}.dcm`), bytes);
    }
  }
  const ref = join(OUT, name, 'Ref');
  mkdirSync(ref, { recursive: true });
  execFileSync('dcm2niix', ['-b', 'y', '-z', 'n', '-f', 'ref', '-o', ref, dir], { stdio: 'ignore' });
}
