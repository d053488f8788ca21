#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-or-later
# Progress of restore, backup (file and stream mode, and under the vzdump hook),
# diff and patch: on a terminal (a pseudo-terminal from `script -qc`) one live line
# redrawn in place with bytes (of the total, when known), rate and ETA; not on a
# terminal, plain lines at 10 % steps before the summary line, at most one every 2 s
# (a step that ends sooner leaves only its summary, as vzdump's own status lines); none
# with --no-progress or -q. The bytes written are the same either way.
source "$PVEDIFF_TEST_LIB/common.sh"
command -v script >/dev/null || { echo "no script(1): skipped"; exit 0; }
# These archives take well under 2 s a step: no gap between plain lines, except where
# the default is checked.
export PVEDIFF_PROGRESS_GAP_MS=0

dump=$WORK/dump
mkdir -p "$dump"
# fullbackup is 0 (pvediff does nothing) unless configured.
printf 'fullbackup: 7\nmax-diff-ratio: 0.9\n' >"$WORK/pvediff.conf"
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
# The default gap: no percentage line within 2 s of the step's start, so a restore
# that ends sooner leaves its summary alone (on a slow machine, lines from 2 s on).
PVEDIFF_PROGRESS_GAP_MS= pv restore "$full" -o "$WORK/quick.tar" 2>"$WORK/quick.err"
check "plain, default gap: no percentage line before 2 s, then the summary" python3 -c "
import re, sys
lines = open('$WORK/quick.err').read().splitlines()
early = [l for l in lines if (m := re.search(r'% \(.*\) in ([0-9.]+) s, ', l)) and float(m.group(1)) < 2.0]
sys.exit(bool(early) or not lines or not lines[-1].startswith('pvediff: restored '))"

# A terminal: the live line. script(1) gives pvediff a pseudo-terminal; its output
# (stdout and stderr of the pty) lands in the typescript file.
# Written as .gz: gzip makes the restore last seconds, so the live line (first drawn
# after 200 ms) is drawn whatever the machine's speed; a raw copy can end before that.
script -qfec "$PVEDIFF --config $WORK/pvediff.conf restore $full -o $WORK/live.tar.gz" "$WORK/typescript" >/dev/null
gzip -dc "$WORK/live.tar.gz" >"$WORK/live.tar"
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

# --- backup, file mode. A new full: its file's bytes (compressed) of its size while
# it is checked and indexed.
ct2=$dump/vzdump-lxc-106-2026_11_20-01_00_00.tar.zst
cp "$full" "$ct2"
zsize=$(stat -c %s "$ct2")
pv backup "$ct2" >"$WORK/bfull.out" 2>"$WORK/bfull.err"
check "backup full: kept as full" grep -q 'kept as full' "$WORK/bfull.out"
check "backup full: no carriage returns or escapes" bash -c "! grep -q $'[\r\033]' '$WORK/bfull.err'"
check "backup full: 'checking' percentage lines of the file's size" \
  grep -qE '^pvediff: backup vzdump-lxc-106-2026_11_20-01_00_00\.tar\.zst, checking: [1-9]0% \(.* of [0-9.]+ MiB\) in .*/s$' \
  "$WORK/bfull.err"

# A differential: the encoding (the file's bytes of its size), then the verification
# (the written differential's bytes of its size), each named.
make_new() {  # day name -> a changed copy of the container as a vzdump archive
  cp "$WORK/ct.tar" "$WORK/ct-$1.tar"
  head -c 1M /dev/urandom | dd of="$WORK/ct-$1.tar" bs=1M seek=$((10 + $1)) conv=notrunc status=none
  zstd -q -1 -c "$WORK/ct-$1.tar" >"$2"
}
d1=$dump/vzdump-lxc-105-2026_11_21-01_00_00.tar.zst
make_new 1 "$d1"
pv backup "$d1" >"$WORK/bdiff.out" 2>"$WORK/bdiff.err"
check "backup differential: replaced" grep -q 'replaced by' "$WORK/bdiff.out"
check "backup differential: no carriage returns or escapes" bash -c "! grep -q $'[\r\033]' '$WORK/bdiff.err'"
check "backup differential: 'encoding' percentage lines" \
  grep -qE '^pvediff: backup vzdump-lxc-105-2026_11_21-01_00_00\.tar\.zst, encoding: [1-9]0% \(.* of [0-9.]+ MiB\) in .*/s$' \
  "$WORK/bdiff.err"
