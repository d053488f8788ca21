#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-or-later
# Messages through spdlog: "pvediff: " lines as before; -q keeps only errors, -v adds
# debug lines; on the stream a systemd unit's JOURNAL_STREAM names, every line starts
# with its sd-daemon priority (<3> error, <6> info, <7> debug) so the journal files it
# at that priority; elsewhere (vzdump's pipe) no prefix even with JOURNAL_STREAM set.
source "$PVEDIFF_TEST_LIB/common.sh"
dump=$WORK/dump
mkdir -p "$dump"
head -c 200000 /dev/urandom >"$WORK/f"
tar -C "$WORK" -cf - f | zstd -q -c >"$dump/vzdump-lxc-105-2026_11_20-01_00_00.tar.zst"
printf 'dumpdir: %s\nfullbackup: 7\n' "$dump" >"$WORK/pvediff.conf"
pv() { "$PVEDIFF" --config "$WORK/pvediff.conf" "$@"; }

pv backup "$dump/vzdump-lxc-105-2026_11_20-01_00_00.tar.zst" >"$WORK/plain.out" 2>&1
check "plain: 'pvediff: ' lines, no priority prefix" \
  bash -c "grep -q '^pvediff: vzdump-lxc-105-.*kept as full' '$WORK/plain.out' && ! grep -q '^<' '$WORK/plain.out'"
pv -q backup "$dump/vzdump-lxc-105-2026_11_20-01_00_00.tar.zst" >"$WORK/quiet.out" 2>&1
check "-q: no info lines" test ! -s "$WORK/quiet.out"
pv -v list >/dev/null 2>"$WORK/verbose.err"
check "-v: debug lines say which config and dump dirs" \
  bash -c "grep -q '^pvediff: configuration: $WORK/pvediff.conf' '$WORK/verbose.err' && grep -q '^pvediff: dump dirs from the configuration' '$WORK/verbose.err'"
pv list >/dev/null 2>"$WORK/normal.err"
check "without -v: no debug lines" bash -c "! grep -q 'configuration:' '$WORK/normal.err'"

# As a systemd unit runs it: stderr is the journal stream JOURNAL_STREAM names (its
# device and inode; a plain file stands in for the journal's socket here).
: >"$WORK/unit.err"; : >"$WORK/unit-error.err"
INVOCATION_ID=0123456789abcdef JOURNAL_STREAM=$(stat -c %d:%i "$WORK/unit.err") \
  pv -v verify </dev/null >"$WORK/unit.out" 2>>"$WORK/unit.err"
check "unit: info lines carry <6>" grep -q '^<6>pvediff: ' "$WORK/unit.err"
check "unit: debug lines carry <7>" grep -q '^<7>pvediff: configuration: ' "$WORK/unit.err"
check "unit: stdout (not the journal stream) has no prefixes" bash -c "! grep -q '^<' '$WORK/unit.out'"
rc=0
INVOCATION_ID=0123456789abcdef JOURNAL_STREAM=$(stat -c %d:%i "$WORK/unit-error.err") \
  pv restore "$dump/nonexistent.vma.zst" -o "$WORK/x.vma" </dev/null >/dev/null 2>>"$WORK/unit-error.err" || rc=$?
check "unit: an error carries <3> and exits 3 (got $rc)" \
  bash -c "test $rc -eq 3 && grep -q '^<3>pvediff: error: ' '$WORK/unit-error.err'"
# Under vzdump run by pvescheduler: JOURNAL_STREAM is inherited, but the hook's output
# goes through vzdump's pipe into the task log: no prefixes there.
INVOCATION_ID=0123456789abcdef JOURNAL_STREAM=$(stat -c %d:%i "$WORK/unit.err") \
  pv -v list 2>&1 | cat >"$WORK/piped.out"
check "inherited JOURNAL_STREAM, output into a pipe: no prefixes" \
  bash -c "grep -q '^pvediff: ' '$WORK/piped.out' && ! grep -q '^<' '$WORK/piped.out'"
# Not under systemd, the same error has no prefix.
pv restore "$dump/nonexistent.vma.zst" -o "$WORK/x.vma" 2>"$WORK/error.err" || true
check "not a unit: 'pvediff: error: ' as before" grep -q '^pvediff: error: ' "$WORK/error.err"
