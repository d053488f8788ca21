#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-or-later
# Scale rows of docs/engine.md: for each size, a day-1 and a day-2 tar streamed from
# bench/gen_stream.py into zstd -3 (never stored uncompressed), the full kept by
# `pvediff backup` (hash + index), then `diff` with the stored index and `patch`, each
# under /usr/bin/time (wall, user, sys, peak RSS), with the scratch disk sampled from
# the process's unlinked files. One line per size on stdout (and --out FILE).
#
#   bench/scale_row.sh --pvediff PATH --workdir DIR [--cores] SIZE...    (SIZE: 2G, 8G, ...)
#
# --cores: also diff and patch under `taskset -c 0` and `taskset -c 0,1`, alternated.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
pvediff="" workdir="" cores=0 sizes=()
while (($#)); do
  case $1 in
    --pvediff) pvediff=$2; shift 2 ;;
    --workdir) workdir=$2; shift 2 ;;
    --cores) cores=1; shift ;;
    *) sizes+=("$1"); shift ;;
  esac
done
[[ -x $pvediff && -n $workdir && ${#sizes[@]} -gt 0 ]] || { sed -n 9,11p "$0"; exit 2; }
mkdir -p "$workdir"

# Peak total disk use of the unlinked scratch files of process $1 (O_TMPFILE spill files).
scratch_peak() {
  local pid=$1 peak=0 now f
  while kill -0 "$pid" 2>/dev/null; do
    now=0
    for f in /proc/"$pid"/fd/*; do
      if [[ $(readlink "$f" 2>/dev/null) == *"(deleted)"* ]]; then
        # Blocks allocated, not the apparent size: the decoder's spill file gives the
        # space of released pieces back by punching holes.
        now=$(( now + $(stat -L -c '%b * %B' "$f" 2>/dev/null || echo 0) ))
      fi
    done
    (( now > peak )) && peak=$now
    sleep 0.5
  done
  echo "$peak"
}

# timed LABEL CMD...: prints "LABEL wall user sys rss_mib scratch_mib"
timed() {
  local label=$1; shift
  local tf; tf=$(mktemp)
  /usr/bin/time -o "$tf" -f '%e %U %S %M' "$@" &
  local tpid=$!
  sleep 0.2
  local child; child=$(pgrep -P "$tpid" | head -1 || true)
  local scratch=0
  if [[ -n $child ]]; then scratch=$(scratch_peak "$child"); fi
  wait "$tpid"
  read -r wall user sys rss <"$tf"
  rm -f "$tf"
  echo "$label $wall $user $sys $((rss / 1024)) $((scratch >> 20))"
}

for size in "${sizes[@]}"; do
  d=$workdir/$size
  rm -rf "$d"; mkdir -p "$d/dump"
  full=$d/dump/vzdump-lxc-100-2026_12_01-10_00_00.tar.zst
  new=$d/new.tar.zst
  t0=$(date +%s)
  python3 "$here/gen_stream.py" --size "$size" --day 1 | zstd -3 -T1 -q -o "$full"
  python3 "$here/gen_stream.py" --size "$size" --day 2 | zstd -3 -T1 -q -o "$new"
  echo "# $size generated in $(( $(date +%s) - t0 )) s: full $(stat -c %s "$full") B, new $(stat -c %s "$new") B" >&2
  timed "$size keep-full" "$pvediff" backup --fullbackup 7 "$full" 2>/dev/null
  idx=$full.pvediff-index
  python3 - "$idx" "$size" <<'EOF'
import struct, sys
with open(sys.argv[1], "rb") as f:
    h = f.read(72)
content, chunks, entries, clusters, anchors = struct.unpack_from("<5Q", h, 32)
def slots(n):
    if n == 0:
        return 0
    c = 1024
    while c * 3 < n * 4 + 4:
        c *= 2
    return c
mem = 16 * (slots(entries) + slots(clusters) + slots(anchors))
import os
print(f"{sys.argv[2]} index content {content} chunks {chunks} entries {entries} "
      f"disk {os.path.getsize(sys.argv[1])} mem {mem}")
EOF
  timed "$size floor-new" sh -c "zstd -dc '$new' >/dev/null"
  timed "$size diff" "$pvediff" diff --base "$full" --new "$new" -o "$d/delta.zst"
  echo "$size delta $(stat -c %s "$d/delta.zst")"
  timed "$size floor-full" sh -c "zstd -dc '$full' >/dev/null"
  timed "$size patch" sh -c "exec '$pvediff' patch --base '$full' --delta '$d/delta.zst' -o - >/dev/null"
  if ((cores)); then
    for cpus in 0 0,1 0 0,1; do
      timed "$size diff-cpus-$cpus" taskset -c "$cpus" "$pvediff" diff --base "$full" --new "$new" -o "$d/delta-$cpus.zst"
      timed "$size patch-cpus-$cpus" sh -c "exec taskset -c $cpus '$pvediff' patch --base '$full' --delta '$d/delta.zst' -o - >/dev/null"
      timed "$size floor-full-cpus-$cpus" sh -c "taskset -c $cpus zstd -dc '$full' >/dev/null"
      rm -f "$d/delta-$cpus.zst"
    done
  fi
  rm -rf "$new" "$d/dump"
done
