#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-or-later
# Exit statuses a script can act on (include/pvediff/cli/exit_codes.h, pvediff(1)):
# 2 for every usage error, 0 when the work was already done. (4, the lock held by
# another run, is checked in backup_concurrent.sh where a lock is held.)
source "$PVEDIFF_TEST_LIB/common.sh"

dir=$WORK/dump
mkdir -p "$dir"
echo "# defaults" >"$WORK/pvediff.conf"
pv() { "$PVEDIFF" --config "$WORK/pvediff.conf" "$@"; }
rc_of() { "$@" </dev/null >"$WORK/out" 2>&1 && echo 0 || echo $?; }

head -c 300000 /dev/urandom >"$WORK/f"  # incompressible: the differential is far below the full
tar -C "$WORK" -cf - f | zstd -q -c >"$dir/vzdump-lxc-105-2026_11_20-01_00_00.tar.zst"
echo change >>"$WORK/f"
tar -C "$WORK" -cf - f | zstd -q -c >"$dir/vzdump-lxc-105-2026_11_21-01_00_00.tar.zst"
day1=$dir/vzdump-lxc-105-2026_11_21-01_00_00.tar.zst

usage() {  # what, command...: must exit 2 and leave the dump dir as it was
  local what=$1 before rc
  shift
  before=$(cd "$dir" && ls -A | sort)
  rc=$(rc_of "$@")
  check "usage error, exit 2 (got $rc): $what" test "$rc" = 2
  check "  nothing changed: $what" test "$before" = "$(cd "$dir" && ls -A | sort)"
}
usage "backup - --compress bzip2" pv backup - --compress bzip2 --vmid 105 --type lxc --dumpdir "$dir"
usage "backup --compress bzip2 of a file" pv backup --compress bzip2 "$day1"
usage "backup --fullbackup nonsense" pv backup --fullbackup nonsense "$day1"
usage "backup - without --vmid" pv backup - --type lxc --dumpdir "$dir"
usage "an unknown option" pv list --no-such-option "$dir"
usage "no subcommand" pv
usage "an unknown subcommand" pv bakup "$day1"
usage "a --config that does not exist" "$PVEDIFF" --config "$WORK/missing.conf" list "$dir"
usage "restore -o x.tar --compress gzip" pv restore "$day1" -o "$WORK/x.tar" --compress gzip

# Work already done: a re-run of a backup whose archive a differential replaced.
pv -q backup --fullbackup 7 "$dir/vzdump-lxc-105-2026_11_20-01_00_00.tar.zst"
pv -q backup --fullbackup 7 "$day1"
check "setup: day 1 became a differential" test ! -e "$day1"
rc=$(rc_of pv backup --fullbackup 7 "$day1")
check "re-run after the archive was replaced: exit 0 (got $rc)" test "$rc" = 0
check "  and says it was already done" grep -q "already replaced by vzdump-lxc-105-2026_11_20-01_00_00.tar.zst--differential-2026_11_21-01_00_00.vcdiff.zst" "$WORK/out"
# A file that never existed is still an error.
rc=$(rc_of pv backup --fullbackup 7 "$dir/vzdump-lxc-105-2026_11_22-01_00_00.tar.zst")
check "a missing archive with no differential for it: exit 3 (got $rc)" test "$rc" = 3
