#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-or-later
# `pvediff prune` end to end on a dump dir named for a table of dates: vzdump's keep-*
# semantics over fulls and differentials together, chains across a year end (and an ISO
# week that spans it) and month ends, a protected full and a protected differential,
# .log/.notes/pvediff sidecars, an orphan differential. --dry-run first (nothing may
# change), then for real: the exact survivors, a removed full takes its differentials
# and sidecars, a full needed by a kept (or protected) differential stays.
# prune reads names only (src/store/dump_dir.cpp), so the archives are small fakes.
source "$PVEDIFF_TEST_LIB/common.sh"
export TZ=UTC  # vzdump takes periods in local time; the table below is in UTC

dump=$WORK/dump
mkdir -p "$dump"
full_name() { echo "vzdump-qemu-100-$1-01_00_00.vma.zst"; }
diff_name() { echo "$(full_name "$1")--differential-$2-01_00_00.vcdiff.zst"; }
# A backup with vzdump's log (named after its own time) and notes.
add_backup() {  # file time
  echo "archive $1" >"$dump/$1"
  echo "INFO: log of $2" >"$dump/vzdump-qemu-100-$2-01_00_00.log"
  echo "notes of $2" >"$dump/$1.notes"
}
add_full() { add_backup "$(full_name "$1")" "$1"; }
add_diff() { add_backup "$(diff_name "$1" "$2")" "$2"; }

# Chain C: a month end (February 2026 has 28 days); Feb 27 .. Mar 1 is ISO week 2026-W09.
add_full 2026_02_27; add_diff 2026_02_27 2026_02_28; add_diff 2026_02_27 2026_03_01
# Chain B: across January's end; Jan 26 .. Feb 1 is 2026-W05, Feb 2 starts W06.
add_full 2026_01_30; add_diff 2026_01_30 2026_01_31; add_diff 2026_01_30 2026_02_01
add_diff 2026_01_30 2026_02_02
# Chain A: across the year end; Dec 28 2025 is 2025-W52, Dec 29 .. Jan 2 are 2026-W01.
add_full 2025_12_28
for d in 2025_12_29 2025_12_30 2025_12_31 2026_01_01 2026_01_02; do add_diff 2025_12_28 "$d"; done
# Chain O: one full and one differential in November.
add_full 2025_11_15; add_diff 2025_11_15 2025_11_16
# A protected full on its own.
add_full 2025_10_01; touch "$dump/$(full_name 2025_10_01).protected"
# Chain S: too old for every rule, goes whole, with pvediff's sidecars too.
add_full 2025_09_01; add_diff 2025_09_01 2025_09_02; add_diff 2025_09_01 2025_09_03
echo "not read by prune" >"$dump/$(full_name 2025_09_01).pvediff-manifest"
echo "not read by prune" >"$dump/$(full_name 2025_09_01).pvediff-index"
echo "not read by prune" >"$dump/$(diff_name 2025_09_01 2025_09_02).pvediff-manifest"
# Chain Q: too old too, but a protected differential keeps its full.
add_full 2025_08_01; add_diff 2025_08_01 2025_08_02; add_diff 2025_08_01 2025_08_03
touch "$dump/$(diff_name 2025_08_01 2025_08_02).protected"
# An orphan: a differential whose full is gone (left alone unless --remove-orphans).
orphan=$(diff_name 2025_07_01 2025_07_02)
echo "orphan" >"$dump/$orphan"
echo "notes" >"$dump/$orphan.notes"
# Another guest's backup and a file pvediff does not know: never touched.
echo "ct" >"$dump/vzdump-lxc-200-2024_01_01-01_00_00.tar.zst"
echo "x" >"$dump/README.txt"

