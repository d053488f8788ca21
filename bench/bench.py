#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""Measures pvediff and its peers on the pairs gen_data.py made; see README.md.

Every tool runs under `/usr/bin/time -f '%e %M'` and `timeout`, one at a time.
pvediff reads the .zst archives (its time includes decompressing them); the peers
read the decompressed archives (decompression not in their time: the floor row
shows what one decompression costs). Peers' deltas are compressed with zstd -3
(untimed) before their size is counted. Every rebuilt archive's SHA-256 is compared
with the original's.
"""
import argparse
import hashlib
import json
import os
import platform
import re
import shlex
import shutil
import subprocess
import sys
import time

T0 = time.time()
PAIRS = {  # name: (kind, base, new)
    "vma": ("vma", "vma/day1.vma", "vma/day2.vma"),
    "tar": ("tar", "tar/day1.tar", "tar/day2.tar"),
    "vma-unchanged": ("vma", "vma/day1.vma", "vma/day1b.vma"),
    "tar-unchanged": ("tar", "tar/day1.tar", "tar/day1b.tar"),
}


def log(msg):
    print(f"[{time.time() - T0:7.1f}s] bench: {msg}", file=sys.stderr, flush=True)


class Result:
    def __init__(self, status, wall=None, rss_kb=None, detail=""):
        self.status, self.wall, self.rss_kb, self.detail = status, wall, rss_kb, detail


def measure(cmd, timeout, cwd):
    """Runs cmd (a shell string) timed; status ok / timeout / fail."""
    tf = os.path.join(cwd, "time.out")
    full = ["/usr/bin/time", "-f", "%e %M", "-o", tf, "timeout", "-k", "10", str(timeout), "bash", "-c",
            "set -o pipefail; " + cmd]
    log(f"run: {cmd}")
    r = subprocess.run(full, cwd=cwd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    wall, rss = None, None
    try:
        with open(tf) as f:
            m = re.search(r"([\d.]+) (\d+)\s*$", f.read())
        wall, rss = float(m.group(1)), int(m.group(2))
    except (OSError, AttributeError):
        pass
    if r.returncode in (124, 137) or (wall is not None and wall >= timeout):
        return Result("timeout", wall, rss)
    if r.returncode != 0:
        err = r.stderr.strip().splitlines()
        log(f"failed ({r.returncode}): {err[-3:] if err else ''}")
        return Result("fail", wall, rss, err[-1] if err else f"exit {r.returncode}")
    return Result("ok", wall, rss)


def content_sha256(path):
    """SHA-256 of the file's content, decompressing it first if it is zstd, lzop or gzip."""
    with open(path, "rb") as f:
        magic = f.read(4)
    h = hashlib.sha256()
    tool = {b"\x28\xb5\x2f\xfd": ["zstd", "-dc", "--long=31"], b"\x89LZO": ["lzop", "-dc"]}.get(magic)
    if magic[:2] == b"\x1f\x8b":
        tool = ["gzip", "-dc"]
    if tool:
        p = subprocess.Popen(tool + [path], stdout=subprocess.PIPE)
        while chunk := p.stdout.read(1 << 20):
            h.update(chunk)
        if p.wait() != 0:
            return "zstd-error"
    else:
        with open(path, "rb") as f:
            while chunk := f.read(1 << 20):
                h.update(chunk)
    return h.hexdigest()


def pvediff_engines(pvediff):
    r = subprocess.run([pvediff, "diff", "--help"], capture_output=True, text=True)
    if r.returncode != 0:
        return []
    # The engine registry (include/pvediff/engine/delta.h): "chunked" (the default)
    # and "xdelta3" (plain streaming xdelta3, as the older add-on). An engine the
    # binary does not know shows up as a failed row.
    return ["chunked", "xdelta3"] if "--engine" in r.stdout + r.stderr else ["default"]


def pvediff_patch_cmd(pvediff, base, delta, out):
    # To standard output like every other row's rebuild: `-o FILE` would add an fsync
    # of the whole archive that the floor and the peers do not pay.
    r = subprocess.run([pvediff, "patch", "--help"], capture_output=True, text=True)
    text = r.stdout + r.stderr
    if "--delta" in text:
        return f"{q(pvediff)} patch --base {q(base)} --delta {q(delta)} -o - > {q(out)}"
    return f"{q(pvediff)} patch {q(base)} {q(delta)} -o {q(out)}"


