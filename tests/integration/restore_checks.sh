#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-or-later
# The content checks of `pvediff restore DIFF` when it takes shortcuts: a full that a
# current `verify` record proves is not hashed again, and the windows' Adler-32 is not
# checked when the differential's manifest records the archive's SHA-256. Neither may
# let a wrong archive through: a full damaged after its verify, with its size and mtime
# put back (so the record still matches it), must still fail the restore, name the full,
# and leave no output file.
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

# Without a verify record: both SHA-256 are taken.
pvediff restore "$diff_file" -o - 2>"$WORK/err" | sha256sum | cut -d' ' -f1 >"$WORK/sha"
check "restore without a record gives the archive" test "$(cat "$WORK/sha")" = "$want"
check "and hashes the full" bash -c "! grep -q 'by its verify record' '$WORK/err'"
pvediff -q verify "$dump" >/dev/null
check "verify recorded the full" test -f "$full.pvediff-verified"
pvediff restore "$diff_file" -o - 2>"$WORK/err" | sha256sum | cut -d' ' -f1 >"$WORK/sha"
check "restore with a current record gives the archive" test "$(cat "$WORK/sha")" = "$want"
check "and takes the full as its record proves it" grep -q "content verified (the full by its verify record)" "$WORK/err"
pvediff -q restore "$diff_file" -o "$WORK/out/restored.vma"
check "restore -o FILE with a current record gives the archive" test "$(sha_of "$WORK/out/restored.vma")" = "$want"
rm -f "$WORK/out/restored.vma"

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

# Without the record the same damage is caught by the full's own SHA-256.
rm "$full.pvediff-verified"
pvediff restore "$diff_file" -o - >/dev/null 2>"$WORK/err" && rc=0 || rc=$?
check "without a record the damaged full fails too (got $rc)" test "$rc" -ne 0
check "with the same message" grep -q "is not the full" "$WORK/err"

# The full put back: restores again, and verify records it again.
cp -p "$WORK/full.orig" "$full"
check "the full put back restores" \
  test "$(pvediff -q restore "$diff_file" -o - | sha256sum | cut -d' ' -f1)" = "$want"
