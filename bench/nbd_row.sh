#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-or-later
# bench/nbd_row.sh SIZE_GIB PERCENT: one row of the `backup --nbd` figures. A sparse
# qcow2 of SIZE_GIB with real file contents on 60 % of it and a dirty bitmap; day 0 a
# whole-disk read (a full), then PERCENT of the disk rewritten in 1 MiB pieces and
# day 1 read (a) through the bitmap and (b) whole, each into its own dump dir holding
# day 0's full. Prints wall time, peak RSS, bytes read over NBD, differential size.
# Run with nice -n 5 beside other work; compare the two rows of one run, not runs.
set -euo pipefail
size=${1:-1} percent=${2:-1}
pvediff=${PVEDIFF:-$(dirname "$0")/../build/pvediff}
work=$(mktemp -d "${TMPDIR:-/tmp}/pvediff-nbd-bench-XXXXXX")
trap 'kill $(jobs -p) 2>/dev/null || true; rm -rf "$work"' EXIT
disk=$work/d.qcow2
qemu-img create -q -f qcow2 "$disk" "${size}G"
qemu-img bitmap --add "$disk" b0
(set +o pipefail; find /usr/share /usr/lib -type f -size +16k 2>/dev/null | xargs cat 2>/dev/null |
  head -c $((size * 1024 * 1024 * 1024 * 6 / 10)) >"$work/files")
qemu-io -f qcow2 -c "write -s $work/files 0 $(stat -c %s "$work/files")" "$disk" >/dev/null
rm "$work/files"
printf 'memory: 1024\n' >"$work/conf"
printf 'fullbackup: 7\n' >"$work/pvediff.conf"
serve() {
  rm -f "$work/sock"
  qemu-nbd -t -r -f qcow2 -B b0 -x drive-scsi0 -k "$work/sock" "$disk" &
  for _ in $(seq 50); do [[ -S $work/sock ]] && break; sleep 0.1; done
}
unserve() { kill %% 2>/dev/null; wait 2>/dev/null || true; }
run() {  # DIR DAY [args]
  local dir=$1 day=$2
  shift 2
  /usr/bin/time -f "%e s wall, %U s user, %S s sys, %M KiB RSS" "$pvediff" --config "$work/pvediff.conf" --no-progress backup \
    --nbd "drive-scsi0=nbd+unix:///drive-scsi0?socket=$work/sock" --vmid 100 --dumpdir "$dir" \
    --guest-config "$work/conf" --now $((1790000000 + day * 86400)) "$@" 2>&1 | grep -E "wall|read over|reading"
}
mkdir "$work/a" "$work/b"
serve
echo "day 0 (${size} GiB, whole-disk read):"
run "$work/a" 0 --bitmap b0 --bitmap-mode new
unserve
cp "$work"/a/* "$work/b/"
qemu-img bitmap --clear "$disk" b0
pieces=$((size * 1024 * percent / 100))
cmds=()
for i in $(seq 1 "$pieces"); do cmds+=(-c "write -s /dev/urandom $(((i * 7919) % (size * 1024)))M 1M"); done
head -c 1M /dev/urandom >"$work/r"
for i in $(seq 1 "$pieces"); do cmds[$((i * 2 - 1))]="write -s $work/r $(((i * 7919) % (size * 1024)))M 1M"; done
qemu-io -f qcow2 "${cmds[@]}" "$disk" >/dev/null
serve
echo "day 1, ${percent} % rewritten, through the bitmap:"
run "$work/a" 1 --bitmap b0
echo "day 1, the same, whole-disk read:"
run "$work/b" 1
unserve
ls -l "$work"/a/*differential* "$work"/b/*differential* | awk '{print $5, $9}' | sed "s|$work/||"
