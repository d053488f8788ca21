#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""How small a VMA differential can be when only the changed clusters are matched,
and against which part of the full (docs/engine.md, "The records route for backup
ARCHIVE": what it must find).

A differential written from a full's cluster records copies every cluster whose
device, number, mask and bytes are the full's, without reading it; only the changed
clusters are encoded, against what of the full is fetched for them. This script
measures, with stock `xdelta3 -e -9` (its default secondary compression, LZMA in
Debian's build; zstd on top gains nothing), the changed clusters of NEW encoded
against:

  own        each changed cluster's old version (same device and cluster number);
  blocks-N   the same, plus every old cluster holding one of its 4 KiB blocks (every
             block looked up), and N neighbours of each by number on either side;
  sampled-N  the same with one block in 32 looked up, as the chunk index's anchors
             hold them;
  full       the whole full (an upper bound for any lookup while the full fits in
             the 1 GiB that `xdelta3 -B` looks at).

  records_estimate.py FULL.vma NEW.vma [--workdir DIR] [--neighbours 0,4]

Prints one line per base: its size, and the differential's size. Raw VMAs only.
"""
import argparse
import hashlib
import os
import struct
import subprocess
import tempfile

BLOCK = 4096


def clusters_of(path):
    """{(dev, cluster): (offset of its stored blocks, mask, length)} and their order."""
    found, order = {}, []
    with open(path, "rb") as f:
        header_size = struct.unpack_from(">I", f.read(60), 56)[0]
        f.seek(header_size)
        at = header_size
        while True:
            extent = f.read(512)
            if len(extent) < 512:
                break
            if extent[:4] != b"VMAE":
                raise SystemExit(f"{path}: no extent at {at}")
            at += 512
            for info in struct.unpack_from(">59Q", extent, 40):
                if info == 0:
                    continue
                mask, dev, cluster = info >> 48, (info >> 32) & 0xFF, info & 0xFFFFFFFF
                length = bin(mask).count("1") * BLOCK
                found[(dev, cluster)] = (at, mask, length)
                order.append((dev, cluster))
                f.seek(length, 1)
                at += length
    return found, order


def read(f, where):
    f.seek(where[0])
    return f.read(where[2])


def block_key(block):
    return hashlib.blake2b(block, digest_size=8).digest()


def xdelta_size(source, target, workdir):
    out = os.path.join(workdir, "delta.vcdiff")
    subprocess.run(["xdelta3", "-e", "-9", "-f", "-B", str(1 << 30), "-s", source, target, out], check=True)
    size = os.path.getsize(out)
    os.remove(out)
    return size


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("full")
    ap.add_argument("new")
    ap.add_argument("--workdir", default="")
    ap.add_argument("--neighbours", default="0,4")
    a = ap.parse_args()
    workdir = a.workdir or tempfile.mkdtemp(prefix="records-estimate-")
    old, old_order = clusters_of(a.full)
    new, new_order = clusters_of(a.new)
    full_f, new_f = open(a.full, "rb"), open(a.new, "rb")

    # The changed clusters, and every 4 KiB block of the full by its key.
    changed, changed_bytes = [], 0
    target = os.path.join(workdir, "changed.bin")
    with open(target, "wb") as out:
        for k in new_order:
            data = read(new_f, new[k])
            if k in old and old[k][1] == new[k][1] and read(full_f, old[k]) == data:
                continue
            changed.append((k, data))
            changed_bytes += len(data)
            out.write(data)
    every, sampled = {}, {}
    for k in old_order:
        data = read(full_f, old[k])
        for i in range(0, len(data), BLOCK):
            key = block_key(data[i:i + BLOCK])
            every.setdefault(key, k)
            if key[0] % 32 == 0:
                sampled.setdefault(key, k)
    print(f"{a.new}: {len(new_order)} clusters, {len(changed)} changed ({changed_bytes} bytes stored)")

    def base(name, lookup, neighbours):
        wanted, seen = [], set()
        for k, data in changed:
            near = [k]
            if lookup is not None:
                for i in range(0, len(data), BLOCK):
                    hit = lookup.get(block_key(data[i:i + BLOCK]))
                    if hit:
                        near += [(hit[0], hit[1] + j) for j in range(-neighbours, neighbours + 1)]
            for w in near:
                if w in old and w not in seen:
                    seen.add(w)
                    wanted.append(w)
        source = os.path.join(workdir, "base.bin")
        with open(source, "wb") as out:
            for w in wanted:
                out.write(read(full_f, old[w]))
        print(f"{name:12} base {os.path.getsize(source):>12} B  differential {xdelta_size(source, target, workdir):>10} B")
        os.remove(source)

    base("own", None, 0)
    for n in (int(x) for x in a.neighbours.split(",")):
        base(f"blocks-{n}", every, n)
        base(f"sampled-{n}", sampled, n)
    print(f"{'full':12} base {os.path.getsize(a.full):>12} B  differential {xdelta_size(a.full, target, workdir):>10} B")
    os.remove(target)


if __name__ == "__main__":
    main()