keep=(--keep-last 1 --keep-daily 2 --keep-weekly 2 --keep-monthly 3 --keep-yearly 2)
# Worked by hand, newest first (PVE::Storage::prune_mark_backup_group):
#   last 1:    Mar 1
#   daily 2:   Feb 28, Feb 27 (next day would be a third)
#   weekly 2:  W09 taken; Feb 2 (W06), Feb 1 (W05); Jan 31, Jan 30 marked remove (W05)
#   monthly 3: Feb, Mar taken; Jan 2 (2026-01; Jan 1 removed), Dec 31 (2025-12; Dec 30,
#              29, 28 removed), Nov 16 (2025-11; Nov 15 removed); Sep, Aug: no room left
#   yearly 2:  2026 and 2025 taken already
#   protected: Oct 1 full, Aug 2 differential
#   chains:    Jan 30, Dec 28, Nov 15 and Aug 1 fulls stay: kept differentials need them
survivors=(
  "$(full_name 2026_02_27)" "$(diff_name 2026_02_27 2026_02_28)" "$(diff_name 2026_02_27 2026_03_01)"
  "$(full_name 2026_01_30)" "$(diff_name 2026_01_30 2026_02_01)" "$(diff_name 2026_01_30 2026_02_02)"
  "$(full_name 2025_12_28)" "$(diff_name 2025_12_28 2025_12_31)" "$(diff_name 2025_12_28 2026_01_02)"
  "$(full_name 2025_11_15)" "$(diff_name 2025_11_15 2025_11_16)"
  "$(full_name 2025_10_01)"
  "$(full_name 2025_08_01)" "$(diff_name 2025_08_01 2025_08_02)"
)
removed=(
  "$(diff_name 2026_01_30 2026_01_31)"
  "$(diff_name 2025_12_28 2025_12_29)" "$(diff_name 2025_12_28 2025_12_30)" "$(diff_name 2025_12_28 2026_01_01)"
  "$(full_name 2025_09_01)" "$(diff_name 2025_09_01 2025_09_02)" "$(diff_name 2025_09_01 2025_09_03)"
  "$(diff_name 2025_08_01 2025_08_03)"
)
time_of() {  # a backup file name -> its own time (the differential's, for a differential)
  local t=${1##*--differential-}
  [[ $t == "$1" ]] && t=${1#vzdump-qemu-100-}
  echo "${t:0:19}"
}
# Every file that must remain: survivors with their sidecars, the protected markers, the
# orphan, the other guest's backup and the foreign file.
expected=$(
  for f in "${survivors[@]}"; do
    echo "$f"; echo "$f.notes"; echo "vzdump-qemu-100-$(time_of "$f").log"
  done
  echo "$(full_name 2025_10_01).protected"
  echo "$(diff_name 2025_08_01 2025_08_02).protected"
  echo "$orphan"; echo "$orphan.notes"
  echo "vzdump-lxc-200-2024_01_01-01_00_00.tar.zst"; echo README.txt
)
expected=$(sort <<<"$expected")
check "table: $((${#survivors[@]} + ${#removed[@]})) backups of guest 100" test $((${#survivors[@]} + ${#removed[@]})) -eq 22
# The per-guest lock files (.pvediff-lock-TYPE-VMID) stay by design (store/guest_lock.h).
listing() { (cd "$dump" && ls -A | grep -v "^\.pvediff-lock-" | sort); }
before=$(listing)
before_sums=$(cd "$dump" && sha256sum -- * | sort)

# 1. --dry-run: the plan, nothing changes.
if "$PVEDIFF" prune "$dump" "${keep[@]}" --dry-run >"$WORK/dry.out" 2>"$WORK/dry.err"; then
  ok "prune --dry-run exits 0"
else
  fail "prune --dry-run failed: $(cat "$WORK/dry.err")"
fi
check "dry run changes nothing" test "$(cd "$dump" && sha256sum -- * | sort)" = "$before_sums"
check "dry run removes no file" test "$(listing)" = "$before"
check "dry run says 'would remove'" grep -q "would remove" "$WORK/dry.out"
plan_line() { grep -F -- " $2 (" "$WORK/dry.out" | grep -qE "^(pvediff: )? +$1 "; }
for f in "${survivors[@]}"; do check "dry run keeps $f" plan_line keep "$f"; done
for f in "${removed[@]}"; do check "dry run removes $f" plan_line remove "$f"; done
check "reason given: Jan 30 full needed by a kept differential" \
  grep -qE "keep +$(full_name 2026_01_30) \(needed by $(diff_name 2026_01_30 2026_02_02)\)" "$WORK/dry.out"
check "reason given: Aug 1 full needed by the protected differential" \
  grep -qE "keep +$(full_name 2025_08_01) \(needed by $(diff_name 2025_08_01 2025_08_02)" "$WORK/dry.out"
check "reason given: protected" grep -qE "keep +$(full_name 2025_10_01) \(protected" "$WORK/dry.out"
check "reason given: keep-last for the newest" grep -qE "keep +$(diff_name 2026_02_27 2026_03_01) \(keep-last" "$WORK/dry.out"
check "orphan reported, left in place" grep -qE "orphan +$orphan .*left in place" "$WORK/dry.out"
check "summary line: 15 kept (14 + lxc 200), 8 would remove" grep -q "15 kept, 8 would remove, 1 orphans" "$WORK/dry.out"

# 2. For real.
if "$PVEDIFF" prune "$dump" "${keep[@]}" >"$WORK/real.out" 2>"$WORK/real.err"; then
  ok "prune exits 0"
else
  fail "prune failed: $(cat "$WORK/real.err")"
fi
after=$(listing)
if [[ "$after" == "$expected" ]]; then
  ok "exactly the expected files remain ($(wc -l <<<"$after"))"
else
  fail "survivors differ from the table:"
  diff <(echo "$expected") <(echo "$after") >&2 || true
fi
check "the removed Sep 1 full took its differentials, logs, notes, manifests, index" \
  test -z "$(cd "$dump" && ls -A | grep -E '2025_09_0[123]')"
for f in "${removed[@]}"; do
  check "gone with its sidecars: $f" test ! -e "$dump/$f" -a ! -e "$dump/$f.notes" \
    -a ! -e "$dump/vzdump-qemu-100-$(time_of "$f").log"
done
kept_before=$(awk 'NR == FNR { want[$0] = 1; next } ($2 in want)' <(echo "$expected") <(echo "$before_sums"))
check "kept files unchanged" test "$(cd "$dump" && sha256sum -- * | sort)" = "$(sort <<<"$kept_before")"
check "summary line: 15 kept, 8 removed" grep -q "15 kept, 8 removed, 1 orphans" "$WORK/real.out"

# 3. Again: nothing more to do (the plan is stable).
"$PVEDIFF" prune "$dump" "${keep[@]}" >"$WORK/again.out"
check "second run removes nothing" test "$(listing)" = "$expected"
check "second run: 15 kept, 0 removed" grep -q "15 kept, 0 removed" "$WORK/again.out"

# list calls the orphan out and counts the chains that remain.
"$PVEDIFF" list "$dump" --vmid 100 --json >"$WORK/list.json"
check "list --json: 14 backups of guest 100 and the orphan, called out" python3 - "$WORK/list.json" "$orphan" <<'PY'
import json, sys
rows = json.load(open(sys.argv[1]))["dumpdirs"][0]["backups"]
orphans = [r for r in rows if r["kind"] == "orphan"]
ok = len(rows) == 15 and [r["file"] for r in orphans] == [sys.argv[2]] and "ORPHAN" in orphans[0]["note"]
ok = ok and sum(r["kind"] == "full" for r in rows) == 6 and all(r["guest_type"] == "qemu" and r["vmid"] == 100 for r in rows)
ok = ok and sum(r["protected"] for r in rows) == 2
sys.exit(not ok)
PY

# 4. --remove-orphans takes the orphan differential and its notes, nothing else.
"$PVEDIFF" prune "$dump" "${keep[@]}" --remove-orphans >"$WORK/orphans.out"
check "--remove-orphans removed the orphan and its notes" \
  test "$(listing)" = "$(grep -vF "$orphan" <<<"$expected")"

# 5. A protected backup survives even keep-last 1, and takes its full with it.
"$PVEDIFF" prune "$dump" --keep-last 1 >"$WORK/last1.out"
check "keep-last 1: newest, protected ones and the fulls they need remain" test "$(listing |
  grep -vE '\.(log|notes|protected)$' | sort)" = "$(printf '%s\n' "$(full_name 2026_02_27)" \
  "$(diff_name 2026_02_27 2026_03_01)" "$(full_name 2025_10_01)" "$(full_name 2025_08_01)" \
  "$(diff_name 2025_08_01 2025_08_02)" README.txt vzdump-lxc-200-2024_01_01-01_00_00.tar.zst | sort)"
check "keep-last 1: only lock files are hidden" test -z "$(cd "$dump" && ls -A | grep '^\.' | grep -v '^\.pvediff-lock-')"
check "no sidecar outlived its backup" test -z "$(cd "$dump" && for f in *.notes; do
  [[ -e ${f%.notes} ]] || echo "$f"; done)"
