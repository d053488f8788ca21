#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-or-later
# Two `pvediff backup` of the same guest at once. The guest's lock (an fcntl OFD lock on
# <dumpdir>/.pvediff-lock-<type>-<vmid>) is held from the test by a small python3 script,
# so that the overlap is certain: with a large lock-timeout both runs wait and succeed
# and the chain stays consistent (every differential restores); with lock-timeout 0 the
# second run fails clearly and loses nothing. A backup of another guest is not blocked.
# Also: archives converted out of order never delete a full that has differentials.
source "$PVEDIFF_TEST_LIB/common.sh"
export TZ=UTC

t0=1790000000
for t in 60 0; do
  printf 'fullbackup: 7\nmax-diff-ratio: 0.9\nlock-timeout: %s\n' "$t" >"$WORK/timeout-$t.conf"
done
wait_conf=$WORK/timeout-60.conf
nowait_conf=$WORK/timeout-0.conf

# The guest's disk and its day-N VMA (raw) in $WORK/raw-N.vma.
img=$WORK/disk.img
truncate -s 4M "$img"
(set +o pipefail; find /usr/share/doc -type f -size -64k 2>/dev/null | head -200 | xargs cat 2>/dev/null |
  head -c 3M | dd of="$img" conv=notrunc status=none)
for day in 0 1 2 3 4 5 6; do
  for i in 1 2; do
    head -c 4096 /dev/urandom | dd of="$img" bs=4096 seek=$(((day * 41 + i * 173) % 1000)) conv=notrunc status=none
  done
  "$PVEDIFF" dev-make-vma --image "$img" --order-seed "$day" --ctime "$((t0 + day * 86400))" -o "$WORK/raw-$day.vma"
  want[$day]=$(sha_of "$WORK/raw-$day.vma")
done
# put_archive DIR VMID DAY: vzdump's finished archive (zstd) of that day; prints its path.
put_archive() {
  local f=$1/vzdump-qemu-$2-$(stamp_of "$(($t0 + $3 * 86400))").vma.zst
  zstd -q -c <"$WORK/raw-$3.vma" >"$f"
  echo "$f"
}

# The lock holder: takes the OFD lock (as pvediff does), says so in READY, writes who
# holds it (pvediff's format), and keeps it until RELEASE exists.
cat >"$WORK/hold_lock.py" <<'PY'
import fcntl, os, socket, struct, sys, time
path, ready, release = sys.argv[1:4]
fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
F_OFD_SETLK = getattr(fcntl, "F_OFD_SETLK", 37)
# struct flock on Linux x86-64/aarch64: short type, short whence, off_t start, off_t len, pid_t pid
fcntl.fcntl(fd, F_OFD_SETLK, struct.pack("hhqqi4x", fcntl.F_WRLCK, os.SEEK_SET, 0, 0, 0))
os.ftruncate(fd, 0)
os.pwrite(fd, f"pid {os.getpid()} on {socket.gethostname()}\n".encode(), 0)
open(ready, "w").close()
while not os.path.exists(release):
    time.sleep(0.02)
PY
holder_pid=
hold_lock() {  # DIR TYPE VMID
  rm -f "$WORK/ready" "$WORK/release"
  python3 "$WORK/hold_lock.py" "$1/.pvediff-lock-$2-$3" "$WORK/ready" "$WORK/release" &
  holder_pid=$!
  wait_for "the lock holder" test -e "$WORK/ready"
}
release_lock() {
  touch "$WORK/release"
  wait "$holder_pid"
}
wait_for() {  # WHAT CMD...: up to 20 s
  local what=$1 i
  shift
  for ((i = 0; i < 400; i++)); do
    "$@" && return 0
    sleep 0.05
  done
  fail "timed out waiting for $what"
  return 1
}
# restores_to FILE DAY: FILE (full or differential) holds exactly day DAY's VMA.
restores_to() {
  "$PVEDIFF" restore "$1" -o - >"$WORK/restored" 2>"$WORK/restore.err" &&
    test "$(sha_of "$WORK/restored")" = "${want[$2]}"
}

