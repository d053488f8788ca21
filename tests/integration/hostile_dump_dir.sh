#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-or-later
# A dump dir someone else controls (issue 13, rows 1, 2, 3, 8, 10, 11, 14): names
# pvediff uses planted as symbolic links or FIFOs, secret archives, interrupts, a
# read-only dir for a dry run, file names that carry terminal escapes. Each case has
# its own assertion; each failed on the build before the io::DirHandle work.
source "${PVEDIFF_TEST_LIB:?}/common.sh" || exit 1
source "$PVEDIFF_TEST_LIB/tar_pair.sh"

P=$PVEDIFF
cd "$WORK"
tar_pair
pv() { timeout 60 "$P" -q --config c.conf "$@"; }
# fresh DIR: a dump dir with the full F (converted) and A (not yet).
fresh() { rm -rf "$1"; mkdir "$1"; cp t0.tar "$1/$F"; pv backup "$1/$F"; cp t1.tar "$1/$A"; }
no_temps() { test -z "$(find "$1" -name '*pvediff-tmp*')"; }

echo "== row 1: the lock file is a symbolic link"
printf 'root-owned\n' >victim
chmod 600 victim
mkdir d1
echo junk >d1/vzdump-qemu-999-2026_11_01-01_00_00.vma
ln -s "$WORK/victim" d1/.pvediff-lock-qemu-999
rc=0
timeout 60 "$P" prune d1 --keep-last 9 --dry-run >out1 2>&1 || rc=$?
check "row 1: prune --dry-run leaves the link's target as it was" test "$(cat victim)" = "root-owned"
rc=0
timeout 60 "$P" prune d1 --keep-last 9 >out1 2>&1 || rc=$?
check "row 1: prune leaves the link's target as it was" test "$(cat victim)" = "root-owned"
check "row 1: prune fails (got $rc)" test "$rc" -ne 0
check "row 1: the message names the link and says what to do" \
  grep -q "pvediff-lock-qemu-999' is a symbolic link.*remove or rename it" out1
fresh d1b
rm -f d1b/.pvediff-lock-lxc-101
ln -s "$WORK/victim" d1b/.pvediff-lock-lxc-101
rc=0
pv backup "d1b/$A" >out1 2>&1 || rc=$?
check "row 1: backup leaves the link's target as it was" test "$(cat victim)" = "root-owned"
check "row 1: backup keeps the archive when it cannot lock" test -f "d1b/$A"
ln -s "$WORK/made-by-root" d1/.pvediff-lock-qemu-998
echo junk >d1/vzdump-qemu-998-2026_11_01-01_00_00.vma
timeout 60 "$P" prune d1 --keep-last 9 >/dev/null 2>&1 || true
check "row 1: a dangling lock link does not make root create its target" test ! -e made-by-root

echo "== row 2: the archive's notes are a symbolic link to a secret"
echo SECRET >secret
chmod 600 secret
fresh d2
ln -s "$WORK/secret" "d2/$A.notes"
rc=0
pv backup "d2/$A" >out2 2>&1 || rc=$?
check "row 2: the secret is copied nowhere into the dump dir" test -z "$(grep -rl SECRET d2 || true)"
check "row 2: the message names the notes link" grep -q "$A.notes' is a symbolic link" out2
check "row 2: the archive is still there" test -f "d2/$A"

echo "== row 3: a FIFO under a manifest's name"
fresh d3
rm "d3/$F.pvediff-manifest"
mkfifo "d3/$F.pvediff-manifest"
rc=0
pv backup "d3/$A" >out3 2>&1 || rc=$?
check "row 3: backup does not hang on the FIFO (rc $rc)" test "$rc" -ne 124
check "row 3: backup says it is a FIFO" grep -q "pvediff-manifest' is a FIFO (named pipe)" out3
check "row 3: the archive is kept" test -f "d3/$A"
rc=0
timeout 60 "$P" verify d3 >out3 2>&1 || rc=$?
check "row 3: verify does not hang on the FIFO (rc $rc)" test "$rc" -ne 124
check "row 3: verify reports the FIFO" grep -q "FIFO" out3

echo "== row 8: modes and owners follow the data"
mkdir d8
cp t0.tar "d8/$F"
cp t1.tar "d8/$A"
chmod 600 "d8/$F" "d8/$A"
echo "my notes" >"d8/$A.notes"
chmod 644 "d8/$A.notes"
pv backup "d8/$F"
pv backup "d8/$A"
for f in "$F.pvediff-manifest" "$F.pvediff-index" "$D" "$D.pvediff-manifest" "$D.notes"; do
  check "row 8: $f is 0600 like its archive (got $(stat -c %a "d8/$f" 2>/dev/null))" \
    test "$(stat -c %a "d8/$f")" = 600
done
mkdir out8
pv restore "d8/$D" -o out8/r.tar
check "row 8: restore -o output is 0600 like the backup (got $(stat -c %a out8/r.tar))" \
  test "$(stat -c %a out8/r.tar)" = 600
check "row 8: restore -o output is the archive" test "$(sha_of out8/r.tar)" = "$(sha_of t1.tar)"
mkdir pve8
pv restore "d8/$D" --pve-name pve8
check "row 8: restore --pve-name output is 0600 like the backup (got $(stat -c %a pve8/$A))" \
  test "$(stat -c %a "pve8/$A")" = 600
chown 1234:2345 "d8/$F"
chmod 640 "d8/$F"
pv restore "d8/$F" -o out8/f.tar
check "row 8: restore -o output gets the owner and group of the backup (got $(stat -c %u:%g:%a out8/f.tar))" \
  test "$(stat -c %u:%g:%a out8/f.tar)" = 1234:2345:640

