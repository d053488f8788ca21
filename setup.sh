#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-or-later
# Quick start, step 1: installs the Debian packages pvediff needs (only the missing
# ones), fetches xdelta3's source, builds into build/, and runs `pvediff demo`.
set -euo pipefail
cd "$(dirname "$0")"

packages=(
  cmake ninja-build g++ pkg-config
  libzstd-dev liblzo2-dev zlib1g-dev liblzma-dev libssl-dev libxxhash-dev libarchive-dev libdeflate-dev
  libcli11-dev libfmt-dev libspdlog-dev nlohmann-json3-dev libgtest-dev libgmock-dev
  zstd lzop gzip pigz xdelta3 tar rdiff xz-utils
  dpkg-dev debhelper man-db time e2fsprogs strace util-linux bsdutils
  libfuse3-dev fuse3
  libnbd-dev libnbd-bin qemu-utils
)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  sudo=()
  [[ $EUID -eq 0 ]] || sudo=(sudo)
  echo "setup: installing ${missing[*]}"
  "${sudo[@]}" apt-get update -q
  DEBIAN_FRONTEND=noninteractive "${sudo[@]}" apt-get install -y -q --no-install-recommends "${missing[@]}"
fi

scripts/fetch-xdelta3.sh

werror=OFF
[[ -n "${CI:-}" ]] && werror=ON
cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DPVEDIFF_WERROR="$werror"
cmake --build build
build/pvediff demo
