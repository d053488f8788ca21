#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-or-later
# `pvediff backup -` as cron runs it after `vzdump ID --stdout [--compress C]`: raw and
# compressed inputs (zstd, lzo, gzip), days played with --now and a fullbackup from a
# config file. Checks the standard names of fulls and differentials, that every
# differential restores to exactly the stream fed in, that a differential above
# max-diff-ratio ends up as a full, that a cut or corrupt stream fails cleanly (exit
# != 0, a message, nothing under a final name, no temporary file), and that the dump
# dir holds only the expected files.
source "$PVEDIFF_TEST_LIB/common.sh"
export TZ=UTC  # names carry local time: make them predictable

conf=$WORK/pvediff.conf
cat >"$conf" <<CONF
fullbackup: 3
max-diff-ratio: 0.5
CONF
t0=1790000000  # 2026-09-21 ... UTC; each day adds 86400

# The qemu guest: a 6 MiB disk of real file contents; each day rewrites a few pages.
img=$WORK/disk.img
disk_image "$img" 6M 4M 300
make_vma() {  # day -> $WORK/in.raw
  local day=$1
  for i in 1 2 3; do
    head -c 4096 /dev/urandom | dd of="$img" bs=4096 seek=$(((day * 37 + i * 211) % 1500)) conv=notrunc status=none
  done
  "$PVEDIFF" dev-make-vma --image "$img" --order-seed "$day" --ctime "$((t0 + day * 86400))" -o "$WORK/in.raw"
}
# The lxc guest: a small tree as GNU tar, sorted like vzdump's.
tree=$WORK/tree
mkdir -p "$tree/etc" "$tree/var/log" "$tree/usr"
cp -r /usr/share/doc/bash /usr/share/doc/coreutils "$tree/usr/" 2>/dev/null || true
head -c 2M /usr/bin/bash >"$tree/usr/bash.bin"
make_tar() {  # day -> $WORK/in.raw
  local day=$1
  echo "day $day log line" >>"$tree/var/log/syslog"
  head -c $((20000 + day * 100)) /dev/urandom >"$tree/etc/changed-$((day % 3))"
  tar -C "$tree" --sort=name --mtime=@$t0 --owner=0 --group=0 -cf "$WORK/in.raw" .
}

# run_stream DIR TYPE VMID DAY CODEC [extra args]: feeds $WORK/in.raw compressed with
# CODEC (zst, lzo, gz or none) as vzdump --stdout would; output in $WORK/out.
run_stream() {
  local dir=$1 type=$2 vmid=$3 day=$4 codec=$5
  shift 5
  compress_with "$codec" <"$WORK/in.raw" >"$WORK/in.stream"
  "$PVEDIFF" --config "$conf" backup - --vmid "$vmid" --type "$type" --dumpdir "$dir" \
    --now "$((t0 + day * 86400))" "$@" <"$WORK/in.stream" >"$WORK/out" 2>&1
}

# expect_backup DIR KIND NAME SHA: NAME is there, of KIND (full/differential), with a
# manifest, and its content (restored for a differential) is SHA.
expect_backup() {
  local dir=$1 kind=$2 name=$3 want=$4
  if [[ ! -f "$dir/$name" ]]; then
    fail "$kind $name written (files: $(ls "$dir" | tr '\n' ' '))"
    return
  fi
  ok "$kind $name written"
  check "$name has a manifest" test -f "$dir/$name.pvediff-manifest"
  if [[ $kind == full ]]; then
    check "$name holds exactly the stream" test "$(content_sha "$dir/$name")" = "$want"
  else
    "$PVEDIFF" restore "$dir/$name" -o - >"$WORK/restored"
    check "$name restores to exactly the stream" test "$(sha_of "$WORK/restored")" = "$want"
  fi
}

no_temps() {  # DIR: no pvediff temporary file, no .dat/.tmp
  test -z "$(find "$1" -name '*pvediff-tmp*' -o -name '*.dat' -o -name '*.tmp')"
}

