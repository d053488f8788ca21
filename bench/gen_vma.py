#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""Writes a raw disk image as a VMA archive, the way vzdump does (fallback for the
C++ gen_vma tool, used while pvediff's VMA writer is not built).

Follows docs/vma-format.md: one device `drive-scsi0`, a
qemu-server.conf blob, 64 KiB clusters, all-zero 4 KiB blocks left out (mask bit
clear), at most 58 clusters per extent, a fresh uuid and ctime per archive, and
clusters in the order 16 parallel copy workers deliver them: 16 sequential streams
over the disk, interleaved in random order (seeded by --order).

  gen_vma.py IMAGE OUT.vma --order SEED [--ctime SECONDS]
"""
import argparse
import hashlib
import os
import random
import struct

CLUSTER = 65536
BLOCK = 4096
PER_EXTENT = 58
WORKERS = 16
ZERO = bytes(BLOCK)

CONF = """boot: order=scsi0;net0
cores: 2
cpu: x86-64-v2-AES
memory: 4096
meta: creation-qemu=8.1.5,ctime=1795000000
name: bench-vm
net0: virtio=BC:24:11:5A:3E:01,bridge=vmbr0,firewall=1
numa: 0
ostype: l26
scsi0: local-lvm:vm-101-disk-0,iothread=1,size={size}
scsihw: virtio-scsi-single
smbios1: uuid=6c2b9d1e-6f0e-4b8e-9d1e-3a5c1f0e2d11
sockets: 1
vmgenid: 1f7e4b4a-2c1d-4c9a-8a4e-5b7f0c2d9e33
#qmdump#map:scsi0:drive-scsi0:local-lvm:raw:
"""


def cluster_order(n, rng):
    """16 workers, each copying a contiguous share of the disk in sequence; the
    writer receives their clusters interleaved in completion order."""
    bounds = [n * w // WORKERS for w in range(WORKERS + 1)]
    streams = [[bounds[w], bounds[w + 1]] for w in range(WORKERS) if bounds[w] < bounds[w + 1]]
    order = []
    while streams:
        s = rng.randrange(len(streams))
        run = rng.randint(1, 8)
        cur, end = streams[s]
        take = min(run, end - cur)
        order.extend(range(cur, cur + take))
        if cur + take == end:
            streams.pop(s)
        else:
            streams[s][0] = cur + take
    return order


def header(uuid, ctime, dev_size):
    blobs = bytearray(b"\0")

    def blob(data):
        ptr = len(blobs)
        blobs.extend(struct.pack("<H", len(data)) + data)
        return ptr

    conf_name = blob(b"qemu-server.conf\0")
    conf_data = blob(CONF.format(size=f"{dev_size >> 30}G" if dev_size >= 1 << 30 else f"{dev_size >> 20}M").encode())
    dev_name = blob(b"drive-scsi0\0")
    header_size = 12288 + (len(blobs) + 511) // 512 * 512
    h = bytearray(header_size)
    h[0:4] = b"VMA\0"
    struct.pack_into(">I16sQ", h, 4, 1, uuid, ctime)
    struct.pack_into(">III", h, 48, 12288, len(blobs), header_size)
    struct.pack_into(">I", h, 2044, conf_name)
    struct.pack_into(">I", h, 3068, conf_data)
    struct.pack_into(">IIQ", h, 4096 + 32 * 1, dev_name, 0, dev_size)
    h[12288:12288 + len(blobs)] = blobs
    h[32:48] = hashlib.md5(h).digest()
    return bytes(h)


def extent(uuid, slots):
    """slots: list of (cluster, mask, data)."""
    e = bytearray(512)
    e[0:4] = b"VMAE"
    struct.pack_into(">HH16s", e, 4, 0, sum(bin(m).count("1") for _, m, _ in slots), uuid)
    for i, (cluster, mask, _) in enumerate(slots):
        struct.pack_into(">Q", e, 40 + 8 * i, (mask << 48) | (1 << 32) | cluster)
    e[24:40] = hashlib.md5(e).digest()
    return bytes(e) + b"".join(d for _, _, d in slots)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("image")
    ap.add_argument("out")
    ap.add_argument("--order", type=int, required=True, help="seed of cluster order, uuid and ctime")
    ap.add_argument("--ctime", type=int, default=1795651200)
    a = ap.parse_args()
    rng = random.Random(a.order)
    uuid = bytes(rng.getrandbits(8) for _ in range(16))
    ctime = a.ctime + a.order * 86400 + rng.randint(0, 3600)
    size = os.path.getsize(a.image)
    n = (size + CLUSTER - 1) // CLUSTER
    with open(a.image, "rb") as img, open(a.out + ".part", "wb") as out:
        out.write(header(uuid, ctime, size))
        slots = []
        for c in cluster_order(n, rng):
            img.seek(c * CLUSTER)
            buf = img.read(CLUSTER)
            mask, data = 0, []
            for b in range(CLUSTER // BLOCK):
                blk = buf[b * BLOCK:(b + 1) * BLOCK]
                if len(blk) == BLOCK and blk != ZERO:
                    mask |= 1 << b
                    data.append(blk)
                elif blk and blk.count(0) != len(blk):
                    mask |= 1 << b  # a partial last block is padded with zeros
                    data.append(blk + bytes(BLOCK - len(blk)))
            slots.append((c, mask, b"".join(data)))
            if len(slots) == PER_EXTENT:
                out.write(extent(uuid, slots))
                slots = []
        if slots:
            out.write(extent(uuid, slots))
    os.rename(a.out + ".part", a.out)


if __name__ == "__main__":
    main()
