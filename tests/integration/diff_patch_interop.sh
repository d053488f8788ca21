#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-or-later
# `pvediff diff` / `pvediff patch` against the real tools, both ways:
# - pvediff's deltas (each --compress, each engine), decompressed with the real codec
#   tool, decode with stock `xdelta3 -d -s FULL.raw` to NEW byte for byte;
# - stock xdelta3 deltas (LZMA secondary by default, -S djw, -S none), compressed with
#   zstd, lzop and gzip, are applied by `pvediff patch` to a full in each codec;
# - a wrong full fails with a message and leaves no output; `-o -` to a pipe; stdin delta.
source "$PVEDIFF_TEST_LIB/common.sh"

# A full and a new archive: the new one moves blocks around and edits a few bytes.
python3 - "$WORK/full.raw" "$WORK/new.raw" <<'PY'
import random, sys
rnd = random.Random(42)
words = [b"proxmox ", b"backup ", b"vzdump ", b"qemu ", b"\n", b"0123456789", b"extent "]
blocks = []
for i in range(160):
    if i % 5 == 0:
        blocks.append(bytes(rnd.getrandbits(8) for _ in range(32768)))
    else:
        blocks.append(b"".join(rnd.choice(words) for _ in range(5000))[:32768])
full = b"".join(blocks)
order = list(range(len(blocks)))
rnd.shuffle(order)
new = bytearray()
for n, i in enumerate(order):
    b = bytearray(blocks[i])
    if n % 9 == 0:
        b[100:110] = b"EDITEDEDIT"
    new += b
    if n % 13 == 0:
        new += b"inserted block %d\n" % n * 40
open(sys.argv[1], "wb").write(full)
open(sys.argv[2], "wb").write(new)
PY
full_sha=$(sha256sum <"$WORK/full.raw" | cut -d' ' -f1)
new_sha=$(sha256sum <"$WORK/new.raw" | cut -d' ' -f1)
for c in zst lzo gz; do
  compress_with $c <"$WORK/full.raw" >"$WORK/full.raw$(ext_of $c)"
  compress_with $c <"$WORK/new.raw" >"$WORK/new.raw$(ext_of $c)"
done
decompress_any() {  # file -> stdout, with the real tool chosen by content
  case $(head -c4 "$1" | od -An -tx1 | tr -d ' ') in
    28b52ffd) zstd -dc -- "$1" ;;
    894c5a4f) lzop -dc -- "$1" ;;
    1f8b*) gzip -dc -- "$1" ;;
    *) cat -- "$1" ;;
  esac
}

# 1. pvediff diff -> real tool -> stock xdelta3.
for engine in xdelta3 default; do
  for comp in zstd lzo gzip none; do
    out=$WORK/d-$engine-$comp
    if "$PVEDIFF" -q diff --engine $engine --base "$WORK/full.raw.zst" --new "$WORK/new.raw.gz" \
      --compress $comp -o "$out" 2>"$WORK/err"; then
      decompress_any "$out" >"$out.vcdiff"
      xdelta3 -d -f -s "$WORK/full.raw" "$out.vcdiff" "$out.rebuilt"
      check "diff --engine $engine --compress $comp decodes with stock xdelta3" \
        test "$(sha256sum <"$out.rebuilt" | cut -d' ' -f1)" = "$new_sha"
    else
      fail "diff --engine $engine --compress $comp: $(cat "$WORK/err")"
    fi
  done
done
# Default output codec: that of NEW.
"$PVEDIFF" -q diff --engine xdelta3 --base "$WORK/full.raw" --new "$WORK/new.raw.lzo" -o "$WORK/d-default"
check "diff without --compress uses NEW's codec (lzo)" \
  test "$(head -c4 "$WORK/d-default" | od -An -tx1 | tr -d ' ')" = "894c5a4f"

# 2. stock xdelta3 deltas -> compressed with the real tools -> pvediff patch.
for sec in "" "-S djw" "-S none"; do
  xdelta3 -e -f $sec -s "$WORK/full.raw" "$WORK/new.raw" "$WORK/stock.vcdiff"
  for c in zst lzo gz; do
    compress_with $c <"$WORK/stock.vcdiff" >"$WORK/stock.vcdiff.$c"
    for fc in none zst lzo gz; do
      full=$WORK/full.raw$(ext_of $fc)
      rm -f "$WORK/out.raw"
      if "$PVEDIFF" -q patch --base "$full" --delta "$WORK/stock.vcdiff.$c" -o "$WORK/out.raw" 2>"$WORK/err"; then
        check "patch stock xdelta3 '${sec:-lzma}' delta ($c) on $fc full" \
          test "$(sha256sum <"$WORK/out.raw" | cut -d' ' -f1)" = "$new_sha"
      else
        fail "patch stock '${sec:-lzma}' ($c) on $fc full: $(cat "$WORK/err")"
      fi
    done
  done
