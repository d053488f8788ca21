#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-or-later
# Concurrency: six loops at once on one dump dir for a few seconds: file-mode backups of
# one VMID from two loops (the same guest at once), stream-mode backups of two more
# VMIDs, prune, verify and list. Where mounts are allowed, half the loops reach the dump
# dir through a bind mount under another path and another host name ("a second node":
# the lock must hold by file, not by path). Every command runs under `timeout` (a
# deadlock fails the test). Afterwards: nothing lost (every backup made is still there
# with its content, or a prune run reported removing it), every differential restores,
# every full matches its manifest, verify passes, no temporaries.
# PVEDIFF_LONG=1 runs the loops for 60 s instead of 6 (PVEDIFF_CONCURRENCY_SECONDS=N).
source "${PVEDIFF_TEST_LIB:?}/common.sh" || exit 1

seconds=6
[[ ${PVEDIFF_LONG:-0} == 1 ]] && seconds=60
seconds=${PVEDIFF_CONCURRENCY_SECONDS:-$seconds}
limit=120  # seconds any single command may take before it counts as a deadlock

mounts=()
trap 'rc=$?; set +e; for m in "${mounts[@]}"; do umount "$m" 2>/dev/null || umount -l "$m" || true; done; (exit $rc); finish' EXIT

dump=$WORK/dump
mkdir -p "$dump" "$WORK/log"
conf=$WORK/pvediff.conf
# A new full every 2 days of backup time; backups are 6 hours apart.
printf 'fullbackup: 2\nmax-diff-ratio: 0.95\nlock-timeout: 100\n' >"$conf"

# Second "node": the same dir under another path (bind mount), if mounts work here.
node2=$dump
if mkdir -p "$WORK/node2" && mount --bind "$dump" "$WORK/node2" 2>/dev/null; then
  mounts+=("$WORK/node2")
  node2=$WORK/node2
  echo "second node: $node2 (bind mount of $dump), host name node2 where unshare -u works"
else
  echo "second node: not simulated (bind mount not permitted); all loops use $dump"
fi
# Runs a command as "node2": own UTS namespace with host name node2 (the lock file
# records the holder's host), when that is allowed. A script, so `timeout` can run it.
as_node2=$WORK/as-node2
if [[ $node2 != "$dump" ]] && unshare -u true 2>/dev/null; then
  printf '#!/bin/sh\nexec unshare -u sh -c %s _ "$@"\n' "'hostname node2 && exec \"\$@\"'" >"$as_node2"
else
  printf '#!/bin/sh\nexec "$@"\n' >"$as_node2"
fi
chmod +x "$as_node2"

# Three guest contents (small VMAs), three variants each, compressed once.
t0=1790000000
for vmid in 601 602 603; do
  img=$WORK/img-$vmid
  truncate -s 4M "$img"
  (set +o pipefail; find /usr/share/doc -type f -size -64k 2>/dev/null | head -$((100 + vmid % 10 * 20)) | xargs cat 2>/dev/null |
    head -c 3M | dd of="$img" conv=notrunc status=none)
  for v in 0 1 2; do
    head -c 8192 /dev/urandom | dd of="$img" bs=4096 seek=$((v * 97 + 5)) conv=notrunc status=none
    "$PVEDIFF" dev-make-vma --image "$img" --order-seed "$v" --ctime "$t0" -o "$WORK/v-$vmid-$v.vma"
    zstd -q -c "$WORK/v-$vmid-$v.vma" >"$WORK/v-$vmid-$v.vma.zst"
    sha256sum <"$WORK/v-$vmid-$v.vma" | cut -d' ' -f1 >"$WORK/v-$vmid-$v.sha"
  done
done

# Backup times: one counter for all loops, so every backup has its own time (6 h apart).
echo 0 >"$WORK/counter"
next_time() {
  (
    flock 9
    n=$(($(cat "$WORK/counter") + 1))
    echo "$n" >"$WORK/counter"
    echo $((t0 + n * 21600))
  ) 9>"$WORK/counter.lock"
}

