#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-or-later
# Builds pvediff_<version>_<arch>.deb from the current tree into OUTDIR (default
# build/deb). The tree is copied (without build directories or fetched sources) so the
# package builds as from a clean checkout; xdelta3's source is fetched by debian/rules.
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
out=$(mkdir -p "${1:-$top/build/deb}" && cd "${1:-$top/build/deb}" && pwd)
work=$(mktemp -d "${TMPDIR:-/tmp}/pvediff-deb-XXXXXX")
trap 'rm -rf "$work"' EXIT

src=$work/pvediff
mkdir -p "$src"
if git -C "$top" rev-parse --git-dir >/dev/null 2>&1; then
  # Tracked and untracked-but-not-ignored files: what a checkout of this tree has.
  (cd "$top" && git ls-files -z --cached --others --exclude-standard) |
    (cd "$top" && xargs -0 cp --parents -t "$src" 2>/dev/null || true)
else
  cp -a "$top"/. "$src"/
  rm -rf "$src"/build* "$src"/third_party
fi
cp -a "$top/packaging/debian" "$src/debian"
(cd "$src" && dpkg-buildpackage -b -us -uc >"$work/build.log" 2>&1) || {
  tail -40 "$work/build.log" >&2; echo "build-deb: dpkg-buildpackage failed" >&2; exit 1; }
cp "$work"/pvediff_*.deb "$out"/
ls "$out"/pvediff_*.deb
