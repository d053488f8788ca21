#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-or-later
# frame-fulls: a VMA full in zstd that vzdump wrote (one zstd stream) is written again in
# frames with its cluster records when `backup` keeps it: the same content, the file's
# mode and owner, read by stock zstd; restores of its differentials then read what lies
# far ahead from its frames. frame-fulls: 0, a tar or an lzo full leave the file as it
# is. A copy that cannot be written, reads back with other content, or is cut short by
# a kill leaves vzdump's file as it was, nothing else, and the backup still passes.
source "$PVEDIFF_TEST_LIB/common.sh"
export TZ=UTC
t0=1790000000

conf=$WORK/pvediff.conf
printf 'fullbackup: 3\n' >"$conf"
img=$WORK/disk.img
disk_image "$img" 8M 5M 300
"$PVEDIFF" dev-make-vma --image "$img" --order-seed 0 --ctime "$t0" -o "$WORK/day0.vma"
zstd -q -c "$WORK/day0.vma" >"$WORK/day0.vma.zst"  # as vzdump writes it: one stream
want=$(sha_of "$WORK/day0.vma")
full=vzdump-qemu-101-$(stamp_of "$t0").vma.zst
frames_of() { zstd -lv "$1" 2>/dev/null | sed -n 's/^# Zstandard Frames: *//p'; }
no_temps() { test -z "$(find "$1" -name '*pvediff-tmp*')"; }
put_full() {  # dir: vzdump's day-0 archive, mode 640, owned by 1234:5678
  mkdir -p "$1"
  cp "$WORK/day0.vma.zst" "$1/$full"
  chmod 640 "$1/$full"
  chown 1234:5678 "$1/$full"
}
keep() {  # dir [config]: pvediff keeps the archive as a full; its JSON in $WORK/json
  "$PVEDIFF" --config "${2:-$conf}" backup --json "$1/$full" >"$WORK/json" 2>"$WORK/out"
}
json_frames() {  # -> "written:<true|false>" or "null", from $WORK/json
  python3 -c 'import json,sys; f=json.load(open(sys.argv[1]))["frames"]
print("null" if f is None else "written:" + str(f["written"]).lower())' "$WORK/json"
}
left_as_is() {  # label dir
  check "$1: the archive is left as vzdump wrote it" cmp -s "$WORK/day0.vma.zst" "$2/$full"
  check "$1: without records" test ! -e "$2/$full.pvediff-vma-clusters"
  check "$1: no temporary file" no_temps "$2"
}

dir=$WORK/dump
put_full "$dir"
keep "$dir" || fail "keeping the full: $(cat "$WORK/out")"
check "the run says the full was written in frames ($(tail -1 "$WORK/out"))" \
  grep -q 'written again in zstd frames with its cluster records' "$WORK/out"
frames=$(frames_of "$dir/$full")
check "it is one frame per extent and the header now ($frames)" test "${frames:-0}" -eq 4
check "the JSON says so ($(json_frames))" test "$(json_frames)" = written:true
check "and gives the full's size after it" \
  test "$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["file_size"])' "$WORK/json")" \
  -eq "$(stat -c %s "$dir/$full")"
check "its cluster records are beside it" test -s "$dir/$full.pvediff-vma-clusters"
check "zstd -t passes" zstd -q -t "$dir/$full"
check "zstd -dc gives exactly vzdump's content" test "$(content_sha "$dir/$full")" = "$want"
check "the full keeps its mode and owner" test "$(stat -c %a:%u:%g "$dir/$full")" = 640:1234:5678
check "and so do its records" test "$(stat -c %a:%u:%g "$dir/$full.pvediff-vma-clusters")" = 640:1234:5678
check "no temporary file" no_temps "$dir"
"$PVEDIFF" verify "$dir/$full" >"$WORK/verify" 2>&1 && ok "verify passes" || fail "verify: $(cat "$WORK/verify")"

