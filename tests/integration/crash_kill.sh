#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-or-later
# Crash safety: `pvediff backup` killed with SIGKILL at random points, in file mode (an
# archive in its dump dir) and stream mode (`backup -` fed by a pipe), making a
# differential or keeping a new full. After every kill:
#   - the full is byte for byte what it was; in file mode the archive given is too, or,
#     kept as a full and written again in zstd frames (frame-fulls), holds exactly the
#     same content;
#   - nothing under a final name is partial: every differential restores to the
#     archive's content, every full is the untouched input or matches its manifest,
#     and `pvediff verify DIR` passes;
#   - the next run completes, `pvediff verify DIR` passes and no temporaries remain.
# Then the deterministic points (PVEDIFF_FAULT_AT=<point>:kill) once each.
# Short mode: 8 random kills. PVEDIFF_LONG=1: 100 (PVEDIFF_CRASH_RUNS=N: N per variant).
source "${PVEDIFF_TEST_LIB:?}/common.sh" || exit 1

variants=(file-diff file-full stream-diff stream-full)
per_variant=2
[[ ${PVEDIFF_LONG:-0} == 1 ]] && per_variant=25
per_variant=${PVEDIFF_CRASH_RUNS:-$per_variant}

sha() { sha256sum <"$1" | cut -d' ' -f1; }
temps_in() { find "$1" -name '.*.pvediff-tmp' | wc -l; }

# --- inputs: a VM disk, day 0 (the full) and day 1 (a few pages rewritten) ------------
img=$WORK/disk.img
truncate -s 32M "$img"
(set +o pipefail; find /usr/share/doc -type f -size -64k 2>/dev/null | head -600 | xargs cat 2>/dev/null |
  head -c 24M | dd of="$img" conv=notrunc status=none)
t0=1790000000
day0=$(date -u -d "@$t0" +%Y_%m_%d-%H_%M_%S)
day1=$(date -u -d "@$((t0 + 86400))" +%Y_%m_%d-%H_%M_%S)
"$PVEDIFF" dev-make-vma --image "$img" --order-seed 0 --ctime "$t0" -o "$WORK/day0.vma"
for i in 1 2 3 4 5; do
  head -c 8192 /dev/urandom | dd of="$img" bs=4096 seek=$((i * 997)) conv=notrunc status=none
done
"$PVEDIFF" dev-make-vma --image "$img" --order-seed 1 --ctime "$((t0 + 86400))" -o "$WORK/day1.vma"
want1=$(sha "$WORK/day1.vma")
full=vzdump-qemu-101-$day0.vma.zst
arch=vzdump-qemu-101-$day1.vma.zst
zstd -q -c "$WORK/day0.vma" >"$WORK/$full"
zstd -q -c "$WORK/day1.vma" >"$WORK/$arch"
lzop -c "$WORK/day0.vma" >"$WORK/day0.vma.lzo"
lzop -c "$WORK/day1.vma" >"$WORK/day1.vma.lzo"
echo "notes of day 1" >"$WORK/$arch.notes"
arch_sha=$(sha "$WORK/$arch")
arch_content=$(content_sha "$WORK/$arch")

conf=$WORK/pvediff.conf
printf 'fullbackup: 7\nmax-diff-ratio: 0.9\n' >"$conf"
pv() { "$PVEDIFF" --config "$conf" "$@"; }

# Template dump dirs: one whose full was kept by pvediff (manifest + index), one empty.
mkdir -p "$WORK/tpl-base" "$WORK/tpl-empty"
cp "$WORK/$full" "$WORK/tpl-base/"
pv -q backup "$WORK/tpl-base/$full"
check "template: the full has a manifest and an index" \
  test -f "$WORK/tpl-base/$full.pvediff-manifest" -a -f "$WORK/tpl-base/$full.pvediff-index"
full_sha=$(sha "$WORK/tpl-base/$full")  # as kept: written again in frames

# prepare VARIANT DIR: a fresh dump dir for one run.
prepare() {
  rm -rf "$2"
  case $1 in
    *-diff) cp -a "$WORK/tpl-base" "$2" ;;
    *-full) cp -a "$WORK/tpl-empty" "$2" ;;
  esac
  if [[ $1 == file-* ]]; then cp "$WORK/$arch" "$WORK/$arch.notes" "$2/"; fi
}
# start VARIANT DIR [FAULT]: runs the backup in the background; sets $pid.
start() {
  if [[ $1 == file-* ]]; then
    PVEDIFF_FAULT_AT=${3:-} "$PVEDIFF" --config "$conf" -q backup "$2/$arch" >/dev/null 2>"$WORK/err" &
  else
    # Like cron: `vzdump --stdout | pvediff backup -`; the run's time is day 1.
    cat "$WORK/day1.vma.lzo" |
      PVEDIFF_FAULT_AT=${3:-} "$PVEDIFF" --config "$conf" -q backup - --vmid 101 --type qemu \
        --dumpdir "$2" --now "$((t0 + 86400))" >/dev/null 2>"$WORK/err" &
  fi
  pid=$!
}

