#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-or-later
# A VMA full written by `pvediff backup -` in zstd is a sequence of zstd frames (one
# for the header, one per extent) with its cluster records beside it: the zstd tool
# reads it back to exactly the stream (checksums tested), the records file is whole
# (its trailing SHA-256), restore and verify pass, a differential against it restores,
# the compression threads change nothing in the bytes, prune removes the records with
# their full; a restore reads what its first windows need from far ahead in the full
# from its frames (only with records of this full); a tar full or an lzo full is
# written as before, without records.
source "$PVEDIFF_TEST_LIB/common.sh"
export TZ=UTC
t0=1790000000

conf=$WORK/pvediff.conf
printf 'fullbackup: 3\n' >"$conf"
img=$WORK/disk.img
disk_image "$img" 8M 5M 300
make_vma() {  # day -> $WORK/in.vma
  local day=$1
  head -c 8192 /dev/urandom | dd of="$img" bs=4096 seek=$((day * 97 % 1900)) conv=notrunc status=none
  "$PVEDIFF" dev-make-vma --image "$img" --order-seed "$day" --ctime "$((t0 + day * 86400))" -o "$WORK/in.vma"
}
backup() {  # dir day [config] [extra...]: feeds $WORK/in.vma raw
  local dir=$1 day=$2 config=${3:-$conf}
  shift 3 || shift $#
  "$PVEDIFF" --config "$config" backup - --vmid 101 --type qemu --dumpdir "$dir" \
    --now "$((t0 + day * 86400))" "$@" <"$WORK/in.vma" >"$WORK/out" 2>&1
}
# The records file ends with the SHA-256 of everything before it.
records_sealed() {
  local f=$1 want got
  want=$(head -c -32 "$f" | sha256sum | cut -d' ' -f1)
  got=$(tail -c 32 "$f" | od -An -v -tx1 | tr -d ' \n')
  [[ $want == "$got" ]]
}
frames_of() { zstd -lv "$1" 2>/dev/null | sed -n 's/^# Zstandard Frames: *//p'; }

dir=$WORK/dump
mkdir -p "$dir"
make_vma 0
want=$(sha_of "$WORK/in.vma")
backup "$dir" 0 || fail "day 0 backup: $(cat "$WORK/out")"
full=vzdump-qemu-101-$(stamp_of "$t0").vma.zst
check "the full is written" test -f "$dir/$full"
check "its cluster records are beside it" test -s "$dir/$full.pvediff-vma-clusters"
check "zstd -t passes on the framed full" zstd -q -t "$dir/$full"
check "zstd -dc gives exactly the stream" test "$(content_sha "$dir/$full")" = "$want"
frames=$(frames_of "$dir/$full")
# 8 MiB: 128 clusters in 3 extents (58 clusters each), and the header.
check "the full is one frame per extent and the header ($frames)" test "${frames:-0}" -eq 4
check "the records start with their magic" test "$(head -c 8 "$dir/$full.pvediff-vma-clusters")" = PVDXVMAC
check "the records end with their SHA-256" records_sealed "$dir/$full.pvediff-vma-clusters"
"$PVEDIFF" verify "$dir/$full" >"$WORK/verify" 2>&1 && ok "verify passes" || fail "verify: $(cat "$WORK/verify")"
"$PVEDIFF" restore "$dir/$full" -o "$WORK/restored.vma" >/dev/null 2>&1 || fail "restore of the full failed"
check "restore gives exactly the stream" test "$(sha_of "$WORK/restored.vma")" = "$want"
check "no temporary file" test -z "$(find "$dir" -name '*pvediff-tmp*')"

# The same stream with 3 compression threads: the same bytes, full and records.
dir3=$WORK/dump3
mkdir -p "$dir3"
printf 'fullbackup: 3\nzstd-threads: 3\n' >"$WORK/threads.conf"
backup "$dir3" 0 "$WORK/threads.conf" || fail "3 threads: $(cat "$WORK/out")"
check "3 threads write the same full" cmp -s "$dir/$full" "$dir3/$full"
check "and the same records" cmp -s "$dir/$full.pvediff-vma-clusters" "$dir3/$full.pvediff-vma-clusters"

# Day 1: a differential against the framed full.
make_vma 1
want1=$(sha_of "$WORK/in.vma")
backup "$dir" 1 || fail "day 1 backup: $(cat "$WORK/out")"
diff1=$full--differential-$(stamp_of "$((t0 + 86400))").vcdiff.zst
check "day 1 is a differential" test -f "$dir/$diff1"
"$PVEDIFF" restore "$dir/$diff1" -o "$WORK/restored1.vma" >/dev/null 2>&1 || fail "restore of day 1 failed"
check "day 1 restores exactly" test "$(sha_of "$WORK/restored1.vma")" = "$want1"

