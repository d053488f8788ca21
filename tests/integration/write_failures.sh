#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-or-later
# Write failures: a file size limit (RLIMIT_FSIZE, EFBIG), a read-only dump dir (EROFS),
# a full file system (ENOSPC, a tiny tmpfs), and failing fsync/write (EIO, an
# LD_PRELOAD shim). Each must end with a clear message naming the file and the cause,
# exit status 3 (not death by a signal), no temporaries, the full and the archive kept
# byte for byte. The mount cases need CAP_SYS_ADMIN (root in this container); without
# it they are skipped and say so.
source "${PVEDIFF_TEST_LIB:?}/common.sh" || exit 1

mounts=()
cleanup() {
  local m
  for m in "${mounts[@]}"; do umount "$m" 2>/dev/null || umount -l "$m" 2>/dev/null || true; done
}
trap 'rc=$?; set +e; cleanup; (exit $rc); finish' EXIT

sha() { sha256sum <"$1" | cut -d' ' -f1; }
# A listing of a dir with sizes and SHA-256 of every file (hidden ones too).
snapshot() { (cd "$1" && find . -type f ! -name '.pvediff-lock-*' -print0 | sort -z | xargs -0r sha256sum); }

# --- inputs: incompressible content so that the differential is megabytes -------------
t0=1790000000
day0=$(date -u -d "@$t0" +%Y_%m_%d-%H_%M_%S)
day1=$(date -u -d "@$((t0 + 86400))" +%Y_%m_%d-%H_%M_%S)
head -c 8M /dev/urandom >"$WORK/img0"
cp "$WORK/img0" "$WORK/img1"
head -c 3M /dev/urandom | dd of="$WORK/img1" bs=1M seek=2 conv=notrunc status=none
"$PVEDIFF" dev-make-vma --image "$WORK/img0" --order-seed 0 --ctime "$t0" -o "$WORK/day0.vma"
"$PVEDIFF" dev-make-vma --image "$WORK/img1" --order-seed 1 --ctime "$((t0 + 86400))" -o "$WORK/day1.vma"
full=vzdump-qemu-101-$day0.vma.zst
arch=vzdump-qemu-101-$day1.vma.zst
conf=$WORK/pvediff.conf
printf 'fullbackup: 7\nmax-diff-ratio: 1\n' >"$conf"
pv() { "$PVEDIFF" --config "$conf" "$@"; }
quiet() { "$@" >/dev/null; }

mkdir -p "$WORK/tpl"
zstd -q -c "$WORK/day0.vma" >"$WORK/tpl/$full"
pv -q backup "$WORK/tpl/$full"
zstd -q -c "$WORK/day1.vma" >"$WORK/$arch"
full_sha=$(sha "$WORK/tpl/$full")
arch_sha=$(sha "$WORK/$arch")

# prepare DIR: a dump dir with the kept full and the new archive (file mode).
prepare() {
  mkdir -p "$1"
  cp -a "$WORK/tpl/." "$1/"
  cp "$WORK/$arch" "$1/"
}

# expect_failure LABEL DIR ERRNO-TEXT FILE-RE CMD...: exit 3 with a message naming
# the file (FILE-RE, grep -E) and the cause, nothing changed in DIR, no temporaries.
expect_failure() {
  local label=$1 dir=$2 cause=$3 word=$4 before rc=0
  shift 4
  before=$(snapshot "$dir")
  "$@" >"$WORK/out" 2>"$WORK/err" || rc=$?
  local msg
  msg=$(grep 'error' "$WORK/err" | head -1 || true)
  echo "   $label: rc $rc: ${msg:-$(head -c 300 "$WORK/err")}"
  check "$label: exit status 3, not a signal (got $rc)" test "$rc" -eq 3
  check "$label: the message gives the cause ($cause)" grep -q -- "$cause" "$WORK/err"
  check "$label: the message names the file (/$word/)" grep -qE -- "$word" "$WORK/err"
  check "$label: no temporaries left" test -z "$(find "$dir" -name '.*.pvediff-tmp')"
  check "$label: the dump dir is unchanged (files, sizes, SHA-256)" test "$(snapshot "$dir")" = "$before"
  if [[ -f $dir/$full ]]; then check "$label: the full is kept" test "$(sha "$dir/$full")" = "$full_sha"; fi
  if [[ -f $dir/$arch ]]; then check "$label: the archive is kept" test "$(sha "$dir/$arch")" = "$arch_sha"; fi
}

