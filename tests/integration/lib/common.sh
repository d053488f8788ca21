# SPDX-License-Identifier: GPL-2.0-or-later
# Shared by the shell suites: a work dir kept on failure, pass/fail counting, checks.
set -euo pipefail
: "${PVEDIFF:?PVEDIFF must point to the pvediff binary}"
WORK=$(mktemp -d "${TMPDIR:-/tmp}/pvediff-it-XXXXXX")
passed=0
failed=0
finish() {
  local rc=$?
  if ((failed == 0 && rc == 0)); then rm -rf "$WORK"; else echo "test data kept in $WORK" >&2; fi
  echo "$passed passed, $failed failed"
  ((failed == 0 && rc == 0)) || exit 1
}
trap finish EXIT
ok() { passed=$((passed + 1)); echo "ok: $*"; }
fail() { failed=$((failed + 1)); echo "FAIL: $*" >&2; }
check() { local what=$1; shift; if "$@"; then ok "$what"; else fail "$what"; fi; }
# SHA-256 of a file's decompressed content, whatever its codec.
content_sha() {
  case "$1" in
    *.zst) zstd -dc -- "$1" ;;
    *.lzo) lzop -dc -- "$1" ;;
    *.gz) gzip -dc -- "$1" ;;
    *) cat -- "$1" ;;
  esac | sha256sum | cut -d' ' -f1
}
compress_with() {  # compress_with zst|lzo|gz|none < in > out
  case "$1" in
    zst) zstd -q -c ;;
    lzo) lzop -c ;;
    gz) gzip -c ;;
    none) cat ;;
  esac
}
ext_of() { case "$1" in none) echo "" ;; *) echo ".$1" ;; esac; }
# A vzdump time stamp (UTC) for epoch seconds.
stamp_of() { date -u -d "@$1" +%Y_%m_%d-%H_%M_%S; }
# SHA-256 of a file's bytes as they are (see content_sha for the decompressed content).
sha_of() { sha256sum <"$1" | cut -d' ' -f1; }

# `pvediff mount -f` in the background, up within 10 s or an error (its log shown);
# `mount_pid` is its process. Environment set before the call reaches it (TMPDIR).
start_mount() {  # CONFIG DUMPDIR MNT LOG
  "$PVEDIFF" --config "$1" mount -f "$2" "$3" 2>>"$4" &
  mount_pid=$!
  for _ in $(seq 100); do mountpoint -q "$3" && return 0; sleep 0.1; done
  echo "mount did not come up" >&2
  cat "$4" >&2
  return 1
}
# Unmounts MNT (lazily if busy) and ends the process start_mount started; safe to call
# when neither is there (an EXIT trap).
stop_mount() {  # MNT
  if mountpoint -q "$1"; then fusermount3 -u "$1" 2>/dev/null || fusermount3 -uz "$1" || true; fi
  if [[ -n ${mount_pid:-} ]]; then kill "$mount_pid" 2>/dev/null || true; wait "$mount_pid" 2>/dev/null || true; fi
  mount_pid=
}
# disk_image FILE SIZE CONTENT FILES: a sparse image of SIZE whose start holds CONTENT
# bytes of the first FILES small files under /usr/share/doc.
disk_image() {
  truncate -s "$2" "$1"
  (set +o pipefail; find /usr/share/doc -type f -size -64k 2>/dev/null | head -"$4" | xargs cat 2>/dev/null |
    head -c "$3" | dd of="$1" conv=notrunc status=none)
}

# flip FILE OFFSET: damage one byte by flipping its lowest bit, so the byte always changes
# (writing a fixed value leaves a byte that already had it as it was).
flip() {
  python3 - "$1" "$2" <<'PY'
import sys
with open(sys.argv[1], "r+b") as f:
    f.seek(int(sys.argv[2])); b = f.read(1); f.seek(int(sys.argv[2])); f.write(bytes([b[0] ^ 1]))
PY
}
# chain_ok DIR VMID DAYS...: each day's backup of qemu guest VMID (full or differential) is
# in DIR once and restores exactly; no temporary file is left. Uses the suite's t0 (day 0,
# epoch seconds) and restores_to FILE DAY, which know the suite's days.
chain_ok() {
  local dir=$1 vmid=$2 day stamp found ok=0
  shift 2
  for day in "$@"; do
    stamp=$(stamp_of "$((${t0:?} + day * 86400))")
    # Only VMID's names: a dump dir can hold other guests' backups of the same day.
    found=$(cd "$dir" && ls | grep -E "^vzdump-qemu-$vmid-.*($stamp\.vma\.zst|--differential-$stamp\.vcdiff\.zst)$" || true)
    if [[ $(wc -w <<<"$found") -ne 1 ]]; then
      echo "day $day: found '$found'" >&2; ok=1; continue
    fi
    restores_to "$dir/$found" "$day" || { echo "day $day: $found does not restore" >&2; ok=1; }
  done
  [[ -z $(find "$dir" -name '*pvediff-tmp*') ]] || { echo "temporary files left" >&2; ok=1; }
  return $ok
}
