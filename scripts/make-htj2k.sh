#!/bin/sh
# Writes fixtures/dicom/openjph_htj2k (see its README): HTJ2K files (1.2.840.10008.1.2.4.201 / .202 / .203) made by a
# real encoder, OpenJPH's ojph_compress, from uncompressed fixtures whose decoded values are already referenced, and
# the encoder's own decode (ojph_expand) of the lossy ones, which the tests compare against.
#
# Needs (Debian bookworm): apt-get install openjph-tools libopenjph-dev g++ dcmtk nodejs; made with openjph-tools /
# libopenjph-dev 0.9.0-3+b1 (ojph_compress / ojph_expand, OpenJPH 0.9.0), dcmtk 3.6.7-9~deb12u4 (dcmdump, dcmodify),
# g++ 12 and Node 20. Optional: libopenjp2-tools (OpenJPEG opj_decompress >= 2.5.0), only to print how an independent
# decoder compares.
# Run from the repository root:
#   sh scripts/make-htj2k.sh
# Running it again with the same tool versions gives byte-identical files. Tests only read the files this writes.
#
# How a file is made (with the tools above and a few lines of plain Node, never with @physiotwin/dicom):
#  1. `dcmdump +W` writes the source's native pixel data to a .raw file (little-endian words, frame after frame).
#  2. each frame is encoded by ojph_compress from raw samples (-signed / -bit_depth from the source's
#     PixelRepresentation / BitsStored); ojph_expand decodes it again. Lossless: the script stops unless that decode
#     is byte-identical to the source frame.
#  3. lossy only: dcmodify applies the attributes of a new lossy instance to a copy of the source (see below).
#  4. `wrap` (Node, below) copies that file byte for byte, except that the native PixelData element becomes a pixel
#     sequence (an empty Basic Offset Table item, then one fragment per frame, each a whole codestream) and the file
#     meta information gets the HTJ2K Transfer Syntax UID. (DCMTK 3.6.7 does not know the HTJ2K UIDs and refuses to
#     write them itself; dump2dcm would also round FD values through text.)
#  5. lossy only: `probe` (C++, below, linked with libopenjph 0.9.0) decodes each codestream as ojph_expand does and
#     records every sample's value just before OpenJPH rounds it to an integer; reference.json lists the samples where
#     that value is exactly k + 0.5 (ties: decoders that round ties differently may differ there by 1).
#  6. checks, with DCMTK: dcmdump shows the new UID; every fragment read back (dcmdump +W) equals its codestream (plus
#     one 0x00 pad byte when the codestream has odd length); all other attributes equal the source's (lossless) or
#     differ only by the lossy edits (printed).
set -eu
set -eu
out=fixtures/dicom/openjph_htj2k
ct=fixtures/dicom/pydicom/test_files/CT_small.dcm
mr=fixtures/dicom/pydicom/pydicom-data/emri_small.dcm
for t in ojph_compress ojph_expand dcmdump dcmodify node g++ gzip sha256sum; do
  command -v "$t" >/dev/null || { echo "make-htj2k: $t not found (apt-get install openjph-tools libopenjph-dev g++ dcmtk)" >&2; exit 1; }
done
[ -f "$ct" ] || { echo "make-htj2k: run from the repository root" >&2; exit 1; }

