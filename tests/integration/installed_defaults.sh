#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-or-later
# An installed pvediff works as shipped: the timers' commands, run with the shipped
# /etc/pvediff.conf (no dumpdir), find the dump dirs of PVE's backup storages in
# storage.cfg and say so; the verify and prune units alert on failure through
# pvediff-alert, which mails root via sendmail when there is one and logs to the
# journal otherwise; a --config file given explicitly must exist.
source "$PVEDIFF_TEST_LIB/common.sh"
src=${PVEDIFF_SOURCE_DIR:?}
units=$src/packaging/files/systemd
conf=$src/packaging/files/pvediff.conf

# A node with a local dir storage and an NFS storage holding backups, an LVM storage
# without, and a disabled one.
store=$WORK/vz
nas=$WORK/mnt/nas
mkdir -p "$store/dump" "$nas/dump" "$WORK/off/dump"
cat >"$WORK/storage.cfg" <<CFG
dir: local
	path $store
	content iso,vztmpl,backup

lvmthin: local-lvm
	thinpool data
	vgname pve
	content rootdir,images

nfs: nas
	export /export/pve
	path $nas
	server 192.0.2.10
	content backup

dir: off
	path $WORK/off
	content backup
	disable
CFG
export PVEDIFF_PVE_STORAGE_CFG=$WORK/storage.cfg

# Each storage gets a guest with a full and a differential.
head -c 300000 /dev/urandom >"$WORK/a.tar"  # incompressible: the differential is far below the full
for d in "$store/dump" "$nas/dump"; do
  tar -C "$WORK" -cf - a.tar | zstd -q -c >"$d/vzdump-lxc-105-2026_11_20-01_00_00.tar.zst"
  echo more >>"$WORK/a.tar"
  tar -C "$WORK" -cf - a.tar | zstd -q -c >"$d/vzdump-lxc-105-2026_11_21-01_00_00.tar.zst"
  "$PVEDIFF" -q --config "$conf" backup --fullbackup 7 "$d/vzdump-lxc-105-2026_11_20-01_00_00.tar.zst"
  "$PVEDIFF" -q --config "$conf" backup --fullbackup 7 "$d/vzdump-lxc-105-2026_11_21-01_00_00.tar.zst"
done
check "setup: a differential in each storage" \
  test "$(find "$store" "$nas" -name '*.vcdiff.zst' | wc -l)" -eq 2

# The units' ExecStart, run as the timer would (the shipped config).
for unit in pvediff-verify pvediff-prune; do
  exec_line=$(sed -n 's/^ExecStart=//p' "$units/$unit.service")
  check "$unit: ExecStart runs /usr/bin/pvediff" test "${exec_line%% *}" = /usr/bin/pvediff
  read -r -a args <<<"${exec_line#* }"
  if "$PVEDIFF" --config "$conf" "${args[@]}" >"$WORK/$unit.out" 2>&1; then
    ok "$unit: succeeds with the shipped config and no dumpdir"
  else
    fail "$unit: $(cat "$WORK/$unit.out")"
  fi
  check "$unit: says it used the storages of storage.cfg" \
    grep -q "using the backup storages of $WORK/storage.cfg: local ($store/dump), nas ($nas/dump)" "$WORK/$unit.out"
  check "$unit: alerts on failure" grep -qx "OnFailure=pvediff-alert@%n.service" "$units/$unit.service"
done
check "verify looked at both storages (4 backups)" grep -q "^4 checked, 0 failed" "$WORK/pvediff-verify.out"
"$PVEDIFF" --config "$conf" list >"$WORK/list.out" 2>&1
check "list without a dir lists both storages" test "$(grep -c 'lxc 105\|lxc-105' "$WORK/list.out")" -ge 4
check "the disabled storage is not used" bash -c "! grep -q '$WORK/off' '$WORK/list.out'"

# No storage with backups: PVE's default dir, said as such.
printf 'lvmthin: local-lvm\n\tthinpool data\n\tvgname pve\n\tcontent images\n' >"$WORK/nobackup.cfg"
PVEDIFF_PVE_STORAGE_CFG=$WORK/nobackup.cfg "$PVEDIFF" --config "$conf" list >"$WORK/default.out" 2>&1 || true
check "no backup storage: falls back to /var/lib/vz/dump and says so" \
  grep -q "no backup storage in $WORK/nobackup.cfg; using /var/lib/vz/dump" "$WORK/default.out"
# dumpdir in the config wins, silently.
printf 'dumpdir: %s\n' "$nas/dump" >"$WORK/with-dumpdir.conf"
"$PVEDIFF" --config "$WORK/with-dumpdir.conf" list >"$WORK/dumpdir.out" 2>&1
check "dumpdir in the config wins over storage.cfg" \
  bash -c "grep -q '$nas/dump\|lxc' '$WORK/dumpdir.out' && ! grep -q 'storage.cfg' '$WORK/dumpdir.out'"

# A --config given explicitly must exist, even for a command that would not read it.
rc=0; "$PVEDIFF" --config "$WORK/nonexistent.conf" list "$nas/dump" >/dev/null 2>"$WORK/err" || rc=$?
check "--config nonexistent: usage error (got $rc)" test "$rc" -eq 2
check "  naming the file" grep -q "nonexistent.conf" "$WORK/err"

# The alert unit and script.
alert_unit=$units/pvediff-alert@.service
check "the alert unit runs the shipped script" grep -qx "ExecStart=/usr/share/pvediff/pvediff-alert %i" "$alert_unit"
check "the script is installed there" grep -q "^packaging/files/pvediff-alert usr/share/pvediff/" \
  "$src/packaging/debian/pvediff.install"
if command -v systemd-analyze >/dev/null && systemd-analyze --help 2>/dev/null | grep -q verify; then
  # Only the syntax: the binaries are not installed here.
  check "systemd-analyze finds no syntax error in the units" bash -c \
    "! systemd-analyze verify '$units'/pvediff-{verify,prune}.service '$units'/*.timer 2>&1 | grep -iE 'unknown|invalid|syntax|failed to parse'"
fi
# Fake systemctl/journalctl/logger/sendmail record what the script does.
fake=$WORK/fakebin
mkdir -p "$fake"
printf '#!/bin/sh\necho "status of $*"\n' >"$fake/systemctl"
printf '#!/bin/sh\necho "log line of $*"\n' >"$fake/journalctl"
printf '#!/bin/sh\n{ echo "ARGS $*"; cat; } >%s\n' "$WORK/logged" >"$fake/logger"
printf '#!/bin/sh\n{ echo "ARGS $*"; cat; } >%s\n' "$WORK/mail" >"$fake/sendmail"
chmod +x "$fake"/*
PATH=$fake:$PATH PVEDIFF_SENDMAIL=$fake/sendmail sh "$src/packaging/files/pvediff-alert" pvediff-verify.service
check "with sendmail: root gets a mail naming the unit" \
  bash -c "grep -qx 'To: root' '$WORK/mail' && grep -q '^Subject: pvediff: pvediff-verify.service failed' '$WORK/mail' && grep -q 'log line of --unit=pvediff-verify.service' '$WORK/mail'"
check "with sendmail: nothing logged" test ! -e "$WORK/logged"
PATH=$fake:$PATH PVEDIFF_SENDMAIL=$WORK/no-sendmail sh "$src/packaging/files/pvediff-alert" pvediff-prune.service
check "without sendmail: the journal gets it at priority err" \
  bash -c "grep -q 'ARGS --tag pvediff-alert --priority daemon.err' '$WORK/logged' && grep -q 'pvediff-prune.service failed' '$WORK/logged'"
