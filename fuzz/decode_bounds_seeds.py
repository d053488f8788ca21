#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
# Seeds of fuzz_decode_bounds (called by make_seeds.sh): 8 settings bytes, then a
# VCDIFF stream. Real multi-window deltas (pvediff diff, xdelta3 -W 16384) against the
# target's generated full, and small versions of the hostile deltas of issue 13:
# many small COPYs over far-apart segments (row 4), 16 MiB RUN windows (row 5).
#   decode_bounds_seeds.py PVEDIFF OUT_DIR
import os
import subprocess
import sys
import tempfile

pvediff, out_dir = sys.argv[1], sys.argv[2]
os.makedirs(out_dir, exist_ok=True)
M = (1 << 64) - 1


def full(size):
    """The bytes GeneratedFull makes (fuzz_decode_bounds.cpp)."""
    b = bytearray(size)
    for i in range(size):
        x = i // 7
        x ^= x >> 13
        x = (x * 0x9E3779B97F4A7C15) & M
        b[i] = x >> 56
    return bytes(b)


def v(x):
    o = [x & 127]
    x >>= 7
    while x:
        o.append(128 | (x & 127))
        x >>= 7
    return bytes(reversed(o))


def settings(size_byte, odd, flags, max_units=0):
    return bytes([size_byte, odd, flags]) + max_units.to_bytes(4, 'big') + b'\0'


def seed(name, data):
    with open(os.path.join(out_dir, 'seed-' + name), 'wb') as f:
        f.write(data)


base = full(16 * 64 * 1024)  # size byte 15, even: 1 MiB
with tempfile.TemporaryDirectory() as tmp:
    b, n, d = (os.path.join(tmp, x) for x in ('base', 'new', 'delta'))
    open(b, 'wb').write(base)
    # Halves swapped, a few bytes changed, some new data: copies from far apart.
    new = bytearray(base[len(base) // 2:] + base[:len(base) // 2])
    new[1000:1010] = b'0123456789'
    new += os.urandom(5000)
    open(n, 'wb').write(new)
    for engine in ('chunked', 'xdelta3'):
        if os.path.exists(d):
            os.unlink(d)
        subprocess.run([pvediff, 'diff', '--engine', engine, '--compress', 'none',
                        '--base', b, '--new', n, '-o', d], check=True, stderr=subprocess.DEVNULL)
        delta = open(d, 'rb').read()
        seed('pvediff-%s' % engine, settings(15, 0, 0) + delta)
        seed('pvediff-%s-bounded' % engine, settings(15, 0, 5, len(new) // 16 + 1) + delta)
    for sec in ('none', 'djw'):
        subprocess.run(['xdelta3', '-e', '-f', '-W', '16384', '-S', sec, '-s', b, n, d], check=True)
        seed('xdelta3-%s-windows' % sec, settings(15, 0, 1) + open(d, 'rb').read())

# Row 4, small: 8 windows of 20000 COPYs of 16 bytes, 8000 bytes apart.
N, S = 20000, 8000
inst = bytearray([19 + 13])
addr = bytearray(v(0))
for i in range(1, N):
    inst.append(19 + (2 + (i - 1) % 4) * 16 + 13)
    addr += v(S)
body = v(16 * N) + b'\0' + v(0) + v(len(inst)) + v(len(addr)) + bytes(inst) + bytes(addr)
bomb = b'\xd6\xc3\xc4\0\0' + b''.join(b'\x01' + v(S * N) + v(k << 32) + v(len(body)) + body for k in range(8))
seed('copy-bomb', settings(63, 0, 0) + bomb)
seed('copy-bomb-sized', settings(63, 0, 1) + bomb)
# Row 5, small: 64 windows, each a RUN of 16 MiB.
T = 16 << 20
i = b'\0' + v(T)
body = v(T) + b'\0' + v(1) + v(len(i)) + v(0) + b'A' + i
runs = b'\xd6\xc3\xc4\0\0' + (b'\0' + v(len(body)) + body) * 64
seed('run-bomb', settings(0, 0, 0) + runs)
seed('run-bomb-bounded', settings(0, 0, 4, 1 << 20) + runs)
