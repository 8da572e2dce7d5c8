#!/bin/sh
# Writes fixtures/dicom/dcmtk_jpeg_lossless (see its README): JPEG lossless process 14 (1.2.840.10008.1.2.4.57) files
# made by a real encoder, DCMTK's dcmcjpeg, from uncompressed fixtures whose decoded values are known.
# Needs DCMTK (Debian: apt-get install dcmtk; made with dcmcjpeg/dcmdjpeg v3.6.7). Run from the repository root:
#   sh scripts/make-jpeg-lossless-57.sh
# Tests only read the files this writes; they never run DCMTK.
set -eu
out=fixtures/dicom/dcmtk_jpeg_lossless
ct=fixtures/dicom/pydicom/test_files/CT_small.dcm
s12=fixtures/dicom/dcm_qa_12bit/In/12bitSigned_0x0F0F.dcm
mkdir -p "$out"
# every predictor (selection value 1..7), point transform 0: lossless
for sv in 1 2 3 4 5 6 7; do
  dcmcjpeg +el +sv "$sv" "$ct" "$out/CT_small_sv$sv.dcm"
done
# point transform 2: the low 2 bits are dropped (lossy by design)
dcmcjpeg +el +sv 1 +pt 2 "$ct" "$out/CT_small_sv1_pt2.dcm"
# 12-bit signed in 16-bit words with junk high bits (0x0F0F): DCMTK encodes the 12 stored bits
dcmcjpeg +el +sv 7 "$s12" "$out/12bitSigned_sv7.dcm"
# DCMTK's own decode of every file: sha256 of its pixel data (little endian), the references in the README
tmp=$(mktemp -d)
for f in "$out"/*.dcm; do
  dcmdjpeg "$f" "$tmp/dec.dcm"
  dcmdump +W "$tmp" "$tmp/dec.dcm" >/dev/null
  echo "$(sha256sum "$tmp/dec.dcm.0.raw" | cut -d' ' -f1)  $(basename "$f")"
  rm -f "$tmp/dec.dcm" "$tmp/dec.dcm.0.raw"
done
rmdir "$tmp"