# Data moved far inside the guest: day 1 begins with what the full holds at its end, so
# the differential's first windows copy from there. Restore reads those ranges from the
# full's frames; reading the full forward to them would set aside the 80 MiB before
# them that later windows copy, more than the decoder holds in memory (64 MiB), spilled
# to disk and read back.
# Records that are not of the full are never used: the full is read forward.
dirm=$WORK/dump-moved
mkdir -p "$dirm"
imgm=$WORK/moved.img
head -c 96M /dev/urandom >"$imgm"
"$PVEDIFF" dev-make-vma --image "$imgm" --order-seed 0 --ctime "$t0" -o "$WORK/in.vma"
backup "$dirm" 0 || fail "moved, day 0: $(cat "$WORK/out")"
dd if="$imgm" of="$imgm" bs=1M skip=88 seek=0 count=8 conv=notrunc status=none
"$PVEDIFF" dev-make-vma --image "$imgm" --order-seed 1 --ctime "$((t0 + 86400))" -o "$WORK/in.vma"
wantm=$(sha_of "$WORK/in.vma")
backup "$dirm" 1 || fail "moved, day 1: $(cat "$WORK/out")"
diffm=$dirm/$full--differential-$(stamp_of "$((t0 + 86400))").vcdiff.zst
check "the moved day is a differential" test -f "$diffm"
restore_moved() {  # -> $WORK/moved.out (the restore's lines), $WORK/moved.vma
  "$PVEDIFF" restore "$diffm" -o - 2>"$WORK/moved.out" >"$WORK/moved.vma" ||
    fail "restore of the moved day: $(cat "$WORK/moved.out")"
}
restore_moved
check "it restores exactly" test "$(sha_of "$WORK/moved.vma")" = "$wantm"
check "reading the ranges far ahead from the full's frames ($(tail -1 "$WORK/moved.out"))" \
  grep -q 'frames\? of the full read by random access' "$WORK/moved.out"
"$PVEDIFF" patch --base "$dirm/$full" --delta "$diffm" -o - 2>"$WORK/moved.out" >"$WORK/moved.vma" ||
  fail "patch of the moved day: $(cat "$WORK/moved.out")"
check "patch too, exactly" test "$(sha_of "$WORK/moved.vma")" = "$wantm"
check "from the frames" grep -q 'read by random access' "$WORK/moved.out"
records=$dirm/$full.pvediff-vma-clusters
cp "$records" "$WORK/records.good"
absent() { ! grep -q "$1" "$2"; }
not_from_frames() {  # label
  restore_moved
  check "$1: restores exactly" test "$(sha_of "$WORK/moved.vma")" = "$wantm"
  check "$1: the full read forward" absent 'random access' "$WORK/moved.out"
}
# Another full's records (day 0 of the first dump dir): not of this content.
cp "$dir/$full.pvediff-vma-clusters" "$records"
not_from_frames "another full's records"
# Damaged: a byte of an extent's frame offset changed, the checksum no longer holds.
cp "$WORK/records.good" "$records"
flip "$records" $(($(stat -c %s "$records") / 2))
not_from_frames "damaged records"
# A symbolic link to the right records: names in a dump dir are not followed.
mv "$WORK/records.good" "$WORK/records.elsewhere"
ln -sf "$WORK/records.elsewhere" "$records"
not_from_frames "records behind a symlink"
rm -f "$records"
not_from_frames "no records"

# Day 4: a new full (fullbackup 3), then prune keeps the last chain: the records of
# day 0's full go with it.
make_vma 4
backup "$dir" 4 || fail "day 4 backup: $(cat "$WORK/out")"
full4=vzdump-qemu-101-$(stamp_of "$((t0 + 4 * 86400))").vma.zst
check "day 4 is a framed full with records" test -s "$dir/$full4.pvediff-vma-clusters"
"$PVEDIFF" prune "$dir" --keep-last 1 >"$WORK/prune" 2>&1 || fail "prune: $(cat "$WORK/prune")"
check "prune removed day 0's full" test ! -e "$dir/$full"
check "and its records" test ! -e "$dir/$full.pvediff-vma-clusters"
check "day 4's records stay" test -s "$dir/$full4.pvediff-vma-clusters"

# A full in lzo is one stream, without records.
dirl=$WORK/dump-lzo
mkdir -p "$dirl"
backup "$dirl" 0 "$conf" --compress lzo || fail "lzo full: $(cat "$WORK/out")"
fulll=vzdump-qemu-101-$(stamp_of "$t0").vma.lzo
check "an lzo full is written" test -f "$dirl/$fulll"
check "without cluster records" test -z "$(find "$dirl" -name '*.pvediff-vma-clusters')"

# A failure between the full's commit and its records': neither is left.
dirf=$WORK/dump-fault
mkdir -p "$dirf"
rc=0
PVEDIFF_FAULT_AT=before-records-committed "$PVEDIFF" --config "$conf" backup - --vmid 101 --type qemu --dumpdir "$dirf" \
  --now "$t0" <"$WORK/in.vma" >"$WORK/out" 2>&1 || rc=$?
check "a failure after the full's commit fails the run (exit $rc)" test "$rc" -eq 3
check "and removes the full, leaving nothing" test -z "$(find "$dirf" -type f ! -name '.pvediff-lock*')"

# A cut stream: nothing under a final name, no records.
dirc=$WORK/dump-cut
mkdir -p "$dirc"
head -c $(($(stat -c %s "$WORK/in.vma") / 2)) "$WORK/in.vma" >"$WORK/cut.vma"
rc=0
"$PVEDIFF" --config "$conf" backup - --vmid 101 --type qemu --dumpdir "$dirc" --now "$t0" \
  <"$WORK/cut.vma" >"$WORK/out" 2>&1 || rc=$?
check "a cut stream fails (exit $rc)" test "$rc" -ne 0
check "and leaves nothing" test -z "$(find "$dirc" -type f ! -name '.pvediff-lock*')"