# ---- file mode, large timeout: both wait, both succeed --------------------------------
dir=$WORK/file-wait; mkdir -p "$dir"
a0=$(put_archive "$dir" 101 0)
"$PVEDIFF" --config "$wait_conf" backup "$a0" >/dev/null
a1=$(put_archive "$dir" 101 1); a2=$(put_archive "$dir" 101 2)
hold_lock "$dir" qemu 101
"$PVEDIFF" --config "$wait_conf" backup "$a1" >"$WORK/out1" 2>&1 & p1=$!
"$PVEDIFF" --config "$wait_conf" backup "$a2" >"$WORK/out2" 2>&1 & p2=$!
wait_for "run 1 to wait" grep -q 'waiting for another pvediff' "$WORK/out1"
wait_for "run 2 to wait" grep -q 'waiting for another pvediff' "$WORK/out2"
check "file mode: nothing written while the lock is held" test -z "$(find "$dir" -name '*--differential-*')"
release_lock
rc1=0; wait "$p1" || rc1=$?
rc2=0; wait "$p2" || rc2=$?
check "file mode, waiting: run 1 succeeds (exit $rc1)" test "$rc1" -eq 0
check "file mode, waiting: run 2 succeeds (exit $rc2)" test "$rc2" -eq 0
check "file mode, waiting: days 0-2 restore exactly, one backup each" chain_ok "$dir" 101 0 1 2
check "file mode, waiting: verify passes" "$PVEDIFF" verify "$dir"

# ---- stream mode, large timeout ---------------------------------------------------------
sdir=$WORK/stream-wait; mkdir -p "$sdir"
zstd -q -c <"$WORK/raw-0.vma" | "$PVEDIFF" --config "$wait_conf" backup - --vmid 101 --type qemu --dumpdir "$sdir" --now "$t0" >/dev/null
hold_lock "$sdir" qemu 101
for day in 1 2; do
  zstd -q -c <"$WORK/raw-$day.vma" >"$WORK/in-$day.zst"
  "$PVEDIFF" --config "$wait_conf" backup - --vmid 101 --type qemu --dumpdir "$sdir" --now "$((t0 + day * 86400))" \
    <"$WORK/in-$day.zst" >"$WORK/sout$day" 2>&1 &
  sp[$day]=$!
done
wait_for "stream run 1 to wait" grep -q 'waiting for another pvediff' "$WORK/sout1"
wait_for "stream run 2 to wait" grep -q 'waiting for another pvediff' "$WORK/sout2"
release_lock
for day in 1 2; do
  rc=0; wait "${sp[$day]}" || rc=$?
  check "stream mode, waiting: day $day succeeds (exit $rc)" test "$rc" -eq 0
done
check "stream mode, waiting: days 0-2 restore exactly, one backup each" chain_ok "$sdir" 101 0 1 2
check "stream mode: both differentials are against the day-0 full" \
  test "$(ls "$sdir" | grep -c "^vzdump-qemu-101-$(stamp_of $t0).vma.zst--differential-.*\.vcdiff\.zst$")" -eq 2

# ---- lock-timeout 0: the second run fails clearly, nothing is lost ----------------------
a3=$(put_archive "$dir" 101 3)
sha_a3=$(sha_of "$a3")
hold_lock "$dir" qemu 101
before=$(cd "$dir" && ls -A | sort)
rc=0; "$PVEDIFF" --config "$nowait_conf" backup "$a3" >"$WORK/out" 2>&1 || rc=$?
check "file mode, no wait: fails with the lock exit status 4 (exit $rc)" test "$rc" -eq 4
check "file mode, no wait: says the lock is held, and by whom ($(tail -1 "$WORK/out"))" \
  grep -q "cannot lock vmid 101.*held by another pvediff (pid $holder_pid on" "$WORK/out"
