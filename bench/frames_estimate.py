#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""How much of a framed VMA full a differential must decompress at least, if it reads
only the frames that hold its changed clusters' old versions (docs/engine.md, "The
way to the targets": how much of the full a sparse read still reads).

A zstd frame is decompressed from its start, so a route that fetches a changed
cluster's old version from the full reads the whole frame around it. This script
takes two sets of cluster records (`<full>.pvediff-vma-clusters`, docs/formats.md,
written when `backup` keeps a VMA full in frames): OLD, the full's, and NEW, those of
the new archive kept as a full in another dump dir. A cluster of NEW is changed when
the same (device, cluster) in OLD has another SHA-256. It prints how many there are,
the full's own frames (one per extent) that hold their old versions with those
frames' compressed bytes, and the same for frames of 64 KiB to 4 MiB of content.
Matching by content (chunk lookups, anchors, snippets) asks for more of the full, so
these are lower bounds.

  frames_estimate.py OLD.pvediff-vma-clusters NEW.pvediff-vma-clusters

The records are parsed without their checks (pvediff's reader does those): use it on
records pvediff wrote.
"""
import argparse
import struct

EXTENT_SLOTS = 59  # blockinfo slots of a VMA extent header
BLOCK = 4096


def read_records(path):
    """{(dev, cluster): (content offset, stored bytes, sha256, extent no)}, and per
    extent (content offset, frame size)."""
    with open(path, 'rb') as f:
        b = f.read()
    if b[:8] != b'PVDXVMAC' or b[12] != 1:
        raise SystemExit(f'{path}: not the cluster records of a full')
    p = 16
    (header_size,) = struct.unpack_from('<I', b, p)
    p += 4 + 8 + 4 + header_size
    clusters = {}
    extents = []
    while b[p] == 1:
        offset, _frame_offset, frame_size = struct.unpack_from('<QQI', b, p + 1)
        p += 21
        header = b[p:p + 512]
        p += 512
        at = offset + 512
        for slot in range(EXTENT_SLOTS):
            (info,) = struct.unpack_from('>Q', header, 40 + 8 * slot)
            if info == 0:
                continue
            mask, dev, cluster = info >> 48, (info >> 32) & 0xFF, info & 0xFFFFFFFF
            stored = bin(mask).count('1') * BLOCK
            clusters[(dev, cluster)] = (at, stored, b[p + 4:p + 36], len(extents))
            p += 36
            at += stored
        extents.append((offset, frame_size))
    return clusters, extents


def main():
    ap = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    ap.add_argument('old')
    ap.add_argument('new')
    a = ap.parse_args()
    old, extents = read_records(a.old)
    new, _ = read_records(a.new)
    changed = [old[k] for k, v in new.items() if k in old and old[k][2] != v[2]]
    content = max(at + n for at, n, _, _ in old.values())
    print(f'clusters {len(new)}, changed with an old version {len(changed)} '
          f'({100 * len(changed) / len(new):.1f} %); content {content / 2**20:.0f} MiB')
    own = {e for _, _, _, e in changed}
    compressed = sum(size for _, size in extents)
    held = sum(extents[e][1] for e in own)
    print(f"  the full's frames (one per extent): {len(own)} of {len(extents)}, "
          f'{held} of {compressed} compressed bytes ({100 * held / compressed:.1f} %)')
    for frame in (64 << 10, 256 << 10, 1 << 20, 4 << 20):
        touched = set()
        for at, n, _, _ in changed:
            touched.update(range(at // frame, (at + max(n, 1) - 1) // frame + 1))
        count = content // frame + 1
        print(f'  frames of {frame >> 10} KiB of content: {len(touched)} of {count} '
              f'({100 * len(touched) / count:.1f} %)')


if __name__ == '__main__':
    main()
