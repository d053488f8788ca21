#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-or-later
# bench/nbd_row.sh [SIZE_GIB [PERCENTS [ROUNDS]]]: the `backup --nbd` figures
# (docs/nbd.md). A sparse qcow2 of SIZE_GIB (default 3) with real file contents on
# 60 % of it and a dirty bitmap; day 0 a whole-disk read (a full, kept as the base of
# every row). Then, for each of PERCENTS (default "0.1 1 10"), a copy of day 0's disk
# with that share rewritten in 1 MiB pieces, and day 1 backed up three ways, each into
# a copy of day 0's dump dir, alternated ROUNDS times (default 1):
#   records `backup --nbd --bitmap`: only the dirty extents read, the differential
#          written from the full's cluster records (the full is written in frames);
#   plan   the same with the full's records removed: the differential written from the
#          cluster plan with the full read whole (the route before the records);
#   whole  `backup --nbd` without the bitmap: every allocated extent read, the VMA
#          through the encoder (stream path);
#   file   `backup ARCHIVE` on a VMA of the same day-1 disk (today's vzdump-file path;
#          making the VMA, vzdump's part, is not timed), after a `floor` line: `zstd
#          -dc` of that VMA, the floor of issue 17's ratios.
# WAYS (environment, default "records plan whole") picks among them. COMPARE=BINARY
# runs each records row a second time with that build (label suffixed "'"), on the
# same disk and dump dir: before/after figures in one series. DISTINCT=1 writes
# distinct random data into each piece (see rewrite below). KEEP=DIR keeps each run's
# differential there as LABEL-PERCENT.vcdiff.zst.
# Then day 2 (another PERCENT rewritten elsewhere, the bitmap cleared after day 1's
# records run): records2 continues from day 1's differential (its changed clusters
# decoded from it); plan2 the same with the full's records removed (day 1's
# differential decoded in step with the full read whole); whole2 reads everything;
# all against day 0's full. DAY2_WAYS (default "records2 plan2 whole2"); the older
# routes: plan2r (day 1 rebuilt whole), stream2 (the stream path, dirty-only).
# Prints one line per run: wall, CPU (user+sys), peak RSS, what was read, differential
# size. Run with nice -n 5 beside other work; compare rows of one series.
set -euo pipefail
size=${1:-3} percents=${2:-"0.1 1 10"} rounds=${3:-1}
pvediff=$(realpath "${PVEDIFF:-$(dirname "$0")/../build/pvediff}")
work=$(mktemp -d "${TMPDIR:-/tmp}/pvediff-nbd-bench-XXXXXX")
trap 'kill $(jobs -p) 2>/dev/null || true; rm -rf "$work"' EXIT
t0=1790000000
disk0=$work/d0.qcow2 disk=$work/d.qcow2
qemu-img create -q -f qcow2 "$disk0" "${size}G"
qemu-img bitmap --add "$disk0" b0
# The files under /usr, again from the start when they run out (about 5 GiB here: a
# 32 GiB guest holds them four times).
(set +o pipefail; for _ in $(seq 16); do
  find /usr/share /usr/lib -type f -size +16k 2>/dev/null | xargs cat 2>/dev/null
done | head -c $((size * 1024 * 1024 * 1024 * 6 / 10)) >"$work/files")
# In pieces of 512 MiB: qemu-io holds what it writes in memory.
split -b 512M -d -a 3 "$work/files" "$work/piece."
rm "$work/files"
at=0
for piece in "$work"/piece.*; do
  qemu-io -f qcow2 -c "write -s $piece $at $(stat -c %s "$piece")" "$disk0" >/dev/null
  at=$((at + $(stat -c %s "$piece")))
  rm "$piece"
