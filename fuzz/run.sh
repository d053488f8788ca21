#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-or-later
# The long mode of the hostile-input tests: builds the libFuzzer targets (clang,
# ASan+UBSan) in build-fuzz/ and runs each for SECONDS (default 60), one after the
# other, niced. New coverage is merged into fuzz/corpus/<target>/ (minimised with
# -merge=1, so the corpus in git stays small); a crash, leak, timeout or broken
# invariant is saved to fuzz/crashes/<target>/ — fix it, keep the file: the replay
# tests in ./test.sh run every file there.
#   fuzz/run.sh [SECONDS] [TARGET...]        e.g. fuzz/run.sh 300 lzop names
# Environment: PVEDIFF_FUZZ_BUILD (default build-fuzz), PVEDIFF_FUZZ_JOBS (build jobs, 2).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(dirname "$here")
seconds=${1:-60}
shift || true
build=$root/${PVEDIFF_FUZZ_BUILD:-build-fuzz}
all=(vcdiff_decode vcdiff_scan decode_bounds vma_header vma_verify vma_item_digest layout lzop decompress names
  config manifest chunk_index cluster_records chunk_encode)
targets=("${@:-${all[@]}}")
# Memory: -rss_limit_mb=2048 catches real use, and no single allocation may be larger.
# decode_bounds holds the decoder to its bound (docs/reliability.md, "Worst-case
# memory"): 512 MB resident, 512 MB in one allocation, whatever the delta says.
# Largest input per target: a few VMA extents, a few lzop blocks, a multi-window delta
# of many small copies (decode_bounds); text stays short; a full and a program of 4 KiB
# together (chunk_encode: the program repeats pieces into a new archive up to 1 MiB;
# longer inputs ran at 20 execs/s and made a corpus of megabytes).
declare -A max_len=([vcdiff_decode]=65536 [vcdiff_scan]=65536 [decode_bounds]=1048576 [vma_header]=40000
  [vma_verify]=200000 [vma_item_digest]=200000 [layout]=200000 [lzop]=100000 [decompress]=100000 [names]=256 [config]=4096
  [manifest]=4096 [chunk_index]=65536 [cluster_records]=65536
  [chunk_encode]=4096)
declare -A rss_limit=([decode_bounds]=512)

[[ -f $root/third_party/xdelta3/xdelta3.c ]] || "$root/scripts/fetch-xdelta3.sh"
CC=clang CXX=clang++ cmake -S "$root" -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DPVEDIFF_FUZZ=ON -DPVEDIFF_TESTS=OFF >/dev/null
nice cmake --build "$build" -j "${PVEDIFF_FUZZ_JOBS:-2}" --target "${targets[@]/#/fuzz_}"

export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
summary=()
for t in "${targets[@]}"; do
  corpus=$here/corpus/$t
  crashes=$here/crashes/$t
  work=$build/fuzz-work/$t
  mkdir -p "$corpus" "$crashes" "$work/new"
  log=$work/fuzz.log
  echo "== $t: ${seconds}s" >&2
  # The new corpus goes to a scratch dir first, merged back minimised afterwards.
  set +e
  nice "$build/fuzz/fuzz_$t" "$work/new" "$corpus" -max_total_time="$seconds" \
    -max_len="${max_len[$t]}" -timeout=30 -rss_limit_mb="${rss_limit[$t]:-2048}" -malloc_limit_mb="${rss_limit[$t]:-2048}" -print_final_stats=1 \
    -artifact_prefix="$crashes/" >"$log" 2>&1
  rc=$?
  set -e
  mkdir -p "$work/merged"
  rm -rf "${work:?}/merged"/*
  nice "$build/fuzz/fuzz_$t" -merge=1 -max_len="${max_len[$t]}" "$work/merged" "$corpus" "$work/new" \
    >"$work/merge.log" 2>&1 || true
  if [[ -n $(ls -A "$work/merged") ]]; then
    # Keep the hand-made seeds by name; the rest of the corpus is the minimised set.
    # (libFuzzer names units by their SHA-1; a seed's copy is not added twice).
    seeds=$(find "$corpus" -maxdepth 1 -type f -name 'seed-*' -exec sha1sum {} + | cut -d' ' -f1)
    find "$corpus" -maxdepth 1 -type f ! -name 'seed-*' -delete
    for f in "$work/merged"/*; do
      grep -qx "$(basename "$f")" <<<"$seeds" || cp "$f" "$corpus/"
    done
  fi
  rm -rf "${work:?}/new" "${work:?}/merged"
  execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
  speed=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log" | tail -1)
  files=$(find "$corpus" -type f | wc -l)
  kib=$(find "$corpus" -type f -printf '%s\n' | awk '{s += $1} END {printf "%d", s / 1024}')
  gz=$(tar -C "$corpus" -cf - . | gzip -9 | wc -c)  # about what git stores
  found=$(find "$crashes" -type f | wc -l)
  line=$(printf '%-14s %4ss %10s execs %6s/s  corpus %4s files %5s KiB (%4s KiB gz)  crashes kept %s  exit %s' \
    "$t" "$seconds" "${execs:-?}" "${speed:-?}" "$files" "$kib" "$((gz / 1024))" "$found" "$rc")
  summary+=("$line")
  echo "$line" >&2
  if ((rc != 0)); then
    echo "   finding: see $log and $crashes/" >&2
    grep -m3 -E 'ERROR|runtime error|invariant|uncaught' "$log" >&2 || true
  fi
done
printf '%s\n' "" "summary:" "${summary[@]}"
