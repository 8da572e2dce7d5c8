// Synthetic GE (and Canon, Siemens, Philips, United Imaging) classic diffusion series (8x8 pixels, 2 slices x 2 to 5
// volumes) in several orientations, with the gradient in GE's private frequency/phase/slice elements, and dcm2niix's
// conversion of each, to check the GE gradient transform where the real QA data (axial only) cannot: an axial stack
// whose row x column normal points to the feet, coronal, sagittal, and row phase encoding; then the other vendors'
// private places, United Imaging's (0065,1009)/(0065,1037), and GE's b > 0 images without a direction (trace or b = 0).
//   npm run build && node scripts/make-ge-orientation-fixtures.mjs [case...]   (needs Debian's dcm2niix)
// With case names, only those folders are rebuilt (the writer has changed since the first cases were made: their
// files would differ in the file meta's ImplementationVersionName alone).
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
  // classic United Imaging images (dcm2niix's UIH notes, issue 225): (0065,1009) BActualValue (998 here) and
  // (0065,100A) BUserValue (1000) FD, (0065,1037) MRDiffusionGradOrientation FD x3, no standard diffusion elements;
  // the oblique orientation of dcm_qa_uih's rotated series; the 5th volume is isotropic (b 998 without a direction)
  // (0065,1058) phase encoding polarity: 1 (P->A) in the oblique series, 0 in the sagittal one
  uih_oblique: { iop: [0.906672, -0.421019, 0.0262637, 0.420842, 0.907052, 0.0121906], pe: 'COL', uih: true, volumes: 5, pePolarity: 1 },
  uih_sagittal: { iop: [0, 1, 0, 0, 0, -1], pe: 'COL', uih: true, pePolarity: 0 },
  // GE: the 5th volume is weighted (b 1000) without a direction and nothing says it is a trace image (dcm2niix: b = 0)
  ge_trace: { iop: [1, 0, 0, 0, 1, 0], pe: 'COL', volumes: 5 },
  // GE: the same, its 5th volume marked trace: ImageType DERIVED\SECONDARY and VasCollapseFlag (0043,1030) 19
  ge_trace_derived: { iop: [1, 0, 0, 0, 1, 0], pe: 'COL', volumes: 5, derivedTrace: true },
  // GE isotropic DWI: b = 0 and one trace volume (b 1000, no direction), NumberOfDiffusionDirections (0019,10E0) 0
  ge_isodwi: { iop: [1, 0, 0, 0, 1, 0], pe: 'COL', volumes: 2, isotropicSeries: true },
  // a United Imaging GRID series: one file per volume, its 5 slices tiled 3 x 2 (24 x 16 pixels), (0065,1050) 5 and
  // the MR VFrame Sequence (0065,1051) with each slice's ImagePositionPatient (the file's own is the first slice's)
  uih_grid: { iop: [0.906672, -0.421019, 0.0262637, 0.420842, 0.907052, 0.0121906], pe: 'COL', uih: true, grid: 5 },
  // United Imaging images with the standard (0018,9087)/(0018,9089) alone (patient frame): dcm2niix v1.0.20220720
  // writes zero vectors for them (it reads UIH directions from 0065,1037 only)
  uih_standard: { iop: [0, 1, 0, 0, 0, -1], pe: 'COL', uih: true, standard: true },
  // a Siemens trace-weighted series (ImageType ...\DIFFUSION\TRACEW, its own series on the scanner): b 0, 500, 1000
  // in (0019,100C), no direction (0019,100E): one stack, vectors 0 0 0
  siemens_tracew: { iop: [1, 0, 0, 0, 1, 0], pe: 'COL', siemens: true, volumes: 3, bValues: [0, 500, 1000], imageType: ['ORIGINAL', 'PRIMARY', 'DIFFUSION', 'TRACEW', 'ND', 'NORM'] },
  // GE isotropic DWI as above without (0019,10E0) (as PACS copies may lack it): dcm2niix v1.0.20220720 writes b = 0
  ge_isodwi_untagged: { iop: [1, 0, 0, 0, 1, 0], pe: 'COL', volumes: 2, isotropicSeries: true, untagged: true },
};
const GRAD = [[0, 0, 0], [0.6, 0.8, 0], [0, 0.6, -0.8], [-0.48, 0.6, 0.64], [0, 0, 0]];
const B = [0, 1000, 1000, 1000, 1000];
const only = process.argv.slice(2);
for (const name of only) if (!(name in CASES)) throw new Error(`unknown case ${name}: ${Object.keys(CASES).join(' ')}`);
if (only.length === 0) rmSync(OUT, { recursive: true, force: true });
for (const [name, c] of Object.entries(CASES)) {
  if (only.length > 0 && !only.includes(name)) continue;
  rmSync(join(OUT, name), { recursive: true, force: true });
  // GE isotropic DWI: volume 1 is the trace image (the 5th row of GRAD and B)
  const row = (v) => (c.isotropicSeries && v === 1 ? 4 : v);
  const dir = join(OUT, name, 'In');
  mkdirSync(dir, { recursive: true });
  const o = c.iop;
  const n = [o[1] * o[5] - o[2] * o[4], o[2] * o[3] - o[0] * o[5], o[0] * o[4] - o[1] * o[3]];
  const uid = `1.2.826.0.1.3680043.10.1099.90.${Object.keys(CASES).indexOf(name) + 1}`;
  let inst = 0;
  if (c.grid) {
    writeGrid(name, c, dir, uid, n);
  } else for (let v = 0; v < (c.volumes ?? (c.philips ? 5 : 4)); v++) {
    for (let k = 0; k < 2; k++) {
      inst++;
      const px = new Int16Array(64);
      for (let i = 0; i < 64; i++) px[i] = 100 * v + 10 * k + (i % 8);
      const g = GRAD[row(v)];
      const b = B[row(v)];
      const trace = c.derivedTrace && v === 4;
      const bytes = writeDicom([
        ...(c.imageType ? [{ tag: 0x00080008, vr: 'CS', value: c.imageType }] : c.uih || c.volumes ? [{ tag: 0x00080008, vr: 'CS', value: trace ? ['DERIVED', 'SECONDARY'] : ['ORIGINAL', 'PRIMARY'] }] : []),
        { tag: 0x00080016, vr: 'UI', value: '1.2.840.10008.5.1.4.1.1.4' },
        { tag: 0x00080018, vr: 'UI', value: `${uid}.${inst}` },
        { tag: 0x00080060, vr: 'CS', value: 'MR' },
        { tag: 0x00080070, vr: 'LO', value: c.canon ? 'CANON_MEC' : c.siemens ? 'SIEMENS' : c.philips ? 'Philips Medical Systems' : c.uih ? 'UIH' : 'GE MEDICAL SYSTEMS' },
        { tag: 0x0008103e, vr: 'LO', value: `dwi ${name}` },
        { tag: 0x00180020, vr: 'CS', value: ['EP', 'SE'] },
        { tag: 0x00180050, vr: 'DS', value: 4 },
        { tag: 0x00180080, vr: 'DS', value: 5000 },
        { tag: 0x00180081, vr: 'DS', value: 80 },
        { tag: 0x00181312, vr: 'CS', value: c.pe },
        { tag: 0x00185100, vr: 'CS', value: 'HFS' },
        ...(c.canon || c.standard
          ? [{ tag: 0x00189087, vr: 'FD', value: B[v] }, { tag: 0x00189089, vr: 'FD', value: GRAD[v] }]
          : c.uih
          ? []
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
          ? [
              { tag: 0x00190010, vr: 'LO', value: 'SIEMENS MR HEADER' },
              { tag: 0x0019100c, vr: 'IS', value: c.bValues ? c.bValues[v] : B[v] },
              ...(c.bValues ? [] : [{ tag: 0x0019100e, vr: 'FD', value: GRAD[v] }]),
            ]
          : [
              { tag: 0x00190010, vr: 'LO', value: 'GEMS_ACQU_01' },
              { tag: 0x001910bb, vr: 'DS', value: g[0] },
              { tag: 0x001910bc, vr: 'DS', value: g[1] },
              { tag: 0x001910bd, vr: 'DS', value: g[2] },
              ...(c.isotropicSeries && !c.untagged ? [{ tag: 0x001910e0, vr: 'DS', value: 0 }] : []),
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
        ...(c.canon || c.siemens || c.philips || c.uih
          ? []
          : [
              { tag: 0x00430010, vr: 'LO', value: 'GEMS_PARM_01' },
              ...(c.derivedTrace ? [{ tag: 0x00431030, vr: 'SS', value: trace ? 19 : 16 }] : []),
              { tag: 0x00431039, vr: 'IS', value: [b, 8, 0, 0] },
            ]),
        // United Imaging's block: the creator name is not in its published table; readers use the fixed numbers
        ...(c.uih && !c.standard
          ? [
              { tag: 0x00650010, vr: 'LO', value: 'Image Private Header' },
              { tag: 0x00651009, vr: 'FD', value: B[v] === 0 ? 0 : 998 },
              { tag: 0x0065100a, vr: 'FD', value: B[v] },
              { tag: 0x00651037, vr: 'FD', value: GRAD[v] },
              // phase encoding polarity: 1 = P->A (against the column direction), 0 = A->P
              ...(c.pePolarity !== undefined ? [{ tag: 0x00651058, vr: 'IS', value: c.pePolarity }] : []),
            ]
          : []),
        { tag: 0x7fe00010, vr: 'OW', value: px },
      ]);
      writeFileSync(join(dir, `IM${inst}.dcm`), bytes);
    }
  }
  const ref = join(OUT, name, 'Ref');
  mkdirSync(ref, { recursive: true });
  execFileSync('dcm2niix', ['-b', 'y', '-z', 'n', '-f', 'ref', '-o', ref, dir], { stdio: 'ignore' });
}

/** A United Imaging GRID series: one file per volume, the slices of a volume tiled in one image. */
function writeGrid(name, c, dir, uid, n) {
  const o = c.iop;
  const perRow = Math.ceil(Math.sqrt(c.grid));
  const gridRows = Math.ceil(c.grid / perRow);
  const pos = (k) => [n[0] * 4 * k - 16, n[1] * 4 * k - 16, n[2] * 4 * k + 10];
  for (let v = 0; v < 4; v++) {
    const px = new Int16Array(64 * perRow * gridRows);
    for (let k = 0; k < c.grid; k++) {
      for (let r = 0; r < 8; r++) for (let col = 0; col < 8; col++) {
        px[(Math.floor(k / perRow) * 8 + r) * perRow * 8 + (k % perRow) * 8 + col] = 100 * v + 10 * k + col + r;
      }
    }
    const bytes = writeDicom([
      { tag: 0x00080008, vr: 'CS', value: ['ORIGINAL', 'PRIMARY', 'M', 'VFRAME'] },
      { tag: 0x00080016, vr: 'UI', value: '1.2.840.10008.5.1.4.1.1.4' },
      { tag: 0x00080018, vr: 'UI', value: `${uid}.${v + 1}` },
      { tag: 0x00080060, vr: 'CS', value: 'MR' },
      { tag: 0x00080070, vr: 'LO', value: 'UIH' },
      { tag: 0x0008103e, vr: 'LO', value: `dwi ${name}` },
      { tag: 0x00180020, vr: 'CS', value: ['EP', 'SE'] },
      { tag: 0x00180050, vr: 'DS', value: 4 },
      { tag: 0x00180080, vr: 'DS', value: 5000 },
      { tag: 0x00180081, vr: 'DS', value: 80 },
      { tag: 0x00180088, vr: 'DS', value: 4 },
      { tag: 0x00181312, vr: 'CS', value: c.pe },
      { tag: 0x00185100, vr: 'CS', value: 'HFS' },
      { tag: 0x0020000e, vr: 'UI', value: uid },
      { tag: 0x00200011, vr: 'IS', value: 3 },
      { tag: 0x00200013, vr: 'IS', value: v + 1 },
      { tag: 0x00200032, vr: 'DS', value: pos(0) },
      { tag: 0x00200037, vr: 'DS', value: o },
      { tag: 0x00280002, vr: 'US', value: 1 },
      { tag: 0x00280004, vr: 'CS', value: 'MONOCHROME2' },
      { tag: 0x00280010, vr: 'US', value: 8 * gridRows },
      { tag: 0x00280011, vr: 'US', value: 8 * perRow },
      { tag: 0x00280030, vr: 'DS', value: [2, 2] },
      { tag: 0x00280100, vr: 'US', value: 16 },
      { tag: 0x00280101, vr: 'US', value: 16 },
      { tag: 0x00280102, vr: 'US', value: 15 },
      { tag: 0x00280103, vr: 'US', value: 1 },
      { tag: 0x00650010, vr: 'LO', value: 'Image Private Header' },
      { tag: 0x00651009, vr: 'FD', value: B[v] },
      { tag: 0x0065100a, vr: 'FD', value: B[v] },
      { tag: 0x00651037, vr: 'FD', value: GRAD[v] },
      { tag: 0x00651050, vr: 'DS', value: c.grid },
      { tag: 0x00651051, vr: 'SQ', items: Array.from({ length: c.grid }, (_, k) => [{ tag: 0x00200032, vr: 'DS', value: pos(k) }]) },
      { tag: 0x7fe00010, vr: 'OW', value: px },
    ]);
    writeFileSync(join(dir, `IM${v + 1}.dcm`), bytes);
  }
}
