#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""Generates the benchmark archives in WORKDIR/data (see README.md):

  tar/day1.tar  tar/day1b.tar (same content re-tarred)  tar/day2.tar
  vma/day1.vma  vma/day1b.vma (same image, new uuid and order)  vma/day2.vma

each with a .zst beside it (zstd -3, as vzdump), and data.json with sizes and the
SHA-256 of every raw archive. A later run with the same --size reuses the data.
"""
import argparse
import hashlib
import json
import os
import shutil
import struct
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
PART_OFFSET = 1 << 20
VMA_CTIME_BASE = 1795651200
STAMP_VERSION = 5  # 5: VMAs by `pvediff dev-make-vma` (one cluster-order model)
T0 = time.time()


def log(msg):
    print(f"[{time.time() - T0:7.1f}s] gen: {msg}", file=sys.stderr, flush=True)


def sh(*cmd, **kw):
    subprocess.run(list(cmd), check=True, **kw)


def sha256_file(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while chunk := f.read(1 << 20):
            h.update(chunk)
    return h.hexdigest()


def tar(tree, out):
    # GNU format as vzdump's tar writes; --sort=name makes archive order
    # reproducible (vzdump uses readdir order), so opt/ lands early in the archive.
    sh("tar", "--format=gnu", "--sort=name", "--numeric-owner", "--sparse", "-cf", out + ".part", "-C", tree, ".")
    os.rename(out + ".part", out)


def write_mbr(image, size):
    """One Linux partition from 1 MiB to the end, as an installer leaves it."""
    mbr = bytearray(512)
    struct.pack_into("<I", mbr, 440, 0x5E1F0B01)
    sectors = (size - PART_OFFSET) // 512
    struct.pack_into("<B3sB3sII", mbr, 446, 0, b"\x00\x02\x00", 0x83, b"\xfe\xff\xff",
                     PART_OFFSET // 512, sectors)
    mbr[510:512] = b"\x55\xaa"
    with open(image, "r+b") as f:
        f.write(mbr)


def make_image(tree, image):
    used = int(subprocess.run(["du", "-sb", tree], capture_output=True, text=True, check=True).stdout.split()[0])
    size = (used * 13 // 10 + (64 << 20)) // (1 << 20) * (1 << 20)  # ~25% free (zero) space
    if os.path.exists(image):
        os.remove(image)
    with open(image, "wb") as f:
        f.truncate(size)
    sh("mkfs.ext4", "-q", "-F", "-b", "4096", "-L", "rootfs", "-E", f"offset={PART_OFFSET},nodiscard",
       "-d", tree, image, f"{(size - PART_OFFSET) // 1024}k")
    write_mbr(image, size)


def gen_vma(pvediff, image, out, seed):
    # pvediff's own generator: the cluster order model of src/formats/vma_cluster_order.cpp
    # (docs/vma-format.md), a uuid from the seed, a ctime one day apart per seed.
    sh(pvediff, "dev-make-vma", "--image", image, "--order-seed", str(seed),
       "--ctime", str(VMA_CTIME_BASE + seed * 86400), "-o", out)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--workdir", required=True)
    ap.add_argument("--size", type=int, required=True, help="bytes per archive (about)")
    ap.add_argument("--kinds", default="tar,vma")
    ap.add_argument("--day2", type=int, default=1)
    ap.add_argument("--unchanged", type=int, default=1)
    ap.add_argument("--pvediff", default="", help="pvediff binary (writes the VMAs: dev-make-vma)")
    ap.add_argument("--lzo", type=int, default=1, help="also .vma.lzo of day 1 and day 2")
    ap.add_argument("--keep-sources", action="store_true", help="keep tree and disk images")
    a = ap.parse_args()
    kinds = a.kinds.split(",")
    if "vma" in kinds and not a.pvediff:
        sys.exit("gen_data.py: the VMA archives need --pvediff (pvediff dev-make-vma writes them)")
    data = os.path.join(a.workdir, "data")
    stamp_path = os.path.join(data, "data.json")
    want = []
    for k in kinds:
        ext = "tar" if k == "tar" else "vma"
        want.append(f"{k}/day1.{ext}")
        if a.unchanged:
            want.append(f"{k}/day1b.{ext}")
        if a.day2:
            want.append(f"{k}/day2.{ext}")
    if os.path.exists(stamp_path):
        with open(stamp_path) as f:
            stamp = json.load(f)
        if stamp.get("size") == a.size and stamp.get("version") == STAMP_VERSION and \
                all(w in stamp["archives"] for w in want):
            log(f"reusing data in {data}")
            return
    if os.path.exists(data):
        shutil.rmtree(data)
    os.makedirs(data)
    for k in kinds:
        os.makedirs(os.path.join(data, k))
    tree = os.path.join(data, "tree")
    pool = os.path.join(data, "pool.json")

    log(f"day-1 tree of {a.size >> 20} MiB from /usr and /etc")
    sh(sys.executable, os.path.join(HERE, "gen_tree.py"), "--size", str(a.size), "--out", tree, "--pool", pool)
    if "tar" in kinds:
        log("tar day 1")
        tar(tree, os.path.join(data, "tar/day1.tar"))
    sh(sys.executable, os.path.join(HERE, "gen_day2.py"), "touch", "--tree", tree)
    if "tar" in kinds and a.unchanged:
        log("tar day 1b (unchanged guest: same content, 20 files with a newer mtime)")
        tar(tree, os.path.join(data, "tar/day1b.tar"))
    img1 = os.path.join(data, "disk1.img")
    img2 = os.path.join(data, "disk2.img")
    if "vma" in kinds:
        log("ext4 disk image day 1 (mkfs.ext4 -d)")
        make_image(tree, img1)
    if a.day2:
        plan = os.path.join(data, "plan.json")
        log("day-2 plan")
        sh(sys.executable, os.path.join(HERE, "gen_day2.py"), "plan", "--tree", tree, "--pool", pool,
           "--stage", os.path.join(data, "stage"), "--plan", plan, "--size", str(a.size))
        if "vma" in kinds:
            log("day-2 image (debugfs -w, in-place database pages)")
            sh("cp", "--sparse=always", img1, img2)
            sh(sys.executable, os.path.join(HERE, "gen_day2.py"), "image", "--plan", plan, "--image", img2,
               "--offset", str(PART_OFFSET))
        if "tar" in kinds:
            log("day-2 tree and tar")
            sh(sys.executable, os.path.join(HERE, "gen_day2.py"), "tree", "--plan", plan, "--tree", tree)
            tar(tree, os.path.join(data, "tar/day2.tar"))
    if "vma" in kinds:
        log("VMA archives (pvediff dev-make-vma)")
        gen_vma(a.pvediff, img1, os.path.join(data, "vma/day1.vma"), 1)
        if a.unchanged:
            gen_vma(a.pvediff, img1, os.path.join(data, "vma/day1b.vma"), 2)
        if a.day2:
            gen_vma(a.pvediff, img2, os.path.join(data, "vma/day2.vma"), 3)
    archives = {}
    for w in want:
        p = os.path.join(data, w)
        log(f"zstd -3 and SHA-256 of {w}")
        sh("zstd", "-3", "-T2", "-q", "-f", p, "-o", p + ".zst")
        if a.lzo and w.endswith(".vma") and "day1b" not in w:
            sh("lzop", "-q", "-f", p, "-o", p + ".lzo")  # vzdump's lzo: lzop, default level
        archives[w] = {"raw": os.path.getsize(p), "zst": os.path.getsize(p + ".zst"), "sha256": sha256_file(p)}
    if not a.keep_sources:
        for p in (tree, img1, img2, os.path.join(data, "stage")):
            if os.path.isdir(p):
                shutil.rmtree(p)
            elif os.path.exists(p):
                os.remove(p)
    with open(stamp_path, "w") as f:
        json.dump({"version": STAMP_VERSION, "size": a.size, "archives": archives,
                   "gen_vma": "pvediff dev-make-vma"}, f, indent=1)
    log("done")


if __name__ == "__main__":
    main()
