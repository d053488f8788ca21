#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-or-later
# `pvediff verify` catches damage: a flipped bit in a (compressed) differential, in a
# compressed full, inside a VMA extent header of an uncompressed full without manifest
# (only the structure check can see that), a VMA cut at an extent boundary (only the
# coverage check can see that: Proxmox's `vma verify` passes it) and a truncated .tar.gz.
# Each time: exit status 1, the bad file on a FAILED line, every good file still "ok",
# and --json parses and says the same. Then the real truncated VMA fixture
# (dissect-test.vma.gz): header facts as the format doc reads them, structure fine,
# clusters missing, exit 1.
source "$PVEDIFF_TEST_LIB/common.sh"

echo "# empty: built-in defaults" >"$WORK/pvediff.conf"
pvediff() { "$PVEDIFF" --config "$WORK/pvediff.conf" "$@"; }

# Offsets of the extent headers of a .vma, walked through header_size and block counts.
extent_offsets() {
  python3 - "$1" <<'PY'
import struct, sys
d = open(sys.argv[1], "rb").read()
off = struct.unpack(">I", d[56:60])[0]
while off < len(d):
    assert d[off:off + 4] == b"VMAE", off
    print(off)
    off += 512 + struct.unpack(">H", d[off + 6:off + 8])[0] * 4096
PY
}

# --- a clean dump dir: three guests ---
clean=$WORK/clean
mkdir -p "$clean"
img=$WORK/disk.img
truncate -s 12M "$img"
(set +o pipefail; find /usr/share/doc -type f -size -64k 2>/dev/null | head -200 | xargs cat 2>/dev/null |
  head -c 8M | dd of="$img" conv=notrunc status=none)
pvediff dev-make-vma --image "$img" --order-seed 1 --ctime 1795000000 -o "$WORK/vm-0.vma"
head -c 8192 /dev/urandom | dd of="$img" bs=4096 seek=300 conv=notrunc status=none
pvediff dev-make-vma --image "$img" --order-seed 2 --ctime 1795086400 -o "$WORK/vm-1.vma"
# qemu 101: a zstd full and a pvediff differential, both with manifests.
f101=vzdump-qemu-101-2026_11_20-01_00_00.vma.zst
zstd -q -c "$WORK/vm-0.vma" >"$clean/$f101"
zstd -q -c "$WORK/vm-1.vma" >"$clean/vzdump-qemu-101-2026_11_21-01_00_00.vma.zst"
pvediff -q backup --fullbackup 7 "$clean/$f101"
pvediff -q backup --fullbackup 7 "$clean/vzdump-qemu-101-2026_11_21-01_00_00.vma.zst"
d101=$f101--differential-2026_11_21-01_00_00.vcdiff.zst
# qemu 102: an uncompressed .vma dropped in by hand (no manifest).
f102=vzdump-qemu-102-2026_11_20-02_00_00.vma
cp "$WORK/vm-0.vma" "$clean/$f102"
# lxc 201: a gzip full and a differential with manifests.
tree=$WORK/tree
mkdir -p "$tree/etc"
cp -r /usr/share/doc/bash "$tree/" 2>/dev/null || true
head -c 300K /usr/bin/bash >"$tree/bash.bin"
f201=vzdump-lxc-201-2026_11_20-03_00_00.tar.gz
tar -C "$tree" --sort=name --mtime=@1795000000 -cf - . | gzip -c >"$clean/$f201"
echo changed >"$tree/etc/hostname"
tar -C "$tree" --sort=name --mtime=@1795000000 -cf - . | gzip -c >"$clean/vzdump-lxc-201-2026_11_21-03_00_00.tar.gz"
pvediff -q backup --fullbackup 7 "$clean/$f201"
pvediff -q backup --fullbackup 7 "$clean/vzdump-lxc-201-2026_11_21-03_00_00.tar.gz"
d201=$f201--differential-2026_11_21-03_00_00.vcdiff.gz
all=("$f101" "$d101" "$f102" "$f201" "$d201")
for f in "${all[@]}"; do [[ -f "$clean/$f" ]] || fail "setup: $f was not made"; done
check "setup: the VMA has at least 4 extents" test "$(extent_offsets "$clean/$f102" | wc -l)" -ge 4
check "setup: manifests for 101 and 201, none for 102" test -f "$clean/$d101.pvediff-manifest" \
  -a -f "$clean/$d201.pvediff-manifest" -a ! -e "$clean/$f102.pvediff-manifest"

