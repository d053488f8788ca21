#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-or-later
# `pvediff restore` (and list/verify) on differentials made the way the older pve-patches
# add-on made them: stock `xdelta3 -e -s FULL NEW` of the decompressed archives, piped
# through lzop, zstd, gzip or left plain, under the add-on's names
# `<full>--differential-YYYY_MM_DD-HH_MM_SS.vcdiff[.lzo|.zst|.gz]`, no manifest; a VM
# (vma.zst full) and a container (tar.lzo full). Each is restored with -o FILE, -o - into
# a pipe and --pve-name DIR, and compared (SHA-256 of content) with the archive it
# replaced. Then pvediff's own differentials (with manifests) must refuse a full that was
# replaced by another file of the same name: exit non-zero, a message, no output left.
source "$PVEDIFF_TEST_LIB/common.sh"

if command -v xdelta3 >/dev/null; then
  addon_delta() { xdelta3 -e -s "$1" "$2"; }  # full new -> VCDIFF on stdout, as the add-on ran it
else
  # No stock xdelta3 on this machine: pvediff's embedded xdelta3 engine writes the same
  # kind of stream (plain xdelta3 window by window, no manifest written by `diff`).
  echo "note: no xdelta3 binary, add-on deltas made with pvediff diff --engine xdelta3" >&2
  addon_delta() { "$PVEDIFF" -q diff --engine xdelta3 --base "$1" --new "$2" --compress none -o -; }
fi

dump=$WORK/dump
mkdir -p "$dump" "$WORK/pve"
echo "# empty: built-in defaults" >"$WORK/pvediff.conf"
pvediff() { "$PVEDIFF" --config "$WORK/pvediff.conf" "$@"; }

# A VM disk with real file contents; each day rewrites a few pages and reorders clusters.
source "$PVEDIFF_TEST_LIB/vm_days.sh"
vm_disk_init
# A container tree; each day appends to a log and replaces a file.
tree=$WORK/tree
mkdir -p "$tree/etc" "$tree/var/log" "$tree/usr"
cp -r /usr/share/doc/bash "$tree/usr/" 2>/dev/null || true
head -c 1M /usr/bin/bash >"$tree/usr/bash.bin"
make_tar() {  # day -> $WORK/ct-<day>.tar
  echo "day $1" >>"$tree/var/log/syslog"
  head -c $((9000 + $1 * 100)) /dev/urandom >"$tree/etc/changed-$(($1 % 2))"
  tar -C "$tree" --sort=name --mtime=@1795000000 -cf "$WORK/ct-$1.tar" .
}

vm_full=vzdump-qemu-101-2026_11_20-01_00_00.vma.zst
ct_full=vzdump-lxc-201-2026_11_20-01_00_00.tar.lzo
make_vma 0
zstd -q -c "$WORK/vm-0.vma" >"$dump/$vm_full"
make_tar 0
lzop -c "$WORK/ct-0.tar" >"$dump/$ct_full"

# Differentials as the add-on wrote them, each day another codec. want[file] = SHA-256 of
# the archive it replaced; stamp_of[file] = its time.
declare -A want=() stamp_of=()
codecs=(lzo zst gz none)
for n in 1 2 3 4; do
  c=${codecs[$((n - 1))]}
  stamp=2026_11_2$n-01_00_00
  make_vma "$n"
  d=$vm_full--differential-$stamp.vcdiff$(ext_of "$c")
  addon_delta "$WORK/vm-0.vma" "$WORK/vm-$n.vma" | compress_with "$c" >"$dump/$d"
  want[$d]=$(sha_of "$WORK/vm-$n.vma"); stamp_of[$d]=$stamp
  make_tar "$n"
  d=$ct_full--differential-$stamp.vcdiff$(ext_of "$c")
  addon_delta "$WORK/ct-0.tar" "$WORK/ct-$n.tar" | compress_with "$c" >"$dump/$d"
  want[$d]=$(sha_of "$WORK/ct-$n.tar"); stamp_of[$d]=$stamp
done
check "the add-on deltas are real VCDIFF (magic d6 c3 c4)" \
  test "$(head -c3 "$dump/$vm_full--differential-2026_11_24-01_00_00.vcdiff" | od -An -tx1 | tr -d ' ')" = d6c3c4
dump_sums=$(cd "$dump" && sha256sum -- * | sort)