echo "== tool versions"
versions=$(dpkg-query -W -f '${Package} ${Version}\n' openjph-tools libopenjph-dev dcmtk g++ 2>/dev/null || true)
echo "$versions"
dcmdump --version | head -n 1
echo "node $(node --version)"
command -v opj_decompress >/dev/null && opj_decompress -h 2>/dev/null | grep -m1 'openjp2 library' || true

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
mkdir -p "$out"
rm -f "$out"/*.dcm "$out"/*.raw.gz "$out/reference.json"

# Node helpers (plain Node, not @physiotwin/dicom):
#  wrap BASE OUT TS NATIVE_BYTES FRAME...: OUT = BASE (explicit VR little endian) with its top-level native PixelData
#    element (NATIVE_BYTES long) replaced by a pixel sequence (an empty Basic Offset Table item, then one item per
#    FRAME file, padded with one 0x00 to even length), and the meta header's Transfer Syntax UID set to TS (group
#    length fixed). Every other byte of BASE is kept.
#  stats A B int16|uint16: max |A-B|, number of differing samples, RMSE, PSNR.
#  uid NAME...: 2.25 + a name-based (SHA-1, version 5 layout) UUID of the names, as a decimal integer (PS3.5 B.2).
#  record JSONL ...: appends one file's entry of reference.json (see the call); finish JSONL OUT VERSIONS: writes it.
cat > "$tmp/helper.cjs" <<'EOF'
const fs = require('fs');
const crypto = require('crypto');
const [cmd, ...args] = process.argv.slice(2);
const LONG = new Set(['OB', 'OD', 'OF', 'OL', 'OV', 'OW', 'SQ', 'UC', 'UN', 'UR', 'UT', 'SV', 'UV']);
const UNDEF = 0xffffffff;
const fail = (msg) => { throw new Error(`make-htj2k ${cmd}: ${msg}`); };
const tagAt = (b, p) => ((b.readUInt16LE(p) << 16) | b.readUInt16LE(p + 2)) >>> 0;
// The explicit VR LE element at p.
function element(b, p) {
  const vr = b.toString('latin1', p + 4, p + 6);
  if (!/^[A-Z]{2}$/.test(vr)) fail(`no explicit VR at offset ${p}`);
  const long = LONG.has(vr);
  const at = p + (long ? 12 : 8);
  const len = long ? b.readUInt32LE(p + 8) : b.readUInt16LE(p + 6);
  let next;
  if (len !== UNDEF) next = at + len;
  else if (vr === 'SQ') next = undefinedSequence(b, at);
  else fail(`undefined length ${vr} at offset ${p}`);
  return { tag: tagAt(b, p), vr, at, len, next };
}
function undefinedSequence(b, p) {
  for (;;) {
    const tag = tagAt(b, p), len = b.readUInt32LE(p + 4);
    if (tag === 0xfffee0dd) return p + 8;
    if (tag !== 0xfffee000) fail(`no item at offset ${p}`);
    if (len !== UNDEF) p += 8 + len;
    else for (p += 8; ; ) {
      if (tagAt(b, p) === 0xfffee00d) { p += 8; break; }
      p = element(b, p).next;
    }
  }
}
const u32 = (v) => { const x = Buffer.alloc(4); x.writeUInt32LE(v); return x; };
const item = (data) => {
  const pad = Buffer.alloc(data.length % 2);
  return Buffer.concat([Buffer.from([0xfe, 0xff, 0x00, 0xe0]), u32(data.length + pad.length), data, pad]);
};
const samples = (f, dtype) => { const x = fs.readFileSync(f); return new (dtype === 'int16' ? Int16Array : Uint16Array)(x.buffer, x.byteOffset, x.length / 2); };
const sha256 = (x) => crypto.createHash('sha256').update(x).digest('hex');
function compare(a, c) {
  if (a.length !== c.length) fail('lengths differ');
  let max = 0, n = 0, se = 0, lo = Infinity, hi = -Infinity;
  for (let i = 0; i < a.length; i++) {
    const d = a[i] - c[i];
    if (d) n++;
    max = Math.max(max, Math.abs(d)); se += d * d; lo = Math.min(lo, a[i]); hi = Math.max(hi, a[i]);
  }
  const rmse = Math.sqrt(se / a.length);
  return { max_abs: max, differing: n, samples: a.length, rmse: Number(rmse.toFixed(4)), psnr_db: se ? Number((20 * Math.log10((hi - lo) / rmse)).toFixed(2)) : null, psnr_peak: hi - lo };
}
if (cmd === 'wrap') {
  const [base, out, ts, nativeBytes, ...frames] = args;
  const b = fs.readFileSync(base);
  if (b.toString('latin1', 128, 132) !== 'DICM') fail(`${base}: no DICM prefix`);
  const gl = element(b, 132);
  if (gl.tag !== 0x00020000 || gl.vr !== 'UL') fail(`${base}: no (0002,0000)`);
  const metaEnd = gl.next + b.readUInt32LE(gl.at);
  const meta = [];
  let tsFound = false;
  for (let p = gl.next; p < metaEnd; ) {
    const e = element(b, p);
    if (e.tag >>> 16 !== 2) fail(`${base}: element ${e.tag.toString(16)} inside the meta group`);
    if (e.tag === 0x00020010) {
      if (b.toString('latin1', e.at, e.at + e.len).replace(/\0$/, '') !== '1.2.840.10008.1.2.1') fail(`${base}: not explicit VR little endian`);
      const v = Buffer.from(ts.length % 2 ? `${ts}\0` : ts, 'latin1');
      meta.push(Buffer.from([0x02, 0x00, 0x10, 0x00, 0x55, 0x49, v.length & 255, v.length >> 8]), v);
      tsFound = true;
    } else meta.push(b.subarray(p, e.next));
    p = e.next;
  }
  if (!tsFound) fail(`${base}: no (0002,0010)`);
  const metaBytes = Buffer.concat(meta);
  let pixel;
  for (let p = metaEnd; p < b.length; ) {
    const e = element(b, p);
    if (e.tag === 0x7fe00010) { pixel = { p, ...e }; break; }
    p = e.next;
  }
  if (!pixel) fail(`${base}: no top-level PixelData`);
  if ((pixel.vr !== 'OW' && pixel.vr !== 'OB') || pixel.len !== Number(nativeBytes)) fail(`${base}: PixelData is ${pixel.vr}, ${pixel.len} bytes; expected native, ${nativeBytes}`);
  const seq = Buffer.concat([
    Buffer.from([0xe0, 0x7f, 0x10, 0x00, 0x4f, 0x42, 0, 0]), u32(UNDEF), // (7FE0,0010) OB, undefined length
    item(Buffer.alloc(0)), // empty Basic Offset Table
    ...frames.map((f) => item(fs.readFileSync(f))),
    Buffer.from([0xfe, 0xff, 0xdd, 0xe0]), u32(0), // sequence delimiter
  ]);
  fs.writeFileSync(out, Buffer.concat([b.subarray(0, gl.at), u32(metaBytes.length), metaBytes, b.subarray(metaEnd, pixel.p), seq, b.subarray(pixel.next)]));
} else if (cmd === 'stats') {
  const [fa, fb, dtype] = args;
  const r = compare(samples(fa, dtype), samples(fb, dtype));
  console.log(`max|diff| ${r.max_abs}, ${r.differing}/${r.samples} samples differ, RMSE ${r.rmse}, PSNR ${r.psnr_db ?? 'inf'} dB (peak ${r.psnr_peak} = max - min of the first)`);
} else if (cmd === 'uid') {
  const h = crypto.createHash('sha1').update(args.join('/')).digest().subarray(0, 16);
  h[6] = (h[6] & 0x0f) | 0x50;
  h[8] = (h[8] & 0x3f) | 0x80;
  console.log(`2.25.${BigInt(`0x${h.toString('hex')}`)}`);
} else if (cmd === 'record') {
  const [jsonl, name, ts, frames, rows, cols, dtype, bits, source, sourceRaw, expandRaw, dcm, options, probeI32, probeF32, ...codestreams] = args;
  const src = samples(sourceRaw, dtype), exp = samples(expandRaw, dtype);
  const cs = codestreams.map((f) => fs.readFileSync(f));
  const r = {
    file: `${name}.dcm`, bytes: fs.statSync(dcm).size, transfer_syntax: ts, source, rows: +rows, columns: +cols, frames: +frames,
    decoded_dtype: dtype, bits_stored: +bits, ojph_compress_options: options, fragments: cs.length,
    codestream_bytes: cs.reduce((n, c) => n + c.length, 0), sha256_codestreams: cs.map(sha256),
    sha256_ojph_expand_le: sha256(fs.readFileSync(expandRaw)),
  };
  if (!ts.endsWith('.203')) {
    r.sha256_source_le = sha256(fs.readFileSync(sourceRaw));
    if (r.sha256_source_le !== r.sha256_ojph_expand_le) fail(`${name}: lossless but ojph_expand differs from the source`);
  } else {
    r.ojph_expand_file = `${name}.ojph_expand.raw.gz`;
    r.ojph_expand_vs_source = compare(src, exp);
    // probe: libopenjph's integers before ojph_expand clips them to the sample range, and the values before rounding
    const pi = new Int32Array(fs.readFileSync(probeI32).buffer.slice(0)), pf = new Float32Array(fs.readFileSync(probeF32).buffer.slice(0));
    if (pi.length !== exp.length || pf.length !== exp.length) fail(`${name}: probe length`);
    const lo = dtype === 'int16' ? -(2 ** (bits - 1)) : 0, hi = dtype === 'int16' ? 2 ** (bits - 1) - 1 : 2 ** bits - 1;
    let clipped = 0;
    for (let i = 0; i < pi.length; i++) {
      const v = Math.min(hi, Math.max(lo, pi[i]));
      if (v !== pi[i]) clipped++;
      if (v !== exp[i]) fail(`${name}: probe and ojph_expand disagree at ${i}`);
    }
    r.ojph_expand_clipped_samples = clipped;
    r.ties = [];
    for (let i = 0; i < pf.length; i++) if (pf[i] - Math.floor(pf[i]) === 0.5) r.ties.push({ index: i, value: pf[i], ojph_expand: exp[i] });
  }
  fs.appendFileSync(jsonl, `${JSON.stringify(r)}\n`);
} else if (cmd === 'finish') {
  const [jsonl, out, versions] = args;
  const doc = {
    description: 'HTJ2K files written by OpenJPH 0.9.0 ojph_compress from uncompressed fixtures, and what they decode to. See README.md.',
    generated_by: 'scripts/make-htj2k.sh',
    tools: versions.split('\n').filter(Boolean),
    definitions: {
      sha256_codestreams: 'SHA-256 of each fragment as ojph_compress wrote it (a fragment adds one 0x00 when the length is odd)',
      sha256_source_le: 'SHA-256 of the source file pixel data (stored values, little endian, frame/row/column); equals the source sha256_decoded_le in ../pydicom/reference_pixels.json',
      sha256_ojph_expand_le: 'SHA-256 of ojph_expand output (raw little-endian samples, frames concatenated); lossy: gunzip of ojph_expand_file',
      ojph_expand_vs_source: 'errors of the lossy decode against the source: max |diff|, samples that differ, RMSE, PSNR = 20 log10(psnr_peak / RMSE), psnr_peak = source max - min',
      ojph_expand_clipped_samples: 'samples that libopenjph reconstructed outside the sample range and ojph_expand clipped to it',
      ties: 'samples (flat index, frame/row/column) whose reconstructed value in OpenJPH 0.9.0 was exactly k + 0.5 just before rounding: ojph_expand rounds these ties to even, a decoder that rounds them another way gives k or k + 1',
    },
    files: fs.readFileSync(jsonl, 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l)),
  };
  fs.writeFileSync(out, `${JSON.stringify(doc, null, 1)}\n`);
} else fail('unknown command');
EOF
helper() { node "$tmp/helper.cjs" "$@"; }

# probe IN.j2c OUT.i32 OUT.f32: decodes one single-component codestream with libopenjph (the library ojph_expand
# uses) and writes the integers it produces (int32 LE, before ojph_expand clips them to the sample range) and, for
# the irreversible path, each sample's value just before it is rounded (float32 LE). It swaps libopenjph's (exported)
# float-to-integer conversion function pointers for ones that record their input and then call the originals.
cat > "$tmp/probe.cpp" <<'EOF'
#include <cstdio>
#include <vector>
#include <openjph/ojph_arch.h>
#include <openjph/ojph_file.h>
#include <openjph/ojph_mem.h>
#include <openjph/ojph_params.h>
#include <openjph/ojph_codestream.h>
using namespace ojph;
namespace ojph { namespace local {
  extern void (*cnvrt_float_to_si32)(const float*, si32*, float, ui32);
  extern void (*cnvrt_float_to_si32_shftd)(const float*, si32*, float, ui32);
}}
typedef void (*cnvrt_fn)(const float*, si32*, float, ui32);
static std::vector<float> pre;
static cnvrt_fn orig, orig_shftd;
static void rec(const float* sp, si32* dp, float mul, ui32 w) {
  for (ui32 i = 0; i < w; i++) pre.push_back(sp[i] * mul); // what gen_cnvrt_float_to_si32 rounds
  orig(sp, dp, mul, w);
}
static void rec_shftd(const float* sp, si32* dp, float mul, ui32 w) {
  for (ui32 i = 0; i < w; i++) pre.push_back((sp[i] + 0.5f) * mul); // what gen_cnvrt_float_to_si32_shftd rounds
  orig_shftd(sp, dp, mul, w);
}
int main(int argc, char** argv) {
  if (argc != 4) return 2;
  codestream cs;
  j2c_infile f;
  f.open(argv[1]);
  cs.read_headers(&f);
  cs.create();
  orig = local::cnvrt_float_to_si32;
  orig_shftd = local::cnvrt_float_to_si32_shftd;
  local::cnvrt_float_to_si32 = rec;
  local::cnvrt_float_to_si32_shftd = rec_shftd;
  param_siz siz = cs.access_siz();
  if (siz.get_num_components() != 1) return 3;
  ui32 w = siz.get_recon_width(0), h = siz.get_recon_height(0);
  std::vector<si32> out;
  for (ui32 y = 0; y < h; y++) {
    ui32 c;
    line_buf* l = cs.pull(c);
    for (ui32 x = 0; x < w; x++) out.push_back(l->i32[x]);
  }
  cs.close();
  FILE* o = fopen(argv[2], "wb");
  fwrite(out.data(), 4, out.size(), o);
  fclose(o);
  o = fopen(argv[3], "wb");
  fwrite(pre.data(), 4, pre.size(), o);
  fclose(o);
  return 0;
}
EOF
g++ -O2 -o "$tmp/probe" "$tmp/probe.cpp" -lopenjph

# make SRC NAME TS FRAMES ROWS COLS SIGNED BITS OJPH_OPTIONS...
make() {
  src=$1 name=$2 ts=$3 frames=$4 rows=$5 cols=$6 signed=$7 bits=$8
  shift 8
  w="$tmp/$name"
  mkdir -p "$w"
  dcmdump -q +W "$w" "$src" > /dev/null
  raw="$w/$(basename "$src").0.raw"
  fb=$((rows * cols * 2))
  [ "$(wc -c < "$raw")" -eq $((fb * frames)) ] || { echo "make-htj2k: $src: unexpected pixel data length" >&2; exit 1; }
  lossy=no
  case "$ts" in *.203) lossy=yes ;; esac
  : > "$w/expand.raw"
  : > "$w/probe.i32"
  : > "$w/probe.f32"
  items=""
  bytes=0
  i=0
  while [ "$i" -lt "$frames" ]; do
    dd if="$raw" of="$w/f$i.yuv" bs="$fb" skip="$i" count=1 2>/dev/null
    ojph_compress -i "$w/f$i.yuv" -o "$w/f$i.j2c" -dims "{$cols,$rows}" -num_comps 1 -signed "$signed" \
      -bit_depth "$bits" -downsamp '{1,1}' "$@" > /dev/null
    ojph_expand -i "$w/f$i.j2c" -o "$w/d$i.yuv" > /dev/null
    cat "$w/d$i.yuv" >> "$w/expand.raw"
    if [ "$lossy" = yes ]; then
      "$tmp/probe" "$w/f$i.j2c" "$w/p$i.i32" "$w/p$i.f32"
      cat "$w/p$i.i32" >> "$w/probe.i32"
      cat "$w/p$i.f32" >> "$w/probe.f32"
    fi
    items="$items $w/f$i.j2c"
    bytes=$((bytes + $(wc -c < "$w/f$i.j2c")))
    i=$((i + 1))
  done
  base="$src"
  if [ "$lossy" = yes ]; then
    # A lossy re-encoding is a new instance (PS3.3 C.7.6.1.1.5; what DCMTK's dcmcjpeg does for lossy JPEG): new SOP
    # Instance UID (deterministic, see helper uid), ImageType value 1 DERIVED, DerivationDescription,
    # LossyImageCompression 01, its ratio (native bytes / codestream bytes) and method ISO_15444_15.
    base="$w/base.dcm"
    cp "$src" "$base"
    srcuid=$(dcmdump -q +P 0008,0018 "$src" | sed 's/.*\[\(.*\)\].*/\1/')
    it=$(dcmdump -q +P 0008,0008 "$src" | sed 's/.*\[\(.*\)\].*/\1/' | sed 's/^[^\\]*/DERIVED/')
    dcmodify -q -nb -m "(0008,0018)=$(helper uid physiotwin/openjph_htj2k "$srcuid" "$name")" -m "(0008,0008)=$it" \
      -i "(0008,2111)=HTJ2K irreversible 9/7 by OpenJPH 0.9.0 ojph_compress $* (scripts/make-htj2k.sh)" \
      -i "(0028,2110)=01" -i "(0028,2112)=$(node -e "console.log(($fb * $frames / $bytes).toFixed(2))")" \
      -i "(0028,2114)=ISO_15444_15" "$base"
  fi
  # shellcheck disable=SC2086 # $items: the codestream paths (no spaces: mktemp)
  helper wrap "$base" "$out/$name.dcm" "$ts" $((fb * frames)) $items

  # checks
  dcmdump -q "$out/$name.dcm" | grep -q "^(0002,0010) UI \[$ts\]" || { echo "make-htj2k: $name: transfer syntax not written" >&2; exit 1; }
  mkdir -p "$w/back"
  dcmdump -q +W "$w/back" "$out/$name.dcm" > /dev/null
  [ -s "$w/back/$name.dcm.0.raw" ] && { echo "make-htj2k: $name: offset table not empty" >&2; exit 1; }
  i=0
  while [ "$i" -lt "$frames" ]; do
    back="$w/back/$name.dcm.$((i + 1)).raw" # .0.raw is the (empty) offset table
    len=$(wc -c < "$w/f$i.j2c")
    cmp -s -n "$len" "$back" "$w/f$i.j2c" || { echo "make-htj2k: $name: fragment $i differs from its codestream" >&2; exit 1; }
    [ "$(wc -c < "$back")" -eq $((len + len % 2)) ] || { echo "make-htj2k: $name: fragment $i has the wrong length" >&2; exit 1; }
    i=$((i + 1))
  done
  [ -e "$w/back/$name.dcm.$((frames + 1)).raw" ] && { echo "make-htj2k: $name: too many fragments" >&2; exit 1; }
  strip() { dcmdump -q +L "$1" | awk '/^\(0002,00[01]0\)/ || /^# Used TransferSyntax/ { next } /^\(7fe0,0010\)/ { skip = ($3 ~ /^\(PixelSequence/); next } skip && /^\(fffe,e0dd\)/ { skip = 0; next } !skip { print }'; }
  strip "$src" > "$w/a.s"
  strip "$out/$name.dcm" > "$w/b.s"
  if [ "$lossy" = no ]; then
    cmp -s "$w/a.s" "$w/b.s" || { echo "make-htj2k: $name: attributes differ from the source" >&2; diff "$w/a.s" "$w/b.s" >&2; exit 1; }
  fi

  dtype=uint16
  [ "$signed" = true ] && dtype=int16
  echo "== $name.dcm ($ts): $(wc -c < "$out/$name.dcm") bytes, $bytes codestream bytes in $frames fragment(s), $(grep -ao -m1 'OpenJPH Ver [0-9.]*[0-9]' "$w/f0.j2c")"
  echo "   ojph_compress -dims {$cols,$rows} -num_comps 1 -signed $signed -bit_depth $bits -downsamp {1,1} $*"
  echo "   sha256 of ojph_expand's decode: $(sha256sum < "$w/expand.raw" | cut -d' ' -f1)"
  if [ "$lossy" = no ]; then
    cmp -s "$w/expand.raw" "$raw" || { echo "make-htj2k: $name: ojph_expand does not give back the source" >&2; exit 1; }
    echo "   ojph_expand == source pixels (sha256 $(sha256sum < "$raw" | cut -d' ' -f1))"
  else
    gzip -9 -n -c "$w/expand.raw" > "$out/$name.ojph_expand.raw.gz"
    echo "   wrote $name.ojph_expand.raw.gz ($(wc -c < "$out/$name.ojph_expand.raw.gz") bytes; $dtype LE, frame/row/column)"
    echo "   attributes changed from the source:"
    diff "$w/a.s" "$w/b.s" | sed 's/^/     /' || true
    echo "   ojph_expand vs source: $(helper stats "$raw" "$w/expand.raw" $dtype)"
  fi
  # shellcheck disable=SC2086
  helper record "$tmp/ref.jsonl" "$name" "$ts" "$frames" "$rows" "$cols" "$dtype" "$bits" "$src" "$raw" "$w/expand.raw" \
    "$out/$name.dcm" "-dims {$cols,$rows} -num_comps 1 -signed $signed -bit_depth $bits -downsamp {1,1} $*" \
    "$w/probe.i32" "$w/probe.f32" $items
  [ "$lossy" = yes ] && echo "   ties (value k + 0.5 before rounding): $(tail -n 1 "$tmp/ref.jsonl" | node -e 'let s="";process.stdin.on("data",d=>s+=d).on("end",()=>{const r=JSON.parse(s);console.log(r.ties.length, "samples; clipped to the sample range:", r.ojph_expand_clipped_samples)})')"
  if command -v opj_decompress >/dev/null; then
    : > "$w/opj.raw"
    i=0
    while [ "$i" -lt "$frames" ]; do
      opj_decompress -quiet -i "$w/f$i.j2c" -o "$w/o$i.raw" > /dev/null 2>&1
      cat "$w/o$i.raw" >> "$w/opj.raw"
      i=$((i + 1))
    done
    echo "   OpenJPEG opj_decompress (.raw output, little endian) vs ojph_expand: $(helper stats "$w/expand.raw" "$w/opj.raw" $dtype)"
  fi
}

