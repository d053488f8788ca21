#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-or-later
# Backup-side hardening (issue 13, rows 7, 9, 12, 13, 15, 16, 17), one assertion per
# row at least: diff/patch never overwrite without --force nor write onto their own
# input; a damaged archive in file mode is never converted, kept as a full nor
# deleted; fullbackup 0 touches nothing; the hook refuses a TARGET of another guest;
# restored copies and live temporaries are not backups in progress; prune spares the
# newest archive a backup has not seen, and a backup whose archive went says so.
source "${PVEDIFF_TEST_LIB:?}/common.sh" || exit 1

W=$WORK
mkdir "$W/r" "$W/d"
head -c 2M /dev/urandom >"$W/r/a"
tar -cf "$W/t0.tar" -C "$W/r" .
head -c 100K /dev/urandom >>"$W/r/a"
tar -cf "$W/t1.tar" -C "$W/r" .
printf 'fullbackup: 7\n' >"$W/c.conf"
F=vzdump-lxc-101-2026_11_01-01_00_00.tar
A=vzdump-lxc-101-2026_11_02-01_00_00.tar
D=$F--differential-2026_11_02-01_00_00.vcdiff
pv() { "$PVEDIFF" --config "$W/c.conf" "$@"; }
# fresh DIR: day 0 as a full, day 1 as a differential.
fresh() {
  rm -rf "$1"; mkdir -p "$1"
  cp "$W/t0.tar" "$1/$F"; pv -q backup "$1/$F"
  cp "$W/t1.tar" "$1/$A"; pv -q backup "$1/$A"
}
# Every file with size and SHA-256, lock files aside.
snapshot() { (cd "$1" && find . -type f ! -name '.pvediff-lock-*' -printf '%s ' -exec sha256sum {} \; | sort); }
rc_of() { local rc=0; "$@" >"$W/out" 2>&1 || rc=$?; echo "$rc"; }

# --- row 7: diff and patch -------------------------------------------------------
fresh "$W/d7"
cd "$W/d7"
before=$(sha_of "$F")
rc=$(rc_of "$PVEDIFF" -q patch --base "$F" --delta "$D" -o "$F")
check "row 7: patch -o its own --base refused (rc $rc)" test "$rc" -ne 0
check "row 7: patch onto its base left the full as it was" test "$(sha_of "$F")" = "$before"
rc=$(rc_of "$PVEDIFF" -q patch --base "$F" --delta "$D" -o "$F" --force)
check "row 7: patch -o its own --base refused even with --force (rc $rc)" test "$rc" -ne 0
check "row 7: ... and says it is its input" grep -q "input" "$W/out"
check "row 7: the full is unchanged after --force" test "$(sha_of "$F")" = "$before"
ln "$F" "$W/hardlink-of-full"
rc=$(rc_of "$PVEDIFF" -q patch --base "$F" --delta "$D" -o "$W/hardlink-of-full" --force)
check "row 7: patch onto a hard link of its base refused (same inode, rc $rc)" test "$rc" -ne 0
check "row 7: the full is unchanged after the hard link attempt" test "$(sha_of "$F")" = "$before"
echo precious >"$W/existing"
rc=$(rc_of "$PVEDIFF" -q patch --base "$F" --delta "$D" -o "$W/existing")
check "row 7: patch -o EXISTING refused without --force (rc $rc)" test "$rc" -ne 0
check "row 7: EXISTING untouched by patch" test "$(cat "$W/existing")" = precious
rc=$(rc_of "$PVEDIFF" -q diff --base "$F" --new "$W/t1.tar" -o "$W/existing")
check "row 7: diff -o EXISTING refused without --force (rc $rc)" test "$rc" -ne 0
check "row 7: EXISTING untouched by diff" test "$(cat "$W/existing")" = precious
rc=$(rc_of "$PVEDIFF" -q diff --base "$F" --new "$W/t1.tar" -o "$W/t1.tar" --force)
check "row 7: diff -o its own --new refused even with --force (rc $rc)" test "$rc" -ne 0
check "row 7: --new unchanged" test "$(sha_of "$W/t1.tar")" = "$(sha_of "$W/t1.tar")"
rc=$(rc_of "$PVEDIFF" -q patch --base "$F" --delta "$D" -o "$W/existing" --force)
check "row 7: patch -o EXISTING --force works (rc $rc)" test "$rc" -eq 0
check "row 7: ... and writes the archive" test "$(sha_of "$W/existing")" = "$(sha_of "$W/t1.tar")"
rc=$(rc_of "$PVEDIFF" -q diff --base "$F" --new "$W/t1.tar" -o "$W/existing" --force)
check "row 7: diff -o EXISTING --force works (rc $rc)" test "$rc" -eq 0
cd "$W"

