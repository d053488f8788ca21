#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-or-later
# Plays vzdump over simulated weeks, for VMs and containers and every codec: each day
# writes the archive as *.dat, renames it, and calls the hook exactly as vzdump does
# (cleared environment, same phases and arguments). Then checks which files are fulls
# and which differentials, that every differential restores to the exact archive it
# replaced, and that nothing else changed.
source "$PVEDIFF_TEST_LIB/common.sh"

days=9
hook=$WORK/hook
cat >"$WORK/pvediff.conf" <<CONF
# fulls every 4 days
fullbackup: 4
max-diff-ratio: 0.9
CONF
printf '#!/bin/sh\nexec %q --config %q hook "$@"\n' "$PVEDIFF" "$WORK/pvediff.conf" >"$hook"
chmod +x "$hook"

# Calls the hook as vzdump does: env -i with only vzdump's variables.
call_hook() {  # phase [mode vmid]
  env -i STOREID=local DUMPDIR="$dumpdir" VMTYPE="$type" HOSTNAME=guest TARGET="${target:-}" \
    LOGFILE="${logfile:-}" LC_ALL=C "$hook" "$@"
}

make_guest_content() {  # day -> $WORK/raw-<type>
  local day=$1
  if [[ $type == qemu ]]; then
    local img=$WORK/disk-$codec.img
    if ((day == 0)); then
      truncate -s 24M "$img"
      # Real file contents, with some zero space left as on a real disk.
      # (head closes the pipe early on purpose: no pipefail here)
      (set +o pipefail; find /usr/share/doc -type f -size -64k 2>/dev/null | head -400 | xargs cat 2>/dev/null |
        head -c 16M | dd of="$img" conv=notrunc status=none)
    fi
    # A day's writes: a few 4 KiB pages rewritten at varying places.
    for i in 1 2 3; do
      head -c 4096 /dev/urandom | dd of="$img" bs=4096 seek=$(((day * 37 + i * 811) % 6000)) conv=notrunc status=none
    done
    "$PVEDIFF" dev-make-vma --image "$img" --order-seed "$day" --ctime "$((1790000000 + day * 86400))" -o "$WORK/raw"
  else
    local tree=$WORK/tree-$codec
    if ((day == 0)); then
      mkdir -p "$tree/etc" "$tree/var/log" "$tree/usr"
      cp -r /usr/share/doc/bash /usr/share/doc/coreutils "$tree/usr/" 2>/dev/null || true
      head -c 3M /usr/bin/bash >"$tree/usr/bash.bin"
    fi
    echo "day $day log line" >>"$tree/var/log/syslog"
    head -c $((20000 + day * 100)) /dev/urandom >"$tree/etc/changed-$((day % 3))"
    tar -C "$tree" --sort=name -cf "$WORK/raw" .
  fi
}

for type in qemu lxc; do
  for codec in zst lzo gz; do
    dumpdir=$WORK/dump-$type-$codec
    mkdir -p "$dumpdir"
    fmt=vma; [[ $type == lxc ]] && fmt=tar
    declare -A want=()
    call_hook job-init
    call_hook job-start
    for ((day = 0; day < days; day++)); do
      stamp=$(date -u -d "@$((1790000000 + day * 86400))" +%Y_%m_%d-01_00_00)
      name=vzdump-$type-101-$stamp
      target=$dumpdir/$name.$fmt$(ext_of "$codec")
      logfile=$dumpdir/$name.log
      call_hook backup-start snapshot 101
      make_guest_content "$day"
      compress_with "$codec" <"$WORK/raw" >"$dumpdir/$name.$fmt.dat"
      want[$name]=$(sha256sum <"$WORK/raw" | cut -d' ' -f1)
      mv "$dumpdir/$name.$fmt.dat" "$target"
      echo "notes of day $day" >"$target.notes"
      call_hook backup-end snapshot 101
      echo "INFO: log of $name" >"$logfile"
      call_hook log-end snapshot 101
      unset target logfile
    done
    call_hook job-end

    # Fulls on days 0, 4, 8; differentials on the others, against the newest full.
    fulls=$(find "$dumpdir" -name 'vzdump-*' -regex ".*\.$fmt\(\.zst\|\.lzo\|\.gz\)$" | wc -l)
    diffs=$(find "$dumpdir" -name "*--differential-*.vcdiff$(ext_of "$codec")" | wc -l)
    check "$type/$codec: 3 fulls (got $fulls)" test "$fulls" -eq 3
    check "$type/$codec: 6 differentials (got $diffs)" test "$diffs" -eq 6
    check "$type/$codec: no temporary files" test -z "$(find "$dumpdir" -name '*pvediff-tmp*' -o -name '*.dat')"
    check "$type/$codec: every backup kept its log" test "$(find "$dumpdir" -name '*.log' | wc -l)" -eq "$days"
    for name in "${!want[@]}"; do
      full=$dumpdir/$name.$fmt$(ext_of "$codec")
      if [[ -f "$full" ]]; then
        check "$type/$codec: full $name unchanged" test "$(content_sha "$full")" = "${want[$name]}"
        continue
      fi
      stamp=${name##*-101-}
      diff=$(find "$dumpdir" -name "*--differential-$stamp.vcdiff$(ext_of "$codec")" | head -1)
      if [[ -z "$diff" ]]; then fail "$type/$codec: $name is gone"; continue; fi
      check "$type/$codec: notes carried over to $(basename "$diff")" test -f "$diff.notes"
      "$PVEDIFF" restore "$diff" -o - >"$WORK/restored"
      check "$type/$codec: $(basename "$diff") restores byte for byte" \
        test "$(sha256sum <"$WORK/restored" | cut -d' ' -f1)" = "${want[$name]}"
    done
    check "$type/$codec: verify passes" "$PVEDIFF" verify "$dumpdir"
    unset want
  done
done

# The hook does nothing for PBS targets and --stdout.
dumpdir=$WORK/dump-pbs; mkdir -p "$dumpdir"; type=qemu
check "hook ignores a PBS target" env -i STOREID=pbs VMTYPE=qemu TARGET=vm/101/2026-11-20T01:00:00Z LC_ALL=C "$hook" backup-end snapshot 101
check "hook ignores --stdout" env -i DUMPDIR="$dumpdir" STOREID=local VMTYPE=qemu TARGET=- LC_ALL=C "$hook" log-end snapshot 101
check "nothing written for them" test -z "$(ls -A "$dumpdir")"