done
printf 'memory: 1024\n' >"$work/conf"
printf 'fullbackup: 7\n' >"$work/pvediff.conf"
sock=$work/sock
uri="nbd+unix:///drive-scsi0?socket=$sock"
serve() {  # DISK
  rm -f "$sock"
  qemu-nbd -t -r -f qcow2 -B b0 -x drive-scsi0 -k "$sock" "$1" &
  for _ in $(seq 300); do nbdinfo --size "$uri" >/dev/null 2>&1 && break; sleep 0.1; done
}
unserve() { kill %% 2>/dev/null; wait 2>/dev/null || true; }
timed() {  # LABEL command...: one line of figures
  local label=$1
  shift
  sync  # the copied dump dir's writeback is not the run's
  /usr/bin/time -o "$work/time" -f "%e %U %S %M" "$@" >"$work/out" 2>&1 || { cat "$work/out"; exit 1; }
  read -r wall user sys rss <"$work/time"
  local read diff
  read=$(sed -n 's/.* \([0-9.]\+ [KMGT]\?i\?B\) read over NBD.*/\1/p' "$work/out" | tail -1)
  diff=$(stat -c %s "$work"/run/*--differential-"${stamp:-}"*.vcdiff.zst 2>/dev/null || echo -)
  printf '%-6s %5s %%  wall %7.2f s  cpu %7.2f s  rss %6d MiB  read %-12s diff %s\n' "$label" "$pct" "$wall" \
    "$(echo "$user + $sys" | bc)" $((rss / 1024)) "${read:-file}" "$diff"
  grep -q "written from the cluster plan" "$work/out" || [[ $label != plan* && $label != records* ]] || {
    cat "$work/out"; exit 1; }
  [[ $label != records* ]] || ! grep -q "cluster records are not used" "$work/out" || { cat "$work/out"; exit 1; }
  [[ $label != records* ]] || sed -n 's/.*from the records: //p' "$work/out"
  [[ -z ${KEEP:-} || $diff == - ]] || cp "$work"/run/*--differential-"${stamp:-}"*.vcdiff.zst "$KEEP/$label-$pct.vcdiff.zst"
}
nbd() {  # DIR DAY: the backup command of day DAY into DIR (more options follow)
  echo "${bin:-$pvediff}" --config "$work/pvediff.conf" --no-progress backup --nbd "drive-scsi0=$uri" --vmid 100 \
    --dumpdir "$1" --guest-config "$work/conf" --now $((t0 + $2 * 86400))
}
compare_row() {  # LABEL FROM DAY: that records row again with the COMPARE build, when set
  [[ -n ${COMPARE:-} ]] || return 0
  rm -rf "$work/run" && cp -a "$2" "$work/run"
  timed "$1'" $(bin=$(realpath "$COMPARE") nbd "$work/run" "$3") --bitmap b0
}
mkdir "$work/base"
serve "$disk0"
pct=0
timed day0 $(nbd "$work/base" 0) --bitmap b0 --bitmap-mode new
unserve
head -c 1M /dev/urandom >"$work/r"
head -c 1M /dev/urandom >"$work/r2"
rewrite() {  # PIECES SEED FILE: 1 MiB pieces at places spread by SEED
  local cmds=() i src
  # DISTINCT=1: each piece its own random MiB (new data as it mostly is) instead of
  # FILE at every place, whose repeats only zstd's matching shrinks.
  [[ -z ${DISTINCT:-} ]] || { rm -rf "$work/pc" && mkdir "$work/pc"; }
  [[ -z ${DISTINCT:-} ]] || head -c $(($1 * 1024 * 1024)) /dev/urandom | split -b 1M -d -a 6 - "$work/pc/p."
  for i in $(seq 1 "$1"); do
    src=$3
    [[ -z ${DISTINCT:-} ]] || src=$work/pc/p.$(printf %06d $((i - 1)))
    cmds+=(-c "write -s $src $(((i * $2) % (size * 1024)))M 1M")
  done
  qemu-io -f qcow2 "${cmds[@]}" "$disk" >/dev/null
  rm -rf "$work/pc"
}
for pct in $percents; do
  cp --sparse=always "$disk0" "$disk"
  qemu-img bitmap --clear "$disk" b0
  pieces=$(awk -v s="$size" -v p="$pct" 'BEGIN { n = int(s * 1024 * p / 100 + 0.5); print n < 1 ? 1 : n }')
  rewrite "$pieces" 7919 "$work/r"
  serve "$disk"
  # The day-1 VMA file for the file path (vzdump's part: not timed).
  if [[ " ${WAYS:-} " == *" file "* ]]; then
    rm -rf "$work/vma" && mkdir "$work/vma"
    $(nbd "$work/vma" 1) >/dev/null
    vma=$(ls "$work/vma"/*.vma.zst)
  fi
  for _ in $(seq "$rounds"); do
    for way in ${WAYS:-records plan whole}; do
      rm -rf "$work/run" && cp -a "$work/base" "$work/run"
      case $way in
        records)
          timed records $(nbd "$work/run" 1) --bitmap b0
          compare_row records "$work/base" 1
          ;;
        plan)
          rm -f "$work"/run/*.vma.zst.pvediff-vma-clusters
          timed plan $(nbd "$work/run" 1) --bitmap b0
          ;;
        whole) timed whole $(nbd "$work/run" 1) ;;
        file)
          cp "$vma" "$work/run/"
          # Issue 17's floor for this row: decompressing the new archive.
          timed floor sh -c 'zstd -dc "$1" >/dev/null' sh "$vma"
          timed file "$pvediff" --config "$work/pvediff.conf" --no-progress backup "$work/run/$(basename "$vma")"
          ;;
      esac
    done
  done
  # Day 2, from day 1's plan run.
  rm -rf "$work/day1" && cp -a "$work/base" "$work/day1"
  $(nbd "$work/day1" 1) --bitmap b0 >/dev/null
  unserve
  qemu-img bitmap --clear "$disk" b0
  rewrite "$pieces" 4261 "$work/r2"
  serve "$disk"
  stamp=$(TZ=UTC date -d @$((t0 + 2 * 86400)) +%Y_%m_%d)
  for way in ${DAY2_WAYS:-records2 plan2 whole2}; do
    rm -rf "$work/run" && cp -a "$work/day1" "$work/run"
    case $way in
      records2)
        timed records2 $(nbd "$work/run" 2) --bitmap b0
        compare_row records2 "$work/day1" 2
        ;;
      plan2)
        rm -f "$work"/run/*.vma.zst.pvediff-vma-clusters
        timed plan2 $(nbd "$work/run" 2) --bitmap b0
        ;;
      plan2r)
        # Day 1's manifest no longer says the plan path wrote it: its differential is
        # rebuilt whole against the full (the route before the in-step decoding).
        sed -i 's/^nbd-plan: .*/nbd-plan: not used: bench/' "$work"/run/*--differential-*.pvediff-manifest
        timed plan2r $(nbd "$work/run" 2) --bitmap b0
        ;;
      stream2)
        rm "$work"/run/*--differential-*.pvediff-nbd-changed
        timed stream2 $(nbd "$work/run" 2) --bitmap b0
        ;;
      whole2) timed whole2 $(nbd "$work/run" 2) ;;
    esac
  done
  stamp=
  unserve
done