echo "== row 10: SIGTERM, SIGINT, SIGHUP remove the temporaries and exit 128+n"
fresh d10
pv backup "d10/$A"
mkdir out10
for sig in TERM INT HUP; do
  # A shell starts background jobs with SIGINT ignored; perl sets it back, as a
  # terminal's foreground job has it.
  (cat "d10/$D"; sleep 4) | perl -e '$SIG{INT} = "DEFAULT"; exec @ARGV or die' -- \
    "$P" -q patch --base "d10/$F" --delta - -o out10/x.tar &
  pid=$!
  sleep 1.5
  kill -"$sig" "$pid"
  rc=0
  wait "$pid" || rc=$?
  want=$((128 + $(kill -l "$sig")))
  check "row 10: patch --delta - on SIG$sig exits $want (got $rc)" test "$rc" -eq "$want"
  check "row 10: patch --delta - on SIG$sig leaves no temporary" test -z "$(ls -A out10)"
done
# The final link(2) is delayed, so the signal comes while the temporary is complete.
rc=0
strace -f -qq -o /dev/null -e trace=link,linkat -e inject=link,linkat:delay_enter=3000000 \
  "$P" -q restore "d10/$D" -o out10/r.tar &
pid=$!
sleep 2
child=$(pgrep -P "$pid" | head -n1 || true)
[[ -n $child ]] && kill -TERM "$child"
wait "$pid" || rc=$?
check "row 10: restore -o on SIGTERM exits 143 (got $rc)" test "$rc" -eq 143
check "row 10: restore -o interrupted leaves no temporary" test -z "$(find out10 -name '*pvediff-tmp*')"

echo "== row 11: --dry-run writes nothing, also on a read-only dir"
fresh d11
pv backup "d11/$A"
rm -f d11/.pvediff-lock-*
before=$(cd d11 && ls -A | sort)
pv prune d11 --keep-last 1 --dry-run >/dev/null
check "row 11: prune --dry-run creates no lock file" test "$(cd d11 && ls -A | sort)" = "$before"
pv backup "d11/$A" >/dev/null 2>&1 || true   # leaves a lock file behind, as any run does
if unshare -m true 2>/dev/null; then
  rc=0
  unshare -m sh -c 'mount --bind -o ro "$1" "$1" && exec timeout 60 "$2" -q --config c.conf prune "$1" --keep-last 1 --dry-run' \
    sh "$WORK/d11" "$P" >out11 2>&1 || rc=$?
  check "row 11: prune --dry-run on a read-only dir succeeds (rc $rc: $(head -c 200 out11))" test "$rc" -eq 0
  rm -f d11/.pvediff-lock-*
  rc=0
  unshare -m sh -c 'mount --bind -o ro "$1" "$1" && exec timeout 60 "$2" -q --config c.conf prune "$1" --keep-last 1 --dry-run' \
    sh "$WORK/d11" "$P" >out11 2>&1 || rc=$?
  check "row 11: ... also without a lock file (rc $rc: $(head -c 200 out11))" test "$rc" -eq 0
else
  echo "   (no mount namespace here: the read-only case is not run)"
fi

echo "== row 14: control characters in names are escaped in text output"
mkdir e d14
head -c 100000 /dev/urandom >"e/$(printf 'a\n\033[32mok ALL GOOD\033[0m\nb')"
tar -cf e.tar -C e .
head -c 60000 e.tar >d14/vzdump-lxc-102-2026_11_01-01_00_00.tar
"$P" -q verify d14 >out14 2>&1 || true
check "row 14: verify prints no escape character" test -z "$(grep -a $'\033' out14 || true)"
check "row 14: verify prints no forged line" test -z "$(grep -a '^.\[32mok ALL GOOD' out14 || true)"
check "row 14: verify shows the name escaped" grep -aqF 'a\n\x1b[32mok ALL GOOD\x1b[0m\nb' out14

# nohup's ignored SIGHUP stays ignored: the run goes on to its end.
(cat "d10/$D"; sleep 3) | nohup "$P" -q patch --base "d10/$F" --delta - -o out10/nohup.tar >/dev/null 2>&1 &
pid=$!
sleep 1.5
kill -HUP "$pid"
rc=0
wait "$pid" || rc=$?
check "row 10: under nohup, SIGHUP is ignored (rc $rc)" test "$rc" -eq 0
check "row 10: ... and the output is complete" test "$(sha_of out10/nohup.tar)" = "$(sha_of t1.tar)"

# The signals pvediff blocks for its waiting thread are unblocked again in a program it
# starts: the chained hook script can be stopped as usual.
# (perl, not sh: dash unblocks signals when it starts, hiding what it was given.)
printf '#!/usr/bin/perl\nopen(my $in, "<", "/proc/self/status") or die;\nopen(my $out, ">", "%s") or die;\nwhile (<$in>) { print $out $_ if /^SigBlk/ }\n' \
  "$WORK/sigblk" >chained.sh
chmod +x chained.sh
printf 'hook-script: %s\n' "$WORK/chained.sh" >hook.conf
"$P" -q --config hook.conf hook job-start >/dev/null 2>&1 || true
blk=$(awk '{print $2}' sigblk 2>/dev/null || echo ffffffffffffffff)
check "row 10: the chained hook script has SIGHUP, SIGINT and SIGTERM unblocked (SigBlk $blk)" \
  test $((16#$blk & 0x4003)) -eq 0

for d in d1 d1b d2 d3 d8 d10 d11 d14; do
  check "$d: no temporary left" no_temps "$d"
done
