#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""Streams a container-like tar of any size to stdout, never stored uncompressed
(pipe it into `zstd -3`): for the scale table of docs/engine.md, where a 32 GiB tree
would not fit on disk.

  gen_stream.py --size 8G --day 1 | zstd -3 -T1 -q -o day1.tar.zst
  gen_stream.py --size 8G --day 2 | zstd -3 -T1 -q -o day2.tar.zst

Files are drawn (seeded) from a pool of real files under /usr (--pool-bytes of them),
so sizes and content compress like a system's. Each copy of a pool file goes through
one of 4096 byte permutations (chosen by its file id): the same pool file under two
permutations shares no string, so a guest of 32 GiB drawn from a 512 MiB pool holds
unique content (the index grows with the guest, and the snippet scan and fine matching
do not find every file 64 times over), while zstd compresses it exactly as the pool
(a permutation changes the symbols, not the matches or their statistics).

Day 2 is day 1 with, per file (seeded, so both days agree): 1 % removed, 0.5 %
rewritten (another pool file under a permutation day 1 never used; --churn multiplies
both, for a plan with more items per GiB than a guest of that size), and a new
directory of 2.5 % of the size (fresh content too) inserted early (it sorts before the
rest), as bench/gen_day2.py does to the benchmark's trees.
"""
import argparse
import os
import random
import sys
import tarfile

def parse_size(text):
    units = {"K": 1 << 10, "M": 1 << 20, "G": 1 << 30, "T": 1 << 40}
    if text[-1].upper() in units:
        return int(float(text[:-1]) * units[text[-1].upper()])
    return int(text)


def load_pool(limit, seed):
    paths = []
    for root, dirs, files in os.walk("/usr"):
        dirs.sort()
        for f in sorted(files):
            p = os.path.join(root, f)
            if os.path.isfile(p) and not os.path.islink(p):
                paths.append(p)
    rng = random.Random(seed)
    rng.shuffle(paths)
    pool, total = [], 0
    for p in paths:
        try:
            with open(p, "rb") as fh:
                data = fh.read(8 << 20)
        except OSError:
            continue
        if len(data) < 64:
            continue
        pool.append(data)
        total += len(data)
        if total >= limit:
            break
    return pool


PERMUTATIONS = 4096


def make_permutations(seed, count=PERMUTATIONS):
    rng = random.Random(seed * 1000 + 4)
    tables = []
    for _ in range(count + 1):  # the last one: day 2's fresh content
        t = list(range(256))
        rng.shuffle(t)
        tables.append(bytes(t))
    return tables


class Emitter:
    def __init__(self, out):
        self.tar = tarfile.open(fileobj=out, mode="w|", format=tarfile.GNU_FORMAT)

    def add(self, name, data):
        info = tarfile.TarInfo(name)
        info.size = len(data)
        info.mtime = 1795651200
        info.mode = 0o644
        self.tar.addfile(info, _Reader(data))

    def close(self):
        self.tar.close()


class _Reader:
    def __init__(self, data):
        self.data, self.pos = data, 0

    def read(self, n=-1):
        if n < 0:
            n = len(self.data) - self.pos
        out = self.data[self.pos:self.pos + n]
        self.pos += len(out)
        return out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--size", required=True, help="bytes of file content (K, M, G, T suffixes)")
    ap.add_argument("--day", type=int, choices=(1, 2), default=1)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--pool-bytes", default="512M")
    ap.add_argument("--permutations", type=int, default=PERMUTATIONS,
                    help="fewer: a smaller stream with as many files per permutation as a larger "
                         "one (files sharing content under the same permutation: the shape of "
                         "the patch scratch at 16-32 GiB, docs/engine.md)")
    ap.add_argument("--churn", type=float, default=1.0,
                    help="multiplies the share of files removed and rewritten on day 2")
    args = ap.parse_args()
    size = parse_size(args.size)
    pool = load_pool(parse_size(args.pool_bytes), args.seed)
    perms = make_permutations(args.seed, args.permutations)
    fresh = perms[args.permutations]
    out = sys.stdout.buffer
    emit = Emitter(out)

    # The plan of day 1's files (pool index per file id), the same for both days.
    plan_rng = random.Random(args.seed * 1000 + 1)
    change_rng = random.Random(args.seed * 1000 + 2)
    total, file_id = 0, 0
    if args.day == 2:
        new_rng = random.Random(args.seed * 1000 + 3)
        added = 0
        n = 0
        while added < size // 40:
            data = pool[new_rng.randrange(len(pool))]
            emit.add(f"opt/newpkg/f{n:07d}", data.translate(fresh))
            added += len(data)
            n += 1
    while total < size:
        k = plan_rng.randrange(len(pool))
        data = pool[k]
        fate = change_rng.random()
        name = f"usr/d{file_id // 1000:05d}/f{file_id:08d}"
        if args.day == 2 and fate < 0.01 * args.churn:
            pass  # removed
        elif args.day == 2 and fate < 0.015 * args.churn:
            emit.add(name, pool[(k + 7919) % len(pool)].translate(fresh))
        else:
            emit.add(name, data.translate(perms[file_id * 2654435761 % args.permutations]))
        total += len(data)
        file_id += 1
    emit.close()
    out.flush()


if __name__ == "__main__":
    main()
