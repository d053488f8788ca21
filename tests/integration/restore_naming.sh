#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-or-later
# `pvediff restore` writes what the user named: -o's extension decides the compression
# (.vma raw, .zst/.gz compressed), --compress may only agree with it, -o - is raw;
# --pve-name names the copy with the codec the backup was made with, carries its
# .notes, writes the .pvediff-restored marker and refuses -o; a missing output
# directory is named; a backup is found by guest and time (--vmid --at/--latest), and
# a VMID that is both a VM and a container needs --type. Usage errors exit 2.
source "$PVEDIFF_TEST_LIB/common.sh"

dump=$WORK/dump
mkdir -p "$dump" "$WORK/out" "$WORK/pve"
echo "# empty: built-in defaults" >"$WORK/pvediff.conf"
pvediff() { "$PVEDIFF" --config "$WORK/pvediff.conf" "$@"; }
rc_of() { "$@" >/dev/null 2>"$WORK/err" && echo 0 || echo $?; }

img=$WORK/disk.img
truncate -s 4M "$img"
head -c 2M /usr/bin/bash | dd of="$img" conv=notrunc status=none
make_vma() {  # day -> $WORK/vm-<day>.vma
  if (($1 > 0)); then
    head -c 8192 /dev/urandom | dd of="$img" bs=4096 seek=$(($1 * 37)) conv=notrunc status=none
  fi
  pvediff dev-make-vma --image "$img" --ctime "$((1795000000 + $1 * 86400))" -o "$WORK/vm-$1.vma"
}
full=vzdump-qemu-101-2026_11_20-01_00_00.vma.zst
make_vma 0; zstd -q -c "$WORK/vm-0.vma" >"$dump/$full"
pvediff -q backup --fullbackup 7 "$dump/$full"
# Day 1 was backed up with gzip and has notes; day 2 (the afternoon of the same day) with zstd.
make_vma 1; gzip -c "$WORK/vm-1.vma" >"$dump/vzdump-qemu-101-2026_11_21-01_00_00.vma.gz"
printf 'before the upgrade\n' >"$dump/vzdump-qemu-101-2026_11_21-01_00_00.vma.gz.notes"
pvediff -q backup --fullbackup 7 "$dump/vzdump-qemu-101-2026_11_21-01_00_00.vma.gz"
make_vma 2; zstd -q -c "$WORK/vm-2.vma" >"$dump/vzdump-qemu-101-2026_11_21-13_00_00.vma.zst"
pvediff -q backup --fullbackup 7 "$dump/vzdump-qemu-101-2026_11_21-13_00_00.vma.zst"
d1=$dump/$full--differential-2026_11_21-01_00_00.vcdiff.gz
d2=$dump/$full--differential-2026_11_21-13_00_00.vcdiff.zst
check "setup: two differentials (gzip and zstd) with manifests" \
  test -f "$d1" -a -f "$d2" -a -f "$d1.pvediff-manifest" -a -f "$d1.notes"
want1=$(sha_of "$WORK/vm-1.vma")
want2=$(sha_of "$WORK/vm-2.vma")

# -o FILE: the extension decides.
pvediff -q restore "$d2" -o "$WORK/out/r.vma"
check "-o x.vma is the raw VMA (magic 'VMA')" test "$(head -c3 "$WORK/out/r.vma")" = VMA
check "-o x.vma is day 2 byte for byte" test "$(sha_of "$WORK/out/r.vma")" = "$want2"
pvediff -q restore "$d2" -o "$WORK/out/r.vma.gz"
check "-o x.vma.gz is gzip that gzip -d reads as day 2" \
  test "$(gzip -dc "$WORK/out/r.vma.gz" | sha256sum | cut -d' ' -f1)" = "$want2"
pvediff -q restore "$d1" -o "$WORK/out/r1.vma.zst" --compress zstd
check "-o x.vma.zst --compress zstd (agreeing) is zstd of day 1" \
  test "$(zstd -dc "$WORK/out/r1.vma.zst" | sha256sum | cut -d' ' -f1)" = "$want1"
pvediff -q restore "$d1" -o "$WORK/out/r1.bin"
check "-o with no known extension is raw" test "$(sha_of "$WORK/out/r1.bin")" = "$want1"
check "-o - stays raw" test "$(pvediff -q restore "$d1" -o - | sha256sum | cut -d' ' -f1)" = "$want1"

# Contradictions and refusals: exit 2, nothing written.
check "-o x.vma --compress zstd is a usage error (2)" test "$(rc_of pvediff restore "$d2" -o "$WORK/out/c.vma" --compress zstd)" = 2
check "  and says why" grep -q "says raw but --compress says zstd" "$WORK/err"
check "-o x.vma.gz --compress lzo is a usage error (2)" test "$(rc_of pvediff restore "$d2" -o "$WORK/out/c.vma.gz" --compress lzo)" = 2
check "-o x.vma.bz2 is a usage error (2)" test "$(rc_of pvediff restore "$d2" -o "$WORK/out/c.vma.bz2")" = 2
check "--pve-name with -o is a usage error (2)" test "$(rc_of pvediff restore "$d2" --pve-name "$WORK/pve" -o "$WORK/out/c.vma")" = 2
check "nothing written by refused restores" test -z "$(ls "$WORK/out" | grep '^c\.' || true)$(ls -A "$WORK/pve")"

