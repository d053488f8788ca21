#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-or-later
# A differential whose manifest records the VMA item digest (content-vma-items-sha256,
# docs/formats.md "Content digests") instead of the content's SHA-256: restore (to a
# file and to standard output), verify and list honour it, and a wrong item digest
# makes restore and verify fail naming the file. The manifest is rewritten here from
# the one `pvediff backup` wrote, with the digest `pvediff dev-vma-digest` gives.
source "$PVEDIFF_TEST_LIB/common.sh"

dump=$WORK/dump
mkdir -p "$dump" "$WORK/out"
echo "# empty: built-in defaults" >"$WORK/pvediff.conf"
pvediff() { "$PVEDIFF" --config "$WORK/pvediff.conf" "$@"; }

source "$PVEDIFF_TEST_LIB/vm_days.sh"
vm_disk_init
make_vma 0
make_vma 1
full=$dump/vzdump-qemu-101-2026_11_20-01_00_00.vma.zst
zstd -q -c "$WORK/vm-0.vma" >"$full"
zstd -q -c "$WORK/vm-1.vma" >"$dump/vzdump-qemu-101-2026_11_21-01_00_00.vma.zst"
pvediff -q backup --fullbackup 7 "$full"
pvediff -q backup --fullbackup 7 "$dump/vzdump-qemu-101-2026_11_21-01_00_00.vma.zst"
diff_file=$full--differential-2026_11_21-01_00_00.vcdiff.zst
manifest=$diff_file.pvediff-manifest
check "backup wrote a differential with a manifest" test -f "$manifest"
want=$(sha_of "$WORK/vm-1.vma")

# The item digest of the archive the differential stands for, from a compressed and a
# raw copy (the same content: the same digest), and differing from its SHA-256.
zstd -q -c "$WORK/vm-1.vma" >"$WORK/vm-1.vma.zst"
items=$(pvediff dev-vma-digest "$WORK/vm-1.vma.zst" | cut -d' ' -f1)
check "dev-vma-digest gives 64 hex digits" grep -Eq '^[0-9a-f]{64}$' <<<"$items"
check "the same from the raw archive" \
  test "$(pvediff dev-vma-digest "$WORK/vm-1.vma" | cut -d' ' -f1)" = "$items"
check "and from standard input" \
  test "$(pvediff dev-vma-digest - <"$WORK/vm-1.vma" | cut -d' ' -f1)" = "$items"
check "and not the content's SHA-256" test "$items" != "$want"
head -c 100000 "$WORK/vm-1.vma" >"$WORK/cut.vma"
pvediff dev-vma-digest "$WORK/cut.vma" >/dev/null 2>"$WORK/err" && rc=0 || rc=$?
check "dev-vma-digest refuses a truncated VMA (got $rc)" test "$rc" -ne 0
check "naming it and the offset" grep -q "cut.vma': offset 100000: truncated extent" "$WORK/err"

# What an older manifest has, exchanged for the item digest.
check "the manifest records the SHA-256 now" grep -q "^content-sha256: $want\$" "$manifest"
cp "$manifest" "$WORK/manifest.sha256"
sed -i "s/^content-sha256: .*/content-vma-items-sha256: $items/" "$manifest"
check "the rewritten manifest has only the item digest" \
  bash -c "grep -q '^content-vma-items-sha256: $items\$' '$manifest' && ! grep -q '^content-sha256:' '$manifest'"

got=$(pvediff restore "$diff_file" -o - 2>"$WORK/err" | sha256sum | cut -d' ' -f1)
check "restore -o - gives the archive" test "$got" = "$want"
check "and says the content was verified" grep -q "content verified" "$WORK/err"
pvediff -q restore "$diff_file" -o "$WORK/out/restored.vma"
check "restore -o FILE gives the archive" test "$(sha_of "$WORK/out/restored.vma")" = "$want"
rm -f "$WORK/out/restored.vma"
pvediff -q verify "$diff_file" >"$WORK/verify" 2>&1 && rc=0 || rc=$?
check "verify passes (got $rc)" test "$rc" -eq 0
pvediff verify --json "$diff_file" >"$WORK/verify.json" 2>/dev/null && rc=0 || rc=$?
check "verify --json passes (got $rc)" test "$rc" -eq 0
check "and names the digest's kind" \
  python3 -c "import json,sys; f=json.load(open(sys.argv[1]))['files'][0]; sys.exit(not (f['content']=='ok' and f['content_digest']=='vma-items'))" "$WORK/verify.json"
