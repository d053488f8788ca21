#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-or-later
# Inputs beyond 4 GiB (32-bit sizes inside xdelta3): a ~4.3 GiB full, sparse with a
# few data regions, and a new archive that differs from it in a few places beyond
# 4 GiB. diff --compress zstd, then patch to a pipe; the content must match by SHA-256.
# Slow (reads and writes several GiB): labelled slow by its name.
source "$PVEDIFF_TEST_LIB/common.sh"

GiB=$((1 << 30))
MiB=$((1 << 20))
size=$((4 * GiB + 300 * MiB))
sha() { openssl dgst -sha256 -r "$@" | cut -d' ' -f1; }

# Full: sparse, with random data regions (near the start, around 2 GiB, beyond 4 GiB).
truncate -s $size "$WORK/full.raw"
for off_mib in 0 2048 4100 4300; do
  head -c $((16 * MiB)) /dev/urandom | dd of="$WORK/full.raw" bs=1M seek=$off_mib conv=notrunc status=none
done
# New: the same, edited beyond 4 GiB (in a data region and in a hole) and grown.
cp --sparse=always "$WORK/full.raw" "$WORK/new.raw"
printf 'changed beyond 4 GiB' | dd of="$WORK/new.raw" bs=1 seek=$((4100 * MiB + 12345)) conv=notrunc status=none
head -c $MiB /dev/urandom | dd of="$WORK/new.raw" bs=1M seek=4200 conv=notrunc status=none
head -c $((3 * MiB)) /dev/urandom >>"$WORK/new.raw"
check "inputs are larger than 4 GiB" test "$(stat -c %s "$WORK/new.raw")" -gt $((4 * GiB))
new_sha=$(sha "$WORK/new.raw")

start=$SECONDS
"$PVEDIFF" diff --engine xdelta3 --base "$WORK/full.raw" --new "$WORK/new.raw" --compress zstd \
  -o "$WORK/delta.vcdiff.zst"
echo "diff: $((SECONDS - start)) s, delta $(stat -c %s "$WORK/delta.vcdiff.zst") bytes"
check "delta is small" test "$(stat -c %s "$WORK/delta.vcdiff.zst")" -lt $((16 * MiB))

start=$SECONDS
got=$("$PVEDIFF" patch --base "$WORK/full.raw" --delta "$WORK/delta.vcdiff.zst" -o - | sha)
echo "patch: $((SECONDS - start)) s"
check "patched content equals the new archive (sha256)" test "$got" = "$new_sha"

# Stock xdelta3 reads the delta too (beyond 4 GiB offsets in its window headers).
start=$SECONDS
got=$(zstd -dc "$WORK/delta.vcdiff.zst" | xdelta3 -d -c -s "$WORK/full.raw" | sha)
echo "stock xdelta3 -d: $((SECONDS - start)) s"
check "stock xdelta3 decodes it to the new archive" test "$got" = "$new_sha"