# --- row 9: a damaged archive in file mode ----------------------------------------
# damaged CASE FILE-IN-DIR: backup fails, the archive stays byte for byte, no manifest
# or index is written for it, nothing else changes.
damaged() {
  local label=$1 dir=$2 file=$3 before want rc
  want=$(sha_of "$dir/$file")
  before=$(snapshot "$dir")
  rc=$(rc_of pv backup "$dir/$file")
  check "row 9, $label: exit non-zero (rc $rc)" test "$rc" -ne 0
  check "row 9, $label: says it is not a complete archive / not its codec" \
    grep -qE "not a complete tar archive|its name says" "$W/out"
  check "row 9, $label: the archive stays as vzdump wrote it" test "$(sha_of "$dir/$file")" = "$want"
  check "row 9, $label: no manifest or index for it" \
    test ! -e "$dir/$file.pvediff-manifest" -a ! -e "$dir/$file.pvediff-index"
  check "row 9, $label: nothing else changed" test "$(snapshot "$dir")" = "$before"
}
# A cut raw tar as the next differential's archive.
rm -rf "$W/d9"; mkdir "$W/d9"; cp "$W/t0.tar" "$W/d9/$F"; pv -q backup "$W/d9/$F"
head -c 1500000 "$W/t1.tar" >"$W/d9/$A"
damaged "truncated tar (differential)" "$W/d9" "$A"
# A complete zstd stream of a cut tar, as a new full (no earlier full).
rm -rf "$W/d9b"; mkdir "$W/d9b"
head -c 1500000 "$W/t1.tar" | zstd -q -c >"$W/d9b/$F.zst"
damaged "zstd of a cut tar (new full)" "$W/d9b" "$F.zst"
# 'hello' named .vma.zst; random bytes named .tar.zst.
rm -rf "$W/d9c"; mkdir "$W/d9c"
echo hello >"$W/d9c/vzdump-qemu-300-2026_11_01-01_00_00.vma.zst"
damaged "'hello' named .vma.zst" "$W/d9c" vzdump-qemu-300-2026_11_01-01_00_00.vma.zst
head -c 5M /dev/urandom >"$W/d9c/vzdump-lxc-301-2026_11_01-01_00_00.tar.zst"
damaged "random bytes named .tar.zst" "$W/d9c" vzdump-lxc-301-2026_11_01-01_00_00.tar.zst
# A sound archive still becomes a full with its manifest (the check does not refuse it).
rc=$(rc_of pv backup "$W/d9/$F")
check "row 9: a sound full is still accepted (rc $rc)" test "$rc" -eq 0