# What a killed run left, by the files on disk (the phase it died in).
phase_of() {  # variant dir rc
  local v=$1 d=$2 rc=$3 diffs temps
  diffs=$(find "$d" -name '*--differential-*' ! -name '*.pvediff-*' ! -name '*.notes' | wc -l)
  temps=$(temps_in "$d")
  if ((rc == 0)); then echo "finished"; return; fi
  if [[ $v == file-* && ! -f $d/$arch ]]; then echo "archive-removed"; return; fi
  if ((diffs > 0)); then
    if compgen -G "$d/*--differential-*.pvediff-manifest" >/dev/null; then echo "diff+manifest"; else echo "diff-no-manifest"; fi
    return
  fi
  if [[ $v == stream-* ]] && compgen -G "$d/vzdump-qemu-101-$day1.vma.*" >/dev/null; then
    echo "full-committed"; return
  fi
  if [[ $v == file-full && -f $d/$arch.pvediff-manifest ]]; then echo "manifest-written"; return; fi
  if ((temps > 0)); then echo "writing-temp"; return; fi
  echo "before-output"
}

# After a kill: nothing lost, nothing partial under a final name.
check_after_kill() {  # label variant dir
  local label=$1 v=$2 d=$3 f bad=0 got
  if [[ $v == *-diff ]]; then
    [[ -f $d/$full && $(sha "$d/$full") == "$full_sha" ]] || { fail "$label: the full changed or is gone"; bad=1; }
  fi
  if [[ $v == file-* && -f $d/$arch ]]; then
    [[ $(sha "$d/$arch") == "$arch_sha" || ($v == file-full && $(content_sha "$d/$arch") == "$arch_content") ]] ||
      { fail "$label: the archive given changed"; bad=1; }
  fi
  local have_day1=0
  [[ $v == file-* && -f $d/$arch ]] && have_day1=1
  while IFS= read -r -d '' f; do
    got=$("$PVEDIFF" restore "$f" -o - 2>>"$WORK/err" | sha256sum | cut -d' ' -f1)
    if [[ $got == "$want1" ]]; then have_day1=1; else fail "$label: $(basename "$f") does not restore to day 1"; bad=1; fi
  done < <(find "$d" -name '*--differential-*.vcdiff*' ! -name '*.pvediff-*' ! -name '*.notes' -print0)
  # A new full under its final name (stream mode) holds exactly the stream's content.
  while IFS= read -r -d '' f; do
    if [[ $(content_sha "$f") == "$want1" ]]; then have_day1=1; else fail "$label: $(basename "$f") is partial"; bad=1; fi
  done < <(find "$d" -name "vzdump-qemu-101-$day1.vma*" ! -name '*.pvediff-*' ! -name '*--differential-*' ! -name '*.notes' ! -name "$arch" -print0)
  if [[ $v == file-* ]] && ((have_day1 == 0)); then fail "$label: day 1 is lost (no archive, no differential)"; bad=1; fi
  if ! pv -q verify "$d" >"$WORK/verify.out" 2>&1; then
    fail "$label: verify right after the kill fails"; cat "$WORK/verify.out" >&2; bad=1
  fi
  return $bad
}

# The next run completes, leaves a clean dir. File mode: the same archive again if it
# is still there, then the next day's archive; stream mode: the next day's stream.
next_run_ok() {  # label variant dir
  local label=$1 v=$2 d=$3
  if [[ $v == file-* ]]; then
    if [[ -f $d/$arch ]] && ! compgen -G "$d/$full--differential-$day1.*" >/dev/null; then
      if ! pv -q backup "$d/$arch" >/dev/null 2>"$WORK/err2"; then
        fail "$label: re-running the backup of the same archive fails: $(cat "$WORK/err2")"; return 1
      fi
    elif [[ -f $d/$arch ]]; then
      # Killed between committing the differential and removing the archive: both are
      # complete. A re-run either finishes the job (the archive goes, the differential
      # stays) or refuses to write the differential again and keeps the archive.
      if pv -q backup "$d/$arch" >/dev/null 2>"$WORK/err2"; then
        reruns_finished=$((reruns_finished + 1))
      elif grep -q 'exists already' "$WORK/err2" && [[ $(sha "$d/$arch") == "$arch_sha" ]]; then
        reruns_refused=$((reruns_refused + 1))
      else
        fail "$label: re-run beside a complete differential: $(cat "$WORK/err2")"; return 1
      fi
    fi
    local day2 a2
    day2=$(date -u -d "@$((t0 + 2 * 86400))" +%Y_%m_%d-%H_%M_%S)
    a2=vzdump-qemu-101-$day2.vma.zst
    cp "$WORK/$arch" "$d/$a2"  # same content, next day's name
    pv -q backup "$d/$a2" >/dev/null 2>"$WORK/err2" || { fail "$label: next day's backup fails: $(cat "$WORK/err2")"; return 1; }
  else
    cat "$WORK/day1.vma.lzo" | pv -q backup - --vmid 101 --type qemu --dumpdir "$d" \
      --now "$((t0 + 2 * 86400))" >/dev/null 2>"$WORK/err2" || { fail "$label: next stream backup fails: $(cat "$WORK/err2")"; return 1; }
  fi
  pv -q verify "$d" >"$WORK/verify.out" 2>&1 || { fail "$label: verify after the next run fails"; cat "$WORK/verify.out" >&2; return 1; }
  if [[ $v == file-* && ! -f $d/$arch ]]; then  # day 1 still restorable
    local f got=""
    f=$(find "$d" -name "*--differential-$day1.vcdiff*" ! -name '*.pvediff-*' ! -name '*.notes' | head -1)
    [[ -n $f ]] && got=$("$PVEDIFF" restore "$f" -o - 2>/dev/null | sha256sum | cut -d' ' -f1)
    [[ $got == "$want1" ]] || { fail "$label: day 1 lost after the next run"; return 1; }
  fi
  [[ $(temps_in "$d") -eq 0 ]] || { fail "$label: temporaries remain after the next run: $(find "$d" -name '.*.pvediff-tmp')"; return 1; }
  return 0
}

