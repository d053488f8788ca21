#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""Adversarial pairs (issue 17): inputs that are not what the layout parsers expect.

  gen_adversarial.py --out DIR [--scale BYTES] [--pvediff PATH] [--only NAME,...]

Writes DIR/NAME/base and DIR/NAME/new for each pair below and DIR/pairs.json (name,
sizes, SHA-256 of new). Deterministic: the same --scale gives the same bytes. --scale
is the size of the larger archives (default 400000: the unit-sized test; the bench
uses 32 MB); the small pairs keep their sizes.

  tar-spliced     a GNU tar, day 2 with one member edited, then non-tar bytes spliced
                  into the middle of a member's data and between two members
  vma-damaged     a VMA of a disk image (`pvediff dev-make-vma`), day 2 with clusters
                  changed, then one extent header in the middle damaged
  binary          a plain binary file (neither tar nor VMA) with edits, insertions and
                  deletions
  small-4k / small-64k / small-1m
                  small files with a few edits
  periodic-shift  a periodic pattern (period 4093), day 2 shifted by one byte
  period7-shift   the same with a period of 7 bytes (every chunk alike)
  shuffled        binary data cut in blocks of 1/300 of it, day 2 the blocks shuffled
                  (a defragmented disk; many copies, where address coding matters)
"""
import argparse
import hashlib
import io
import json
import os
import random
import subprocess
import sys
import tarfile

WORDS = ("the of and to in is was for on that with as by at from this be are or have an which "
         "kernel module config value error warning user root system service disk backup restore "
         "archive cluster device block chunk index delta window copy zero data file path name "
         "0 1 2 3 4 5 6 7 8 9 10 42 100 255 1024 4096 65536").split()


def text(rng, n):
    """Log- or config-like text: words, numbers and new lines."""
    out, size = [], 0
    while size < n:
        line = " ".join(rng.choice(WORDS) for _ in range(rng.randint(3, 14))) + "\n"
        out.append(line)
        size += len(line)
    return "".join(out).encode()[:n]


def material(rng, n):
    """A mix like a disk or a binary: text, random (compressed) data, zeros, tables."""
    parts, size = [], 0
    while size < n:
        k = rng.randint(512, 16384)
        kind = rng.random()
        if kind < 0.4:
            b = text(rng, k)
        elif kind < 0.7:
            b = rng.randbytes(k)
        elif kind < 0.8:
            b = bytes(k)
        else:  # a table of little-endian records
            b = b"".join((i * 2654435761 & 0xFFFFFFFF).to_bytes(4, "little") + rng.randbytes(4)
                         for i in range(k // 8))
        parts.append(b)
        size += len(b)
    return b"".join(parts)[:n]


def edit(rng, data, edits, max_len=2000):
    """Replacements, insertions and deletions at `edits` random places."""
    b = bytearray(data)
    for _ in range(edits):
        at = rng.randrange(max(1, len(b)))
        n = rng.randint(1, max_len)
        op = rng.random()
        if op < 0.4:
            b[at:at + n] = material(rng, n)[:len(b[at:at + n])]
        elif op < 0.7:
            b[at:at] = material(rng, n)
        else:
            del b[at:at + n]
    return bytes(b)


def make_tar(files):
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.GNU_FORMAT) as t:
        for name, data in files:
            info = tarfile.TarInfo(name)
            info.size, info.mtime, info.mode, info.uid, info.gid = len(data), 1767225600, 0o644, 0, 0
            t.addfile(info, io.BytesIO(data))
    return buf.getvalue()


def tar_spliced(rng, scale):
    files, size = [], 0
    i = 0
    while size < scale:
        n = rng.randint(1000, max(2000, scale // 12))
        data = text(rng, n) if i % 2 else material(rng, n)
        files.append((f"./etc/file{i:03d}", data))
        size += n + 512
        i += 1
    base = make_tar(files)
    day2 = list(files)
    k = len(day2) // 3
    day2[k] = (day2[k][0], edit(rng, day2[k][1], 3, 500))
    new = bytearray(make_tar(day2))
    # Non-tar bytes in the middle of a member's data (header and padding unchanged, so
    # the parser loses step), then between two members (at a header boundary).
    mid = 512 + len(day2[0][1]) // 2
    new[mid:mid] = rng.randbytes(3000) + text(rng, 2011)
    hdr, at = 0, 0
    for j in range(len(day2) // 2 + 1):
        at = hdr
        hdr += 512 + (len(day2[j][1]) + 511) // 512 * 512
    at += 5011
    new[at:at] = b"NOT A TAR HEADER " * 150 + rng.randbytes(1234)
    return base, bytes(new)


def disk(rng, size):
    """A disk image: material with runs of zero 64 KiB clusters."""
    b = bytearray(material(rng, size))
    for c in range(0, size, 65536):
        if rng.random() < 0.25:
            b[c:c + 65536] = bytes(len(b[c:c + 65536]))
    return bytes(b)


def vma_damaged(rng, scale, pvediff, tmp):
    size = max(1 << 20, scale // 65536 * 65536)
    img1 = disk(rng, size)
    img2 = bytearray(img1)
    for _ in range(max(2, size // (1 << 20))):  # a few clusters rewritten in place
        c = rng.randrange(size // 65536) * 65536
        at = c + rng.randrange(16) * 4096
        img2[at:at + 4096] = material(rng, 4096)
    out = []
    for n, img in ((1, img1), (2, bytes(img2))):
        p = os.path.join(tmp, f"disk{n}.img")
        with open(p, "wb") as f:
            f.write(img)
        subprocess.run([pvediff, "dev-make-vma", "--image", p, "--order-seed", str(n), "--ctime",
                        str(1767225600 + n), "-o", p + ".vma"], check=True)
        with open(p + ".vma", "rb") as f:
            out.append(f.read())
        os.remove(p)
        os.remove(p + ".vma")
    base, new = out[0], bytearray(out[1])
    # The extents: header size at offset 56, then 512-byte headers and 4 KiB blocks.
    at, extents = int.from_bytes(new[56:60], "big"), []
    while at + 512 <= len(new):
        extents.append(at)
        at += 512 + 4096 * int.from_bytes(new[at + 6:at + 8], "big")
    e = extents[len(extents) // 2]
    new[e:e + 4] = b"XXXX"                         # magic
    new[e + 40:e + 80] = rng.randbytes(40)         # five block infos
    return base, bytes(new)


def binary(rng, scale):
    base = material(rng, scale)
    return base, edit(rng, base, 20)


def small(rng, n):
    base = text(rng, n // 2) + material(rng, n - n // 2)
    return base, edit(rng, base, 3, max(8, n // 64))


def shuffled(rng, scale):
    base = material(rng, scale)
    step = max(1000, scale // 300)
    blocks = [base[i:i + step] for i in range(0, len(base), step)]
    rng.shuffle(blocks)
    return base, b"".join(blocks)


def periodic(rng, scale, period_bytes=4093):
    period = rng.randbytes(period_bytes)
    base = (period * (scale // len(period) + 1))[:scale]
    return base, b"x" + base[:-1]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", required=True)
    ap.add_argument("--scale", type=int, default=400000)
    ap.add_argument("--pvediff", default="")
    ap.add_argument("--only", default="")
    a = ap.parse_args()
    makers = {
        "tar-spliced": lambda r: tar_spliced(r, a.scale),
        "vma-damaged": lambda r: vma_damaged(r, a.scale, a.pvediff, a.out),
        "binary": lambda r: binary(r, a.scale),
        "small-4k": lambda r: small(r, 4096),
        "small-64k": lambda r: small(r, 65536),
        "small-1m": lambda r: small(r, 1 << 20),
        "periodic-shift": lambda r: periodic(r, a.scale),
        "period7-shift": lambda r: periodic(r, a.scale, 7),
        "shuffled": lambda r: shuffled(r, a.scale),
    }
    wanted = [n for n in a.only.split(",") if n] or list(makers)
    if "vma-damaged" in wanted and not a.pvediff:
        print("gen_adversarial: vma-damaged needs --pvediff (dev-make-vma)", file=sys.stderr)
        sys.exit(2)
    os.makedirs(a.out, exist_ok=True)
    pairs = {}
    for name in wanted:
        rng = random.Random(f"{name}/{a.scale}")
        base, new = makers[name](rng)
        d = os.path.join(a.out, name)
        os.makedirs(d, exist_ok=True)
        for fn, data in (("base", base), ("new", new)):
            with open(os.path.join(d, fn), "wb") as f:
                f.write(data)
        pairs[name] = {"base": len(base), "new": len(new), "new_sha256": hashlib.sha256(new).hexdigest()}
    with open(os.path.join(a.out, "pairs.json"), "w") as f:
        json.dump(pairs, f, indent=1)


if __name__ == "__main__":
    main()