for d in "${!want[@]}"; do
  case $d in
    *qemu*) ext=.vma.zst; fmt=.vma; type=qemu; id=101 ;;
    *) ext=.tar.lzo; fmt=.tar; type=lxc; id=201 ;;
  esac
  # -o FILE: compressed like the full it was made against.
  out=$WORK/out/$d.restored$ext
  mkdir -p "$WORK/out"
  if pvediff -q restore "$dump/$d" -o "$out" 2>"$WORK/err"; then
    check "-o FILE: $d restores byte for byte" test "$(content_sha "$out")" = "${want[$d]}"
    check "-o FILE: $d written in the full's codec" test "$(file -b "$out" | cut -d' ' -f1)" = \
      "$(file -b "$dump/${d%%--differential-*}" | cut -d' ' -f1)"
  else
    fail "restore $d -o FILE: $(cat "$WORK/err")"
  fi
  # -o -: the raw archive into a pipe (| qmrestore - ID, | pct restore ID -).
  got=$(pvediff -q restore "$dump/$d" -o - | sha256sum | cut -d' ' -f1)
  check "-o -: $d streams the raw archive" test "$got" = "${want[$d]}"
  # --pve-name DIR: the standard name at the differential's time; no manifest, so the
  # codec the backup was made with is the differential's own (its extension).
  pvediff -q restore "$dump/$d" --pve-name "$WORK/pve" 2>"$WORK/err" || fail "restore --pve-name $d: $(cat "$WORK/err")"
  pve=$WORK/pve/vzdump-$type-$id-${stamp_of[$d]}$fmt${d##*.vcdiff}
  if [[ -f "$pve" ]]; then
    check "--pve-name: $(basename "$pve") restores byte for byte" test "$(content_sha "$pve")" = "${want[$d]}"
  else
    fail "--pve-name: $(basename "$pve") not written (have: $(ls "$WORK/pve"))"
  fi
done
check "--pve-name wrote exactly one archive per differential" \
  test "$(ls "$WORK/pve" | grep -vc '\.pvediff-restored$')" -eq 8
check "--pve-name marked each as a restored copy" test "$(ls "$WORK/pve" | grep -c '\.pvediff-restored$')" -eq 8
# --compress overrides the codec; an existing output is never overwritten.
d=$vm_full--differential-2026_11_22-01_00_00.vcdiff.zst
pvediff -q restore "$dump/$d" -o "$WORK/out/gz.vma.gz" --compress gzip
check "--compress gzip writes gzip that gzip -d reads" \
  test "$(gzip -dc "$WORK/out/gz.vma.gz" | sha256sum | cut -d' ' -f1)" = "${want[$d]}"
before=$(sha_of "$WORK/out/gz.vma.gz")
if pvediff -q restore "$dump/$d" -o "$WORK/out/gz.vma.gz" 2>"$WORK/err"; then
  fail "restore overwrote an existing file"
else
  check "an existing output is refused, named and left alone" \
    bash -c "grep -q 'gz.vma.gz' '$WORK/err' && test \"\$(sha256sum <'$WORK/out/gz.vma.gz' | cut -d' ' -f1)\" = $before"
fi
# Restoring a full just decompresses it.
check "restore of the full -o - gives its content" \
  test "$(pvediff -q restore "$dump/$vm_full" -o - | sha256sum | cut -d' ' -f1)" = "$(sha_of "$WORK/vm-0.vma")"
# The reader going away (qmrestore failing) ends restore at once with a failure.
d=$vm_full--differential-2026_11_21-01_00_00.vcdiff.lzo
set +o pipefail
pvediff -q restore "$dump/$d" -o - 2>/dev/null | head -c 1000 >/dev/null
rc=${PIPESTATUS[0]}
set -o pipefail
check "reader closing early: restore exits non-zero (got $rc)" test "$rc" -ne 0
check "restore left the dump dir untouched (no manifests, no temporaries)" \
  test "$(cd "$dump" && sha256sum -- * | sort)" = "$dump_sums"

# list and verify know the add-on's files: no manifest, window checksums and structure.
pvediff list "$dump" --json >"$WORK/list.json"
check "list --json: 10 files, 8 differentials without manifest, none orphaned" python3 - "$WORK/list.json" <<'PY'
import json, sys
rows = json.load(open(sys.argv[1]))["dumpdirs"][0]["backups"]
diffs = [r for r in rows if r["kind"] == "differential"]
sys.exit(not (len(rows) == 10 and len(diffs) == 8 and not any(r["manifest"] for r in rows)
              and all(0 < r["ratio"] < 1 for r in diffs)))
PY
if pvediff verify "$dump" >"$WORK/verify.out" 2>&1; then
  ok "verify passes on the add-on's chains"
else
  fail "verify on the add-on's chains: $(cat "$WORK/verify.out")"
fi
check "verify: 10 checked, 0 failed" grep -q "^10 checked, 0 failed" "$WORK/verify.out"

# --- pvediff's own differential, its full replaced by another file of the same name ---
own=$WORK/own
mkdir -p "$own" "$WORK/imposter"
zstd -q -c "$WORK/vm-0.vma" >"$own/vzdump-qemu-101-2026_11_20-01_00_00.vma.zst"
zstd -q -c "$WORK/vm-2.vma" >"$own/vzdump-qemu-101-2026_11_21-01_00_00.vma.zst"
pvediff -q backup --fullbackup 7 "$own/vzdump-qemu-101-2026_11_20-01_00_00.vma.zst"
pvediff -q backup --fullbackup 7 "$own/vzdump-qemu-101-2026_11_21-01_00_00.vma.zst"
own_full=$own/vzdump-qemu-101-2026_11_20-01_00_00.vma.zst
own_diff=$own_full--differential-2026_11_21-01_00_00.vcdiff.zst
if [[ -f "$own_diff" && -f "$own_diff.pvediff-manifest" && -f "$own_full.pvediff-manifest" ]]; then
  ok "pvediff backup made a differential with manifests"
else
  fail "pvediff backup did not make a differential with manifests: $(ls "$own")"
fi
check "it restores with the right full, content verified" \
  test "$(pvediff -q restore "$own_diff" -o - | sha256sum | cut -d' ' -f1)" = "$(sha_of "$WORK/vm-2.vma")"
# The imposter: another VM's backup of the same name, with its own pvediff manifest.
make_vma 5
zstd -q -c "$WORK/vm-5.vma" >"$WORK/imposter/vzdump-qemu-101-2026_11_20-01_00_00.vma.zst"
pvediff -q backup --fullbackup 7 "$WORK/imposter/vzdump-qemu-101-2026_11_20-01_00_00.vma.zst"
cp "$own_full" "$WORK/real-full"; cp "$own_full.pvediff-manifest" "$WORK/real-manifest"
refused() {  # what -> restore must fail with a message naming the full, and leave nothing
  local what=$1
  rm -rf "$WORK/refused"; mkdir -p "$WORK/refused/pve"
  if pvediff restore "$own_diff" -o "$WORK/refused/out.vma.zst" 2>"$WORK/err"; then
    fail "$what: restore -o FILE accepted the wrong full"
  else
    check "$what: -o FILE refused, message names the full" grep -q "2026_11_20-01_00_00.vma.zst'" "$WORK/err"
  fi
  if pvediff restore "$own_diff" --pve-name "$WORK/refused/pve" 2>>"$WORK/err"; then
    fail "$what: restore --pve-name accepted the wrong full"
  fi
  check "$what: no output file or temporary left" test -z "$(find "$WORK/refused" -type f)"
  pvediff restore "$own_diff" -o - 2>"$WORK/err" >/dev/null && rc=0 || rc=$?
  check "$what: -o - exits non-zero (got $rc) with a message" \
    bash -c "test $rc -ne 0 && grep -qi 'sha-256\|not the full' '$WORK/err'"
  check "$what: the dump dir holds no temporary" test -z "$(cd "$own" && ls -A | grep -i tmp)"
}
# a) the full and its manifest replaced: refused before a byte is written.
cp "$WORK/imposter/vzdump-qemu-101-2026_11_20-01_00_00.vma.zst" "$own_full"
cp "$WORK/imposter/vzdump-qemu-101-2026_11_20-01_00_00.vma.zst.pvediff-manifest" "$own_full.pvediff-manifest"
refused "full and manifest replaced"
check "full and manifest replaced: refused up front ('is not the full')" grep -q "is not the full" "$WORK/err"
# b) only the full replaced (its manifest still the old one's).
cp "$WORK/real-manifest" "$own_full.pvediff-manifest"
refused "full replaced, old manifest"
# c) the full replaced and no manifest beside it.
rm "$own_full.pvediff-manifest"
refused "full replaced, no manifest"
# And the real full back: restores again.
cp "$WORK/real-full" "$own_full"; cp "$WORK/real-manifest" "$own_full.pvediff-manifest"
check "with the real full back it restores" \
  test "$(pvediff -q restore "$own_diff" -o - | sha256sum | cut -d' ' -f1)" = "$(sha_of "$WORK/vm-2.vma")"
