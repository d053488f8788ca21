#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-or-later
# `pvediff mount`: a dump dir with fulls and differentials of VMs and containers in every
# codec (pvediff's own, with manifests, and add-on style `xdelta3 -e` ones without) is
# mounted; every shown file must be byte for byte the archive it stands for (SHA-256),
# read front to back, at random offsets, in reverse order and by two readers at once;
# `tar t` and pvediff's VMA verifier read them through the mount; the names pass PVE's
# own backup pattern (perl); notes and the protected marker written as PVE writes them
# land on the real sidecars and nothing else can be changed; new and pruned backups
# show without a remount; a corrupted differential gives EIO, never other bytes; an
# unmount during a read (SIGTERM, fusermount3 -u) leaves no process, mount or file behind.
if [[ ! -c /dev/fuse ]] || ! command -v fusermount3 >/dev/null; then
  # ctest reports exit 77 as skipped (SKIP_RETURN_CODE), never as passed.
  echo "SKIP: /dev/fuse or fusermount3 missing: pvediff mount cannot be tested here"
  exit 77
fi
source "$PVEDIFF_TEST_LIB/common.sh"

dump=$WORK/dump
mnt=$WORK/mnt
spill=$WORK/spill
mkdir -p "$dump" "$mnt" "$spill" "$WORK/orig"
echo "# empty: built-in defaults" >"$WORK/pvediff.conf"
pvediff() { "$PVEDIFF" --config "$WORK/pvediff.conf" "$@"; }
mount_pid=
trap 'stop_mount "$mnt"; finish' EXIT

# --- fixtures: want[shown name] = SHA-256 of the archive it must read as ---------------
declare -A want=()
img=$WORK/disk.img
truncate -s 6M "$img"
(set +o pipefail; find /usr/share/doc -type f -size -64k 2>/dev/null | head -300 | xargs cat 2>/dev/null |
  head -c 4M | dd of="$img" conv=notrunc status=none)