def q(s):
    return shlex.quote(s)


def remove_stale(path):
    """A delta kept by an earlier run with --keep: `pvediff diff` refuses to replace it."""
    if os.path.exists(path):
        os.remove(path)


def run_pair(name, a, stamp, data, pvediff):
    kind, base_rel, new_rel = PAIRS[name]
    base, new = os.path.join(data, base_rel), os.path.join(data, new_rel)
    want_sha = stamp["archives"][new_rel]["sha256"]
    wd = os.path.join(a.workdir, "run", name)
    os.makedirs(wd, exist_ok=True)
    # Deltas kept by an earlier --keep run: pvediff refuses to replace a file (the peers
    # are run with -f), so a second run would measure only its refusals.
    for old in os.listdir(wd):
        if old.startswith("pvediff-") and ".vcdiff" in old:
            os.remove(os.path.join(wd, old))
    T = a.timeout
    rows = []  # dicts: tool, kind (floor|pvediff|peer|compat), delta, diff, restore, check

    def zsize(path):
        subprocess.run(["zstd", "-3", "-q", "-f", path, "-o", path + ".zst"], check=True)
        return os.path.getsize(path + ".zst")

    def restore(cmd, out, check_output=True):
        # The faster of two runs: on a VM whose host takes back the memory the guest
        # frees, a first run after a pause paid a second or more of system time for
        # touching memory again (bench/README.md), whichever tool it was.
        res = measure(cmd, T, wd)
        if res.status == "ok":
            if os.path.exists(out):
                os.remove(out)
            again = measure(cmd, T, wd)
            res = again if again.status != "ok" or again.wall < res.wall else res
        check = res.status  # fail / timeout: no rebuilt file to check
        if res.status == "ok" and check_output:
            got = content_sha256(out)
            check = "ok" if got == want_sha else "WRONG OUTPUT"
            if check != "ok":
                log(f"!!! {name}: rebuilt file {out} has SHA-256 {got}, expected {want_sha}")
        if os.path.exists(out):
            os.remove(out)
        return res, check

    out = os.path.join(wd, "rebuilt")
    floor = measure(f"zstd -dc {q(new)}.zst > /dev/null", T, wd)
    # Into the same file as every rebuild (none is synced), so that what writing the
    # archive costs is on both sides of the ratio.
    floor_r = restore(f"zstd -dc {q(base)}.zst > {q(out)}", out, check_output=False)[0]
    rows.append({"tool": "floor: zstd -dc (new / full)", "kind": "floor", "delta": None, "diff": floor,
                 "restore": floor_r, "check": "-"})

    if pvediff:
        for eng in pvediff_engines(pvediff):
            d = os.path.join(wd, f"pvediff-{eng}.vcdiff.zst")
            remove_stale(d)
            eopt = "" if eng == "default" else f" --engine {eng}"
            res = measure(f"{q(pvediff)} diff{eopt} --base {q(base)}.zst --new {q(new)}.zst -o {q(d)}", T, wd)
            if res.status == "fail" and "unknown delta engine" in res.detail:
                log(f"pvediff has no engine {eng}: row left out")
                continue
            row = {"tool": f"pvediff diff/patch{eopt}", "kind": "pvediff", "diff": res,
                   "delta": os.path.getsize(d) if res.status == "ok" and os.path.exists(d) else None}
            if row["delta"] is not None:
                row["restore"], row["check"] = restore(pvediff_patch_cmd(pvediff, base + ".zst", d, out), out)
                rows.append(row)
                # No lock-in: stock xdelta3 must decode pvediff's delta too.
                res2, check2 = restore(f"zstd -dc {q(d)} | xdelta3 -d -f -c -s {q(base)} > {q(out)}", out)
                rows.append({"tool": f"  xdelta3 -d of pvediff{eopt} delta", "kind": "compat", "delta": None,
                             "diff": None, "restore": res2, "check": check2})
            else:
                row["restore"], row["check"] = None, "-"
                rows.append(row)
            if not a.keep and os.path.exists(d):
                os.remove(d)

    if pvediff:
        # The usual case: `backup` stored the full's chunk index when it kept the full,
        # and wrote a VMA full again in zstd frames (frame-fulls, the default). Keep a
        # hard link of the full under a vzdump name in a scratch dump dir (the frames
        # replace the link, not the data file); the row "keep" is that one-off cost.
        dump = os.path.join(wd, "dumpdir")
        shutil.rmtree(dump, ignore_errors=True)
        os.makedirs(dump)
        full = os.path.join(dump, "vzdump-%s-100-2026_01_01-00_00_00.%s.zst" % (
            "qemu" if kind == "vma" else "lxc", kind))
        os.link(base + ".zst", full)
        conf = os.path.join(wd, "pvediff.conf")
        with open(conf, "w") as f:
            # fullbackup: 0 means "pvediff does nothing"; any other value keeps the
            # guest's first archive as its full and stores the index beside it.
            f.write("fullbackup: 7\n")
        res = measure(f"{q(pvediff)} --config {q(conf)} backup {q(full)}", T, wd)
        index_file = full + ".pvediff-index"
        index_mb = os.path.getsize(index_file) / 1e6 if os.path.exists(index_file) else 0
        framed = ", written in frames" if os.path.exists(full + ".pvediff-vma-clusters") else ""
        rows.append({"tool": f"pvediff: keep the full once ({index_mb:.2f} MB index{framed})", "kind": "pvediff",
                     "delta": None, "diff": res, "restore": None, "check": "-"})
        d = os.path.join(wd, "pvediff-stored.vcdiff.zst")
        remove_stale(d)
        res = measure(f"{q(pvediff)} diff --base {q(full)} --new {q(new)}.zst -o {q(d)}", T, wd)
        row = {"tool": "pvediff diff/patch, stored index", "kind": "pvediff", "diff": res,
               "delta": os.path.getsize(d) if res.status == "ok" and os.path.exists(d) else None}
        row["restore"], row["check"] = (restore(pvediff_patch_cmd(pvediff, full, d, out), out)
                                        if row["delta"] is not None else (None, "-"))
        rows.append(row)
        # What an administrator waits for: `backup ARCHIVE` of the next day's archive
        # (encode, proof that the differential rebuilds it, commit, the archive
        # deleted: here a hard link) and `restore DIFF -o -` with its content checks
        # (the rebuilt archive's digest against the differential's manifest).
        day2 = os.path.join(dump, os.path.basename(full).replace("2026_01_01", "2026_01_02"))
        os.link(new + ".zst", day2)
        res = measure(f"{q(pvediff)} --config {q(conf)} backup {q(day2)}", T, wd)
        made = [f for f in os.listdir(dump) if "--differential-" in f and f.endswith(".vcdiff.zst")]
        row = {"tool": "pvediff backup ARCHIVE / restore DIFF -o -", "kind": "pvediff", "diff": res,
               "delta": os.path.getsize(os.path.join(dump, made[0])) if res.status == "ok" and made else None}
        row["restore"], row["check"] = (
            restore(f"{q(pvediff)} --config {q(conf)} restore {q(os.path.join(dump, made[0]))} -o - > {q(out)}",
                    out)
            if row["delta"] is not None else (None, "-"))
        rows.append(row)
        if not a.keep:
            shutil.rmtree(dump, ignore_errors=True)
            if os.path.exists(d):
                os.remove(d)

    if pvediff and os.path.exists(base + ".lzo") and os.path.exists(new + ".lzo"):
        # The same pair as vzdump's lzo archives: only decompression differs.
        fl = measure(f"lzop -dc {q(new)}.lzo > /dev/null", T, wd)
        fl_r = restore(f"lzop -dc {q(base)}.lzo > {q(out)}", out, check_output=False)[0]
        rows.append({"tool": "lzop -dc (new / full)", "kind": "info", "delta": None, "diff": fl,
                     "restore": fl_r, "check": "-"})
        d = os.path.join(wd, "pvediff-lzo.vcdiff.lzo")
        res = measure(f"{q(pvediff)} diff --base {q(base)}.lzo --new {q(new)}.lzo -o {q(d)}", T, wd)
        row = {"tool": "pvediff diff/patch, .lzo archives", "kind": "pvediff", "diff": res, "restore": None,
               "check": "-", "delta": os.path.getsize(d) if res.status == "ok" and os.path.exists(d) else None}
        if row["delta"] is not None:
            row["restore"], row["check"] = restore(pvediff_patch_cmd(pvediff, base + ".lzo", d, out), out)
        rows.append(row)
        if os.path.exists(d):
            os.remove(d)

    for label, bopt in (("xdelta3 -e (default)", ""), ("xdelta3 -e -B 1073741824", " -B 1073741824")):
        d = os.path.join(wd, "x.vcdiff")
        res = measure(f"xdelta3 -e -f{bopt} -s {q(base)} {q(new)} {q(d)}", T, wd)
        row = {"tool": label, "kind": "peer", "diff": res, "delta": None, "restore": None, "check": "-"}
        if res.status == "ok":
            row["delta"] = zsize(d)
            row["restore"], row["check"] = restore(
                f"zstd -dc {q(d)}.zst | xdelta3 -d -f -c{bopt} -s {q(base)} > {q(out)}", out)
        rows.append(row)
        for p in (d, d + ".zst"):
            if os.path.exists(p):
                os.remove(p)

    d = os.path.join(wd, "z.zst")
    res = measure(f"zstd -3 -q -f -T1 --long=31 --patch-from={q(base)} {q(new)} -o {q(d)}", T, wd)
    row = {"tool": "zstd --patch-from --long=31", "kind": "peer", "diff": res, "delta": None, "restore": None,
           "check": "-"}
    if res.status == "ok":
        row["delta"] = os.path.getsize(d)
        row["restore"], row["check"] = restore(
            f"zstd -d -q -f --long=31 --patch-from={q(base)} {q(d)} -o {q(out)}", out)
    rows.append(row)
    if os.path.exists(d):
        os.remove(d)

    sig, d = os.path.join(wd, "r.sig"), os.path.join(wd, "r.delta")
    res = measure(f"rdiff signature {q(base)} {q(sig)} && rdiff delta {q(sig)} {q(new)} {q(d)}", T, wd)
    row = {"tool": "rdiff signature + delta", "kind": "peer", "diff": res, "delta": None, "restore": None,
           "check": "-"}
    if res.status == "ok":
        row["delta"] = zsize(d)
        row["restore"], row["check"] = restore(f"zstd -dc {q(d)}.zst | rdiff patch {q(base)} - {q(out)}", out)
    rows.append(row)
    for p in (sig, d, d + ".zst"):
        if os.path.exists(p):
            os.remove(p)
    return rows