# --- measure each variant's uninterrupted duration --------------------------------------
declare -A dur
for v in "${variants[@]}"; do
  prepare "$v" "$WORK/run"
  s=$(date +%s.%N)
  start "$v" "$WORK/run"
  wait "$pid" || { fail "$v: uninterrupted run fails: $(cat "$WORK/err")"; continue; }
  dur[$v]=$(echo "$(date +%s.%N) - $s" | bc)
  check "$v: uninterrupted run leaves verify passing" bash -c '"$@" >/dev/null' _ "$PVEDIFF" verify "$WORK/run"
done

# --- random kills -----------------------------------------------------------------------
declare -A phases
runs=0 kills=0 leftovers=0 good=0 reruns_refused=0 reruns_finished=0
for v in "${variants[@]}"; do
  [[ -n ${dur[$v]:-} ]] || continue
  for ((i = 0; i < per_variant; i++)); do
    # Delays spread over the run: slice i of per_variant, random inside the slice, up to
    # 110% of the measured duration (the machine's load varies).
    delay=$(echo "scale=3; ${dur[$v]} * 1.1 * ($i + $RANDOM / 32768) / $per_variant" | bc)
    d=$WORK/kill-$v-$i
    prepare "$v" "$d"
    start "$v" "$d"
    sleep "$delay"
    kill -KILL "$pid" 2>/dev/null || true
    rc=0; wait "$pid" 2>/dev/null || rc=$?
    runs=$((runs + 1))
    ((rc == 137)) && kills=$((kills + 1))
    ph=$(phase_of "$v" "$d" "$rc")
    phases[$ph]=$((${phases[$ph]:-0} + 1))
    t=$(temps_in "$d"); leftovers=$((leftovers + t))
    label="$v kill #$i after ${delay}s ($ph, rc $rc, $t temporaries)"
    if ((rc != 0 && rc != 137)); then fail "$label: failed on its own: $(cat "$WORK/err")"; continue; fi
    if check_after_kill "$label" "$v" "$d" && next_run_ok "$label" "$v" "$d"; then
      good=$((good + 1))
      echo "ok: $label"
    fi
    rm -rf "$d"
  done
done
check "every killed run left a consistent dump dir and a working next run ($good/$runs)" test "$good" -eq "$runs"

# --- deterministic points ---------------------------------------------------------------
fault_runs=0
for spec in file-diff:differential-verified file-diff:differential-committed file-diff:before-archive-removed \
  stream-diff:differential-verified stream-diff:differential-committed stream-full:full-written \
  stream-diff:full-written; do
  v=${spec%%:*} point=${spec#*:}
  d=$WORK/fault-$v-$point
  prepare "$v" "$d"
  if [[ $spec == stream-diff:full-written ]]; then
    # The differential is too large: the full is rebuilt from base + differential.
    printf 'fullbackup: 7\nmax-diff-ratio: 0.0001\n' >"$conf"
  fi
  start "$v" "$d" "$point:kill"
  rc=0; wait "$pid" 2>/dev/null || rc=$?
  printf 'fullbackup: 7\nmax-diff-ratio: 0.9\n' >"$conf"
  fault_runs=$((fault_runs + 1))
  t=$(temps_in "$d"); leftovers=$((leftovers + t))
  label="$v killed at $point ($(phase_of "$v" "$d" "$rc"), $t temporaries)"
  check "$label: died by SIGKILL there (rc $rc)" test "$rc" -eq 137
  if check_after_kill "$label" "$v" "$d" && next_run_ok "$label" "$v" "$d"; then ok "$label: consistent, next run completes"; fi
  rm -rf "$d"
done

echo "figures: durations$(for v in "${variants[@]}"; do printf ' %s=%ss' "$v" "${dur[$v]:-?}"; done)"
echo "figures: $runs random runs, $kills killed (rest finished first), $fault_runs fault-point kills," \
  "$leftovers temporaries left by kills, all cleaned by the next run;" \
  "re-runs of an archive whose differential was already committed: $reruns_finished finished the job," \
  "$reruns_refused refused (archive kept)"
echo "figures: phases:$(for p in "${!phases[@]}"; do printf ' %s=%s' "$p" "${phases[$p]}"; done)"
