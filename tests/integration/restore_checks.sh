#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-or-later
# The content checks of `pvediff restore DIFF`: only the rebuilt archive is hashed
# (against the differential's manifest), never the full up front. That must not let a
# wrong archive through: a full damaged after it was made and verified, with its size
# and mtime put back (so neither the manifest nor the verify record can tell), must
# still fail the restore, name the full, and leave no output file.
source "$PVEDIFF_TEST_LIB/common.sh"

dump=$WORK/dump
mkdir -p "$dump" "$WORK/out"
echo "# empty: built-in defaults" >"$WORK/pvediff.conf"
pvediff() { "$PVEDIFF" --config "$WORK/pvediff.conf" "$@"; }

source "$PVEDIFF_TEST_LIB/vm_days.sh"
vm_disk_init
make_vma 0
make_vma 1
# Raw (uncompressed) archives, so that one byte of the full can change in place.
full=$dump/vzdump-qemu-101-2026_11_20-01_00_00.vma
cp "$WORK/vm-0.vma" "$full"
cp "$WORK/vm-1.vma" "$dump/vzdump-qemu-101-2026_11_21-01_00_00.vma"
pvediff -q backup --fullbackup 7 "$full"
pvediff -q backup --fullbackup 7 "$dump/vzdump-qemu-101-2026_11_21-01_00_00.vma"
diff_file=$full--differential-2026_11_21-01_00_00.vcdiff  # a raw archive: a raw differential
check "a differential with a manifest was made" test -f "$diff_file.pvediff-manifest"
want=$(sha_of "$WORK/vm-1.vma")

pvediff restore "$diff_file" -o - 2>"$WORK/err" | sha256sum | cut -d' ' -f1 >"$WORK/sha"
check "restore -o - gives the archive" test "$(cat "$WORK/sha")" = "$want"
check "and says it verified the content" grep -q "content verified" "$WORK/err"
pvediff -q verify "$dump" >/dev/null
check "verify recorded the full" test -f "$full.pvediff-verified"
pvediff -q restore "$diff_file" -o "$WORK/out/restored.vma"
check "restore -o FILE gives the archive" test "$(sha_of "$WORK/out/restored.vma")" = "$want"
rm -f "$WORK/out/restored.vma"
# An existing output is refused, but for a character device or a FIFO: written into as
# it is (`-o /dev/null` to try a restore), never replaced. A null device of the test's
# own, so a failure cannot harm the machine's.
printf 'keep me' >"$WORK/out/taken.vma"
rc=0; pvediff -q restore "$diff_file" -o "$WORK/out/taken.vma" 2>"$WORK/err" || rc=$?
check "restore -o an existing file: refused (got $rc), the file kept" \
  test "$rc" -ne 0 -a "$(cat "$WORK/out/taken.vma")" = "keep me"
rm -f "$WORK/out/taken.vma"
if mknod "$WORK/out/null" c 1 3 2>/dev/null; then
  rc=0; pvediff -q restore "$diff_file" -o "$WORK/out/null" 2>"$WORK/err" || rc=$?
  check "restore -o a character device: done (got $rc), still a device" test "$rc" -eq 0 -a -c "$WORK/out/null"
  rm -f "$WORK/out/null"
else
  echo "skipped: mknod needs root"
fi
mkfifo "$WORK/out/fifo"
timeout 60 cat "$WORK/out/fifo" >"$WORK/from-fifo" &
reader=$!
timeout 60 "$PVEDIFF" -q restore "$diff_file" -o "$WORK/out/fifo"
wait "$reader"
check "restore -o a FIFO: the archive goes through it, the FIFO stays" \
  test -p "$WORK/out/fifo" -a "$(sha_of "$WORK/from-fifo")" = "$want"
rm -f "$WORK/out/fifo"
# --pve-name chooses the name itself, in a directory others may write: a FIFO that has
# it is refused like any file, not written into, and gets no restored-copy marker.
mkdir -p "$WORK/pve"
mkfifo "$WORK/pve/vzdump-qemu-101-2026_11_21-01_00_00.vma"
timeout 20 cat "$WORK/pve/vzdump-qemu-101-2026_11_21-01_00_00.vma" >"$WORK/from-fifo" &
reader=$!
rc=0; timeout 20 "$PVEDIFF" --config "$WORK/pvediff.conf" -q restore "$diff_file" --pve-name "$WORK/pve" \
  2>"$WORK/err" || rc=$?
check "restore --pve-name onto a FIFO: refused (got $rc), as existing" \
  bash -c "test $rc -eq 3 && grep -q 'exists already' '$WORK/err'"
check "...the FIFO stays, nothing went through it, no marker" \
  bash -c "test -p '$WORK/pve/vzdump-qemu-101-2026_11_21-01_00_00.vma' && test ! -s '$WORK/from-fifo' &&
    test ! -e '$WORK/pve/vzdump-qemu-101-2026_11_21-01_00_00.vma.pvediff-restored'"
exec 3<>"$WORK/pve/vzdump-qemu-101-2026_11_21-01_00_00.vma"  # lets the waiting reader go
exec 3>&-
wait "$reader" || true
rm -rf "$WORK/pve"

# Damage one byte in the middle of the full, where the differential copies from, and
# put its mtime back: size and mtime are the record's, the content is not.
cp -p "$full" "$WORK/full.orig"
size=$(stat -c %s "$full")
offset=$((size / 2))
byte=$(od -An -tu1 -j "$offset" -N1 "$full" | tr -d ' ')
printf "$(printf '\\%03o' $(((byte + 1) % 256)))" | dd of="$full" bs=1 seek="$offset" conv=notrunc status=none
touch -r "$WORK/full.orig" "$full"
check "the damaged full has the recorded size and mtime" \
  test "$(stat -c '%s %Y' "$full")" = "$(stat -c '%s %Y' "$WORK/full.orig")"
check "and another content" test "$(sha_of "$full")" != "$(sha_of "$WORK/full.orig")"

pvediff restore "$diff_file" -o - >"$WORK/stdout" 2>"$WORK/err" && rc=0 || rc=$?
check "restore -o - of the damaged full fails (got $rc)" test "$rc" -ne 0
check "its message names the full" grep -q "vzdump-qemu-101-2026_11_20-01_00_00.vma' is not the full" "$WORK/err"
pvediff restore "$diff_file" -o "$WORK/out/restored.vma" 2>"$WORK/err" && rc=0 || rc=$?
check "restore -o FILE of the damaged full fails (got $rc)" test "$rc" -ne 0
check "and leaves no output file" test -z "$(ls -A "$WORK/out")"

# The same without the verify record.
rm "$full.pvediff-verified"
pvediff restore "$diff_file" -o - >/dev/null 2>"$WORK/err" && rc=0 || rc=$?
check "without a record the damaged full fails too (got $rc)" test "$rc" -ne 0
check "with the same message" grep -q "is not the full" "$WORK/err"

# The full put back: restores again, and verify records it again.
cp -p "$WORK/full.orig" "$full"
check "the full put back restores" \
  test "$(pvediff -q restore "$diff_file" -o - | sha256sum | cut -d' ' -f1)" = "$want"
