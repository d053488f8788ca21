#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-or-later
# `backup` proves a differential from the encoder's one read instead of decoding it
# against the full again (docs/engine.md, "Proof instead of a second decode"). The
# written file is still read back: one damaged between its write and that check
# (PVEDIFF_FAULT_AT=differential-written:damage flips a byte in it) is not committed,
# in file mode and in stream mode; and a full whose content changed since its manifest
# is still refused (on the encoder's read of it: by its index's XXH3-128, or its SHA-256).
source "$PVEDIFF_TEST_LIB/common.sh"
export TZ=UTC

t0=1790000000
conf=$WORK/pvediff.conf
printf 'fullbackup: 7\nmax-diff-ratio: 0.9\n' >"$conf"

source "$PVEDIFF_TEST_LIB/vm_days.sh"
vma_days 0 1 2
restores_to() {  # FILE DAY
  "$PVEDIFF" restore "$1" -o - >"$WORK/restored" 2>"$WORK/restore.err" &&
    test "$(sha_of "$WORK/restored")" = "${want[$2]}"
}
full0=vzdump-qemu-101-$(stamp_of $t0).vma.zst
temps_in() { find "$1" -name '*pvediff-tmp*' | wc -l; }

# ---- file mode: damaged after the write ---------------------------------------------------
dir=$WORK/file; mkdir -p "$dir"
cp "$WORK/in-0.zst" "$dir/$full0"
"$PVEDIFF" --config "$conf" backup "$dir/$full0" >/dev/null
a1=$dir/vzdump-qemu-101-$(stamp_of "$((t0 + 86400))").vma.zst
cp "$WORK/in-1.zst" "$a1"
sha_a1=$(sha_of "$a1")
rc=0; PVEDIFF_FAULT_AT=differential-written:damage "$PVEDIFF" --config "$conf" backup "$a1" >"$WORK/out" 2>&1 || rc=$?
check "file, damaged: fails with exit 3 (got $rc)" test "$rc" -eq 3
check "file, damaged: says the verification failed" grep -q "verification failed" "$WORK/out" || cat "$WORK/out" >&2
check "file, damaged: the archive is in place, same bytes" test "$(sha_of "$a1")" = "$sha_a1"
check "file, damaged: no differential" test -z "$(find "$dir" -name '*differential*')"
check "file, damaged: no temporary file" test "$(temps_in "$dir")" -eq 0
rc=0; "$PVEDIFF" --config "$conf" backup "$a1" >"$WORK/out" 2>&1 || rc=$?
check "file, the same run again: succeeds (exit $rc)" test "$rc" -eq 0; ((rc == 0)) || cat "$WORK/out" >&2
check "file, the same run again: days 0 and 1 restore exactly" chain_ok "$dir" 101 0 1

# ---- file mode: the full changed since its manifest ---------------------------------------
dir=$WORK/changed-full; mkdir -p "$dir"
cp "$WORK/in-0.zst" "$dir/$full0"
"$PVEDIFF" --config "$conf" backup "$dir/$full0" >/dev/null
zstd -q -c <"$WORK/raw-2.vma" >"$dir/$full0.new" && mv "$dir/$full0.new" "$dir/$full0"  # same name, other content
a1=$dir/vzdump-qemu-101-$(stamp_of "$((t0 + 86400))").vma.zst
cp "$WORK/in-1.zst" "$a1"
sha_a1=$(sha_of "$a1")
rc=0; "$PVEDIFF" --config "$conf" backup "$a1" >"$WORK/out" 2>&1 || rc=$?
check "changed full: refused (exit $rc)" test "$rc" -eq 3
check "changed full: says the full changed" grep -q "it was replaced or changed" "$WORK/out"
check "changed full: the archive is in place, same bytes" test "$(sha_of "$a1")" = "$sha_a1"
check "changed full: no differential" test -z "$(find "$dir" -name '*differential*')"

# ---- file mode: one byte of the full changed, the same size --------------------------------
# The encoder checks the full as read against its index's XXH3-128 instead of taking
# its SHA-256 (docs/engine.md): a full damaged where no copy reads it is refused too.
dir=$WORK/byte-of-full; mkdir -p "$dir"
cp "$WORK/in-0.zst" "$dir/$full0"
"$PVEDIFF" --config "$conf" backup "$dir/$full0" >/dev/null
check "byte of the full: its index knows the content's XXH3-128 (version 5)" \
  test "$(od -An -tu4 -j8 -N4 "$dir/$full0.pvediff-index" | tr -d ' ')" = 5
