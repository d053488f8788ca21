#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-or-later
# Writes the seed inputs of the fuzz targets into fuzz/corpus/<target>/seed-*: small
# valid inputs made with the real tools (pvediff itself, lzop, zstd, gzip, xdelta3,
# tar). Run once when a target is added; fuzz/run.sh then grows the corpus from them.
#   fuzz/make_seeds.sh [PVEDIFF_BINARY]    (default: build-d/pvediff, then build/pvediff)
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(dirname "$here")
pvediff=${1:-}
if [[ -z $pvediff ]]; then
  for b in "$root/build-d/pvediff" "$root/build/pvediff"; do
    [[ -x $b ]] && pvediff=$b && break
  done
fi
[[ -x ${pvediff:-} ]] || { echo "make_seeds.sh: no pvediff binary; pass its path" >&2; exit 2; }
for tool in lzop zstd gzip xdelta3 tar seq; do
  command -v "$tool" >/dev/null || { echo "make_seeds.sh: $tool is missing" >&2; exit 2; }
done
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
corpus=$here/corpus
seed() {  # seed TARGET NAME < data
  mkdir -p "$corpus/$1"
  cat > "$corpus/$1/seed-$2"
}

# --- VCDIFF: deltas against the full fuzz_vcdiff_decode uses (seq 1 30000).
seq 1 30000 > "$tmp/base"
sed 's/^1234$/changed/; s/^20000$/x\n20000\ny/' "$tmp/base" > "$tmp/edit"
{ sed -n '15001,$p' "$tmp/base"; sed -n '1,15000p' "$tmp/base"; } > "$tmp/swap"  # far copies
{ head -c 3000 "$tmp/base"; head -c 5000 /dev/urandom; } > "$tmp/short"
: > "$tmp/empty"
for t in edit swap short empty; do
  for engine in chunked xdelta3; do
    "$pvediff" diff --engine "$engine" --compress none --base "$tmp/base" --new "$tmp/$t" -o "$tmp/d"
    seed vcdiff_decode "pvediff-$engine-$t" < "$tmp/d"
  done
done
# Stock xdelta3: small windows (several per delta, so the plan and stash matter),
# each secondary compressor, an application header.
for sec in none lzma djw fgk; do
  xdelta3 -e -f -W 16384 -S "$sec" -A=seed -s "$tmp/base" "$tmp/swap" "$tmp/d"
  seed vcdiff_decode "xdelta3-$sec-swap" < "$tmp/d"
done
xdelta3 -e -f -W 16384 -S none -n -s "$tmp/base" "$tmp/edit" "$tmp/d"  # no window checksums
seed vcdiff_decode xdelta3-nochecksum-edit < "$tmp/d"
# decode_bounds: multi-window deltas against its generated full, and hostile ones.
python3 "$here/decode_bounds_seeds.py" "$pvediff" "$corpus/decode_bounds"
mkdir -p "$corpus/vcdiff_scan"
cp "$corpus"/vcdiff_decode/seed-* "$corpus/vcdiff_scan/"

# --- VMA: a 192 KiB disk with a few non-zero blocks (zero blocks are left out).
head -c $((192 * 1024)) /dev/zero > "$tmp/disk"
for off in 0 5 17 40; do  # in 4 KiB blocks: clusters 0, 1 and 2
  printf 'block %d of the seed disk' "$off" | dd of="$tmp/disk" bs=4096 seek="$off" conv=notrunc status=none
done
"$pvediff" dev-make-vma --image "$tmp/disk" --order-seed 1 --ctime 1700000000 -o "$tmp/a.vma"
head -c $((1024 * 1024)) /dev/zero > "$tmp/zero"
"$pvediff" dev-make-vma --image "$tmp/zero" --order-seed 2 --ctime 1700000000 -o "$tmp/z.vma"
for v in a z; do
  seed vma_verify "$v.vma" < "$tmp/$v.vma"
  seed vma_item_digest "$v.vma" < "$tmp/$v.vma"
  seed layout "$v.vma" < "$tmp/$v.vma"
  hsize=$(od -An -tu1 -j56 -N4 "$tmp/$v.vma" | awk '{print (($1*256+$2)*256+$3)*256+$4}')
  head -c "$hsize" "$tmp/$v.vma" | seed vma_header "$v-header"
done