# CT_small: 128x128 CT, int16, BitsStored 16. Lossless in LRCP order (.201 leaves the order free), lossless RPCL
# (.202 requires RPCL), and lossy 9/7 (.203). qstep is relative to 2^BitsStored: 0.0001 is a step of about 6.6.
make "$ct" CT_small_htj2k_lossless 1.2.840.10008.1.2.4.201 1 128 128 true 16 -reversible true -prog_order LRCP
make "$ct" CT_small_htj2k_lossless_rpcl 1.2.840.10008.1.2.4.202 1 128 128 true 16 -reversible true -prog_order RPCL
make "$ct" CT_small_htj2k_lossy 1.2.840.10008.1.2.4.203 1 128 128 true 16 -reversible false -qstep 0.0001
# emri_small: 10 frames of 64x64 MR, uint16 words with BitsStored 12 (values 0..467): one fragment per frame.
# qstep 0.001 of 2^12 is a step of about 4.1.
make "$mr" emri_small_htj2k_lossless 1.2.840.10008.1.2.4.201 10 64 64 false 12 -reversible true -prog_order LRCP
make "$mr" emri_small_htj2k_lossy 1.2.840.10008.1.2.4.203 10 64 64 false 12 -reversible false -qstep 0.001
helper finish "$tmp/ref.jsonl" "$out/reference.json" "$versions
$(dcmdump --version | head -n 1 | tr -d "$" | sed "s/^ *//; s/ *$//")
node $(node --version)"
echo "== wrote $out/reference.json"