# A differential larger than max-diff-ratio allows: the archive stays a full, and is
# written in frames like any full kept.
printf 'fullbackup: 3\nmax-diff-ratio: 0.0001\n' >"$WORK/ratio.conf"
head -c 8192 /dev/urandom | dd of="$img" bs=4096 seek=300 conv=notrunc status=none
"$PVEDIFF" dev-make-vma --image "$img" --order-seed 1 --ctime "$((t0 + 86400))" -o "$WORK/day1.vma"
day1=vzdump-qemu-101-$(stamp_of "$((t0 + 86400))").vma.zst
zstd -q -c "$WORK/day1.vma" >"$dir/$day1"
"$PVEDIFF" --config "$WORK/ratio.conf" backup "$dir/$day1" >"$WORK/out" 2>&1 || fail "ratio: $(cat "$WORK/out")"
check "a differential too large keeps the archive as a full, in frames ($(grep -c . "$WORK/out") lines)" \
  grep -q 'kept as full (the differential is .*written again in zstd frames' "$WORK/out"
check "with the same content" test "$(content_sha "$dir/$day1")" = "$(sha_of "$WORK/day1.vma")"
check "and its records" test -s "$dir/$day1.pvediff-vma-clusters"

# The setting off, a tar, an lzo VMA: left as they are.
printf 'fullbackup: 3\nframe-fulls: 0\n' >"$WORK/off.conf"
put_full "$WORK/off"
keep "$WORK/off" "$WORK/off.conf" || fail "frame-fulls 0: $(cat "$WORK/out")"
left_as_is "frame-fulls: 0" "$WORK/off"
check "frame-fulls: 0: the JSON's frames are null" test "$(json_frames)" = null
mkdir -p "$WORK/lzo"
lzop -q -c "$WORK/day0.vma" >"$WORK/lzo/vzdump-qemu-101-$(stamp_of "$t0").vma.lzo"
cp "$WORK/lzo/vzdump-qemu-101-$(stamp_of "$t0").vma.lzo" "$WORK/day0.vma.lzo"
"$PVEDIFF" --config "$conf" backup "$WORK/lzo/vzdump-qemu-101-$(stamp_of "$t0").vma.lzo" >"$WORK/out" 2>&1 ||
  fail "lzo full: $(cat "$WORK/out")"
check "an lzo VMA is left as it is" cmp -s "$WORK/day0.vma.lzo" "$WORK/lzo/vzdump-qemu-101-$(stamp_of "$t0").vma.lzo"
check "without records" test -z "$(find "$WORK/lzo" -name '*.pvediff-vma-clusters')"
mkdir -p "$WORK/tar/src"
cp "$img" "$WORK/tar/src/"
tarfull=$WORK/tar/vzdump-lxc-102-$(stamp_of "$t0").tar.zst
tar -C "$WORK/tar/src" -cf - . | zstd -q -c >"$tarfull"
cp "$tarfull" "$WORK/day0.tar.zst"
"$PVEDIFF" --config "$conf" backup "$tarfull" >"$WORK/out" 2>&1 || fail "tar full: $(cat "$WORK/out")"
check "a tar is left as it is" cmp -s "$WORK/day0.tar.zst" "$tarfull"
check "without records" test -z "$(find "$WORK/tar" -name '*.pvediff-vma-clusters')"

# A dump dir without room for the copy and as much again: not written, the dump dir's
# last space left to others (needs a tmpfs mount: root in this container).
mnt=$WORK/small
mounts=()
trap 'rc=$?; set +e; for m in "${mounts[@]}"; do umount "$m" 2>/dev/null || umount -l "$m"; done; (exit $rc); finish' EXIT
mkdir -p "$mnt"
size_kib=$(( $(stat -c %s "$WORK/day0.vma.zst") / 1024 + 512 ))
if ! mount -t tmpfs -o size=${size_kib}k tmpfs "$mnt" 2>"$WORK/mount.err"; then
  echo "skipped: a dump dir without room (mount not permitted: $(cat "$WORK/mount.err"))"
