#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
# vma_extract.py OUTDIR < archive.vma: writes each device of a raw VMA stream to
# OUTDIR/<device name>.raw, as `vma extract` would; written for the tests apart from
# pvediff's own reader. Checks magics, block counts and that every cluster of every
# device comes exactly once; exits 1 with a message otherwise.
import os
import struct
import sys

CLUSTER = 65536
BLOCK = 4096


def die(msg):
    sys.stderr.write("vma_extract: " + msg + "\n")
    sys.exit(1)


def read_exact(f, n):
    b = f.read(n)
    if len(b) != n:
        die("short read (%d of %d bytes)" % (len(b), n))
    return b


def main():
    outdir = sys.argv[1]
    f = sys.stdin.buffer
    head = read_exact(f, 60)
    if head[:4] != b"VMA\0":
        die("bad header magic")
    header_size = struct.unpack(">I", head[56:60])[0]
    head += read_exact(f, header_size - 60)
    blob_off, blob_size = struct.unpack(">II", head[48:56])
    blobs = head[blob_off:blob_off + blob_size]

    def blob(ptr):
        n = struct.unpack("<H", blobs[ptr:ptr + 2])[0]
        return blobs[ptr + 2:ptr + 2 + n]

    devices = {}
    for dev in range(1, 256):
        info = head[4096 + dev * 32:4096 + dev * 32 + 32]
        name_ptr, _, size = struct.unpack(">IIQ", info[:16])
        if name_ptr and size:
            name = blob(name_ptr).rstrip(b"\0").decode()
            path = os.path.join(outdir, name + ".raw")
            out = open(path, "wb")
            out.truncate(size)
            devices[dev] = (out, size, set())
    while True:
        eh = f.read(512)
        if not eh:
            break
        if len(eh) != 512 or eh[:4] != b"VMAE":
            die("bad extent")
        count = struct.unpack(">H", eh[6:8])[0]
        data = read_exact(f, count * BLOCK)
        pos = 0
        for i in range(59):
            info = struct.unpack(">Q", eh[40 + i * 8:48 + i * 8])[0]
            if not info:
                continue
            mask, dev, cluster = info >> 48, (info >> 32) & 0xff, info & 0xffffffff
            if dev not in devices:
                die("unknown device %d" % dev)
            out, size, seen = devices[dev]
            if cluster in seen or cluster * CLUSTER >= size:
                die("cluster %d of device %d twice or past the end" % (cluster, dev))
            seen.add(cluster)
            for b in range(16):
                if mask & (1 << b):
                    off = cluster * CLUSTER + b * BLOCK
                    out.seek(off)
                    out.write(data[pos:pos + min(BLOCK, size - off)])
                    pos += BLOCK
        if pos != len(data):
            die("block count does not match the masks")
    for dev, (out, size, seen) in devices.items():
        if len(seen) != (size + CLUSTER - 1) // CLUSTER:
            die("device %d: %d of %d clusters" % (dev, len(seen), (size + CLUSTER - 1) // CLUSTER))
        out.close()


main()
