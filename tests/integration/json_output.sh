#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-or-later
# One machine interface: list, verify, prune (dry run and real), backup and restore
# with --output-format json / json-pretty (and --json) write one document each that
# follows docs/json-output.md: command and schema_version, guest type and VMID apart,
# each differential's full, sizes in bytes, times in ISO 8601, the dump dir. list's
# totals add up and count what vzdump alone would keep. list --vmid of an unknown
# guest is an error. The dump dir as --dumpdir gives the same documents.
source "$PVEDIFF_TEST_LIB/common.sh"

dump=$WORK/dump
mkdir -p "$dump" "$WORK/out"
echo "# defaults" >"$WORK/pvediff.conf"
pv() { "$PVEDIFF" --config "$WORK/pvediff.conf" "$@"; }

head -c 300000 /dev/urandom >"$WORK/f"  # incompressible: the differential is far below the full
tar_day() { echo "day $1" >>"$WORK/f"; tar -C "$WORK" -cf "$WORK/ct-$1.tar" f; }
full=vzdump-lxc-105-2026_11_20-01_00_00.tar.zst
tar_day 0; zstd -q -c "$WORK/ct-0.tar" >"$dump/$full"
pv -q backup --fullbackup 7 "$dump/$full"
tar_day 1; zstd -q -c "$WORK/ct-1.tar" >"$dump/vzdump-lxc-105-2026_11_21-01_00_00.tar.zst"
pv backup --fullbackup 7 --output-format json "$dump/vzdump-lxc-105-2026_11_21-01_00_00.tar.zst" \
  >"$WORK/backup.json" 2>"$WORK/backup.err"
tar_day 2; zstd -q -c "$WORK/ct-2.tar" >"$dump/vzdump-lxc-105-2026_11_22-01_00_00.tar.zst"
pv -q backup --fullbackup 7 "$dump/vzdump-lxc-105-2026_11_22-01_00_00.tar.zst"
# A re-run of the first: already done.
pv backup --fullbackup 7 --json "$dump/vzdump-lxc-105-2026_11_21-01_00_00.tar.zst" >"$WORK/backup-again.json"
# An orphan differential of another guest.
cp "$dump/$full--differential-2026_11_22-01_00_00.vcdiff.zst" \
  "$dump/vzdump-qemu-101-2026_11_06-01_00_00.vma.zst--differential-2026_11_07-01_00_00.vcdiff.zst"
d1=$dump/$full--differential-2026_11_21-01_00_00.vcdiff.zst

pv list "$dump" --output-format json >"$WORK/list.json"
pv list "$dump" --output-format json-pretty >"$WORK/list-pretty.json"
pv list "$dump" --json --vmid 105 >"$WORK/list-105.json"
pv list --dumpdir "$dump" --output-format json >"$WORK/list-opt.json"
pv verify "$dump" --output-format json >"$WORK/verify.json" || true
pv prune "$dump" --keep-last 1 --dry-run --output-format json >"$WORK/prune-dry.json"
pv prune --dumpdir "$dump" --keep-last 1 --dry-run --output-format json >"$WORK/prune-dry-opt.json"
pv restore "$d1" -o "$WORK/out/r.tar" --output-format json >"$WORK/restore.json"
cp -a "$dump" "$WORK/dump2"
pv prune "$WORK/dump2" --keep-last 1 --json >"$WORK/prune.json"

rc=0
python3 - "$WORK" "$dump" "$full" <<'PY' || rc=$?
import json, re, sys
work, dump, full = sys.argv[1:]
problems = []
def need(cond, what):
    if not cond:
        problems.append(what)
ISO = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$")
def load(name):
    text = open(f"{work}/{name}").read()
    if name.endswith("-pretty.json"):
        need("\n  " in text, f"{name}: json-pretty is indented")
    else:
        need(text.count("\n") == 1, f"{name}: json is one line")
    return json.loads(text)
def header(doc, command, name):
    need(doc.get("command") == command and doc.get("schema_version") == 1, f"{name}: command/schema_version")
