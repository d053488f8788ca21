#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-or-later
# The tmpdir setting: scratch files (the encoder's set-aside ranges of the full, the
# proof's pieces, the decoder's spill) go to the directory it names instead of the dump
# dir, for backup, restore, verify, diff and patch; --tmpdir overrides the config. Shown
# by a tmpdir on a tiny tmpfs: every command that needs scratch space then fails there,
# naming it, and leaves the dump dir as it was; with room it succeeds, byte for byte,
# and leaves the tmpdir empty (the files have no name). A tmpdir that is missing or not
# a directory fails before any work; a relative one is a configuration error. The mount
# cases need CAP_SYS_ADMIN (root in this container); without it the suite is skipped.
source "${PVEDIFF_TEST_LIB:?}/common.sh" || exit 1

tiny=$WORK/tiny
[[ $tiny == */pvediff-it-*/tiny ]] || exit 1  # never mount anywhere else
mkdir -p "$tiny"
if ! mount -t tmpfs -o size=64k tmpfs "$tiny" 2>"$WORK/mount.err"; then
  echo "skipped: a tiny tmpfs cannot be mounted ($(cat "$WORK/mount.err"))"
  exit 77
fi
trap 'rc=$?; set +e; umount "$tiny" 2>/dev/null || umount -l "$tiny"; (exit $rc); finish' EXIT

snapshot() { (cd "$1" && find . -type f ! -name '.pvediff-lock-*' -print0 | sort -z | xargs -0r sha256sum); }
empty_dir() { [[ -z $(find "$1" -mindepth 1 -print -quit) ]]; }

# --- a guest whose disk moved by 16 MiB: nothing new, every copy far --------------------
# The decoder reads the full forward and sets aside more than its 64 MiB of memory
# before the first window can be written, so restores spill; the encoder keeps the far
# ranges of the full on scratch disk.
t0=1790000000
head -c 80M /dev/urandom >"$WORK/img0"
(tail -c 16M "$WORK/img0" && head -c 64M "$WORK/img0") >"$WORK/img1"
"$PVEDIFF" dev-make-vma --image "$WORK/img0" --order-seed 0 --ctime "$t0" -o "$WORK/day0.vma"
"$PVEDIFF" dev-make-vma --image "$WORK/img1" --order-seed 1 --ctime "$((t0 + 86400))" -o "$WORK/day1.vma"
full=vzdump-qemu-101-$(stamp_of "$t0").vma.zst
arch=vzdump-qemu-101-$(stamp_of "$((t0 + 86400))").vma.zst
diff_file=$full--differential-$(stamp_of "$((t0 + 86400))").vcdiff.zst
day1_sha=$(sha_of "$WORK/day1.vma")
room=$WORK/room
mkdir -p "$room"
# frame-fulls 0: a full in frames would give the restore its far blocks directly.
conf=$WORK/pvediff.conf
printf 'fullbackup: 7\nmax-diff-ratio: 1\nframe-fulls: 0\ntmpdir: %s\n' "$tiny" >"$conf"
pv() { "$PVEDIFF" --config "$conf" "$@"; }
quiet() { "$@" >/dev/null; }

dump=$WORK/dump
mkdir -p "$dump"
zstd -q -1 -c "$WORK/day0.vma" >"$dump/$full"
pv -q backup --tmpdir "$room" "$dump/$full"
zstd -q -1 -c "$WORK/day1.vma" >"$dump/$arch"
arch_sha=$(sha_of "$dump/$arch")

# expect_no_room LABEL STATUS CMD...: exits with STATUS, saying that the scratch file in
# the tiny tmpdir ran out of space; the dump dir unchanged.
expect_no_room() {
  local label=$1 status=$2 before rc=0
  shift 2
  before=$(snapshot "$dump")
  "$@" >"$WORK/out" 2>"$WORK/err" || rc=$?
  check "$label: exit $status (got $rc)" test "$rc" -eq "$status"
  check "$label: the scratch file in the tmpdir is named, with the cause" \
    grep -qF "'$tiny/pvediff-spill (unnamed scratch file)': No space left on device" "$WORK/err" "$WORK/out"
  check "$label: the dump dir is as it was" test "$before" = "$(snapshot "$dump")"
  check "$label: nothing left in the tmpdir" empty_dir "$tiny"
}

# --- backup ---------------------------------------------------------------------------
expect_no_room "backup, tmpdir from the config" 3 pv backup "$dump/$arch"
check "backup: the archive is kept byte for byte" test "$(sha_of "$dump/$arch")" = "$arch_sha"
check "backup, --tmpdir with room: differential written" pv -q backup --tmpdir "$room" "$dump/$arch"
check "backup: the archive was replaced" test ! -e "$dump/$arch" -a -f "$dump/$diff_file"
check "backup: nothing left in the tmpdir with room" empty_dir "$room"