pvediff verify "$clean" >"$WORK/clean.out" 2>&1 && rc=0 || rc=$?
check "clean dir: exit 0 (got $rc)" test "$rc" -eq 0
check "clean dir: 5 checked, 0 failed" grep -q "^5 checked, 0 failed" "$WORK/clean.out"

# Runs verify on a copy of the clean dir damaged by "$@" and checks the verdicts.
# case_dir is set before the damage command runs; bad=(...) names the files that must fail.
run_case() {  # name
  local name=$1 f out=$WORK/$1.out json=$WORK/$1.json rc
  pvediff verify --all "$case_dir" >"$out" 2>&1 && rc=0 || rc=$?
  check "$name: exit status 1 (got $rc)" test "$rc" -eq 1
  for f in "${all[@]}"; do
    if [[ " ${bad[*]} " == *" $f "* ]]; then
      check "$name: $f reported FAILED" grep -qE "^FAILED .* $f\$" "$out"
    else
      check "$name: $f still ok" grep -qE "^ok .* $f\$" "$out"
    fi
  done
  pvediff verify --all --json "$case_dir" >"$json" 2>"$WORK/json.err" && rc=0 || rc=$?
  check "$name: --json exit 1, parses, marks exactly the bad files" python3 - "$json" "$rc" "${bad[@]}" <<'PY'
import json, sys
doc = json.load(open(sys.argv[1]))
bad = set(sys.argv[3:])
failed = {f["file"] for f in doc["files"] if not f["ok"]}
ok = sys.argv[2] == "1" and doc["ok"] is False and failed == bad and len(doc["files"]) == 5
ok = ok and all(f["problems"] for f in doc["files"] if not f["ok"])
if not ok:
    print("json verdict:", sorted(failed), "wanted", sorted(bad), file=sys.stderr)
sys.exit(not ok)
PY
}
new_case() { case_dir=$WORK/case-$1; rm -rf "$case_dir"; cp -a "$clean" "$case_dir"; }

# 1. A flipped bit in the middle of the compressed differential.
new_case diffbit
flip "$case_dir/$d101" $(($(stat -c %s "$case_dir/$d101") / 2))
bad=("$d101"); run_case "bit flipped in differential"

# 2. A flipped bit in the compressed full: it fails, and so does its differential (its
#    full is damaged); the other chains stay ok.
new_case fullbit
flip "$case_dir/$f101" $(($(stat -c %s "$case_dir/$f101") / 2))
bad=("$f101" "$d101"); run_case "bit flipped in full"

# 3. A flipped bit inside the third extent header's blockinfo of the uncompressed full
#    (no manifest: the extent MD5 is what catches it).
new_case extent
ext=$(extent_offsets "$case_dir/$f102" | sed -n 3p)
flip "$case_dir/$f102" $((ext + 40 + 3))
bad=("$f102"); run_case "bit flipped in a VMA extent header"
check "extent header: problem names the extent's offset $ext and its MD5" \
  grep -q "offset $ext: extent header md5 mismatch" "$WORK/bit flipped in a VMA extent header.out"
# And a flip in the second extent's uuid: the MD5 covers it, so that is what fails (the
# verifier trusts nothing else of an extent header whose MD5 is wrong, and stops there).
new_case extent-uuid
ext=$(extent_offsets "$case_dir/$f102" | sed -n 2p)
flip "$case_dir/$f102" $((ext + 8))
bad=("$f102"); run_case "bit flipped in an extent uuid"
check "extent uuid: problem names the extent's offset $ext and its MD5" \
  grep -q "offset $ext: extent header md5 mismatch" "$WORK/bit flipped in an extent uuid.out"

