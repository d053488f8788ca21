#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""pvediff against stock xdelta3 on the adversarial pairs (gen_adversarial.py).

  adversarial.py --pairs DIR --pvediff PATH [--max-ratio 1.02] [--out FILE.md] [--json FILE]

For each pair: `pvediff diff --compress zstd` (its differential as `backup` writes it:
zstd level 9, or 19 when the VCDIFF is at most 1 MiB) and `xdelta3 -e -s`, whose
output is compressed the same way (`zstd -9`, or `-19` at most 1 MiB). Both deltas are
decoded (`pvediff patch`, `xdelta3 -d`) and the result's SHA-256 compared with the new
file's. Prints a table (pair, sizes, ratio, times). Exit status 1 when a rebuilt file
is wrong or, with --max-ratio, when pvediff's differential is larger than that many
times xdelta3's.
"""
import argparse
import hashlib
import json
import os
import shlex
import subprocess
import sys
import time


def q(s):
    return shlex.quote(s)


def timed(cmd):
    t = time.monotonic()
    r = subprocess.run(["bash", "-c", "set -o pipefail; " + cmd], capture_output=True, text=True)
    if r.returncode != 0:
        raise RuntimeError(f"{cmd}: exit {r.returncode}: {r.stderr.strip()[-300:]}")
    return time.monotonic() - t


def sha(path):
    with open(path, "rb") as f:
        return hashlib.sha256(f.read()).hexdigest()


def zstd_like_pvediff(raw, out):
    """What pvediff's differential writer does: level 19 up to 1 MiB, else level 9."""
    level = 19 if os.path.getsize(raw) <= (1 << 20) else 9
    timed(f"zstd -q -f -{level} {q(raw)} -o {q(out)}")
    return os.path.getsize(out)


def run_pair(name, d, want, pvediff):
    base, new = os.path.join(d, "base"), os.path.join(d, "new")
    pd, xd, out = os.path.join(d, "p.vcdiff.zst"), os.path.join(d, "x.vcdiff"), os.path.join(d, "rebuilt")
    for p in (pd, xd, xd + ".zst", out):
        if os.path.exists(p):
            os.remove(p)
    row = {"pair": name, "base": os.path.getsize(base), "new": os.path.getsize(new)}
    row["p_diff_s"] = timed(f"{q(pvediff)} -q diff --compress zstd --base {q(base)} --new {q(new)} -o {q(pd)}")
    row["p_bytes"] = os.path.getsize(pd)
    timed(f"{q(pvediff)} -q patch --base {q(base)} --delta {q(pd)} -o {q(out)}")
    row["p_ok"] = sha(out) == want
    os.remove(out)
    row["x_diff_s"] = timed(f"xdelta3 -e -f -s {q(base)} {q(new)} {q(xd)}")
    row["x_bytes"] = zstd_like_pvediff(xd, xd + ".zst")
    timed(f"xdelta3 -d -f -s {q(base)} {q(xd)} {q(out)}")
    row["x_ok"] = sha(out) == want
    os.remove(out)
    row["ratio"] = row["p_bytes"] / row["x_bytes"]
    return row


def table(rows):
    lines = ["| pair | full / new bytes | pvediff bytes | xdelta3 bytes | ratio | pvediff diff s | xdelta3 -e s "
             "| rebuilt |", "|---|---:|---:|---:|---:|---:|---:|---|"]
    for r in rows:
        ok = "ok" if r["p_ok"] and r["x_ok"] else f"**WRONG** (pvediff {r['p_ok']}, xdelta3 {r['x_ok']})"
        lines.append(f"| {r['pair']} | {r['base']:,} / {r['new']:,} | {r['p_bytes']:,} | {r['x_bytes']:,} "
                     f"| {r['ratio']:.3f} | {r['p_diff_s']:.2f} | {r['x_diff_s']:.2f} | {ok} |")
    return "\n".join(lines) + "\n"


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--pairs", required=True, help="the directory gen_adversarial.py wrote")
    ap.add_argument("--pvediff", required=True)
    ap.add_argument("--max-ratio", type=float, default=0)
    ap.add_argument("--out", default="")
    ap.add_argument("--json", default="", help="the rows, for tests")
    a = ap.parse_args()
    with open(os.path.join(a.pairs, "pairs.json")) as f:
        pairs = json.load(f)
    rows = [run_pair(n, os.path.join(a.pairs, n), p["new_sha256"], a.pvediff) for n, p in pairs.items()]
    t = table(rows)
    print(t, flush=True)
    if a.out:
        os.makedirs(os.path.dirname(os.path.abspath(a.out)), exist_ok=True)
        with open(a.out, "w") as f:
            f.write(t)
    if a.json:
        with open(a.json, "w") as f:
            json.dump(rows, f, indent=1)
    bad = [r["pair"] for r in rows if not (r["p_ok"] and r["x_ok"])]
    worse = [r["pair"] for r in rows if a.max_ratio and r["ratio"] > a.max_ratio]
    if bad:
        print(f"adversarial: WRONG OUTPUT for {', '.join(bad)}", file=sys.stderr)
    if worse:
        print(f"adversarial: pvediff larger than {a.max_ratio} x xdelta3 for {', '.join(worse)}", file=sys.stderr)
    sys.exit(1 if bad or worse else 0)


if __name__ == "__main__":
    main()