def fmt_mb(n):
    return "-" if n is None else f"{n / 1e6:,.1f}"


def fmt_res(r):
    if r is None:
        return "-", "-"
    if r.status != "ok":
        return r.status + (f" ({r.wall:.0f} s)" if r.wall else ""), "-" if r.rss_kb is None else f"{r.rss_kb / 1024:,.0f}"
    return f"{r.wall:.1f}", f"{r.rss_kb / 1024:,.0f}"


def table(name, rows, stamp):
    kind, base_rel, new_rel = PAIRS[name]
    peers = [r["delta"] for r in rows if r["kind"] == "peer" and r["delta"] is not None and r["check"] == "ok"]
    best = min(peers) if peers else None
    floor = rows[0]["diff"].wall if rows[0]["diff"].status == "ok" else None
    floor_r = rows[0]["restore"].wall if rows[0]["restore"].status == "ok" else None
    b, n = stamp["archives"][base_rel], stamp["archives"][new_rel]
    lines = [f"### {name}: {base_rel} -> {new_rel}", "",
             f"full {b['raw'] / 1e6:,.0f} MB raw / {b['zst'] / 1e6:,.0f} MB zst; new {n['raw'] / 1e6:,.0f} MB raw"
             f" / {n['zst'] / 1e6:,.0f} MB zst", "",
             "| tool | delta MB (zst) | size / best peer | diff s | diff RSS MB | diff / floor "
             "| restore s | restore RSS MB | restore / floor | SHA-256 |",
             "|---|---:|---:|---:|---:|---:|---:|---:|---:|---|"]
    for r in rows:
        dt, dm = fmt_res(r["diff"])
        rt, rm = fmt_res(r["restore"])
        ratio = "-" if best is None or r["delta"] is None else f"{r['delta'] / best:.2f}"
        dr = "-" if not floor or r["diff"] is None or r["diff"].status != "ok" else f"{r['diff'].wall / floor:.1f}"
        rr = "-" if not floor_r or r["restore"] is None or r["restore"].status != "ok" \
            else f"{r['restore'].wall / floor_r:.1f}"
        check = r["check"] if r["check"] != "WRONG OUTPUT" else "**WRONG OUTPUT**"
        lines.append(f"| {r['tool']} | {fmt_mb(r['delta'])} | {ratio} | {dt} | {dm} | {dr} | {rt} | {rm} | {rr} "
                     f"| {check} |")
    return "\n".join(lines) + "\n"


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--workdir", required=True)
    ap.add_argument("--pairs", default="vma,tar,vma-unchanged,tar-unchanged")
    ap.add_argument("--pvediff", default="")
    ap.add_argument("--timeout", type=int, default=900)
    ap.add_argument("--keep", action="store_true")
    ap.add_argument("--out", required=True, help="results.md")
    a = ap.parse_args()
    data = os.path.join(a.workdir, "data")
    with open(os.path.join(data, "data.json")) as f:
        stamp = json.load(f)
    if a.pvediff and subprocess.run([a.pvediff, "diff", "--help"], capture_output=True).returncode != 0:
        log(f"!!! {a.pvediff} has no working `diff` command: pvediff rows left out")
        a.pvediff = ""
    pairs = [p for p in a.pairs.split(",") if p]
    wrong = False
    parts = []
    for name in pairs:
        log(f"pair {name}")
        rows = run_pair(name, a, stamp, data, a.pvediff)
        wrong |= any(r["check"] == "WRONG OUTPUT" for r in rows)
        t = table(name, rows, stamp)
        print("\n" + t, flush=True)
        parts.append(t)
        # Written after every pair, so a long run shows its results as it goes.
        write_results(a, stamp, parts, wrong, done=len(parts) == len(pairs))
    log(f"wrote {a.out}")
    if wrong:
        print("\n!!! WRONG OUTPUT: a rebuilt archive does not match the original's SHA-256 !!!\n", file=sys.stderr)
        sys.exit(1)