def backup_keys(b, name, full_expected=None):
    need(isinstance(b.get("dir"), str) and b["dir"].startswith("/"), f"{name}: dir absolute")
    need(isinstance(b.get("file"), str), f"{name}: file")
    need(b.get("guest_type") in ("qemu", "lxc", "openvz"), f"{name}: guest_type {b.get('guest_type')}")
    need(isinstance(b.get("vmid"), int), f"{name}: vmid is a number")
    need(isinstance(b.get("time"), str) and ISO.match(b["time"]), f"{name}: time ISO 8601 {b.get('time')}")
    need("full" in b, f"{name}: full key")
    if "--differential-" in b["file"]:
        need(b["full"] == b["file"].split("--differential-")[0], f"{name}: differential's full")
    else:
        need(b["full"] is None, f"{name}: a full's full is null")
def totals(t, name):
    need(set(t) == {"backups", "size", "vzdump_size", "saved"}, f"{name}: totals keys {sorted(t)}")
    need(all(isinstance(v, int) for v in t.values()), f"{name}: totals are integers")
    need(t["saved"] == max(0, t["vzdump_size"] - t["size"]), f"{name}: saved")

# list
for name in ("list.json", "list-pretty.json"):
    doc = load(name)
    header(doc, "list", name)
    need(len(doc["dumpdirs"]) == 1 and doc["dumpdirs"][0]["dir"] == dump, f"{name}: the dump dir")
    d = doc["dumpdirs"][0]
    rows = d["backups"]
    need(len(rows) == 4, f"{name}: 4 backups, got {len(rows)}")
    keys = {"guest_type", "vmid", "file", "kind", "full", "time", "size", "ratio", "vzdump_size", "manifest",
            "protected", "note", "verified", "content_digest"}
    for r in rows:
        need(set(r) == keys, f"{name}: row keys {sorted(set(r) ^ keys)}")
        need(r["content_digest"] == ("sha256" if r["manifest"] else None), f"{name}: {r['file']} content_digest")
        backup_keys(dict(r, dir=dump), f"{name} {r['file']}")
        need(isinstance(r["size"], int) and isinstance(r["vzdump_size"], int), f"{name}: sizes in bytes")
    diffs = [r for r in rows if r["kind"] == "differential"]
    fulls = [r for r in rows if r["kind"] == "full"]
    need(len(diffs) == 2 and len(fulls) == 1, f"{name}: 1 full, 2 differentials")
    need(all(r["full"] == full for r in diffs), f"{name}: differentials name their full")
    need(all(r["guest_type"] == "lxc" and r["vmid"] == 105 for r in diffs + fulls), f"{name}: lxc 105 apart")
    orphan = [r for r in rows if r["kind"] == "orphan"]
    need(len(orphan) == 1 and orphan[0]["guest_type"] == "qemu" and orphan[0]["vmid"] == 101 and
         orphan[0]["full"] == "vzdump-qemu-101-2026_11_06-01_00_00.vma.zst", f"{name}: the orphan")
    # vzdump alone: the full's size, and each differential near a full's size (the
    # content grows by a line a day), far above the differential's own.
    f = fulls[0]
    need(f["vzdump_size"] == f["size"], f"{name}: a full counts its own size")
    for r in diffs:
        need(0.9 * f["size"] < r["vzdump_size"] < 1.1 * f["size"] and r["vzdump_size"] > r["size"],
             f"{name}: {r['file']} vzdump_size {r['vzdump_size']} vs full {f['size']}")
    g = {(x["guest_type"], x["vmid"]): x["totals"] for x in d["guests"]}
    need(set(g) == {("lxc", 105), ("qemu", 101)}, f"{name}: guests {sorted(g)}")
    for key, t in g.items():
        totals(t, f"{name} {key}")
        mine = [r for r in rows if (r["guest_type"], r["vmid"]) == key]
        need(t["backups"] == len(mine) and t["size"] == sum(r["size"] for r in mine) and
             t["vzdump_size"] == sum(r["vzdump_size"] for r in mine), f"{name}: {key} totals add up")
    totals(d["totals"], name)
    need(d["totals"]["size"] == sum(r["size"] for r in rows) and
         d["totals"]["vzdump_size"] == sum(r["vzdump_size"] for r in rows), f"{name}: dir totals add up")
doc = load("list-105.json")
need(all(r["vmid"] == 105 for r in doc["dumpdirs"][0]["backups"]), "list --json --vmid 105: only 105")

