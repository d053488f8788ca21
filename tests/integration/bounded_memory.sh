#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-or-later
# Hostile input against the decoder's bounds (docs/reliability.md, "Worst-case memory"):
# crafted differentials and archives, each made here with python3, given to verify,
# restore and patch under an address-space limit (prlimit --as). Each must end with a
# clean error that says what is wrong (exit 1 or 3, not a signal, not an allocation
# failure), and the real differential must still restore exactly under the same limit.
#  - many small COPYs over far-apart segments (issue 13 row 4: 2.6 GB before);
#  - RUN windows that describe far more than the archive (row 5: 1 TiB with exit 0);
#  - a zstd frame asking for a 2 GiB window (row 6: 2.1 GB);
#  - an lzop block header claiming the largest block;
#  - VMAs whose header lists huge devices and whose extents name clusters far apart
#    (the verifier's cluster bitmaps: 3.7 GB and 512 MiB before the header was bounded).
# An ASan build reserves terabytes of address space: there the limit is left out (the
# messages and exit statuses are still checked) and so is the RSS check.
source "${PVEDIFF_TEST_LIB:?}/common.sh" || exit 1
source "$PVEDIFF_TEST_LIB/tar_pair.sh"

# The address-space limit: the largest that `verify`, `restore` and `patch` need by
# design (see the worst-case table), with room for the read-ahead threads' stacks and
# malloc arenas.
as_limit=$((1536 << 20))
# Every hostile run is also bounded in time (the old code wrote 1 TiB for row 5).
limited=(timeout 120 prlimit --as="$as_limit" --)
rss_checks=1
if grep -qa __asan_init "$PVEDIFF"; then
  echo "skipped: address-space limit and RSS checks (sanitizer build reserves huge address space)"
  limited=(timeout 300)
  rss_checks=0
fi

# run LABEL RC_PATTERN MESSAGE_PATTERN CMD...: runs CMD under the limit; checks its exit
# status (grep -E over the number), that it was no signal, and its message.
run() {
  local label=$1 want=$2 pattern=$3 rc=0
  shift 3
  "${limited[@]}" "$@" >"$WORK/stdout" 2>"$WORK/stderr" || rc=$?
  cat "$WORK/stderr" "$WORK/stdout" >"$WORK/out" 2>/dev/null || true
  echo "   $label: rc $rc: $(grep -a -m1 -E 'error|FAIL|problem' "$WORK/out" | head -c 300 || true)"
  check "$label: exit status $want (got $rc)" grep -qxE -- "$want" <<<"$rc"
  check "$label: message matches /$pattern/" grep -aqE -- "$pattern" "$WORK/out"
  check "$label: no allocation failure" bash -c '! grep -aqiE "bad_alloc|memory allocation|not enough memory" "$1"' _ "$WORK/out"
}
# Peak RSS in KiB of a command (its exit status is not checked here).
max_rss_kib() {
  python3 -c 'import resource, subprocess, sys
subprocess.run(sys.argv[1:], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)' "$@"
}

cd "$WORK"
tar_pair
mkdir d
cp t0.tar "d/$F"
cp t1.tar "d/$A"
"$PVEDIFF" -q --config c.conf backup "d/$F"
"$PVEDIFF" -q --config c.conf backup "d/$A"
check "setup: the real differential and its manifest exist" test -f "d/$D" -a -f "d/$D.pvediff-manifest"

# --- the real differential restores under the limit ------------------------------------
run "real differential: restore" '0' 'restored' "$PVEDIFF" restore "d/$D" -o "$WORK/restored.tar"
check "real differential: restored bytes are the archive's" test "$(sha_of restored.tar)" = "$(sha_of t1.tar)"
run "real differential: verify" '0' 'ok' "$PVEDIFF" verify d
run "real differential: patch" '0' 'rebuilt' "$PVEDIFF" patch --base "d/$F" --delta "d/$D" -o "$WORK/patched.tar"
check "real differential: patched bytes are the archive's" test "$(sha_of patched.tar)" = "$(sha_of t1.tar)"

