#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-or-later
# Builds the Debian package from this tree, unpacks it into a throwaway root with
# dpkg-deb (maintainer scripts are not run: they would act on this machine), and
# checks what an administrator relies on: the binary runs, the man pages
# are found, the hook wrapper works with vzdump's cleared environment, the config is
# a conffile with the safe default, and the timers ship disabled.
source "$PVEDIFF_TEST_LIB/common.sh"
command -v dpkg-buildpackage >/dev/null || { fail "dpkg-buildpackage missing (run ./setup.sh)"; exit 1; }

"$PVEDIFF_SOURCE_DIR/packaging/build-deb.sh" "$WORK/out" >/dev/null
deb=$(ls "$WORK"/out/pvediff_*.deb)
check "package built: $(basename "$deb")" test -s "$deb"

root=$WORK/root
mkdir -p "$root" "$WORK/control"
check "dpkg-deb -x into a throwaway root" dpkg-deb -x "$deb" "$root"
dpkg-deb -e "$deb" "$WORK/control"
check "package depends on shared libraries only" bash -c "dpkg-deb -f '$deb' Depends | grep -q libzstd"

check "pvediff --version" "$root/usr/bin/pvediff" --version
check "man -w pvediff" man -M "$root/usr/share/man" -w pvediff
check "man -w pvediff.conf" man -M "$root/usr/share/man" -w 5 pvediff.conf
check "config is a conffile" grep -q '^/etc/pvediff.conf' "$WORK/control/conffiles"
check "safe default fullbackup: 0" grep -q '^fullbackup: 0' "$root/etc/pvediff.conf"
check "bash completion installed" test -f "$root/usr/share/bash-completion/completions/pvediff"
check "timers shipped" test -f "$root/lib/systemd/system/pvediff-verify.timer"
# debhelper's postinst may re-enable a timer the admin had enabled before an upgrade
# ("was-enabled"), but must never enable a new one or start anything.
postinst=$WORK/control/postinst
check "timers not started by the package" bash -c "! grep -qsE 'deb-systemd-invoke .*start' '$postinst'"
check "timers enabled only if they were before" \
  bash -c "! grep -qs 'deb-systemd-helper enable' '$postinst' || grep -qs 'was-enabled' '$postinst'"

# The wrapper calls /usr/bin/pvediff by absolute path; run it against the installed
# binary by rewriting that one path, with the environment vzdump gives a hook.
sed "s|/usr/bin/pvediff|$root/usr/bin/pvediff --config $root/etc/pvediff.conf|" \
  "$root/usr/share/pvediff/vzdump-hook" >"$WORK/hook"
chmod +x "$WORK/hook"
mkdir -p "$WORK/dump"
check "hook wrapper under env -i (job-start)" env -i DUMPDIR="$WORK/dump" STOREID=local LC_ALL=C "$WORK/hook" job-start
check "hook wrapper under env -i (log-end, no archive)" env -i DUMPDIR="$WORK/dump" STOREID=local VMTYPE=qemu \
  TARGET="$WORK/dump/vzdump-qemu-1-2026_01_01-00_00_00.vma.zst" LC_ALL=C "$WORK/hook" log-end snapshot 1