check "file mode, no wait: the archive is still there, unchanged" test "$(sha_of "$a3")" = "$sha_a3"
check "file mode, no wait: the dump dir is unchanged" test "$before" = "$(cd "$dir" && ls -A | sort)"
# The hook in backup-end (fails the guest's backup) and in log-end (a warning).
for phase in backup-end log-end; do
  printf 'fullbackup: 7\nlock-timeout: 0\nhook-phase: %s\n' "$phase" >"$WORK/hook.conf"
  rc=0
  env -i STOREID=local DUMPDIR="$dir" VMTYPE=qemu TARGET="$a3" LC_ALL=C \
    "$PVEDIFF" --config "$WORK/hook.conf" hook "$phase" snapshot 101 >"$WORK/out" 2>&1 || rc=$?
  check "hook $phase, lock held: exits non-zero (exit $rc)" test "$rc" -ne 0
  check "hook $phase, lock held: says so" grep -q 'cannot lock vmid 101' "$WORK/out"
  check "hook $phase, lock held: the archive is unchanged" test "$(sha_of "$a3")" = "$sha_a3"
done
# Another guest is not blocked by guest 101's lock.
b0=$(put_archive "$dir" 102 0)
rc=0; "$PVEDIFF" --config "$nowait_conf" backup "$b0" >"$WORK/out" 2>&1 || rc=$?
check "another VMID is not blocked (exit $rc)" test "$rc" -eq 0
release_lock

hold_lock "$sdir" qemu 101
rc=0; zstd -q -c <"$WORK/raw-3.vma" | "$PVEDIFF" --config "$nowait_conf" backup - --vmid 101 --type qemu \
  --dumpdir "$sdir" --now "$((t0 + 3 * 86400))" >"$WORK/out" 2>&1 || rc=$?
check "stream mode, no wait: fails with the lock exit status 4 (exit $rc)" test "$rc" -eq 4
check "stream mode, no wait: says the lock is held" grep -q "cannot lock vmid 101.*pid $holder_pid" "$WORK/out"
check "stream mode, no wait: nothing written for day 3" test -z "$(ls -A "$sdir" | grep "$(stamp_of "$((t0 + 3 * 86400))")")"
# Nor is lxc 101 blocked by qemu 101's lock (the lock is per type and VMID).
mkdir -p "$WORK/ct"; echo hello >"$WORK/ct/file"
tar -C "$WORK/ct" -cf "$WORK/ct.tar" .
rc=0; "$PVEDIFF" --config "$nowait_conf" backup - --vmid 101 --type lxc --dumpdir "$sdir" --now "$t0" \
  <"$WORK/ct.tar" >"$WORK/out" 2>&1 || rc=$?
check "lxc 101 is not blocked by qemu 101 (exit $rc)" test "$rc" -eq 0
release_lock
# Once free, the refused archive is converted normally.
check "after release: the refused archive is converted" "$PVEDIFF" --config "$nowait_conf" backup "$a3"
check "after release: days 0-3 restore exactly" chain_ok "$dir" 101 0 1 2 3

# ---- out of order: a full that has differentials is never converted ----------------------
# Day 5 converted first (against day 4, still a full), then day 4: day 4 must stay a full,
# or the day-5 differential would lose its full.
odir=$WORK/order; mkdir -p "$odir"
o0=$(put_archive "$odir" 101 0)
"$PVEDIFF" --config "$wait_conf" backup "$o0" >/dev/null
o4=$(put_archive "$odir" 101 4); o5=$(put_archive "$odir" 101 5)
"$PVEDIFF" --config "$wait_conf" backup "$o5" >"$WORK/out" 2>&1 || fail "out of order: day 5: $(cat "$WORK/out")"
rc=0; "$PVEDIFF" --config "$wait_conf" backup "$o4" >"$WORK/out" 2>&1 || rc=$?
check "out of order: day 4 is handled (exit $rc)" test "$rc" -eq 0
check "out of order: days 0, 4, 5 restore exactly" chain_ok "$odir" 101 0 4 5
check "out of order: verify passes" "$PVEDIFF" verify "$odir"