# VCDIFF varints and windows for the generators below.
cat >vcd.py <<'PY'
import sys
def v(x):
    o = [x & 127]; x >>= 7
    while x: o.append(128 | (x & 127)); x >>= 7
    return bytes(reversed(o))
out = sys.stdout.buffer
def header(): out.write(b'\xd6\xc3\xc4\0\0')
PY

# --- row 4: many small COPYs over far-apart source segments ------------------------------
# WINDOWS windows, each 500,000 COPYs of 16 bytes 8000 bytes apart (near-cache modes), its
# source segment 4 GiB further than the last.
copy_bomb() {
  python3 - "$1" <<'PY' | zstd -19 -q
import sys
exec(open('vcd.py').read())
N, S = 500000, 8000
inst = bytearray([19 + 13]); addr = bytearray(v(0))
for i in range(1, N):
    inst.append(19 + (2 + (i - 1) % 4) * 16 + 13); addr += v(S)
body = v(16 * N) + b'\0' + v(0) + v(len(inst)) + v(len(addr)) + bytes(inst) + bytes(addr)
header()
for k in range(int(sys.argv[1])):
    out.write(b'\x01' + v(S * N) + v(k << 32) + v(len(body)) + body)
PY
}
copy_bomb 60 >bomb60.zst
mkdir b4 && cp t0.tar "b4/$F" && "$PVEDIFF" -q --config c.conf backup "b4/$F"
cp bomb60.zst "b4/$D.zst"
run "row 4: verify (the full's manifest gives its size)" '1' "copies the full's bytes .*has only $(stat -c %s t0.tar) bytes" \
  "$PVEDIFF" -q verify b4
run "row 4: restore" '3' "copies the full's bytes .*has only" "$PVEDIFF" restore "b4/$D.zst" -o "$WORK/b4.tar"
check "row 4: restore left no output" test ! -e b4.tar
# Without any manifest the plan itself must stay bounded: the copies are planned, then
# the first window finds the full too short.
rm "b4/$F.pvediff-manifest"
run "row 4: patch (no manifest: bounded plan)" '3' "has only [0-9]+ bytes" \
  "$PVEDIFF" patch --base "b4/$F" --delta "b4/$D.zst" -o "$WORK/b4-patched.tar"
run "row 4: verify without manifests" '1' "has only [0-9]+ bytes" "$PVEDIFF" -q verify b4
if ((rss_checks)); then
  rss=$(max_rss_kib "$PVEDIFF" patch --base "b4/$F" --delta "b4/$D.zst" -o "$WORK/b4-patched2.tar")
  echo "   row 4: patch without manifests peaked at $((rss / 1024)) MiB"
  check "row 4: patch without manifests stays below 300 MiB resident (got $((rss / 1024)) MiB)" test "$rss" -lt $((300 << 10))
fi

# --- row 5: RUN windows of 16 MiB -------------------------------------------------------
# WINDOWS windows, each one RUN of 16 MiB of "A".
run_bomb() {
  python3 - "$1" <<'PY' | zstd -19 -q
import sys
exec(open('vcd.py').read())
T = 16 << 20; i = b'\0' + v(T); b = v(T) + b'\0' + v(1) + v(len(i)) + v(0) + b'A' + i
header()
for _ in range(int(sys.argv[1])): out.write(b'\0' + v(len(b)) + b)
PY
}
run_bomb 65536 >run1t.zst  # 1 TiB
run_bomb 64 >run1g.zst     # 1 GiB
# With the real differential's manifest (it records 2.1 MB): refused before any output.
mkdir b5 && cp t0.tar "b5/$F" && "$PVEDIFF" -q --config c.conf backup "b5/$F"
cp run1g.zst "b5/$D.zst"
sed "s/^file: .*/file: $D.zst/" "d/$D.pvediff-manifest" >"b5/$D.zst.pvediff-manifest"
run "row 5: restore with a manifest" '3' "more than the $(stat -c %s t1.tar) bytes of the archive" \
  "$PVEDIFF" restore "b5/$D.zst" -o "$WORK/b5.tar"