def write_results(a, stamp, parts, wrong, done):
    cpu = ""
    try:
        with open("/proc/cpuinfo") as f:
            cpu = next(l.split(":", 1)[1].strip() for l in f if l.startswith("model name"))
    except (OSError, StopIteration):
        pass
    head = ["# pvediff benchmark results", "",
            f"{time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}; {os.cpu_count()} CPUs ({cpu}); "
            f"{platform.platform()}; archives of about {stamp['size'] / 1e6:,.0f} MB; VMAs written by "
            f"{stamp.get('gen_vma', '?')}; timeout {a.timeout} s per command.", "",
            "How to read: see bench/README.md. Sizes in MB (10^6 bytes); RSS is the peak of the largest "
            "process; floor = `zstd -dc` of the new archive (diff) and of the full (restore); peers read "
            "decompressed archives, pvediff reads the .zst files.", ""]
    if wrong:
        head += ["**!!! AT LEAST ONE TOOL PRODUCED WRONG OUTPUT (see the SHA-256 column) !!!**", ""]
    if not done:
        head += ["*(run in progress: more pairs to come)*", ""]
    os.makedirs(os.path.dirname(a.out), exist_ok=True)
    with open(a.out + ".part", "w") as f:
        f.write("\n".join(head) + "\n" + "\n".join(parts))
    os.replace(a.out + ".part", a.out)


if __name__ == "__main__":
    main()