# --- tar for the layout parser: GNU long name, pax header, an empty member.
mkdir -p "$tmp/t/$(printf 'd%.0s' {1..120})"
printf 'hello\n' > "$tmp/t/small"
: > "$tmp/t/empty"
head -c 1500 "$tmp/base" > "$tmp/t/$(printf 'd%.0s' {1..120})/long-name-member"
(cd "$tmp/t" && tar --format=gnu -cf "$tmp/gnu.tar" . && tar --format=pax -cf "$tmp/pax.tar" small empty)
seed layout gnu.tar < "$tmp/gnu.tar"
seed layout pax.tar < "$tmp/pax.tar"

# --- codecs: lzop (default, -9, -1, several files, empty), zstd, gzip.
head -c 20000 "$tmp/base" > "$tmp/plain"
lzop -c "$tmp/plain" > "$tmp/plain.lzo"
seed lzop default < "$tmp/plain.lzo"
lzop -9 -c "$tmp/plain" | seed lzop level9
lzop -1 -c "$tmp/empty" | seed lzop empty
head -c 20000 /dev/urandom > "$tmp/random"  # a stored block (incompressible)
lzop -c "$tmp/random" | seed lzop random
lzop -c "$tmp/short" > "$tmp/short.lzo"
cat "$tmp/plain.lzo" "$tmp/short.lzo" > "$tmp/two.lzo"  # lzop -d reads both files
seed lzop concatenated < "$tmp/two.lzo"
seed decompress lzop < "$corpus/lzop/seed-default"
zstd -q -c "$tmp/plain" | seed decompress zstd
{ zstd -q -c "$tmp/plain"; zstd -q -c "$tmp/empty"; } | seed decompress zstd-two-frames
gzip -c "$tmp/plain" | seed decompress gzip
{ gzip -c "$tmp/plain"; gzip -c "$tmp/empty"; } | seed decompress gzip-two-members
head -c 100 "$tmp/plain" | seed decompress plain

# --- names of every kind a dump dir holds.
n=0
for name in \
  vzdump-qemu-101-2026_11_20-01_00_00.vma.zst \
  vzdump-lxc-200-2026_11_20-01_00_00.tar.gz \
  vzdump-openvz-300-2012_02_29-23_59_59.tgz \
  vzdump-qemu-101-2026_11_20-01_00_00.vma.zst--differential-2026_11_21-01_00_00.vcdiff.zst \
  vzdump-lxc-200-2026_11_20-01_00_00.tar.lzo--differential-2026_11_22-01_00_00.vcdiff \
  vzdump-qemu-101-2026_11_20-01_00_00.log \
  vzdump-qemu-101-2026_11_20-01_00_00.vma.zst.notes \
  vzdump-qemu-101-2026_11_20-01_00_00.vma.zst.protected \
  vzdump-qemu-101-2026_11_20-01_00_00.vma.zst.pvediff-manifest \
  vzdump-qemu-101-2026_11_20-01_00_00.vma.zst.pvediff-index \
  vzdump-qemu-101-2026_11_20-01_00_00.vma.dat \
  vzdump-qemu-101-2026_11_20-01_00_00.tmp \
  vzdump-qemu-101-2026_11_20-01_00_00.vma.zst.pvediff-tmp \
  .pvediff-lock-qemu-101 \
  2026_11_20-01_00_00 \
  36h \
  1.5; do
  n=$((n + 1))
  printf '%s' "$name" | seed names "$n"
done

# --- config: every key once, and per-guest overrides.
seed config full.conf <<'CONF'
# pvediff configuration
fullbackup: 7
max-diff-ratio: 0.5
compress: zstd
zstd-threads: 2
engine: chunked
lock-timeout: 10m
verify: structure
keep-last: 3
keep-daily: 7
keep-weekly: 4
hook-script: /usr/local/bin/hook
hook-phase: backup-end
dumpdir: /mnt/a /mnt/b
vmid-101-fullbackup: 36h
vmid-101-prune-backups: keep-daily=14,keep-monthly=2
vmid-102-keep-all: 1
vmid-102-compress: same
CONF

# --- manifests: the ones `pvediff demo` writes (a full's and differentials').
"$pvediff" demo --keep "$tmp/demo" >/dev/null
n=0
while read -r m; do
  n=$((n + 1))
  seed manifest "$n" < "$m"