check "row 5: nothing restored" test ! -e b5.tar
run "row 5: verify with a manifest" '1' "more than the $(stat -c %s t1.tar) bytes" "$PVEDIFF" -q verify b5
# Without a manifest: copies and runs may make 4 x the full + 4 GiB, then it stops.
rm "b5/$D.zst.pvediff-manifest" "b5/$F.pvediff-manifest"
cp run1t.zst "b5/$D.zst"
echo 0 >rc
{ "${limited[@]}" "$PVEDIFF" restore "b5/$D.zst" -o - 2>"$WORK/stderr" || echo $? >rc; } | wc -c >count
rc=$(cat rc) count=$(cat count)
echo "   row 5: without a manifest: rc $rc after $count bytes: $(head -c 300 "$WORK/stderr")"
check "row 5: without a manifest: exit status 3 (got $rc)" test "$rc" -eq 3
check "row 5: without a manifest: says why" grep -qE "larger than [0-9]+ bytes: more than 4 times the full" "$WORK/stderr"
check "row 5: without a manifest: stops within 4 GiB + 4 x the full ($count bytes)" \
  test "$count" -le $(((4 << 30) + 4 * $(stat -c %s t0.tar)))
# 1 GiB without a manifest is within the bound: it restores (exit 0), the bytes are right.
cp run1g.zst "b5/$D.zst"
echo 0 >rc
{ "${limited[@]}" "$PVEDIFF" patch --base "b5/$F" --delta "b5/$D.zst" -o - 2>/dev/null || echo $? >rc; } | sha256sum >sum
rc=$(cat rc)
want=$(python3 -c 'import hashlib,sys
h = hashlib.sha256(); b = b"A" * (16 << 20)
for _ in range(64): h.update(b)
print(h.hexdigest())')
check "row 5: 1 GiB of runs without a manifest still patches (rc $rc)" test "$rc" -eq 0
check "row 5: ... to the right bytes" test "$(cut -d' ' -f1 sum)" = "$want"

# --- row 6: a zstd frame with a 2 GiB window --------------------------------------------
mkdir b6
head -c 300M /dev/zero | zstd -q -1 --long=31 >b6/vzdump-qemu-500-2026_11_01-01_00_00.vma.zst
run "row 6: verify" '1' "window larger than 128 MiB" "$PVEDIFF" -q verify b6
run "row 6: restore" '3' "window larger than 128 MiB" "$PVEDIFF" restore \
  b6/vzdump-qemu-500-2026_11_01-01_00_00.vma.zst -o "$WORK/b6.vma"
if ((rss_checks)); then
  rss=$(max_rss_kib "$PVEDIFF" -q verify b6)
  echo "   row 6: verify peaked at $((rss / 1024)) MiB"
  check "row 6: verify stays below 100 MiB resident (got $((rss / 1024)) MiB)" test "$rss" -lt $((100 << 10))
fi
# The zstd command's default (no --long) still decodes: 128 MiB windows are accepted.
head -c 50M /dev/urandom >rnd
zstd -q --long=27 <rnd >b6/vzdump-qemu-501-2026_11_01-01_00_00.vma.zst
"${limited[@]}" "$PVEDIFF" restore b6/vzdump-qemu-501-2026_11_01-01_00_00.vma.zst -o - >b6-27.vma 2>/dev/null || true
check "row 6: a 128 MiB window (zstd --long=27) still decodes exactly" test "$(sha_of b6-27.vma 2>/dev/null)" = "$(sha_of rnd)"

# --- lzop: a block header claiming 64 MiB -------------------------------------------------
mkdir bl
head -c 100K /dev/urandom | lzop -c >lz
python3 - <<'PY'
# lzop's header is followed by the first block: uncompressed and compressed length
# (big-endian). Claim the largest block lzop allows, with the data cut short.
data = bytearray(open('lz', 'rb').read())
# The header ends after the file name and its checksum; lzop writes 9 magic bytes, then
# version fields, method, level, flags, mode, mtime (x2), name length and name, checksum.
import struct
pos = 9 + 2 + 2 + 2 + 1 + 1 + 4 + 4 + 4 + 4
pos += 1 + data[pos] + 4
data[pos:pos + 8] = struct.pack('>II', 64 << 20, (64 << 20) - 1)
open('bl/vzdump-lxc-300-2026_11_01-01_00_00.tar.lzo', 'wb').write(bytes(data[:pos + 100000]))
PY
run "lzop: a 64 MiB block cut short" '1' "lzop|truncated|unexpected end" "$PVEDIFF" -q verify bl

# --- VMA: huge devices in the header, clusters named far apart ----------------------------
# vma.py OUT SIZES EXTENTS STRIDE: a VMA whose header lists devices of SIZES (bytes, comma
# separated) and EXTENTS extent headers of 59 zero clusters each (no data blocks), slot i
# naming cluster (i div devices) * STRIDE of device (i mod devices) + 1: with a stride of
# 65536 every slot falls on a new 8 KiB page of the verifier's bitmap.
cat >vma.py <<'PY'
import hashlib, struct, sys
out, sizes, extents, stride = sys.argv[1], [int(x) for x in sys.argv[2].split(',')], int(sys.argv[3]), int(sys.argv[4])
uuid = bytes(range(16))
blob = bytearray(b'\0')  # pointer 0 means "no name"
h = bytearray(12288)
for i, size in enumerate(sizes, 1):
    struct.pack_into('>I', h, 4096 + i * 32, len(blob))
    struct.pack_into('>Q', h, 4096 + i * 32 + 8, size)
    name = b'drive-scsi%d\0' % (i - 1)
    blob += struct.pack('<H', len(name)) + name
h += blob + bytes(-len(blob) % 512)
struct.pack_into('>4sI16sQ', h, 0, b'VMA\0', 1, uuid, 1700000000)
struct.pack_into('>III', h, 48, 12288, len(blob), len(h))
h[32:48] = hashlib.md5(h).digest()
with open(out, 'wb') as f:
    f.write(h)
    i = 0
    for _ in range(extents):
        e = bytearray(b'VMAE' + struct.pack('>HH', 0, 0) + uuid + bytes(16))
        for _ in range(59):
            dev, page = i % len(sizes) + 1, i // len(sizes)
            e += struct.pack('>Q', (dev << 32) | (page * stride) % (1 << 32))
            i += 1
        e[24:40] = hashlib.md5(e).digest()
        f.write(e)
PY
mkdir bv bv2 bv3
# 255 devices of 256 TiB (2^32 clusters, the most the format addresses) and 8,000 extents:
# 472,000 pages of 8 KiB (3.7 GB) for 4 MB of archive before.
python3 vma.py bv/vzdump-qemu-600-2026_11_01-01_00_00.vma "$(python3 -c 'print(",".join(["281474976710656"] * 255))')" 8000 65536
run "vma: 255 devices of 256 TiB, scattered clusters" '1' \
  "offset 4136: vma header: devices add up to 281474976710656 bytes at device drive-scsi0, more than the 70368744177664 bytes whose coverage verify checks" \
  "$PVEDIFF" -q verify bv
# One device of 256 TiB and a cluster on each of its 65,536 pages: 512 MiB before.
python3 vma.py bv2/vzdump-qemu-601-2026_11_01-01_00_00.vma 281474976710656 1111 65536
run "vma: one device of 256 TiB, every bitmap page touched" '1' "more than the 70368744177664 bytes" \
  "$PVEDIFF" -q verify bv2
# At the cap (64 TiB of disks): every one of the 16,384 pages touched (128 MiB of bitmap,
# the bound); the next slots (from slot 41 of extent 277) name clusters past the device's
# end: refused at each slot's offset.
python3 vma.py bv3/vzdump-qemu-602-2026_11_01-01_00_00.vma 70368744177664 278 65536
run "vma: 64 TiB device, every page touched, a cluster past its end" '1' \
  "offset $((12800 + 277 * 512 + 40 + 41 * 8)): cluster 1073741824 past the end of device drive-scsi0" \
  "$PVEDIFF" -q verify bv3
if ((rss_checks)); then
  for dir in bv bv2 bv3; do
    rss=$(max_rss_kib "$PVEDIFF" -q verify "$dir")
    echo "   vma $dir: verify peaked at $((rss / 1024)) MiB"
    check "vma $dir: verify stays below 200 MiB resident (got $((rss / 1024)) MiB)" test "$rss" -lt $((200 << 10))
  done
fi