# A missing output directory is named, not the temporary.
rc=$(rc_of pvediff restore "$d2" -o "$WORK/missing/sub/r.vma")
check "missing output directory: exit 3" test "$rc" = 3
check "  the message names the directory" grep -q "output directory '$WORK/missing/sub' does not exist" "$WORK/err"
check "  and no temporary" bash -c "! grep -q pvediff-tmp '$WORK/err'"

# --pve-name: named with the codec the backup was made with (gzip, though the full is zstd).
pvediff -q restore "$d1" --pve-name "$WORK/pve"
copy=$WORK/pve/vzdump-qemu-101-2026_11_21-01_00_00.vma.gz
if [[ -f $copy ]]; then
  check "--pve-name: day 1 copy is gzip of day 1" test "$(gzip -dc "$copy" | sha256sum | cut -d' ' -f1)" = "$want1"
  check "--pve-name: the notes came along" test "$(cat "$copy.notes")" = "before the upgrade"
  check "--pve-name: the .pvediff-restored marker names the source" \
    grep -q "$(basename "$d1")" "$copy.pvediff-restored"
else
  fail "--pve-name did not write $copy (have: $(ls "$WORK/pve"))"
fi
check "--pve-name: exactly the copy, its notes and marker" test "$(ls "$WORK/pve" | wc -l)" -eq 3
pvediff -q restore "$d2" --pve-name "$WORK/pve" --compress lzo
check "--pve-name --compress lzo names the copy .vma.lzo" \
  test "$(lzop -dc "$WORK/pve/vzdump-qemu-101-2026_11_21-13_00_00.vma.lzo" | sha256sum | cut -d' ' -f1)" = "$want2"
check "--pve-name of a differential without notes writes none" \
  test ! -e "$WORK/pve/vzdump-qemu-101-2026_11_21-13_00_00.vma.lzo.notes"

# By guest and time. A container 101 too, the same day: ambiguous without --type.
mkdir -p "$WORK/ct"; echo hello >"$WORK/ct/f"
tar -C "$WORK/ct" -cf - . | lzop -c >"$dump/vzdump-lxc-101-2026_11_21-02_00_00.tar.lzo"
sel() { pvediff -q restore --dumpdir "$dump" --vmid 101 "$@"; }
check "--at a date, VM and container both there: usage error (2)" \
  test "$(rc_of sel --at 2026-11-21 -o "$WORK/out/amb.vma")" = 2
check "  the message names both types and --type" bash -c "grep -q 'qemu and lxc' '$WORK/err' && grep -q -- --type '$WORK/err'"
check "--type qemu --at a date: the newest of that day (13:00)" \
  test "$(sel --type qemu --at 2026-11-21 -o - | sha256sum | cut -d' ' -f1)" = "$want2"
check "--type qemu --at a time stamp: exactly that one (01:00)" \
  test "$(sel --type qemu --at 2026-11-21T01:00:00 -o - | sha256sum | cut -d' ' -f1)" = "$want1"
check "--at in the names' spelling works too" \
  test "$(sel --type qemu --at 2026_11_21-01_00_00 -o - | sha256sum | cut -d' ' -f1)" = "$want1"
check "--type qemu --latest: day 2" test "$(sel --type qemu --latest -o - | sha256sum | cut -d' ' -f1)" = "$want2"
check "--at 2026-11-20: the full" \
  test "$(sel --type qemu --at 2026-11-20 -o - | sha256sum | cut -d' ' -f1)" = "$(sha_of "$WORK/vm-0.vma")"
check "--type lxc --latest: the container's tar" \
  test "$(sel --type lxc --latest -o - | tar -tf - | grep -c '^./f$')" = 1
rc=$(rc_of pvediff restore --dumpdir "$dump" --vmid 999 --latest -o -)
check "an unknown guest: non-zero, named ($rc)" bash -c "test $rc -ne 0 && grep -q 'guest 999' '$WORK/err'"
check "no backup at that time: exit 3" test "$(rc_of sel --type qemu --at 2026-11-23 -o -)" = 3
check "--at garbage: usage error (2)" test "$(rc_of sel --at yesterday -o -)" = 2
check "--vmid without --at/--latest: usage error (2)" test "$(rc_of sel -o -)" = 2
check "a file and --vmid: usage error (2)" test "$(rc_of pvediff restore "$d1" --vmid 101 --latest -o -)" = 2
check "no temporaries left anywhere" test -z "$(find "$WORK" -name '*pvediff-tmp*')"