# run NAME CMD...: one command under timeout; its status and output go to the loop's log.
run() {
  local name=$1 rc=0
  shift
  timeout "$limit" "$@" >>"$WORK/log/$name.out" 2>&1 || rc=$?
  echo "$rc" >>"$WORK/log/$name.rc"
  echo "### exit $rc" >>"$WORK/log/$name.out"
  return 0
}

end=$((SECONDS + seconds))
file_loop() {  # name dir vmid
  local name=$1 dir=$2 vmid=$3 i=0 t v file
  while ((SECONDS < end)); do
    t=$(next_time); v=$((i % 3)); i=$((i + 1))
    file=vzdump-qemu-$vmid-$(stamp_of "$t").vma.zst
    # As vzdump does: written as .dat, renamed when complete.
    cp "$WORK/v-$vmid-$v.vma.zst" "$dir/${file%.zst}.dat"
    mv "$dir/${file%.zst}.dat" "$dir/$file"
    echo "$vmid $(stamp_of "$t") $(cat "$WORK/v-$vmid-$v.sha")" >>"$WORK/log/made"
    if [[ $dir == "$node2" ]]; then
      run "$name" "$as_node2" "$PVEDIFF" --config "$conf" backup "$dir/$file"
    else
      run "$name" "$PVEDIFF" --config "$conf" backup "$dir/$file"
    fi
  done
}
stream_loop() {  # name dir
  local name=$1 dir=$2 i=0 t v vmid
  while ((SECONDS < end)); do
    vmid=$((602 + i % 2)); v=$((i / 2 % 3)); i=$((i + 1))
    t=$(next_time)
    echo "$vmid $(stamp_of "$t") $(cat "$WORK/v-$vmid-$v.sha")" >>"$WORK/log/made"
    run "$name" bash -c 'zstd -q -dc "$1" | exec "${@:2}"' _ "$WORK/v-$vmid-$v.vma.zst" \
      "$PVEDIFF" --config "$conf" backup - --vmid "$vmid" --type qemu --dumpdir "$dir" --now "$t"
  done
}
cmd_loop() {  # name cmd...
  local name=$1
  shift
  while ((SECONDS < end)); do run "$name" "$@"; sleep 0.1; done
}

pids=()
file_loop backup-601-a "$dump" 601 & pids+=($!)
file_loop backup-601-b "$node2" 601 & pids+=($!)
stream_loop stream-602-603 "$dump" & pids+=($!)
cmd_loop prune "$as_node2" "$PVEDIFF" --config "$conf" prune "$node2" --keep-last 3 & pids+=($!)
cmd_loop verify "$PVEDIFF" --config "$conf" verify --json "$dump" & pids+=($!)
cmd_loop list "$PVEDIFF" --config "$conf" list "$node2" & pids+=($!)
for p in "${pids[@]}"; do wait "$p"; done

# --- afterwards ----------------------------------------------------------------------
count() { [[ -f $WORK/log/$1.rc ]] && grep -c "${2:-}" "$WORK/log/$1.rc" || echo 0; }
for name in backup-601-a backup-601-b stream-602-603 prune verify list; do
  total=$(wc -l <"$WORK/log/$name.rc" 2>/dev/null || echo 0)
  timeouts=$(grep -cx 124 "$WORK/log/$name.rc" || true)
  signals=$(awk '$1 >= 128' "$WORK/log/$name.rc" | wc -l)
  okruns=$(grep -cx 0 "$WORK/log/$name.rc" || true)
  echo "figures: $name: $total runs, $okruns exit 0, $timeouts timed out, $signals killed by a signal"
  check "$name: ran at least once" test "$total" -gt 0
  check "$name: no deadlock (no run hit the ${limit}s timeout)" test "$timeouts" -eq 0
  check "$name: no crash (no run died by a signal)" test "$signals" -eq 0
  case $name in
    verify) ;;  # judged below: it takes no lock, so a prune may pull a file from under it
    *) check "$name: every run succeeded" test "$okruns" -eq "$total"
       ((okruns == total)) || grep -h 'error' "$WORK/log/$name.out" | sort | uniq -c | head -5 >&2 ;;
  esac
