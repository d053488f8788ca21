#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-or-later
# pvediff benchmark: generates realistic archive pairs, runs pvediff and its peers on
# them, checks every rebuilt archive's SHA-256, prints the tables and writes
# bench/out/results.md. See bench/README.md.
#
#   bench/run.sh [--size 2000M|256M|BYTES] [--only vma|tar|unchanged|adversarial]
#                [--workdir DIR] [--keep] [--timeout SECONDS] [--pvediff PATH] [--out FILE.md]
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
src=$(dirname "$here")
size=2000M
only=""
workdir=$here/out/work  # bench/out/ is git-ignored
keep=0
timeout_s=900
pvediff=""
out=""

usage() { sed -n 3,9p "$0" | sed 's/^# \{0,1\}//'; exit 2; }
while (($#)); do
  case $1 in
    --size) size=$2; shift 2 ;;
    --only) only=$2; shift 2 ;;
    --workdir) workdir=$2; shift 2 ;;
    --keep) keep=1; shift ;;
    --timeout) timeout_s=$2; shift 2 ;;
    --pvediff) pvediff=$(realpath -- "$2"); shift 2 ;;  # the runs start in other folders
    --out) out=$2; shift 2 ;;
    -h|--help) usage ;;
    *) echo "run.sh: unknown option $1" >&2; usage ;;
  esac
done

case $size in
  *[Gg]) bytes=$(( ${size%[Gg]} * 1000000000 )) ;;
  *[Mm]) bytes=$(( ${size%[Mm]} * 1000000 )) ;;
  *) bytes=$size ;;
esac
case $only in
  "") kinds=tar,vma; pairs=vma,tar,vma-unchanged,tar-unchanged; day2=1; unchanged=1 ;;
  vma) kinds=vma; pairs=vma; day2=1; unchanged=0 ;;
  tar) kinds=tar; pairs=tar; day2=1; unchanged=0 ;;
  unchanged) kinds=tar,vma; pairs=vma-unchanged,tar-unchanged; day2=0; unchanged=1 ;;
  adversarial) kinds=adversarial ;;
  *) echo "run.sh: --only takes vma, tar, unchanged or adversarial" >&2; exit 2 ;;
esac

for tool in zstd xdelta3 rdiff tar mkfs.ext4 debugfs e2fsck /usr/bin/time timeout python3; do
  command -v "$tool" >/dev/null || { echo "run.sh: $tool is missing (apt-get install time e2fsprogs rdiff xdelta3 zstd)" >&2; exit 2; }
done
mkdir -p "$workdir"
avail=$(df -B1 --output=avail "$workdir" | tail -1)
need=$(( bytes * 12 ))
if (( avail < need )); then
  echo "run.sh: $workdir has $((avail >> 30)) GiB free, about $((need >> 30)) GiB are needed" >&2
  exit 2
fi

# pvediff, built in our own build dir unless --pvediff names a binary. It is measured,
# and it writes the VMA archives (`pvediff dev-make-vma`); data kept with --keep is
# reused whichever binary is measured later.
build=$src/build-bench
if [[ -z $pvediff ]]; then
  echo "run.sh: building pvediff in $build" >&2
  if cmake -S "$src" -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Release -DPVEDIFF_TESTS=OFF >/dev/null; then
    cmake --build "$build" --target pvediff -j2 >&2 || echo "run.sh: !!! pvediff does not build; its rows are left out" >&2
  else
    echo "run.sh: !!! cmake configure failed; pvediff rows are left out" >&2
  fi
  [[ -x $build/pvediff ]] && pvediff=$build/pvediff
fi
if [[ $kinds == *vma* && -z $pvediff ]]; then
  echo "run.sh: the VMA archives are written by pvediff dev-make-vma, and there is no pvediff" >&2
  exit 2
fi

# The adversarial pairs (gen_adversarial.py, adversarial.py): inputs the layout parsers
# do not expect, pvediff against stock xdelta3 compressed the same way. --size is the
# size of the larger ones (the small pairs keep theirs); the 1.02 target is checked.
if [[ $kinds == adversarial ]]; then
  rm -rf "$workdir/adversarial"
  python3 "$here/gen_adversarial.py" --out "$workdir/adversarial" --scale "$bytes" --pvediff "$pvediff"
  status=0
  python3 "$here/adversarial.py" --pairs "$workdir/adversarial" --pvediff "$pvediff" --max-ratio 1.02 \
    --out "${out:-$here/out/adversarial.md}" || status=$?
  ((keep)) || rm -rf "$workdir/adversarial"
  exit $status
fi

keep_sources=()
((keep)) && keep_sources=(--keep-sources)
python3 "$here/gen_data.py" --workdir "$workdir" --size "$bytes" --kinds "$kinds" --day2 "$day2" \
  --unchanged "$unchanged" --pvediff "$pvediff" "${keep_sources[@]}"

keep_flag=()
((keep)) && keep_flag=(--keep)
status=0
python3 "$here/bench.py" --workdir "$workdir" --pairs "$pairs" --pvediff "$pvediff" --timeout "$timeout_s" \
  --out "${out:-$here/out/results.md}" "${keep_flag[@]}" || status=$?

if ((!keep)); then
  rm -rf "$workdir/data" "$workdir/run"
fi
exit $status