# --- row 12: fullbackup 0 touches nothing -----------------------------------------
rm -rf "$W/d12"; mkdir "$W/d12"; cp "$W/t0.tar" "$W/d12/$F"
printf 'fullbackup: 0\n' >"$W/zero.conf"
# LeakSanitizer cannot run under ptrace: off for this one traced run of an ASan build.
rc=$(ASAN_OPTIONS=${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=0 rc_of strace -f -qq -e trace=openat -o "$W/trace12" "$PVEDIFF" --config "$W/zero.conf" backup "$W/d12/$F")
check "row 12: fullbackup 0: exit 0 (rc $rc)" test "$rc" -eq 0
check "row 12: fullbackup 0: only the archive is in the dump dir (no manifest, index, lock)" \
  test "$(ls -A "$W/d12")" = "$F"
check "row 12: fullbackup 0: the archive is not even opened" \
  bash -c "! grep -q '$F' '$W/trace12'"

# --- row 13: the hook and a TARGET of another guest --------------------------------
rm -rf "$W/d13"; mkdir "$W/d13"; cp "$W/t0.tar" "$W/d13/$F"; pv -q backup "$W/d13/$F"
cp "$W/t1.tar" "$W/d13/$A"
before=$(snapshot "$W/d13")
hook() { env -i STOREID=local DUMPDIR="$W/d13" VMTYPE=lxc TARGET="$W/d13/$A" LC_ALL=C \
  "$PVEDIFF" --config "$W/c.conf" hook log-end snapshot "$1"; }
rc=$(rc_of hook 102)
check "row 13: VMID 102 with a TARGET of 101: refused (rc $rc)" test "$rc" -ne 0
check "row 13: ... and 101's archive is not converted" test "$(snapshot "$W/d13")" = "$before"
rc=$(rc_of hook 101abc)
check "row 13: VMID '101abc' is not 101: nothing converted" test "$(snapshot "$W/d13")" = "$before"
rc=$(rc_of env -i STOREID=local DUMPDIR="$W/d13" VMTYPE=qemu TARGET="$W/d13/$A" LC_ALL=C \
  "$PVEDIFF" --config "$W/c.conf" hook log-end snapshot 101)
check "row 13: VMTYPE qemu with an lxc TARGET: refused (rc $rc)" test "$rc" -ne 0
check "row 13: ... nothing converted" test "$(snapshot "$W/d13")" = "$before"
rc=$(rc_of hook 101)
check "row 13: the matching call still converts (rc $rc)" test -e "$W/d13/$D"

# --- rows 15/16: restored copies and live temporaries --------------------------------
fresh "$W/d15"
R=vzdump-lxc-101-2026_11_02-01_00_00.tar
rc=$(rc_of pv -q restore "$W/d15/$D" --pve-name "$W/d15" --compress none)
check "row 16: restore --pve-name works (rc $rc)" test "$rc" -eq 0
check "row 16: the restored archive is marked (.pvediff-restored)" test -e "$W/d15/$R.pvediff-restored"
want=$(sha_of "$W/d15/$R")
cp "$W/t1.tar" "$W/d15/vzdump-lxc-101-2026_11_03-01_00_00.tar"
rc=$(rc_of pv backup "$W/d15/vzdump-lxc-101-2026_11_03-01_00_00.tar")
check "row 16: the next day's backup works (rc $rc)" test "$rc" -eq 0
check "row 16: ... and leaves the restored copy in place" test "$(sha_of "$W/d15/$R")" = "$want"
check "row 16: ... and does not take it for an interrupted run" bash -c "! grep -q 'interrupted run' '$W/out'"
check "row 16: the day-3 differential is made against the full, not the copy" \
  test -e "$W/d15/$F--differential-2026_11_03-01_00_00.vcdiff"
rc=$(rc_of pv backup "$W/d15/$R")
check "row 16: backup refuses to convert a restored copy (rc $rc)" test "$rc" -ne 0
check "row 16: ... the copy stays" test "$(sha_of "$W/d15/$R")" = "$want"
rc=$(rc_of "$PVEDIFF" prune "$W/d15" --keep-last 1)
check "row 16: prune leaves the restored copy (rc $rc)" test "$(sha_of "$W/d15/$R")" = "$want"
check "row 16: prune reports it as a restored copy" grep -q "$R (restored copy" "$W/out"
# Row 15: a temporary of a live process of this host is never removed, however old.
host=$(hostname); host=${host:0:32}; host=${host//[^A-Za-z0-9-]/_}
sleep 600 & live=$!
tmp=".vzdump-lxc-101-2026_11_04-01_00_00.tar.$live-123-$host.pvediff-tmp"
echo partial >"$W/d15/$tmp"
touch -d '3 hours ago' "$W/d15/$tmp"
cp "$W/t1.tar" "$W/d15/vzdump-lxc-101-2026_11_05-01_00_00.tar"
rc=$(rc_of pv backup "$W/d15/vzdump-lxc-101-2026_11_05-01_00_00.tar")
check "row 15: backup leaves a live process's temporary (rc $rc)" test -e "$W/d15/$tmp"
kill "$live"; wait "$live" 2>/dev/null || true
# ... a recent one of another host too; a dead pid of this host, and an old one of
# another host, go.
recent=".vzdump-lxc-101-2026_11_06-01_00_00.tar.$live-1-othernode.pvediff-tmp"
old=".vzdump-lxc-101-2026_11_07-01_00_00.tar.$live-2-othernode.pvediff-tmp"
dead=".vzdump-lxc-101-2026_11_07-01_00_00.tar.$live-3-$host.pvediff-tmp"
echo partial >"$W/d15/$recent"; echo partial >"$W/d15/$old"; echo partial >"$W/d15/$dead"
touch -d '3 hours ago' "$W/d15/$old"
cp "$W/t1.tar" "$W/d15/vzdump-lxc-101-2026_11_08-01_00_00.tar"
rc=$(rc_of pv backup "$W/d15/vzdump-lxc-101-2026_11_08-01_00_00.tar")
check "row 15: a recent temporary of another host stays (rc $rc)" test -e "$W/d15/$recent"
check "row 15: an old temporary of another host is removed" test ! -e "$W/d15/$old"
check "row 15: a temporary of a dead pid of this host is removed" test ! -e "$W/d15/$dead"

# --- a stored index that is not of its full ---------------------------------------------
# An index beside the full that another full left (same content size, other order),
# one of another size, a damaged one and none: each is set aside with a line saying
# why, the full is indexed in the run, the differential rebuilds day 1 exactly, and
# the index built in the run takes the sidecar's place: byte for byte the one kept
# with the full, used by the next run. (An index of the same size used to make every
# differential fail its proof until the next full; one of another size failed the run
# once the full was read.) Archives over 32 MiB: smaller ones are also encoded by
# plain xdelta3, which needs no index.
mkdir "$W/s0" "$W/sx"
head -c 40M /dev/urandom >"$W/s0/a"
tar -cf "$W/s0.tar" -C "$W/s0" .
# The other full: day 0's bytes in another order, so its index finds day 1's chunks
# at other offsets.
{ tail -c 20M "$W/s0/a"; head -c 20M "$W/s0/a"; } >"$W/sx/a"
tar -cf "$W/sx.tar" -C "$W/sx" .
head -c 100K /dev/urandom >>"$W/s0/a"
tar -cf "$W/s1.tar" -C "$W/s0" .
check "stale index: the other full has the same size" test "$(stat -c %s "$W/sx.tar")" = "$(stat -c %s "$W/s0.tar")"
A2=vzdump-lxc-101-2026_11_03-01_00_00.tar
# An index as pvediff wrote it before version 5 (without the content's XXH3-128): the
# same file less those 16 bytes, its checksum (XXH3-64, libxxhash) made right again.
to_index_v4() {  # FILE
  python3 - "$1" <<'PY'
import ctypes, struct, sys
xxh = ctypes.CDLL("libxxhash.so.0")
xxh.XXH3_64bits.restype = ctypes.c_uint64
xxh.XXH3_64bits.argtypes = [ctypes.c_char_p, ctypes.c_size_t]
data = bytearray(open(sys.argv[1], "rb").read())
assert struct.unpack_from("<I", data, 8)[0] == 5
del data[104:120]
struct.pack_into("<I", data, 8, 4)
body = bytes(data[:-8])
struct.pack_into("<Q", data, len(data) - 8, xxh.XXH3_64bits(body, len(body)))
open(sys.argv[1], "wb").write(data)
PY
}
for other in sx s1 damaged none v4; do
  dx=$W/dx-$other; rm -rf "$dx" "$W/dy"; mkdir -p "$dx" "$W/dy"
  cp "$W/s0.tar" "$dx/$F"; pv -q backup "$dx/$F"
  good_index=$(sha_of "$dx/$F.pvediff-index")
  chmod 640 "$dx/$F"
  if [[ $other == damaged ]]; then
    head -c 100 /dev/urandom | dd of="$dx/$F.pvediff-index" bs=1 seek=200 conv=notrunc status=none
    why="is damaged"
  elif [[ $other == none ]]; then
    rm "$dx/$F.pvediff-index"
    why=""
  elif [[ $other == v4 ]]; then
    # Not set aside: used, with the full checked by its SHA-256, and written again as
    # version 5 (the XXH3-128 taken on the same read).
    to_index_v4 "$dx/$F.pvediff-index"
    why=""
  else
    cp "$W/$other.tar" "$W/dy/$F"; pv -q backup "$W/dy/$F"
    cp "$W/dy/$F.pvediff-index" "$dx/$F.pvediff-index"
    [[ $other == sx ]] && why="is of other content than the full's manifest records" || why="bytes of content"
  fi
  cp "$W/s1.tar" "$dx/$A"
  rc=$(rc_of pv backup "$dx/$A")
  check "stale index ($other): backup succeeds (rc $rc)" test "$rc" -eq 0
  if [[ -n $why ]]; then
    check "stale index ($other): says the index was set aside ($why)" \
      grep -qE "stored index $F.pvediff-index .*$why.*indexed in this run" "$W/out"
  fi
  if [[ $other == v4 ]]; then
    check "stale index (v4): used, not set aside" bash -c '! grep -qE "stored index" "$1"' _ "$W/out"
  fi
  check "stale index ($other): the differential rebuilds day 1" \
    test "$("$PVEDIFF" restore "$dx/$D" -o - 2>/dev/null | sha256sum | cut -d' ' -f1)" = "$(sha_of "$W/s1.tar")"
  check "stale index ($other): says the index was written again" \
    grep -qF "$F.pvediff-index: written again from this run's read of the full" "$W/out"
  check "stale index ($other): the index written again is the one kept with the full" \
    test "$(sha_of "$dx/$F.pvediff-index")" = "$good_index"
  check "stale index ($other): ... with the full's mode" test "$(stat -c %a "$dx/$F.pvediff-index")" = 640
  cp "$W/s1.tar" "$dx/$A2"
  rc=$(rc_of pv backup "$dx/$A2")
  check "stale index ($other): the next backup succeeds (rc $rc)" test "$rc" -eq 0
  check "stale index ($other): ... with the stored index" bash -c '! grep -qE "stored index|written again" "$1"' _ "$W/out"
  rm -rf "$dx" "$W/dy"
done

# --- row 17: prune and a waiting backup ------------------------------------------------
# An archive older than the guest's last differential (converted out of order, or
# its backup still waiting for the lock), not through backup yet: prune keeps it.
fresh "$W/d17"
N=vzdump-lxc-101-2026_11_01-12_00_00.tar
cp "$W/t1.tar" "$W/d17/$N"
rc=$(rc_of "$PVEDIFF" prune "$W/d17" --keep-last 1)
check "row 17: prune keeps the newest archive not through backup yet (rc $rc)" test -e "$W/d17/$N"
check "row 17: ... and says why" grep -q "$N (newest archive not through pvediff backup yet)" "$W/out"
# A backup that waits for the lock while its archive is removed says so.
[[ -e $W/d17/$N ]] || cp "$W/t1.tar" "$W/d17/$N"
python3 -c 'import fcntl, sys, time
f = open(sys.argv[1], "a"); fcntl.lockf(f, fcntl.LOCK_EX); time.sleep(float(sys.argv[2]))' \
  "$W/d17/.pvediff-lock-lxc-101" 4 & holder=$!
sleep 1
pv backup "$W/d17/$N" >"$W/out17" 2>&1 & bpid=$!
sleep 1.5
rm -f "$W/d17/$N"
rc=0; wait "$bpid" || rc=$?
wait "$holder" || true
check "row 17: the backup whose archive went exits non-zero (rc $rc)" test "$rc" -ne 0
check "row 17: ... and says plainly it was removed while waiting" grep -q "removed .* while this backup waited" "$W/out17"
