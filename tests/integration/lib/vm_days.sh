# SPDX-License-Identifier: GPL-2.0-or-later
# VM disks with real file contents, and a VMA of them per day, for the backup and
# restore suites. Needs common.sh (WORK, PVEDIFF, sha_of, disk_image) sourced first.

# vma_days DAY...: the backup suites' series, on a 4 MiB image $WORK/disk.img: each day
# rewrites 8 KiB, then $WORK/raw-DAY.vma (ctime t0 + DAY days, clusters in the day's
# order), its zstd copy $WORK/in-DAY.zst and want[DAY], the raw VMA's SHA-256. Needs t0.
vma_days() {
  local img=$WORK/disk.img day
  disk_image "$img" 4M 3M 200
  for day in "$@"; do
    head -c 8192 /dev/urandom | dd of="$img" bs=4096 seek=$(((day * 41 + 173) % 1000)) conv=notrunc status=none
    "$PVEDIFF" dev-make-vma --image "$img" --order-seed "$day" --ctime "$((${t0:?} + day * 86400))" \
      -o "$WORK/raw-$day.vma"
    want[$day]=$(sha_of "$WORK/raw-$day.vma")
    zstd -q -c <"$WORK/raw-$day.vma" >"$WORK/in-$day.zst"
  done
}

# The restore suites' disk: 8 MiB, call vm_disk_init once; make_vma DAY writes
# $WORK/vm-DAY.vma, after rewriting four pages for a DAY above 0 (clusters in the
# day's order, ctime 1795000000 + DAY days).
vm_disk_init() {
  disk_image "$WORK/disk.img" 8M 6M 300
}
make_vma() {
  local day=$1 i
  if ((day > 0)); then
    for i in 1 2 3 4; do
      head -c 4096 /dev/urandom | dd of="$WORK/disk.img" bs=4096 seek=$(((day * 53 + i * 307) % 2000)) \
        conv=notrunc status=none
    done
  fi
  "$PVEDIFF" dev-make-vma --image "$WORK/disk.img" --order-seed "$day" --ctime "$((1795000000 + day * 86400))" \
    -o "$WORK/vm-$day.vma"
}
