#!/usr/bin/env bash
# Builds fixtures/dicom/dwi from ../shared/data/dicom (dcm_qa_ge_dwi, dcm_qa_philips_dwi) and makes the dcm2niix
# references. Needs Debian's dcm2niix (v1.0.20220720), gzip and python3. Run from the repository root:
#   bash scripts/make-dwi-fixtures.sh
set -euo pipefail
SRC=${SRC:-../shared/data/dicom}
OUT=fixtures/dicom/dwi
rm -rf "$OUT/ge" "$OUT/philips"
mkdir -p "$OUT/ge/In" "$OUT/ge/Ref" "$OUT/philips/In" "$OUT/philips/Ref"
# GE classic DTI: the first 8 instances = b0 and 3 directions x 2 slices (i22..i29 hold instances 1..8).
for n in 22 23 24 25 26 27 28 29; do cp "$SRC"/dcm_qa_ge_dwi/In/01_Ax_DWI_TENSOR_R2/i$n.MRDC.$((n - 21)) "$OUT/ge/In/"; done
# Philips classic DTI, gzipped upstream: every volume (17) at 2 adjacent slice positions (z 66.51 and 68.5 mm).
while read -r f; do cp "$SRC/dcm_qa_philips_dwi/In/cl/DICOM/$f" "$OUT/philips/In/"; done < "$OUT/philips_selection.txt"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
mkdir "$tmp/ge" "$tmp/ph" && cp "$OUT"/ge/In/* "$tmp/ge/"
for f in "$OUT"/philips/In/*.gz; do gunzip -c "$f" > "$tmp/ph/$(basename "$f" .gz)"; done
dcm2niix -b y -z n -f %s_%d -o "$OUT/ge/Ref" "$tmp/ge" > "$OUT/ge/Ref/dcm2niix.log" 2>&1
dcm2niix -b y -z n -f %s_%d -o "$OUT/philips/Ref" "$tmp/ph" > "$OUT/philips/Ref/dcm2niix.log" 2>&1
# the log names the temporary folder: keep it stable
sed -i -e "s#$tmp#<tmp>#g" -e "/^Conversion required/d" "$OUT"/*/Ref/dcm2niix.log
gzip -9 -n "$OUT"/*/Ref/*.nii
# MANIFEST.tsv rows for the new files (upstream copies keep their origin; references are generated)
python3 - "$SRC" <<'PY'
import hashlib, os, sys
src = sys.argv[1]
shared = {}
for line in open(os.path.join(src, 'MANIFEST.tsv')).read().splitlines()[1:]:
    p, _, sha, origin, lic = line.split('\t')
    shared[sha] = (origin, lic)
man = 'fixtures/dicom/MANIFEST.tsv'
rows = [l for l in open(man).read().splitlines() if not l.startswith('dwi/')]
for root, _, files in sorted(os.walk('fixtures/dicom/dwi')):
    for f in sorted(files):
        if f in ('LICENSE', 'README.md'):
            continue
        path = os.path.join(root, f)
        data = open(path, 'rb').read()
        sha = hashlib.sha256(data).hexdigest()
        rel = os.path.relpath(path, 'fixtures/dicom')
        if '/ge_orient/' in path:
            rows.append('\t'.join([rel, str(len(data)), sha, 'generated: scripts/make-ge-orientation-fixtures.mjs (In: synthetic, writeDicom; Ref: dcm2niix v1.0.20220720)', 'MIT (physiotwin, synthetic)']))
            continue
        vendor = 'ge' if '/ge/' in path else 'philips'
        lic = f'BSD-2 (see dwi/{vendor}/LICENSE)'
        origin = shared[sha][0] if sha in shared else 'written for this fixture: the files at 2 slice positions (README)' if f.endswith('.txt') else 'generated: scripts/make-dwi-fixtures.sh with dcm2niix v1.0.20220720 (Debian)'
        rows.append('\t'.join([rel, str(len(data)), sha, origin, lic]))
open(man, 'w').write('\n'.join(rows) + '\n')
PY
