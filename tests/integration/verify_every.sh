#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-or-later
# Verification that scales: `pvediff verify DIR` checks what is new, failed, changed or
# last verified longer than verify-every ago, records each result beside its backup
# (<file>.pvediff-verified) and skips the rest, saying why; `--all` checks everything
# and a file named on its own is always checked. A rewritten file (same manifest, new
# bytes) is checked again and fails: it never inherits an old "ok". `list` shows the
# result (text and JSON); prune removes the record with its backup, --remove-orphans
# removes an orphaned one. A hostile record (a symlink, a FIFO, huge, garbage, one
# claiming "ok" for another file) is never trusted: the backup is checked.
source "$PVEDIFF_TEST_LIB/common.sh"

dump=$WORK/dump
mkdir -p "$dump"
echo "verify-every: 30" >"$WORK/pvediff.conf"
pv() { "$PVEDIFF" --config "$WORK/pvediff.conf" --no-progress "$@"; }

head -c 200000 /dev/urandom >"$WORK/f"
tar_day() { echo "day $1" >>"$WORK/f"; tar -C "$WORK" -cf "$WORK/ct-$1.tar" f; }
full=vzdump-lxc-105-2026_11_20-01_00_00.tar.zst
tar_day 0; zstd -q -c "$WORK/ct-0.tar" >"$dump/$full"
pv -q backup --fullbackup 7 "$dump/$full"
tar_day 1; zstd -q -c "$WORK/ct-1.tar" >"$dump/vzdump-lxc-105-2026_11_21-01_00_00.tar.zst"
pv -q backup --fullbackup 7 "$dump/vzdump-lxc-105-2026_11_21-01_00_00.tar.zst"
diff1=$full--differential-2026_11_21-01_00_00.vcdiff.zst
check "setup: a full and a differential" test -f "$dump/$diff1"

# run NAME ARGS...: pv ARGS > $WORK/NAME.out (stdout+stderr), exit status in $WORK/NAME.rc
run() { local name=$1; shift; local rc=0; pv "$@" >"$WORK/$name.out" 2>&1 || rc=$?; echo "$rc" >"$WORK/$name.rc"; }
has() { grep -qE -- "$2" "$WORK/$1.out" || { echo "--- $1.out lacks /$2/:" >&2; cat "$WORK/$1.out" >&2; return 1; }; }
rc_is() { [[ $(cat "$WORK/$1.rc") == "$2" ]] || { echo "$1: exit $(cat "$WORK/$1.rc"), not $2" >&2; cat "$WORK/$1.out" >&2; return 1; }; }
record_of() { echo "$dump/$1.pvediff-verified"; }
# status NAME FILE: "ok", "FAILED" or "skipped" as the verify table says for FILE
status() { awk -v f="$2" '$1 != "pvediff:" && $NF == f { print $1; exit }' "$WORK/$1.out"; }

# --- 1. new backups are checked and recorded ---
run first verify "$dump"
check "first run: exit 0" rc_is first 0
check "first run: both checked" has first "^2 checked, 0 failed, 0 skipped"
check "first run: the full's result is recorded" grep -qx "result: ok" "$(record_of "$full")"
check "first run: the differential's result is recorded" grep -qx "result: ok" "$(record_of "$diff1")"
check "record keeps the backup's mode" test "$(stat -c %a "$(record_of "$full")")" = "$(stat -c %a "$dump/$full")"

# --- 2. a re-run skips them, saying why ---
run second verify "$dump"
check "re-run: exit 0" rc_is second 0
check "re-run: both skipped" has second "^0 checked, 0 failed, 2 skipped"
check "re-run: says when it was verified and when it is next due" has second "verified [0-9]+ h ago, next in 30 d"
check "re-run: the full is listed as skipped" test "$(status second "$full")" = skipped

# --- 3. a naming the file always checks it; --all checks all ---
run named verify "$dump/$full"
check "named file: checked" has named "^1 checked, 0 failed, 0 skipped"
check "named file: its record is left as it was" grep -qx "result: ok" "$(record_of "$full")"
run all verify --all "$dump"
check "--all: both checked" has all "^2 checked, 0 failed, 0 skipped"

# --- 4. a record older than verify-every: checked again ---
old=$(( $(date +%s) - 31 * 86400 ))
sed -i "s/^verified: .*/verified: $old/" "$(record_of "$full")"
run due verify "$dump"
check "31 days old record: the full is checked again" test "$(status due "$full")" = ok
check "31 days old record: the differential is skipped" test "$(status due "$diff1")" = skipped
check "31 days old record: renewed" bash -c '(( $(sed -n "s/^verified: //p" "$1") > $2 ))' _ "$(record_of "$full")" "$old"
# verify-every 0 = every time.
echo "verify-every: 0" >"$WORK/every0.conf"
rc=0; "$PVEDIFF" --config "$WORK/every0.conf" verify "$dump" >"$WORK/every0.out" 2>&1 || rc=$?
check "verify-every 0: everything checked" has every0 "^2 checked, 0 failed, 0 skipped"

