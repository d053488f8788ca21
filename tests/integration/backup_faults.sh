#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-or-later
# `pvediff backup` interrupted at each fault point (PVEDIFF_FAULT_AT=<point>: an error;
# <point>:kill: SIGKILL), in file mode and in stream mode. After each: the archive given
# to backup is in place with the same bytes, the full is intact, nothing partial is under
# a final name, and a differential already committed (with or without its manifest)
# restores exactly. Then the next day's normal run and `pvediff verify` succeed, remove
# the temporaries, and leave one backup per day, each restoring exactly: a crash between
# committing a differential and deleting the archive is finished by the next run (the
# differential is decoded again and must match the archive before the archive goes).
source "$PVEDIFF_TEST_LIB/common.sh"
export TZ=UTC

t0=1790000000
conf=$WORK/pvediff.conf
printf 'fullbackup: 7\nmax-diff-ratio: 0.9\n' >"$conf"

source "$PVEDIFF_TEST_LIB/vm_days.sh"
vma_days 0 1 2
full0=vzdump-qemu-101-$(stamp_of $t0).vma.zst
diff_name() { echo "$full0--differential-$(stamp_of "$((t0 + $1 * 86400))").vcdiff.zst"; }

restores_to() {  # FILE DAY
  "$PVEDIFF" restore "$1" -o - >"$WORK/restored" 2>"$WORK/restore.err" &&
    test "$(sha_of "$WORK/restored")" = "${want[$2]}"
}
temps_in() { find "$1" -name '*pvediff-tmp*' | wc -l; }
# Names and bytes of the files in DIR, but the lock file and pvediff temporaries (a
# killed run leaves those; the next run removes them).
dir_state() {
  find "$1" -maxdepth 1 -type f ! -name '.pvediff-lock-*' ! -name '*.pvediff-tmp' -printf '%f\n' | sort
  find "$1" -maxdepth 1 -type f ! -name '.*' -exec sha256sum {} + | sort
}

# ---- file mode --------------------------------------------------------------------------
for point in differential-verified differential-committed before-archive-removed; do
  for how in "" ":kill"; do
    what="file $point$how"
    dir=$WORK/file-$point$how; mkdir -p "$dir"
    cp "$WORK/in-0.zst" "$dir/$full0"
    "$PVEDIFF" --config "$conf" backup "$dir/$full0" >/dev/null
    a1=$dir/vzdump-qemu-101-$(stamp_of "$((t0 + 86400))").vma.zst
    cp "$WORK/in-1.zst" "$a1"
    echo "notes of day 1" >"$a1.notes"
    sha_a1=$(sha_of "$a1"); sha_f0=$(sha_of "$dir/$full0"); sha_m0=$(sha_of "$dir/$full0.pvediff-manifest")
    rc=0; PVEDIFF_FAULT_AT=$point$how "$PVEDIFF" --config "$conf" backup "$a1" >"$WORK/out" 2>&1 || rc=$?
    if [[ -z $how ]]; then
      check "$what: fails with exit 3 (got $rc)" test "$rc" -eq 3
      check "$what: says where" grep -q "fault injected at '$point'" "$WORK/out"
      check "$what: no temporary file" test "$(temps_in "$dir")" -eq 0
    else
      check "$what: killed (exit $rc)" test "$rc" -eq 137
    fi
    check "$what: the archive is in place, same bytes" test "$(sha_of "$a1")" = "$sha_a1"
    check "$what: the archive's notes are in place" test -f "$a1.notes"
    check "$what: the full is intact" test "$(sha_of "$dir/$full0")" = "$sha_f0"
    check "$what: the full's manifest is intact" test "$(sha_of "$dir/$full0.pvediff-manifest")" = "$sha_m0"
    d1=$dir/$(diff_name 1)
    if [[ $point == differential-verified ]]; then
      check "$what: no differential under its final name" test ! -e "$d1"
    else
      check "$what: the committed differential restores exactly" restores_to "$d1" 1
      if [[ $point == differential-committed ]]; then
        check "$what: (it has no manifest yet)" test ! -e "$d1.pvediff-manifest"
      fi
    fi
    # The next day's normal run, then verify.
    a2=$dir/vzdump-qemu-101-$(stamp_of "$((t0 + 2 * 86400))").vma.zst
    cp "$WORK/in-2.zst" "$a2"
    rc=0; "$PVEDIFF" --config "$conf" backup "$a2" >"$WORK/out" 2>&1 || rc=$?
    check "$what: the next run succeeds (exit $rc)" test "$rc" -eq 0; ((rc == 0)) || cat "$WORK/out" >&2
    if [[ $point == differential-verified ]]; then
      # Nothing was committed: the archive stayed a full, the newest one.
      check "$what: the next run made a differential against the day-1 archive" \
        test -f "$a1--differential-$(stamp_of "$((t0 + 2 * 86400))").vcdiff.zst"
    else
      check "$what: the next run made a differential against the day-0 full" test -f "$dir/$(diff_name 2)"
    fi
    check "$what: then one backup per day, each restores exactly" chain_ok "$dir" 101 0 1 2
    if [[ $point != differential-verified ]]; then
      check "$what: the interrupted conversion was finished (archive gone)" test ! -e "$a1"
      check "$what: its notes went to the differential" grep -q 'notes of day 1' "$d1.notes"
      check "$what: the differential has its manifest" test -f "$d1.pvediff-manifest"
    fi
    rc=0; "$PVEDIFF" verify "$dir" >"$WORK/out" 2>&1 || rc=$?
    check "$what: verify passes (exit $rc)" test "$rc" -eq 0; ((rc == 0)) || cat "$WORK/out" >&2
  done