# Where a differential's write fails: its temporary file, or the scratch file the
# engine spills to (in the dump dir: unnamed, shown as "pvediff-spill (unnamed scratch
# file)", or a named temporary where the file system has no O_TMPFILE).
diff_re="/(\.${full//./\\.}--differential-.*\.pvediff-tmp|pvediff-spill \(unnamed scratch file\)|\.pvediff-spill\..*\.pvediff-tmp)'"

# --- RLIMIT_FSIZE (ulimit -f, in KiB): EFBIG, not death by SIGXFSZ ----------------------
d=$WORK/fsize-file; prepare "$d"
expect_failure "file size limit, differential (file mode)" "$d" "File too large" "$diff_re" \
  bash -c 'ulimit -f 1024; exec "$@"' _ "$PVEDIFF" --config "$conf" backup "$d/$arch"
check "file size limit: the next run without the limit completes" pv -q backup "$d/$arch"
check "file size limit: verify passes afterwards" quiet pv verify "$d"

d=$WORK/fsize-stream; mkdir -p "$d"
expect_failure "file size limit, full from a stream" "$d" "File too large" "vzdump-qemu-101-" \
  bash -c 'ulimit -f 1024; zstd -q -c "$1" | exec "${@:2}"' _ "$WORK/day1.vma" \
  "$PVEDIFF" --config "$conf" backup - --vmid 101 --type qemu --dumpdir "$d" --now "$t0"

d=$WORK/fsize-stream-diff; prepare "$d"; rm "$d/$arch"
expect_failure "file size limit, differential from a stream" "$d" "File too large" "$diff_re" \
  bash -c 'ulimit -f 1024; zstd -q -c "$1" | exec "${@:2}"' _ "$WORK/day1.vma" \
  "$PVEDIFF" --config "$conf" backup - --vmid 101 --type qemu --dumpdir "$d" --now "$((t0 + 86400))"

d=$WORK/fsize-restore; prepare "$d"; pv -q backup "$d/$arch"
diff_file=$(find "$d" -name '*--differential-*.vcdiff.zst' | head -1)
mkdir -p "$WORK/out-dir"
expect_failure "file size limit, restore -o FILE" "$WORK/out-dir" "File too large" "restored.vma" \
  bash -c 'ulimit -f 1024; exec "$@"' _ "$PVEDIFF" restore "$diff_file" -o "$WORK/out-dir/restored.vma" --compress none
check "file size limit, restore: no output file" test ! -e "$WORK/out-dir/restored.vma"

# --- failing fsync and write (EIO), by an LD_PRELOAD shim --------------------------------
shim=$WORK/failshim.so
cat >"$WORK/failshim.c" <<'C'
// Makes fsync/fdatasync/write/pwrite fail with EIO on descriptors whose path contains
// $FAIL_FSYNC or $FAIL_WRITE (FAIL_FSYNC_DIRS=1: only directories).
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
static int hit(int fd, const char* var) {
  const char* want = getenv(var);
  if (want == NULL || *want == 0 || fd < 3) return 0;
  char link[64], path[4096];
  snprintf(link, sizeof link, "/proc/self/fd/%d", fd);
  ssize_t n = readlink(link, path, sizeof path - 1);
  if (n < 0) return 0;
  path[n] = 0;
  if (strstr(path, want) == NULL) return 0;
  if (getenv("FAIL_FSYNC_DIRS") != NULL && var[5] == 'F') {
    struct stat st;
    return fstat(fd, &st) == 0 && S_ISDIR(st.st_mode);
  }
  return 1;
}
#define REAL(name) ((__typeof__(&name))dlsym(RTLD_NEXT, #name))
int fsync(int fd) { if (hit(fd, "FAIL_FSYNC")) { errno = EIO; return -1; } return REAL(fsync)(fd); }
int fdatasync(int fd) { if (hit(fd, "FAIL_FSYNC")) { errno = EIO; return -1; } return REAL(fdatasync)(fd); }
ssize_t write(int fd, const void* b, size_t n) { if (hit(fd, "FAIL_WRITE")) { errno = EIO; return -1; } return REAL(write)(fd, b, n); }
ssize_t pwrite(int fd, const void* b, size_t n, off_t o) { if (hit(fd, "FAIL_WRITE")) { errno = EIO; return -1; } return REAL(pwrite)(fd, b, n, o); }
ssize_t pwrite64(int fd, const void* b, size_t n, off_t o) { if (hit(fd, "FAIL_WRITE")) { errno = EIO; return -1; } return REAL(pwrite64)(fd, b, n, o); }
C
if ! ldd "$PVEDIFF" >/dev/null 2>&1; then
  echo "skipped: pvediff is linked statically, LD_PRELOAD cannot simulate EIO"