# Verify records made by it; restore is unchanged by them.
pvediff -q verify "$dump" >/dev/null
got=$(pvediff restore "$diff_file" -o - 2>"$WORK/err" | sha256sum | cut -d' ' -f1)
check "restore after verify gives the archive" test "$got" = "$want"
check "its content checked" grep -q "content verified" "$WORK/err"
pvediff list --json "$dump" >"$WORK/list.json" && rc=0 || rc=$?
check "list --json passes (got $rc)" test "$rc" -eq 0
check "and shows each manifest's digest kind" python3 - "$WORK/list.json" <<'PY'
import json, sys
rows = {b["file"]: b for d in json.load(open(sys.argv[1]))["dumpdirs"] for b in d["backups"]}
kinds = {f: r["content_digest"] for f, r in rows.items()}
diff = [f for f in kinds if "--differential-" in f][0]
full = [f for f in kinds if f.endswith(".vma.zst")][0]
sys.exit(not (kinds[diff] == "vma-items" and kinds[full] == "sha256"))
PY

# A wrong item digest: restore (both routes) and verify fail, naming the file.
bad=$(printf '%s' "$items" | tr '0-9a-f' '1-9a-f0')
sed -i "s/^content-vma-items-sha256: .*/content-vma-items-sha256: $bad/" "$manifest"
pvediff restore "$diff_file" -o - >/dev/null 2>"$WORK/err" && rc=0 || rc=$?
check "restore -o - with a wrong item digest fails (got $rc)" test "$rc" -ne 0
check "naming the differential and the digest" \
  grep -q "$(basename "$diff_file")': content digest (VMA items) $items .* differs from the manifest's $bad" "$WORK/err"
pvediff restore "$diff_file" -o "$WORK/out/restored.vma" 2>"$WORK/err" && rc=0 || rc=$?
check "restore -o FILE with a wrong item digest fails (got $rc)" test "$rc" -ne 0
check "naming the differential" grep -q "$(basename "$diff_file")': content digest (VMA items)" "$WORK/err"
check "and leaves no output file" test -z "$(ls -A "$WORK/out")"
rm -f "$diff_file.pvediff-verified" "$full.pvediff-verified"
pvediff -q restore "$diff_file" -o - >/dev/null 2>"$WORK/err" && rc=0 || rc=$?
check "without a verify record it fails too (got $rc)" test "$rc" -ne 0
pvediff verify "$diff_file" >"$WORK/verify" 2>&1 && rc=0 || rc=$?
check "verify with a wrong item digest fails (got $rc)" test "$rc" -ne 0
check "naming the file and the digest" \
  bash -c "grep -q '$(basename "$diff_file")' '$WORK/verify' && grep -q 'content digest (VMA items) $items' '$WORK/verify'"

# The content's SHA-256 under the item digest's key is a mismatch, not a pass: the kinds
# are not interchangeable.
sed -i "s/^content-vma-items-sha256: .*/content-vma-items-sha256: $want/" "$manifest"
pvediff -q restore "$diff_file" -o - >/dev/null 2>&1 && rc=0 || rc=$?
check "the SHA-256 under the item key fails restore (got $rc)" test "$rc" -ne 0

# Both keys, or the item key on a full: the manifest is refused.
cp "$WORK/manifest.sha256" "$manifest"
echo "content-vma-items-sha256: $items" >>"$manifest"
pvediff -q restore "$diff_file" -o - >/dev/null 2>"$WORK/err" && rc=0 || rc=$?
check "a manifest with both digests is refused (got $rc)" test "$rc" -ne 0
check "saying so" grep -q "both given" "$WORK/err"
cp "$WORK/manifest.sha256" "$manifest"
check "the SHA-256 manifest put back restores" \
  test "$(pvediff -q restore "$diff_file" -o - | sha256sum | cut -d' ' -f1)" = "$want"