done

# Retrying the same archive after a crash that left its differential committed: the
# retry finishes the job instead of failing on the existing differential.
dir=$WORK/file-retry; mkdir -p "$dir"
cp "$WORK/in-0.zst" "$dir/$full0"
"$PVEDIFF" --config "$conf" backup "$dir/$full0" >/dev/null
a1=$dir/vzdump-qemu-101-$(stamp_of "$((t0 + 86400))").vma.zst
cp "$WORK/in-1.zst" "$a1"
PVEDIFF_FAULT_AT=differential-committed:kill "$PVEDIFF" --config "$conf" backup "$a1" >/dev/null 2>&1 || true
rc=0; "$PVEDIFF" --config "$conf" backup "$a1" >"$WORK/out" 2>&1 || rc=$?
check "retry after a crash: succeeds (exit $rc)" test "$rc" -eq 0; ((rc == 0)) || cat "$WORK/out" >&2
check "retry after a crash: the archive is replaced by its differential" test ! -e "$a1" -a -f "$dir/$(diff_name 1)"
check "retry after a crash: days 0, 1 restore exactly" chain_ok "$dir" 101 0 1
# A "twin" that does not match (the archive changed after the crash) is never deleted.
dir=$WORK/file-mismatch; mkdir -p "$dir"
cp "$WORK/in-0.zst" "$dir/$full0"
"$PVEDIFF" --config "$conf" backup "$dir/$full0" >/dev/null
a1=$dir/vzdump-qemu-101-$(stamp_of "$((t0 + 86400))").vma.zst
cp "$WORK/in-1.zst" "$a1"
PVEDIFF_FAULT_AT=before-archive-removed "$PVEDIFF" --config "$conf" backup "$a1" >/dev/null 2>&1 || true
cp "$WORK/in-2.zst" "$a1"  # not the content the differential stands for
sha_a1=$(sha_of "$a1")
a2=$dir/vzdump-qemu-101-$(stamp_of "$((t0 + 2 * 86400))").vma.zst
cp "$WORK/in-2.zst" "$a2"
"$PVEDIFF" --config "$conf" backup "$a2" >"$WORK/out" 2>&1 || true
check "mismatching twin: the archive is kept" test "$(sha_of "$a1")" = "$sha_a1"
check "mismatching twin: the log says why" grep -q "does not decode to the content of $(basename "$a1"): both are kept" "$WORK/out"
check "mismatching twin: the next run still succeeds" test -f "$a2--differential-$(stamp_of "$((t0 + 2 * 86400))").vcdiff.zst" -o -f "$a1--differential-$(stamp_of "$((t0 + 2 * 86400))").vcdiff.zst"

# ---- stream mode ------------------------------------------------------------------------
stream() {  # DIR DAY [VMID]: day DAY's archive (zstd) on stdin
  "$PVEDIFF" --config "$conf" backup - --vmid "${3:-101}" --type qemu --dumpdir "$1" \
    --now "$((t0 + $2 * 86400))" <"$WORK/in-$2.zst"
}
for point in differential-verified differential-committed full-written; do
  for how in "" ":kill"; do
    what="stream $point$how"
    dir=$WORK/stream-$point$how; mkdir -p "$dir"
    if [[ $point != full-written ]]; then
      stream "$dir" 0 >/dev/null
    fi
    before=$(dir_state "$dir")
    rc=0; PVEDIFF_FAULT_AT=$point$how stream "$dir" 1 >"$WORK/out" 2>&1 || rc=$?
    if [[ -z $how ]]; then
      check "$what: fails with exit 3 (got $rc)" test "$rc" -eq 3
      check "$what: says where" grep -q "fault injected at '$point'" "$WORK/out"
      check "$what: no temporary file" test "$(temps_in "$dir")" -eq 0
    else
      check "$what: killed (exit $rc)" test "$rc" -eq 137
    fi
    if [[ $point == differential-committed ]]; then
      d1=$dir/$(diff_name 1)
      check "$what: the committed differential (no manifest) restores exactly" restores_to "$d1" 1
      # (A full pvediff wrote is framed: its content is the stream's, not its bytes.)
      check "$what: the full is intact" test "$(content_sha "$dir/$full0")" = "$(content_sha "$WORK/in-0.zst")"
    else
      after=$(dir_state "$dir")
      check "$what: nothing new under a final name, nothing changed" test "$before" = "$after"
    fi
    rc=0; stream "$dir" 2 >"$WORK/out" 2>&1 || rc=$?
    check "$what: the next run succeeds (exit $rc)" test "$rc" -eq 0; ((rc == 0)) || cat "$WORK/out" >&2
    if [[ $point == full-written ]]; then
      check "$what: then day 2 is a full, no temporary file" chain_ok "$dir" 101 2
    elif [[ $point == differential-committed ]]; then
      check "$what: then one backup per day, each restores exactly" chain_ok "$dir" 101 0 1 2
    else
      check "$what: then days 0 and 2 restore exactly" chain_ok "$dir" 101 0 2
    fi
    rc=0; "$PVEDIFF" verify "$dir" >"$WORK/out" 2>&1 || rc=$?
    check "$what: verify passes (exit $rc)" test "$rc" -eq 0; ((rc == 0)) || cat "$WORK/out" >&2
  done
done