elif ! ${CC:-cc} -shared -fPIC -O1 -o "$shim" "$WORK/failshim.c" -ldl 2>"$WORK/cc.err"; then
  echo "skipped: no C compiler for the EIO shim: $(cat "$WORK/cc.err")"
else
  # An ASan build insists on its runtime coming first in the library list.
  export ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}verify_asan_link_order=0"
  # Sanity: the shim really fails fsync (or the checks below could pass vacuously).
  check "EIO shim works" bash -c '! LD_PRELOAD="$1" FAIL_FSYNC=shimprobe python3 -c "import os; f=os.open(\"$2/shimprobe\", os.O_CREAT|os.O_WRONLY); os.fsync(f)" 2>/dev/null' _ "$shim" "$WORK"

  d=$WORK/eio-fsync; prepare "$d"
  expect_failure "fsync of the differential fails (EIO)" "$d" "Input/output error" "$diff_re" \
    env LD_PRELOAD="$shim" FAIL_FSYNC=pvediff-tmp "$PVEDIFF" --config "$conf" backup "$d/$arch"

  d=$WORK/eio-write; prepare "$d"
  expect_failure "write of the differential fails (EIO)" "$d" "Input/output error" "$diff_re" \
    env LD_PRELOAD="$shim" FAIL_WRITE=pvediff-tmp "$PVEDIFF" --config "$conf" backup "$d/$arch"

  d=$WORK/eio-stream; mkdir -p "$d"
  expect_failure "fsync of a full from a stream fails (EIO)" "$d" "Input/output error" "vzdump-qemu-101-" \
    bash -c 'zstd -q -c "$1" | exec "${@:2}"' _ "$WORK/day1.vma" env LD_PRELOAD="$shim" FAIL_FSYNC=pvediff-tmp \
    "$PVEDIFF" --config "$conf" backup - --vmid 101 --type qemu --dumpdir "$d" --now "$t0"

  # fsync of the directory after the rename: the differential is in place, so this
  # one cannot leave the dir unchanged; it must still fail loudly and lose nothing.
  d=$WORK/eio-dirsync; prepare "$d"
  rc=0
  LD_PRELOAD="$shim" FAIL_FSYNC=eio-dirsync FAIL_FSYNC_DIRS=1 pv backup "$d/$arch" >"$WORK/out" 2>"$WORK/err" || rc=$?
  echo "   directory fsync fails: rc $rc: $(grep error "$WORK/err" | head -1)"
  check "directory fsync fails: exit status 3 (got $rc)" test "$rc" -eq 3
  check "directory fsync fails: the message names the dump dir" grep -q "fsync directory '$d'.*Input/output error" "$WORK/err"
  check "directory fsync fails: no temporaries" test -z "$(find "$d" -name '.*.pvediff-tmp')"
  check "directory fsync fails: the full is kept" test "$(sha "$d/$full")" = "$full_sha"
  check "directory fsync fails: the archive is kept" test "$(sha "$d/$arch")" = "$arch_sha"
  check "directory fsync fails: verify passes" quiet pv verify "$d"
fi

# --- read-only dump dir, full file system (mounts) -----------------------------------
mnt=$WORK/mnt
[[ $mnt == */pvediff-it-*/mnt ]] || exit 1  # never mount anywhere else
mkdir -p "$mnt"
if ! mount -t tmpfs -o size=64m tmpfs "$mnt" 2>"$WORK/mount.err"; then
  echo "skipped: read-only and full file system cases (mount not permitted: $(cat "$WORK/mount.err"))"