done
# A verify run may only fail on a file that a concurrent prune removed, and only by
# reporting it (exit 1), never by an error (exit 3).
verrors=$(grep -cvx '[01]' "$WORK/log/verify.rc" || true)
check "verify: no run ended in an error ($verrors did)" test "$verrors" -eq 0
((verrors == 0)) || grep -h 'error' "$WORK/log/verify.out" | sort | uniq -c | head -5 >&2
vfail=$(grep -cx 1 "$WORK/log/verify.rc" || true)
if ((vfail > 0)); then
  python3 - "$WORK/log/verify.out" "$dump" >"$WORK/verify-real" 2>"$WORK/verify-gone" <<'PY'
import json, os, sys, re
text = open(sys.argv[1], encoding="utf-8", errors="replace").read()
# Each run prints one JSON object, then run() adds "### exit N".
for chunk, rc in re.findall(r'(?s)(.*?)^### exit (\d+)\n', text, re.M):
    chunk = chunk.strip()
    if rc == "0":
        continue
    try:
        doc = json.loads(chunk)
    except ValueError:
        print("exit " + rc + ", unparsable verify output: " + chunk[:300])
        continue
    if not any(not f["ok"] for f in doc["files"]):
        print("exit " + rc + " with no failed file: " + chunk[:300])
    for f in doc["files"]:
        if f["ok"]:
            continue
        line = f["file"] + ": " + "; ".join(f["problems"])
        if os.path.exists(os.path.join(sys.argv[2], f["file"])):
            print(line)
        else:
            print(line, file=sys.stderr)
PY
  echo "figures: verify: $vfail runs failed while prune ran; on files pruned meanwhile, e.g.:"
  sort -u "$WORK/verify-gone" | head -3 | cut -c1-300 | sed 's/^/   /'
  echo "figures: verify: failures on files still present:"
  sed 's/^/   /' "$WORK/verify-real"
fi
check "verify during the loops failed only on files pruned meanwhile" test ! -s "${WORK}/verify-real"

# No loss: every backup made is here with its content, or a prune reported removing it.
removed=$(grep -ho 'remove \S*' "$WORK/log/prune.out" 2>/dev/null | awk '{print $2}' | sort -u || true)
made=0 present=0 pruned=0 lost=0 bad=0
while read -r vmid stamp want; do
  made=$((made + 1))
  full=$(find "$dump" -maxdepth 1 -name "vzdump-qemu-$vmid-$stamp.vma.zst" | head -1)
  diff=$(find "$dump" -maxdepth 1 -name "vzdump-qemu-$vmid-*--differential-$stamp.vcdiff*" ! -name '*.pvediff-*' ! -name '*.notes' | head -1)
  if [[ -n $full ]]; then
    present=$((present + 1))
    [[ $(content_sha "$full") == "$want" ]] || { bad=$((bad + 1)); fail "full $(basename "$full") has other content"; }
  elif [[ -n $diff ]]; then
    present=$((present + 1))
    got=$("$PVEDIFF" restore "$diff" -o - 2>/dev/null | sha256sum | cut -d' ' -f1)
    [[ $got == "$want" ]] || { bad=$((bad + 1)); fail "$(basename "$diff") does not restore to its backup"; }
  elif grep -q -- "-$vmid-$stamp\.\|--differential-$stamp\." <<<"$removed"; then
    pruned=$((pruned + 1))
  else
    lost=$((lost + 1)); fail "backup of $vmid at $stamp is gone without a prune removing it"
  fi
done <"$WORK/log/made"
echo "figures: $made backups made, $present present, $pruned removed by prune, $lost lost, $bad wrong content"
check "no backup lost" test "$lost" -eq 0
check "every remaining backup has its content" test "$bad" -eq 0
check "verify of the dump dir passes afterwards" bash -c '"$@" >/dev/null' _ "$PVEDIFF" --config "$conf" verify "$dump"
check "no temporaries remain" test -z "$(find "$dump" -name '.*.pvediff-tmp' -o -name '*.dat')"
check "no orphaned differential" bash -c '! "$1" --config "$2" list "$3" 2>&1 | grep -qi orphan' _ "$PVEDIFF" "$conf" "$dump"