# --- restore, verify, patch: the decoder's spill ----------------------------------------
expect_no_room "restore -o -, tmpdir from the config" 3 pv restore "$dump/$diff_file" -o -
expect_no_room "restore -o FILE" 3 pv restore "$dump/$diff_file" -o "$WORK/out.vma"
check "restore -o FILE: no output left" test ! -e "$WORK/out.vma"
expect_no_room "verify" 1 pv verify --all "$dump/$diff_file"
expect_no_room "patch, --tmpdir" 3 "$PVEDIFF" patch --tmpdir "$tiny" --base "$dump/$full" \
  --delta "$dump/$diff_file" -o -
# With room, the same restore gives the archive.
pv -q restore --tmpdir "$room" "$dump/$diff_file" -o - >"$WORK/restored.vma"
check "restore --tmpdir with room: the archive, byte for byte" \
  test "$(sha_of "$WORK/restored.vma")" = "$day1_sha"
check "verify --tmpdir with room passes" quiet pv verify --all --tmpdir "$room" "$dump/$diff_file"
# Into a character device, without a tmpdir, the spill goes beside the backup, not
# beside the device (-o /dev/null must not fill /dev): a null device on the tiny tmpfs.
mknod "$tiny/null" c 1 3
printf 'fullbackup: 7\n' >"$WORK/plain.conf"
check "restore -o a device, no tmpdir: spilled beside the backup, not beside the device" \
  quiet "$PVEDIFF" --config "$WORK/plain.conf" -q restore "$dump/$diff_file" -o "$tiny/null"
rm -f "$tiny/null"
check "nothing left in the tmpdir with room" empty_dir "$room"

# --- diff: the encoder's scratch --------------------------------------------------------
expect_no_room "diff, --tmpdir" 3 "$PVEDIFF" diff --tmpdir "$tiny" --base "$dump/$full" \
  --new "$WORK/day1.vma" -o "$WORK/d.vcdiff"
check "diff: no output left" test ! -e "$WORK/d.vcdiff"

# --- a tmpdir that is not a writable directory: refused before any work -----------------
printf 'x' >"$WORK/a-file"
"$PVEDIFF" dev-make-vma --image "$WORK/img1" --order-seed 2 --ctime "$((t0 + 2 * 86400))" -o "$WORK/day2.vma"
arch2=vzdump-qemu-101-$(stamp_of "$((t0 + 2 * 86400))").vma.zst
zstd -q -1 -c "$WORK/day2.vma" >"$dump/$arch2"
for bad in "$WORK/missing" "$WORK/a-file"; do
  for cmd in "backup $dump/$arch2" "restore $dump/$diff_file -o -"; do
    what="${cmd%% *} --tmpdir $(basename "$bad")"
    before=$(snapshot "$dump")
    rc=0
    # shellcheck disable=SC2086 # the command's words
    pv ${cmd%% *} --tmpdir "$bad" ${cmd#* } >/dev/null 2>"$WORK/err" || rc=$?
    check "$what: exit 3 (got $rc)" test "$rc" -eq 3
    check "$what: named as the tmpdir" grep -qF "'$bad': tmpdir for scratch files" "$WORK/err"
    check "$what: the dump dir is as it was" test "$before" = "$(snapshot "$dump")"
  done
done
check "a file as tmpdir: said to be one" grep -qF "'$WORK/a-file': tmpdir for scratch files: a regular file, not a directory" "$WORK/err"
printf 'fullbackup: 7\ntmpdir: relative/dir\n' >"$WORK/bad.conf"
rc=0
"$PVEDIFF" --config "$WORK/bad.conf" verify "$dump" >/dev/null 2>"$WORK/err" || rc=$?
check "a relative tmpdir in the config: exit 2 (got $rc)" test "$rc" -eq 2
check "a relative tmpdir in the config: line and key named" \
  grep -q "line 2: bad value for tmpdir: 'relative/dir' (expected an absolute path)" "$WORK/err"
printf 'vmid-101-tmpdir: /var/tmp\n' >"$WORK/bad.conf"
rc=0
"$PVEDIFF" --config "$WORK/bad.conf" verify "$dump" >/dev/null 2>"$WORK/err" || rc=$?
check "tmpdir per guest: refused (global only), exit 2 (got $rc)" test "$rc" -eq 2