else
  mounts+=("$mnt")
  put_full "$mnt"
  keep "$mnt" || fail "no room: the backup failed: $(cat "$WORK/out")"
  check "no room: the run says why ($(grep -o 'not written in frames.*' "$WORK/out"))" \
    grep -q 'not written in frames (.*free: a copy of .* is written only where as much again stays free)' "$WORK/out"
  left_as_is "no room" "$mnt"
  check "no room: the full is kept all the same" test -s "$mnt/$full.pvediff-manifest"
  umount "$mnt" && mounts=()
fi

# Failures: the copy cannot be put in place, it reads back damaged, the run is killed.
for fault in before-full-framed full-framed:damage; do
  d=$WORK/fault-${fault%%:*}
  put_full "$d"
  PVEDIFF_FAULT_AT=$fault keep "$d" || fail "$fault: the backup failed: $(cat "$WORK/out")"
  check "$fault: the run says why ($(grep -o 'not written in frames.*' "$WORK/out"))" \
    grep -q 'not written in frames (.*); kept as vzdump wrote it' "$WORK/out"
  left_as_is "$fault" "$d"
  check "$fault: the full is kept all the same" test -s "$d/$full.pvediff-manifest"
  check "$fault: the JSON says it was not written in frames" test "$(json_frames)" = written:false
done
d=$WORK/fault-kill
put_full "$d"
rc=0; PVEDIFF_FAULT_AT=before-full-framed:kill keep "$d" || rc=$?
check "killed before the copy takes the full's name (exit $rc)" test "$rc" -ne 0
check "killed: the archive is left as vzdump wrote it" cmp -s "$WORK/day0.vma.zst" "$d/$full"
keep "$d" || fail "the run after the kill: $(cat "$WORK/out")"
check "the next run writes it in frames" grep -q 'written again in zstd frames' "$WORK/out"
check "and leaves no temporary file" no_temps "$d"
check "with the same content" test "$(content_sha "$d/$full")" = "$want"

# End to end: data moved far inside the guest (day 1 begins with what the full holds
# at its end). The differential's restore reads that from the full's frames instead of
# setting aside the 80 MiB before it.
dirm=$WORK/moved
mkdir -p "$dirm"
imgm=$WORK/moved.img
head -c 96M /dev/urandom >"$imgm"
"$PVEDIFF" dev-make-vma --image "$imgm" --order-seed 0 --ctime "$t0" -o "$WORK/in.vma"
zstd -q -c "$WORK/in.vma" >"$dirm/$full"
keep "$dirm" || fail "moved, day 0: $(cat "$WORK/out")"
check "the moved guest's full is written in frames" grep -q 'written again in zstd frames' "$WORK/out"
dd if="$imgm" of="$imgm" bs=1M skip=88 seek=0 count=8 conv=notrunc status=none
"$PVEDIFF" dev-make-vma --image "$imgm" --order-seed 1 --ctime "$((t0 + 86400))" -o "$WORK/in.vma"
wantm=$(sha_of "$WORK/in.vma")
day1=vzdump-qemu-101-$(stamp_of "$((t0 + 86400))").vma.zst
zstd -q -c "$WORK/in.vma" >"$dirm/$day1"
"$PVEDIFF" --config "$conf" backup "$dirm/$day1" >"$WORK/out" 2>&1 || fail "moved, day 1: $(cat "$WORK/out")"
diffm=$dirm/$full--differential-$(stamp_of "$((t0 + 86400))").vcdiff.zst
check "day 1 is a differential" test -f "$diffm"
"$PVEDIFF" restore "$diffm" -o - 2>"$WORK/moved.out" >"$WORK/moved.vma" ||
  fail "restore of the moved day: $(cat "$WORK/moved.out")"
check "it restores exactly" test "$(sha_of "$WORK/moved.vma")" = "$wantm"
check "reading the ranges far ahead from the full's frames" grep -q 'read by random access' "$WORK/moved.out"
