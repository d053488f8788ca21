#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-or-later
# Quick start, step 2: builds and runs the whole test suite with ctest.
#   ./test.sh                 normal build in build/
#   ./test.sh --sanitize      ASan+UBSan build in build-asan/
#   ./test.sh [...] -- ARGS   extra ctest arguments (e.g. -- -R vma -L unit)
set -euo pipefail
cd "$(dirname "$0")"

build=build
cmake_args=(-DCMAKE_BUILD_TYPE=RelWithDebInfo)
while (($#)); do
  case "$1" in
    --sanitize) build=build-asan; cmake_args+=(-DPVEDIFF_SANITIZE=ON); shift ;;
    --) shift; break ;;
    *) echo "usage: ./test.sh [--sanitize] [-- CTEST_ARGS...]" >&2; exit 2 ;;
  esac
done
[[ -n "${CI:-}" ]] && cmake_args+=(-DPVEDIFF_WERROR=ON)

[[ -f third_party/xdelta3/xdelta3.c ]] || scripts/fetch-xdelta3.sh
cmake -S . -B "$build" -G Ninja "${cmake_args[@]}" >/dev/null
cmake --build "$build"
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
cd "$build"
ctest --output-on-failure --no-tests=error -j2 "$@"