done

# 3. patch --compress, -o - into a pipe, delta from stdin.
"$PVEDIFF" -q patch --base "$WORK/full.raw.lzo" --delta "$WORK/d-xdelta3-zstd" -o "$WORK/out.gz" --compress gzip
check "patch --compress gzip writes gzip that gzip -d reads" \
  test "$(gzip -dc "$WORK/out.gz" | sha256sum | cut -d' ' -f1)" = "$new_sha"
check "patch -o - to a pipe" \
  test "$("$PVEDIFF" -q patch --base "$WORK/full.raw.gz" --delta "$WORK/d-default-zstd" -o - | sha256sum | cut -d' ' -f1)" = "$new_sha"
check "patch --delta - (stdin)" \
  test "$("$PVEDIFF" -q patch --base "$WORK/full.raw" --delta - -o - <"$WORK/stock.vcdiff.zst" | sha256sum | cut -d' ' -f1)" = "$new_sha"
check "diff -o - to a pipe, patched again" \
  test "$("$PVEDIFF" -q diff --engine xdelta3 --base "$WORK/full.raw" --new "$WORK/new.raw" --compress zstd -o - |
    "$PVEDIFF" -q patch --base "$WORK/full.raw.zst" --delta - -o - | sha256sum | cut -d' ' -f1)" = "$new_sha"

# 4. A wrong full: non-zero exit, a message, no output file, no temporary left behind.
python3 -c "import sys; d=bytearray(open(sys.argv[1],'rb').read()); d[::4096]=bytes(len(d[::4096])); open(sys.argv[2],'wb').write(d)" \
  "$WORK/full.raw" "$WORK/wrong.raw"
mkdir -p "$WORK/outdir"
for delta in "$WORK/stock.vcdiff.zst" "$WORK/d-xdelta3-zstd"; do
  if "$PVEDIFF" patch --base "$WORK/wrong.raw" --delta "$delta" -o "$WORK/outdir/out.raw" 2>"$WORK/err"; then
    fail "a wrong full was accepted for $(basename "$delta")"
  else
    check "wrong full: message for $(basename "$delta")" grep -q "error" "$WORK/err"
    check "wrong full: no output left for $(basename "$delta")" test -z "$(ls -A "$WORK/outdir")"
  fi
done
# A truncated delta and a missing full.
head -c 3000 "$WORK/stock.vcdiff" >"$WORK/cut.vcdiff"
if "$PVEDIFF" patch --base "$WORK/full.raw" --delta "$WORK/cut.vcdiff" -o "$WORK/outdir/out.raw" 2>"$WORK/err"; then
  fail "a truncated delta was accepted"
else
  check "truncated delta: message names the delta" grep -q "cut.vcdiff" "$WORK/err"
  check "truncated delta: no output left" test -z "$(ls -A "$WORK/outdir")"
fi
if "$PVEDIFF" diff --base "$WORK/missing" --new "$WORK/new.raw" -o "$WORK/outdir/d" 2>"$WORK/err"; then
  fail "a missing full was accepted"
else
  check "missing full: message names it" grep -q "missing" "$WORK/err"
  check "missing full: no delta left" test -z "$(ls -A "$WORK/outdir")"
fi
check "full untouched" test "$(sha256sum <"$WORK/full.raw" | cut -d' ' -f1)" = "$full_sha"

# An output that is a character device or a FIFO is written into, never replaced by a
# file moved over it (with --force too): `-o /dev/null` as root must leave /dev/null a
# device. A null device of this test's own, so a failure cannot harm the machine's.
if mknod "$WORK/null" c 1 3 2>/dev/null; then
  "$PVEDIFF" -q diff --base "$WORK/full.raw" --new "$WORK/new.raw" -o "$WORK/null"
  "$PVEDIFF" -q diff --base "$WORK/full.raw" --new "$WORK/new.raw" -o "$WORK/null" --force
  check "-o a character device: still one, without and with --force" test -c "$WORK/null"
else
  echo "skipped: mknod needs root"
fi
mkfifo "$WORK/fifo"
"$PVEDIFF" -q diff --base "$WORK/full.raw" --new "$WORK/new.raw" -o "$WORK/d.vcdiff" --compress none
timeout 60 cat "$WORK/fifo" >"$WORK/from-fifo" &
reader=$!
timeout 60 "$PVEDIFF" -q patch --base "$WORK/full.raw" --delta "$WORK/d.vcdiff" -o "$WORK/fifo"
wait "$reader"
check "-o a FIFO: the archive goes through it, the FIFO stays" \
  test -p "$WORK/fifo" -a "$(sha256sum <"$WORK/from-fifo" | cut -d' ' -f1)" = "$new_sha"