else
  mounts+=("$mnt")
  prepare "$mnt"
  mount -o remount,ro "$mnt"
  check "read-only dump dir: really read-only for root" bash -c '! touch "$1/probe" 2>/dev/null' _ "$mnt"
  expect_failure "read-only dump dir, file mode" "$mnt" "Read-only file system" "$mnt/" \
    pv backup "$mnt/$arch"
  expect_failure "read-only dump dir, stream mode" "$mnt" "Read-only file system" "$mnt/" \
    bash -c 'zstd -q -c "$1" | exec "${@:2}"' _ "$WORK/day1.vma" \
    "$PVEDIFF" --config "$conf" backup - --vmid 101 --type qemu --dumpdir "$mnt" --now "$((t0 + 86400))"
  check "read-only dump dir: verify still works" quiet pv verify "$mnt"
  check "read-only dump dir: list still works" quiet pv list "$mnt"
  umount "$mnt"; mounts=()

  # Room for the full and the archive (8 MiB each) and their sidecars, not for a 3 MiB
  # differential.
  need=$(du -sk "$WORK/tpl" | cut -f1)
  need=$((need + $(du -k "$WORK/$arch" | cut -f1) + 1024))
  mount -t tmpfs -o size=${need}k tmpfs "$mnt"; mounts+=("$mnt")
  prepare "$mnt"
  echo "   tiny tmpfs: ${need} KiB, $(df -k "$mnt" | awk 'NR==2{print $4}') KiB free"
  expect_failure "full file system, differential (file mode)" "$mnt" "No space left on device" "$diff_re" \
    pv backup "$mnt/$arch"
  expect_failure "full file system, full from a stream" "$mnt" "No space left on device" "vzdump-qemu-101-" \
    bash -c 'zstd -q -c "$1" | exec "${@:2}"' _ "$WORK/day1.vma" \
    "$PVEDIFF" --config "$conf" backup - --vmid 101 --type qemu --dumpdir "$mnt" --now "$((t0 + 2 * 86400))" \
    --fullbackup 0
  umount "$mnt"; mounts=()

  # Restore from a read-only dump dir (a backup share mounted read-only for a disaster
  # recovery, or one this user may only read) of a pair whose restore sets 72 MiB of
  # the full aside, more than the 64 MiB kept in memory: day 2 holds the full's two
  # files in the other order, so the first file waits while the second is copied. The
  # scratch file goes to $TMPDIR instead of failing with "Read-only file system".
  src=$WORK/ro-src
  mkdir -p "$src" "$WORK/tmp"
  head -c 72M /dev/urandom >"$WORK/first"
  head -c 72M /dev/urandom >"$WORK/second"
  tar -C "$WORK" -cf "$WORK/ct1.tar" first second
  tar -C "$WORK" -cf "$WORK/ct2.tar" second first
  rm "$WORK/first" "$WORK/second"
  zstd -q -1 -c "$WORK/ct1.tar" >"$src/vzdump-lxc-107-$day0.tar.zst"
  pv -q backup "$src/vzdump-lxc-107-$day0.tar.zst"
  zstd -q -1 -c "$WORK/ct2.tar" >"$src/vzdump-lxc-107-$day1.tar.zst"
  pv -q backup "$src/vzdump-lxc-107-$day1.tar.zst"
  ro_diff=vzdump-lxc-107-$day0.tar.zst--differential-$day1.vcdiff.zst
  check "read-only restore: a differential to restore" test -f "$src/$ro_diff"
  mount --bind "$src" "$mnt" && mounts+=("$mnt") && mount -o remount,bind,ro "$mnt"
  check "read-only restore: the dump dir is read-only for root" bash -c '! touch "$1/probe" 2>/dev/null' _ "$mnt"
  before=$(snapshot "$mnt")
  rc=0
  TMPDIR=$WORK/tmp pv restore "$mnt/$ro_diff" -o - >"$WORK/ct2.out" 2>"$WORK/err" || rc=$?
  check "read-only restore: succeeds ($rc: $(grep error "$WORK/err" | head -1))" test "$rc" = 0
  check "read-only restore: the archive byte for byte" test "$(sha "$WORK/ct2.out")" = "$(sha "$WORK/ct2.tar")"
  check "read-only restore: more than 64 MiB set aside (so a scratch file was needed)" \
    grep -qE 'content verified, (6[5-9]|[7-9][0-9])\.[0-9] MiB of the full kept aside' "$WORK/err"
  check "read-only restore: the dump dir unchanged" test "$(snapshot "$mnt")" = "$before"
  check "read-only restore: nothing left in \$TMPDIR" test -z "$(ls -A "$WORK/tmp")"
  umount "$mnt"; mounts=()
  rm -f "$WORK/ct1.tar" "$WORK/ct2.tar" "$WORK/ct2.out"
fi
