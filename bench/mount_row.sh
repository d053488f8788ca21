#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-or-later
# The `pvediff mount` row: reading a differential through the mounted view (`cat` to
# /dev/null) against `pvediff restore DIFF -o -` of the same differential, each run
# `--runs` times alternately (page cache warm for both). Reports the throughput ratio
# (target >= 0.8), the time to the first byte through the view (open + read of 1 byte;
# target <= 1 s) and the daemon's extra memory per open file (peak RSS while 1 and 2
# files are read at once, minus the idle RSS).
#
#   bench/mount_row.sh --pvediff build/pvediff [--size 512M] [--workdir DIR] [--runs 3]
#   bench/mount_row.sh --pvediff build/pvediff --full FULL --diff DIFF   (existing pair)
set -euo pipefail

pvediff=""
size=512M
workdir=${TMPDIR:-/tmp}/pvediff-mount-bench
runs=3
full=""
diff=""
while (($#)); do
  case $1 in
    --pvediff) pvediff=$2; shift 2 ;;
    --size) size=$2; shift 2 ;;
    --workdir) workdir=$2; shift 2 ;;
    --runs) runs=$2; shift 2 ;;
    --full) full=$2; shift 2 ;;
    --diff) diff=$2; shift 2 ;;
    *) sed -n 3,12p "$0" | sed 's/^# \{0,1\}//'; exit 2 ;;
  esac
done
[[ -x $pvediff ]] || { echo "mount_row.sh: --pvediff PATH is required" >&2; exit 2; }
pvediff=$(cd "$(dirname "$pvediff")" && pwd)/$(basename "$pvediff")
mkdir -p "$workdir"
workdir=$(cd "$workdir" && pwd)
dump=$workdir/dump
mnt=$workdir/mnt
daemon=
cleanup() {
  mountpoint -q "$mnt" 2>/dev/null && { fusermount3 -u "$mnt" || fusermount3 -uz "$mnt"; }
  [[ -n $daemon ]] && { kill "$daemon" 2>/dev/null || true; wait "$daemon" 2>/dev/null || true; }
  return 0
}
trap cleanup EXIT

if [[ -z $full ]]; then
  # A VM: a disk image of real files; day 2 rewrites 2 % of it in scattered 64 KiB runs.
  rm -rf "$dump"; mkdir -p "$dump" "$mnt"
  bytes=$(numfmt --from=iec "${size%B}")
  img=$workdir/disk.img
  truncate -s "$bytes" "$img"
  (set +o pipefail; find /usr -type f -size -2M 2>/dev/null | sort | xargs cat 2>/dev/null |
    head -c $((bytes * 3 / 4)) | dd of="$img" conv=notrunc status=none)
  "$pvediff" -q dev-make-vma --image "$img" --order-seed 1 --ctime 1795000000 -o - | zstd -q -3 \
    >"$dump/vzdump-qemu-101-2026_11_20-01_00_00.vma.zst"
  echo "# bench: built-in defaults" >"$workdir/pvediff.conf"
  "$pvediff" -q --config "$workdir/pvediff.conf" backup --fullbackup 7 "$dump/vzdump-qemu-101-2026_11_20-01_00_00.vma.zst"
  blocks=$((bytes / 65536))
  for ((i = 0; i < blocks / 50; i++)); do
    head -c 65536 /dev/urandom | dd of="$img" bs=65536 seek=$(((i * 7919) % blocks)) conv=notrunc status=none
  done
  "$pvediff" -q dev-make-vma --image "$img" --order-seed 2 --ctime 1795086400 -o - | zstd -q -3 \
    >"$dump/vzdump-qemu-101-2026_11_21-01_00_00.vma.zst"
  "$pvediff" -q --config "$workdir/pvediff.conf" backup --fullbackup 7 "$dump/vzdump-qemu-101-2026_11_21-01_00_00.vma.zst"
  diff=$(ls "$dump"/*--differential-*.vcdiff.zst)
  full=$dump/vzdump-qemu-101-2026_11_20-01_00_00.vma.zst
else
  mkdir -p "$mnt"
  dump=$(cd "$(dirname "$diff")" && pwd)
fi

TMPDIR=$workdir "$pvediff" mount -f "$dump" "$mnt" 2>"$workdir/mount.log" &
daemon=$!
for _ in $(seq 100); do mountpoint -q "$mnt" && break; sleep 0.1; done
mountpoint -q "$mnt" || { cat "$workdir/mount.log" >&2; exit 1; }
shown=$(ls "$mnt" | grep -E '\.(vma|tar)$' | head -1)
content=$(stat -c %s "$mnt/$shown")
now() { date +%s.%N; }
best_restore=999999
best_mount=999999
for ((r = 0; r < runs; r++)); do
  t0=$(now); "$pvediff" -q restore "$diff" -o - >/dev/null; t1=$(now)
  best_restore=$(echo "$best_restore $t0 $t1" | awk '{d=$3-$2; print (d<$1)?d:$1}')
  t0=$(now); cat "$mnt/$shown" >/dev/null; t1=$(now)
  best_mount=$(echo "$best_mount $t0 $t1" | awk '{d=$3-$2; print (d<$1)?d:$1}')
done
first_byte=$(python3 -c '
import os, sys, time
t = time.monotonic(); fd = os.open(sys.argv[1], os.O_RDONLY); os.read(fd, 1); print("%.3f" % (time.monotonic() - t))' "$mnt/$shown")
rss() { awk '/VmRSS/ {print $2}' "/proc/$daemon/status"; }
peak_while() {  # command...: the daemon's peak RSS (KiB) while it runs
  local peak=0 v
  "$@" & local job=$!
  while kill -0 "$job" 2>/dev/null; do v=$(rss); ((v > peak)) && peak=$v; sleep 0.05; done
  wait "$job"; echo "$peak"
}
idle=$(rss)
one=$(peak_while bash -c "cat '$mnt/$shown' >/dev/null")
two=$(peak_while bash -c "cat '$mnt/$shown' >/dev/null & cat '$mnt/$shown' >/dev/null; wait")
mb() { awk -v b="$1" 'BEGIN {printf "%.0f", b / 1048576}'; }
echo "| archive | restore -o - | through the mount | ratio | first byte | RSS idle / +1 file / +2 files |"
echo "|---|---|---|---|---|---|"
awk -v n="$shown" -v c="$content" -v r="$best_restore" -v m="$best_mount" -v f="$first_byte" \
    -v i="$idle" -v o="$one" -v t="$two" 'BEGIN {
  printf "| %s (%.0f MiB) | %.2f s (%.0f MiB/s) | %.2f s (%.0f MiB/s) | %.2f | %s s | %.0f / +%.0f / +%.0f MiB |\n",
    n, c/1048576, r, c/1048576/r, m, c/1048576/m, r/m, f, i/1024, (o-i)/1024, (t-i)/1024 }'