tree=$WORK/tree
mkdir -p "$tree/etc/vzdump" "$tree/var/log" "$tree/usr"
echo "arch: amd64" >"$tree/etc/vzdump/pct.conf"
cp -r /usr/share/doc/bash "$tree/usr/" 2>/dev/null || true
head -c 1M /usr/bin/bash >"$tree/usr/bash.bin"
guest_content() {  # type day -> $WORK/raw
  if [[ $1 == qemu ]]; then
    head -c 8192 /dev/urandom | dd of="$img" bs=4096 seek=$((($2 * 97) % 1400)) conv=notrunc status=none
    pvediff dev-make-vma --image "$img" --order-seed "$2" --ctime "$((1795000000 + $2 * 86400))" -o "$WORK/raw"
  else
    echo "day $2" >>"$tree/var/log/syslog"
    head -c 9000 /dev/urandom >"$tree/etc/changed-$(($2 % 2))"
    tar -C "$tree" --sort=name --mtime=@1795000000 -cf "$WORK/raw" ./etc ./usr ./var
  fi
}
stamp_day() { echo "2026_11_2${1}-01_00_00"; }
for type in qemu lxc; do
  fmt=vma vmid=100
  [[ $type == lxc ]] && fmt=tar vmid=200
  for codec in zst lzo gz; do
    vmid=$((vmid + 1))
    for day in 0 1 2; do
      guest_content "$type" "$day"
      archive=$dump/vzdump-$type-$vmid-$(stamp_day "$day").$fmt.$codec
      compress_with "$codec" <"$WORK/raw" >"$archive"
      if ((day > 0)); then
        want[vzdump-$type-$vmid-$(stamp_day "$day").$fmt]=$(sha_of "$WORK/raw")
        cp "$WORK/raw" "$WORK/orig/vzdump-$type-$vmid-$(stamp_day "$day").$fmt"
      fi
      pvediff -q backup --fullbackup 7 "$archive"
      # Fulls are shown as they are stored (a VMA in zstd as pvediff kept it: in frames).
      ((day == 0)) && want[${archive##*/}]=$(sha_of "$archive")
    done
  done
done
# Add-on style (stock xdelta3, no manifest): plain and lzop-compressed.
vmid=150
guest_content qemu 0
addon_full=vzdump-qemu-$vmid-$(stamp_day 0).vma.zst
zstd -q -c "$WORK/raw" >"$dump/$addon_full"
cp "$WORK/raw" "$WORK/addon-base"
want[$addon_full]=$(sha_of "$dump/$addon_full")
for day in 1 2; do
  guest_content qemu "$day"
  d=$addon_full--differential-$(stamp_day "$day").vcdiff
  if ((day == 1)); then xdelta3 -e -s "$WORK/addon-base" "$WORK/raw" >"$dump/$d"; else
    xdelta3 -e -s "$WORK/addon-base" "$WORK/raw" | lzop -c >"$dump/$d.lzo"; fi
  want[vzdump-qemu-$vmid-$(stamp_day "$day").vma]=$(sha_of "$WORK/raw")
  cp "$WORK/raw" "$WORK/raw-150-$day"
done
echo "notes of day 1" >"$dump/vzdump-qemu-101-2026_11_20-01_00_00.vma.zst--differential-2026_11_21-01_00_00.vcdiff.zst.notes"
echo "log of day 1" >"$dump/vzdump-qemu-101-2026_11_21-01_00_00.log"
check "the fixtures hold differentials of every codec" \
  test "$(ls "$dump" | grep -cE '\.vcdiff(\.zst|\.lzo|\.gz)?$')" -eq 14
dump_sums() { (cd "$dump" && sha256sum -- * | sort); }
before=$(dump_sums)

TMPDIR=$spill start_mount "$WORK/pvediff.conf" "$dump" "$mnt" "$WORK/mount.log"
# --- names ------------------------------------------------------------------------------
shown=$(ls "$mnt" | grep -vE '\.(notes|log|protected)$' | sort)
check "the view shows every backup once, by its vzdump name" \
  test "$shown" = "$(printf '%s\n' "${!want[@]}" | sort)"
check "notes and log appear beside the differential" \
  test "$(cat "$mnt/vzdump-qemu-101-2026_11_21-01_00_00.vma.notes")" = "notes of day 1" -a \
  "$(cat "$mnt/vzdump-qemu-101-2026_11_21-01_00_00.log")" = "log of day 1"
# PVE's pattern for backups, in our own words (pve-storage src/PVE/Storage.pm, archive_info
# with $BACKUP_EXT_RE_2 and the compressors of Plugin.pm's KNOWN_COMPRESSION_FORMATS): a
# standard name is vzdump-<lxc|openvz|qemu>-<VMID 100..999999999>-<date>-<time> plus
# .tgz or .tar/.vma with an optional .gz/.lzo/.zst/.bz2.
pve_names_ok() {
  printf '%s\n' "$shown" | perl -ne '
    chomp; my $comp = qr/(?:gz|lzo|zst|bz2)/;
    my $ext = qr/(?:tgz|(?:tar|vma)(?:\.$comp)?)/;
    if (/^vzdump-(?:lxc|openvz|qemu)-[1-9][0-9]{2,8}-\d{4}_\d{2}_\d{2}-\d{2}_\d{2}_\d{2}\.$ext$/) { $n++ }
    else { print STDERR "not a PVE backup name: $_\n"; $bad++ }
    END { exit(($bad || !$n) ? 1 : 0) }'
}
check "every shown name matches PVE's backup pattern (perl)" pve_names_ok
check "sizes: a differential shows its content size (manifest)" \
  test "$(stat -c %s "$mnt/vzdump-qemu-101-2026_11_21-01_00_00.vma")" -eq \
  "$(stat -c %s "$WORK/orig/vzdump-qemu-101-2026_11_21-01_00_00.vma")"
check "sizes: an add-on differential shows its content size (VCDIFF windows)" \
  test "$(stat -c %s "$mnt/vzdump-qemu-150-2026_11_22-01_00_00.vma")" -eq "$(stat -c %s "$WORK/raw-150-2")"
check "mtime: the backup's time" \
  test "$(stat -c %Y "$mnt/vzdump-qemu-101-2026_11_21-01_00_00.vma")" -eq "$(date -d '2026-11-21 01:00:00' +%s)"

# --- content ----------------------------------------------------------------------------
all_ok=0
for f in "${!want[@]}"; do
  got=$(sha_of "$mnt/$f") || got=error
  [[ $got == "${want[$f]}" ]] || { echo "$f: $got, want ${want[$f]}" >&2; all_ok=1; }
done
check "every shown file reads as the archive it stands for (SHA-256, ${#want[@]} files)" test $all_ok -eq 0
check "tar t lists a container differential through the mount" \
  bash -c "tar tf '$mnt/vzdump-lxc-201-2026_11_22-01_00_00.tar' | grep -q '^./etc/vzdump/pct.conf$'"
check "pvediff's VMA verifier reads a VM differential through the mount" \
  pvediff -q verify "$mnt/vzdump-qemu-102-2026_11_22-01_00_00.vma"
check "pvediff's VMA verifier reads an add-on differential through the mount" \
  pvediff -q verify "$mnt/vzdump-qemu-150-2026_11_22-01_00_00.vma"

# Reads at random offsets and in reverse order, compared with the original bytes.
cat >"$WORK/reads.py" <<'PY'
import os, random, sys
view, orig, mode = sys.argv[1], sys.argv[2], sys.argv[3]
data = open(orig, "rb").read()
fd = os.open(view, os.O_RDONLY)
size = os.fstat(fd).st_size
assert size == len(data), (size, len(data))
rng = random.Random(7)
if mode == "reverse":
    spans = [(off, 300000) for off in range(size - 300000, -1, -300000)] + [(0, 300000)]
else:
    spans = [(rng.randrange(size), rng.randrange(1, 2000000)) for _ in range(60)]
for off, n in spans:
    got = os.pread(fd, n, off)
    if got != data[off:off + n]:
        sys.exit("wrong bytes at %d+%d" % (off, n))
PY
rebuilt=$WORK/orig/vzdump-qemu-103-2026_11_22-01_00_00.vma
check "reads at random offsets return the right bytes" \
  python3 "$WORK/reads.py" "$mnt/vzdump-qemu-103-2026_11_22-01_00_00.vma" "$rebuilt" random
check "reads in reverse order return the right bytes" \
  python3 "$WORK/reads.py" "$mnt/vzdump-qemu-103-2026_11_22-01_00_00.vma" "$rebuilt" reverse
two_readers() {
  local a=vzdump-qemu-101-2026_11_22-01_00_00.vma b=vzdump-lxc-202-2026_11_21-01_00_00.tar
  sha_of "$mnt/$a" >"$WORK/r1" & local p1=$!
  sha_of "$mnt/$a" >"$WORK/r2" & local p2=$!
  sha_of "$mnt/$b" >"$WORK/r3" & local p3=$!
  wait "$p1" "$p2" "$p3"  # not a bare wait: the daemon is a job of this shell too
  [[ $(cat "$WORK/r1") == "${want[$a]}" && $(cat "$WORK/r2") == "${want[$a]}" && $(cat "$WORK/r3") == "${want[$b]}" ]]
}
check "readers at once (two of the same file, one of another) get the right bytes" two_readers

# --- writes -----------------------------------------------------------------------------
shown_d=vzdump-qemu-102-2026_11_21-01_00_00.vma
real_d=vzdump-qemu-102-2026_11_20-01_00_00.vma.lzo--differential-2026_11_21-01_00_00.vcdiff.lzo
# As PVE saves notes: a temporary <notes>.tmp.<pid> opened O_EXCL, then renamed over.
perl -e 'use Fcntl; my $t = "$ARGV[0].tmp.$$"; sysopen(my $fh, $t, O_WRONLY|O_CREAT|O_EXCL, 0644) or die "$t: $!";
  print $fh "Notes from the GUI\n"; close($fh) or die; rename($t, $ARGV[0]) or die "rename: $!"' "$mnt/$shown_d.notes"
check "notes written through the view land on the differential's notes" \
  test "$(cat "$dump/$real_d.notes" 2>/dev/null)" = "Notes from the GUI"
check "no temporary notes file is left" bash -c "! ls '$dump' | grep -q 'notes.tmp'"
# As PVE protects: create <archive>.protected; unprotects: unlink it.
perl -e 'use Fcntl; sysopen(my $fh, $ARGV[0], O_CREAT, 0644) or die "$!"; close($fh)' "$mnt/$shown_d.protected"
check "protecting through the view creates the real marker" test -f "$dump/$real_d.protected"
sleep 1.2
check "the view shows the marker" test -e "$mnt/$shown_d.protected"
rm "$mnt/$shown_d.protected"
check "unprotecting through the view removes the real marker" test ! -e "$dump/$real_d.protected"
refused() { local out; out=$("$@" 2>&1) && return 1; grep -q "Read-only file system" <<<"$out"; }
check "an archive cannot be removed (EROFS)" refused rm -f "$mnt/$shown_d"
check "an archive cannot be written (EROFS)" refused bash -c "echo x >>'$mnt/$shown_d'"
check "no other file can be made (EROFS)" refused touch "$mnt/vzdump-qemu-999-2026_11_21-01_00_00.vma"
check "no directory can be made (EROFS)" refused mkdir "$mnt/sub"
check "an archive cannot be renamed (EROFS)" refused mv "$mnt/$shown_d" "$mnt/x.vma"
rm -f "$dump/$real_d.notes"
check "the dump dir is unchanged apart from the sidecars written" test "$(dump_sums)" = "$before"

# --- the listing follows the dump dir -----------------------------------------------------
new=vzdump-qemu-160-2026_11_25-01_00_00.vma.zst
cp "$dump/$addon_full" "$dump/$new"
sleep 1.2
check "a new backup appears without a remount" test -f "$mnt/$new"
rm "$dump/$new"
sleep 1.2
check "a pruned backup disappears without a remount" test ! -e "$mnt/$new"

# --- a corrupted differential -------------------------------------------------------------
bad_shown=vzdump-lxc-203-2026_11_22-01_00_00.tar
bad=vzdump-lxc-203-2026_11_20-01_00_00.tar.gz--differential-2026_11_22-01_00_00.vcdiff.gz
gzip -dc "$dump/$bad" >"$WORK/delta"
size=$(stat -c %s "$WORK/delta")
# Flip bytes in the second half (window data), keep the container (gzip) intact.
printf '\xff\xfe\xfd\xfc' | dd of="$WORK/delta" bs=1 seek=$((size * 3 / 4)) conv=notrunc status=none
gzip -c "$WORK/delta" >"$dump/$bad"
sleep 1.2
cat "$mnt/$bad_shown" >"$WORK/partial" 2>"$WORK/cat.err" && rc=0 || rc=$?
check "a corrupted differential fails to read" test "$rc" -ne 0
check "...with EIO" grep -q "Input/output error" "$WORK/cat.err"
check "...and every byte it gave is right (a prefix of the archive)" \
  cmp -s -n "$(stat -c %s "$WORK/partial")" "$WORK/partial" "$WORK/orig/$bad_shown"
check "...and it gave less than all of it" test "$(stat -c %s "$WORK/partial")" -lt "$(stat -c %s "$WORK/orig/$bad_shown")"
check "...and the daemon says which file" grep -q "$bad" "$WORK/mount.log"

# --- unmount during a read ----------------------------------------------------------------
python3 -c 'import sys,time; f=open(sys.argv[1],"rb"); f.read(1<<20); print("reading", flush=True); time.sleep(60)' \
  "$mnt/vzdump-qemu-101-2026_11_22-01_00_00.vma" >"$WORK/reader.out" &
reader=$!
for _ in $(seq 100); do grep -q reading "$WORK/reader.out" 2>/dev/null && break; sleep 0.1; done
kill -TERM "$mount_pid"
wait "$mount_pid" && rc=0 || rc=$?
mount_pid=
kill "$reader" 2>/dev/null || true; wait "$reader" 2>/dev/null || true
fusermount3 -uz "$mnt" 2>/dev/null || true  # the reader kept it busy: detach what is left
check "SIGTERM during a read ends the daemon" test "$rc" -eq 0
check "...and leaves no mount" bash -c "! mountpoint -q '$mnt'"
check "...and no scratch file" test -z "$(ls -A "$spill")"
check "...and no temporary file in the dump dir" test -z "$(find "$dump" -name '*pvediff-tmp*' -o -name '*.tmp.*')"

# Daemon mode, unmounted by fusermount3 -u while a file was read to the end once.
pvediff mount "$dump" "$mnt" 2>>"$WORK/mount.log"
check "without -f the view is mounted as a daemon" mountpoint -q "$mnt"
sha_of "$mnt/vzdump-qemu-150-2026_11_21-01_00_00.vma" >/dev/null
fusermount3 -u "$mnt"
sleep 0.5
check "fusermount3 -u unmounts the daemon's view" bash -c "! mountpoint -q '$mnt'"
check "...and the daemon is gone" bash -c "! ps -eo args | grep -F -- 'mount $dump $mnt' | grep -vq grep"

# A spill directory that is not there fails at once, naming it, not at the first read
# that spills (--spill-dir, else tmpdir of the config).
rc=0
timeout 20 "$PVEDIFF" --config "$WORK/pvediff.conf" mount "$dump" "$mnt" --foreground --spill-dir "$WORK/missing" \
  2>"$WORK/err" || rc=$?
check "a missing --spill-dir: exit 3 (got $rc), named, nothing mounted" \
  bash -c "test $rc -eq 3 && grep -qF \"'$WORK/missing'\" '$WORK/err' && ! mountpoint -q '$mnt'"
printf 'tmpdir: %s\n' "$WORK/missing" >>"$WORK/pvediff.conf"
rc=0
timeout 20 "$PVEDIFF" --config "$WORK/pvediff.conf" mount "$dump" "$mnt" --foreground 2>"$WORK/err" || rc=$?
check "a missing tmpdir of the config, as the spill dir: exit 3 (got $rc), named" \
  bash -c "test $rc -eq 3 && grep -qF \"'$WORK/missing'\" '$WORK/err'"