# The verification reads the written differential back and takes what it copies from
# the full by hashes: its bytes as stored are counted, of the file's size.
human_bytes() {  # as pvediff prints sizes, dots escaped for grep -E
  awk -v b="$1" 'BEGIN { split("B KiB MiB GiB", u, " "); i = 1
    while (b >= 1024 && i < 4) { b /= 1024; i++ }
    if (i == 1) printf "%d B", b; else printf "%.1f %s", b, u[i] }' | sed 's/\./\\./'
}
d1_size=$(human_bytes "$(stat -c %s "$(ls "$dump"/*--differential-2026_11_21-01_00_00.vcdiff.zst)")")
check "backup differential: 'verifying' percentage lines of the differential's size ($d1_size)" \
  grep -qE "^pvediff: backup vzdump-lxc-105-2026_11_21-01_00_00\\.tar\\.zst, verifying: [0-9]+% \\(.* of $d1_size\\) in .*/s$" \
  "$WORK/bdiff.err"
check "backup differential: 'verifying' ends at the differential's size" \
  grep -qE "verifying: 100% \\($d1_size of $d1_size\\)" "$WORK/bdiff.err"
check "backup differential: encoding before verifying" \
  bash -c "grep -n encoding: '$WORK/bdiff.err' | tail -1 | cut -d: -f1 | { read e; test \"\$e\" -lt \"\$(grep -n verifying: '$WORK/bdiff.err' | head -1 | cut -d: -f1)\"; }"
pv -q restore "$(ls "$dump"/*--differential-2026_11_21-01_00_00.vcdiff.zst)" -o "$WORK/d1.tar"
check "backup differential: restores exactly" test "$(sha_of "$WORK/d1.tar")" = "$(sha_of "$WORK/ct-1.tar")"

# On a terminal: the live line, each phase on its own line, then the summary. This
# backup of 48 MiB may end before the first redraw (200 ms): what is drawn must read
# right (the stream below, paused midway, is drawn for sure).
d2=$dump/vzdump-lxc-105-2026_11_22-01_00_00.tar.zst
make_new 2 "$d2"
script -qfec "$PVEDIFF --config $WORK/pvediff.conf backup $d2" "$WORK/ts-backup" >/dev/null
check "backup live: encoding (if drawn), bytes of the file's size, rate" bash -c \
  "! grep -qa ', encoding:' '$WORK/ts-backup' || grep -qaE \$'\rbackup vzdump-lxc-105-2026_11_22-01_00_00\\.tar\\.zst, encoding: .* of [0-9.]+ MiB \\([0-9]+%\\), .*/s' '$WORK/ts-backup'"
d2_size=$(human_bytes "$(stat -c %s "$(ls "$dump"/*--differential-2026_11_22-01_00_00.vcdiff.zst)")")
check "backup live: verifying (if drawn), bytes of the differential's size" bash -c \
  "! grep -qa ', verifying:' '$WORK/ts-backup' || grep -qaE \$'\rbackup vzdump-lxc-105-2026_11_22-01_00_00\\.tar\\.zst, verifying: .* of $d2_size \\([0-9]+%\\), .*/s' '$WORK/ts-backup'"
check "backup live: no plain percentage lines" bash -c "! grep -qa 'pvediff: backup vzdump.*% (' '$WORK/ts-backup'"
check "backup live: the summary on its own line after it" grep -qa '^pvediff: vzdump-lxc-105-2026_11_22-01_00_00.tar.zst: replaced by' "$WORK/ts-backup"
pv -q restore "$(ls "$dump"/*--differential-2026_11_22-01_00_00.vcdiff.zst)" -o "$WORK/d2.tar"
check "backup live: restores exactly" test "$(sha_of "$WORK/d2.tar")" = "$(sha_of "$WORK/ct-2.tar")"

# Off: nothing on stderr (the summary of backup is on stdout).
d3=$dump/vzdump-lxc-105-2026_11_23-01_00_00.tar.zst
make_new 3 "$d3"
pv --no-progress backup "$d3" >"$WORK/boff.out" 2>"$WORK/boff.err"
check "backup --no-progress: nothing on stderr" test ! -s "$WORK/boff.err"
check "backup --no-progress: the summary" grep -q 'replaced by' "$WORK/boff.out"
d4=$dump/vzdump-lxc-105-2026_11_24-01_00_00.tar.zst
make_new 4 "$d4"
script -qfec "$PVEDIFF --config $WORK/pvediff.conf -q backup $d4" "$WORK/ts-bq" >/dev/null
check "backup -q on a terminal: no live line" bash -c "! grep -q $'\033\\[K' '$WORK/ts-bq'"
check "backup -q on a terminal: a differential all the same" test -n "$(ls "$dump"/*--differential-2026_11_24-01_00_00.vcdiff.zst)"

# --- the vzdump hook (in its default phase, log-end): vzdump captures its output,
# so plain lines, never the live line.
d5=$dump/vzdump-lxc-105-2026_11_25-01_00_00.tar.zst
make_new 5 "$d5"
env -i STOREID=local DUMPDIR="$dump" VMTYPE=lxc HOSTNAME=guest TARGET="$d5" LOGFILE="$dump/x.log" LC_ALL=C \
  PVEDIFF_PROGRESS_GAP_MS=0 \
  "$PVEDIFF" --config "$WORK/pvediff.conf" hook log-end snapshot 105 >"$WORK/hook.log" 2>&1
check "hook: replaced" grep -q 'replaced by' "$WORK/hook.log"
check "hook: no carriage returns or escapes in the task log" bash -c "! grep -q $'[\r\033]' '$WORK/hook.log'"
check "hook: plain percentage lines" \
  grep -qE '^pvediff: backup vzdump-lxc-105-2026_11_25-01_00_00\.tar\.zst, (encoding|verifying): [1-9]0% \(' "$WORK/hook.log"
# After the new archive, the one read of the full has its own lines (of the full's
# content size): a large guest's takes minutes, with nothing else to show.
check "hook: the read of the full in percentage lines, after the encoding's" python3 -c "
import re, sys
lines = open('$WORK/hook.log').read().splitlines()
pre = r'^pvediff: backup vzdump-lxc-105-2026_11_25-01_00_00\.tar\.zst, '
enc = [i for i, l in enumerate(lines) if re.match(pre + r'encoding: [1-9]0% \(', l)]
full = [i for i, l in enumerate(lines) if re.match(pre + r'reading the full: [0-9]+% \(.* of 64\.0 MiB\)', l)]
sys.exit(not (enc and len(full) >= 5 and max(enc) < min(full)))"
# Then fine matching and writing the differential, in bytes of the new archive (also
# 64 MiB): a quarter of a backup's time, silent before.
check "hook: writing the differential in percentage lines, after the read of the full" python3 -c "
import re, sys
lines = open('$WORK/hook.log').read().splitlines()
pre = r'^pvediff: backup vzdump-lxc-105-2026_11_25-01_00_00\.tar\.zst, '
full = [i for i, l in enumerate(lines) if re.match(pre + r'reading the full: ', l)]
wrote = [i for i, l in enumerate(lines) if re.match(pre + r'writing the differential: [0-9]+% \(.* of 64\.0 MiB\)', l)]
last = [l for l in lines if re.match(pre + r'writing the differential: 9[0-9]% \(', l)]
sys.exit(not (full and len(wrote) >= 5 and max(full) < min(wrote) and last))"

# --- backup, stream mode: bytes from standard input, no total (no percentage, no ETA).
# The stream pauses half a second midway: the live line is drawn however fast the rest is.
zstd -q -c -1 "$WORK/ct.tar" >"$WORK/ct.tar.zst"
script -qfec "{ head -c 8M; sleep 0.5; cat; } <$WORK/ct.tar.zst | $PVEDIFF --config $WORK/pvediff.conf backup - --type lxc --vmid 107 --dumpdir $dump --now 1790000000" \
  "$WORK/ts-stream" >/dev/null
check "stream live: bytes read, rate, no total" \
  grep -qaE $'\rbackup lxc 107 from standard input, writing the full: [0-9.]+ [KM]iB, [0-9.]+ [KM]iB/s\033' "$WORK/ts-stream"
check "stream live: no percentage or ETA" bash -c "! grep -qaE 'standard input, .*(%|ETA)' '$WORK/ts-stream'"
sfull=$(ls "$dump"/vzdump-lxc-107-*.tar.zst)
check "stream: the full holds the stream" test "$(zstd -dc "$sfull" | sha256sum | cut -d' ' -f1)" = "$want"

# --- diff: the new archive's bytes (compressed) of its file size; patch: the rebuilt
# bytes, no total (a delta does not say).
newz=$WORK/new.tar.zst
zstd -q -1 -c "$WORK/ct-1.tar" >"$newz"
pv diff --base "$full" --new "$newz" -o "$WORK/d.vcdiff" 2>"$WORK/diff.err"
check "diff plain: no carriage returns or escapes" bash -c "! grep -q $'[\r\033]' '$WORK/diff.err'"
check "diff plain: percentage lines of the file's size" \
  grep -qE '^pvediff: diff new\.tar\.zst: [1-9]0% \(.* of [0-9.]+ MiB\) in .*/s$' "$WORK/diff.err"
check "diff plain: the summary comes last" bash -c "tail -1 '$WORK/diff.err' | grep -q '^pvediff: .*d.vcdiff: 64.0 MiB new'"
# The live line is drawn from the first update after the first redraw time (200 ms).
# Reading the new archive alone can end sooner (it did, at times, in 0.15 s), so the
# full here has no index and a 512 MiB hole: indexing it comes first and takes longer,
# and the reading's updates all come after it.
cp "$WORK/ct.tar" "$WORK/ct-holed.tar" && truncate -s +512M "$WORK/ct-holed.tar"
newsize=$(awk -v s="$(stat -c %s "$newz")" 'BEGIN { printf "%.1f", s / 1048576 }')
script -qfec "$PVEDIFF --config $WORK/pvediff.conf diff --base $WORK/ct-holed.tar --new $newz -o $WORK/d2.vcdiff" "$WORK/ts-diff" >/dev/null
check "diff live: bytes of the total (the file's size), rate" \
  grep -qaE $'\rdiff new\\.tar\\.zst: .* of '"${newsize//./\\.}"$' MiB \\([0-9]+%\\), .*/s' "$WORK/ts-diff"
pv patch --base "$full" --delta "$WORK/d.vcdiff" -o "$WORK/p.tar" 2>"$WORK/patch.err"
check "patch: rebuilt exactly" test "$(sha_of "$WORK/p.tar")" = "$(sha_of "$WORK/ct-1.tar")"
check "patch plain: no carriage returns or escapes" bash -c "! grep -q $'[\r\033]' '$WORK/patch.err'"
# Written as .gz, like the live restore above: a raw 64 MiB patch (libdeflate's
# Adler-32, one thread hop fewer) can end before the first redraw at 200 ms.
script -qfec "$PVEDIFF --config $WORK/pvediff.conf patch --base $full --delta $WORK/d.vcdiff --compress gzip -o $WORK/p2.tar.gz" "$WORK/ts-patch" >/dev/null
gzip -dc "$WORK/p2.tar.gz" >"$WORK/p2.tar"
check "patch live: rebuilt bytes, rate, no total" \
  grep -qaE $'\rpatch d\\.vcdiff: [0-9.]+ [KM]iB, [0-9.]+ [KM]iB/s\033' "$WORK/ts-patch"
check "patch live: rebuilt exactly" test "$(sha_of "$WORK/p2.tar")" = "$(sha_of "$WORK/ct-1.tar")"
pv --no-progress diff --base "$full" --new "$newz" -o "$WORK/d3.vcdiff" 2>"$WORK/diffoff.err"
check "diff --no-progress: only the summary" test "$(wc -l <"$WORK/diffoff.err")" -eq 1
script -qfec "$PVEDIFF --config $WORK/pvediff.conf --no-progress patch --base $full --delta $WORK/d.vcdiff -o $WORK/p3.tar" "$WORK/ts-patchoff" >/dev/null
check "patch --no-progress on a terminal: no live line" bash -c "! grep -q $'\033\\[K' '$WORK/ts-patchoff'"
pv -q diff --base "$full" --new "$newz" -o "$WORK/d4.vcdiff" 2>"$WORK/diffq.err"
check "diff -q: nothing on stderr" test ! -s "$WORK/diffq.err"