# --- 5. a rewritten file is checked again (and here fails); a failed one every run ---
cp -p "$dump/$diff1" "$WORK/diff1.good"
python3 - "$dump/$diff1" <<'PY'
import sys
with open(sys.argv[1], "r+b") as f:
    f.seek(-20, 2); b = f.read(1); f.seek(-20, 2); f.write(bytes([b[0] ^ 0x40]))
PY
run rewritten verify "$dump"
check "rewritten differential: exit 1" rc_is rewritten 1
check "rewritten differential: checked and FAILED" test "$(status rewritten "$diff1")" = FAILED
check "rewritten differential: the reason says changed" has rewritten "changed since it was verified"
check "rewritten differential: failure recorded" grep -qx "result: failed" "$(record_of "$diff1")"
run failed_again verify "$dump"
check "a failed one is checked on every run" test "$(status failed_again "$diff1")" = FAILED
check "a failed one: the reason says so" has failed_again "failed last time"
# Same size and mtime as before the damage (touch -r): the manifest-independent
# identity cannot see it, but the record says failed, so it is still checked.
cp -p "$WORK/diff1.good" "$dump/$diff1"
run repaired verify "$dump"
check "repaired differential: checked, ok again" test "$(status repaired "$diff1")" = ok
check "repaired differential: exit 0" rc_is repaired 0

# --- 6. list shows the results, text and JSON ---
run list list "$dump"
check "list: a VERIFIED column" has list "VERIFIED"
check "list: the full verified ok" has list "ok +[0-9.]+ d .*$full"
pv list --json "$dump" >"$WORK/list.json"
check "list --json: verified time, ok, current" python3 - "$WORK/list.json" "$full" <<'PY'
import json, re, sys
doc = json.load(open(sys.argv[1]))
b = {x["file"]: x for x in doc["dumpdirs"][0]["backups"]}
v = b[sys.argv[2]]["verified"]
assert v["ok"] is True and v["current"] is True, v
assert re.match(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$", v["time"]), v
PY
touch -d "2026-11-25 00:00" "$dump/$full"
run list_changed list "$dump"
check "list: a full changed since its check says so" has list_changed "changed .*$full"
run after_touch verify "$dump"
check "touched full: checked again" test "$(status after_touch "$full")" = ok

# --- 7. hostile records are never trusted ---
hostile() {  # hostile WHAT: the full's record is replaced by something made by the caller first
  run "hostile-$1" verify "$dump"
  check "hostile record ($1): the full is checked, not skipped" test "$(status "hostile-$1" "$full")" = ok
}
good_record=$(cat "$(record_of "$full")")
rm -f "$(record_of "$full")"
echo "$good_record" >"$WORK/elsewhere"
ln -s "$WORK/elsewhere" "$(record_of "$full")"
hostile symlink
check "hostile record (symlink): the link is replaced, its target untouched" \
  bash -c '[[ ! -L "$1" && "$(cat "$2")" == "$3" ]]' _ "$(record_of "$full")" "$WORK/elsewhere" "$good_record"
rm -f "$(record_of "$full")"; { echo "$good_record"; head -c 1000000 /dev/zero | tr '\0' '#'; } >"$(record_of "$full")"
hostile huge
rm -f "$(record_of "$full")"; head -c 3000 /dev/urandom >"$(record_of "$full")"
hostile garbage
rm -f "$(record_of "$full")"; sed "s/^file: .*/file: $diff1/" <<<"$good_record" >"$(record_of "$full")"
hostile "another file's"
rm -f "$(record_of "$full")"; mkfifo "$(record_of "$full")"
rc=0; timeout 30 "$PVEDIFF" --config "$WORK/pvediff.conf" verify "$dump" >"$WORK/hostile-fifo.out" 2>&1 || rc=$?
check "hostile record (FIFO): verify does not hang, the full is checked" test "$(status hostile-fifo "$full")" = ok
rm -f "$(record_of "$full")"

# --- 8. prune removes a record with its backup; --remove-orphans an orphaned one ---
p=$WORK/p
mkdir -p "$p"
old106=vzdump-lxc-106-2026_11_20-01_00_00.tar.zst
new106=vzdump-lxc-106-2026_11_21-01_00_00.tar.zst
zstd -q -c "$WORK/ct-0.tar" >"$p/$old106"
zstd -q -c "$WORK/ct-1.tar" >"$p/$new106"
pv -q verify "$p"
check "prune setup: both fulls have records" test -f "$p/$old106.pvediff-verified" -a -f "$p/$new106.pvediff-verified"
orphan=vzdump-lxc-106-2026_11_01-01_00_00.tar.zst.pvediff-verified
cp "$p/$old106.pvediff-verified" "$p/$orphan"
pv -q prune --keep-last 1 "$p"
check "prune: the pruned full's record is gone with it" test ! -e "$p/$old106" -a ! -e "$p/$old106.pvediff-verified"
check "prune: the kept full keeps its record" test -f "$p/$new106" -a -f "$p/$new106.pvediff-verified"
check "prune without --remove-orphans: the orphaned record stays" test -e "$p/$orphan"
pv -q prune --keep-last 1 --remove-orphans "$p"
check "prune --remove-orphans: the orphaned record is gone" test ! -e "$p/$orphan"
check "prune --remove-orphans: the kept full's record stays" test -f "$p/$new106.pvediff-verified"