# 4. The uncompressed VMA cut at an extent boundary (the last two extents gone): every
#    structure check passes, coverage does not.
new_case vmacut
cut_at=$(extent_offsets "$case_dir/$f102" | tail -2 | head -1)
truncate -s "$cut_at" "$case_dir/$f102"
bad=("$f102"); run_case "VMA truncated at an extent boundary"
check "VMA cut: clusters reported missing" grep -qi "clusters missing" "$WORK/VMA truncated at an extent boundary.out"
check "VMA cut: no structural complaint" bash -c "! grep -qi 'md5\|magic\|duplicate\|truncated extent' \
  '$WORK/VMA truncated at an extent boundary.out'"

# 5. The container full (.tar.gz) cut in the middle: it fails, and its differential too.
new_case tarcut
truncate -s $(($(stat -c %s "$case_dir/$f201") / 2)) "$case_dir/$f201"
bad=("$f201" "$d201"); run_case "tar.gz truncated"
check "tar.gz cut: the message names the full" grep -q "problem: .*$f201" "$WORK/tar.gz truncated.out"

# 6. The full replaced by another VM's archive of the same name, with that one's own
#    manifest: the full is fine in itself, the differential cannot be restored from it.
new_case imposter
mkdir -p "$WORK/imposter"
pvediff dev-make-vma --image "$WORK/disk.img" --order-seed 9 --ctime 1795000000 -o "$WORK/other.vma"
zstd -q -c "$WORK/other.vma" >"$WORK/imposter/$f101"
pvediff -q backup --fullbackup 7 "$WORK/imposter/$f101"
cp "$WORK/imposter/$f101" "$WORK/imposter/$f101.pvediff-manifest" "$case_dir/"
bad=("$d101"); run_case "full replaced by another of the same name"
check "imposter full: the differential's problem says so" \
  grep -q "problem: '$f101' is not the full it was made against" "$WORK/full replaced by another of the same name.out"

# 7. A single file given on the command line; verify leaves nothing behind.
pvediff verify "$WORK/case-diffbit/$d101" >"$WORK/single.out" 2>&1 && rc=0 || rc=$?
check "single damaged differential: exit 1 (got $rc)" test "$rc" -eq 1
check "verify left no temporary file in the dump dirs" test -z "$(find "$WORK"/case-* -name '*pvediff-tmp*')"
check "verify changed nothing in the dump dirs" test "$(cd "$WORK/case-vmacut" && ls -A | wc -l)" -eq \
  "$(cd "$clean" && ls -A | wc -l)"

# --- the real truncated VMA (fox-it/dissect.hypervisor's test.vma.gz) ---
# Facts read with docs/vma-format.md (python, header at offset 0, extents from 12800):
# uuid 04fc12eb-0fed-4322-9aaa-f4e412f68096, ctime 1635680622 = 2021-10-31 11:43:42 UTC,
# one device drive-scsi0 of 10737418240 bytes = 163840 clusters; two extents of 58
# clusters each (0..89 and 90..135 with gaps: 116 distinct), so 163724 missing.
# The sample is part of the repository (docs/vma-format.md): its absence is a failure.
fixture="$PVEDIFF_SOURCE_DIR/tests/data/dissect-test.vma.gz"
check "fixture: $fixture exists" test -f "$fixture"
if [[ -f "$fixture" ]]; then
  pvediff verify "$fixture" >"$WORK/fixture.out" 2>&1 && rc=0 || rc=$?
  check "fixture: exit 1 (got $rc)" test "$rc" -eq 1
  for fact in "uuid 04fc12eb-0fed-4322-9aaa-f4e412f68096" "2021-10-31 11:43:42 UTC" \
    "drive-scsi0 10737418240 bytes" "116/163840 clusters" "163724 MISSING" "2 extents" "structure ok"; do
    check "fixture: reports '$fact'" grep -qF "$fact" "$WORK/fixture.out"
  done
  check "fixture: the only problem is the missing clusters" \
    test "$(grep -c 'problem:' "$WORK/fixture.out")" -eq 1 -a "$(grep 'problem:' "$WORK/fixture.out" | grep -c 'clusters missing')" -eq 1
  pvediff verify --json "$fixture" >"$WORK/fixture.json" || true
  check "fixture: --json marks it failed" python3 -c '
import json, sys
d = json.load(open(sys.argv[1])); f = d["files"][0]
sys.exit(not (d["ok"] is False and f["ok"] is False and "163724 MISSING" in f["structure"]
              and f["content_size"] == 538112))' "$WORK/fixture.json"
fi