zstd -q -d -c "$dir/$full0" >"$WORK/full0.raw"
# A byte of the VMA header's uuid: each day has its own, so no copy reads it.
printf 'X' | dd of="$WORK/full0.raw" bs=1 seek=12 conv=notrunc status=none
zstd -q -c <"$WORK/full0.raw" >"$dir/$full0.new" && mv "$dir/$full0.new" "$dir/$full0"
a1=$dir/vzdump-qemu-101-$(stamp_of "$((t0 + 86400))").vma.zst
cp "$WORK/in-1.zst" "$a1"
sha_a1=$(sha_of "$a1")
rc=0; "$PVEDIFF" --config "$conf" backup "$a1" >"$WORK/out" 2>&1 || rc=$?
check "byte of the full: refused (exit $rc)" test "$rc" -eq 3
check "byte of the full: says the full changed" grep -q "it was replaced or changed" "$WORK/out" ||
  cat "$WORK/out" >&2
check "byte of the full: the archive is in place, same bytes" test "$(sha_of "$a1")" = "$sha_a1"
check "byte of the full: no differential" test -z "$(find "$dir" -name '*differential*')"

# ---- stream mode: damaged after the write -------------------------------------------------
stream() {  # DIR DAY
  "$PVEDIFF" --config "$conf" backup - --vmid 101 --type qemu --dumpdir "$1" \
    --now "$((t0 + $2 * 86400))" <"$WORK/in-$2.zst"
}
dir=$WORK/stream; mkdir -p "$dir"
stream "$dir" 0 >/dev/null
rc=0; PVEDIFF_FAULT_AT=differential-written:damage stream "$dir" 1 >"$WORK/out" 2>&1 || rc=$?
check "stream, damaged: fails with exit 3 (got $rc)" test "$rc" -eq 3
check "stream, damaged: says the verification failed" grep -q "verification failed" "$WORK/out"
check "stream, damaged: no differential" test -z "$(find "$dir" -name '*differential*')"
check "stream, damaged: no temporary file" test "$(temps_in "$dir")" -eq 0
rc=0; stream "$dir" 2 >"$WORK/out" 2>&1 || rc=$?
check "stream, next run: succeeds (exit $rc)" test "$rc" -eq 0; ((rc == 0)) || cat "$WORK/out" >&2
check "stream, next run: days 0 and 2 restore exactly" chain_ok "$dir" 101 0 2

# ---- a small pair where plain xdelta3's delta is the smaller one --------------------------
# Inputs of at most 32 MiB also go through plain xdelta3 and the smaller delta is kept
# (smaller_of_encoder.h); the proof does not cover xdelta3's delta, so that one is
# decoded against the full instead. Shuffled 4 KiB blocks of random bytes in a tar
# member: the chunked encoder's far copies cost more than xdelta3's.
dir=$WORK/xdelta3-kept; mkdir -p "$dir/src"
python3 - "$dir/src" <<'PY'
import os, random, sys
blocks = [os.urandom(4096) for _ in range(100)]
open(os.path.join(sys.argv[1], "day0"), "wb").write(b"".join(blocks))
random.Random(7).shuffle(blocks)
open(os.path.join(sys.argv[1], "day1"), "wb").write(b"".join(blocks))
PY
for day in 0 1; do
  cp "$dir/src/day$day" "$dir/src/data"
  tar -C "$dir/src" --format=gnu --mtime=@"$t0" --owner=0 --group=0 -cf "$WORK/ct-$day.tar" data
  ct[$day]=$dir/vzdump-lxc-102-$(stamp_of "$((t0 + day * 86400))").tar.zst
  zstd -q -c <"$WORK/ct-$day.tar" >"${ct[$day]}"
done
"$PVEDIFF" --config "$conf" backup "${ct[0]}" >/dev/null
rc=0; "$PVEDIFF" --config "$conf" backup "${ct[1]}" >"$WORK/out" 2>&1 || rc=$?
check "xdelta3 kept: backup succeeds (exit $rc)" test "$rc" -eq 0; ((rc == 0)) || cat "$WORK/out" >&2
diff1=$(find "$dir" -name '*--differential-*' | head -1)
check "xdelta3 kept: a differential is committed" test -n "$diff1"
"$PVEDIFF" restore "$diff1" -o - 2>/dev/null >"$WORK/ct-restored"
check "xdelta3 kept: it restores to day 1's tar exactly" test "$(sha_of "$WORK/ct-restored")" = "$(sha_of "$WORK/ct-1.tar")"