# verify
doc = load("verify.json")
header(doc, "verify", "verify.json")
need(doc["ok"] is False, "verify: not ok (the orphan)")
need(doc["checked"] == 4 and doc["skipped"] == 0 and doc["failed"] == 1, "verify: checked/skipped/failed counts")
need(len(doc["files"]) == 4, f"verify: 4 files, got {len(doc['files'])}")
for f in doc["files"]:
    backup_keys(f, "verify " + f["file"])
    need(f["dir"] == dump, "verify: the dump dir")
    need(isinstance(f["file_size"], int) and isinstance(f["content_size"], int), "verify: sizes")
    need(isinstance(f["problems"], list) and f["kind"] in ("full", "differential"), "verify: problems, kind")
    need(f["checked"] is True and isinstance(f["reason"], str), "verify: checked (a new dump dir), reason")
    need(f["next_check"] is None and (f["verified"] is None or ISO.match(f["verified"])), "verify: verified, next_check")
    need(f["content_digest"] == ("sha256" if f["content"] in ("ok", "MISMATCH") else None), "verify: content_digest")
need([f["ok"] for f in doc["files"]].count(False) == 1, "verify: exactly the orphan fails")

# prune
for name, dry in (("prune-dry.json", True), ("prune.json", False)):
    doc = load(name)
    header(doc, "prune", name)
    need(doc["dry_run"] is dry, f"{name}: dry_run")
    d = doc["dumpdirs"][0]
    need(d["dir"].startswith("/"), f"{name}: dir")
    for b in d["backups"]:
        need(set(b) == {"guest_type", "vmid", "file", "action", "reason"}, f"{name}: keys")
        need(b["action"] in ("keep", "remove", "orphan", "remove-orphan"), f"{name}: action {b['action']}")
        need(isinstance(b["vmid"], int), f"{name}: vmid a number")
    need(set(d["totals"]) == {"kept", "removed", "orphans"}, f"{name}: totals")
    need(d["totals"]["removed"] == sum(b["action"] == "remove" for b in d["backups"]), f"{name}: removed adds up")
need(load("prune-dry.json")["dumpdirs"][0]["totals"]["removed"] >= 1, "prune --dry-run plans a removal")

# backup
doc = load("backup.json")
header(doc, "backup", "backup.json")
need(doc["result"] == "differential", f"backup: result {doc['result']}")
backup_keys(doc["archive"], "backup archive")
backup_keys(doc["written"], "backup written")
need(doc["written"]["full"] == full, "backup: the differential's full")
need(isinstance(doc["file_size"], int) and doc["content_size"] > doc["file_size"], "backup: sizes")
doc = load("backup-again.json")
need(doc["result"] == "already-done" and doc["written"]["file"].startswith(full), "backup re-run: already-done")

# restore
doc = load("restore.json")
header(doc, "restore", "restore.json")
backup_keys(doc["source"], "restore source")
need(doc["written"] == f"{work}/out/r.tar" and doc["codec"] == "none", f"restore: written {doc['written']} {doc['codec']}")
need(doc["content_verified"] is True and isinstance(doc["content_size"], int), "restore: verified, size")

print("\n".join(problems))
sys.exit(1 if problems else 0)
PY

check "every command's JSON follows docs/json-output.md" test "$rc" -eq 0
check "list --dumpdir DIR writes what list DIR writes" cmp -s "$WORK/list.json" "$WORK/list-opt.json"
check "prune --dumpdir DIR plans what prune DIR plans" cmp -s "$WORK/prune-dry.json" "$WORK/prune-dry-opt.json"
check "backup --output-format json: progress lines on stderr" grep -q "replaced by" "$WORK/backup.err"
check "restore JSON output is day 1" test "$(sha_of "$WORK/out/r.tar")" = "$(sha_of "$WORK/ct-1.tar")"
rc=0; pv list "$dump" --vmid 999 >"$WORK/out.txt" 2>&1 || rc=$?
check "list --vmid of an unknown guest: non-zero, says so (got $rc)" \
  bash -c "test $rc -ne 0 && grep -q 'no backup of guest 999' '$WORK/out.txt'"
rc=0; pv restore "$d1" -o - --json >/dev/null 2>&1 || rc=$?
check "restore -o - --json is refused as usage (2)" test "$rc" -eq 2
pv list "$dump" >"$WORK/list.txt"
check "list text: totals per guest and for the dir" \
  bash -c "grep -q '^total lxc 105: 3 backups, .* kept where vzdump alone would keep' '$WORK/list.txt' && grep -q '^total $dump: 4 backups' '$WORK/list.txt'"
