#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-or-later
# Progress of a restore: on a terminal (a pseudo-terminal from `script -qc`) one live
# line redrawn in place with bytes of total, rate and ETA; not on a terminal, plain
# lines at 10 % steps before the summary line; none with --no-progress or -q. The
# restored bytes are the same either way.
source "$PVEDIFF_TEST_LIB/common.sh"
command -v script >/dev/null || { echo "no script(1): skipped"; exit 0; }

dump=$WORK/dump
mkdir -p "$dump"
echo "# defaults" >"$WORK/pvediff.conf"
pv() { "$PVEDIFF" --config "$WORK/pvediff.conf" "$@"; }
# 64 MiB of content, so the restore takes long enough for a few redraws.
head -c 48M /dev/urandom >"$WORK/big"
head -c 16M /dev/zero >>"$WORK/big"
tar -C "$WORK" -cf "$WORK/ct.tar" big
full=$dump/vzdump-lxc-105-2026_11_20-01_00_00.tar.zst
zstd -q -1 -c "$WORK/ct.tar" >"$full"
pv -q backup "$full"  # a manifest: the total is known
want=$(sha_of "$WORK/ct.tar")

# Not a terminal: plain lines at 10 % steps, then the summary.
pv restore "$full" -o "$WORK/plain.tar" 2>"$WORK/plain.err"
check "plain: restored exactly" test "$(sha_of "$WORK/plain.tar")" = "$want"
check "plain: no carriage returns or escapes" bash -c "! grep -q $'[\r\033]' '$WORK/plain.err'"
check "plain: percentage lines like vzdump's ('NN% (X of Y) in T, R/s')" \
  grep -qE '^pvediff: restore vzdump-lxc-105-2026_11_20-01_00_00\.tar\.zst: [1-9]0% \(.* of 64\.[0-9] MiB\) in .*/s$' "$WORK/plain.err"
n=$(grep -cE ': [1-9]0% \(' "$WORK/plain.err" || true)
check "plain: at most one line per 10 % step ($n)" test "$n" -ge 1 -a "$n" -le 9
check "plain: the summary line comes last" bash -c "tail -1 '$WORK/plain.err' | grep -q '^pvediff: restored '"

# A terminal: the live line. script(1) gives pvediff a pseudo-terminal; its output
# (stdout and stderr of the pty) lands in the typescript file.
script -qfec "$PVEDIFF --config $WORK/pvediff.conf restore $full -o $WORK/live.tar" "$WORK/typescript" >/dev/null
check "live: restored exactly" test "$(sha_of "$WORK/live.tar")" = "$want"
check "live: redrawn in place (carriage return, erase to end of line)" grep -q $'\r.*\033\\[K' "$WORK/typescript"
check "live: bytes of the total, rate, ETA" \
  grep -qaE 'restore vzdump-lxc-105-2026_11_20-01_00_00\.tar\.zst: .* of 64\.[0-9] MiB \([0-9]+%\), .*/s' "$WORK/typescript"
check "live: no plain percentage lines" bash -c "! grep -qa 'pvediff: restore vzdump.*% (' '$WORK/typescript'"
check "live: the summary on its own line after it" grep -qa '^pvediff: restored ' "$WORK/typescript"

# Off.
pv --no-progress restore "$full" -o "$WORK/off.tar" 2>"$WORK/off.err"
check "--no-progress: only the summary" test "$(grep -vc '^pvediff: restored ' "$WORK/off.err")" -eq 0
pv -q restore "$full" -o "$WORK/quiet.tar" 2>"$WORK/quiet.err"
check "-q: nothing on stderr" test ! -s "$WORK/quiet.err"
script -qfec "$PVEDIFF --config $WORK/pvediff.conf --no-progress restore $full -o $WORK/off2.tar" "$WORK/ts2" >/dev/null
check "--no-progress on a terminal: no live line" bash -c "! grep -q $'\033\\[K' '$WORK/ts2'"