done < <(find "$tmp/demo" -name '*.pvediff-manifest' | sort | head -n 3)
# --- chunk index sidecars (version 5): a tar's (chunks only) and a VMA's of random
# blocks (chunks, clusters and anchors), as `backup` writes them when it keeps a full.
# The corpus also holds seed-v2-*, seed-v3-* and seed-v4-*, written the same way by a
# version 2 pvediff (the format before the tables were sorted), a version 3 one (before
# the content's SHA-256) and a version 4 one (before its XXH3-128), which this script
# cannot make any more.
mkdir -p "$tmp/idx"
head -c $((1024 * 1024)) /dev/urandom > "$tmp/random-disk"
"$pvediff" dev-make-vma --image "$tmp/random-disk" --order-seed 3 --ctime 1700000000 \
  -o "$tmp/idx/vzdump-qemu-300-2026_11_20-01_00_00.vma"
seq 1 40000 > "$tmp/lines"
tar -C "$tmp" -cf "$tmp/idx/vzdump-lxc-301-2026_11_20-01_00_00.tar" lines random-disk
for a in vzdump-qemu-300-2026_11_20-01_00_00.vma vzdump-lxc-301-2026_11_20-01_00_00.tar; do
  "$pvediff" backup --fullbackup 7 "$tmp/idx/$a" >/dev/null 2>&1
  seed chunk_index "v5-${a##*.}" < "$tmp/idx/$a.pvediff-index"
done

# --- cluster records: a full's, as `backup` writes them when it keeps a VMA full in
# zstd frames (the seed disk above and the random one), and a differential's changed
# records, written here by their format (docs/formats.md, "Cluster records"): only
# `backup --nbd` writes them, which needs an NBD export.
for v in a random; do
  img=$tmp/disk
  [[ $v == random ]] && img=$tmp/random-disk
  mkdir -p "$tmp/rec-$v"
  "$pvediff" dev-make-vma --image "$img" --order-seed 4 --ctime 1700000000 \
    -o "$tmp/rec-$v/vzdump-qemu-400-2026_11_20-01_00_00.vma"
  zstd -q --rm "$tmp/rec-$v/vzdump-qemu-400-2026_11_20-01_00_00.vma"
  "$pvediff" backup --fullbackup 7 "$tmp/rec-$v/vzdump-qemu-400-2026_11_20-01_00_00.vma.zst" >/dev/null 2>&1
  seed cluster_records "full-$v" < "$tmp/rec-$v/vzdump-qemu-400-2026_11_20-01_00_00.vma.zst.pvediff-vma-clusters"
done
python3 - "$corpus/cluster_records/seed-changed" <<'PY'
import hashlib, struct, sys, zlib
out = bytearray(b"PVDXVMAC" + struct.pack("<IB3x", 1, 2))
changes = [(1, 0, 0xFFFF, bytes(65536)), (1, 7, 0x0001, b"x" * 4096), (2, 3, 0, b"")]
for dev, cluster, mask, data in changes:
    out += struct.pack("<BBIHI", 1, dev, cluster, mask, zlib.adler32(data)) + hashlib.sha256(data).digest()
out += b"\0" + struct.pack("<QQ", len(changes), 3 * 1024 * 1024) + bytes(32) + struct.pack("<Q", 0)
out += hashlib.sha256(out).digest()
open(sys.argv[1], "wb").write(out)
PY

# --- chunk_encode: a text full and a program that reorders, repeats and edits it,
# under each group of settings (fuzz_chunk_encode.cpp says how the input is read).
seq 1 6000 > "$tmp/enc-full"
python3 - "$tmp/enc-full" "$corpus/chunk_encode" <<'PY'
import os, random, sys
full = open(sys.argv[1], "rb").read()
os.makedirs(sys.argv[2], exist_ok=True)
rng = random.Random(7)
prog = bytearray()
for k in rng.sample(range(0, len(full) // 8 - 64, 32), 60):
    prog += bytes([1, k & 0xFF, k >> 8, 63])      # 512 bytes of the full from 8 * k
    if rng.random() < 0.3:
        prog += bytes([4 * 5]) + b"edit!"            # 5 literal bytes
    if rng.random() < 0.1:
        prog += bytes([2, 0, 0, 31])                 # 256 bytes made before, again
prog += bytes([3, 0, 0, 15])                         # one long piece: 2 KiB from 0
for settings in (0, 3, 7, 15):
    with open(os.path.join(sys.argv[2], f"seed-settings-{settings}"), "wb") as f:
        f.write(bytes([settings, len(prog) & 0xFF, len(prog) >> 8]) + prog + full)
PY

echo "seeds written:"
du -sh "$corpus"/*
