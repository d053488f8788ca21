#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-or-later
# Fetches the Debian source package of xdelta3 3.0.11 with `apt-get source`, checks the
# upstream tarball's SHA-256 and unpacks it into third_party/xdelta3 (ignored by git).
#
# Source entries are derived from this machine's own apt configuration: every `deb`
# entry becomes a `deb-src` entry in a private apt state under third_party/apt, so the
# system's apt configuration is left untouched and no mirror is named here.
set -euo pipefail
cd "$(dirname "$0")/.."

readonly want_sha256=c730bf7a526eea39c1a371632c1abc980e7281bf5d1fead79d663de303498f5f
readonly orig=xdelta3_3.0.11-dfsg.orig.tar.xz
readonly dest=third_party/xdelta3
readonly stamp="$dest/.pvediff-sha256"

if [[ -f "$stamp" && "$(cat "$stamp")" == "$want_sha256" && -f "$dest/xdelta3.c" ]]; then
  exit 0
fi

work=third_party/apt
rm -rf "$work"
mkdir -p "$work/lists/partial" "$work/sources.list.d" "$work/archives/partial" "$work/download"

# One-line format (sources.list and *.list): "deb [opts] uri suite comps" -> "deb-src ...".
for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.list; do
  [[ -f "$f" ]] || continue
  sed -n 's/^[[:space:]]*deb[[:space:]]/deb-src /p' "$f" >>"$work/sources.list.d/derived.list"
done
# deb822 format (*.sources): stanzas whose Types include "deb" get Types: deb-src.
for f in /etc/apt/sources.list.d/*.sources; do
  [[ -f "$f" ]] || continue
  awk 'BEGIN { RS=""; ORS="\n\n" }
       /(^|\n)Types:[^\n]*(^|[[:space:]])deb([[:space:]]|\n|$)/ &&
       !/(^|\n)Enabled:[[:space:]]*no/ {
         sub(/(^|\n)Types:[^\n]*/, "\nTypes: deb-src"); sub(/^\n/, ""); print }' \
      "$f" >"$work/sources.list.d/derived-$(basename "$f")"
done
if ! grep -qs . "$work"/sources.list.d/*; then
  echo "fetch-xdelta3: no 'deb' entries found in /etc/apt to derive source entries from" >&2
  exit 1
fi

apt_opts=(-o "Dir::Etc::SourceList=/dev/null"
          -o "Dir::Etc::SourceParts=$PWD/$work/sources.list.d"
          -o "Dir::State::Lists=$PWD/$work/lists"
          -o "Dir::Cache::Archives=$PWD/$work/archives"
          -o "APT::Sandbox::User=root")
echo "fetch-xdelta3: updating source indexes (private apt state in $work)"
apt-get "${apt_opts[@]}" -q update >"$work/update.log" 2>&1 || {
  cat "$work/update.log" >&2; echo "fetch-xdelta3: apt-get update failed" >&2; exit 1; }
(cd "$work/download" && apt-get "${apt_opts[@]}" -q source --download-only xdelta3) \
  >"$work/source.log" 2>&1 || {
  cat "$work/source.log" >&2; echo "fetch-xdelta3: apt-get source xdelta3 failed" >&2; exit 1; }

got=$(sha256sum "$work/download/$orig" 2>/dev/null | cut -d' ' -f1 || true)
if [[ "$got" != "$want_sha256" ]]; then
  echo "fetch-xdelta3: $work/download/$orig: SHA-256 '${got:-missing}' is not the expected $want_sha256" >&2
  exit 1
fi

rm -rf "$dest" "$dest.unpack"
mkdir -p "$dest.unpack"
tar -xJf "$work/download/$orig" -C "$dest.unpack"
mv "$dest.unpack"/xdelta3-3.0.11* "$dest"
rmdir "$dest.unpack"
echo "$want_sha256" >"$stamp"
echo "fetch-xdelta3: xdelta3 3.0.11 unpacked into $dest"