# ---- qemu: days 0..5, fullbackup 3, inputs in every codec -------------------------
dir=$WORK/dump-qemu
mkdir -p "$dir"
declare -A expected=()  # file name -> expected (files only; sidecars checked apart)
# day codec kind [--compress C]: full names take the input's codec (zstd if raw), or C.
plan=(
  "0 zst full"
  "1 none differential"
  "2 lzo differential"
  "3 gz full"
  "4 none differential --compress lzo"
)
base=
for step in "${plan[@]}"; do
  read -r day codec kind extra <<<"$step"
  make_vma "$day"
  want=$(sha_of "$WORK/in.raw")
  # shellcheck disable=SC2086
  if ! run_stream "$dir" qemu 101 "$day" "$codec" $extra; then
    fail "qemu day $day ($codec): backup failed: $(cat "$WORK/out")"
    continue
  fi
  stamp=$(stamp_of "$((t0 + day * 86400))")
  if [[ -n $extra ]]; then ext=.${extra#--compress }; ext=${ext/.gzip/.gz}; ext=${ext/.zstd/.zst}
  elif [[ $codec == none ]]; then ext=.zst
  else ext=.$codec; fi
  if [[ $kind == full ]]; then
    base=vzdump-qemu-101-$stamp.vma$ext
    expect_backup "$dir" full "$base" "$want"
    expected[$base]=1
  else
    name=$base--differential-$stamp.vcdiff$ext
    expect_backup "$dir" differential "$name" "$want"
    expected[$name]=1
  fi
  check "qemu day $day: no temporary files" no_temps "$dir"
done
grep -q 'content verified' "$WORK/out" && ok "a differential says it was verified" ||
  fail "no 'content verified' in: $(cat "$WORK/out")"

# Day 5 (a differential is due): the whole disk rewritten with random bytes: the
# differential would be about as large as the full, above max-diff-ratio 0.5: the
# stream is written as a full.
head -c 6M /dev/urandom >"$img"
make_vma 5
want=$(sha_of "$WORK/in.raw")
if run_stream "$dir" qemu 101 5 zst; then
  stamp=$(stamp_of "$((t0 + 5 * 86400))")
  base=vzdump-qemu-101-$stamp.vma.zst
  expect_backup "$dir" full "$base" "$want"
  expected[$base]=1
  check "no differential for day 5" test -z "$(find "$dir" -name "*--differential-$stamp*")"
  grep -q 'differential is .* of its full (limit 50.0%)' "$WORK/out" && ok "the log says why it is a full" ||
    fail "the log does not say why day 5 is a full: $(cat "$WORK/out")"
else
  fail "qemu day 5 (oversized differential): backup failed: $(cat "$WORK/out")"
fi
# Day 6: a small change again: a differential against the day-5 full.
make_vma 6
want=$(sha_of "$WORK/in.raw")
if run_stream "$dir" qemu 101 6 zst; then
  name=$base--differential-$(stamp_of "$((t0 + 6 * 86400))").vcdiff.zst
  expect_backup "$dir" differential "$name" "$want"
  expected[$name]=1
else
  fail "qemu day 6: backup failed: $(cat "$WORK/out")"
fi

# ---- bad input: nothing under a final name, no temporary file ---------------------
# bad_stream WHAT DIR TYPE VMID DAY FILE MESSAGE: FILE is fed as is; the run must fail
# saying MESSAGE (a grep pattern).
bad_stream() {
  local what=$1 dir=$2 type=$3 vmid=$4 day=$5 file=$6 message=$7
  local before after rc=0
  before=$(cd "$dir" && ls -A | { grep -v '^\.pvediff-lock' || true; } | sort | sha256sum)
  "$PVEDIFF" --config "$conf" backup - --vmid "$vmid" --type "$type" --dumpdir "$dir" \
    --now "$((t0 + day * 86400))" <"$file" >"$WORK/out" 2>&1 || rc=$?
  after=$(cd "$dir" && ls -A | { grep -v '^\.pvediff-lock' || true; } | sort | sha256sum)
  check "$what: fails (exit $rc)" test "$rc" -ne 0
  check "$what: says why ($(tail -1 "$WORK/out"))" grep -q "error: .*$message" "$WORK/out"
  check "$what: the dump dir is unchanged" test "$before" = "$after"
  check "$what: no temporary file" no_temps "$dir"
}
make_vma 7
zstd -q -c <"$WORK/in.raw" >"$WORK/good.zst"
head -c $(($(stat -c %s "$WORK/good.zst") / 2)) "$WORK/good.zst" >"$WORK/cut.zst"
bad_stream "cut zstd stream (differential due)" "$dir" qemu 101 7 "$WORK/cut.zst" "zstd: unexpected end"
gzip -c <"$WORK/in.raw" >"$WORK/good.gz"
cp "$WORK/good.gz" "$WORK/bad.gz"
printf 'garbage!garbage!' | dd of="$WORK/bad.gz" bs=1 seek=$(($(stat -c %s "$WORK/bad.gz") / 3)) conv=notrunc status=none
bad_stream "corrupt gzip stream (differential due)" "$dir" qemu 101 7 "$WORK/bad.gz" "gzip: "
lzop -c <"$WORK/in.raw" >"$WORK/good.lzo"
head -c $(($(stat -c %s "$WORK/good.lzo") - 1000)) "$WORK/good.lzo" >"$WORK/cut.lzo"
bad_stream "cut lzo stream (differential due)" "$dir" qemu 101 7 "$WORK/cut.lzo" "lzop: unexpected end"
# A guest with no backup yet: a full is due, the cut stream must not become one.
bad_stream "cut zstd stream (full due)" "$dir" qemu 102 7 "$WORK/cut.zst" "zstd: unexpected end"
# vzdump killed mid-way: a raw VMA cut short.
head -c $(($(stat -c %s "$WORK/in.raw") / 2)) "$WORK/in.raw" >"$WORK/cut.vma"
bad_stream "cut raw VMA (differential due)" "$dir" qemu 101 7 "$WORK/cut.vma" "not a complete vma archive.*clusters missing"
bad_stream "cut raw VMA (full due)" "$dir" qemu 103 7 "$WORK/cut.vma" "not a complete vma archive.*clusters missing"
: >"$WORK/empty"
bad_stream "empty stream" "$dir" qemu 104 7 "$WORK/empty" "not a complete vma archive (0 bytes read"
# Usage errors: exit 2, nothing written.
rc=0; "$PVEDIFF" --config "$conf" backup - --vmid 101 --dumpdir "$dir" </dev/null >"$WORK/out" 2>&1 || rc=$?
check "backup - without --type: usage error (exit $rc)" test "$rc" -eq 2

# ---- lxc: raw and gzip tar streams -------------------------------------------------
ldir=$WORK/dump-lxc
mkdir -p "$ldir"
make_tar 0; want=$(sha_of "$WORK/in.raw")
run_stream "$ldir" lxc 201 0 gz || fail "lxc day 0: $(cat "$WORK/out")"
lbase=vzdump-lxc-201-$(stamp_of "$t0").tar.gz
expect_backup "$ldir" full "$lbase" "$want"
for day in 1 2; do
  make_tar "$day"; want=$(sha_of "$WORK/in.raw")
  codec=none; ((day == 2)) && codec=gz
  run_stream "$ldir" lxc 201 "$day" "$codec" || fail "lxc day $day: $(cat "$WORK/out")"
  name=$lbase--differential-$(stamp_of "$((t0 + day * 86400))").vcdiff
  # A raw input: the differential takes the compression the full would get (zstd).
  [[ $codec == none ]] && name+=.zst || name+=.gz
  expect_backup "$ldir" differential "$name" "$want"
done
check "lxc: 1 full, 2 differentials" test "$(ls "$ldir" | grep -c -v '\.pvediff')" -eq 3
make_tar 3
head -c $(($(stat -c %s "$WORK/in.raw") / 2 + 100)) "$WORK/in.raw" >"$WORK/cut.tar"
bad_stream "cut raw tar (differential due)" "$ldir" lxc 201 3 "$WORK/cut.tar" "not a complete tar archive"
bad_stream "cut raw tar (full due)" "$ldir" lxc 202 3 "$WORK/cut.tar" "not a complete tar archive"
zstd -q -c <"$WORK/in.raw" >"$WORK/tar.zst"
head -c 300000 "$WORK/tar.zst" >"$WORK/cut-tar.zst"
bad_stream "cut zstd tar stream (differential due)" "$ldir" lxc 201 3 "$WORK/cut-tar.zst" "zstd: unexpected end"

# ---- the dump dir holds only what is expected -------------------------------------
unexpected=
for f in $(cd "$dir" && ls -A); do
  case $f in
    .pvediff-lock-qemu-10[1-4]) ;;
    *.pvediff-manifest | *.pvediff-index) [[ -n ${expected[${f%.pvediff-manifest}]:-} || -n ${expected[${f%.pvediff-index}]:-} ]] ||
      unexpected+=" $f" ;;
    # The cluster records of a VMA full written in zstd (and of no other file).
    *.vma.zst.pvediff-vma-clusters) [[ -n ${expected[${f%.pvediff-vma-clusters}]:-} ]] || unexpected+=" $f" ;;
    *) [[ -n ${expected[$f]:-} ]] || unexpected+=" $f" ;;
  esac
done
check "qemu dump dir holds only the expected files${unexpected:+ (also:$unexpected)}" test -z "$unexpected"
check "qemu: all ${#expected[@]} backups there" test "$(ls "$dir" | grep -c -v '\.pvediff')" -eq "${#expected[@]}"
check "verify passes on the qemu dump dir" "$PVEDIFF" verify "$dir"
check "verify passes on the lxc dump dir" "$PVEDIFF" verify "$ldir"
